"""Store.transact against a private PostgreSQL that is restarted, or stays down (never the shared 5432)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from newsbrief.store import Store, StoreUnavailable
from tests.store.private_postgres import private_postgres


@pytest.fixture
def cluster():
    with private_postgres() as pg:
        yield pg


def test_a_write_waits_out_a_restart_and_lands_once(cluster):
    store = Store(cluster.create_database("nb_restart"))
    try:
        with store.session() as s:
            s.execute(text("CREATE TABLE marks (n int)"))
        cluster.stop()
        restarter = threading.Thread(target=lambda: (time.sleep(2), cluster.start()))
        restarter.start()
        store.transact(lambda s: s.execute(text("INSERT INTO marks VALUES (1)")), what="writing a mark", wait=30)
        restarter.join()
        with store.session() as s:
            assert s.execute(text("SELECT count(*) FROM marks")).scalar() == 1
    finally:
        store.dispose()


def test_a_store_that_stays_down_is_named_with_the_fix(cluster):
    store = Store(cluster.create_database("nb_down"))
    try:
        cluster.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as err:
            store.transact(lambda s: s.execute(text("SELECT 1")), what="reading a mark", wait=1.5)
        assert time.monotonic() - started < 10
        message = str(err.value)
        assert f"127.0.0.1:{cluster.port}/nb_down" in message and "reading a mark" in message
        assert "did not answer for 2 s" in message and "fix: check that the database server runs" in message
    finally:
        store.dispose()
