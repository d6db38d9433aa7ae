"""Main-text extraction on 106 real pages served over loopback, against their ground truth; text helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import trafilatura

from newsbrief.sources.extract import declared_charset, extract_main_text, html_to_text, is_teaser
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
