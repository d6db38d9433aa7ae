"""Opening the store: one engine per URL and process; an empty store is migrated, an old one refused.

See `newsbrief.store.migrate` for the states a store can be in and what `newsbrief db upgrade` does.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from newsbrief.errors import ConfigError, NewsbriefError

log = logging.getLogger(__name__)
_STORES: dict[str, Store] = {}
T = TypeVar("T")
DEFAULT_WAIT_SECONDS = 60.0


class StoreUnavailable(NewsbriefError):
    """The database did not answer for as long as a write may wait; the message names the store and the fix."""


class Store:
    """A database holding newsbrief's state; `session()` gives a transaction that commits on success."""

    def __init__(self, url: str, *, check_schema: bool = True):
        self.url = url
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError("NEWSBRIEF_STORE_URL", None, f"not a database URL: {url!r}",
                              "use e.g. sqlite:////path/newsbrief.db or postgresql+psycopg2://user@host/db") from None
        kwargs: dict = {"future": True, "pool_pre_ping": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        elif parsed.get_driver_name() == "psycopg2":
            # SQLAlchemy 2.1 sends an executemany of INSERT ... ON CONFLICT or of UPDATE as one round trip per
            # row; batches of pages make a 10k-article summary stage 6 s faster on a loopback server.
            kwargs.update(executemany_mode="values_plus_batch", executemany_batch_page_size=500)
        self.engine: Engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            if check_schema:
                from newsbrief.store.migrate import ensure_current

                ensure_current(self.engine, url)
            else:
                self.engine.connect().close()
        except OperationalError as exc:
            self.engine.dispose()
            raise ConfigError("NEWSBRIEF_STORE_URL", None, f"cannot open the store at {parsed!r}: {exc.orig}",
                              "check that the database server runs and the database exists") from None
        except Exception:
            self.engine.dispose()
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    def transact(self, work: Callable[[Session], T], *, what: str, wait: float | None = None) -> T:
        """`work(session)` in a transaction, run again while the server is unreachable (a restart, a failover).

        For short idempotent transactions that record what already happened outside the database, such as
        a sent email: losing that write to a restart would send the email again. Waits up to `wait` seconds
        (NEWSBRIEF_STORE_WAIT_SECONDS, default 60), then raises StoreUnavailable."""
        if wait is None:
            wait = float(os.environ.get("NEWSBRIEF_STORE_WAIT_SECONDS", "") or DEFAULT_WAIT_SECONDS)
        deadline, pause, tries = time.monotonic() + wait, 0.5, 0
        while True:
            try:
                with self.session() as session:
                    result = work(session)
                if tries:
                    log.warning("the store answered again after %d failed attempt(s) while %s", tries, what)
                return result
            except OperationalError as exc:
                tries += 1
                where = make_url(self.url).render_as_string(hide_password=True)
                if time.monotonic() + pause > deadline:
                    raise StoreUnavailable(
                        f"the store at {where} did not answer for {wait:.0f} s while {what}: {exc.orig} (fix: check "
                        f"that the database server runs; a retried task resumes from the ledger)") from None
                log.warning("the store at %s is unreachable while %s (%s); trying again in %.1f s", where, what,
                            str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def dispose(self) -> None:
        self.engine.dispose()
        _STORES.pop(self.url, None)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across crashes of the process in WAL mode
    cursor.close()


def open_store(url: str | None = None) -> Store:
    """The store at `url` (default: the configured NEWSBRIEF_STORE_URL), reused within a process."""
    if url is None:
        from newsbrief.config.settings import load_settings

        url = load_settings().store_url
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = Store(url)
    return store
