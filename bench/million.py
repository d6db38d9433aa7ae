"""A store of 1,000,000 articles on PostgreSQL (issue 15): the queries a run makes stay under 1 s.

Usage (from the repo root):  .venv/bin/python bench/million.py [--articles 1000000] [--per-day 2740]

A fresh database on the local PostgreSQL (127.0.0.1:5432, user postgres; `tests/store/postgres.py`
`fresh_database`, dropped at the end), migrated by the store itself to the code's head, then filled with
synthetic rows by `INSERT ... SELECT generate_series` inside the server (no row crosses the wire): a
year of 200 feeds at `--per-day` articles a day, a third of them in two-article stories (clusters), one
summary and one or two tags per article, and a year of daily digests (20 stories each, delivered) for one
recipient. Then, through the same functions the stages call, each timed (best of 3, warm):

- a day's articles: `digest.build.articles_for_interval` for the last day;
- the dedup look-up of a new entry: `store.feeds.known_urls` and `find_duplicate` for an unseen URL/hash;
- the clustering window: the 72 h column query of `stories.stage.cluster_articles`;
- building one digest: `digest.build.build_digests` for one recipient over the last day's articles
  (their stories, summaries and tags, what they were sent before, rendering).

Each must be under 1 s. The two queries the `0006_scale_indexes` indexes serve are timed again with
those indexes dropped, to show what they buy. EXPLAIN ANALYZE plans are printed (and pasted into
bench/README.md); results go to bench/results/million.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "plugins"))

END = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
RECIPIENT = "policy-desk@example.org"

FILL = """
INSERT INTO feeds (id, url, name, consecutive_failures)
  SELECT f, 'https://feeds.example.org/' || f || '.xml', 'feed ' || f, 0 FROM generate_series(1, 200) f;
INSERT INTO clusters (id, representative_id, created_at)
  SELECT c, c * 3, %(start)s::timestamptz FROM generate_series(1, (%(n)s + 2) / 3) c;
INSERT INTO articles (id, content_hash, url, source_kind, source, origin, feed_id, title, author, language,
                      published_at, ingested_at, text, feed_summary, extraction, flags, topics_hint, cluster_id,
                      run_key)
  SELECT i, md5(i::text) || md5((i * 7)::text), 'https://news.example.org/' || (i %% 200) || '/story-' || i,
         'feed', 'feed ' || (1 + i %% 200), 'https://feeds.example.org/' || (1 + i %% 200) || '.xml', 1 + i %% 200,
         'Story ' || i || ' about ' || md5(i::text), NULL, 'en',
         %(start)s::timestamptz + (i * %(step)s) * interval '1 second',
         %(start)s::timestamptz + (i * %(step)s) * interval '1 second',
         repeat('Officials said on Monday that talks on ' || md5(i::text) || ' would resume. ', 6),
         NULL, 'full', '[]', '[]', CASE WHEN i %% 3 < 2 THEN (i + 2) / 3 END, 'hourly/' || (i / 114)
  FROM generate_series(1, %(n)s) i;
INSERT INTO summaries (article_id, algorithm, sentences, text, created_at)
  SELECT i, 'newsbrief', 3, json_build_array('Officials said on Monday that talks on ' || md5(i::text) || ' would resume.'),
         %(start)s::timestamptz FROM generate_series(1, %(n)s) i;
INSERT INTO tags (article_id, tag, label, score, evidence)
  SELECT i, (ARRAY['ceasefire','conflict','humanitarian','diplomacy','tariffs','elections','energy','sport'])[1 + i %% 8],
         'Topic', 1.0 + (i %% 5), '[]' FROM generate_series(1, %(n)s) i;
INSERT INTO tags (article_id, tag, label, score, evidence)
  SELECT i, 'sanctions', 'Sanctions', 0.5, '[]' FROM generate_series(2, %(n)s, 2) i;
INSERT INTO digests (id, run_key, recipient, recipient_name, subject, html, text, article_ids, message_id, created_at)
  SELECT d, 'daily/' || d, %(recipient)s, NULL, 'newsbrief', '<p>digest</p>', 'digest',
         (SELECT json_agg(x) FROM generate_series(d * %(per_day)s, d * %(per_day)s + 19) x),
         '<daily-' || d || '@newsbrief.local>', %(start)s::timestamptz + d * interval '1 day'
  FROM generate_series(1, %(days)s - 1) d;
INSERT INTO deliveries (digest_id, recipient, message_id, channel, status, attempts, updated_at)
  SELECT id, recipient, message_id, 'smtp', 'sent', 1, created_at FROM digests;
"""


def _best(fn, rounds: int = 3) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - started)
    return round(best, 4), value


def _explain(conn, sql: str, params: dict) -> str:
    rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).scalars().all()
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--per-day", type=int, default=2740, help="articles a day (1M is then a year)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    from sqlalchemy import select

    from newsbrief.config.settings import load_settings
    from newsbrief.config.subscribers import Subscriber
    from newsbrief.digest import build
    from newsbrief.sources.urls import match_keys
    from newsbrief.store import Article, Store
    from newsbrief.store import feeds as feed_store
    from newsbrief.tagging import load_taxonomy
    from tests.store.postgres import fresh_database

    n, per_day = args.articles, args.per_day
    days = -(-n // per_day)
    step = 86400 / per_day
    start = END - timedelta(days=days)
    settings = load_settings()
    taxonomy = load_taxonomy(settings.topics_file)
    out: dict = {"articles": n, "per_day": per_day, "days": days}
    try:
        database = fresh_database("nb_million")
        url = database.__enter__()
    except BaseException as exc:  # noqa: BLE001 - pytest.skip when no server answers
        print(f"skipped: {exc}")
        return 0
    try:
        store = Store(url)
        started = time.perf_counter()
        with store.engine.begin() as conn:
            conn.exec_driver_sql(FILL, {"n": n, "start": start, "step": step, "recipient": RECIPIENT,
                                        "per_day": per_day, "days": days})
            for table in ("feeds", "clusters", "articles", "digests"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            size = conn.exec_driver_sql("SELECT pg_size_pretty(pg_database_size(current_database()))").scalar()
        out["fill_seconds"] = round(time.perf_counter() - started, 1)
        out["database_size"] = size
        print(f"{n:,} articles ({per_day:,} a day over {days} days), summaries, tags, {days - 1} digests: "
              f"filled in {out['fill_seconds']} s, {size}")

        day_start, day_end = END - timedelta(days=1), END
        window_since = END - timedelta(hours=72)
        new_url = "https://news.example.org/new/story-that-is-not-stored"
        new_hash = "f" * 64

        def day():
            return build.articles_for_interval(store, "daily/new", day_start, day_end)

        def dedup():
            with store.session() as s:
                known = feed_store.known_urls(s, match_keys(new_url))
                return known, feed_store.find_duplicate(s, match_keys(new_url), new_hash)

        columns = (Article.id, Article.title, Article.text, Article.cluster_id, Article.source, Article.extraction)

        def window():
            with store.session() as s:
                return s.execute(select(*columns).where(Article.ingested_at >= window_since)
                                 .order_by(Article.id.desc()).limit(20_000)).all()

        day_ids = day()
        subscriber = Subscriber(email=RECIPIENT, name="Policy desk",
                                topics=("ceasefire", "conflict", "humanitarian", "diplomacy", "sanctions"), max_items=10)
        counter = iter(range(100))

        def digest():
            return build.build_digests(store, settings, f"daily/bench-{next(counter)}", day_ids, [subscriber], taxonomy,
                                       run_label="Daily digest, bench")

        timings = {}
        for name, fn in (("day_articles", day), ("dedup_lookup", dedup), ("cluster_window", window),
                         ("build_one_digest", digest)):
            seconds, value = _best(fn)
            size = len(value) if isinstance(value, list) else None
            timings[name] = {"seconds": seconds, "rows": size, "under_1s": seconds < 1.0}
        out["timings"] = timings
        print("| query | best of 3 | rows | < 1 s |\n|---|---|---|---|")
        for name, t in timings.items():
            print(f"| {name} | {t['seconds']} s | {t['rows'] if t['rows'] is not None else ''} | "
                  f"{'yes' if t['under_1s'] else 'NO'} |")

        params = {"rk": "daily/new", "s": day_start, "e": day_end, "w": window_since, "u": new_url, "h": new_hash,
                  "r": RECIPIENT}
        queries = {
            "day_articles": ("SELECT id FROM articles WHERE run_key = %(rk)s OR (source_kind = 'feed' AND "
                             "ingested_at >= %(s)s AND ingested_at < %(e)s) ORDER BY id"),
            "dedup_lookup": "SELECT * FROM articles WHERE content_hash = %(h)s OR url IN (%(u)s) LIMIT 1",
            "cluster_window": ("SELECT id, title, text, cluster_id, source, extraction FROM articles "
                               "WHERE ingested_at >= %(w)s ORDER BY id DESC LIMIT 20000"),
            "digest_already_sent": ("SELECT digests.article_ids FROM digests JOIN deliveries ON deliveries.digest_id "
                                    "= digests.id WHERE digests.recipient = %(r)s AND digests.run_key != %(rk)s "
                                    "AND deliveries.status IN ('sent', 'failed', 'sending')"),
        }
        plans = {}
        with store.engine.connect() as conn:
            for name, sql in queries.items():
                plans[name] = _explain(conn, sql, params)
        without = {}
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("DROP INDEX ix_articles_ingested_at")
            conn.exec_driver_sql("DROP INDEX ix_digests_recipient")
            without["day_articles"] = _best(day)[0]
            without["cluster_window"] = _best(window)[0]
            without["digest_already_sent_plan"] = _explain(conn, queries["digest_already_sent"], params)
            without["cluster_window_plan"] = _explain(conn, queries["cluster_window"], params)
            conn.exec_driver_sql("CREATE INDEX ix_articles_ingested_at ON articles (ingested_at)")
            conn.exec_driver_sql("CREATE INDEX ix_digests_recipient ON digests (recipient)")
        out["plans"], out["without_0006_indexes"] = plans, without
        print(f"without the 0006 indexes: a day's articles {without['day_articles']} s, "
              f"the clustering window {without['cluster_window']} s")
        for name, plan in plans.items():
            print(f"\n-- {name}\n{plan}")
        store.dispose()
    finally:
        database.__exit__(None, None, None)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    out["commit"] = commit
    path = ROOT / "bench" / "results" / "million.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0 if all(t["under_1s"] for t in out["timings"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
