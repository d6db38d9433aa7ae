"""Exactly once per (alert, article): claim, send, mark sent; and what the digest should not repeat.

`claim` inserts one ledger row per new article; the unique (alert_key, article_id) constraint lets
only one of two racing runs win an article, and a row already claimed by an earlier, unfinished
batch is handed back (same batch, same Message-ID) rather than claimed again once its send lease has
run out, so a retry after a lost worker resends that one message and an overlapping run sends
nothing twice. The lease is taken by one conditional UPDATE, so two runs cannot both take it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from newsbrief.store.schema import AlertItem
from newsbrief.stories.seen import seen_stories

REPEAT_ENV = "NEWSBRIEF_DIGEST_REPEATS_ALERTS"
OVER_CAP = "over_cap"
DEFAULT_LEASE = timedelta(seconds=120)  # like the digest's NEWSBRIEF_SEND_LEASE_SECONDS


def message_id(alert_key: str, batch_key: str, domain: str = "newsbrief.local") -> str:
    """Deterministic: the same alert and batch always get the same Message-ID."""
    digest = hashlib.sha256(f"{alert_key}\n{batch_key}".encode()).hexdigest()[:32]
    return f"<alert.{digest}@{domain}>"


def pending(session, alert_keys: str | list[str]) -> list[AlertItem]:
    """Rows claimed but not yet marked sent (an interrupted batch), oldest batch first."""
    keys = [alert_keys] if isinstance(alert_keys, str) else list(alert_keys)
    return list(session.execute(select(AlertItem).where(
        AlertItem.alert_key.in_(keys), AlertItem.status == "claimed").order_by(AlertItem.id)).scalars())


Terms = list[str] | Callable[[], list[str]]


def claim(session, alert_key: str, recipient: str, batch_key: str, matches: list[tuple[int, Terms]], *,
          cap: int | None = None, now: datetime | None = None,
          lease: timedelta = DEFAULT_LEASE) -> tuple[str, list[AlertItem]]:
    """One alert's batch as its own email (see `claim_group`)."""
    return claim_group(session, recipient, {alert_key: (matches, cap)}, batch_key,
                       message_id(alert_key, batch_key), now=now, lease=lease)


def claim_group(session, recipient: str, alerts: dict[str, tuple[list[tuple[int, Terms]], int | None]],
                batch_key: str, mid: str, *, now: datetime | None = None,
                lease: timedelta = DEFAULT_LEASE) -> tuple[str, list[AlertItem]]:
    """Claim one email's articles for one or more alerts (alert key -> (matches, cap)); returns
    (message_id, rows to send now).

    An unfinished earlier email of these alerts comes first and alone: it is the message to resend,
    once the run that claimed it has held it for `lease` without finishing (a lost worker), so a run
    overlapping a live one sends nothing. Otherwise each alert's not-yet-sent matches (at most its cap,
    in the given order; terms may be a callable, called for listed rows only) are claimed under
    `mid`; matches past the cap are recorded as `over_cap`, so that later emails do not bring them
    back one cap-full at a time.
    """
    now = now or datetime.now(UTC)
    keys = list(alerts)
    unfinished = pending(session, keys)
    if unfinished:
        held = unfinished[0].message_id
        taken = session.execute(update(AlertItem).where(
            AlertItem.message_id == held, AlertItem.status == "claimed",
            or_(AlertItem.claimed_at.is_(None), AlertItem.claimed_at <= now - lease)).values(claimed_at=now))
        if not taken.rowcount:
            return held, []  # a live run holds it
        session.expire_all()
        return held, list(session.execute(select(AlertItem).where(
            AlertItem.message_id == held, AlertItem.status == "claimed").order_by(AlertItem.id)).scalars())
    if session.execute(select(AlertItem.id).where(AlertItem.alert_key.in_(keys),
                                                  AlertItem.batch_key == batch_key).limit(1)).first():
        return mid, []  # this period or interval was sent already
    rows = []
    for alert_key, (matches, cap) in alerts.items():
        known = set(session.execute(select(AlertItem.article_id).where(
            AlertItem.alert_key == alert_key, AlertItem.article_id.in_([a for a, _ in matches]))).scalars())
        listed_n = 0
        for article_id, terms in matches:
            if article_id in known:
                continue
            listed = cap is None or listed_n < cap
            row = AlertItem(alert_key=alert_key, recipient=recipient.lower(), article_id=article_id,
                            batch_key=batch_key, message_id=mid,
                            matched=(list(terms() if callable(terms) else terms) if listed else []),
                            status="claimed" if listed else OVER_CAP, claimed_at=now)
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:
                continue
            if listed:
                rows.append(row)
                listed_n += 1
    session.flush()
    return mid, rows


def over_cap(session, message_id_: str, alert_key: str) -> int:
    """How many of the alert's matches in this email the cap left out (recorded, so no later email lists them)."""
    return len(session.execute(select(AlertItem.id).where(AlertItem.message_id == message_id_,
                                                          AlertItem.alert_key == alert_key,
                                                          AlertItem.status == OVER_CAP)).all())


def release(session, message_id_: str) -> None:
    """A send that failed: the next run may resend the batch at once instead of waiting out the lease."""
    session.execute(update(AlertItem).where(AlertItem.message_id == message_id_, AlertItem.status == "claimed")
                    .values(claimed_at=None))


def mark_sent(session, message_id_: str, at: datetime, alert_keys: list[str] | None = None) -> None:
    """The email went out: its rows (of `alert_keys`, when given: the alerts it listed) are sent."""
    q = select(AlertItem).where(AlertItem.message_id == message_id_, AlertItem.status == "claimed")
    if alert_keys is not None:
        q = q.where(AlertItem.alert_key.in_(alert_keys))
    for row in session.execute(q).scalars():
        row.status, row.sent_at = "sent", at
    session.flush()


def last_sent_at(session, alert_keys: str | list[str]) -> datetime | None:
    keys = [alert_keys] if isinstance(alert_keys, str) else list(alert_keys)
    rows = session.execute(select(AlertItem.sent_at).where(
        AlertItem.alert_key.in_(keys), AlertItem.sent_at.is_not(None)).order_by(AlertItem.sent_at.desc()).limit(1))
    return rows.scalar_one_or_none()


def already_alerted(session, email: str, article_ids, *, repeats: bool | None = None) -> set[int]:
    """Articles (or other outlets' copies of their story) this subscriber already got in an alert,
    for the daily digest to skip; empty when the subscriber asks for repeats (`digest_repeats_alerts:
    true` in subscribers.yaml; when unset, NEWSBRIEF_DIGEST_REPEATS_ALERTS=1 asks for everyone)."""
    if repeats is None:
        repeats = os.environ.get(REPEAT_ENV, "").strip().lower() in ("1", "true", "yes")
    if repeats:
        return set()
    ids = list(article_ids)
    if not ids:
        return set()
    sent = session.execute(select(AlertItem.article_id).where(
        AlertItem.recipient == email.lower(), AlertItem.status == "sent")).scalars()
    return seen_stories(session, sent, ids)


def utc(at: datetime) -> datetime:
    return at.astimezone(UTC)
