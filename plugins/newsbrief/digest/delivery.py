"""Sending digests: SMTP through Airflow's `smtp_default` connection, or an outbox folder.

Nothing twice: every send is bracketed by the delivery ledger (a row claimed as `sending` before,
marked `sent` after), so a retried task, or a second worker after a crash, skips what went out. A send
whose worker died in between is retried with the same Message-ID once its lease has expired, which
lets mail systems drop the copy. Nothing lost: a failed send is recorded, saved under
`outbox/<run>/failed/`, and the other recipients still get theirs; a temporary failure (4xx reply,
refused or dropped connection) is retried by later runs (`redeliver_failed`) with the same Message-ID
until it is sent or older than NEWSBRIEF_REDELIVER_MAX_AGE; a permanent one (5xx) is recorded as
`rejected`, reported, and never retried.
"""

from __future__ import annotations

import email.policy
import logging
import os
import re
import smtplib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from newsbrief.config.settings import Settings
from newsbrief.digest.links import list_unsubscribe_headers, load_link_settings
from newsbrief.errors import ConfigError
from newsbrief.orchestration.glue import (
    DEFAULT_SENDER,
    SmtpTarget,
    SmtpUnavailable,
    smtp_session,
    smtp_target,
)
from newsbrief.store import Delivery, Digest, Store

log = logging.getLogger(__name__)

SENT, SENDING, FAILED, REJECTED, EXPIRED = "sent", "sending", "failed", "rejected", "expired"
DEFAULT_REDELIVER_MAX_AGE = timedelta(days=3)
# CRLF line ends (smtplib passes bytes through as they are), and headers folded only past RFC 5322's
# hard limit: Python folds a long Subject right after "Subject:", which readers then see as a leading space.
WIRE_POLICY = email.policy.SMTP.clone(max_line_length=998)
DEFAULT_LEASE_SECONDS = 120


def slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", value).strip("_")[:150] or "run"


def build_message(digest: Digest, sender: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, HTML preferred) with a deterministic Message-ID."""
    msg = EmailMessage()
    msg["Subject"] = digest.subject
    msg["From"] = formataddr(("newsbrief", sender))
    msg["To"] = formataddr((digest.recipient_name or "", digest.recipient))
    msg["Date"] = format_datetime(digest.created_at)
    msg["Message-ID"] = digest.message_id
    msg["X-Newsbrief-Run"] = digest.run_key
    for name, value in list_unsubscribe_headers(digest.recipient, settings=load_link_settings()).items():
        msg[name] = value
    msg.set_content(digest.text, subtype="plain", charset="utf-8")
    msg.add_alternative(digest.html, subtype="html", charset="utf-8")
    return msg


def outbox_paths(outbox_dir: Path, run_key: str, recipient: str, *, failed: bool = False) -> tuple[Path, Path]:
    folder = Path(outbox_dir) / slug(run_key)
    if failed:
        folder = folder / "failed"
    name = slug(recipient)
    return folder / f"{name}.eml", folder / f"{name}.html"


def write_outbox(outbox_dir: Path, digest: Digest, msg: EmailMessage, *, failed: bool = False) -> Path:
    eml, html = outbox_paths(outbox_dir, digest.run_key, digest.recipient, failed=failed)
    eml.parent.mkdir(parents=True, exist_ok=True)
    tmp = eml.with_name(eml.name + ".tmp")
    tmp.write_bytes(msg.as_bytes(policy=WIRE_POLICY))
    tmp.replace(eml)
    html.write_text(digest.html, encoding="utf-8")
    return eml


@dataclass
class DeliveryReport:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    channel: str = "outbox"
    locations: list[str] = field(default_factory=list)


def choose_channel(mode: str, conn_id: str = "smtp_default") -> SmtpTarget | None:
    """SMTP target for `smtp`/`auto` (when a connection exists), None for the outbox."""
    if mode == "outbox":
        return None
    target = smtp_target(conn_id)
    if target is None and mode == "smtp":
        raise ConfigError("NEWSBRIEF_DELIVERY", None, f"delivery is 'smtp' but no '{conn_id}' connection is configured",
                          f"define the Airflow connection {conn_id} (e.g. AIRFLOW_CONN_SMTP_DEFAULT) or use 'outbox'")
    return target


def _claim(store: Store, digest_id: int, lease: timedelta) -> tuple[str, Digest | None]:
    """Take the ledger row for a digest: 'go' to send, 'done' if sent, 'busy' if another worker holds it."""

    def claim(s) -> tuple[str, Digest | None]:
        now = datetime.now(UTC)
        digest = s.get(Digest, digest_id)
        if digest is None:
            return "missing", None
        row = s.execute(select(Delivery).where(Delivery.digest_id == digest_id).with_for_update()).scalar_one_or_none()
        if row is None:
            try:
                with s.begin_nested():
                    s.add(Delivery(digest_id=digest_id, recipient=digest.recipient, message_id=digest.message_id,
                                   channel="", status=SENDING, attempts=1, updated_at=now))
            except IntegrityError:
                return "busy", digest
            return "go", digest
        if row.status == SENT:
            return "done", digest
        if row.status in (REJECTED, EXPIRED):
            return row.status, digest
        if row.status == SENDING and row.updated_at and now - row.updated_at < lease:
            return "busy", digest
        row.status, row.attempts, row.updated_at, row.error = SENDING, row.attempts + 1, now, None
        return "go", digest

    return store.transact(claim, what=f"claiming digest {digest_id} in the delivery ledger")


def _finish(store: Store, digest_id: int, *, status: str, channel: str, location: str | None,
            error: str | None = None) -> None:
    """Record the outcome; waits out a store restart, since a lost `sent` would mean a second copy."""

    def finish(s) -> None:
        row = s.execute(select(Delivery).where(Delivery.digest_id == digest_id)).scalar_one()
        row.status, row.channel, row.location, row.error = status, channel, location, error
        row.updated_at = datetime.now(UTC)

    store.transact(finish, what=f"recording digest {digest_id} as {status} in the delivery ledger")


class SendFailure(Exception):
    """One recipient's send failed; `permanent` (5xx) is never retried, the rest are."""

    def __init__(self, message: str, *, permanent: bool, dropped: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.dropped = dropped


def classify(exc: BaseException, target: SmtpTarget, recipient: str) -> SendFailure:
    """A message naming the server, the recipient, the SMTP reply and the fix."""
    where = f"{target.host}:{target.port}" if target.port else target.host
    code, reply = None, ""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code, raw = next(iter(exc.recipients.values()))
        reply = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
    if isinstance(exc, SmtpUnavailable):
        return SendFailure(f"{exc} [recipient {recipient}; retried by later runs with the same Message-ID]",
                           permanent=False, dropped=True)
    if code is not None and 500 <= code < 600:
        return SendFailure(
            f"SMTP server {where} refused the digest for {recipient} permanently: {code} {reply} "
            f"(fix: check the address in subscribers.yaml or the recipients override; not retried)", permanent=True)
    if code is not None and 400 <= code < 500:
        return SendFailure(
            f"SMTP server {where} deferred the digest for {recipient}: {code} {reply} (temporary; later runs, "
            f"the hourly redeliver DAG or `newsbrief redeliver RUN` retry it with the same Message-ID)",
            permanent=False, dropped=code == 421)
    reason = str(exc) or type(exc).__name__
    return SendFailure(
        f"SMTP connection to {where} was lost while sending to {recipient}: {reason} (temporary: the next "
        f"recipient gets a new connection; this digest is retried later with the same Message-ID; if it "
        f"persists check the server and the connection's timeout)", permanent=False, dropped=True)


def deliver_digests(store: Store, digest_ids: list[int], *, outbox_dir: Path, target: SmtpTarget | None,
                    lease_seconds: float | None = None, send_delay: float | None = None) -> DeliveryReport:
    """Send each digest at most once per recipient; failures are recorded and do not stop the others."""
    lease = timedelta(seconds=lease_seconds if lease_seconds is not None
                      else float(os.environ.get("NEWSBRIEF_SEND_LEASE_SECONDS", DEFAULT_LEASE_SECONDS)))
    delay = send_delay if send_delay is not None else float(os.environ.get("NEWSBRIEF_SEND_DELAY_SECONDS", "0") or 0)
    report = DeliveryReport(channel="smtp" if target else "outbox")
    pending = list(digest_ids)
    deadline = time.monotonic() + lease.total_seconds() + 5
    client_cm = None
    client = None
    smtp_error: str | None = None
    try:
        while pending:
            digest_id = pending.pop(0)
            state, digest = _claim(store, digest_id, lease)
            if state == "missing":
                continue
            if state in (REJECTED, EXPIRED):
                log.warning("digest for %s (%s) is %s: not sending it", digest.recipient, digest.message_id, state)
                continue
            if state == "done":
                report.skipped.append(digest.recipient)
                log.info("already delivered to %s (%s): not sending again", digest.recipient, digest.message_id)
                continue
            if state == "busy":
                if time.monotonic() < deadline:
                    pending.append(digest_id)
                    time.sleep(1)
                    continue
                report.failed[digest.recipient] = "another worker is still sending this digest"
                continue
            sender = target.from_email if target else DEFAULT_SENDER
            msg = build_message(digest, sender)
            try:
                if target is None:
                    location = str(write_outbox(outbox_dir, digest, msg))
                else:
                    try:
                        if smtp_error:
                            raise SmtpUnavailable(smtp_error)
                        if client is None:
                            try:
                                client_cm = smtp_session(target)
                                client = client_cm.__enter__()
                            except SmtpUnavailable as exc:
                                client_cm, smtp_error = None, str(exc)
                                raise
                        client.sendmail(sender, [digest.recipient], msg.as_bytes(policy=WIRE_POLICY))
                    except Exception as exc:
                        failure = classify(exc, target, digest.recipient)
                        if failure.dropped and client_cm is not None:
                            _close(client_cm)
                            client_cm = client = None
                        elif client is not None and not failure.dropped:
                            try:
                                client.rset()
                            except Exception:
                                _close(client_cm)
                                client_cm = client = None
                        raise failure from exc
                    location = f"smtp://{target.host}:{target.port}"
            except Exception as exc:
                reason = str(exc) or type(exc).__name__
                permanent = isinstance(exc, SendFailure) and exc.permanent
                saved = write_outbox(outbox_dir, digest, msg, failed=True)
                _finish(store, digest_id, status=REJECTED if permanent else FAILED, channel=report.channel,
                        location=str(saved), error=reason)
                report.failed[digest.recipient] = reason
                if permanent:
                    report.rejected[digest.recipient] = reason
                    _report_problem(store, digest, reason)
                log.error("sending the digest to %s failed (%s): %s (kept at %s)", digest.recipient,
                          "rejected, not retried" if permanent else "failed, retried later", reason, saved)
                continue
            _finish(store, digest_id, status=SENT, channel=report.channel, location=location)
            report.sent.append(digest.recipient)
            report.locations.append(location)
            log.info("digest for %s delivered via %s: %s", digest.recipient, report.channel, location)
            if delay and pending:
                time.sleep(delay)
    finally:
        if client_cm is not None:
            _close(client_cm)
    return report


def _close(client_cm) -> None:
    try:
        client_cm.__exit__(None, None, None)
    except Exception:
        log.debug("closing the SMTP session failed", exc_info=True)


def _report_problem(store: Store, digest: Digest, reason: str) -> None:
    from newsbrief.store.problems import add_problem

    with store.session() as s:
        add_problem(s, digest.run_key, "delivery", digest.recipient, reason)


def redeliver_max_age() -> timedelta:
    """NEWSBRIEF_REDELIVER_MAX_AGE: '3d', '12h', '90m' or seconds; default 3 days."""
    raw = os.environ.get("NEWSBRIEF_REDELIVER_MAX_AGE", "").strip().lower()
    if not raw:
        return DEFAULT_REDELIVER_MAX_AGE
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    try:
        if raw[-1] in units:
            return timedelta(seconds=float(raw[:-1]) * units[raw[-1]])
        return timedelta(seconds=float(raw))
    except ValueError:
        raise ConfigError("NEWSBRIEF_REDELIVER_MAX_AGE", None, f"not a duration: {raw!r}",
                          "write e.g. 3d, 12h, 90m or a number of seconds") from None


def pending_digests(store: Store, *, run_key: str | None = None) -> list[tuple[int, datetime]]:
    """Digests whose last send failed temporarily, or whose sender died mid-send: (id, created_at)."""
    with store.session() as s:
        q = (select(Digest.id, Digest.created_at).join(Delivery, Delivery.digest_id == Digest.id)
             .where(Delivery.status.in_((FAILED, SENDING))).order_by(Digest.id))
        if run_key is not None:
            q = q.where(Digest.run_key == run_key)
        return [(i, c) for i, c in s.execute(q).all()]


def redeliver_failed(store: Store, settings: Settings, *, now: datetime, run_key: str | None = None,
                     max_age: timedelta | None = None) -> DeliveryReport:
    """Retry earlier temporary failures with their original Message-ID; too old ones become `expired`.

    `now` is the caller's reference time (a run's data interval end), so a retried task decides the same.
    """
    max_age = max_age if max_age is not None else redeliver_max_age()
    retry, expired = [], []
    for digest_id, created in pending_digests(store, run_key=run_key):
        (expired if now - created > max_age else retry).append(digest_id)
    for digest_id in expired:
        with store.session() as s:
            row = s.execute(select(Delivery).where(Delivery.digest_id == digest_id)).scalar_one()
            digest = s.get(Digest, digest_id)
            row.status, row.updated_at = EXPIRED, datetime.now(UTC)
            reason = (f"digest for {digest.recipient} ({digest.message_id}) not delivered within {max_age} "
                      f"(last error: {row.error}); given up (fix: `newsbrief redeliver {digest.run_key}` sends it)")
        log.error("%s", reason)
        _report_problem(store, digest, reason)
    if not retry:
        log.info("redelivery: no earlier digest waiting to be sent (%d expired now)", len(expired))
        return DeliveryReport(channel="none")
    log.info("redelivery: retrying %d earlier failed digest(s) with their original Message-IDs", len(retry))
    report = deliver_digests(store, retry, outbox_dir=settings.outbox_dir, target=choose_channel(settings.delivery))
    log.info("redelivery via %s: %d sent, %d still failing, %d rejected", report.channel, len(report.sent),
             len(report.failed) - len(report.rejected), len(report.rejected))
    return report


def reopen(store: Store, run_key: str) -> int:
    """Make a run's expired (not rejected) digests pending again, for an explicit `newsbrief redeliver`."""
    with store.session() as s:
        rows = s.execute(select(Delivery).join(Digest, Delivery.digest_id == Digest.id)
                         .where(Digest.run_key == run_key, Delivery.status == EXPIRED)).scalars().all()
        for row in rows:
            row.status = FAILED
        return len(rows)


def ledger_rows(store: Store, *, failed_only: bool = False) -> list[dict]:
    """The delivery ledger for `newsbrief deliveries`: one dict per digest, oldest first."""
    with store.session() as s:
        q = (select(Digest, Delivery).outerjoin(Delivery, Delivery.digest_id == Digest.id).order_by(Digest.id))
        out = []
        for digest, row in s.execute(q).all():
            status = row.status if row else "unsent"
            if failed_only and status in (SENT,):
                continue
            out.append({"run": digest.run_key, "recipient": digest.recipient, "message_id": digest.message_id,
                        "status": status, "attempts": row.attempts if row else 0,
                        "updated_at": row.updated_at.isoformat() if row and row.updated_at else None,
                        "error": row.error if row else None})
        return out


def deliver(store: Store, settings: Settings, digest_ids: list[int], *, dry_run: bool = False) -> DeliveryReport:
    """Send the digests (SMTP connection or outbox); a dry run writes previews only and records nothing."""
    if dry_run:
        report = DeliveryReport(channel="dry-run")
        preview_dir = Path(settings.outbox_dir) / "dry-run"
        with store.session() as s:
            for digest in s.execute(select(Digest).where(Digest.id.in_(digest_ids))).scalars():
                path = write_outbox(preview_dir, digest, build_message(digest, DEFAULT_SENDER))
                report.locations.append(str(path))
        return report
    target = choose_channel(settings.delivery)
    report = deliver_digests(store, digest_ids, outbox_dir=settings.outbox_dir, target=target)
    return report
