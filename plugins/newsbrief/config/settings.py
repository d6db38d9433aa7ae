"""Where newsbrief finds its files and store: environment variables with project-local defaults.

The embedded default needs nothing set: a SQLite store under `var/`, config from `config/`, seeds from
`seeds/`, digests written to `outbox/`. Deployments (docker-compose, Celery workers) set the same
variables to shared paths and a Postgres URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from newsbrief.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[3]

try:
    from importlib.metadata import version as _dist_version

    VERSION = _dist_version("newsbrief")
except Exception:  # noqa: BLE001 - running from a checkout without installed metadata
    VERSION = "0.1.0"

DEFAULT_USER_AGENT = f"newsbrief/{VERSION} (news digest feed reader)"
DELIVERY_MODES = ("auto", "smtp", "outbox")


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def positive_int_env(name: str, default: int, unit: str, example: str) -> int:
    """A whole number above zero from the environment; anything else is refused with the variable's name."""
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
        if value <= 0:
            raise ValueError
    except ValueError:
        raise ConfigError(name, None, f"must be a positive number of {unit}, got {raw!r}", f"set {example}") from None
    return value


@dataclass(frozen=True)
class Settings:
    store_url: str
    config_dir: Path
    seeds_dir: Path
    templates_dir: Path
    outbox_dir: Path
    timezone: str
    delivery: str
    max_seed_bytes: int

    @property
    def topics_file(self) -> Path:
        return self.config_dir / "topics.yaml"

    @property
    def subscribers_file(self) -> Path:
        return self.config_dir / "subscribers.yaml"

    @property
    def feeds_file(self) -> Path:
        return _path("NEWSBRIEF_FEEDS_FILE", self.config_dir / "feeds.yaml")


def load_settings() -> Settings:
    """Read the NEWSBRIEF_* environment; a wrong value is refused with the variable's name."""
    var_dir = _path("NEWSBRIEF_VAR_DIR", PROJECT_ROOT / "var")
    store_url = os.environ.get("NEWSBRIEF_STORE_URL", "").strip() or f"sqlite:///{var_dir / 'newsbrief.db'}"
    delivery = os.environ.get("NEWSBRIEF_DELIVERY", "auto").strip().lower() or "auto"
    if delivery not in DELIVERY_MODES:
        raise ConfigError("NEWSBRIEF_DELIVERY", None, f"unknown delivery mode {delivery!r}",
                          f"set it to one of {', '.join(DELIVERY_MODES)}")
    timezone = os.environ.get("NEWSBRIEF_TIMEZONE", "UTC").strip() or "UTC"
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:
        raise ConfigError("NEWSBRIEF_TIMEZONE", None, f"unknown timezone {timezone!r}",
                          "use an IANA name such as Europe/Berlin or UTC") from None
    max_seed_bytes = positive_int_env("NEWSBRIEF_MAX_SEED_BYTES", 5 * 1024 * 1024, "bytes", "e.g. 5242880 for 5 MiB")
    return Settings(
        store_url=store_url,
        config_dir=_path("NEWSBRIEF_CONFIG_DIR", PROJECT_ROOT / "config"),
        seeds_dir=_path("NEWSBRIEF_SEEDS_DIR", PROJECT_ROOT / "seeds"),
        templates_dir=_path("NEWSBRIEF_TEMPLATES_DIR", PROJECT_ROOT / "templates"),
        outbox_dir=_path("NEWSBRIEF_OUTBOX_DIR", PROJECT_ROOT / "outbox"),
        timezone=timezone,
        delivery=delivery,
        max_seed_bytes=max_seed_bytes,
    )


def user_agent() -> str:
    """The User-Agent of every fetch: NEWSBRIEF_USER_AGENT, so a deployment can name itself and a contact
    (publishers block anonymous readers), else newsbrief and its version."""
    value = os.environ.get("NEWSBRIEF_USER_AGENT", "").strip()
    if not value:
        return DEFAULT_USER_AGENT
    if len(value) > 256 or any(not (32 <= ord(ch) < 127) for ch in value):
        raise ConfigError("NEWSBRIEF_USER_AGENT", None, "must be one line of printable ASCII, at most 256 characters",
                          "set e.g. 'newsbrief/0.1 (+https://news.example.org/about; ops@example.org)'")
    return value


def parse_workers() -> int:
    """NEWSBRIEF_PARSE_WORKERS: how many feedparser processes a feed run may start (default one per core,
    0 parses in-process: no process start, but no deadline either, so a feed that hangs the parser hangs the run)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    raw = os.environ.get("NEWSBRIEF_PARSE_WORKERS", "").strip()
    if not raw:
        return cores
    try:
        value = int(raw)
        if not 0 <= value <= 64:
            raise ValueError
    except ValueError:
        raise ConfigError("NEWSBRIEF_PARSE_WORKERS", None,
                          f"must be a whole number of parser processes from 0 to 64, got {raw!r}",
                          f"set e.g. NEWSBRIEF_PARSE_WORKERS={cores} (one per core, the default when unset) "
                          "or 0 to parse in-process") from None
    return value
