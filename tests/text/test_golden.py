"""The summary stage stores byte-for-byte the summaries it stored before (speed work must not move one).

A real sample (Reuters-21578 TRAIN bodies, the shared feeds' full-text items, the BBC summary set) goes
through `summarize_articles` with template learning, in several batches; the sha256 of each stored summary
and of each source's learned template keys is compared with `golden_summaries.json`, made by the code
before the speed work (research-only data: only hashes are in the repo). Regenerate deliberately with
`PYTHONPATH=plugins .venv/bin/python -m tests.text.test_golden --write` when a summary change is intended.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from tests.real_sample import BBC, FEEDS, REUTERS, feed_items, need_shared, reuters_bodies

GOLDEN = Path(__file__).with_name("golden_summaries.json")
REUTERS_ARTICLES, FEED_ITEMS, BBC_ARTICLES, BATCH = 150, 100, 50, 64


def sample() -> list[dict]:
    """(key, title, text, source fields) of the sample, in a fixed order; skips if ../shared is absent."""
    need_shared(REUTERS, FEEDS, BBC / "article")
    rows = [{"key": f"reuters-{row['newid']}", "title": row.get("title") or "", "text": row["body"],
             "origin": f"https://wire.invalid/feed{k % 4}.xml", "kind": "feed"}
            for k, row in enumerate(reuters_bodies(REUTERS_ARTICLES))]
    rows += [{"key": f"feed-{n}", "title": title, "text": text, "kind": "feed",
              "origin": "https://feeds.invalid/" + path.relative_to(FEEDS).as_posix()}
             for n, (path, title, text) in enumerate(feed_items(FEED_ITEMS), 1)]
    for path in sorted((BBC / "article").glob("*/*.txt"))[:BBC_ARTICLES]:
        lines = path.read_text(encoding="utf-8").split("\n")
        rows.append({"key": f"bbc-{path.parent.name}-{path.stem}", "title": lines[0].strip(),
                     "text": "\n".join(lines[1:]), "kind": "page",
                     "origin": f"https://www.bbc.invalid/{path.parent.name}/{path.stem}"})
    return rows


def digests(tmp: Path) -> dict:
    """sha256 of every stored summary (by sample key) and of every source's template keys."""
    from sqlalchemy import select

    from newsbrief.store import Article, Store, Summary
    from newsbrief.text.stage import source_key, summarize_articles, template_keys

    store = Store(f"sqlite:///{tmp / 'golden.db'}")
    keys: dict[int, str] = {}
    with store.session() as s:
        for n, row in enumerate(sample()):
            article = Article(content_hash=f"golden-{n}", url=row["origin"] if row["kind"] == "page" else f"https://items.invalid/{n}",
                              source_kind=row["kind"], source=row["kind"], origin=row["origin"], title=row["title"],
                              text=row["text"])
            s.add(article)
            s.flush()
            keys[article.id] = row["key"]
    summarize_articles(store, list(keys), sentences=3, batch=BATCH)
    with store.session() as s:
        summaries = {keys[r.article_id]: _sha(r.text) for r in s.scalars(select(Summary))}
        sources = sorted({source_key(a) for a in s.scalars(select(Article))})
        templates = {source: _sha(sorted(template_keys(s, source))) for source in sources}
    store.dispose()
    return {"summaries": dict(sorted(summaries.items())), "templates": templates}


def _sha(value) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode("utf-8")).hexdigest()


def test_summaries_of_a_real_sample_are_unchanged(tmp_path):
    got = digests(tmp_path)
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(got["summaries"]) == REUTERS_ARTICLES + FEED_ITEMS + BBC_ARTICLES
    changed = sorted(k for k in want["summaries"] if got["summaries"].get(k) != want["summaries"][k])
    assert not changed, f"{len(changed)} summaries differ from the golden ones, e.g. {changed[:5]}"
    assert got == want


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.write_text(json.dumps(digests(Path(tmp)), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")
