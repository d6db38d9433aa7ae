"""The store's PostgreSQL restarted in the middle of a digest run (issue 12's store fault).

The real seed_digest DAG runs with `airflow dags test` against a private PostgreSQL cluster (initdb in
a temp folder, its own port) and a loopback SMTP server. When the first digest has been handed to the
SMTP server, the handler stops PostgreSQL (fast shutdown, which cuts the task's connections) and
accepts the message while the store is down; the server is started again a few seconds later. That is
the worst moment for the ledger: the mail is out, and the row saying so cannot be written yet. The
run must still end in success, every subscriber with exactly one copy and the ledger saying `sent`.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from newsbrief.store import Delivery, Digest, Store
from tests.conftest import Received, _Handler, free_port
from tests.e2e.conftest import run_dag
from tests.store.private_postgres import PrivatePostgres, private_postgres

pytestmark = pytest.mark.e2e

RECIPIENTS = ["a@example.org", "b@example.org", "c@example.org"]
SUBSCRIBERS = "subscribers:\n" + "".join(f"  - email: {r}\n    topics: [ceasefire]\n" for r in RECIPIENTS)
DOWNTIME = 4.0


class RestartsTheStore(_Handler):
    """Accepts every message; on the first, stops PostgreSQL before answering and restarts it later."""

    def __init__(self, received: Received, cluster: PrivatePostgres):
        super().__init__(received)
        self.cluster = cluster
        self.restarter: threading.Thread | None = None
        self.down_at: float | None = None
        self.up_at: float | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.restarter is None:
            self.cluster.stop()
            self.down_at = time.monotonic()
            self.restarter = threading.Thread(target=self._start_later, daemon=True)
            self.restarter.start()
        return await super().handle_DATA(server, session, envelope)

    def _start_later(self) -> None:
        time.sleep(DOWNTIME)
        self.cluster.start()
        self.cluster.restarts += 1
        self.up_at = time.monotonic()


@pytest.fixture
def cluster():
    with private_postgres() as pg:
        yield pg


def test_store_restarted_during_delivery_loses_nothing_and_sends_nothing_twice(dag_env, project, cluster):
    store_url = cluster.create_database("newsbrief")
    received = Received()
    handler = RestartsTheStore(received, cluster)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (project / "config" / "subscribers.yaml").write_text(SUBSCRIBERS)
        conn = json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
            "disable_ssl": True, "disable_tls": True, "from_email": "newsbrief@localhost", "timeout": 10,
            "retry_limit": 0}})
        # A task retry that comes after the store is back, and a short send lease, so that a row left
        # `sending` by a lost ledger write is taken over within this run (the default lease is two minutes).
        env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=conn, NEWSBRIEF_STORE_URL=store_url, NEWSBRIEF_TASK_RETRIES="2",
                   NEWSBRIEF_RETRY_DELAY_SECONDS=str(DOWNTIME + 2), NEWSBRIEF_SEND_LEASE_SECONDS="5")
        started = time.monotonic()
        proc = run_dag(env, "seed_digest", timeout=400)
        elapsed = time.monotonic() - started
        if handler.restarter is not None:
            handler.restarter.join(DOWNTIME + 40)
    finally:
        controller.stop()

    assert handler.down_at is not None, "no digest reached the SMTP server, so the store was never restarted"
    assert cluster.restarts == 1 and handler.up_at is not None, cluster.tail()
    assert proc.returncode == 0, proc.stdout[-6000:]
    per_recipient = {r: [m["Message-ID"] for m in received.messages if m["X-Envelope-To"] == r] for r in RECIPIENTS}
    assert {r: len(ids) for r, ids in per_recipient.items()} == dict.fromkeys(RECIPIENTS, 1), \
        f"copies per recipient after a store restart: {per_recipient}"
    assert len(received.messages) == len(RECIPIENTS)
    assert len({m["Message-ID"] for m in received.messages}) == len(RECIPIENTS)
    assert "is unreachable while recording digest" in proc.stdout, "the outage did not fall on the ledger write"

    store = Store(store_url)
    try:
        with store.session() as s:
            rows = s.execute(select(Digest.recipient, Digest.message_id, Delivery.status, Delivery.attempts)
                             .join(Delivery, Delivery.digest_id == Digest.id)).all()
    finally:
        store.dispose()
    assert sorted(r.recipient for r in rows) == RECIPIENTS
    assert {r.recipient: r.status for r in rows} == dict.fromkeys(RECIPIENTS, "sent"), rows
    assert {r.recipient: r.message_id for r in rows} == {r: ids[0] for r, ids in per_recipient.items()}
    print(f"seed_digest with a {DOWNTIME:.0f} s store outage during delivery: {elapsed:.1f} s")
