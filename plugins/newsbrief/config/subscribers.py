"""Subscribers from YAML: who gets a digest, on which topics, and how many stories at most."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from newsbrief.config.yamlconf import Checker, load_yaml
from newsbrief.errors import ConfigError

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+$|^[^@\s<>\"',;]+@localhost$")
DEFAULT_MAX_ITEMS = 10
_SUBSCRIBER_KEYS = {"email", "name", "topics", "max_items", "sentences", "alerts", "digest_repeats_alerts"}
_ALERT_KEYS = {"id", "query", "topics", "frequency", "hour", "day", "timezone", "quality", "cap",
               "min_interval_minutes", "quiet_hours"}


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str | None = None
    topics: tuple[str, ...] = ()  # empty: every topic, and untagged stories too
    max_items: int = DEFAULT_MAX_ITEMS
    sentences: int | None = None
    line: int | None = field(default=None, compare=False)
    alerts: tuple = field(default=(), compare=False)  # newsbrief.alerts.spec.Alert
    # stories an alert already sent also in the daily digest; None: NEWSBRIEF_DIGEST_REPEATS_ALERTS decides
    digest_repeats_alerts: bool | None = None

    def wants(self, tags: list[str]) -> bool:
        return not self.topics or any(t in self.topics for t in tags)



def _topics(check, entry, where: str, known_topics) -> list[str]:
    """An entry's `topics:` list, each one a topic id of topics.yaml (when the taxonomy is known)."""
    topics = check.strings(entry, "topics", where)
    if known_topics is not None:
        for j, topic in enumerate(topics):
            if topic not in known_topics:
                check.fail(entry["topics"], j, f"{where}: unknown topic '{topic}'",
                           f"use one of: {', '.join(sorted(known_topics))}, or add it to topics.yaml")
    return topics

def valid_email(address: str) -> bool:
    return bool(_EMAIL.match(address.strip()))


def load_subscribers(path: str | Path, *, known_topics: set[str] | None = None) -> list[Subscriber]:
    """Parse and validate subscribers.yaml; topics are checked against the taxonomy when given."""
    data = load_yaml(path, what="subscribers file")
    check = Checker(path)
    if data is None:
        check.fail(None, None, "the file is empty", "add a 'subscribers:' list (see config/subscribers.yaml)")
    root = check.mapping(data, "the file")
    check.known_keys(root, {"subscribers", "defaults"}, "the file")
    defaults = check.mapping(root.get("defaults") or {}, "defaults") if "defaults" in root else {}
    default_max = int(check.number(defaults, "max_items", "defaults", default=DEFAULT_MAX_ITEMS, minimum=1,
                                   integer=True)) if defaults else DEFAULT_MAX_ITEMS
    entries = check.sequence(root, "subscribers", "the file")
    out: list[Subscriber] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"subscriber {i + 1}"
        if not isinstance(entry, dict):
            check.fail(entries, i, f"{where} must be a mapping with 'email:', got {entry!r}")
        email = check.string(entry, "email", where)
        where = f"subscriber '{email}'"
        check.known_keys(entry, _SUBSCRIBER_KEYS, where)
        if not valid_email(email):
            check.fail(entry, "email", f"{where}: not a valid email address", "write it as name@example.org")
        key = email.lower()
        if key in seen:
            check.fail(entry, "email", f"{where} is listed twice (first on line {seen[key]})", "merge the two entries")
        seen[key] = entry.line_of("email")
        topics = _topics(check, entry, where, known_topics)
        out.append(Subscriber(
            email=email,
            name=check.string(entry, "name", where, required=False),
            topics=tuple(topics),
            max_items=int(check.number(entry, "max_items", where, default=default_max, minimum=1, integer=True)),
            sentences=_opt_int(check.number(entry, "sentences", where, minimum=1, maximum=20, integer=True)),
            line=entry.line,
            alerts=tuple(_alerts(check, entry, email, where, known_topics)),
            digest_repeats_alerts=check.boolean(entry, "digest_repeats_alerts", where, default=None),
        ))
    return out


def _alerts(check: Checker, entry: dict, email: str, where: str, known_topics: set[str] | None) -> list:
    """The subscriber's `alerts:` list (see newsbrief.alerts.spec for what each key means)."""
    from datetime import time
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from newsbrief.alerts import spec
    from newsbrief.alerts.query import QueryError, parse

    out, seen = [], set()
    items = check.sequence(entry, "alerts", where, required=False)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            check.fail(items, i, f"{where}: alert {i + 1} must be a mapping with 'id:' and 'query:' or 'topics:'")
        alert_id = check.string(item, "id", f"{where}, alert {i + 1}")
        at = f"{where}, alert '{alert_id}'"
        check.known_keys(item, _ALERT_KEYS, at)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,79}", alert_id):  # no '.': it names a link scope
            check.fail(item, "id", f"{at}: the id must be letters, digits, '-' or '_'", "rename it, e.g. 'steel-tariffs'")
        if alert_id in seen:
            check.fail(item, "id", f"{at} is declared twice for this subscriber", "give each alert its own id")
        seen.add(alert_id)
        text = check.string(item, "query", at, required=False)
        query = None
        if text is not None:
            try:
                query = parse(text)
            except QueryError as err:
                check.fail(item, "query", f"{at}: the query does not parse: at position {err.position} expected "
                           f"{err.expected}", "see README 'Alerts' for the query syntax")
        topics = _topics(check, item, at, known_topics)
        if query is None and not topics:
            check.fail(item, None, f"{at}: give a 'query:' or 'topics:' (or both)")
        frequency = check.string(item, "frequency", at, required=False, default="as_it_happens")
        if frequency not in spec.FREQUENCIES:
            check.fail(item, "frequency", f"{at}: frequency '{frequency}' is unknown", f"use one of: {', '.join(spec.FREQUENCIES)}")
        quality = check.string(item, "quality", at, required=False, default="all")
        if quality not in spec.QUALITIES:
            check.fail(item, "quality", f"{at}: quality '{quality}' is unknown", "use best or all")
        day = (check.string(item, "day", at, required=False, default="monday") or "monday").lower()
        if day not in spec.DAYS:
            check.fail(item, "day", f"{at}: day '{day}' is unknown", f"use one of: {', '.join(spec.DAYS)}")
        tz = check.string(item, "timezone", at, required=False, default="UTC")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            check.fail(item, "timezone", f"{at}: unknown timezone '{tz}'", "use an IANA name like Europe/London")
        quiet = None
        if item.get("quiet_hours") is not None:
            raw = item["quiet_hours"]
            m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", raw) if isinstance(raw, str) else None
            if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
                check.fail(item, "quiet_hours", f"{at}: quiet_hours must look like '22:00-07:00', got {raw!r}")
            quiet = (time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4])))
        out.append(spec.Alert(
            id=alert_id, email=email, query=query, topics=tuple(topics), frequency=frequency,
            hour=int(check.number(item, "hour", at, default=spec.DEFAULT_HOUR, minimum=0, maximum=23, integer=True)),
            day=day, timezone=tz, quality=quality,
            cap=int(check.number(item, "cap", at, default=spec.DEFAULT_CAP, minimum=1, integer=True)),
            min_interval_minutes=int(check.number(item, "min_interval_minutes", at, default=spec.DEFAULT_MIN_INTERVAL,
                                                  minimum=0, integer=True)),
            quiet_hours=quiet, line=item.line,
        ))
    return out


def alert_from_mapping(item: dict, email: str, *, source: str, known_topics: set[str] | None = None):
    """One alert given as a mapping (as in the YAML) from elsewhere (`newsbrief alerts add`, the store),
    checked by the same rules; a ConfigError names `source` instead of a file and line."""
    from newsbrief.config.yamlconf import LineDict, LineList

    node = LineDict(item)
    node.key_lines = {}
    items = LineList([node])
    items.item_lines = [0]
    entry = LineDict({"alerts": items})
    entry.key_lines = {}
    (alert,) = _alerts(Checker(source), entry, email, f"subscriber '{email}'", known_topics)
    return alert


def _opt_int(value: float | None) -> int | None:
    return None if value is None else int(value)


def override_recipients(recipients: list[str] | str | None, subscribers: list[Subscriber]) -> list[Subscriber]:
    """Recipients given at trigger time replace the file's list; known addresses keep their preferences."""
    if not recipients:
        return subscribers
    if isinstance(recipients, str):
        recipients = [r for r in re.split(r"[,\s;]+", recipients) if r]
    by_email = {s.email.lower(): s for s in subscribers}
    out = []
    for address in recipients:
        if not valid_email(address):
            raise ConfigError("recipients", None, f"not a valid email address: {address!r}",
                              "give addresses like name@example.org, separated by commas")
        out.append(by_email.get(address.lower()) or Subscriber(email=address))
    return out
