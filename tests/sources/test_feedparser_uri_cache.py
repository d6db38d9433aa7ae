"""The memoised URI resolution (`feeds.cache_uri_resolution`) gives feedparser's stock results on every
shared feed file and every file of feedparser's own test corpus: the whole result (feed, entries,
encoding, version, bozo), with relative-URI rewriting on as feedparser defaults and off as parse_feed calls it."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import pytest
from feedparser import api, mixin, sanitizer, urls
from feedparser.namespaces import _base

import newsbrief.sources.feeds  # noqa: F401 - installs the cache under test
from tests.sources.test_feedparser_corpus import CORPUS, _headers

SHARED_FEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds"


def _files() -> list[Path]:
    found = [p for p in sorted(SHARED_FEEDS.rglob("*")) if p.is_file() and p.suffix in (".xml", ".rss", ".atom")]
    return found + sorted(CORPUS.rglob("*.xml"))


def _stock(monkeypatch) -> None:
    monkeypatch.setattr(urls, "_urljoin", urls._urljoin.uncached)
    monkeypatch.setattr(mixin, "_urljoin", mixin._urljoin.uncached)
    for module in (urls, mixin, api, sanitizer, _base):
        monkeypatch.setattr(module, "make_safe_absolute_uri", module.make_safe_absolute_uri.uncached)


def _parse(body: bytes, headers: dict[str, str], resolve: bool) -> tuple:
    result = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True,
                              resolve_relative_uris=resolve)
    exc = result.get("bozo_exception")
    return (result.feed, result.entries, result.get("encoding"), result.get("version"), result.get("bozo"),
            type(exc).__name__ if exc else None, str(exc) if exc else None, result.get("namespaces"))


def test_cached_uri_resolution_parses_every_shared_and_corpus_feed_as_stock_feedparser(monkeypatch):
    if not SHARED_FEEDS.exists() or not CORPUS.exists():
        pytest.skip("../shared/data/feeds or feedparser-corpus not found (see ../shared/data/README.md)")
    assert hasattr(urls._urljoin, "uncached"), "newsbrief.sources.feeds did not install the cache"
    files = _files()
    assert len(files) > 2200
    inputs = []
    for path in files:
        body = path.read_bytes()
        headers = {k.lower(): v for k, v in _headers(body).items()}
        headers.setdefault("content-location", f"http://example.org/feeds/{path.name}")
        inputs.append((path, body, headers))
    cached = {(p, r): _parse(b, h, r) for p, b, h in inputs for r in (True, False)}
    with monkeypatch.context() as m:
        _stock(m)
        assert not hasattr(urls.make_safe_absolute_uri, "uncached")
        stock = {(p, r): _parse(b, h, r) for p, b, h in inputs for r in (True, False)}
    differ = [key for key in stock if stock[key] != cached[key]]
    assert not differ, differ[:5]
    assert sum(1 for key in stock if stock[key][1]) > 1500
