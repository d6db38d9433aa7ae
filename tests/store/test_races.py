"""Two runs racing on the same rows, on SQLite and the real PostgreSQL: no raw database error, one row each.

Each run is a thread with its own Store (its own engine and connections, as two workers have). A
statement hook holds each run at its first INSERT into a gated table until the other run is there too
(or a few seconds have passed), so both have looked for the row, found nothing, and insert at once:
the interleaving that used to surface as a raw unique-constraint error in the task log.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import event, func, select

from newsbrief.config.settings import load_settings
from newsbrief.config.subscribers import Subscriber
from newsbrief.digest.build import build_digests
from newsbrief.sources.feeds import FeedConfig
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.sources.seed_ingest import ingest_seed_files
from newsbrief.store import Article, Digest, Store, Summary, Tag, TemplateLine
from newsbrief.tagging import load_taxonomy
from newsbrief.tagging.stage import tag_articles
from newsbrief.text.stage import summarize_articles
from tests.http_server import LocalServer
from tests.store.postgres import fresh_database

GATE_SECONDS = 3.0


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, project):
    if request.param == "sqlite":
        yield load_settings().store_url
        return
    with fresh_database("nb_race") as url:
        yield url


class Gate:
    """Holds each of two runs at its first INSERT into each gated table until both are there."""

    def __init__(self, tables: tuple[str, ...]):
        self.prefixes = {t: f"INSERT INTO {t} " for t in tables}
        self.barriers = {t: threading.Barrier(2, timeout=GATE_SECONDS) for t in tables}
        self.local = threading.local()
        self.met: set[str] = set()

    def attach(self, store: Store) -> None:
        event.listen(store.engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip()[:80].upper()
        for table, prefix in self.prefixes.items():
            if head.startswith(prefix.upper()):
                done = self.local.__dict__.setdefault("done", set())
                if table in done:
                    return
                done.add(table)
                try:
                    self.barriers[table].wait()
                    self.met.add(table)
                except threading.BrokenBarrierError:
                    pass


def race(url: str, gate: Gate, work: Callable[[Store], object]) -> list:
    """Run `work` in two threads, each with its own Store; returns both results (or raises the first error)."""
    Store(url).dispose()  # migrate once, so the two runs race on rows, not on creating the schema
    stores = [Store(url), Store(url)]
    for store in stores:
        gate.attach(store)
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(work, store) for store in stores]
            return [f.result() for f in futures]
    finally:
        for store in stores:
            store.dispose()


def count(url: str, model) -> int:
    store = Store(url)
    try:
        with store.session() as s:
            return s.scalar(select(func.count()).select_from(model))
    finally:
        store.dispose()


def test_two_runs_on_the_same_seed_store_it_once(store_url):
    settings = load_settings()
    gate = Gate(("articles",))
    first, second = race(store_url, gate, lambda store: ingest_seed_files(
        store, settings, f"run-{threading.get_ident()}"))
    assert "articles" in gate.met, "the runs did not meet at the insert: no race was tested"
    assert count(store_url, Article) == 1
    assert sorted([len(first.article_ids), len(second.article_ids)]) == [0, 1]
    assert sorted([len(first.already_known), len(second.already_known)]) == [0, 1]


def test_a_retry_racing_its_own_run_gets_the_same_seed_article(store_url):
    settings = load_settings()
    first, second = race(store_url, Gate(("articles",)), lambda store: ingest_seed_files(store, settings, "run-1"))
    assert first.article_ids == second.article_ids and len(first.article_ids) == 1


def _seeded(url: str) -> list[int]:
    store = Store(url)
    try:
        return ingest_seed_files(store, load_settings(), "run-1").article_ids
    finally:
        store.dispose()


def test_two_runs_summarizing_and_tagging_the_same_article(store_url):
    ids = _seeded(store_url)
    taxonomy = load_taxonomy(load_settings().topics_file)
    gate = Gate(("template_lines", "summaries", "tags"))

    def work(store):
        return summarize_articles(store, ids, sentences=2), tag_articles(store, ids, taxonomy)

    assert race(store_url, gate, work) == [(ids, ids), (ids, ids)]
    assert {"template_lines", "summaries"} <= gate.met, f"the runs met only at {gate.met}: no race was tested"
    assert count(store_url, Summary) == 1
    assert count(store_url, Tag) >= 3
    store = Store(store_url)
    with store.session() as s:
        keys = s.execute(select(TemplateLine.source, TemplateLine.key, TemplateLine.article_id)).all()
        tags = s.execute(select(Tag.tag)).scalars().all()
    store.dispose()
    assert keys and len(keys) == len(set(keys))
    assert len(tags) == len(set(tags))


def test_two_runs_tagging_the_same_article(store_url):
    """On SQLite the first DELETE serializes the two runs; on PostgreSQL both insert the same tags at once."""
    ids = _seeded(store_url)
    taxonomy = load_taxonomy(load_settings().topics_file)
    gate = Gate(("tags",))
    assert race(store_url, gate, lambda store: tag_articles(store, ids, taxonomy)) == [ids, ids]
    store = Store(store_url)
    with store.session() as s:
        tags = s.execute(select(Tag.tag)).scalars().all()
    store.dispose()
    assert len(tags) >= 3 and len(tags) == len(set(tags))
    if store_url.startswith("postgresql"):
        assert "tags" in gate.met, "the runs did not meet at the insert: no race was tested"


def test_two_runs_building_the_same_digest(store_url):
    settings = load_settings()
    taxonomy = load_taxonomy(settings.topics_file)
    ids = _seeded(store_url)
    store = Store(store_url)
    summarize_articles(store, ids, sentences=3)
    tag_articles(store, ids, taxonomy)
    store.dispose()
    subs = [Subscriber("desk@example.org", topics=("ceasefire",))]
    gate = Gate(("digests",))
    first, second = race(store_url, gate, lambda store: build_digests(store, settings, "run-1", ids, subs, taxonomy))
    assert "digests" in gate.met, "the runs did not meet at the insert: no race was tested"
    assert first == second and len(first) == 1
    assert count(store_url, Digest) == 1


def test_two_ingest_runs_of_the_same_feed(store_url):
    items = "".join(f"<item><title>Story {n}</title><link>http://127.0.0.1/s/{n}</link>"
                    f"<description>{f'Words of story {n}. ' * 60}</description></item>" for n in range(5))
    with LocalServer() as server:
        url = server.add("/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                                      f"{items}</channel></rss>")
        feeds = [FeedConfig(url=url, name="race feed", fetch_pages=False)]
        gate = Gate(("articles",))
        first, second = race(store_url, gate, lambda store: ingest_feeds(store, feeds, "run-1", allow=["127.0.0.1"]))
    assert count(store_url, Article) == 5
    assert sorted(first.new_article_ids + second.new_article_ids) == sorted(set(first.new_article_ids
                                                                               + second.new_article_ids))
    assert len(first.new_article_ids) + len(second.new_article_ids) == 5
    assert first.failed == [] and second.failed == []
