"""Scale benchmark (issue 15): Reuters-21578 TRAIN bodies through the stage functions the DAGs call, on SQLite.

Research-only data: read from ../shared at run time, never copied. Prints wall and CPU seconds per stage and
peak RSS for 1k, 2k, 5k, 10k articles; JSON in bench/results/scale.json. Other helpers share the 2 cores,
so CPU seconds are the steadier figure.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "tagging" / "reuters21578-train" / "articles.jsonl"
SIZES = [int(a) for a in sys.argv[1:]] or [1000, 2000, 5000, 10000]
FEEDS = 20


def _bodies(n: int) -> list[dict]:
    out = []
    with DATA.open() as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("body", "").strip():
                out.append(row)
                if len(out) == n:
                    break
    return out


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, round(time.perf_counter() - wall, 2), round(time.process_time() - cpu, 2)


def run(n: int, rows: list[dict], settings, taxonomy) -> dict:
    from newsbrief.sources.ingest import cluster_articles
    from newsbrief.sources.seeds import content_hash
    from newsbrief.sources.urls import match_keys
    from newsbrief.store import Article, Store
    from newsbrief.store import feeds as feed_store
    from newsbrief.tagging.stage import tag_articles
    from newsbrief.text.stage import summarize_articles

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/scale.db")
        now = datetime.now(UTC)

        def dedup():
            ids = []
            with store.session() as s:
                feeds = feed_store.sync_feeds(s, [(f"https://bench.invalid/feed{k}.xml", f"feed{k}")
                                                  for k in range(FEEDS)])
            by_feed: dict[int, list] = {}
            for k, row in enumerate(rows[:n]):
                by_feed.setdefault(k % FEEDS, []).append((row, f"https://bench.invalid/a/{row['newid']}"))
            for k, items in by_feed.items():
                state = feeds[f"https://bench.invalid/feed{k}.xml"]
                with store.session() as s:
                    batch = [(Article(content_hash=content_hash(r.get("title") or "", r["body"]), url=url,
                                      source_kind="feed", source=f"feed{k}", origin=state.url, feed_id=state.id,
                                      title=(r.get("title") or "")[:2000], text=r["body"], ingested_at=now,
                                      extraction="full", run_key="bench"), match_keys(url)) for r, url in items]
                    ids.extend(a.id for a, created in feed_store.insert_articles(s, batch) if created)
            return sorted(ids)

        ids, dw, dc = _timed(dedup)
        _, sw, sc = _timed(lambda: summarize_articles(store, ids, sentences=3))
        _, tw, tc = _timed(lambda: tag_articles(store, ids, taxonomy))
        clusters, cw, cc = _timed(lambda: cluster_articles(store, ids, now=now))
        store.dispose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return {"articles": n, "stored": len(ids), "clusters": clusters,
            "dedup": [dw, dc], "summarize": [sw, sc], "tag": [tw, tc], "cluster": [cw, cc], "peak_rss_mb": rss}


def main() -> int:
    if not DATA.exists():
        print(f"skipped: Reuters-21578 TRAIN not found at {DATA.resolve()} (place ../shared beside the repo)")
        return 0
    logging.disable(logging.WARNING)
    from newsbrief.config.settings import load_settings
    from newsbrief.tagging import load_taxonomy

    settings = load_settings()
    taxonomy = load_taxonomy(settings.topics_file)
    rows = _bodies(max(SIZES))
    print("Reuters-21578 TRAIN bodies, SQLite, stage functions; wall s / CPU s. NOTE: other helpers load this "
          "2-core machine, so wall times vary; CPU seconds are steadier.")
    print("| articles | dedup | summarize | tag | cluster | peak RSS |\n|---|---|---|---|---|---|")
    results = []
    for n in SIZES:
        r = run(n, rows, settings, taxonomy)
        results.append(r)
        cells = " | ".join(f"{r[k][0]} / {r[k][1]}" for k in ("dedup", "summarize", "tag", "cluster"))
        print(f"| {n:,} | {cells} | {r['peak_rss_mb']} MB |", flush=True)
    out = ROOT / "bench" / "results" / "scale.json"
    out.write_text(json.dumps({"machine_shared": True, "units": "[wall s, cpu s]", "runs": results}, indent=1))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
