"""Feed store queries on SQLite and on the real PostgreSQL server (127.0.0.1:5432): state, back-off, dedup, races."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from newsbrief.sources.feeds import FeedConfig
from newsbrief.sources.fetch import FetchLimits
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.store import Article, Base, Feed, Problem, Store
from newsbrief.store import feeds as fs
from newsbrief.store.migrate import VERSION_TABLE
from newsbrief.store.problems import add_problem
from tests.http_server import LocalServer
from tests.store.postgres import fresh_database

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pg_url():
    """One fresh database for this module's Postgres runs, dropped at the end."""
    with fresh_database("nb_test") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url)
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
        engine.dispose()
        s = Store(url)
    yield s
    s.dispose()


def feed_article(**kw) -> Article:
    base = dict(content_hash=uuid.uuid4().hex, url=f"https://news.example/{uuid.uuid4().hex}", source_kind="feed",
                source="Example", origin="https://news.example/rss", title="Title", text="Body text.")
    base.update(kw)
    return Article(**base)


def test_sync_creates_renames_and_keeps_state(store):
    with store.session() as s:
        states = fs.sync_feeds(s, [("https://a.example/rss", "A"), ("https://b.example/rss", "B")])
        fs.record_fetch_success(s, states["https://a.example/rss"].id, NOW, status="ok", etag='"e1"',
                                last_modified="Tue, 24 Nov 2026 10:00:00 GMT")
    with store.session() as s:
        again = fs.sync_feeds(s, [("https://a.example/rss", "A renamed")])
    state = again["https://a.example/rss"]
    assert state.name == "A renamed" and state.etag == '"e1"' and state.id == states["https://a.example/rss"].id
    with store.session() as s:
        assert s.scalar(select(func.count(Feed.id))) == 2


def test_failures_back_off_exponentially_and_success_resets(store):
    with store.session() as s:
        feed_id = fs.sync_feeds(s, [("https://a.example/rss", "A")])["https://a.example/rss"].id
    delays = []
    for n in range(8):
        with store.session() as s:
            delays.append(fs.record_fetch_failure(s, feed_id, NOW, status="failed", reason=f"HTTP 500 #{n}") - NOW)
    assert delays[:4] == [timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    assert delays[-1] == timedelta(hours=24)
    with store.session() as s:
        assert fs.record_fetch_failure(s, feed_id, NOW, status="failed", reason="503",
                                       retry_after=24 * 3600 * 10) - NOW == timedelta(hours=24)
        feed = s.get(Feed, feed_id)
        assert feed.consecutive_failures == 9 and feed.last_error == "503"
    with store.session() as s:
        fs.record_fetch_success(s, feed_id, NOW, status="not_modified", etag=None, last_modified=None)
    with store.session() as s:
        feed = s.get(Feed, feed_id)
        assert feed.consecutive_failures == 0 and feed.next_attempt_at is None and feed.last_success_at == NOW


def test_articles_are_stored_once_by_url_variant_or_content(store):
    with store.session() as s:
        first, created = fs.insert_article(s, feed_article(url="https://www.city.example/a", content_hash="h1"),
                                           ["https://www.city.example/a", "https://city.example/a"])
        assert created
        same_url, created2 = fs.insert_article(s, feed_article(url="https://city.example/a"),
                                               ["https://city.example/a", "https://www.city.example/a"])
        same_text, created3 = fs.insert_article(s, feed_article(content_hash="h1"), [])
        assert not created2 and not created3 and same_url.id == same_text.id == first.id
    with store.session() as s:
        assert s.scalar(select(func.count(Article.id))) == 1
        assert fs.known_urls(s, ["https://www.city.example/a", "https://other.example/"]) == {"https://www.city.example/a"}


def test_better_copies_of_one_run_replace_stored_rows_and_a_colliding_one_is_dropped(store):
    """A batch's replacements are written together; one that would take a third row's URL is dropped alone."""
    with store.session() as s:
        rows = fs.insert_articles(s, [(feed_article(url=f"https://r.example/{n}", content_hash=f"h{n}",
                                                    run_key="r1", text="Short.", extraction="full"),
                                       [f"https://r.example/{n}"])
                                      for n in "abc"])
        ids = [a.id for a, created in rows if created]
    longer = "A longer text of the same story, with the details the first copy left out."
    with store.session() as s:
        got = fs.insert_articles(s, [
            (feed_article(url="https://r.example/a", content_hash="h-a2", run_key="r1", text=longer,
                          extraction="full"), ["https://r.example/a"]),
            (feed_article(url="https://r.example/c", content_hash="hb", run_key="r1", text=longer,
                          extraction="full"), ["https://r.example/c"]),
        ])
        assert [(a.id, created) for a, created in got] == [(ids[0], False), (ids[1], False)]
    with store.session() as s:
        stored = {a.url: (a.id, a.content_hash, a.text) for a in s.scalars(select(Article))}
    assert stored == {"https://r.example/a": (ids[0], "h-a2", longer), "https://r.example/b": (ids[1], "hb", "Short."),
                      "https://r.example/c": (ids[2], "hc", "Short.")}


def test_two_writers_racing_on_one_article_store_it_once(store):
    barrier = threading.Barrier(2)
    results = []

    def writer():
        with store.session() as s:
            barrier.wait()
            stored, created = fs.insert_article(s, feed_article(url="https://race.example/a", content_hash="race"),
                                                ["https://race.example/a"])
            results.append(created)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]


def test_problem_recorded_once_per_run_and_source(store):
    with store.session() as s:
        add_problem(s, "r1", "feed", "A <https://a.example/rss>", "HTTP 500")
        add_problem(s, "r1", "feed", "A <https://a.example/rss>", "HTTP 500 again")
        add_problem(s, "r2", "feed", "A <https://a.example/rss>", "HTTP 500")
    with store.session() as s:
        assert s.scalar(select(func.count(Problem.id))) == 2


def test_cluster_members_put_the_representative_first(store):
    with store.session() as s:
        a = feed_article(published_at=NOW - timedelta(hours=2))
        b = feed_article(published_at=NOW - timedelta(hours=1))
        s.add_all([a, b])
        s.flush()
        cluster_id = fs.assign_cluster(s, [a.id, b.id], representative_id=b.id)
    with store.session() as s:
        assert [m.id for m in fs.cluster_members(s, cluster_id)] == [b.id, a.id]


def test_ingest_on_this_backend(store):
    """The whole stage on each backend: two feeds carrying one story once, a failing feed recorded."""
    body = "The council approved the new bridge after a long debate about costs and traffic. " * 20
    item = f"<item><title>Bridge approved</title><link>https://city.example/bridge</link><description>{body}</description></item>"
    feed = f'<rss version="2.0"><channel><title>t</title>{item}</channel></rss>'
    with LocalServer() as server:
        feeds = [FeedConfig(url=server.add("/a.xml", feed), name="A", fetch_pages=False),
                 FeedConfig(url=server.add("/b.xml", feed), name="B", fetch_pages=False),
                 FeedConfig(url=server.add("/c.xml", b"x", status=500), name="C")]
        report = ingest_feeds(store, feeds, "r1", allow=["127.0.0.1"], now=NOW,
                              limits=FetchLimits(read_timeout=2, total_timeout=5))
    assert len(report.new_article_ids) == 1 and report.duplicates == 1 and report.count("failed") == 1
    with store.session() as s:
        (problem,) = s.execute(select(Problem)).scalars()
        assert problem.source == f"C <{feeds[2].url}>" and "HTTP 500" in problem.reason
        assert s.execute(select(Article.published_at)).scalar_one() is None
