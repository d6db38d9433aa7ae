"""Feeds at scale: a sample of feedparser's corpus and hostile servers from loopback in ONE ingest run.

Every feed ends within its deadline (timed around each real fetch), ends either with articles or with a
reason stored twice (the run's problems, which the digest footer lists, and the feed's own state with a
next attempt), and the hostile feeds cost the run only themselves.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from newsbrief.sources.feeds import FeedConfig
from newsbrief.sources.fetch import FetchLimits, GuardedClient
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.store import Feed, Problem, Store
from tests.conftest import shared_path
from tests.http_server import LocalServer
from tests.sources.test_feedparser_corpus import _headers

SAMPLE_EVERY = 7  # ~300 of the 2,100 corpus files: the run stays under a minute on a shared machine
LIMITS = FetchLimits(connect_timeout=2, read_timeout=1, total_timeout=3, max_bytes=512 * 1024, max_redirects=5)
SLACK = 1.0  # scheduling on a loaded 2-core machine; the deadline itself is checked on every socket read


class TimedClient(GuardedClient):
    """The real guarded client, noting how long each GET took from first connect to return or raise."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.took: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, url, **kwargs):
        started = time.monotonic()
        try:
            return super().get(url, **kwargs)
        finally:
            with self._lock:
                self.took[url] = time.monotonic() - started


def _hostile(server: LocalServer) -> dict[str, tuple[str, str]]:
    """name -> (url, what its reason must say)."""
    deadline = f"total deadline of {LIMITS.total_timeout:g} s exceeded"
    return {
        "header drip": (server.header_drip("/hostile/header-drip", interval=0.2, seconds=15), deadline),
        "body drip": (server.slow_drip("/hostile/body-drip", interval=0.2), deadline),
        "endless redirects": (server.redirect_forever("/hostile/redirect"), "more than 5 redirects"),
        "gzip bomb": (server.gzip_bomb("/hostile/bomb.gz"), "larger than the"),
        "endless body": (server.endless("/hostile/endless"), "larger than the"),
        "never answers": (server.hang("/hostile/hang", seconds=60), "timed out waiting for data"),
    }


def test_corpus_and_hostile_servers_in_one_run_every_feed_ends_in_time_with_a_reason(tmp_path, record_property):
    corpus = shared_path("feedparser-corpus")
    files = sorted(corpus.rglob("*.xml"))[::SAMPLE_EVERY]
    assert len(files) > 250
    store = Store(f"sqlite:///{tmp_path / 'hostile.db'}")
    now = datetime(2025, 6, 5, 7, 0, tzinfo=UTC)
    with LocalServer() as server, TimedClient(LIMITS, allow=["127.0.0.1"], max_connections=16) as client:
        feeds = []
        for path in files:
            rel = path.relative_to(corpus).as_posix()
            body = path.read_bytes()
            feeds.append(FeedConfig(url=server.add(f"/{rel}", body, headers=_headers(body)), name=rel,
                                    fetch_pages=False, max_entries=20))
        hostile = _hostile(server)
        # Spread through the corpus so the slow ones overlap the fast ones in the worker pool.
        for n, (name, (url, _)) in enumerate(hostile.items()):
            feeds.insert(n * len(feeds) // len(hostile), FeedConfig(url=url, name=name, fetch_pages=False))
        started = time.monotonic()
        report = ingest_feeds(store, feeds, "hostile", allow=["127.0.0.1"], max_workers=8, now=now, client=client)
        elapsed = time.monotonic() - started
        took = dict(client.took)
    with store.session() as s:
        problems = {p.source: p.reason for p in s.execute(select(Problem).where(Problem.run_key == "hostile"))
                    .scalars()}
        states = {f.url: f for f in s.execute(select(Feed)).scalars()}
    store.dispose()

    by_url = {o.url: o for o in report.outcomes}
    assert len(report.outcomes) == len(feeds) and set(by_url) == {f.url for f in feeds}
    assert set(took) == set(by_url), "a feed was never fetched"
    late = {url: round(t, 2) for url, t in took.items() if t > LIMITS.total_timeout + SLACK}
    assert not late, f"fetches ran past the {LIMITS.total_timeout} s deadline: {late}"

    for name, (url, expected) in hostile.items():
        outcome = by_url[url]
        assert outcome.status == "failed" and expected in outcome.reason, (name, outcome.reason)
    for outcome in report.outcomes:
        assert outcome.status in ("ok", "failed"), outcome
        state = states[outcome.url]
        if outcome.status == "ok":
            assert outcome.entries > 0 and state.consecutive_failures == 0
            continue
        assert "internal error" not in outcome.reason, outcome
        reason = problems.get(f"{outcome.name} <{outcome.url}>")
        assert reason and reason.startswith(outcome.reason), outcome
        assert state.last_error == outcome.reason and state.next_attempt_at > now, outcome
    corpus_ok = [o for o in report.outcomes if o.status == "ok"]
    assert len(corpus_ok) > len(files) // 5, "the hostile feeds cost the run more than themselves"
    assert report.new_article_ids

    slowest = sorted(took.values())[-1]
    reasons = Counter(o.reason.split(" (")[0][:50] for o in report.outcomes if o.status == "failed")
    summary = (f"{len(feeds)} feeds ({len(hostile)} hostile) in {elapsed:.1f} s: {len(corpus_ok)} ok, "
               f"{report.count('failed')} failed with a reason; slowest fetch {slowest:.2f} s against a "
               f"{LIMITS.total_timeout:g} s deadline; top reasons {reasons.most_common(4)}")
    record_property("hostile_feeds", summary)
    print("\n" + summary)
