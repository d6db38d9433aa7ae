"""An `as_it_happens` alert on the Celery topology, started by the scheduler itself: `ingest_feeds` runs
every minute against a loopback feed, publishes the `newsbrief://articles` asset, and the asset triggers
`alerts_as_it_happens`. Measured: from the feed first serving a matching item to the alert email
arriving at the loopback SMTP server (target under 60 s; asserted under 120 s, the machine is shared).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

import httpx
import pytest
import sqlalchemy as sa

from tests.http_server import LocalServer
from tests.integration.conftest import ALERT_READER, ALERT_WORD, FEED_PATH
from tests.integration.topology import SmtpSink, Topology

pytestmark = pytest.mark.integration

INGEST, ALERTS = "ingest_feeds", "alerts_as_it_happens"
CALM = ("Harbour board approves new ferry timetable",
        "The harbour board approved a new winter ferry timetable on Tuesday after a public consultation. "
        "Crossings will run every forty minutes at peak times. The board said ticket prices stay the same.")
THAW = (f"Arctic {ALERT_WORD} thaw speeds up, researchers say",
        f"Researchers measured a faster {ALERT_WORD} thaw across the Arctic this summer than in any year on record. "
        "Thawing ground releases methane and damages roads and pipelines. The team will publish its data next month.")


class Wire:
    """The loopback feed: RSS built from the current items on every request, no validators (every fetch
    is a full 200), and the moment each item was first served."""

    def __init__(self, server: LocalServer) -> None:
        self.server, self.items, self.first_served = server, [CALM], {}
        self.lock = threading.Lock()
        server.add_handler(FEED_PATH, self.handle)

    def add(self, item: tuple[str, str]) -> None:
        with self.lock:
            self.items.insert(0, item)

    def handle(self, handler) -> None:
        with self.lock:
            items = list(self.items)
        now = datetime.now(UTC)
        entries = "".join(
            f"<item><title>{escape(title)}</title><link>{self.server.url(f'/story/{n}')}</link>"
            f"<guid>{self.server.url(f'/story/{n}')}</guid><pubDate>{format_datetime(now)}</pubDate>"
            f"<description>{escape(text)}</description></item>"
            for n, (title, text) in enumerate(reversed(items)))
        body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Loopback Wire</title>'
                f"<link>{self.server.base}/</link><description>test wire</description>{entries}</channel></rss>").encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        served = time.monotonic()
        with self.lock:
            for title, _ in items:
                self.first_served.setdefault(title, served)


def runs(topology: Topology, dag_id: str) -> list[dict]:
    return topology.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]


def stored(store: sa.Engine, title: str) -> bool:
    with store.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM articles WHERE title = :t"), {"t": title}).scalar_one() > 0


def test_a_matching_feed_item_reaches_the_alert_subscriber_within_one_ingest_cycle(
        topology: Topology, smtp_sink: SmtpSink, feed_server: LocalServer, store: sa.Engine):
    wire = Wire(feed_server)
    for dag_id in (INGEST, ALERTS):
        topology.wait_for_dag(dag_id)
    try:
        topology.api("PATCH", f"/dags/{ALERTS}", json={"is_paused": False})
        topology.api("PATCH", f"/dags/{INGEST}", json={"is_paused": False})

        def baseline() -> bool:
            """The first scheduled ingest stored the calm item and the alerts run it triggered finished."""
            done = [r for r in runs(topology, ALERTS) if r["state"] in ("success", "failed")]
            return stored(store, CALM[0]) and bool(done)

        topology.wait_until("a first ingest and the alerts run it triggers", baseline, timeout=240, interval=1)
        assert smtp_sink.to(ALERT_READER) == [], "an alert was sent for an item that does not match"

        added = time.monotonic()
        wire.add(THAW)
        (received,) = topology.wait_until(f"the alert email to {ALERT_READER}", lambda: smtp_sink.to(ALERT_READER),
                                          timeout=300, interval=0.2)
        served = wire.first_served[THAW[0]]
        latency = received.at - served
        print(f"alert latency: {latency:.1f} s from the feed serving the item to the email at the SMTP server "
              f"(target < 60 s); {received.at - added:.1f} s from adding it to the feed, which includes the wait "
              f"for the next one-minute ingest")
        assert latency < 120, f"the alert took {latency:.1f} s after the feed served the item"

        message = received.message
        assert '"thaw"' in message["Subject"] and "1 new item" in message["Subject"]
        assert THAW[0] in message.get_body(preferencelist=("plain",)).get_content()
        triggered = runs(topology, ALERTS)
        assert triggered and {r["run_type"] for r in triggered} == {"asset_triggered"}, \
            "the alerts DAG must be started by the scheduler from the asset, never by hand"
        assert all(r["state"] != "failed" for r in triggered)

        unsubscribe = message["List-Unsubscribe"].split(",")[0].strip().strip("<>")
        assert unsubscribe.startswith(topology.env["NEWSBRIEF_PUBLIC_URL"] + "/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        one_click = httpx.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, timeout=30,
                               follow_redirects=False)
        assert one_click.status_code == 200, f"RFC 8058 one-click through Airflow's api-server: {one_click.status_code}"

        time.sleep(5)
        assert len(smtp_sink.to(ALERT_READER)) == 1, "the alert was sent more than once"
    finally:
        for dag_id in (INGEST, ALERTS):
            topology.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
