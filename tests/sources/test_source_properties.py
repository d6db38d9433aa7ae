"""Property tests (hypothesis) for the input paths: arbitrary bytes as a seed file or a feed body give a
result or the documented `InputError` naming the input, never anything else."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from newsbrief.errors import InputError
from newsbrief.sources.feeds import ParsedFeed, parse_feed
from newsbrief.sources.seeds import SUPPORTED_SUFFIXES, SeedDocument, read_seed, read_seeds

SUFFIXES = sorted(SUPPORTED_SUFFIXES) + [".pdf", ""]
FEED_URL = "http://127.0.0.1:1/feed.xml"

# Text that looks like what lands in seeds/ and feeds: words, markup, entities, odd spaces and controls.
_PIECES = st.sampled_from([
    "Ceasefire talks resume.", "U.S. officials said", "# Heading", "<p>", "</p>", "<h2>Title</h2>", "**bold**",
    "&amp;", "&#160;", "&nbsp;", "\r\n", "\n\n", "\t", "\u00a0", "\u200b", "\x00", "\ufeff", "…", "»", "—",
    "<script>alert(1)</script>", "<![CDATA[x]]>", "- item", "1. item", "---", "é", "中文", "\U0001f600",
])
TEXTISH = st.lists(st.one_of(_PIECES, st.text(max_size=40)), max_size=40).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "utf-8-sig", "shift_jis", "koi8-r"])


@st.composite
def seed_bytes(draw) -> bytes:
    """Raw bytes, or text-like content in some encoding (what a real seed is), possibly cut short."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    data = draw(TEXTISH).encode(draw(ENCODINGS), errors="replace")
    return data[:draw(st.integers(0, len(data)))] if draw(st.booleans()) else data


def _check_document(doc: SeedDocument, path: Path) -> None:
    assert doc.path == path
    assert isinstance(doc.title, str) and doc.blocks, "a document always has body text"
    assert all(b.text and b.text == b.text.strip() and "\n" not in b.text for b in doc.blocks)
    assert len(doc.content_hash) == 64


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=seed_bytes(), suffix=st.sampled_from(SUFFIXES))
@example(data=b"", suffix=".txt")
@example(data=b"\xff\xfe\x00\x00", suffix=".md")
@example(data=b"Title\n\n\x00\x00\x00", suffix=".html")
@example(data=b"\xff\xfeC", suffix=".txt")  # a UTF-16 BOM, then an odd byte: was a raw UnicodeDecodeError
@example(data=b"\xef\xbb\xbf**bold**0\xc2", suffix=".md")  # a UTF-8 BOM, then a cut sequence: likewise
@example(data=b"<p>a</p><nav>x</nav>\x0btail<p>b</p>", suffix=".html")  # a control byte after a dropped tag: was a raw ValueError
def test_any_bytes_as_a_seed_file_give_a_document_or_an_input_error(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"seed{suffix}"
        path.write_bytes(data)
        try:
            doc = read_seed(path, max_bytes=1024)
        except InputError as exc:
            assert exc.source.endswith(path.name) and exc.reason, exc
        else:
            _check_document(doc, path)
        scan = read_seeds([path], max_bytes=1024)
        assert len(scan.documents) + len(scan.problems) == 1


_ITEM = st.builds(
    lambda title, link, text: f"<item><title>{title}</title><link>{link}</link><description>{text}</description>"
                              "</item>",
    TEXTISH, st.sampled_from(["http://example.org/a", "", "javascript:alert(1)", "/rel", "%%", "http://[::1"]),
    TEXTISH)
_DOCTYPE = st.sampled_from(["", '<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>', '<!DOCTYPE rss [<!ENTITY a "&a;">]>',
                            '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                            '<!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>', "<!DOCTYPE html>"])


@st.composite
def feed_bytes(draw) -> bytes:
    """Raw bytes, or an RSS document with hostile parts (entities, markup in text, broken links), cut or not."""
    if draw(st.integers(0, 3)) == 0:
        return draw(st.binary(max_size=2048))
    items = "".join(draw(st.lists(_ITEM, max_size=4)))
    doc = (f'<?xml version="1.0" encoding="utf-8"?>{draw(_DOCTYPE)}<rss version="2.0"><channel>'
           f"<title>{draw(TEXTISH)}</title>{items}</channel></rss>").encode("utf-8", errors="replace")
    return doc[:draw(st.integers(0, len(doc)))] if draw(st.booleans()) else doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=feed_bytes(), content_type=st.sampled_from(["application/xml", "text/html; charset=utf-8",
                                                        "application/rss+xml; charset=koi8-r", "text/plain"]))
@example(body=b"", content_type="application/xml")
@example(body=b"\xef\xbb\xbf<rss><channel><item><title>t</title></item>", content_type="application/xml")
def test_any_bytes_through_the_feed_path_give_entries_or_an_input_error(body, content_type):
    try:
        parsed = parse_feed(body, url=FEED_URL, headers={"Content-Type": content_type}, max_entries=10)
    except InputError as exc:
        assert exc.source == FEED_URL and exc.reason, exc
        return
    assert isinstance(parsed, ParsedFeed) and 0 < len(parsed.entries) <= 10
    for entry in parsed.entries:
        assert isinstance(entry.title, str) and isinstance(entry.text, str)
        assert entry.title or entry.url or entry.text
