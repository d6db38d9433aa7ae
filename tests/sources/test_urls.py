"""Canonical URLs: variants of one article's address compare equal; different articles stay different."""

from __future__ import annotations

import pytest

from newsbrief.sources.urls import canonical_url, is_tracking_param, match_keys


@pytest.mark.parametrize("raw, expected", [
    ("https://Example.COM/news/story?utm_source=rss&utm_medium=feed#comments", "https://example.com/news/story"),
    ("http://example.com:80/a?b=2&a=1&fbclid=XYZ", "http://example.com/a?a=1&b=2"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("https://www.heise.de/meldung/x-3088438.html?wt_mc=rss.developer.beitrag.atom",
     "https://www.heise.de/meldung/x-3088438.html"),
    ("https://www.bbc.co.uk/news/world-1?at_medium=RSS&at_campaign=KARANGA", "https://www.bbc.co.uk/news/world-1"),
    ("https://example.com/a//b/./c", "https://example.com/a/b/./c"),
    ("https://example.com/search?q=a+b&page=2", "https://example.com/search?page=2&q=a+b"),
    ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
])
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


@pytest.mark.parametrize("raw", ["", "mailto:x@example.com", "javascript:alert(1)", "ftp://example.com/f",
                                 "not a url", "http://[::1"])
def test_unusable_urls_give_none(raw):
    assert canonical_url(raw) is None


def test_relative_links_resolve_against_the_feed():
    assert canonical_url("/2024/story.html?utm_campaign=x", "https://news.example/feed.xml") == \
        "https://news.example/2024/story.html"


def test_www_and_bare_host_are_the_same_article():
    assert set(match_keys("https://www.example.com/a")) == {"https://www.example.com/a", "https://example.com/a"}
    assert set(match_keys("https://example.com/a")) == set(match_keys("https://www.example.com/a"))


def test_meaningful_parameters_are_kept():
    assert canonical_url("https://example.com/article?id=42") == "https://example.com/article?id=42"
    assert not is_tracking_param("id") and is_tracking_param("UTM_Source") and is_tracking_param("gclid")
