"""Stories and surviving copies do not depend on the order articles arrive in: parallel workers, batch splits
and incremental runs give what one run of the same articles gives."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from newsbrief.sources.extract import html_to_text
from newsbrief.sources.feeds import FeedConfig
from newsbrief.sources.fetch import FetchLimits
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.sources.seeds import content_hash
from newsbrief.sources.urls import canonical_url, match_keys
from newsbrief.store import Article, Cluster, Store
from newsbrief.store import feeds as feed_store
from newsbrief.stories.stage import cluster_articles, match_clusters
from tests.http_server import LocalServer

POOL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds" / "laapy-rss-pool" / "current"
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Copy:
    title: str
    text: str
    url: str
    source: str
    extraction: str = "full"


BRIDGE = ("The city council approved the new harbour bridge on Tuesday after a long debate about costs, "
          "traffic and the ferry operators, who warned that the crossing would cost them passengers.")
HAND = [
    Copy("Council approves harbour bridge after long debate", BRIDGE, "https://herald.test/bridge", "Herald"),
    Copy("Harbour bridge approved by city council", "After a long debate on costs, traffic and ferry operators' "
         "warnings about lost passengers, the city council on Tuesday approved the new harbour bridge.",
         "https://gazette.test/harbour-bridge", "Gazette"),
    Copy("City council backs harbour bridge despite ferry warnings", "The council approved the harbour bridge on "
         "Tuesday; ferry operators warned the crossing would cost them passengers, and traffic and costs were "
         "debated at length.", "https://wire.test/bridge-vote", "Wire"),
    # the Herald story syndicated word for word under another address: one article, whichever arrives first
    Copy("Council approves harbour bridge after long debate", BRIDGE, "https://aggregator.test/herald-bridge",
         "Aggregator"),
    # a teaser of the Gazette story under its own address from a second feed: the full text is kept
    Copy("Harbour bridge approved by city council", "After a long debate on costs...",
         "https://gazette.test/harbour-bridge", "Gazette teasers", "feed_text"),
    Copy("Storm closes schools across the northern valleys", "Heavy snow and a storm with gusts of 120 km/h closed "
         "schools across the northern valleys on Monday, and road crews worked through the night to clear passes.",
         "https://herald.test/storm", "Herald"),
    Copy("Northern valley schools shut as storm brings heavy snow", "Schools across the northern valleys were "
         "closed on Monday as a storm with 120 km/h gusts and heavy snow hit; road crews cleared passes overnight.",
         "https://wire.test/storm-schools", "Wire"),
    Copy("Chess club celebrates its centenary", "The town's chess club marked one hundred years with a simultaneous "
         "exhibition in the library, where a grandmaster played forty members at once.",
         "https://gazette.test/chess", "Gazette"),
    Copy("Bakery wins regional sourdough prize", "A family bakery on Mill Street won the regional sourdough prize "
         "with a rye loaf fermented for three days, its owners said.", "https://herald.test/bakery", "Herald"),
]


def _pool() -> list[Copy]:
    """Every entry of the shared Google News pools, links repeated across feeds included: the exact copies
    whose survivor must not depend on order."""
    if not POOL.exists():
        pytest.skip(f"shared real data not found at {POOL.resolve()} (see ../shared/data/README.md)")
    out = []
    for path in sorted(POOL.glob("*.xml")):
        if path.name in ("deduplicated.xml", "fulltext.xml"):
            continue
        for entry in feedparser.parse(path.read_bytes()).entries:
            url = canonical_url(entry.get("link", ""))
            text = html_to_text(entry.get("summary", "") or "")
            if url and text.strip():
                out.append(Copy(html_to_text(entry.get("title", "") or ""), text, url, path.name))
    return out


def _ingest(store: Store, batches: list[list[Copy]], run_key: str = "r1") -> list[int]:
    """Store each batch in its own transaction (as each ready feed group is), then cluster."""
    ids = []
    for batch in batches:
        with store.session() as s:
            items = [(Article(content_hash=content_hash(c.title, c.text), url=c.url, source_kind="feed", source=c.source,
                              origin=f"https://feeds.test/{c.source}", title=c.title, text=c.text, ingested_at=NOW,
                              extraction=c.extraction, run_key=run_key), match_keys(c.url)) for c in batch]
            ids.extend(a.id for a, created in feed_store.insert_articles(s, items) if created)
    cluster_articles(store, ids, now=NOW)
    return ids


def _stories(store: Store) -> tuple[set[frozenset[str]], dict[str, tuple[str, str, str]], set[str]]:
    """What a reader sees, by URL: the stories, each stored article's source/extraction/text, the lead articles."""
    with store.session() as s:
        rows = s.execute(select(Article.url, Article.cluster_id, Article.source, Article.extraction,
                                Article.text)).all()
        reps = set(s.execute(select(Article.url).join(Cluster, Cluster.representative_id == Article.id)).scalars())
    groups: dict[int, set[str]] = {}
    for r in rows:
        if r.cluster_id is not None:
            groups.setdefault(r.cluster_id, set()).add(r.url)
    return {frozenset(g) for g in groups.values()}, {r.url: (r.source, r.extraction, r.text) for r in rows}, reps


def _arrivals(copies: list[Copy]) -> list[list[list[Copy]]]:
    """The same copies in several arrival orders and batch splits: one batch, reversed in 7 batches, shuffled
    in uneven batches, round robin by source (one worker per feed)."""
    shuffled = copies[:]
    random.Random(11).shuffle(shuffled)
    reverse = copies[::-1]
    by_source: dict[str, list[Copy]] = {}
    for c in copies:
        by_source.setdefault(c.source, []).append(c)
    round_robin = [c for k in range(max(map(len, by_source.values()))) for cs in by_source.values()
                   for c in cs[k:k + 1]]
    cuts = sorted(random.Random(5).sample(range(1, len(copies)), min(4, len(copies) - 1)))
    return [[copies], [reverse[i::7] for i in range(7)],
            [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(copies)], strict=True)],
            [round_robin[i:i + 3] for i in range(0, len(round_robin), 3)]]


def _each_order(tmp_path: Path, copies: list[Copy]):
    for n, batches in enumerate(_arrivals(copies)):
        store = Store(f"sqlite:///{tmp_path / f'order{n}.db'}")
        try:
            _ingest(store, batches)
            yield _stories(store)
        finally:
            store.dispose()


def test_hand_made_stories_and_copies_whatever_the_order(tmp_path):
    results = list(_each_order(tmp_path, HAND))
    stories, stored, reps = results[0]
    assert stories == {frozenset({"https://aggregator.test/herald-bridge", "https://gazette.test/harbour-bridge",
                                  "https://wire.test/bridge-vote"}),
                       frozenset({"https://herald.test/storm", "https://wire.test/storm-schools"})}
    assert "https://herald.test/bridge" not in stored, "the syndicated copy with the smaller URL is kept"
    assert stored["https://gazette.test/harbour-bridge"][:2] == ("Gazette", "full")
    assert all(result == results[0] for result in results[1:])


def test_real_pool_stories_and_surviving_copies_whatever_the_order(tmp_path):
    copies = _pool()
    results = list(_each_order(tmp_path, copies))
    stories, stored, _ = results[0]
    assert len(stories) >= 50 and len(stored) < len(copies), "expected real stories and real exact copies"
    for n, result in enumerate(results[1:], 1):
        assert result[0] == stories, f"arrival order {n} gave other stories"
        assert result[1] == stored, f"arrival order {n} kept other copies"
        assert result[2] == results[0][2], f"arrival order {n} chose other lead articles"


def test_batch_a_then_batch_b_equals_one_run_of_both(tmp_path):
    """Hourly runs cluster what they have; the next run's stories are those of one run over all the articles,
    and a story whose members did not change keeps its id."""
    once = Store(f"sqlite:///{tmp_path / 'once.db'}")
    _ingest(once, [_pool()])
    _, stored, _ = _stories(once)
    with once.session() as s:
        articles = [Copy(a.title, a.text, a.url, a.source, a.extraction) for a in s.execute(select(Article)).scalars()]
    random.Random(3).shuffle(articles)
    half = len(articles) // 2
    twice = Store(f"sqlite:///{tmp_path / 'twice.db'}")
    try:
        _ingest(twice, [articles[:half]], "r1")
        with twice.session() as s:
            first = _ids_by_members(s)
        _ingest(twice, [articles[half:]], "r2")
        assert _stories(twice)[0] == _stories(once)[0]
        with twice.session() as s:
            second = _ids_by_members(s)
        unchanged = first.keys() & second.keys()
        assert unchanged and all(first[m] == second[m] for m in unchanged)
        assert cluster_articles(twice, [], now=NOW + timedelta(minutes=5)) == 0
        with twice.session() as s:
            assert _ids_by_members(s) == second
    finally:
        once.dispose()
        twice.dispose()


def _ids_by_members(s) -> dict[frozenset[str], int]:
    groups: dict[int, set[str]] = {}
    for url, cid in s.execute(select(Article.url, Article.cluster_id).where(Article.cluster_id.is_not(None))):
        groups.setdefault(cid, set()).add(url)
    return {frozenset(g): cid for cid, g in groups.items()}


def test_a_story_split_by_an_earlier_run_becomes_one_with_the_older_id(tmp_path):
    """Rows left by the order-dependent clustering (one story as two clusters) are mended: the story keeps
    the older id and the emptied cluster is gone from the story list."""
    store = Store(f"sqlite:///{tmp_path / 'mend.db'}")
    try:
        ids = _ingest(store, [HAND])
        with store.session() as s:
            bridge = [a for a in s.execute(select(Article)).scalars() if "bridge" in a.url]
            old, other = Cluster(representative_id=bridge[0].id), Cluster(representative_id=bridge[2].id)
            s.add_all([old, other])
            s.flush()
            bridge[0].cluster_id = bridge[1].cluster_id = old.id
            bridge[2].cluster_id = other.id
            old_id, other_id = old.id, other.id
        assert cluster_articles(store, ids, now=NOW) == 1
        with store.session() as s:
            assert {a.cluster_id for a in s.execute(select(Article)).scalars() if "bridge" in a.url} == {old_id}
            assert s.get(Cluster, other_id) is None
    finally:
        store.dispose()


def test_stored_ids_follow_their_members():
    assert match_clusters([[1, 2, 3]], {1: 5, 2: 5, 3: 5}) == [5]
    assert match_clusters([[1, 2, 3, 4]], {1: 5, 2: 5, 3: 5, 4: None}) == [5]
    assert match_clusters([[1, 2, 3, 4, 5]], {1: 7, 2: 7, 3: 9, 4: 9, 5: 9}) == [9]
    assert match_clusters([[1, 2, 3, 4]], {1: 9, 2: 9, 3: 7, 4: 7}) == [7]
    assert match_clusters([[1, 2], [3, 4, 5]], {1: 7, 2: 7, 3: 7, 4: 7, 5: 7}) == [None, 7]
    assert match_clusters([[1, 2], [3, 4]], {1: 7, 2: 8, 3: 7, 4: 8}) == [7, 8]


def test_parallel_workers_and_feed_order_give_the_stories_of_one_worker(tmp_path):
    """The pools served on loopback and ingested for real: one worker in file order against eight workers in
    reverse order, which is what bench/ingest.py saw vary."""
    if not POOL.exists():
        pytest.skip(f"shared real data not found at {POOL.resolve()} (see ../shared/data/README.md)")
    files = [p for p in sorted(POOL.glob("*.xml")) if p.name not in ("deduplicated.xml", "fulltext.xml")]
    limits = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=5, max_bytes=4 * 1024 * 1024)
    results = []
    with LocalServer() as server:
        feeds = [FeedConfig(url=server.add(f"/{p.name}", p.read_bytes()), name=p.name, fetch_pages=False)
                 for p in files]
        for n, (order, workers) in enumerate(((feeds, 1), (feeds[::-1], 8))):
            store = Store(f"sqlite:///{tmp_path / f'workers{n}.db'}")
            try:
                report = ingest_feeds(store, order, "r1", limits=limits, now=NOW, max_workers=workers,
                                      allow=["127.0.0.1"])
                cluster_articles(store, report.new_article_ids, now=NOW)
                results.append(_stories(store))
            finally:
                store.dispose()
    assert len(results[0][0]) >= 50
    assert results[1] == results[0]
