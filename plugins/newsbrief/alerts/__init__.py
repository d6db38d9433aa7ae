"""Alerts: saved searches and topic alerts sent as they happen, daily or weekly (issue 17)."""
