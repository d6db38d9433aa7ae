"""The web app over a real store filled by the real stages: what a reader and a subscriber see."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from newsbrief.config.settings import load_settings
from newsbrief.digest.build import build_digests
from newsbrief.sources.seed_ingest import ingest_seed_files
from newsbrief.store import Article, Feed, Tag
from newsbrief.tagging.stage import tag_articles
from newsbrief.web.app import create_app
from tests.web.filled import filled_store


@pytest.fixture
def site(project, monkeypatch):
    f = filled_store(monkeypatch)
    with TestClient(create_app(f.settings.store_url)) as client:
        yield client, f.store, f.settings, f.ids, f.subscribers, f.taxonomy
    f.store.dispose()


def test_the_archive_lists_every_digest_with_its_state_and_shows_it_as_sent(site):
    client, store, *_ = site
    home = client.get("/")
    assert home.status_code == 200 and "run-1" in home.text and home.text.count("outbox") == 0
    assert "sent" in home.text
    first = re.search(r'href="/digests/(\d+)"', home.text).group(1)
    page = client.get(f"/digests/{first}")
    assert page.status_code == 200 and "<iframe sandbox" in page.text and "Plain text" in page.text
    raw = client.get(f"/digests/{first}/html")
    assert "sandbox" in raw.headers["content-security-policy"] and "<html" in raw.text.lower()


def test_a_story_page_highlights_its_evidence_and_escapes_feed_text(site):
    client, store, _, ids, *_ = site
    with store.session() as s:
        tag = s.query(Tag).filter(Tag.article_id == ids[0]).first()
        evidence = tag.evidence[0]
        s.get(Article, ids[0]).title = 'Ceasefire <script>alert("x")</script>'
    page = client.get(f"/articles/{ids[0]}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    assert "<mark>" in page.text and evidence.split()[0] in page.text


def test_search_finds_stems_says_why_and_pages(site):
    client, store, _, ids, *_ = site
    with store.session() as s:
        for n in range(45):
            s.add(Article(content_hash=f"{n:064d}", source_kind="feed", source="Wire", origin="test",
                          title=f"Tariff story {n}", text=f"Governments raised tariffs again, report {n} said.",
                          flags=[], topics_hint=[]))
    page = client.get("/search", params={"q": "tariff"})
    assert page.status_code == 200 and "matched" in page.text and "<mark>" in page.text
    assert re.search(r"(4[5-9]|[5-9]\d) articles", page.text)
    second = client.get("/search", params={"q": "tariff", "page": 2})
    assert "Tariff story" in second.text and "Previous" in second.text
    only_wire = client.get("/api/v1/search", params={"q": "tariffs", "source": "Wire"}).json()
    assert only_wire["total"] == 45 and all(h["source"] == "Wire" for h in only_wire["hits"])
    assert client.get("/search", params={"q": "x", "page": 0}).status_code == 422
    assert "page" in client.get("/search", params={"q": "x", "page": "two"}).text


def test_unknown_ids_are_404_and_feed_health_puts_failing_feeds_first(site):
    client, store, *_ = site
    assert client.get("/articles/999999").status_code == 404
    assert client.get("/digests/999999").status_code == 404
    assert client.get("/api/v1/articles/999999").json() == {"detail": "no article 999999"}
    with store.session() as s:
        s.add(Feed(url="https://ok.example.org/rss", name="Fine feed", consecutive_failures=0))
        s.add(Feed(url="https://down.example.org/rss", name="Broken feed", consecutive_failures=4,
                   last_error="HTTP 503 from down.example.org"))
    page = client.get("/feeds").text
    assert page.index("Broken feed") < page.index("Fine feed") and "HTTP 503" in page


def test_one_click_unsubscribe_from_the_eml_stops_the_next_digest(site):
    """RFC 8058 end to end: List-Unsubscribe from the sent .eml, a POST without cookie, no digest next run."""
    client, store, settings, ids, subscribers, taxonomy = site
    eml = sorted(Path(settings.outbox_dir).rglob("*.eml"))[0]
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(http[^>]+)>", msg["List-Unsubscribe"]).group(1)
    path = "/" + link.split("/", 3)[3]
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert answer.status_code == 200 and "Unsubscribed" in answer.text
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200  # idempotent
    who = str(msg["To"].addresses[0].addr_spec)
    (Path(settings.seeds_dir) / "tariffs.txt").write_text(
        "EU raises tariffs on steel imports\n\nThe European Union raised tariffs on steel imports from "
        "several countries on Monday. Trade ministers said the new duties protect local mills. Exporters "
        "warned of retaliation and a wider trade dispute over the tariffs.\n")
    new_ids = ingest_seed_files(store, settings, "run-2").article_ids
    tag_articles(store, new_ids, taxonomy)
    again = build_digests(store, settings, "run-2", new_ids, subscribers, taxonomy)
    with store.session() as s:
        from newsbrief.store import Digest

        recipients = {s.get(Digest, d).recipient for d in again}
    assert who not in recipients and recipients


def test_tampered_tokens_get_a_page_that_says_what_to_do(site):
    client, *_ = site
    page = client.get("/unsubscribe/abc.def.1.xyz")
    assert page.status_code == 403 and "most recent" in page.text


def test_preferences_change_topics_from_the_next_run(site):
    client, store, settings, ids, subscribers, taxonomy = site
    eml = sorted(Path(settings.outbox_dir).rglob("*.eml"))[0]
    text = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    link = re.search(r"Change your topics or length: (\S+)", text).group(1)
    path = "/" + link.split("/", 3)[3]
    assert "Preferences of" in client.get(path).text
    saved = client.post(path, data={"topics": ["sport"], "sentences": "2", "subscribed": "yes"})
    assert saved.status_code == 200 and "Saved" in saved.text
    assert client.post(path, data={"sentences": "500", "subscribed": "yes"}).status_code == 422
    from newsbrief.digest.preferences import apply

    who = re.search(r"^To: .*<(.+)>$", eml.read_text(), re.M).group(1)
    changed = {s.email: s for s in apply(store, subscribers)}[who]
    assert changed.topics == ("sport",) and changed.sentences == 2


def test_a_web_token_guards_every_page_but_the_subscriber_links(project, monkeypatch):
    monkeypatch.setenv("NEWSBRIEF_WEB_TOKEN", "t" * 32)
    with TestClient(create_app(load_settings().store_url)) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer " + "t" * 32}).status_code == 200
        assert client.get("/unsubscribe/x.y.1.z").status_code == 403


def test_the_server_refuses_a_public_bind_without_a_token(monkeypatch, capsys):
    from newsbrief.cli import main

    monkeypatch.delenv("NEWSBRIEF_WEB_TOKEN", raising=False)
    assert main(["web", "--host", "0.0.0.0"]) == 2
    assert "NEWSBRIEF_WEB_TOKEN" in capsys.readouterr().err
