"""Per-subscriber digests: selection, rendering (jinja2), delivery (SMTP or outbox) and its ledger."""
