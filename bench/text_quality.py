"""Real text in, clean summaries out: source furniture in real feeds, and hard-wrapped wire copy.

Usage (from the repo root):  .venv/bin/python bench/text_quality.py [--limit N] [--out FILE]

Real-feed furniture: every feed file under ../shared/data/feeds/ and demo/feeds/ is parsed with the
ingest stage's parser (no network), its articles' template lines are learned exactly as the summary
stage learns them (`TEMPLATE_MIN_ARTICLES` articles of the same feed), and each article is summarized
with them. Reported: the share of summary sentences that are template repeats (the same sentence,
case and punctuation aside, in 3+ other articles of that feed) or furniture by form (`is_boilerplate`),
and the share of articles with 40+ words of text but no summary. Shared feeds are split by a hash of the
file name into development (3/4) and held-out (1/4) halves.

Wrapped text: Reuters-21578 TRAIN bodies (research-only; read here, never shipped) with 3+ sentences
once their line breaks are removed. Reported: articles without a summary (target 0) and fragment
sentences (target <= 1%): summary sentences that do not start like a sentence or do not end with
terminal punctuation, or that are a line piece (not a sentence of the text with its wrapping removed
and its paragraphs kept). Fragments from articles that have no whole sentence at all (all-lower-case
market reports, figures only), where the summary falls back to what there is, are also counted apart.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from newsbrief.sources.feeds import parse_feed  # noqa: E402
from newsbrief.text.document import is_whole_sentence, prepare  # noqa: E402
from newsbrief.text.furniture import TEMPLATE_MIN_ARTICLES, is_boilerplate, template_candidates  # noqa: E402
from newsbrief.text.sentences import body_sentences, split_sentences  # noqa: E402
from newsbrief.text.summarize import summarize  # noqa: E402

FEEDS = ROOT / ".." / "shared" / "data" / "feeds"
DEMO = ROOT / "demo" / "feeds"
REUTERS = ROOT / ".." / "shared" / "data" / "tagging" / "reuters21578-train" / "articles.jsonl"
OUT = ROOT / "bench" / "results" / "text_quality.json"
_KEY_RE = re.compile(r"[\W_]+")


def split_of(path: Path) -> str:
    if DEMO in path.parents:
        return "demo"
    return "held-out" if hashlib.sha1(path.name.encode()).digest()[0] % 4 == 0 else "development"


def _key(sentence: str) -> str:
    return _KEY_RE.sub(" ", sentence.casefold()).strip()


def feed_articles(path: Path) -> list[tuple[str, str]]:
    try:
        parsed = parse_feed(path.read_bytes(), url=f"https://feeds.example/{path.name}", max_entries=10_000)
    except Exception:  # noqa: BLE001 - an unparseable file is not this benchmark's subject
        return []
    return [(e.title, e.text) for e in parsed.entries if e.text.strip()]


def furniture_table() -> dict:
    totals: dict[str, Counter] = {}
    examples: dict[str, list[str]] = {}
    files = sorted(p for p in list(FEEDS.rglob("*")) + list(DEMO.glob("*.xml"))
                   if p.is_file() and p.suffix.lower() in (".xml", ".rss", ".atom", ".rdf", ""))
    for path in files:
        articles = feed_articles(path)
        if not articles:
            continue
        split = split_of(path)
        c = totals.setdefault(split, Counter())
        examples.setdefault(split, [])
        c["feeds"] += 1
        seen = Counter()
        for title, text in articles:
            seen.update(template_candidates(text, title))
        templates = frozenset(k for k, n in seen.items() if n >= TEMPLATE_MIN_ARTICLES)
        sentence_articles = Counter()
        for _, text in articles:
            sentence_articles.update({_key(s) for s in split_sentences(text)})
        for title, text in articles:
            c["articles"] += 1
            summary = summarize(text, title=title, templates=templates)
            words = len(re.findall(r"\w+", text))
            if words >= 40 and not summary:
                c["prose_without_summary"] += 1
                examples[split].append(f"NO SUMMARY {path.name}: {text[:100]!r}")
            if words >= 40:
                c["prose_articles"] += 1
            for sentence in summary:
                c["sentences"] += 1
                if sentence_articles[_key(sentence)] >= 4 or is_boilerplate(sentence):
                    c["furniture"] += 1
                    examples[split].append(f"{path.name}: {sentence[:120]}")
    table = {}
    for split, c in totals.items():
        table[split] = {
            "feeds": c["feeds"], "articles": c["articles"], "summary_sentences": c["sentences"],
            "furniture_pct": round(100 * c["furniture"] / max(1, c["sentences"]), 2),
            "prose_articles": c["prose_articles"], "prose_without_summary": c["prose_without_summary"],
            "examples": examples[split][:10],
        }
    return table


def wrapped_table(limit: int | None) -> dict:
    if not REUTERS.is_file():
        return {"skipped": f"{REUTERS} not found"}
    rows = []
    with REUTERS.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["lewissplit"] == "TRAIN" and row["body"].strip():
                rows.append(row)
    c = Counter()
    examples = []
    started, cpu = time.perf_counter(), time.process_time()
    for row in rows[:limit]:
        body = row["body"]
        if len(split_sentences(" ".join(body.split()))) < 3:
            continue
        c["articles"] += 1
        paragraphs = re.split(r"\n\s*\n|\n(?=[ \t])", body)
        reference = {s for p in paragraphs for s in body_sentences(" ".join(p.split()))}
        summary = summarize(body, title=row["title"])
        if not summary:
            c["without_summary"] += 1
        no_whole = None
        for sentence in summary:
            c["sentences"] += 1
            if not is_whole_sentence(sentence) or sentence not in reference:
                c["fragments"] += 1
                examples.append(sentence[:120])
                if no_whole is None:
                    no_whole = not any(is_whole_sentence(s) for s in prepare(body, row["title"]).sentences)
                c["fragments_no_whole"] += no_whole
    return {"articles": c["articles"], "without_summary": c["without_summary"], "summary_sentences": c["sentences"],
            "fragment_pct": round(100 * c["fragments"] / max(1, c["sentences"]), 2),
            "fragments_in_articles_without_whole_sentence": c["fragments_no_whole"],
            "seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(time.process_time() - cpu, 1),
            "examples": examples[:10]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="Reuters TRAIN bodies to read (default all)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    furniture = furniture_table()
    print("Real-feed furniture (template repeat in 3+ other articles of the feed, or furniture by form)")
    print(f"{'split':<12} {'feeds':>5} {'articles':>8} {'sentences':>9} {'furniture %':>11} {'40+ words, no summary':>22}")
    for split, row in sorted(furniture.items()):
        print(f"{split:<12} {row['feeds']:>5} {row['articles']:>8} {row['summary_sentences']:>9} "
              f"{row['furniture_pct']:>11.2f} {row['prose_without_summary']:>22}")
    wrapped = wrapped_table(args.limit)
    print("\nWrapped text: Reuters-21578 TRAIN bodies with 3+ sentences")
    if "skipped" in wrapped:
        print(wrapped["skipped"])
    else:
        print(f"articles {wrapped['articles']}, without summary {wrapped['without_summary']}, summary sentences "
              f"{wrapped['summary_sentences']}, fragments {wrapped['fragment_pct']:.2f}% "
              f"({wrapped['fragments_in_articles_without_whole_sentence']} of them in articles with no whole sentence) "
              f"({wrapped['seconds']} s wall, {wrapped['cpu_seconds']} s CPU)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"furniture": furniture, "wrapped": wrapped}, indent=2) + "\n")


if __name__ == "__main__":
    main()
