"""The RSS fast path (`sources.fastfeed`) gives parse_feed's feedparser result, entry for entry, on every
shared feed and every file of feedparser's own test corpus it accepts; it accepts most real publisher
feeds; and it hands unusual documents to feedparser."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from newsbrief.errors import InputError
from newsbrief.sources import fastfeed
from newsbrief.sources.feeds import parse_feed
from tests.sources.test_feedparser_corpus import CORPUS, _headers

SHARED_FEEDS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds"
URL = "https://news.example.com/feed.xml"
RSS_HEADERS = {"Content-Type": "application/rss+xml"}


def _result(body: bytes, headers: dict[str, str], fast: bool):
    try:
        return parse_feed(body, url=URL, headers=headers, max_entries=10**6, fast=fast)
    except InputError as exc:
        return str(exc)


def _accepts(body: bytes, headers: dict[str, str]) -> bool:
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered.setdefault("content-location", URL)
    lowered.setdefault("content-type", "application/xml")
    return fastfeed.parse(body, lowered) is not None


def _compare(files: list[Path], headers_of) -> tuple[int, list[str]]:
    accepted, differing = 0, []
    for path in files:
        body = path.read_bytes()
        headers = headers_of(body)
        if not _accepts(body, headers):
            continue
        accepted += 1
        if _result(body, headers, fast=True) != _result(body, headers, fast=False):
            differing.append(str(path))
    return accepted, differing


def test_fast_path_equals_feedparser_on_the_shared_feeds_and_takes_most_of_them():
    if not SHARED_FEEDS.exists():
        pytest.skip(f"shared feeds not found at {SHARED_FEEDS.resolve()} (see ../shared/data/README.md)")
    files = [p for p in sorted(SHARED_FEEDS.rglob("*")) if p.is_file() and p.suffix in (".xml", ".rss", ".atom")]
    assert len(files) > 100
    accepted, differing = _compare(files, lambda body: RSS_HEADERS)
    print(f"fast path took {accepted} of {len(files)} shared feed files ({accepted / len(files):.0%})")
    assert differing == []
    assert accepted / len(files) > 0.5


def test_fast_path_equals_feedparser_on_feedparsers_corpus():
    if not CORPUS.exists():
        pytest.skip(f"feedparser corpus not found at {CORPUS.resolve()} (see ../shared/data/README.md)")
    files = sorted(CORPUS.rglob("*.xml"))
    assert len(files) > 2000
    accepted, differing = _compare(files, _headers)
    print(f"fast path took {accepted} of {len(files)} feedparser corpus files")
    assert differing == []


def _rss(items: str, channel: str = "<title>Example News</title><link>https://news.example.com/</link>",
         decl: str = '<?xml version="1.0" encoding="UTF-8"?>', root: str = '<rss version="2.0">') -> bytes:
    return f"{decl}{root}<channel>{channel}{items}</channel></rss>".encode()


PLAIN_ITEM = ("<item><title>Port strike ends</title><link>https://news.example.com/a/1</link>"
              "<description>&lt;p&gt;Dock workers &amp;amp; owners agreed.&lt;/p&gt;</description>"
              "<pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate><guid>https://news.example.com/a/1</guid></item>")


def test_a_plain_rss_feed_takes_the_fast_path_with_feedparsers_entries():
    body = _rss(PLAIN_ITEM)
    assert _accepts(body, RSS_HEADERS)
    fast = parse_feed(body, url=URL, headers=RSS_HEADERS)
    assert fast == parse_feed(body, url=URL, headers=RSS_HEADERS, fast=False)
    assert fast.entries[0].summary == "Dock workers & owners agreed."
    assert fast.entries[0].published_at.isoformat() == "2026-12-01T10:00:00+00:00"


def test_script_in_a_description_is_dropped_as_feedparser_drops_it():
    item = ("<item><title>Budget vote</title><link>https://news.example.com/a/2</link><description><![CDATA["
            "<p>The vote passed.</p><script>alert('x')</script><p onclick='steal()'>Next week: the senate.</p>"
            "]]></description></item>")
    body = _rss(item)
    assert _accepts(body, RSS_HEADERS)
    fast = parse_feed(body, url=URL, headers=RSS_HEADERS)
    assert fast == parse_feed(body, url=URL, headers=RSS_HEADERS, fast=False)
    assert "alert" not in fast.entries[0].summary and "steal" not in fast.entries[0].summary


def test_relative_guids_and_links_resolve_against_the_content_location_as_in_feedparser():
    item = "<item><title>T</title><guid>/a/7</guid></item><item><title>U</title><link>b/8</link></item>"
    headers = {**RSS_HEADERS, "Content-Location": "https://cdn.example.net/feeds/main.xml"}
    body = _rss(item, channel="<title>T</title>")
    assert _accepts(body, headers)
    fast = parse_feed(body, url=URL, headers=headers)
    assert fast == parse_feed(body, url=URL, headers=headers, fast=False)
    assert fast.entries[0].guid == "https://cdn.example.net/a/7"


@pytest.mark.parametrize("title", ["Tom &amp; Jerry &lt;3", "Ben &amp;amp; Co", "&lt;b&gt;Bold&lt;/b&gt; news",
                                   "Caf\u00c3\u00a9 \u0093quoted\u0094", "A &lt;script&gt;x&lt;/script&gt; title"])
def test_titles_with_markup_or_odd_characters_read_as_feedparser_reads_them(title):
    item = PLAIN_ITEM.replace("Port strike ends", title)
    body = _rss(item, channel=f"<title>{title}</title><link>https://news.example.com/</link>")
    assert _accepts(body, RSS_HEADERS)
    assert parse_feed(body, url=URL, headers=RSS_HEADERS) == parse_feed(body, url=URL, headers=RSS_HEADERS, fast=False)


@pytest.mark.parametrize(("body", "headers"), [
    (_rss(PLAIN_ITEM, decl='<?xml version="1.0" encoding="ISO-8859-1"?>'), RSS_HEADERS),
    (_rss(PLAIN_ITEM), {"Content-Type": "application/rss+xml; charset=iso-8859-1"}),
    (_rss(PLAIN_ITEM), {"Content-Type": "text/html"}),
    (b"\xef\xbb\xbf" + _rss(PLAIN_ITEM), RSS_HEADERS),
    (_rss(PLAIN_ITEM, root='<rss version="0.91">'), RSS_HEADERS),
    (_rss(PLAIN_ITEM, root='<rss version="2.0" xml:base="https://other.example.org/">'), RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("<item>", '<item xml:lang="fr">')), RSS_HEADERS),
    (_rss(PLAIN_ITEM, decl='<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>'), RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("</item>", "<title>Second title</title></item>")), RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("<item>", '<item><media:title xmlns:media="http://search.yahoo.com/mrss/">M</media:title>')),
     RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("</item>", '<itunes:summary xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
                                        "S</itunes:summary></item>")), RSS_HEADERS),
    (_rss(PLAIN_ITEM, channel='<title>T</title><itunes:summary xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
                              "S</itunes:summary>"), RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("</item>", '<x:title xmlns:x="urn:other">T</x:title><dc:title xmlns:dc="urn:not-dc">'
                                        "D</dc:title></item>")), RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("</item>", '<title xmlns="urn:other">Unprefixed</title></item>')), RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("</item>", '<u:title xmlns:u="http://backend.userland.com/rss2">U</u:title></item>')),
     RSS_HEADERS),
    (_rss(PLAIN_ITEM.replace("<description>", '<description type="text/plain">')), RSS_HEADERS),
    (b'<?xml version="1.0" encoding="UTF-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
     b'xmlns="http://purl.org/rss/1.0/"><channel><title>T</title></channel><item><title>A</title>'
     b'<link>https://news.example.com/a</link></item></rdf:RDF>', RSS_HEADERS),
    (b'<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
     b'<entry><title>A</title><link href="https://news.example.com/a"/></entry></feed>', RSS_HEADERS),
], ids=["latin-1 declared", "http charset", "served as html", "bom", "rss 0.91", "xml:base", "xml:lang", "dtd",
        "two titles", "media:title first", "itunes:summary", "channel itunes:summary", "dc prefix on another namespace",
        "unprefixed namespace", "userland namespace", "typed description",
        "rss 1.0", "atom"])
def test_unusual_documents_go_to_feedparser(body, headers):
    assert not _accepts(body, headers)


_TEXTS = ["Plain", "Tom &amp; Jerry", "&lt;p&gt;Para&lt;/p&gt;", "<![CDATA[<p>a</p><script>x()</script>b]]>", "  spaced  ",
          "", "Caf\u00c3\u00a9", "\u0093q\u0094", "a &amp;amp; b", "&lt;b&gt;x", "<![CDATA[<div onclick='z'>t</div>]]>",
          "x &#38; y", "&lt;iframe src='h'&gt;&lt;/iframe&gt;v", "relative/path", "/abs/path",
          "https://o.example.org/x?a=1&amp;b=2", "Tue, 01 Dec 2026 10:00:00 GMT", "2026-12-01T10:00:00Z", "garbage date",
          "john@example.com (John)", "\u00e9t\u00e9", "<![CDATA[ ]]>", "a<!-- c -->b",
          "<![CDATA[<p>a&nbsp;b &#150; c &unknown; AT&T &#x2019; &#0;</p><p>x<br>y</p>]]>",
          "<![CDATA[<p>x<iframe src='h'></iframe>z</p><table><tr><td>c</td></tr></table>]]>",
          "<![CDATA[&nbsp x &amp y <b>5 < 6</b> <<b>]]>", "<![CDATA[<ul><li>one<li>two</ul><p>after]]>",
          "<![CDATA[<P style='color:red' onclick='z'>5 > 4 &amp; a & b &#8217;s</P><BR/>x<img src='i.png'/>]]>",
          "&lt;figure&gt;&lt;figcaption&gt;Cap&lt;/figcaption&gt;&lt;/figure&gt;&lt;p&gt;Body&amp;nbsp;text&lt;/p&gt;"]
_ELEMENTS = [("title", "title"), ("link", "link"), ("description", "description"), ("guid", "guid"),
             ('guid isPermaLink="false"', "guid"), ("pubDate", "pubDate"), ("author", "author"),
             ("dc:creator", "dc:creator"), ("content:encoded", "content:encoded"), ("dc:date", "dc:date"),
             ("itunes:author", "itunes:author"), ("media:title", "media:title"), ("category", "category"),
             ("dcterms:modified", "dcterms:modified"), ("comments", "comments"), ("ext:thing", "ext:thing"),
             ('media:content url="http://i/x.jpg"><media:credit>C</media:credit><media:title>T</media:title',
              "media:content"), ('atom:link rel="self" href="http://x/f"', "atom:link"), ("subtitle", "subtitle")]
_NS = ('xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
       'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:media="http://search.yahoo.com/mrss/" '
       'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:ext="urn:ext"')


def test_generated_items_read_as_feedparser_reads_them():
    """Random mixes and orders of the fields the fast path reads, with markup, entities, mojibake,
    relative links and odd dates in them: wherever it takes the document, feedparser's entries."""
    rnd = random.Random(15)
    accepted, differing = 0, []
    for _ in range(600):
        items = "".join("<item>" + "".join(f"<{open_}>{rnd.choice(_TEXTS)}</{close}>" for open_, close in
                                           rnd.choices(_ELEMENTS, k=rnd.randint(1, 7))) + "</item>"
                        for _ in range(rnd.randint(1, 3)))
        body = _rss(items, channel=f"<title>{rnd.choice(_TEXTS)}</title><link>{rnd.choice(_TEXTS)}</link>",
                    root=f'<rss version="2.0" {_NS}>')
        if _accepts(body, RSS_HEADERS):
            accepted += 1
            if _result(body, RSS_HEADERS, fast=True) != _result(body, RSS_HEADERS, fast=False):
                differing.append(body.decode())
    assert accepted > 150
    assert differing == []
