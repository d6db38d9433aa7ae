"""Draw unlabelled real articles for the tag benchmark, reproducibly: how the `holdout` split was drawn.

Usage (from the repo root):  .venv/bin/python bench/draw_tag_sample.py > candidates.jsonl

The pool is every article of ../shared/data not yet in bench/data/tag-labels.jsonl whose headline is
not already labelled (feeds repeat stories across snapshots): English laapy feed entries of at least
80 words, English publisher-feed entries with at least 60 characters of summary, and Reuters-21578
training articles with topics and at least 40 words. Each group is ordered by sha1 of the reference
and the first N are taken, so the draw depends on nothing but the data. Prints one JSON line per
drawn article ({"source", "selection"}), then the laapy entries left over as
`laapy-headline-pool` lines (the pool the holdout's topical sample was picked from by headline).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tags import LABELS_FILE, SHARED_DATA, _feed_entries, load_article  # noqa: E402

DRAW = {"laapy": ("holdout-laapy-random", 200), "publisher": ("holdout-publisher-random", 60),
        "reuters-trade": ("holdout-reuters-trade", 25), "reuters-other": ("holdout-reuters-other", 35)}
_COMMON = {"the", "of", "and", "to", "in", "a", "is", "that", "for", "on", "with", "as", "was", "by", "at", "from",
           "has", "have", "are", "be", "it", "its", "said"}


def _headline_key(title: str) -> str:
    return re.sub(r"\W+", " ", title.lower()).strip()


def english(text: str) -> bool:
    """More than 15% of the words are the commonest English function words."""
    words = re.findall(r"[a-zA-Z']+", text.lower())
    return bool(words) and sum(w in _COMMON for w in words) / len(words) > 0.15


def _sha(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()


def pool(root: Path = SHARED_DATA) -> dict[str, list[str]]:
    labelled = [json.loads(line) for line in LABELS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    used = {row["source"] for row in labelled}
    seen = set()
    for row in labelled:
        try:
            seen.add(_headline_key(load_article(row["source"], root)[0]))
        except (OSError, KeyError, ValueError):
            continue
    groups: dict[str, list[str]] = {name: [] for name in DRAW}

    def feed_group(folder: Path, group: str, long_enough) -> None:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".json", ".md", ".txt")):
            try:
                entries = _feed_entries(path)
            except Exception:  # noqa: BLE001 - a file that is not a feed is simply not in the pool
                continue
            for key, (title, body) in entries.items():
                source = f"{path.relative_to(root)}#{key}"
                headline = _headline_key(title)
                if source in used or headline in seen or not long_enough(body) or not english(f"{title} {body}"):
                    continue
                seen.add(headline)
                groups[group].append(source)

    feeds = root / "feeds"
    for sub in ("current", "snapshots"):
        feed_group(feeds / "laapy-rss-pool" / sub, "laapy", lambda body: len(body.split()) >= 80)
    feed_group(feeds / "publisher-raw", "publisher", lambda body: len(body) >= 60)
    with (root / "tagging" / "reuters21578-train" / "articles.jsonl").open(encoding="utf-8") as fh:
        for row in map(json.loads, fh):
            source = f"tagging/reuters21578-train/articles.jsonl#newid={row['newid']}"
            if source in used or not row.get("topics") or len((row.get("body") or "").split()) < 40:
                continue
            groups["reuters-trade" if "trade" in row["topics"] else "reuters-other"].append(source)
    return {name: sorted(sources, key=_sha) for name, sources in groups.items()}


def main() -> int:
    groups = pool()
    for name, (selection, count) in DRAW.items():
        for source in groups[name][:count]:
            print(json.dumps({"source": source, "selection": selection}))
    for source in groups["laapy"][DRAW["laapy"][1]:]:
        print(json.dumps({"source": source, "selection": "laapy-headline-pool"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
