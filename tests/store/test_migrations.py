"""Schema migrations: a store of the release before Alembic is upgraded in place and keeps its data;
the migrated schema is exactly the code's; a store behind the code stops a task with the command to run."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from newsbrief.cli import main
from newsbrief.store import Article, Base, Delivery, Digest, Store, Summary, Tag
from newsbrief.store.migrate import BASELINE_TABLES, VERSION_TABLE, StoreOutOfDate, heads
from tests.store.postgres import fresh_database

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def pg_database():
    with fresh_database("nb_mig") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_database")


def _load_previous_release(url: str) -> None:
    """The previous release's tables (as its create_all made them on this dialect) and the same rows."""
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    script = (FIXTURES / f"previous_release.schema.{dialect}.sql").read_text()
    script += (FIXTURES / "previous_release.data.sql").read_text()
    engine = create_engine(url)
    with engine.begin() as conn:
        if dialect == "sqlite":
            conn.connection.driver_connection.executescript(script)
        else:
            conn.exec_driver_sql(script)
            for table in BASELINE_TABLES:  # rows with explicit ids leave the sequences behind them
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
    engine.dispose()


def _snapshot(store: Store) -> dict:
    with store.session() as s:
        return {
            "articles": [(a.id, a.title, a.source, a.cluster_id, a.flags, a.published_at)
                         for a in s.execute(select(Article).order_by(Article.id)).scalars()],
            "summaries": [(x.article_id, x.text) for x in s.execute(select(Summary).order_by(Summary.id)).scalars()],
            "tags": [(t.article_id, t.tag, t.score, t.evidence) for t in s.execute(select(Tag).order_by(Tag.id)).scalars()],
            "digests": [(d.recipient, d.subject, d.article_ids, d.message_id)
                        for d in s.execute(select(Digest).order_by(Digest.id)).scalars()],
            "ledger": [(d.recipient, d.message_id, d.status, d.error)
                       for d in s.execute(select(Delivery).order_by(Delivery.id)).scalars()],
        }


def test_a_store_of_the_previous_release_is_refused_then_upgraded_in_place(empty_url, capsys):
    _load_previous_release(empty_url)

    with pytest.raises(StoreOutOfDate) as refused:
        Store(empty_url)
    message = str(refused.value)
    assert "newsbrief db upgrade" in message and "before schema migrations" in message
    assert main(["db", "current", "--url", empty_url]) == 1

    assert main(["db", "upgrade", "--url", empty_url]) == 0
    assert "upgraded from unversioned" in capsys.readouterr().out
    assert main(["db", "current", "--url", empty_url]) == 0
    assert main(["db", "upgrade", "--url", empty_url]) == 0
    assert "already at" in capsys.readouterr().out

    store = Store(empty_url)
    try:
        snap = _snapshot(store)
        assert [a[1] for a in snap["articles"]] == ["Ceasefire talks resume in Geneva", "New tariffs on steel",
                                                    "Steel tariffs raised"]
        assert snap["articles"][1][3:5] == (1, ["teaser"])
        assert snap["articles"][0][5].utcoffset().total_seconds() == 0
        assert snap["summaries"][0] == (1, ["Negotiators met in Geneva on Sunday.",
                                            "Both sides agreed to a pause in fighting."])
        assert snap["tags"][1] == (2, "tariffs", 6.0, ["The government raised tariffs on imported steel."])
        assert snap["digests"] == [
            ("desk@example.org", "newsbrief: 2 stories", [1, 2], "<daily-1.desk@newsbrief.local>"),
            ("trade@example.org", "newsbrief: 1 story", [2], "<daily-1.trade@newsbrief.local>"),
        ]
        assert snap["ledger"] == [("desk@example.org", "<daily-1.desk@newsbrief.local>", "sent", None),
                                  ("trade@example.org", "<daily-1.trade@newsbrief.local>", "failed",
                                   "451 try again later")]
        with store.session() as s:  # new rows get fresh ids after the fixture's explicit ones
            article = Article(content_hash="4" * 64, source_kind="seed", source="new.txt", origin="new.txt",
                              title="After the upgrade", text="It still works.", flags=[], topics_hint=[])
            s.add(article)
            s.flush()
            assert article.id == 4
    finally:
        store.dispose()


def test_migrating_an_empty_store_gives_exactly_the_code_schema(empty_url):
    """Guards every later schema change: a model edit without its revision fails here."""
    store = Store(empty_url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert tuple(sorted(context.get_current_heads())) == heads()
    finally:
        store.dispose()


def test_a_store_behind_the_code_names_itself_and_the_command(tmp_path):
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    Store(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dfeed'"))
    engine.dispose()
    with pytest.raises(StoreOutOfDate, match="f00dfeed, which this newsbrief does not know"):
        Store(url)
