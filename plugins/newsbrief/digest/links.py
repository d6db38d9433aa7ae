"""Signed links in every email: a subscriber's preferences page and one-click unsubscribe (RFC 8058).

A token names no address: it carries a keyed hash of the subscriber's email, a scope ("all", or
"alert:<id>" for one alert), the day it was issued and an HMAC over the three, so it cannot be guessed,
altered or moved to another subscriber. The web app resolves it against the declared subscribers.

Settings (environment): NEWSBRIEF_SECRET_KEY signs the links (without it, a random key is created once
in the var folder and kept, so links survive restarts of the embedded default); NEWSBRIEF_PUBLIC_URL is
the web app's address as readers reach it (default http://127.0.0.1:8088); NEWSBRIEF_UNSUBSCRIBE_MAILTO
adds a mailto to List-Unsubscribe; NEWSBRIEF_LINK_MAX_AGE_DAYS bounds how long a link works (180).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

from newsbrief.config.settings import PROJECT_ROOT, positive_int_env
from newsbrief.errors import ConfigError

ALL = "all"
ALERTS = "alerts"  # every alert of the subscriber, their digest untouched (a combined alert email)
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8088"
DEFAULT_MAX_AGE_DAYS = 180
_EPOCH = date(2020, 1, 1)


class InvalidToken(Exception):
    """A link token that was altered, belongs to nobody declared, or is too old; `reason` says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkSettings:
    secret: bytes
    public_url: str
    mailto: str | None
    max_age_days: int


def _secret() -> bytes:
    value = os.environ.get("NEWSBRIEF_SECRET_KEY", "").strip()
    if value:
        if len(value) < 16:
            raise ConfigError("NEWSBRIEF_SECRET_KEY", None, "too short to sign links (under 16 characters)",
                              "set it to a long random string, e.g. the output of `openssl rand -hex 32`")
        return value.encode()
    return _kept_secret(Path(os.environ.get("NEWSBRIEF_VAR_DIR", "").strip() or PROJECT_ROOT / "var"))


@functools.cache
def _kept_secret(var_dir: Path) -> bytes:
    """The generated key of a var folder, created on first use; read once per process, as it never changes."""
    key_file = var_dir / "secret.key"
    try:
        return key_file.read_bytes().strip()
    except FileNotFoundError:
        var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile
            return key_file.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key


def load_link_settings() -> LinkSettings:
    max_age = positive_int_env("NEWSBRIEF_LINK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS, "days", "e.g. 180")
    public = (os.environ.get("NEWSBRIEF_PUBLIC_URL", "").strip() or DEFAULT_PUBLIC_URL).rstrip("/")
    if not public.startswith(("http://", "https://")):
        raise ConfigError("NEWSBRIEF_PUBLIC_URL", None, f"not an http(s) URL: {public!r}",
                          "set the web app's address as readers reach it, e.g. https://news.example.org")
    mailto = os.environ.get("NEWSBRIEF_UNSUBSCRIBE_MAILTO", "").strip() or None
    return LinkSettings(secret=_secret(), public_url=public, mailto=mailto, max_age_days=max_age)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscriber_key(email: str, secret: bytes) -> str:
    """A stable, unguessable id for a subscriber (keyed hash of the lower-cased address)."""
    return _b64(hmac.new(secret, b"subscriber:" + email.strip().lower().encode(), hashlib.sha256).digest()[:12])


def _sign(body: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, b"link:" + body.encode(), hashlib.sha256).digest()[:16])


def make_token(email: str, scope: str = ALL, *, settings: LinkSettings, issued: date | None = None) -> str:
    """The token for `email` and `scope`; `issued` defaults to today (UTC)."""
    if "." in scope or not scope:
        raise ValueError(f"bad link scope {scope!r}")
    day = ((issued or datetime.now(UTC).date()) - _EPOCH).days
    body = f"{subscriber_key(email, settings.secret)}.{_b64(scope.encode())}.{day:x}"
    return f"{body}.{_sign(body, settings.secret)}"


def read_token(token: str, emails: Iterable[str], *, settings: LinkSettings,
               today: date | None = None) -> tuple[str, str]:
    """(email, scope) of a valid token among the declared `emails`; InvalidToken with the reason otherwise."""
    parts = token.split(".")
    if len(parts) != 4:
        raise InvalidToken("the link is incomplete or was altered")
    key, scope_b64, day_hex, sig = parts
    if not hmac.compare_digest(sig, _sign(f"{key}.{scope_b64}.{day_hex}", settings.secret)):
        raise InvalidToken("the link was altered or signed with another key")
    try:
        scope = base64.urlsafe_b64decode(scope_b64 + "=" * (-len(scope_b64) % 4)).decode()
        issued = int(day_hex, 16)
    except ValueError:
        raise InvalidToken("the link is malformed") from None
    age = ((today or datetime.now(UTC).date()) - _EPOCH).days - issued
    if age > settings.max_age_days:
        raise InvalidToken(f"the link is {age} days old; links work for {settings.max_age_days} days")
    for email in emails:
        if hmac.compare_digest(subscriber_key(email, settings.secret), key):
            return email, scope
    raise InvalidToken("the link belongs to no current subscriber")


def preferences_url(email: str, *, settings: LinkSettings) -> str:
    return f"{settings.public_url}/preferences/{make_token(email, ALL, settings=settings)}"


def unsubscribe_url(email: str, scope: str = ALL, *, settings: LinkSettings) -> str:
    return f"{settings.public_url}/unsubscribe/{make_token(email, scope, settings=settings)}"


def list_unsubscribe_headers(email: str, scope: str = ALL, *, settings: LinkSettings) -> dict[str, str]:
    """RFC 2369 List-Unsubscribe (https link, plus a mailto where configured) and RFC 8058's one-click header."""
    links = [f"<{unsubscribe_url(email, scope, settings=settings)}>"]
    if settings.mailto:
        subject = quote(f"unsubscribe {make_token(email, scope, settings=settings)}")
        links.append(f"<mailto:{settings.mailto}?subject={subject}>")
    return {"List-Unsubscribe": ", ".join(links), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
