"""feedparser's own 2,100-file test corpus served over loopback through the ingestion stage.

Every file must either yield articles or be reported with a reason; none may crash or stall the run.
Files that declare HTTP headers in their leading comment ("Header: Content-type: ...") are served
with them, since several encoding cases depend on the charset the server announces.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from newsbrief.sources.feeds import FeedConfig
from newsbrief.sources.fetch import FetchLimits
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.store import Problem, Store
from tests.http_server import LocalServer

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feedparser-corpus"
_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)


def _headers(body: bytes) -> dict[str, str]:
    head = body[:2000].split(b"-->", 1)[0]
    headers = {"Content-Type": "application/xml"}
    for name, value in _HEADER.findall(head):
        headers[name.decode("ascii").title()] = value.decode("latin-1")
    return headers


def test_every_corpus_feed_yields_articles_or_a_reason(tmp_path, record_property):
    if not CORPUS.exists():
        pytest.skip(f"feedparser corpus not found at {CORPUS.resolve()} (see ../shared/data/README.md)")
    files = sorted(CORPUS.rglob("*.xml"))
    assert len(files) > 2000
    store = Store(f"sqlite:///{tmp_path / 'corpus.db'}")
    with LocalServer() as server:
        feeds = []
        for path in files:
            rel = path.relative_to(CORPUS).as_posix()
            body = path.read_bytes()
            url = server.add(f"/{rel}", body, headers=_headers(body))
            feeds.append(FeedConfig(url=url, name=rel, fetch_pages=False, max_entries=20))
        started = time.monotonic()
        report = ingest_feeds(store, feeds, "corpus", allow=["127.0.0.1"], max_workers=8,
                              limits=FetchLimits(read_timeout=5, total_timeout=10))
        elapsed = time.monotonic() - started
    with store.session() as s:
        reported = {p.source: p.reason for p in s.execute(select(Problem).where(Problem.run_key == "corpus")).scalars()}
    store.dispose()

    assert len(report.outcomes) == len(files)
    yielded = [o for o in report.outcomes if o.status == "ok" and o.entries > 0]
    failed = [o for o in report.outcomes if o.status == "failed"]
    assert len(yielded) + len(failed) == len(files), Counter(o.status for o in report.outcomes)
    for outcome in failed:
        reason = reported.get(f"{outcome.name} <{outcome.url}>")
        assert reason and outcome.reason and reason.startswith(outcome.reason), outcome
    assert not [o for o in failed if "internal error" in o.reason], "a feed crashed the stage"
    assert not [o for o in failed if "timed out" in o.reason or "longer than" in o.reason], "a feed stalled"
    reasons = Counter(re.sub(r"\d+", "N", o.reason.split(" (")[0])[:70] for o in failed)
    summary = (f"{len(yielded)} yield articles ({len(report.new_article_ids)} new, {report.duplicates} duplicates), "
               f"{len(failed)} reported, in {elapsed:.1f} s; top reasons: {reasons.most_common(5)}")
    record_property("corpus", summary)
    print("\nfeedparser corpus:", summary)
    assert len(yielded) > 400
