"""How long matching every alert of 1,000 subscribers against 10,000 new articles takes (target < 5 s).

Usage (from the repo root):  .venv/bin/python bench/alerts.py [--subscribers 1000] [--articles 10000]

Articles: the real BBC articles of ../shared/data/bbc-summary-100 cycled to --articles (each copy
its own document); their tags are the taxonomy's, so tag: alerts see real tags. Alerts: 3 per
subscriber, drawn with a fixed seed from the articles' own words, so they match at realistic rates:
one or two words, a quoted phrase, A OR B, an exclusion, intitle:, tag:, or topics only. The timed
matching includes working out the matched terms of the articles within each alert's cap (what an
email shows). Document preparation (stemming, done once per article whatever the number of alerts) is timed apart from
matching, and the target is judged on both together (what an alerts run over new articles costs).
The measure is CPU time (process_time): on a machine shared with other work, wall time says more
about the neighbours than about the code, so the target is judged on CPU seconds and the
verdict (PASS/FAIL) is printed next to it; wall time is printed too. The exit status is non-zero only
when the index disagrees with the all-pairs loop on a sample (a wrong result, not a slow one).
Writes bench/results/alerts.json with the git commit.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from newsbrief.alerts.matching import AlertIndex, Candidate  # noqa: E402
from newsbrief.alerts.query import Document, matches, parse  # noqa: E402
from newsbrief.alerts.spec import Alert  # noqa: E402
from newsbrief.tagging import load_taxonomy  # noqa: E402
from newsbrief.tagging.matcher import tag_article  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "bbc-summary-100" / "article"
TARGET_S = 5.0


def _articles() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DATA.rglob("*.txt")):
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        if lines:
            out.append((lines[0], " ".join(lines[1:])))
    return out


def _alerts(n_subscribers: int, words: list[str], topics: list[str], rng: random.Random) -> list[Alert]:
    alerts = []
    for s in range(n_subscribers):
        email = f"reader{s}@example.org"
        for k in range(3):
            kind = rng.randrange(7)
            w = rng.sample(words, 3)
            if kind == 0:
                q = w[0]
            elif kind == 1:
                q = f"{w[0]} {w[1]}"
            elif kind == 2:
                q = f'"{w[0]} {w[1]}"'
            elif kind == 3:
                q = f"{w[0]} OR {w[1]}"
            elif kind == 4:
                q = f"{w[0]} -{w[1]}"
            elif kind == 5:
                q = f"intitle:{w[0]} tag:{rng.choice(topics)}"
            else:
                q = None
            alerts.append(Alert(id=f"a{k}", email=email, query=parse(q) if q else None,
                                topics=(rng.choice(topics),) if q is None else ()))
    return alerts


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--check", type=int, default=300, help="articles checked against the naive all-pairs loop")
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (the shared data set); nothing measured")
        return 0
    taxonomy = load_taxonomy(ROOT / "config" / "topics.yaml")
    base = _articles()
    tagged = [[h.tag for h in tag_article(t, x, taxonomy)] for t, x in base]
    rng = random.Random(17)
    vocab = sorted({w for t, x in base for w in (t + " " + x).split() if w.isalpha() and len(w) > 3})
    common = rng.sample(vocab, 2000)
    alerts = _alerts(args.subscribers, common, taxonomy.ids, rng)

    w0, c0 = time.perf_counter(), time.process_time()
    cands = [Candidate(i, Document.of(*base[i % len(base)], source="BBC News", language="en",
                                      tags=tagged[i % len(base)])) for i in range(args.articles)]
    for c in cands:
        _ = c.doc.words, c.doc.title_words
    prep_wall, prep_cpu = time.perf_counter() - w0, time.process_time() - c0

    w0, c0 = time.perf_counter(), time.process_time()
    index = AlertIndex(alerts)
    found = index.match_ids(cands)
    by_id = {c.article_id: c for c in cands}
    shown = sum(len(index.terms_of(i, by_id[a]) and [a]) for i, ids in found.items() for a in ids[:alerts[i].cap])
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    pairs = sum(len(v) for v in found.values())

    sample = cands[: args.check]
    naive = {i: [c.article_id for c in sample if matches(q, c.doc) is not None] for i, q in enumerate(index.queries)}
    indexed = AlertIndex(alerts).match_ids(sample)
    assert {i: v for i, v in naive.items() if v} == indexed, "the index and the all-pairs loop disagree"
    checked = sum(len(v) for v in indexed.values())

    total = cpu + prep_cpu
    verdict = "PASS" if total < TARGET_S else "FAIL"
    result = {
        "subscribers": args.subscribers, "alerts": len(alerts), "articles": args.articles,
        "matches": pairs, "shown_with_terms": shown, "match_cpu_s": round(cpu, 3), "match_wall_s": round(wall, 3),
        "prepare_cpu_s": round(prep_cpu, 3), "prepare_wall_s": round(prep_wall, 3),
        "total_cpu_s": round(total, 3), "target_s": TARGET_S, "measure": "total_cpu_s", "verdict": verdict,
        "naive_check_articles": len(sample), "naive_check_matches": checked,
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                 cwd=ROOT).stdout.strip(),
        "python": platform.python_version(),
    }
    print(f"{len(alerts)} alerts of {args.subscribers} subscribers x {args.articles} articles: "
          f"{pairs} matches ({shown} within the caps, with their terms)")
    print(f"document preparation (stemming, once per article): {prep_cpu:.2f} s CPU / {prep_wall:.2f} s wall")
    print(f"matching: {cpu:.2f} s CPU / {wall:.2f} s wall")
    print(f"total: {total:.2f} s CPU (target < {TARGET_S:.0f} s CPU): {verdict}")
    print(f"indexed == all-pairs on {len(sample)} articles ({checked} matches)")
    out = ROOT / "bench" / "results" / "alerts.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
