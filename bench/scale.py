"""Scale benchmark (issue 15): real articles through the stage functions the DAGs call, on SQLite or PostgreSQL.

Usage:  .venv/bin/python bench/scale.py [--postgres] [--sizes 1000,2000,5000,10000] [--no-order-check]

Articles: Reuters-21578 TRAIN bodies (~0.9 kB) mixed with the full-text items of the shared feeds
(../shared/data/feeds: entries whose feed text is 800+ characters, one per link; 1,446 of them, median
2.1 kB, up to 58 kB), one article in ten, spread evenly so every size has the same mix of lengths
(--reuters-only: the bodies alone, as the runs before the mix). Research-only data: read from ../shared at run time, never
copied. Stages: dedup (content hash + URL keys, batched inserts), summarize, tag, cluster. Prints wall and
CPU seconds per stage, their total against the target (30 s on SQLite, 45 s on PostgreSQL), peak RSS, and
the linear-growth check (10k time <= 12 x 1k time for every stage), and the order check: the same
articles stored and clustered in other arrival orders and batch splits (reversed in 7 batches; shuffled in
3 incremental runs) must give the same stories, else the exit status is 1 (--no-order-check skips it). --postgres uses a fresh database on
the local PostgreSQL (tests/store/postgres.py `fresh_database`, dropped afterwards). JSON in
bench/results/scale.json (scale_postgres.json). Other helpers share the 2 cores, so CPU seconds are the
steadier figure.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "tagging" / "reuters21578-train" / "articles.jsonl"
SHARED_FEEDS = ROOT / ".." / "shared" / "data" / "feeds"
FEEDS = 20
FULL_TEXT_CHARS = 800


def _feed_items() -> list[dict]:
    """The full-text entries of the shared feed files (text as ingestion makes it), one per link and text."""
    import feedparser

    from newsbrief.sources.extract import html_to_text

    out, seen = [], set()
    for path in sorted(SHARED_FEEDS.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".xml", ".rss", ".atom", ""):
            continue
        for entry in feedparser.parse(path.read_bytes()).entries:
            values = [c.get("value", "") for c in entry.get("content", []) or []] + [entry.get("summary", "") or ""]
            text = html_to_text(max(values, key=len))
            link = entry.get("link")
            if len(text) < FULL_TEXT_CHARS or not link or link in seen or text in seen:
                continue
            seen.update((link, text))
            out.append({"title": html_to_text(entry.get("title", "") or ""), "body": text, "link": link,
                        "newid": f"feed-{len(out)}"})
    return out


def _bodies(n: int, mix: bool = True) -> list[dict]:
    """n articles: Reuters bodies with the shared feeds' full-text items spread evenly among them."""
    reuters = []
    with DATA.open() as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("body", "").strip():
                reuters.append(row)
                if len(reuters) == n:
                    break
    items = _feed_items()[: n // 10] if mix else []
    every = max(1, n // max(len(items), 1))
    out, pending = [], iter(items)
    for k, row in enumerate(reuters):
        item = next(pending, None) if k % every == every - 1 else None
        out.append(item or row)
    return out[:n]


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def _dedup(store, batches: list[list[tuple[int, dict, str]]], now) -> list[int]:
    """Store (feed number, row, URL) items, one transaction per batch as ingestion does; the new ids."""
    from newsbrief.sources.seeds import content_hash
    from newsbrief.sources.urls import match_keys
    from newsbrief.store import Article
    from newsbrief.store import feeds as feed_store

    ids = []
    with store.session() as s:
        feeds = feed_store.sync_feeds(s, [(f"https://bench.invalid/feed{k}.xml", f"feed{k}") for k in range(FEEDS)])
    for items in batches:
        with store.session() as s:
            batch = []
            for k, r, url in items:
                state = feeds[f"https://bench.invalid/feed{k}.xml"]
                batch.append((Article(content_hash=content_hash(r.get("title") or "", r["body"]), url=url,
                                      source_kind="feed", source=f"feed{k}", origin=state.url, feed_id=state.id,
                                      title=(r.get("title") or "")[:2000], text=r["body"], ingested_at=now,
                                      extraction="full", run_key="bench"), match_keys(url)))
            ids.extend(a.id for a, created in feed_store.insert_articles(s, batch) if created)
    return sorted(ids)


def _items(rows: list[dict], n: int) -> list[tuple[int, dict, str]]:
    return [(k % FEEDS, row, row.get("link") or f"https://bench.invalid/a/{row['newid']}")
            for k, row in enumerate(rows[:n])]


def _partition(store) -> set[frozenset[str]]:
    """The stories as sets of URLs: ids differ between stores, URLs do not."""
    from sqlalchemy import select

    from newsbrief.store import Article

    groups: dict[int, set[str]] = {}
    with store.session() as s:
        for url, cid in s.execute(select(Article.url, Article.cluster_id).where(Article.cluster_id.is_not(None))):
            groups.setdefault(cid, set()).add(url)
    return {frozenset(g) for g in groups.values()}


def order_check(n: int, rows: list[dict], postgres: bool, expected: set[frozenset[str]]) -> dict:
    """The same articles in other arrival orders must give the same stories: reversed and dealt into 7
    batches, clustered once; shuffled in 3 parts, each stored and clustered in turn (incremental runs)."""
    import random

    from newsbrief.store import Store
    from newsbrief.stories.stage import cluster_articles

    items = _items(rows, n)
    shuffled = items[:]
    random.Random(1).shuffle(shuffled)
    third = -(-len(items) // 3)
    variants = {"reversed, 7 batches": [[items[::-1][i::7] for i in range(7)]],
                "shuffled, 3 incremental runs": [[shuffled[i:i + third]] for i in range(0, len(items), third)]}
    out = {}
    for name, runs in variants.items():
        with _database(postgres) as url:
            store = Store(url)
            now = datetime.now(UTC)
            for batches in runs:
                cluster_articles(store, _dedup(store, batches, now), now=now)
            got = _partition(store)
            store.dispose()
        out[name] = {"clusters": len(got), "identical": got == expected}
    return out


def run(n: int, rows: list[dict], settings, taxonomy, store_url: str) -> dict:
    from newsbrief.store import Store
    from newsbrief.stories.stage import cluster_articles
    from newsbrief.tagging.stage import tag_articles
    from newsbrief.text.stage import summarize_articles

    store = Store(store_url)
    now = datetime.now(UTC)
    by_feed: dict[int, list] = {}
    for item in _items(rows, n):
        by_feed.setdefault(item[0], []).append(item)
    ids, dw, dc = _timed(lambda: _dedup(store, list(by_feed.values()), now))
    _, sw, sc = _timed(lambda: summarize_articles(store, ids, sentences=3))
    _, tw, tc = _timed(lambda: tag_articles(store, ids, taxonomy))
    clusters, cw, cc = _timed(lambda: cluster_articles(store, ids, now=now))
    partition = _partition(store)
    store.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    chars = sum(len(r["body"]) for r in rows[:n])
    return {"articles": n, "stored": len(ids), "clusters": clusters, "mean_chars": round(chars / n),
            "dedup": [dw, dc], "summarize": [sw, sc], "tag": [tw, tc], "cluster": [cw, cc],
            "total": [round(dw + sw + tw + cw, 2), round(dc + sc + tc + cc, 2)], "peak_rss_mb": rss,
            "partition": partition}


STAGES = ("dedup", "summarize", "tag", "cluster")


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="a fresh database on the local PostgreSQL")
    parser.add_argument("--sizes", default="1000,2000,5000,10000")
    parser.add_argument("--no-order-check", action="store_true",
                        help="skip clustering the same articles in other arrival orders (order_check)")
    parser.add_argument("--reuters-only", action="store_true",
                        help="Reuters bodies alone, the input of the runs before the mix (comparisons)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    if not DATA.exists():
        print(f"skipped: Reuters-21578 TRAIN not found at {DATA.resolve()} (place ../shared beside the repo)")
        return 0
    logging.disable(logging.WARNING)
    sys.path.insert(0, str(ROOT))
    from newsbrief.config.settings import load_settings
    from newsbrief.tagging import load_taxonomy

    settings = load_settings()
    taxonomy = load_taxonomy(settings.topics_file)
    rows = _bodies(max(sizes), mix=not args.reuters_only)
    target = 45 if args.postgres else 30
    backend = "PostgreSQL (fresh local database)" if args.postgres else "SQLite"
    what = "Reuters-21578 TRAIN bodies" + ("" if args.reuters_only else " + shared feeds' full-text items")
    print(f"{what}, {backend}, stage functions; wall s / CPU s. "
          "NOTE: other helpers load this 2-core machine, so wall times vary; CPU seconds are steadier.")
    print("| articles | mean chars | dedup | summarize | tag | cluster | total | peak RSS |\n|---|---|---|---|---|---|---|---|")
    results, checks = [], []
    for n in sizes:
        with _database(args.postgres) as url:
            r = run(n, rows, settings, taxonomy, url)
        partition = r.pop("partition")
        results.append(r)
        cells = " | ".join(f"{r[k][0]} / {r[k][1]}" for k in (*STAGES, "total"))
        print(f"| {n:,} | {r['mean_chars']} | {cells} | {r['peak_rss_mb']} MB |", flush=True)
        if not args.no_order_check:
            r["order_check"] = order_check(n, rows, args.postgres, partition)
            checks.append((n, len(partition), r["order_check"]))
    for n, count, check in checks:
        print(f"order check at {n:,} articles ({count} stories): " + "; ".join(
            f"{name}: {c['clusters']} stories, {'identical' if c['identical'] else 'DIFFERENT'}"
            for name, c in check.items()))
    growth = {}
    by_size = {r["articles"]: r for r in results}
    if min(by_size) * 10 == max(by_size):
        small, large = by_size[min(by_size)], by_size[max(by_size)]
        for stage in (*STAGES, "total"):
            ratios = [round(large[stage][i] / max(small[stage][i], 0.01), 1) for i in (0, 1)]
            growth[stage] = {"wall_ratio": ratios[0], "cpu_ratio": ratios[1], "linear": ratios[1] <= 12}
        print("growth 10x articles (<= 12x is linear): " + "; ".join(
            f"{k} wall {v['wall_ratio']}x, CPU {v['cpu_ratio']}x{'' if v['linear'] else ' NOT linear'}"
            for k, v in growth.items()))
    top = by_size[max(by_size)]
    print(f"{max(by_size):,} articles: {top['total'][0]} s wall / {top['total'][1]} s CPU of task time "
          f"(target < {target} s: {'met' if top['total'][0] < target else 'NOT met'} by wall, "
          f"{'met' if top['total'][1] < target else 'NOT met'} by CPU); peak RSS {top['peak_rss_mb']} MB (< 1 GB: "
          f"{'met' if top['peak_rss_mb'] < 1024 else 'NOT met'})")
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    name = "scale_postgres" if args.postgres else "scale"
    out = ROOT / "bench" / "results" / f"{name}{'_reuters_only' if args.reuters_only else ''}.json"
    out.write_text(json.dumps({"commit": commit, "store": "postgresql" if args.postgres else "sqlite",
                               "machine_shared": True, "units": "[wall s, cpu s]", "runs": results,
                               "growth_10x": growth}, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0 if all(c["identical"] for _, _, check in checks for c in check.values()) else 1


@contextmanager
def _database(postgres: bool):
    if postgres:
        from tests.store.postgres import fresh_database

        with fresh_database("nb_scale") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/scale.db"


if __name__ == "__main__":
    sys.exit(main())
