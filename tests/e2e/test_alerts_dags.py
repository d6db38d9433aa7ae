"""ingest_feeds -> alerts_as_it_happens / alerts_scheduled -> daily_digest end to end with `airflow dags test`:
a feed on a loopback server gains items, a real SMTP server (aiosmtpd) on loopback receives the alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from newsbrief.alerts.spec import DAYS
from tests.e2e.conftest import run_dag
from tests.http_server import LocalServer

pytestmark = pytest.mark.e2e

BEFORE = [("Wheat harvest beats forecasts in Kansas", "Farmers in Kansas brought in a record wheat harvest."),
          ("Local council approves new library", "The council voted to build a library on Main Street.")]
GAINED = [("US raises tariffs on Chinese steel", "Washington imposed new tariffs on steel imports on Tuesday."),
          ("Soybean farmers brace for a wet spring", "Growers fear rain will delay the soybean planting.")]


def rss(items: list[tuple[str, str]], now: datetime) -> str:
    entries = "".join(
        f"<item><title>{title}</title><link>http://news.example/{i}</link><guid>http://news.example/{i}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=30 - i))}</pubDate><description>{text}</description></item>"
        for i, (title, text) in enumerate(items))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback Wire</title>'
            f"<link>http://news.example/</link><description>test</description>{entries}</channel></rss>")


def subscribers(send: datetime) -> str:
    """Alerts due in the hourly interval that ends at `send`: the daily one at its hour in Tokyo."""
    tokyo = (send - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Tokyo"))
    utc = send - timedelta(hours=1)
    return f"""\
subscribers:
  - email: reader@example.org
    alerts:
      - id: steel
        query: 'tariff steel'
        frequency: as_it_happens
        min_interval_minutes: 0
      - id: farm
        query: 'wheat OR soybean'
        frequency: daily
        hour: {tokyo.hour}
        timezone: Asia/Tokyo
      - id: trade-week
        query: 'tariffs OR "wheat harvest"'
        frequency: weekly
        day: {DAYS[utc.weekday()]}
        hour: {utc.hour}
"""


def digest_date(now: datetime) -> datetime:
    """The logical date of the daily digest (07:00 UTC) whose interval holds `now`: it ends there."""
    end = now.replace(hour=7, minute=0, second=0, microsecond=0)
    return end if now < end else end + timedelta(days=1)


def _alerts(smtp_server, alert_id: str) -> list:
    return [m for m in smtp_server.received.messages if m["X-Newsbrief-Alert"] == alert_id]


def test_a_new_matching_item_is_alerted_once_and_daily_weekly_aggregate_once(dag_env, project, smtp_server):
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    send = hour + timedelta(hours=2)  # the end of the scheduled interval in which daily and weekly are due
    (project / "config" / "subscribers.yaml").write_text(subscribers(send))
    for seed in (project / "seeds").iterdir():
        seed.unlink()
    env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.conn_json(), NEWSBRIEF_FETCH_ALLOW="127.0.0.1")
    with LocalServer() as server:
        url = server.add("/wire.xml", rss(BEFORE, now), headers={"Content-Type": "application/rss+xml"})
        (project / "config" / "feeds.yaml").write_text(
            f"feeds:\n  - url: {url}\n    name: Loopback Wire\n    fetch_pages: false\n")
        first = run_dag(env, "ingest_feeds", logical_date=(hour - timedelta(hours=2)).isoformat())
        assert first.returncode == 0, first.stdout[-6000:]
        quiet = run_dag(env, "alerts_as_it_happens")
        assert quiet.returncode == 0, quiet.stdout[-6000:]
        assert smtp_server.received.messages == [], "nothing matched the as_it_happens alert yet"

        server.add("/wire.xml", rss(BEFORE + GAINED, now), headers={"Content-Type": "application/rss+xml"})
        second = run_dag(env, "ingest_feeds", logical_date=(hour - timedelta(hours=1)).isoformat())
        assert second.returncode == 0, second.stdout[-6000:]

    alerted = run_dag(env, "alerts_as_it_happens")
    assert alerted.returncode == 0, alerted.stdout[-6000:]
    (msg,) = smtp_server.received.messages
    assert msg["Subject"] == 'newsbrief alert "steel": 1 new item'
    assert msg["List-Unsubscribe"] and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = msg.get_body(("plain",)).get_content()
    assert "US raises tariffs on Chinese steel" in text and "http://news.example/2" in text
    assert "Wheat" not in text and "Unsubscribe from this alert" in text and "Unsubscribe from everything" in text
    assert "US raises tariffs on Chinese steel" in msg.get_body(("html",)).get_content()
    atom = project / "outbox" / "alerts" / "reader@example.org" / "steel.atom"
    assert "US raises tariffs on Chinese steel" in atom.read_text()

    again = run_dag(env, "alerts_as_it_happens")
    assert again.returncode == 0, again.stdout[-6000:]
    assert len(smtp_server.received.messages) == 1, "a second run sends nothing new"

    early = run_dag(env, "alerts_scheduled", logical_date=(send - timedelta(hours=1)).isoformat())
    assert early.returncode == 0, early.stdout[-6000:]
    assert len(smtp_server.received.messages) == 1, "daily and weekly wait for their hour"
    for _ in range(2):  # the due interval, and the same interval re-run
        due = run_dag(env, "alerts_scheduled", logical_date=send.isoformat())
        assert due.returncode == 0, due.stdout[-6000:]
    (farm,) = _alerts(smtp_server, "farm")
    assert farm["Subject"] == 'newsbrief alert "farm": 2 new items'
    farm_text = farm.get_body(("plain",)).get_content()
    assert "Wheat harvest beats forecasts" in farm_text and "Soybean farmers brace" in farm_text
    (week,) = _alerts(smtp_server, "trade-week")
    week_text = week.get_body(("plain",)).get_content()
    assert week["Subject"] == 'newsbrief alert "trade-week": 2 new items'
    assert "Wheat harvest beats forecasts" in week_text and "US raises tariffs on Chinese steel" in week_text
    later = run_dag(env, "alerts_scheduled", logical_date=(send + timedelta(hours=1)).isoformat())
    assert later.returncode == 0, later.stdout[-6000:]
    assert len(smtp_server.received.messages) == 3

    digest = run_dag(env, "daily_digest", logical_date=digest_date(now).isoformat())
    assert digest.returncode == 0, digest.stdout[-6000:]
    (daily,) = smtp_server.received.to("reader@example.org")[3:]
    daily_text = daily.get_body(("plain",)).get_content()
    assert "Local council approves new library" in daily_text
    for title, _ in BEFORE[:1] + GAINED:
        assert title not in daily_text, f"{title!r} was sent in an alert already"
