"""Subscriber choices made on the web, applied to the declared subscribers when digests are built.

`subscribers.yaml` says who may subscribe; a row in `subscriber_prefs` says what that person chose
since: opted out, other topics, another length or cap. Both survive restarts (the row is in the store).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from newsbrief.config.subscribers import Subscriber
from newsbrief.store import Store, SubscriberPref


def _row(session, email: str) -> SubscriberPref:
    row = session.execute(select(SubscriberPref).where(SubscriberPref.email == email.lower())).scalar_one_or_none()
    if row is None:
        row = SubscriberPref(email=email.lower())
        session.add(row)
    return row


def unsubscribe(store: Store, email: str) -> bool:
    """Opt the address out of every digest; True if it was subscribed until now (idempotent)."""
    with store.session() as s:
        row = _row(s, email)
        was_subscribed = row.unsubscribed_at is None
        if was_subscribed:
            row.unsubscribed_at = datetime.now(UTC)
        return was_subscribed


def save_preferences(store: Store, email: str, *, topics: list[str] | None, sentences: int | None,
                     max_items: int | None, subscribed: bool = True) -> None:
    with store.session() as s:
        row = _row(s, email)
        row.topics, row.sentences, row.max_items = topics, sentences, max_items
        row.unsubscribed_at = None if subscribed else (row.unsubscribed_at or datetime.now(UTC))


def mute_alerts(store: Store, email: str, alert_ids: list[str], *, muted: bool = True) -> None:
    """Stop (or resume) the named alerts of one subscriber; their digest is untouched. Idempotent."""
    with store.session() as s:
        row = _row(s, email)
        current = set(row.muted_alerts or [])
        current = current | set(alert_ids) if muted else current - set(alert_ids)
        row.muted_alerts = sorted(current)


def active_alerts(store: Store, alerts: list) -> list:
    """The alerts still wanted: none of an opted-out subscriber, none muted from their one-alert link."""
    prefs = preferences(store)
    out = []
    for alert in alerts:
        pref = prefs.get(alert.email.lower())
        if pref is not None and (pref.unsubscribed_at is not None or alert.id in (pref.muted_alerts or [])):
            continue
        out.append(alert)
    return out


def preferences(store: Store) -> dict[str, SubscriberPref]:
    with store.session() as s:
        return {row.email: row for row in s.execute(select(SubscriberPref)).scalars()}


def apply(store: Store, subscribers: list[Subscriber]) -> list[Subscriber]:
    """The subscribers as they want it now: opted-out ones left out, web choices over the YAML's."""
    prefs = preferences(store)
    out = []
    for sub in subscribers:
        pref = prefs.get(sub.email.lower())
        if pref is None:
            out.append(sub)
            continue
        if pref.unsubscribed_at is not None:
            continue
        out.append(replace(sub, topics=tuple(pref.topics) if pref.topics is not None else sub.topics,
                           sentences=pref.sentences or sub.sentences, max_items=pref.max_items or sub.max_items))
    return out
