"""Alert emails through the real channels: a loopback SMTP server (aiosmtpd) and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsbrief.alerts import ledger
from newsbrief.alerts.delivery import run_alerts
from newsbrief.alerts.query import parse
from newsbrief.alerts.spec import Alert
from newsbrief.orchestration.glue import SmtpTarget
from newsbrief.store.engine import open_store
from newsbrief.store.schema import Article, Tag
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # a Friday


@pytest.fixture()
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.dispose()


def add(store, n, title, at, tags=()):
    with store.session() as s:
        s.add(Article(id=n, content_hash=f"h{n}", url=f"http://news.example/{n}", source_kind="feed",
                      source="Wire", origin="http://news.example/feed", title=title, text="Body text here.",
                      ingested_at=at))
        for t in tags:
            s.add(Tag(article_id=n, tag=t, label=t.title(), score=20.0))


def run(store, alerts, end, tmp_path, target=None, freq=("as_it_happens",)):
    return run_alerts(store, alerts, start=end - timedelta(minutes=5), end=end, templates_dir=ROOT / "templates",
                      outbox_dir=tmp_path / "outbox", target=target, frequencies=freq)


def test_as_it_happens_sends_once_over_smtp_with_unsubscribe_headers(store, tmp_path, smtp_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json())
    target = SmtpTarget("smtp_default", smtp_server.host, smtp_server.port, "newsbrief@localhost")
    alert = Alert(id="steel", email="trade@example.org", query=parse("tariff steel"))
    add(store, 1, "US raises tariffs on steel", T0 - timedelta(minutes=2))
    add(store, 2, "Wheat harvest", T0 - timedelta(minutes=2))
    assert run(store, [alert], T0, tmp_path, target).sent == ["trade@example.org/steel: 1 items"]
    assert run(store, [alert], T0 + timedelta(minutes=20), tmp_path, target).sent == []
    (msg,) = smtp_server.received.messages
    assert msg["Subject"] == 'newsbrief alert "steel": 1 new item'
    assert "List-Unsubscribe" in msg and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    assert "US raises tariffs on steel" in text and "Wheat" not in text and "Unsubscribe from this alert" in text
    atom = (tmp_path / "outbox" / "alerts" / "trade@example.org" / "steel.atom").read_text()
    assert "US raises tariffs on steel" in atom


def test_min_interval_batches_and_quiet_hours_wait(store, tmp_path):
    alert = Alert(id="steel", email="t@example.org", query=parse("steel"), min_interval_minutes=15)
    add(store, 1, "Steel one", T0 - timedelta(minutes=1))
    assert len(run(store, [alert], T0, tmp_path).sent) == 1
    add(store, 2, "Steel two", T0 + timedelta(minutes=4))
    add(store, 3, "Steel three", T0 + timedelta(minutes=9))
    assert run(store, [alert], T0 + timedelta(minutes=10), tmp_path).sent == []  # within 15 minutes
    assert run(store, [alert], T0 + timedelta(minutes=20), tmp_path).sent == ["t@example.org/steel: 2 items"]
    quiet = Alert(id="night", email="t@example.org", query=parse("steel"),
                  quiet_hours=(datetime(2026, 1, 1, 7).time(), datetime(2026, 1, 1, 9).time()))
    assert run(store, [quiet], T0 + timedelta(minutes=25), tmp_path).sent == []
    assert run(store, [quiet], T0 + timedelta(hours=1, minutes=5), tmp_path).sent == ["t@example.org/night: 3 items"]


def test_daily_and_weekly_send_once_per_period(store, tmp_path):
    daily = Alert(id="d", email="t@example.org", topics=("tariffs",), frequency="daily", hour=9)
    weekly = Alert(id="w", email="t@example.org", query=parse("steel"), frequency="weekly", day="friday", hour=9)
    add(store, 1, "Steel tariffs", T0 - timedelta(hours=3), tags=["tariffs"])
    add(store, 2, "Steel mills", T0 - timedelta(days=3))
    freq = ("daily", "weekly")
    assert run(store, [daily, weekly], T0, tmp_path, freq=freq).sent == []  # 08:00, not yet 09:00
    nine = T0 + timedelta(hours=1, minutes=2)
    sent = run(store, [daily, weekly], nine, tmp_path, freq=freq).sent
    assert sorted(sent) == ["t@example.org/d: 1 items", "t@example.org/w: 2 items"]
    assert run(store, [daily, weekly], nine, tmp_path, freq=freq).sent == []  # the same interval again
    assert run(store, [daily, weekly], nine + timedelta(hours=1), tmp_path, freq=freq).sent == []


def test_the_cap_limits_an_email_and_what_it_left_out_never_comes_back(store, tmp_path):
    alert = Alert(id="steel", email="t@example.org", query=parse("steel"), cap=2, min_interval_minutes=0)
    for n in range(1, 6):
        add(store, n, f"Steel story {n}", T0 - timedelta(minutes=10 - n))
    assert run(store, [alert], T0, tmp_path).sent == ["t@example.org/steel: 2 items"]
    (eml,) = (tmp_path / "outbox" / "alerts" / "t@example.org").glob("*.eml")
    body = eml.read_text()
    assert "Steel story 5" in body and "Steel story 4" in body and "Steel story 3" not in body
    assert "3 more matches were left out (this alert lists at most 2 an email)" in body
    add(store, 6, "Steel story 6", T0 + timedelta(minutes=1))
    assert run(store, [alert], T0 + timedelta(minutes=2), tmp_path).sent == ["t@example.org/steel: 1 items"]


def test_a_failed_send_leaves_the_other_alerts_going_and_is_resent_by_the_next_run(store, tmp_path, smtp_server,
                                                                                   monkeypatch):
    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json().replace(str(smtp_server.port), str(port)))
    dead = SmtpTarget("smtp_default", "127.0.0.1", port, "newsbrief@localhost")
    a = Alert(id="a", email="a@example.org", query=parse("steel"))
    b = Alert(id="b", email="b@example.org", query=parse("steel"))
    add(store, 1, "Steel one", T0 - timedelta(minutes=1))
    report = run(store, [a, b], T0, tmp_path, dead)
    assert report.sent == [] and sorted(report.failed) == ["a@example.org/a", "b@example.org/b"]
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json())
    live = SmtpTarget("smtp_default", smtp_server.host, smtp_server.port, "newsbrief@localhost")
    retry = run(store, [a, b], T0 + timedelta(minutes=1), tmp_path, live)
    assert sorted(retry.sent) == ["a@example.org/a: 1 items", "b@example.org/b: 1 items"]
    resent = {m["Message-ID"] for m in smtp_server.received.messages}
    assert resent == {ledger.message_id(x.email, f"asap:{T0.isoformat()}") for x in (a, b)}, "the failed batch itself"
    assert run(store, [a, b], T0 + timedelta(minutes=30), tmp_path, live).sent == []


def test_a_subscribers_as_it_happens_alerts_share_one_email_at_most_every_n_minutes(store, tmp_path):
    steel = Alert(id="steel", email="t@example.org", query=parse("steel"), min_interval_minutes=15)
    wheat = Alert(id="wheat", email="t@example.org", query=parse("wheat"), min_interval_minutes=15)
    other = Alert(id="wheat", email="o@example.org", query=parse("wheat"), min_interval_minutes=15)
    add(store, 1, "Steel one", T0 - timedelta(minutes=2))
    add(store, 2, "Wheat one", T0 - timedelta(minutes=1))
    alerts = [steel, wheat, other]
    assert sorted(run(store, alerts, T0, tmp_path).sent) == [
        "o@example.org/wheat: 1 items", "t@example.org/steel: 1 items", "t@example.org/wheat: 1 items"]
    mails = sorted((tmp_path / "outbox" / "alerts" / "t@example.org").glob("*.eml"))
    assert len(mails) == 1, "one email for both of the subscriber's alerts"
    body = mails[0].read_text()
    assert 'Subject: newsbrief alerts: "steel" 1 new, "wheat" 1 new' in body
    assert body.count("Unsubscribe from this alert") == 2 and "X-Newsbrief-Alert: steel, wheat" in body
    add(store, 3, "Wheat two", T0 + timedelta(minutes=3))
    add(store, 4, "Steel two", T0 + timedelta(minutes=8))
    assert run(store, alerts, T0 + timedelta(minutes=10), tmp_path).sent == []  # the subscriber's 15 minutes
    assert sorted(run(store, alerts, T0 + timedelta(minutes=16), tmp_path).sent) == [
        "o@example.org/wheat: 1 items", "t@example.org/steel: 1 items", "t@example.org/wheat: 1 items"]
    assert len(list((tmp_path / "outbox" / "alerts" / "t@example.org").glob("*.eml"))) == 2
    assert len(list((tmp_path / "outbox" / "alerts" / "o@example.org").glob("*.eml"))) == 2
