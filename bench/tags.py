"""Topic-tag quality and speed: newsbrief's tagger against hand labels of real articles.

Usage (from the repo root):  .venv/bin/python bench/tags.py [--holdout] [--errors] [--reuters-errors] [--no-speed]
                             [--no-reuters] [--fit] [--speed-only]

Labels: bench/data/tag-labels.jsonl (rules in bench/data/LABELLING.md) holds references into
../shared/data and a label set per article; the text is read from the shared data at run time,
never copied (Reuters-21578 is research-only, the feeds carry no licence).
Quality: precision, recall and F1 per tag, micro- and macro-averaged, on the development splits
(`dev` and `test`: the articles the rules in config/topics.yaml were written and tuned on; `test` was
held out in the first round and retired when `holdout` was drawn, see bench/data/LABELLING.md) and on
the held-out split `holdout`, which no rule was tuned on.
Speed: articles per second over all labelled articles, text already loaded.
Writes bench/results/tags.json with the git commit. --errors lists the development articles' false
positives and negatives with their evidence; the holdout's are never printed, so it stays unseen.
It also scores the tariffs tag against Reuters-21578's own `trade` topic on all 14,668 TRAIN
articles (a second, independent labelling; --no-reuters skips it), in all and on two halves split by a hash
of the article id: `analysis`, whose errors --reuters-errors lists, and `check`, only ever scored in totals;
sport recall and world-news/trade tags on the BBC sport, tech and entertainment stories, and speed on 3 kB articles.
--fit prints per-topic min_probability cuts fitted on the development articles (bootstrap: the best, the plateau
near it and its middle) and stops. Without --holdout only the development articles are scored and nothing is
written, so rules can be reworked without seeing the holdout totals by accident (Reuters TRAIN and the BBC checks,
which are not the holdout, still run); --holdout (`make bench-tags`) adds the holdout and writes the results file.

A reference is `<path under shared/data>` for a plain article file, `<jsonl path>#newid=<n>` for
Reuters-21578, `<feed path>#<entry id or link>` for a feed entry and `<ground-truth.json>#<page id>`
for a page of the article-extraction benchmark (its text is the benchmark's reference body, its
title the page's own).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import html
import json
import platform
import re
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "plugins"))

from newsbrief.tagging import load_taxonomy, score_article, tag_article  # noqa: E402
from newsbrief.tagging.model import MODEL_PATH  # noqa: E402

SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"
LABELS_FILE = REPO_ROOT / "bench" / "data" / "tag-labels.jsonl"
RESULTS = REPO_ROOT / "bench" / "results"

_BLOCK_END = re.compile(r"</(?:p|div|h[1-6]|li|blockquote)\s*>|<br\s*/?>", re.I)
_TAG = re.compile(r"<[^>]+>")
_REUTERS_LINK = re.compile(r'\[USN:\S+ TEXT:"(.*?)"\]')


DEVELOPMENT = ("dev", "test")


def split_of(source: str) -> str:
    """dev or test for the first round's articles, fixed by a hash of the reference alone (decided before
    any rule was written). Articles drawn later all go to `holdout` (see LABELLING.md)."""
    return "test" if int(hashlib.sha1(source.encode("utf-8")).hexdigest()[:8], 16) % 2 else "dev"


def html_to_text(markup: str) -> str:
    text = _BLOCK_END.sub("\n", markup)
    text = html.unescape(_TAG.sub(" ", text))
    text = _REUTERS_LINK.sub(r"\1", text)
    lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@lru_cache(maxsize=4)
def _reuters(path: Path) -> dict[int, dict]:
    with path.open(encoding="utf-8") as fh:
        return {row["newid"]: row for row in map(json.loads, fh)}


@lru_cache(maxsize=2)
def _ground_truth(path: Path) -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8"))


_OG_TITLE = re.compile(r"""<meta[^>]+property=["']og:title["'][^>]+content=["']([^"']+)""", re.I)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def _page_title(html_path: Path) -> str:
    markup = html_path.read_text(encoding="utf-8", errors="replace")
    match = _OG_TITLE.search(markup) or _HTML_TITLE.search(markup)
    return html.unescape(re.sub(r"\s+", " ", match.group(1))).strip() if match else ""


@lru_cache(maxsize=128)
def _feed_entries(path: Path) -> dict[str, tuple[str, str]]:
    import feedparser

    out: dict[str, tuple[str, str]] = {}
    for entry in feedparser.parse(str(path)).entries:
        key = entry.get("id") or entry.get("link")
        if not key or key in out:
            continue
        body = entry["content"][0]["value"] if entry.get("content") else entry.get("summary", "")
        out[key] = (html_to_text(entry.get("title", "")), html_to_text(body))
    return out


def load_article(source: str, root: Path = SHARED_DATA) -> tuple[str, str]:
    """(title, text) of one reference; KeyError/FileNotFoundError if the data changed under us."""
    path_part, _, fragment = source.partition("#")
    path = (root / path_part).resolve()
    if path.suffix == ".txt":
        lines = path.read_text(encoding="utf-8", errors="replace").strip().split("\n")
        return lines[0].strip(), "\n".join(line.strip() for line in lines[1:] if line.strip())
    if path.name == "ground-truth.json":
        body = _ground_truth(path)[fragment]["articleBody"]
        text = "\n".join(line.strip() for line in body.split("\n") if line.strip())
        return _page_title(path.parent / "html" / f"{fragment}.html"), text
    if path.suffix == ".jsonl":
        row = _reuters(path)[int(fragment.removeprefix("newid="))]
        paragraphs = re.split(r"\n\s{2,}", (row.get("body") or "").strip())
        body = "\n".join(re.sub(r"\s+", " ", p).strip() for p in paragraphs if p.strip())
        body = re.sub(r"\s*\bReuter\s*\Z", "", body)
        return (row.get("title") or "").strip(), body
    return _feed_entries(path)[fragment]


def load_labelled(labels_file: Path = LABELS_FILE, root: Path = SHARED_DATA) -> list[dict]:
    """Labelled articles with their text; exits with a clear message when the shared data is absent."""
    if not root.is_dir():
        sys.exit(f"shared data not found at {root.resolve()}: this benchmark reads the articles from "
                 "../shared/data next to the repository (see ../shared/data/README.md).")
    rows = [json.loads(line) for line in labels_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    out, missing = [], []
    for row in rows:
        try:
            title, text = load_article(row["source"], root)
        except (OSError, KeyError, ValueError) as exc:
            missing.append(f"{row['source']}: {exc!r}")
            continue
        out.append({**row, "title": title, "text": text})
    if missing:
        print(f"warning: {len(missing)} labelled article(s) not found in the shared data, left out:", file=sys.stderr)
        for line in missing[:10]:
            print(f"  {line}", file=sys.stderr)
    return out


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn, "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(f, 4)}


def evaluate(articles: list[dict], predicted: dict[str, list[str]], tags: list[str]) -> dict:
    counts = {t: [0, 0, 0] for t in tags}
    for a in articles:
        gold, pred = set(a["tags"]), set(predicted[a["source"]])
        for t in tags:
            counts[t][0] += t in gold and t in pred
            counts[t][1] += t in pred and t not in gold
            counts[t][2] += t in gold and t not in pred
    per_tag = {t: prf(*c) for t, c in counts.items()}
    micro = prf(*(sum(c[i] for c in counts.values()) for i in range(3)))
    scored = [v for v in per_tag.values() if v["support"]]
    macro = {k: round(sum(v[k] for v in scored) / len(scored), 4) for k in ("precision", "recall", "f1")}
    exact = sum(set(a["tags"]) == set(predicted[a["source"]]) for a in articles)
    return {"articles": len(articles), "per_tag": per_tag, "micro": micro, "macro": macro,
            "exact_match": round(exact / len(articles), 4) if articles else 0.0}


def print_table(name: str, result: dict) -> None:
    print(f"\n{name}: {result['articles']} articles, exact label-set match {result['exact_match']:.1%}")
    print(f"{'tag':<15}{'support':>8}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}{'F1':>7}")
    for tag, m in result["per_tag"].items():
        print(f"{tag:<15}{m['support']:>8}{m['tp']:>5}{m['fp']:>5}{m['fn']:>5}"
              f"{m['precision']:>11.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}")
    m = result["micro"]
    print(f"{'micro':<15}{m['support']:>8}{m['tp']:>5}{m['fp']:>5}{m['fn']:>5}"
          f"{m['precision']:>11.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}")
    m = result["macro"]
    print(f"{'macro':<15}{'':>8}{'':>5}{'':>5}{'':>5}{m['precision']:>11.3f}{m['recall']:>8.3f}{m['f1']:>7.3f}")


def print_errors(articles: list[dict], hits: dict[str, list]) -> None:
    for a in articles:
        gold = set(a["tags"])
        pred = {h.tag: h for h in hits[a["source"]]}
        fps, fns = sorted(set(pred) - gold), sorted(gold - set(pred))
        if not fps and not fns:
            continue
        print(f"\n{a['source']}\n  title: {a['title'][:100]}\n  gold: {sorted(gold)}  fp: {fps}  fn: {fns}")
        for tag in fps:
            print(f"    FP {tag} {pred[tag].score}: " + " | ".join(e[:110] for e in pred[tag].evidence[:2]))


def fit_thresholds(articles: list[dict], taxonomy, *, rounds: int = 300, seed: int = 7,
                   margin: float = 0.02) -> dict[str, dict]:
    """Per topic, the middle of the plateau of min_probability cuts whose mean bootstrap F1 on the given (dev)
    articles is within `margin` of the best.

    Resampling keeps a threshold from sitting on the edge that one or two articles happen to favour;
    taking the plateau's middle rather than its best point leaves room on both sides for articles the
    rules have not seen. Returns {topic: {"best", "low", "high", "chosen", "f1"}}.
    """
    import random

    rng = random.Random(seed)
    scores = [score_article(a["title"], a["text"], taxonomy) for a in articles]
    grid = [x / 100 for x in range(4, 98, 2)]
    samples = [[rng.randrange(len(articles)) for _ in articles] for _ in range(rounds)]
    fitted = {}
    for topic in taxonomy.topics:
        t = topic.id
        gold = [t in a["tags"] for a in articles]
        means = []
        for th in grid:
            hit = [s[t] >= th for s in scores]
            total = 0.0
            for sample in samples:
                tp = sum(1 for i in sample if hit[i] and gold[i])
                fp = sum(1 for i in sample if hit[i] and not gold[i])
                fn = sum(1 for i in sample if gold[i] and not hit[i])
                total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
            means.append(total / rounds)
        best = max(range(len(grid)), key=lambda k: (means[k], -k))
        lo = hi = best
        while lo > 0 and means[lo - 1] >= means[best] - margin:
            lo -= 1
        while hi < len(grid) - 1 and means[hi + 1] >= means[best] - margin:
            hi += 1
        fitted[t] = {"best": grid[best], "low": grid[lo], "high": grid[hi], "chosen": grid[(lo + hi) // 2],
                     "f1": round(means[best], 4)}
    return fitted


def reuters_half(newid: int) -> str:
    """`analysis` or `check`, by a hash of the Reuters article id: errors may be read on the analysis
    half only (to find failure classes); the check half is only ever scored in totals."""
    return "check" if int(hashlib.sha1(f"reuters-{newid}".encode()).hexdigest()[:8], 16) % 2 else "analysis"


def reuters_trade(taxonomy, tag: str = "tariffs", root: Path = SHARED_DATA, errors: bool = False) -> dict | None:
    """The tag against Reuters-21578's own `trade` topic on all 14,668 TRAIN articles (an article
    without topics is a negative), in all and per half (`reuters_half`); with `errors`, the analysis
    half's wrong decisions are printed.

    Reuters' `trade` is broader than trade policy (it includes trade figures and some economy
    stories), so this is a check on a second, independent labelling. Reuters is research-only: it is
    scored here and never trains the shipped model or sets its cuts.
    """
    path = root / "tagging" / "reuters21578-train" / "articles.jsonl"
    if not path.exists():
        return None
    rows = list(_reuters(path.resolve()).values())
    counts = {"all": [0, 0, 0], "analysis": [0, 0, 0], "check": [0, 0, 0]}
    for row in rows:
        title, text = load_article(f"tagging/reuters21578-train/articles.jsonl#newid={row['newid']}", root)
        pred = any(h.tag == tag for h in tag_article(title, text, taxonomy))
        gold = "trade" in (row.get("topics") or [])
        half = reuters_half(row["newid"])
        for key in ("all", half):
            counts[key][0] += pred and gold
            counts[key][1] += pred and not gold
            counts[key][2] += gold and not pred
        if errors and half == "analysis" and pred != gold:
            print(f"  reuters {'FP' if pred else 'FN'} newid={row['newid']} {row.get('topics')}: {title[:90]}")
    return {"tag": tag, "articles": len(rows), **prf(*counts["all"]),
            "analysis": prf(*counts["analysis"]), "check": prf(*counts["check"])}


WORLD = ("conflict", "ceasefire", "humanitarian", "diplomacy", "sanctions", "defence")


def bbc_checks(taxonomy, root: Path = SHARED_DATA) -> dict | None:
    """On bbc-summary-100: the share of sport stories tagged sport, and the share of sport, tech and
    entertainment stories that get a world-news tag (conflict, ceasefire, humanitarian, diplomacy,
    sanctions, defence) or the trade tag."""
    base = root / "bbc-summary-100" / "article"
    if not base.is_dir():
        return None
    out: dict = {}
    world = trade = total = 0
    for folder in ("sport", "tech", "entertainment"):
        tagged = []
        for path in sorted((base / folder).glob("*.txt")):
            title, text = load_article(str(path.relative_to(root)), root)
            tagged.append({h.tag for h in tag_article(title, text, taxonomy)})
        if folder == "sport":
            out["sport_recall"] = round(sum("sport" in t for t in tagged) / len(tagged), 4)
        world += sum(bool(t & set(WORLD)) for t in tagged)
        trade += sum("tariffs" in t for t in tagged)
        total += len(tagged)
    out |= {"articles": total, "world_tag_share": round(world / total, 4), "trade_tag_share": round(trade / total, 4)}
    return out


def speed_3kb(taxonomy, root: Path = SHARED_DATA, seconds: float = 3.0) -> dict | None:
    """Articles per CPU second on one core for 3 kB articles: each BBC article extended with the next
    ones of its folder to at least 3,000 characters (text loaded, taxonomy compiled, as in the tag stage)."""
    base = root / "bbc-summary-100" / "article"
    if not base.is_dir():
        return None
    articles = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        loaded = [load_article(str(p.relative_to(root)), root) for p in sorted(folder.glob("*.txt"))]
        for i, (title, text) in enumerate(loaded):
            k = i
            while len(text) < 3000:
                k = (k + 1) % len(loaded)
                text += "\n" + loaded[k][1]
            articles.append((title, text[:3200]))
    for title, text in articles:
        tag_article(title, text, taxonomy)
    times: list[float] = []
    while len(times) < 3 or sum(times) < seconds:
        started = time.process_time()
        for title, text in articles:
            tag_article(title, text, taxonomy)
        times.append(time.process_time() - started)
    rounds = len(times)
    return {"articles_per_cpu_second": round(rounds * len(articles) / sum(times), 1), "articles": len(articles),
            "rounds": rounds, "mean_chars": round(sum(len(t) for _, t in articles) / len(articles)),
            "best_round_articles_per_cpu_second": round(len(articles) / min(times), 1)}


def _speed_line(speed3: dict) -> str:
    """The mean is the figure of record; the best round beside it shows how much of a low mean is the host
    (this machine's CPU speed drifts by a fifth within minutes: a round the host left alone is its floor)."""
    return (f"speed, 3 kB articles: {speed3['articles_per_cpu_second']} articles per CPU second on one core "
            f"({speed3['articles']} articles of {speed3['mean_chars']} characters x {speed3['rounds']}; best round "
            f"{speed3['best_round_articles_per_cpu_second']}; target >= 1,000)")


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "config/topics.yaml", "config/topic_examples.yaml",
                                "plugins/newsbrief/tagging"],
                               cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--errors", action="store_true",
                        help="list the development articles' wrong tags with evidence (never the holdout's)")
    parser.add_argument("--no-speed", action="store_true", help="skip the timing pass")
    parser.add_argument("--no-reuters", action="store_true",
                        help="skip scoring the tariffs tag against Reuters-21578's `trade` topic (all 14,668 TRAIN articles)")
    parser.add_argument("--reuters-errors", action="store_true",
                        help="list the wrong tariffs decisions on the analysis half of Reuters TRAIN (never the check half)")
    parser.add_argument("--holdout", action="store_true",
                        help="also score the holdout and write bench/results/tags.json (the full run, `make bench-tags`); "
                             "without it only the development articles are scored and nothing is written")
    parser.add_argument("--development", action="store_true",
                        help="the default (kept for old command lines): development articles only, no results file")
    parser.add_argument("--fit", action="store_true",
                        help="print per-topic min_probability cuts fitted on the development articles (bootstrap) and stop")
    parser.add_argument("--speed-only", action="store_true",
                        help="print the speed on 3 kB articles (issue 14) and stop: no labels, no results file")
    args = parser.parse_args(argv)
    args.development = not args.holdout

    taxonomy = load_taxonomy()
    if args.speed_only:
        speed3 = speed_3kb(taxonomy)
        if speed3 is None:
            sys.exit(f"shared BBC articles not found under {SHARED_DATA.resolve()}")
        print(_speed_line(speed3))
        return 0
    tags = taxonomy.ids
    articles = load_labelled()
    if args.development or args.fit:
        articles = [a for a in articles if a["split"] in DEVELOPMENT]
    if args.fit:
        fitted = fit_thresholds(articles, taxonomy)
        print("min_probability per topic: now, best on development articles (bootstrap mean F1), plateau within "
              "0.02 of it, its middle")
        for topic in taxonomy.topics:
            f = fitted[topic.id]
            print(f"{topic.id:<15} now {topic.min_probability:>5}  best {f['best']:>5} (F1 {f['f1']:.3f})  "
                  f"plateau {f['low']}-{f['high']}  middle {f['chosen']:>5}")
        return 0
    unknown = sorted({t for a in articles for t in a["tags"]} - set(tags))
    if unknown:
        sys.exit(f"{LABELS_FILE}: labels use tags missing from config/topics.yaml: {', '.join(unknown)}")
    hits = {a["source"]: tag_article(a["title"], a["text"], taxonomy) for a in articles}
    predicted = {src: [h.tag for h in hs] for src, hs in hits.items()}

    results = {}
    parts = {"dev": ("dev",), "test": ("test",), "development": DEVELOPMENT}
    if not args.development:
        parts |= {"holdout": ("holdout",), "all": (*DEVELOPMENT, "holdout")}
    for split, members in parts.items():
        part = [a for a in articles if a["split"] in members]
        if not part:
            print(f"\n{split}: no labelled articles yet")
            continue
        results[split] = evaluate(part, predicted, tags)
        print_table(split, results[split])
    by_source = {}
    for a in articles:
        by_source.setdefault(a["selection"], []).append(a)
    results["by_selection"] = {k: evaluate(v, predicted, tags)["micro"] for k, v in sorted(by_source.items())}
    print(f"\nmicro-F1 by how the articles were selected ({'development' if args.development else 'all splits'}):")
    for k, m in results["by_selection"].items():
        print(f"  {k:<18} {m['support']:>4} gold tags  P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}")

    speed = None
    if not args.no_speed:
        start, cpu_start, rounds = time.perf_counter(), time.process_time(), 0
        while rounds < 3 or time.perf_counter() - start < 2.0:
            for a in articles:
                tag_article(a["title"], a["text"], taxonomy)
            rounds += 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        speed = {"articles_per_second": round(rounds * len(articles) / elapsed, 1),
                 "articles_per_cpu_second": round(rounds * len(articles) / cpu, 1), "rounds": rounds,
                 "articles": len(articles),
                 "mean_chars": round(sum(len(a["text"]) for a in articles) / max(len(articles), 1))}
        print(f"\nspeed: {speed['articles_per_second']} articles/s wall, {speed['articles_per_cpu_second']} per CPU "
              f"second (one process, {len(articles)} articles of {speed['mean_chars']} characters on average x {rounds})")

    reuters = None if args.no_reuters else reuters_trade(taxonomy, errors=args.reuters_errors)
    if reuters:
        print(f"\ntariffs vs Reuters-21578 `trade` (all {reuters['articles']} TRAIN articles): "
              f"P {reuters['precision']:.3f}  R {reuters['recall']:.3f}  F1 {reuters['f1']:.3f}  "
              f"(tp {reuters['tp']}, fp {reuters['fp']}, fn {reuters['fn']}; target F1 >= 0.80)")
        for half in ("analysis", "check"):
            m = reuters[half]
            print(f"  {half:<9} half: P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  "
                  f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']})")
    bbc = bbc_checks(taxonomy)
    if bbc:
        print(f"\nbbc-summary-100: sport recall {bbc['sport_recall']:.3f} (target 1.0); on its {bbc['articles']} sport, "
              f"tech and entertainment stories world-news tags {bbc['world_tag_share']:.1%}, trade tag "
              f"{bbc['trade_tag_share']:.1%} (targets <= 1%)")
    speed3 = None
    if not args.no_speed:
        # The labelled sets and results above (~15k articles) are this process's, not a tag stage's: kept out of
        # the collector's scans, which otherwise slowed the timed rounds by a fifth to a quarter on this machine.
        gc.collect()
        gc.freeze()
        speed3 = speed_3kb(taxonomy)
    if speed3:
        print("\n" + _speed_line(speed3))

    if args.errors:
        print_errors([a for a in articles if a["split"] in DEVELOPMENT], hits)

    if args.development:
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"commit": git_commit(), "python": platform.python_version(), "taxonomy": str(taxonomy.path),
           "labels": str(LABELS_FILE.relative_to(REPO_ROOT)), "tags": tags, "results": results, "speed": speed,
           "speed_3kb": speed3, "reuters_trade": reuters, "bbc": bbc,
           "model": {"path": str(MODEL_PATH.relative_to(REPO_ROOT)), "bytes": MODEL_PATH.stat().st_size}}
    (RESULTS / "tags.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {(RESULTS / 'tags.json').relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
