"""Which alerts are on: those of subscribers.yaml, as changed since in the store.

subscribers.yaml is the declaration (who may subscribe, and their alerts); `newsbrief alerts add|remove`
(and the web preference page) never rewrite it, because it is hand-edited and reviewed. They write
`alert_subscriptions` rows instead, like `subscriber_prefs` for the digest: a row with a definition adds
an alert or replaces the declared one of the same id, a row with `removed_at` turns it off. Rows are
validated by the YAML's own rules each time they are read, so a definition that a later taxonomy no
longer accepts is reported and skipped, not sent. Subscribers who unsubscribed from everything get no
alerts either.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from newsbrief.alerts.spec import Alert
from newsbrief.config.subscribers import Subscriber, alert_from_mapping
from newsbrief.errors import ConfigError
from newsbrief.store.schema import AlertSubscription, SubscriberPref

log = logging.getLogger(__name__)
DECLARED, STORE = "subscribers.yaml", "store"


@dataclass(frozen=True)
class ActiveAlert:
    alert: Alert
    origin: str  # "subscribers.yaml" or "store"


def _source(email: str, alert_id: str) -> str:
    return f"alert_subscriptions row {email.lower()}/{alert_id}"


def _subscriber(subscribers: list[Subscriber], email: str) -> Subscriber:
    for sub in subscribers:
        if sub.email.lower() == email.lower():
            return sub
    raise ConfigError("subscribers.yaml", None, f"{email} is not a subscriber",
                      "add them to subscribers.yaml first: it says who may subscribe")


def active_alerts(store, subscribers: list[Subscriber], *, known_topics: set[str] | None = None) -> list[ActiveAlert]:
    """The alerts to run now, declared ones first in file order, then those added in the store."""
    with store.session() as s:
        rows = {(r.email, r.alert_id): (r.definition, r.removed_at)
                for r in s.execute(select(AlertSubscription)).scalars()}
        gone = set(s.execute(select(SubscriberPref.email).where(SubscriberPref.unsubscribed_at.is_not(None))).scalars())
    out: list[ActiveAlert] = []
    for sub in subscribers:
        email = sub.email.lower()
        if email in gone:
            continue
        declared = {a.id for a in sub.alerts}
        for a in sub.alerts:
            row = rows.get((email, a.id))
            if row is None:
                out.append(ActiveAlert(a, DECLARED))
            elif row[1] is None and row[0] is not None:
                stored = _load(sub.email, a.id, row[0], known_topics)
                if stored is not None:
                    out.append(ActiveAlert(stored, STORE))
        for (row_email, alert_id), (definition, removed_at) in sorted(rows.items()):
            if row_email == email and alert_id not in declared and removed_at is None and definition is not None:
                stored = _load(sub.email, alert_id, definition, known_topics)
                if stored is not None:
                    out.append(ActiveAlert(stored, STORE))
    return out


def _load(email: str, alert_id: str, definition: dict, known_topics) -> Alert | None:
    try:
        return _validate(email, alert_id, definition, known_topics)
    except ConfigError as exc:
        log.error("%s; this alert is skipped until fixed (`newsbrief alerts add --replace` or `remove`)", exc)
        return None


def _validate(email: str, alert_id: str, definition: dict, known_topics) -> Alert:
    alert = alert_from_mapping(dict(definition, id=alert_id), email, source=_source(email, alert_id),
                               known_topics=known_topics)
    return dataclasses.replace(alert, line=None)


def add_alert(store, subscribers: list[Subscriber], email: str, alert_id: str, definition: dict, *,
              known_topics: set[str] | None = None, replace: bool = False) -> Alert:
    """Validate and store one alert of a declared subscriber; refuses an existing id unless `replace`."""
    sub = _subscriber(subscribers, email)
    definition = {k: v for k, v in definition.items() if v is not None and k != "id"}
    alert = _validate(sub.email, alert_id, definition, known_topics)
    current = {a.alert.id: a for a in active_alerts(store, subscribers, known_topics=known_topics)
               if a.alert.email.lower() == sub.email.lower()}
    if alert_id in current and not replace:
        held = current[alert_id]
        raise ConfigError(held.origin, held.alert.line, f"{sub.email} already has an alert '{alert_id}'",
                          "give another id, or pass --replace to change it")
    with store.session() as s:
        row = _row(s, sub.email, alert_id)
        row.definition, row.removed_at = definition, None
    return alert


def remove_alert(store, subscribers: list[Subscriber], email: str, alert_id: str, *,
                 at: datetime | None = None) -> str:
    """Turn one alert off (idempotent; also the one-alert unsubscribe); returns where it was defined."""
    sub = _subscriber(subscribers, email)
    declared = any(a.id == alert_id for a in sub.alerts)
    with store.session() as s:
        row = s.execute(select(AlertSubscription).where(AlertSubscription.email == sub.email.lower(),
                                                        AlertSubscription.alert_id == alert_id)).scalar_one_or_none()
        if row is None and not declared:
            raise ConfigError(STORE, None, f"{sub.email} has no alert '{alert_id}'",
                              "see `newsbrief alerts list` for the ids")
        origin = STORE if row is not None and row.definition is not None else DECLARED
        row = row or _row(s, sub.email, alert_id)
        if row.removed_at is None:
            row.removed_at = at or datetime.now(UTC)
    return origin


def _row(session, email: str, alert_id: str) -> AlertSubscription:
    row = session.execute(select(AlertSubscription).where(AlertSubscription.email == email.lower(),
                                                          AlertSubscription.alert_id == alert_id)).scalar_one_or_none()
    if row is None:
        row = AlertSubscription(email=email.lower(), alert_id=alert_id)
        session.add(row)
    return row
