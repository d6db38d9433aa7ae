"""The real articles both golden tests (summaries, tags) run on, read from ../shared in a fixed order.

Research-only data (Reuters-21578) is read at run time, never copied: the golden files hold only hashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REUTERS = SHARED / "tagging" / "reuters21578-train" / "articles.jsonl"
FEEDS = SHARED / "feeds"
BBC = SHARED / "bbc-summary-100"
FULL_TEXT_CHARS = 800


def need_shared(*paths: Path) -> None:
    missing = [p for p in paths if not p.exists()]
    if missing:
        pytest.skip(f"shared data not found: {', '.join(str(p.resolve()) for p in missing)} (place ../shared "
                    "beside the repo)")


def reuters_bodies(count: int) -> list[dict]:
    """The first `count` Reuters TRAIN rows with a non-empty body."""
    rows: list[dict] = []
    with REUTERS.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["body"].strip():
                rows.append(row)
                if len(rows) == count:
                    break
    return rows


def feed_items(count: int) -> Iterator[tuple[Path, str, str]]:
    """(feed file, title, text) of the first `count` distinct full-text entries of the shared feeds."""
    import feedparser

    from newsbrief.sources.extract import html_to_text

    seen: set[str] = set()
    for path in sorted(p for p in FEEDS.rglob("*") if p.is_file()):
        for entry in feedparser.parse(path.read_bytes()).entries:
            values = [c.get("value", "") for c in entry.get("content", []) or []] + [entry.get("summary", "") or ""]
            text = html_to_text(max(values, key=len))
            if len(text) < FULL_TEXT_CHARS or text in seen or len(seen) == count:
                continue
            seen.add(text)
            yield path, html_to_text(entry.get("title", "") or ""), text
