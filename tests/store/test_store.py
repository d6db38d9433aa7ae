"""The store on SQLite and on the real PostgreSQL server: schema, UTC datetimes, uniqueness, bad URLs."""

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from newsbrief.errors import ConfigError
from newsbrief.store import Article, Delivery, Digest, Store
from tests.store.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}")
        yield s
        s.dispose()
        return
    with fresh_database("nb_store") as url:
        s = Store(url)
        try:
            yield s
        finally:
            s.dispose()


def article(**kw):
    base = dict(content_hash=uuid.uuid4().hex, source_kind="seed", source="a.txt", origin="/seeds/a.txt",
                title="T", text="Body.", published_at=datetime(2025, 6, 4, 9, 30, tzinfo=timezone(timedelta(hours=2))))
    base.update(kw)
    return Article(**base)


def test_datetimes_come_back_aware_utc(store):
    with store.session() as s:
        s.add(article(content_hash="h1"))
    with store.session() as s:
        got = s.execute(select(Article).where(Article.content_hash == "h1")).scalar_one()
        assert got.published_at == datetime(2025, 6, 4, 7, 30, tzinfo=UTC)
        assert got.published_at.utcoffset() == timedelta(0)
        assert got.ingested_at.tzinfo is not None


def test_naive_datetimes_are_refused(store):
    with pytest.raises(Exception, match="naive datetime"), store.session() as s:
        s.add(article(published_at=datetime(2025, 6, 4)))
        s.flush()


def test_same_content_or_url_is_stored_once(store):
    with store.session() as s:
        s.add(article(content_hash="same", url="https://example.org/a"))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(article(content_hash="same"))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(article(url="https://example.org/a"))
    with store.session() as s:
        assert s.execute(select(Article)).scalars().all()[0].content_hash == "same"


def test_one_ledger_row_per_digest_and_message_id(store):
    with store.session() as s:
        d = Digest(run_key="r", recipient="a@example.org", subject="s", html="h", text="t", article_ids=[1],
                   message_id="<m1@x>")
        s.add(d)
        s.flush()
        s.add(Delivery(digest_id=d.id, recipient="a@example.org", message_id="<m1@x>", channel="smtp", status="sent"))
        digest_id = d.id
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Delivery(digest_id=digest_id, recipient="a@example.org", message_id="<m2@x>", channel="smtp",
                       status="sent"))
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(Digest(run_key="r", recipient="a@example.org", subject="s", html="h", text="t", article_ids=[],
                     message_id="<m3@x>"))


def test_bad_store_urls_name_the_setting():
    with pytest.raises(ConfigError, match="NEWSBRIEF_STORE_URL: not a database URL"):
        Store("not a url")
    with pytest.raises(ConfigError, match="cannot open the store"):
        Store("postgresql+psycopg2://postgres@127.0.0.1:1/none")
