"""The stages the DAGs call, run directly: re-runs give the same outcome, nothing is sent twice."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from newsbrief.config.settings import load_settings
from newsbrief.config.subscribers import Subscriber, load_subscribers
from newsbrief.digest.build import articles_for_interval, build_digests
from newsbrief.digest.delivery import deliver
from newsbrief.sources.seed_ingest import DRY_RUN_PREFIX, ingest_seed_files
from newsbrief.store import Article, Delivery, Problem, Store, Summary, Tag
from newsbrief.tagging import load_taxonomy
from newsbrief.tagging.stage import tag_articles
from newsbrief.text.stage import summarize_articles


@pytest.fixture
def env(project):
    settings = load_settings()
    store = Store(settings.store_url)
    taxonomy = load_taxonomy(settings.topics_file)
    yield settings, store, taxonomy
    store.dispose()


def count(store, model):
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_ingest_is_idempotent_per_run_and_skips_known_seeds(env, project):
    settings, store, _ = env
    (project / "seeds" / "empty.txt").write_bytes(b"")
    first = ingest_seed_files(store, settings, "run-1")
    retry = ingest_seed_files(store, settings, "run-1")
    assert first.article_ids == retry.article_ids and len(first.article_ids) == 1
    assert len(first.problems) == 1 and "empty.txt" in first.problems[0]
    later = ingest_seed_files(store, settings, "run-2")
    assert later.article_ids == [] and later.already_known == ["000_4578fa6d09c8fd9d.txt"]
    forced = ingest_seed_files(store, settings, "run-3", force=True)
    assert forced.article_ids == first.article_ids
    assert count(store, Article) == 1
    with store.session() as s:
        (problem,) = s.execute(select(Problem).where(Problem.run_key == "run-1")).scalars()
        assert problem.stage == "seed" and problem.source.endswith("empty.txt") and "fix:" in problem.reason


def test_a_dry_run_does_not_use_up_a_seed(env):
    settings, store, _ = env
    dry = ingest_seed_files(store, settings, DRY_RUN_PREFIX + "run-1")
    real = ingest_seed_files(store, settings, "run-2")
    assert real.article_ids == dry.article_ids and real.already_known == []


def test_summaries_and_tags_are_stored_once(env):
    settings, store, taxonomy = env
    ids = ingest_seed_files(store, settings, "run-1").article_ids
    for _ in range(2):
        summarize_articles(store, ids, sentences=2)
        tag_articles(store, ids, taxonomy)
    assert count(store, Summary) == 1
    with store.session() as s:
        (summary,) = s.execute(select(Summary)).scalars()
        assert len(summary.text) == 2
        tags = {t.tag: t for t in s.execute(select(Tag)).scalars()}
    assert {"ceasefire", "humanitarian", "tariffs"} <= set(tags)
    assert not {"elections", "energy", "sport"} & set(tags)
    assert all(t.evidence and t.score > 0 for t in tags.values())


def test_digests_are_kept_per_run_and_stories_not_repeated(env):
    settings, store, taxonomy = env
    subs = [Subscriber("desk@example.org", topics=("ceasefire",)), Subscriber("sport@example.org", topics=("sport",))]
    ids = ingest_seed_files(store, settings, "run-1").article_ids
    tag_articles(store, ids, taxonomy)
    first = build_digests(store, settings, "run-1", ids, subs, taxonomy)
    assert len(first) == 1, "the sport reader has no story on their topics: no digest"
    assert build_digests(store, settings, "run-1", ids, subs, taxonomy) == first
    report = deliver(store, settings, first)
    assert report.channel == "outbox" and report.sent == ["desk@example.org"]
    assert build_digests(store, settings, "run-2", ids, subs, taxonomy) == []
    assert build_digests(store, settings, "run-3", ids, subs, taxonomy, resend=True) == [], \
        "force must not send a reader a second copy of stories they received"
    newcomer = [Subscriber("new@example.org", topics=("ceasefire",))]
    assert len(build_digests(store, settings, "run-3", ids, newcomer, taxonomy, resend=True)) == 1
    assert count(store, Delivery) == 1


def test_interval_selection_takes_feed_articles_of_the_interval_only(env):
    settings, store, _ = env
    start = datetime(2025, 6, 4, 7, tzinfo=UTC)
    with store.session() as s:
        for hours, name in ((-1, "before"), (1, "inside"), (25, "after")):
            s.add(Article(content_hash=name, source_kind="feed", source="Wire", origin="http://x/rss", title=name,
                          text="Text.", ingested_at=start + timedelta(hours=hours)))
    ids = articles_for_interval(store, "daily/x", start, start + timedelta(days=1))
    with store.session() as s:
        assert [s.get(Article, i).title for i in ids] == ["inside"]


def test_default_subscribers_use_known_topics():
    from tests.conftest import ROOT

    taxonomy = load_taxonomy(ROOT / "config" / "topics.yaml")
    load_subscribers(ROOT / "config" / "subscribers.yaml", known_topics={t.id for t in taxonomy.topics})


def test_a_feed_failing_every_hour_is_listed_once_in_the_footer(env):
    settings, store, taxonomy = env
    from newsbrief.store.problems import add_problem

    since = datetime.now(UTC) - timedelta(minutes=1)
    with store.session() as s:
        for hour in range(3):
            add_problem(s, f"ingest_feeds/h{hour}", "feed", "Wire <http://x/rss>", f"HTTP 500 (hour {hour})")
    ids = ingest_seed_files(store, settings, "daily-1").article_ids
    tag_articles(store, ids, taxonomy)
    (digest_id,) = build_digests(store, settings, "daily-1", ids, [Subscriber("a@example.org")], taxonomy,
                                          problems_since=since)
    from newsbrief.store import Digest

    with store.session() as s:
        text = s.get(Digest, digest_id).text
    assert text.count("Wire <http://x/rss>") == 1
    assert "HTTP 500 (hour 2) (failed in 3 runs)" in text


def test_a_story_already_sent_is_not_sent_again_from_another_outlet(env):
    settings, store, taxonomy = env
    from newsbrief.store import Cluster

    text = ("Tariffs on steel were raised to 50 percent on Monday. Trade talks between the two countries "
            "collapsed. Officials said new tariffs on cars would follow.")
    with store.session() as s:
        cluster = Cluster()
        s.add(cluster)
        s.flush()
        for n, source in enumerate(("Wire A", "Wire B")):
            s.add(Article(content_hash=f"h{n}", source_kind="feed", source=source, origin="http://x/rss",
                          title=f"Steel tariffs raised ({source})", text=text + f" Reported by {source}.",
                          cluster_id=cluster.id, run_key=f"ingest-{n}"))
    with store.session() as s:
        first, second = [a.id for a in s.execute(select(Article).order_by(Article.id)).scalars()]
    tag_articles(store, [first, second], taxonomy)
    reader = [Subscriber("a@example.org", topics=("tariffs",))]
    day1 = build_digests(store, settings, "daily-1", [first], reader, taxonomy)
    deliver(store, settings, day1)
    assert build_digests(store, settings, "daily-2", [second], reader, taxonomy) == []
