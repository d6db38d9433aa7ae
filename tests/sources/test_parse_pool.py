"""feedparser in worker processes (newsbrief.sources.parse_pool): same entries as in-process, a deadline per
parse that stops a stuck worker and reports the feed, no worker started when nothing needs parsing, and
the NEWSBRIEF_PARSE_WORKERS setting refused with its name when wrong."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsbrief.config.settings import parse_workers
from newsbrief.errors import ConfigError, InputError
from newsbrief.sources import parse_pool
from newsbrief.sources.feeds import FeedConfig, parse_feed
from newsbrief.sources.ingest import ingest_feeds
from newsbrief.sources.parse_pool import ParserPool
from newsbrief.store import Store
from tests.http_server import LocalServer

FEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds"
NOW_HEADERS = {"content-type": "application/rss+xml"}


def real_feeds(n: int = 40) -> list[tuple[str, bytes]]:
    if not FEEDS.exists():
        pytest.skip(f"shared real feeds not found at {FEEDS.resolve()} (see ../shared/data/README.md)")
    files = [p for p in sorted(FEEDS.rglob("*")) if p.is_file() and p.suffix in (".xml", ".rss", ".atom")]
    step = max(1, len(files) // n)
    return [(f"http://feeds.example.org/{p.relative_to(FEEDS).as_posix()}", p.read_bytes()) for p in files[::step]][:n]


def outcome(parse, url: str, body: bytes):
    try:
        return parse(body, url=url, headers=NOW_HEADERS, max_entries=200)
    except InputError as exc:
        return str(exc)


def endless_feed(items: int = 40_000) -> bytes:
    """Valid RSS that keeps feedparser busy for over 10 s: what a hung parser looks like from outside."""
    body = "".join(f"<item><title>item {i} <b>bold</b></title><link>/a/{i}</link>"
                   f"<description>&lt;p&gt;word {i} &lt;a href='/x'&gt;link&lt;/a&gt;&lt;/p&gt;</description></item>"
                   for i in range(items))
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{body}</channel></rss>".encode()


def test_feeds_parsed_in_workers_give_the_entries_of_in_process_parsing():
    feeds = real_feeds()
    in_process = [outcome(parse_feed, url, body) for url, body in feeds]
    with ParserPool(2) as pool, ThreadPoolExecutor(4) as threads:
        pooled = list(threads.map(lambda f: outcome(pool.parse, *f), feeds))
        assert 1 <= pool.started <= 2
    assert pooled == in_process
    parsed = [r for r in in_process if not isinstance(r, str)]
    assert len(parsed) >= 30 and sum(len(p.entries) for p in parsed) > 1000
    assert any(isinstance(r, str) for r in in_process), "a failing feed's reason must come back too"


def test_a_feed_that_keeps_the_parser_past_its_deadline_is_reported_and_the_others_come_through():
    feeds = real_feeds(12)
    hostile_url = "http://feeds.example.org/endless.xml"
    with ParserPool(1, deadline=2.0) as pool:
        started = time.monotonic()
        reason = outcome(pool.parse, hostile_url, endless_feed())
        waited = time.monotonic() - started
        others = [outcome(pool.parse, url, body) for url, body in feeds]
        started_workers = pool.started
    assert reason.startswith(f"{hostile_url}: the feed parser took longer than 2 s on this feed")
    assert "fix:" in reason and "enabled: false" in reason
    assert waited < 8, f"the stuck parse was waited for ({waited:.1f} s; parsing it takes over 10 s)"
    assert others == [outcome(parse_feed, url, body) for url, body in feeds]
    assert started_workers == 2, "the stopped worker is replaced"


def test_a_worker_that_dies_mid_parse_is_reported_and_replaced():
    """What an out-of-memory kill looks like: the feed is reported, the next feed gets a new worker."""
    url, body = real_feeds(1)[0]
    with ParserPool(1) as pool, ThreadPoolExecutor(1) as threads:
        pending = threads.submit(outcome, pool.parse, "http://feeds.example.org/huge.xml", endless_feed())
        while not pool._live:
            time.sleep(0.05)
        time.sleep(0.5)
        pool._live[0].proc.kill()
        reason = pending.result(timeout=30)
        after = outcome(pool.parse, url, body)
        assert pool.started == 2
    assert reason.startswith("http://feeds.example.org/huge.xml: the feed parser's worker process died on this feed")
    assert after == outcome(parse_feed, url, body)


def test_no_worker_starts_when_every_feed_answers_304(tmp_path, monkeypatch):
    starts = []
    real_popen = parse_pool.subprocess.Popen

    def counting_popen(*args, **kwargs):
        starts.append(args)
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(parse_pool.subprocess, "Popen", counting_popen)
    store = Store(f"sqlite:///{tmp_path / 'nb.db'}")
    with LocalServer() as server:
        feeds = [FeedConfig(url=server.add(f"/{i}.xml", body, last_modified="Tue, 24 Nov 2026 10:00:00 GMT"),
                            name=f"feed {i}", fetch_pages=False) for i, (_, body) in enumerate(real_feeds(6))]
        first = ingest_feeds(store, feeds, "r1", allow=["127.0.0.1"], parse_workers=2)
        after_first = len(starts)
        second = ingest_feeds(store, feeds, "r2", allow=["127.0.0.1"], parse_workers=2)
    store.dispose()
    assert first.count("ok") >= 5 and 1 <= after_first <= 2
    assert second.count("not_modified") == len(feeds)
    assert len(starts) == after_first, "an all-304 run started parser processes"


def test_in_process_parsing_starts_no_worker(monkeypatch):
    monkeypatch.setattr(parse_pool.subprocess, "Popen", None)
    url, body = real_feeds(1)[0]
    with ParserPool(0) as pool:
        assert outcome(pool.parse, url, body) == outcome(parse_feed, url, body)


@pytest.mark.parametrize("value", ["many", "-1", "2.5", "65"])
def test_a_wrong_parse_workers_setting_names_the_variable_and_the_fix(monkeypatch, value):
    monkeypatch.setenv("NEWSBRIEF_PARSE_WORKERS", value)
    with pytest.raises(ConfigError) as info:
        ParserPool()
    message = str(info.value)
    assert message.startswith(f"NEWSBRIEF_PARSE_WORKERS: must be a whole number of parser processes from 0 to 64, "
                              f"got {value!r}")
    assert "fix: set e.g. NEWSBRIEF_PARSE_WORKERS=" in message


def test_parse_workers_defaults_to_one_per_core_and_accepts_zero(monkeypatch):
    import os

    monkeypatch.delenv("NEWSBRIEF_PARSE_WORKERS", raising=False)
    assert parse_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("NEWSBRIEF_PARSE_WORKERS", " 0 ")
    assert parse_workers() == 0 and ParserPool().size == 0
    monkeypatch.setenv("NEWSBRIEF_PARSE_WORKERS", "3")
    assert ParserPool(most=2).size == 2
