"""Topics and their Atom feeds, OPML export/import, the JSON API, alert preferences and `newsbrief subscribers`,
over a real store filled by the real stages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from newsbrief.alerts.delivery import atom_feed
from newsbrief.config.settings import load_settings
from newsbrief.config.subscribers import load_subscribers
from newsbrief.digest.links import load_link_settings, make_token, preferences_url
from newsbrief.digest.preferences import active_alerts
from newsbrief.sources.feeds import load_feeds
from newsbrief.store import Article, Cluster, Store, Tag
from newsbrief.store.schema import AlertItem
from newsbrief.web.app import create_app
from newsbrief.web.opml import import_opml

ATOM = "{http://www.w3.org/2005/Atom}"
SCRIPT = 'Tariffs <script>alert("pwned")</script> & <img src=x onerror=alert(1)>'
ALERTS = """    alerts:
      - id: steel
        query: 'tariff steel'
      - id: truce
        topics: [ceasefire]
        frequency: daily
"""


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def site(project, monkeypatch):
    monkeypatch.delenv("NEWSBRIEF_WEB_TOKEN", raising=False)
    subs = project / "config" / "subscribers.yaml"
    subs.write_text(subs.read_text().replace("    topics: [tariffs, sanctions]\n",
                                             "    topics: [tariffs, sanctions]\n" + ALERTS, 1))
    settings = load_settings()
    store = Store(settings.store_url)
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    with store.session() as s:
        story = Cluster()
        s.add(story)
        s.flush()
        for n in range(12):
            a = Article(content_hash=f"{n:064d}", source_kind="feed", source=f"Outlet {n % 3}", origin="test",
                        url=f"https://news.example.org/{n}", title=f"Steel tariff story {n}",
                        text=f"Governments raised steel tariffs again, report {n} said. Talks go on.",
                        flags=[], topics_hint=[], published_at=now - timedelta(hours=n),
                        cluster_id=story.id if n < 2 else None)
            s.add(a)
            s.flush()
            s.add(Tag(article_id=a.id, tag="tariffs", label="Tariffs & trade", score=14.0,
                      evidence=[f"Governments raised steel tariffs again, report {n} said."]))
        bad = Article(content_hash="f" * 64, source_kind="feed", source="Evil <b>feed</b>", origin="test",
                      url="https://evil.example.org/x", title=SCRIPT, text=SCRIPT + " ceasefire holds.",
                      flags=[], topics_hint=[], published_at=now)
        s.add(bad)
        s.flush()
        s.add(Tag(article_id=bad.id, tag="ceasefire", label="Ceasefire", score=9.0, evidence=[SCRIPT]))
        bad_id = bad.id
    with TestClient(create_app(settings.store_url)) as client:
        yield client, store, settings, bad_id
    store.dispose()


def test_topics_list_recent_stories_once_per_story_and_escape_feed_text(site):
    client, store, settings, bad_id = site
    page = client.get("/topics")
    assert page.status_code == 200 and "Tariffs &amp; trade" in page.text
    assert page.text.count("Steel tariff story") == 5  # five most recent...
    assert "Steel tariff story 1<" not in page.text  # ...and story 1 is story 0's cluster: shown once
    assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
    one = client.get("/topics/tariffs")
    assert one.status_code == 200 and one.text.count("Steel tariff story") == 11
    missing = client.get("/topics/nope")
    assert missing.status_code == 404 and "no topic &#39;nope&#39;" in missing.text


def test_each_topic_has_an_atom_feed(site):
    client, *_ = site
    answer = client.get("/topics/tariffs/atom")
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(answer.content)
    entries = feed.findall(f"{ATOM}entry")
    assert feed.find(f"{ATOM}title").text == "newsbrief: Tariffs & trade" and len(entries) == 11
    assert entries[0].find(f"{ATOM}title").text == "Steel tariff story 0"
    assert entries[0].find(f"{ATOM}link").get("href") == "https://news.example.org/0"
    evil = ET.fromstring(client.get("/topics/ceasefire/atom").content).find(f"{ATOM}entry")
    assert evil.find(f"{ATOM}title").text == SCRIPT  # XML-escaped on the wire, exact after parsing
    assert client.get("/topics/nope/atom").status_code == 404


def test_opml_export_lists_feeds_yaml_and_import_reports_by_line(site):
    client, store, settings, _ = site
    declared = load_feeds(settings.feeds_file)
    body = client.get("/feeds/opml")
    assert "attachment" in body.headers["content-disposition"]
    outlines = ET.fromstring(body.content).iter("outline")
    assert [(o.get("xmlUrl"), o.get("text")) for o in outlines] == [(f.url, f.name) for f in declared]
    opml = f"""<?xml version="1.0"?>
<opml version="2.0"><head><title>mine</title></head><body>
<outline text="News">
  <outline type="rss" text="New one" xmlUrl="https://new.example.org/rss"/>
  <outline type="rss" text="Again" xmlUrl="{declared[0].url}"/>
  <outline type="rss" text="Twice" xmlUrl="https://new.example.org/rss"/>
  <outline type="rss" text="Local" xmlUrl="file:///etc/passwd"/>
  <outline type="rss" text="No address"/>
  <outline type="rss" text="{declared[1].name}" xmlUrl="https://other.example.org/feed"/>
</outline></body></opml>""".encode()
    answer = client.post("/feeds/import", files={"opml": ("mine.opml", opml, "text/x-opml")})
    assert answer.status_code == 200
    report = import_opml(opml, declared)
    assert [(x.line, x.status) for x in report.lines] == [
        (4, "new"), (5, "declared"), (6, "refused"), (7, "refused"), (8, "refused"), (9, "refused")]
    assert "the same feed as line 4" in report.lines[2].reason and "http(s)" in report.lines[3].reason
    assert "without xmlUrl" in report.lines[4].reason and "already used by feeds.yaml" in report.lines[5].reason
    assert "1 new, 1 already declared, 4 refused." in answer.text and "- url: https://new.example.org/rss" in answer.text
    assert load_feeds(settings.feeds_file) == declared  # nothing is written
    broken = client.post("/feeds/import", files={"opml": ("x.opml", b"<opml><body>\n<outline", "text/xml")})
    assert broken.status_code == 422 and "line 2" in broken.text
    bomb = b'<?xml version="1.0"?><!DOCTYPE o [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="&a;"/></body></opml>'
    assert "declares the XML entity" in client.post("/feeds/import", files={"opml": ("b", bomb, "text/xml")}).text


def test_the_json_api_covers_every_collection_with_404s_and_named_422s(site):
    client, store, settings, bad_id = site
    articles = client.get("/api/v1/articles", params={"limit": 5}).json()
    assert len(articles) == 5 and articles[0]["id"] == bad_id
    one = client.get(f"/api/v1/articles/{bad_id}").json()
    assert one["title"] == SCRIPT and one["tags"][0]["evidence"] == [SCRIPT]
    tariffs = client.get("/api/v1/articles", params={"topic": "tariffs", "limit": 100}).json()
    assert len(tariffs) == 12
    stories = client.get("/api/v1/stories").json()
    assert len(stories) == 1 and len(stories[0]["articles"]) == 2 and stories[0]["sources"] == ["Outlet 0", "Outlet 1"]
    assert client.get(f"/api/v1/stories/{stories[0]['id']}").json() == stories[0]
    topics = {t["id"]: t["articles"] for t in client.get("/api/v1/topics").json()}
    assert topics["tariffs"] == 12 and topics["ceasefire"] == 1
    assert client.get("/api/v1/feeds").json() == []
    hits = client.get("/api/v1/search", params={"q": "steel", "page": 1}).json()
    assert hits["total"] == 12 and hits["pages"] == 1 and all(h["why"] for h in hits["hits"])
    for path in ("/api/v1/articles/999999", "/api/v1/stories/999999", "/api/v1/digests/999999"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.json()["detail"].startswith("no ")
    assert "limit" in client.get("/api/v1/articles", params={"limit": 0}).json()["detail"][0]
    assert "article_id" in client.get("/api/v1/articles/99999999999").json()["detail"][0]
    assert "page" in client.get("/api/v1/search", params={"q": "x", "page": "two"}).json()["detail"][0]
    assert client.get("/api/v1/search").status_code == 422
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/digests", "/api/v1/articles", "/api/v1/stories", "/api/v1/feeds", "/api/v1/search",
            "/api/v1/articles/{article_id}"} <= set(spec["paths"])


def test_preferences_list_alerts_with_one_click_unsubscribe_from_one_or_all(site):
    client, store, settings, _ = site
    links = load_link_settings()
    who = "trade-desk@example.org"
    subscribers = load_subscribers(settings.subscribers_file)
    alerts = [a for s in subscribers for a in s.alerts]
    assert [a.id for a in active_alerts(store, alerts)] == ["steel", "truce"]
    prefs = _path(preferences_url(who, settings=links))
    page = client.get(prefs).text
    assert "steel" in page and "tariff steel" in page and "topics: ceasefire" in page
    assert page.count("Unsubscribe from this alert") == 2 and "Unsubscribe from all alerts" in page
    one = _path(links.public_url + "/unsubscribe/" + make_token(who, "alert:steel", settings=links))
    assert f'action="{one}"' in page
    done = client.post(one, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert done.status_code == 200 and "alert “steel”" in done.text and "digests and other alerts go on" in done.text
    assert [a.id for a in active_alerts(store, alerts)] == ["truce"]
    assert "stopped" in client.get(prefs).text
    everything = client.post(prefs + "/alerts", data={"alert": "*", "action": "stop"})
    assert everything.status_code == 200 and "all alerts stopped" in everything.text
    assert active_alerts(store, alerts) == []
    client.post(prefs + "/alerts", data={"alert": "truce", "action": "resume"})
    assert [a.id for a in active_alerts(store, alerts)] == ["truce"]
    assert client.post(prefs + "/alerts", data={"alert": "other", "action": "stop"}).status_code == 404
    assert client.post(prefs + "/alerts", data={"alert": "truce", "action": "explode"}).status_code == 422
    apply_all = client.post(_path(links.public_url + "/unsubscribe/" + make_token(who, settings=links)),
                            data={"List-Unsubscribe": "One-Click"})
    assert apply_all.status_code == 200 and active_alerts(store, alerts) == []  # unsubscribing from all stops alerts


def test_an_alert_is_served_as_the_atom_feed_the_outbox_gets(site):
    client, store, settings, _ = site
    links = load_link_settings()
    alert = next(a for s in load_subscribers(settings.subscribers_file) for a in s.alerts if a.id == "steel")
    with store.session() as s:
        for aid in (1, 2):
            s.add(AlertItem(alert_key=alert.key, recipient=alert.email, article_id=aid, batch_key="b",
                            message_id="<m@x>", matched=["steel"], status="sent",
                            sent_at=datetime(2026, 12, 1, 10, aid, tzinfo=UTC)))
    feed_url = _path(links.public_url + f"/alerts/{make_token(alert.email, alert.scope, settings=links)}/atom")
    assert feed_url in client.get(_path(preferences_url(alert.email, settings=links))).text
    answer = client.get(feed_url)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    with store.session() as s:
        assert answer.text == atom_feed(s, alert)
    assert len(ET.fromstring(answer.content).findall(f"{ATOM}entry")) == 2
    whole = _path(links.public_url + f"/alerts/{make_token(alert.email, settings=links)}/atom")
    assert client.get(whole).status_code == 404
    assert client.get("/alerts/a.b.1.c/atom").status_code == 403


def test_newsbrief_subscribers_shows_web_choices_after_a_restart(site):
    client, store, settings, _ = site
    links = load_link_settings()
    prefs = _path(preferences_url("trade-desk@example.org", settings=links))
    client.post(prefs, data={"topics": ["sport"], "sentences": "2", "max_items": "4", "subscribed": "yes"})
    client.post(prefs + "/alerts", data={"alert": "steel", "action": "stop"})
    client.post(_path(links.public_url + "/unsubscribe/" + make_token("editor@example.org", settings=links)),
                data={"List-Unsubscribe": "One-Click"})
    client.close()
    store.dispose()
    from newsbrief.store.engine import _STORES

    _STORES.clear()
    env = {k: v for k, v in os.environ.items() if k.startswith("NEWSBRIEF_") or k in ("PATH", "HOME")}
    out = subprocess.run([sys.executable, "-m", "newsbrief.cli", "subscribers", "--jsonl"], env=env,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    rows = {r["email"]: r for r in map(json.loads, out.splitlines())}
    trade, editor, policy = rows["trade-desk@example.org"], rows["editor@example.org"], rows["policy-desk@example.org"]
    assert trade["topics"] == ["sport"] and trade["sentences"] == 2 and trade["max_items"] == 4
    assert trade["alerts"] == ["truce"] and trade["stopped_alerts"] == ["steel"] and trade["changed_on_web"]
    assert editor["state"] == "unsubscribed" and editor["unsubscribed_at"]
    assert policy["state"] == "subscribed" and policy["changed_on_web"] is None
    table = subprocess.run([sys.executable, "-m", "newsbrief.cli", "subscribers"], env=env, capture_output=True,
                           text=True, check=True, timeout=120).stdout
    assert "editor@example.org  unsubscribed" in table and "stopped: steel" in table
    assert Path(settings.store_url.removeprefix("sqlite:///")).exists()


def test_search_filters_by_publication_day(site):
    client, *_ = site
    day = {"q": "steel", "since": "2026-12-01", "until": "2026-12-01"}
    api = client.get("/api/v1/search", params=day).json()
    assert api["total"] == 10  # stories 0-9 were published on 1 December (09:00 back to 00:00), 10-11 the day before
    older = client.get("/api/v1/search", params={"q": "steel", "until": "2026-11-30"}).json()
    assert sorted(h["title"] for h in older["hits"]) == ["Steel tariff story 10", "Steel tariff story 11"]
    assert "10 articles" in client.get("/search", params=day).text
    assert "12 articles" in client.get("/search", params={"q": "steel", "since": "", "until": ""}).text
    bad = client.get("/search", params={"q": "steel", "since": "2026-02-31"})
    assert bad.status_code == 422 and "since" in bad.text
    assert "until" in client.get("/api/v1/search", params={"q": "x", "until": "soon"}).json()["detail"][0]


def test_no_page_lets_a_feeds_script_through(site):
    client, store, settings, bad_id = site
    for path in ("/", "/topics", "/topics/ceasefire", f"/articles/{bad_id}", "/search?q=tariffs",
                 "/search?q=ceasefire", "/feeds"):
        body = client.get(path).text
        assert "<script>" not in body and "<img src=x" not in body, path
    assert "&lt;script&gt;" in client.get("/search?q=ceasefire").text


def test_a_combined_alert_email_unsubscribes_from_every_alert_and_keeps_the_digest(site):
    """One email carrying several alerts: its one-click link stops all of that reader's alerts, including one
    added with `newsbrief alerts add`, which the preferences page lists too; the digest goes on."""
    from newsbrief.alerts.delivery import build_alert_message
    from newsbrief.alerts.subscriptions import add_alert

    client, store, settings, _ = site
    links = load_link_settings()
    who = "trade-desk@example.org"
    subscribers = load_subscribers(settings.subscribers_file)
    added = add_alert(store, subscribers, who, "wheat", {"query": "wheat harvest", "frequency": "as_it_happens"})
    prefs = client.get(_path(preferences_url(who, settings=links))).text
    assert "wheat harvest" in prefs and prefs.count("Unsubscribe from this alert") == 3
    declared = [a for s in subscribers for a in s.alerts if a.email == who]
    msg = build_alert_message(declared + [added], "<m@example.org>", "subject", "text", "<p>html</p>",
                              sender="newsbrief@example.org", date=datetime(2026, 12, 2, 9, tzinfo=UTC))
    link = msg["List-Unsubscribe"].split(">")[0].lstrip("<")
    answer = client.post(_path(link), data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert answer.status_code == 200 and "no more alert emails" in answer.text and "digests go on" in answer.text
    assert active_alerts(store, declared + [added]) == []
    from newsbrief.digest.preferences import preferences

    assert preferences(store)[who].unsubscribed_at is None


def test_a_reader_adds_and_removes_an_alert_on_the_preferences_page(site):
    """The preferences page manages alerts like `newsbrief alerts add|remove`: an added alert is listed and runs;
    a bad query is refused with the position and nothing stored; a declared alert cannot be removed there."""
    from newsbrief.alerts.subscriptions import active_alerts as running

    client, store, settings, _ = site
    links = load_link_settings()
    who = "trade-desk@example.org"
    prefs = _path(preferences_url(who, settings=links))
    bad = client.post(prefs + "/alerts/new", data={"id": "wheat", "query": '"wheat harvest', "frequency": "daily"})
    assert bad.status_code == 422 and "The alert was not added" in bad.text and "position" in bad.text
    added = client.post(prefs + "/alerts/new", data={"id": "wheat", "query": "wheat harvest", "frequency": "daily",
                                                     "hour": "6", "timezone": "Europe/Paris", "alert_topics": ["economy"]})
    assert added.status_code == 200 and "alert &#39;wheat&#39; added" in added.text and "wheat harvest" in added.text
    subscribers = load_subscribers(settings.subscribers_file)
    wheat = next(a.alert for a in running(store, subscribers) if a.alert.id == "wheat")
    assert (wheat.frequency, wheat.hour, wheat.timezone, wheat.topics) == ("daily", 6, "Europe/Paris", ("economy",))
    assert client.post(prefs + "/alerts/remove", data={"alert": "steel"}).status_code == 404
    gone = client.post(prefs + "/alerts/remove", data={"alert": "wheat"})
    assert gone.status_code == 200 and "removed" in gone.text
    assert "wheat" not in [a.alert.id for a in running(store, subscribers)]
