"""Main-text extraction on 106 real pages served over loopback, against their ground truth; text helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser
import pytest
import trafilatura

from newsbrief.sources.extract import (
    declared_charset,
    extract_main_text,
    html_to_text,
    is_page_chrome,
    is_teaser,
    repeated_blocks,
    word_count,
)
from newsbrief.sources.feeds import parse_feed
from newsbrief.sources.fetch import FetchLimits, GuardedClient
from tests.http_server import LocalServer

PAGES = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pages"


def _cases() -> list[tuple[str, dict]]:
    if not (PAGES / "evaldata.json").exists():
        pytest.skip(f"shared real pages not found at {PAGES.resolve()} (see ../shared/data/README.md)")
    evaldata = json.loads((PAGES / "evaldata.json").read_text(encoding="utf-8"))
    return [(url, case) for url, case in evaldata.items() if (PAGES / "cache" / case["file"]).exists()]


def _passes(text: str, case: dict) -> bool:
    return all(s in text for s in case["with"]) and not any(s in text for s in case["without"])


def test_pages_served_over_http_pass_at_least_as_often_as_trafilatura_alone(record_property):
    cases = _cases()
    assert len(cases) == 106
    ours = alone = 0
    failed = []
    with LocalServer() as server, GuardedClient(FetchLimits(max_bytes=10 * 1024 * 1024), allow=["127.0.0.1"]) as client:
        for n, (_url, case) in enumerate(cases):
            raw = (PAGES / "cache" / case["file"]).read_bytes()
            served = server.add(f"/page/{n}.html", raw, headers={"Content-Type": "text/html"})
            page = client.get(served)
            extracted = extract_main_text(page.body, url=served, content_type=page.content_type)
            if extracted is not None and _passes(extracted.text, case):
                ours += 1
            else:
                failed.append(case["file"])
            alone += _passes(trafilatura.extract(raw) or "", case)
    record_property("extraction_pass", f"{ours}/{len(cases)} (trafilatura alone {alone}/{len(cases)})")
    print(f"\nextraction: {ours}/{len(cases)} pages pass; trafilatura.extract alone: {alone}/{len(cases)}")
    assert ours >= alone, failed


def test_non_utf8_page_decodes_with_the_charset_the_server_declares():
    html = ("<html><head><title>Grüße</title></head><body><article><h1>Schöne Grüße aus Köln</h1>"
            + "".join(f"<p>Die Straßenbahn fährt über die Brücke Nummer {n}, und die Bürger genießen die Aussicht "
                      f"über den Fluss, während Möwen über dem Wasser kreisen.</p>" for n in range(8))
            + "</article></body></html>")
    body = html.encode("iso-8859-1")
    assert declared_charset("text/html; charset=ISO-8859-1", body) == "iso8859-1"
    extracted = extract_main_text(body, url="http://x.example/a", content_type="text/html; charset=ISO-8859-1")
    assert extracted is not None and "Die Straßenbahn fährt über die Brücke Nummer 3" in extracted.text
    meta = html.replace("<head>", '<head><meta charset="windows-1252">').encode("cp1252")
    assert "fährt" in extract_main_text(meta, url="http://x.example/b").text


def test_page_without_article_text_gives_none():
    assert extract_main_text(b"<html><body><nav><a href='/'>Home</a></nav></body></html>", url="http://x.example/") is None
    assert extract_main_text(b"\x00\x01\x02 binary", url="http://x.example/") is None


def test_html_fragment_to_text_keeps_blocks_and_drops_markup():
    html = "<p>First <b>bold</b>&nbsp;para.</p><ul><li>one</li><li>two</li></ul>line<br>break<script>x()</script>"
    assert html_to_text(html) == "First bold para.\none\ntwo\nline\nbreak"
    assert html_to_text("<p>Real feeds carry\x01 control\x0b bytes</p><!-- note -->and comments") == \
        "Real feeds carry control bytes\nand comments"
    assert html_to_text("plain   text\n\n  here") == "plain text\nhere"
    assert html_to_text("") == ""


@pytest.mark.parametrize("text, teaser", [
    ("A short description of the story.", True),
    ("word " * 400, False),
    ("word " * 400 + "Continue reading...", True),
    ("word " * 400 + "The post Foo appeared first on Bar.", True),
    ("word " * 400 + "[…]", True),
])
def test_teaser_detection(text, teaser):
    assert is_teaser(text) is teaser


def test_extraction_returns_metadata():
    cases = dict(_cases())
    case = cases["https://www.theguardian.com/education/2020/jan/20/thousands-of-uk-academics-treated-as-second-class-citizens"]
    extracted = extract_main_text((PAGES / "cache" / case["file"]).read_bytes(), url="https://www.theguardian.com/x")
    assert extracted.title and re.search("second-class citizens", extracted.title)
    assert extracted.author == "Richard Adams"
    assert extracted.published_at is not None and extracted.published_at.year == 2020


DEMO_CNA = Path(__file__).resolve().parents[2] / "demo" / "feeds" / "cna-world.xml"
CHROME = ["Advertisement", "Bookmark", "WhatsApp", "Click here to return to FAST", "Add CNA as a trusted source",
          "Read a summary of this article on FAST", "Sign up for our newsletters", "Mini Sudoku"]


def test_a_whole_page_in_content_encoded_gives_the_article_not_the_page():
    """CNA's content:encoded is the whole page (share bar, FAST plugs, games, sign-up boxes) around the story:
    the entry's text is the story, and the digest summary starts with its lede."""
    from newsbrief.text.summarize import summarize

    feed = parse_feed(DEMO_CNA.read_bytes(), url="https://www.channelnewsasia.com/rss")
    assert len(feed.entries) == 9
    for entry in feed.entries:
        assert not [c for c in CHROME if c in entry.content], entry.title
        assert word_count(entry.content) > 150
    iran = next(e for e in feed.entries if e.title == "Iran condemns US plans to announce new sanctions")
    summary = summarize(iran.text, title=iran.title)
    assert summary[0] == ("CAIRO/WASHINGTON: Iran on Saturday (Aug 22) denounced US plans to announce new sanctions "
                          "that could put further strain on the Islamic Republic's economy and have an impact on its "
                          "most important trading partners including China.")
    assert "the toughest sanctions in history" in iran.content and iran.content.rstrip().endswith("on Friday.")


def test_a_lone_whole_page_item_starts_where_its_own_teaser_starts():
    """With one item there is no other page to share chrome with: the article starts at the block its
    description begins, when only short blocks come before it. (The game plugs inside the story stay in
    its text, as headings that never reach a summary; when the description quotes a later paragraph, the
    prose-looking plugs before the story stay too, until the text stage has learned them from three items.)"""
    from newsbrief.text.summarize import summarize

    raw = DEMO_CNA.read_bytes()
    head, first = raw.split(b"<item>")[:2]
    lone = parse_feed(head + b"<item>" + first.split(b"</item>")[0] + b"</item></channel></rss>", url="https://x.example/rss")
    entry = lone.entries[0]
    assert entry.content.startswith("CAIRO/WASHINGTON: Iran on Saturday (Aug 22) denounced US plans")
    summary = summarize(entry.text, title=entry.title)
    assert summary[0].startswith("CAIRO/WASHINGTON: Iran on Saturday")
    assert not [c for c in CHROME for s in summary if c in s]


def test_ordinary_full_text_feeds_are_not_taken_for_pages():
    """The page signal (a third of the blocks menu entries, or four in a row) does not fire on publisher
    feeds whose content is the article: BBC, CNN, NYT, Guardian, HuffPost and eleven Spanish outlets."""
    folder = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "feeds" / "publisher-raw"
    if not folder.is_dir():
        pytest.skip(f"shared feeds not found at {folder.resolve()}")
    contents = pages = 0
    for path in sorted(folder.rglob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            for value in entry.get("content", []) or []:
                if value.get("value"):
                    contents += 1
                    pages += is_page_chrome(html_to_text(value["value"]).split("\n"))
    assert contents > 200
    assert pages / contents < 0.01, pages


def test_blocks_three_entries_share_are_chrome_two_are_not():
    texts = ["Story one.\nSubscribe to our newsletter today\nA quoted line both stories carry.",
             "Story two.\nSubscribe to our newsletter today\nA quoted line both stories carry.",
             "Story three.\nSubscribe to our newsletter today"]
    assert repeated_blocks(texts) == {"subscribe to our newsletter today"}
