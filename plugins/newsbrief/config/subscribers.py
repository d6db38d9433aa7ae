"""Subscribers from YAML: who gets a digest, on which topics, and how many stories at most."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from newsbrief.config.yamlconf import Checker, load_yaml
from newsbrief.errors import ConfigError

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+$|^[^@\s<>\"',;]+@localhost$")
DEFAULT_MAX_ITEMS = 10
_SUBSCRIBER_KEYS = {"email", "name", "topics", "max_items", "sentences"}


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str | None = None
    topics: tuple[str, ...] = ()  # empty: every topic, and untagged stories too
    max_items: int = DEFAULT_MAX_ITEMS
    sentences: int | None = None
    line: int | None = field(default=None, compare=False)

    def wants(self, tags: list[str]) -> bool:
        return not self.topics or any(t in self.topics for t in tags)


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
        topics = check.strings(entry, "topics", where)
        if known_topics is not None:
            for j, topic in enumerate(topics):
                if topic not in known_topics:
                    check.fail(entry["topics"], j, f"{where}: unknown topic '{topic}'",
                               f"use one of: {', '.join(sorted(known_topics))}, or add it to topics.yaml")
        out.append(Subscriber(
            email=email,
            name=check.string(entry, "name", where, required=False),
            topics=tuple(topics),
            max_items=int(check.number(entry, "max_items", where, default=default_max, minimum=1, integer=True)),
            sentences=_opt_int(check.number(entry, "sentences", where, minimum=1, maximum=20, integer=True)),
            line=entry.line,
        ))
    return out


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
