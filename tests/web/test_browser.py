"""The web app in a real browser: Playwright for Python driving Debian's Chromium (/usr/bin/chromium) against
`newsbrief web` started on loopback by the test and stopped by its pid.

Every page visited is screenshotted at 375 px and 1280 px wide and must not scroll sideways
(scrollWidth <= clientWidth). Screenshots go to NEWSBRIEF_TEST_ARTIFACTS (default tests/artifacts/browser,
git-ignored); the folder is printed. Without /usr/bin/chromium (apt-get install chromium; Playwright's
own browser download cannot work here) or the playwright package, the test skips saying so.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from newsbrief.digest.preferences import preferences
from newsbrief.store import Article, Feed, Store, Tag
from tests.web.filled import filled_store

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("NEWSBRIEF_TEST_ARTIFACTS", ROOT / "tests" / "artifacts" / "browser"))
WIDTHS = (375, 1280)

pytestmark = pytest.mark.browser
if not CHROMIUM.exists():
    pytestmark = [pytest.mark.browser, pytest.mark.skip(
        reason="no /usr/bin/chromium: install Debian's package (apt-get install -y chromium) to run the browser tests")]
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: make install")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(project, monkeypatch):
    """A filled store, digests in the outbox whose links point at the server, and the server itself."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    f = filled_store(monkeypatch, public_url=base)
    settings, store, ids = f.settings, f.store, f.ids
    with store.session() as s:
        for n in range(30):
            s.add(Article(content_hash=f"{n:064d}", source_kind="feed", source="Wire", origin="test",
                          title=f"Tariff story {n}", text=f"Governments raised tariffs again, report {n} said.",
                          flags=[], topics_hint=[]))
        evil = Article(content_hash="e" * 64, source_kind="feed", source="Evil", origin="test",
                       title='Tariffs <img src=x onerror="window.pwned=1"><script>window.pwned=1</script>',
                       text="<script>window.pwned=1</script> Tariffs rose. " + "averyveryverylongwordwithoutspaces" * 8,
                       flags=[], topics_hint=[])
        s.add(evil)
        s.flush()
        s.add(Tag(article_id=evil.id, tag="tariffs", label="Tariffs & trade", score=9.0, evidence=["Tariffs rose."]))
        s.add(Feed(url="https://ok.example.org/rss", name="Fine feed", consecutive_failures=0))
        s.add(Feed(url="https://down.example.org/a/very/long/path/to/a/feed/that/keeps/failing/rss.xml",
                   name="Broken feed", consecutive_failures=4, last_error="HTTP 503 from down.example.org"))
        evil_id = evil.id
    store.dispose()
    log = open(project / "web.log", "wb")  # noqa: SIM115 - closed below, after the server
    proc = subprocess.Popen([sys.executable, "-m", "newsbrief.cli", "web", "--port", str(port)],
                            env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/feeds", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"newsbrief web exited: {(project / 'web.log').read_text()}")
                time.sleep(0.2)
        else:
            pytest.fail("newsbrief web did not answer within 30 s")
        yield base, settings, ids, evil_id
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def _shoot(page, name: str) -> None:
    """Screenshots at both widths; the page must fit each without sideways scrolling."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert scroll <= client, f"{name} scrolls sideways at {width}px ({scroll} > {client})"
    page.set_viewport_size({"width": 1280, "height": 900})


def _eml_link(settings, pattern: str) -> str:
    eml = sorted(Path(settings.outbox_dir).rglob("*.eml"))[0]
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    return re.search(pattern, msg.get_body(("plain",)).get_content()).group(1), str(msg["To"].addresses[0].addr_spec)


def test_a_reader_browses_the_archive_stories_search_and_feeds(server, browser):
    base, settings, ids, evil_id = server
    page = browser.new_page()
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Digests" and page.locator("td", has_text="run-1").count() >= 1
    _shoot(page, "archive")
    page.locator("a[href^='/digests/']").first.click()
    page.wait_for_selector("iframe[sandbox]")
    _shoot(page, "digest")

    page.goto(f"{base}/articles/{ids[0]}")
    marks = page.locator(".text mark")
    assert marks.count() >= 1 and marks.first.is_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('.text mark')).backgroundColor") == "rgb(255, 229, 138)"
    _shoot(page, "story")

    page.goto(f"{base}/articles/{evil_id}")
    assert page.evaluate("window.pwned === undefined") and "<script>" in page.locator("h1").inner_text()
    _shoot(page, "story-with-script")

    page.goto(base + "/search")
    page.fill("input[name=q]", "tariff")
    page.click("form.search button")
    page.wait_for_url(re.compile(r"/search\?q=tariff"))
    assert re.search(r"3\d articles", page.locator("p.muted").first.inner_text())
    assert page.locator("article mark").count() >= 1 and page.evaluate("window.pwned === undefined")
    first_page = page.locator("article h3").all_inner_texts()
    _shoot(page, "search")
    page.click("text=Next")
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("text=Previous").is_visible()
    assert set(page.locator("article h3").all_inner_texts()).isdisjoint(first_page)
    _shoot(page, "search-page-2")

    page.goto(base + "/feeds")
    rows = page.locator("table tr").all_inner_texts()
    assert "Broken feed" in rows[1] and "HTTP 503" in rows[1] and "Fine feed" in rows[2]
    _shoot(page, "feeds")
    page.goto(base + "/topics")
    assert page.locator("section.topic").count() >= 5 and page.evaluate("window.pwned === undefined")
    _shoot(page, "topics")
    print(f"\nbrowser screenshots in {ARTIFACTS}")


def test_a_subscriber_follows_the_digest_link_changes_topics_and_unsubscribes(server, browser):
    base, settings, *_ = server
    link, who = _eml_link(settings, r"Change your topics or length: (\S+)")
    assert link.startswith(base + "/preferences/")
    page = browser.new_page()
    page.goto(link)
    assert who in page.locator("h1").inner_text()
    _shoot(page, "preferences")
    for box in page.locator("input[name=topics]:checked").all():
        box.uncheck()
    page.check("input[name=topics][value=sport]")
    page.fill("input[name=sentences]", "2")
    page.click("text=Save")
    page.wait_for_selector("text=Saved")
    assert page.locator("input[name=topics][value=sport]").is_checked()
    store = Store(settings.store_url)
    try:
        pref = preferences(store)[who.lower()]
        assert pref.topics == ["sport"] and pref.sentences == 2 and pref.unsubscribed_at is None
        page.click("text=Unsubscribe from everything")
        page.wait_for_selector("text=Unsubscribe from every digest and alert")
        _shoot(page, "unsubscribe")
        page.click("button")
        page.wait_for_selector("h1:has-text('Unsubscribed')")
        _shoot(page, "unsubscribed")
        assert preferences(store)[who.lower()].unsubscribed_at is not None
    finally:
        store.dispose()
