"""Summary quality (ROUGE) and speed of newsbrief's summarizers on the BBC News Summary sample.

Usage (from the repo root):  .venv/bin/python bench/summaries.py [--no-speed] [--instructions]
                                                                  [--highlights FILE.jsonl]

Quality: ROUGE-1/2/L F1 x100 (Google's rouge_score, Porter stemming) against the human-selected
extractive reference of each of the 100 BBC articles in ../shared/data/bbc-summary-100, asking each
system for as many sentences as the reference has. Reported overall, per topic, and on the even
(dev: the only half newsbrief's weights were chosen on) and odd (held-out) numbered articles.
Speed: articles per second over the same articles, repeated so each run lasts ~2 s, in one process
and in a pool of 2 processes (one BLAS thread each); CPU ms per article; peak Python memory of one
pass (tracemalloc); and newsbrief's speedup over stock sumy LexRank fed by the same splitter.
--highlights scores 3-sentence summaries against CNN/DailyMail-style highlights from a JSONL file
(none is shipped: the data set's licence is research-only; export the HuggingFace `cnn_dailymail`
test split, or any news with human highlights, one {"article", "highlights"} object a line).
--instructions also counts CPU instructions per article with valgrind's callgrind (a few minutes):
unlike seconds, the count does not move with other load on the machine, so the speedup it gives can
be compared across runs and machines.
Writes bench/results/summaries.json with the git commit.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from html.parser import HTMLParser
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from newsbrief.text.summarize import ALGORITHMS, summarize  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "bbc-summary-100"
AEB = ROOT / ".." / "shared" / "data" / "pages" / "scrapinghub-aeb"
RESULTS = ROOT / "bench" / "results"
TOPICS = ("business", "entertainment", "politics", "sport", "tech")
STOCK_LEXRANK = "sumy-lexrank-raw"


def load_bbc(data: Path = DATA) -> list[dict]:
    """Articles as {id, topic, number, title, text, reference: [sentences]}; exits if the data is absent."""
    if not (data / "article").is_dir():
        sys.exit(f"BBC summary data not found at {data.resolve()}: this benchmark needs ../shared/data/"
                 "bbc-summary-100 next to the repository (see ../shared/data/README.md).")
    articles = []
    for path in sorted((data / "article").glob("*/*.txt")):
        topic = path.parent.name
        lines = path.read_text(encoding="utf-8").split("\n")
        reference = (data / "summary" / topic / path.name).read_text(encoding="utf-8").split("\n")
        articles.append({
            "id": f"{topic}/{path.stem}", "topic": topic, "number": int(path.stem),
            "title": lines[0].strip(), "text": "\n".join(lines[1:]),
            "reference": [s.strip() for s in reference if s.strip()],
        })
    return articles


class _Meta(HTMLParser):
    """Collects <meta> content by property/name and the <title> text of one page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            key = (attrs.get("property") or attrs.get("name") or "").lower()
            if key and attrs.get("content") and key not in self.meta:
                self.meta[key] = attrs["content"].strip()
        self._in_title = tag == "title" and not self.title

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def load_standfirst(data: Path = AEB, min_words: int = 8) -> list[dict]:
    """Real news pages whose publisher wrote a standfirst (og:description / meta description).

    The standfirst is the publisher's own one- or two-sentence summary, lead-biased like CNN/DM
    highlights; it is the reference, the extraction benchmark's `articleBody` is the text. Pages
    without a standfirst of at least `min_words` words are left out. Returns [] if the data is absent.
    """
    truth = data / "ground-truth.json"
    if not truth.is_file():
        return []
    articles = []
    for number, (key, row) in enumerate(sorted(json.loads(truth.read_text(encoding="utf-8")).items())):
        page = data / "html" / f"{key}.html"
        if not page.is_file():
            continue
        parser = _Meta()
        parser.feed(page.read_bytes().decode("utf-8", "replace"))
        standfirst = parser.meta.get("og:description") or parser.meta.get("description") or ""
        title = parser.meta.get("og:title") or parser.title.strip()
        if len(standfirst.split()) < min_words or not row.get("articleBody", "").strip():
            continue
        articles.append({"id": key[:12], "topic": "news", "number": number, "title": title,
                         "text": row["articleBody"], "reference": [standfirst]})
    return articles


def load_highlights(path: Path) -> list[dict]:
    """CNN/DailyMail-style articles from a JSONL file, one {"article" or "text", "highlights"} a line
    (HuggingFace `cnn_dailymail` exports as they are: highlights one per line in a string, or a list;
    optional "id" and "title"). Exits naming the line of a bad record."""
    articles = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row.get("article", row.get("text"))
            highlights = row["highlights"]
            if isinstance(highlights, str):
                highlights = highlights.split("\n")
            reference = [h.strip() for h in highlights if h.strip()]
            if not isinstance(text, str) or not reference:
                raise ValueError("needs a non-empty article (or text) and highlights")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            sys.exit(f"{path}:{number + 1}: not a highlights record ({exc}); expected "
                     '{"article": "...", "highlights": "one\\ntwo"} per line')
        articles.append({"id": row.get("id", str(number)), "number": number, "title": row.get("title"),
                         "text": text, "reference": reference, "count": 3})
    return articles


def run_system(system: str, article: dict) -> list[str]:
    count = article.get("count") or len(article["reference"])
    if system == STOCK_LEXRANK:
        return stock_lexrank(article["text"], count)
    return summarize(article["text"], title=article["title"], sentences=count, algorithm=system)


def stock_lexrank(text: str, count: int) -> list[str]:
    """Stock sumy LexRank as a user would call it: our splitter feeding sumy, nothing cached."""
    from sumy.nlp.stemmers import Stemmer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    from newsbrief.text.sentences import SumyTokenizer

    summarizer = LexRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    document = PlaintextParser.from_string(text, SumyTokenizer()).document
    return [str(s) for s in summarizer(document, count)]


def rouge(articles: list[dict], summaries: list[list[str]]) -> list[dict]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    out = []
    for article, summary in zip(articles, summaries, strict=True):
        scores = scorer.score("\n".join(article["reference"]), "\n".join(summary))
        out.append({k: 100 * v.fmeasure for k, v in scores.items()})
    return out


def mean_scores(rows: list[dict]) -> dict:
    return {k: round(statistics.fmean(r[k] for r in rows), 1) for k in ("rouge1", "rouge2", "rougeL")}


def quality(articles: list[dict], systems: list[str], topics: tuple[str, ...] = TOPICS) -> dict:
    results = {}
    for system in systems:
        scores = rouge(articles, [run_system(system, a) for a in articles])
        slices = {"all": scores}
        slices["dev (even)"] = [s for a, s in zip(articles, scores, strict=True) if a["number"] % 2 == 0]
        slices["held-out (odd)"] = [s for a, s in zip(articles, scores, strict=True) if a["number"] % 2 == 1]
        for topic in topics:
            slices[topic] = [s for a, s in zip(articles, scores, strict=True) if a["topic"] == topic]
        results[system] = {name: mean_scores(rows) for name, rows in slices.items() if rows}
    return results


def _work(args: tuple[str, list[dict]]) -> int:
    system, articles = args
    for article in articles:
        run_system(system, article)
    return len(articles)


def speed(articles: list[dict], systems: list[str], seconds: float = 2.0) -> dict:
    results = {}
    for system in systems:
        _work((system, articles[:5]))
        start = time.perf_counter()
        _work((system, articles))
        one_pass = time.perf_counter() - start
        batch = articles * max(1, round(seconds / max(one_pass, 1e-6)))
        wall, cpu = time.perf_counter(), time.process_time()
        _work((system, batch))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        halves = [(system, batch[i::2]) for i in range(2)]
        with multiprocessing.get_context("fork").Pool(2) as pool:
            pool.map(_work, [(system, articles[:5])] * 2)
            start = time.perf_counter()
            done = sum(pool.map(_work, halves))
            double = done / (time.perf_counter() - start)
        tracemalloc.start()
        _work((system, articles))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[system] = {"articles_per_s_1proc": round(len(batch) / wall, 1),
                           "articles_per_s_2proc": round(double, 1),
                           "cpu_ms_per_article": round(1000 * cpu / len(batch), 3),
                           "peak_traced_mib": round(peak / 2**20, 2), "articles_timed": len(batch)}
    return results


def speedup(articles: list[dict], ours: str = "newsbrief", rounds: int = 5) -> dict:
    """CPU time of stock sumy LexRank over ours, measured in alternating rounds so that other load on
    the machine hits both alike; the median round is reported."""
    ratios, times = [], {ours: [], STOCK_LEXRANK: []}
    for _ in range(rounds):
        for system in (ours, STOCK_LEXRANK):
            start = time.process_time()
            _work((system, articles))
            times[system].append(1000 * (time.process_time() - start) / len(articles))
        ratios.append(times[STOCK_LEXRANK][-1] / times[ours][-1])
    return {"cpu_ms_per_article": {k: round(statistics.median(v), 3) for k, v in times.items()},
            "ratio_median": round(statistics.median(ratios), 1), "ratios": [round(r, 1) for r in ratios]}


def instructions(systems: tuple[str, ...] = ("newsbrief", STOCK_LEXRANK)) -> dict | None:
    """Instructions per article, from callgrind totals of a 1-pass and a 3-pass run (the difference
    leaves out start-up and imports)."""
    import re
    import shutil

    if not shutil.which("valgrind"):
        print("\n(instruction count skipped: valgrind not found; install it, e.g. apt-get install valgrind)")
        return None
    counts = {}
    articles = len(load_bbc())
    for system in systems:
        totals = []
        for passes in (1, 3):
            run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                                  __file__, "--run-passes", system, str(passes)], capture_output=True, text=True)
            found = re.search(r"Collected : (\d+)", run.stderr)
            if run.returncode or not found:
                print(f"\n(instruction count failed for {system}: {run.stderr.strip()[-300:]})")
                return None
            totals.append(int(found.group(1)))
        counts[system] = (totals[1] - totals[0]) / (2 * articles)
    ours, stock = counts["newsbrief"], counts[STOCK_LEXRANK]
    return {"instructions_per_article": {k: round(v) for k, v in counts.items()}, "ratio": round(stock / ours, 1)}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def print_quality(results: dict, heading: str) -> None:
    slices = list(next(iter(results.values())))
    print(f"\n{heading}")
    print(f"{'system':<12}" + "".join(f"{s:>19}" for s in slices[:3]))
    for system, rows in results.items():
        print(f"{system:<12}" + "".join(f"{_fmt(rows[s]):>19}" for s in slices[:3]))
    if len(slices) <= 3:
        return
    print(f"\nPer topic\n{'system':<12}" + "".join(f"{s:>19}" for s in slices[3:]))
    for system, rows in results.items():
        print(f"{system:<12}" + "".join(f"{_fmt(rows[s]):>19}" for s in slices[3:]))


def _fmt(row: dict) -> str:
    return f"{row['rouge1']:.1f}/{row['rouge2']:.1f}/{row['rougeL']:.1f}"


def print_speed(results: dict) -> None:
    print("\nSpeed: articles/s by wall clock (1 process; pool of 2), CPU ms per article, peak traced memory")
    print(f"{'system':<18}{'1 process':>11}{'2 processes':>13}{'CPU ms/art':>12}{'peak MiB':>10}")
    for system, row in results.items():
        print(f"{system:<18}{row['articles_per_s_1proc']:>11.1f}{row['articles_per_s_2proc']:>13.1f}"
              f"{row['cpu_ms_per_article']:>12.3f}{row['peak_traced_mib']:>10.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-speed", action="store_true", help="quality table only")
    parser.add_argument("--seconds", type=float, default=2.0, help="target duration of each speed run")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per article under valgrind (load-independent speedup)")
    parser.add_argument("--highlights", type=Path, metavar="JSONL",
                        help="also score 3-sentence summaries against CNN/DailyMail-style highlights in this file")
    parser.add_argument("--run-passes", nargs=2, metavar=("SYSTEM", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "summaries.json")
    args = parser.parse_args(argv)
    if args.run_passes:
        system, passes = args.run_passes[0], int(args.run_passes[1])
        articles = load_bbc()
        for _ in range(passes):
            _work((system, articles))
        return 0
    articles = load_bbc()
    systems = ["lead", *[a for a in ALGORITHMS if a not in ("lead", "newsbrief")], "newsbrief"]
    report = {"commit": git_commit(), "python": platform.python_version(), "articles": len(articles),
              "dataset": "bbc-summary-100", "quality": quality(articles, systems)}
    print_quality(report["quality"], "ROUGE F1 x100 (R-1/R-2/R-L) on bbc-summary-100, summary length = reference length")
    standfirst = [dict(a, count=3) for a in load_standfirst()]
    if standfirst:
        report["standfirst"] = {"dataset": "scrapinghub-aeb pages with a publisher standfirst", "articles":
                                len(standfirst), "sentences": 3, "quality": quality(standfirst, systems, ())}
        print_quality(report["standfirst"]["quality"], f"ROUGE F1 x100 against the publisher's standfirst "
                      f"(og:description), 3 sentences, {len(standfirst)} real news pages (lead-biased)")
    else:
        print(f"\n(standfirst check skipped: {AEB.resolve()} not found)")
    if args.highlights:
        news = load_highlights(args.highlights)
        report["highlights"] = {"dataset": str(args.highlights), "articles": len(news), "sentences": 3,
                                "quality": quality(news, systems, ())}
        print_quality(report["highlights"]["quality"], f"ROUGE F1 x100 against the highlights in "
                      f"{args.highlights.name}, 3 sentences, {len(news)} articles (even/odd = line number)")
    if not args.no_speed:
        report["speed"] = speed(articles, [STOCK_LEXRANK, *systems], args.seconds)
        print_speed(report["speed"])
        report["speedup_vs_stock_lexrank"] = ratio = speedup(articles)
        print(f"\nnewsbrief vs stock sumy LexRank (same nupunkt splitter), CPU time per article in alternating "
              f"rounds: {ratio['cpu_ms_per_article']['newsbrief']} ms vs "
              f"{ratio['cpu_ms_per_article'][STOCK_LEXRANK]} ms = {ratio['ratio_median']}x (rounds: "
              f"{ratio['ratios']})")
        report["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.instructions and (counted := instructions()):
        report["instructions_vs_stock_lexrank"] = counted
        per = counted["instructions_per_article"]
        print(f"\nnewsbrief vs stock sumy LexRank, instructions per article (callgrind): {per['newsbrief']:,} vs "
              f"{per[STOCK_LEXRANK]:,} = {counted['ratio']}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
