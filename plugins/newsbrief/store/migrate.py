"""The store's schema revision: what `newsbrief db upgrade` / `db current` do, and the check on open.

Alembic is configured here from the store URL (no alembic.ini): the scripts are the package's
`migrations/` folder. The revision lives in its own table, `newsbrief_alembic_version`, so a store
may share a database with Airflow's metadata (which has an `alembic_version` of its own). Nothing
assumes one fixed head: "up to date" means at every head of the script directory.

States of a store:
- empty: no newsbrief table. Opening it migrates it to the heads (embedded default, tests, new DBs).
- unversioned: newsbrief's tables without a revision, i.e. made by the release before migrations
  with `create_all`. `db upgrade` checks the baseline's tables are there, stamps the baseline and
  upgrades; opening it for a task stops with a message naming the store and that command.
- behind: a revision older than the code's heads; same message on open, `db upgrade` moves it on.
- unknown: a revision this code has never heard of (a newer release migrated it): refused.
"""

from __future__ import annotations

import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from newsbrief.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "newsbrief_alembic_version"
BASELINE = "0001_baseline"
BASELINE_TABLES = ("feeds", "clusters", "articles", "summaries", "tags", "problems", "digests", "deliveries")
UPGRADE_COMMAND = "newsbrief db upgrade"
_LOCK_KEY = zlib.crc32(b"newsbrief.store.migrate")  # one PostgreSQL advisory lock for every migrator


def masked(url: str) -> str:
    """The URL as it may appear in a message or log: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: say so without echoing it
        return "<unparsable store URL>"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    config.attributes["version_table"] = VERSION_TABLE
    return config


@cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def heads() -> tuple[str, ...]:
    """The revisions a current store is at: one once the chain is linear, several while branches wait."""
    return tuple(sorted(script_directory().get_heads()))


@dataclass(frozen=True)
class Status:
    store: str  # masked URL
    current: tuple[str, ...]
    heads: tuple[str, ...]
    tables: frozenset[str]

    @property
    def state(self) -> str:
        if not self.current:
            return "unversioned" if self.tables & set(BASELINE_TABLES) else "empty"
        known = {rev.revision for rev in script_directory().walk_revisions()}
        if not set(self.current) <= known:
            return "unknown"
        return "current" if set(self.current) == set(self.heads) else "behind"

    def describe(self) -> str:
        at = ", ".join(self.current) or "none"
        return f"{self.store}: schema revision {at}; this newsbrief's head: {', '.join(self.heads)} ({self.state})"


def status(connection: Connection, url: str) -> Status:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return Status(store=masked(url), current=tuple(sorted(context.get_current_heads())), heads=heads(),
                  tables=frozenset(inspect(connection).get_table_names()))


class StoreOutOfDate(ConfigError):
    """The store's schema is not the one this code was written for; the message says what to run."""

    def __init__(self, st: Status):
        at = ", ".join(st.current)
        if st.state == "unversioned":
            reason = (f"the store {st.store} has newsbrief's tables but no schema revision: it was made by "
                      "a release before schema migrations")
        elif st.state == "unknown":
            reason = (f"the store {st.store} is at schema revision {at}, which this newsbrief does not know "
                      f"(its head: {', '.join(st.heads)}): a newer release migrated it")
        else:
            reason = f"the store {st.store} is at schema revision {at}, behind this newsbrief's {', '.join(st.heads)}"
        fix = ("run the newsbrief release that migrated it, or upgrade this installation" if st.state == "unknown"
               else f"run `{UPGRADE_COMMAND}` (it reads NEWSBRIEF_STORE_URL, or give --url) once, then rerun")
        self.status = st
        super().__init__("NEWSBRIEF_STORE_URL", None, reason, fix)


@contextmanager
def _migrating(engine: Engine):
    """One transaction holding the migration lock, so concurrent openers of an empty store wait."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        yield connection


def upgrade(engine: Engine, url: str) -> tuple[Status, Status]:
    """Bring the store to the heads; a pre-migration store is checked and stamped at the baseline first.

    Returns the status before and after."""
    with _migrating(engine) as connection:
        before = status(connection, url)
        if before.state == "unknown":
            raise StoreOutOfDate(before)
        config = alembic_config(connection)
        if before.state == "unversioned":
            missing = [name for name in BASELINE_TABLES if name not in before.tables]
            if missing:
                raise ConfigError("NEWSBRIEF_STORE_URL", None,
                                  f"the store {before.store} has some of newsbrief's tables but not "
                                  f"{', '.join(missing)}: it is not a store of an earlier release",
                                  "point NEWSBRIEF_STORE_URL (or --url) at the right database, or at an empty one")
            command.stamp(config, BASELINE)
        if before.state != "current":
            try:
                command.upgrade(config, "heads")
            except CommandError as exc:
                raise ConfigError("NEWSBRIEF_STORE_URL", None, f"cannot upgrade the store {before.store}: {exc}",
                                  "check the revisions under newsbrief/store/migrations/versions") from None
        after = status(connection, url)
    return before, after


def ensure_current(engine: Engine, url: str) -> None:
    """On open: migrate an empty store, refuse one that is out of date with a message naming the fix."""
    with engine.connect() as connection:
        st = status(connection, url)
    if st.state == "current":
        return
    if st.state != "empty":
        raise StoreOutOfDate(st)
    try:
        upgrade(engine, url)
    except Exception:
        with engine.connect() as connection:  # another process may have migrated it meanwhile
            if status(connection, url).state != "current":
                raise
