"""The deliver task under a real loopback SMTP server that refuses or defers one recipient.

A permanent refusal (5xx) is recorded as rejected and reported, and the task succeeds even with no
retries left; a temporary one (4xx) fails the attempt so that Airflow's retry sends it, once.
"""

from __future__ import annotations

import json

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from newsbrief.config.settings import load_settings
from newsbrief.store import Delivery, Problem, Store
from tests.conftest import Received, _Handler, free_port
from tests.e2e.conftest import run_dag

pytestmark = pytest.mark.e2e

SUBSCRIBERS = """\
subscribers:
  - email: desk@example.org
    topics: [ceasefire]
  - email: {other}
    topics: [ceasefire]
"""


class Refusing(_Handler):
    """550 for bad@ always; 451 for temp@ the first time only."""

    def __init__(self, received):
        super().__init__(received)
        self.deferred = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bad@"):
            return "550 5.1.1 no such user here"
        if address.startswith("temp@") and not self.deferred:
            self.deferred += 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_smtp():
    received = Received()
    port = free_port()
    handler = Refusing(received)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    conn = json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
        "disable_ssl": True, "disable_tls": True, "from_email": "newsbrief@localhost", "timeout": 10,
        "retry_limit": 0}})
    try:
        yield conn, received, handler
    finally:
        controller.stop()


def ledger() -> dict[str, str]:
    store = Store(load_settings().store_url)
    try:
        with store.session() as s:
            return {d.recipient: d.status for d in s.execute(select(Delivery)).scalars()}
    finally:
        store.dispose()


def test_a_permanent_refusal_is_reported_and_the_task_succeeds_without_retries(dag_env, project, refusing_smtp):
    conn, received, _ = refusing_smtp
    (project / "config" / "subscribers.yaml").write_text(SUBSCRIBERS.format(other="bad@example.org"))
    env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=conn, NEWSBRIEF_TASK_RETRIES="0")
    proc = run_dag(env, "seed_digest")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert [m["X-Envelope-To"] for m in received.messages] == ["desk@example.org"]
    assert "1 rejected" in proc.stdout and "bad@example.org" in proc.stdout and "550" in proc.stdout
    assert ledger() == {"desk@example.org": "sent", "bad@example.org": "rejected"}
    store = Store(load_settings().store_url)
    with store.session() as s:
        (problem,) = s.execute(select(Problem).where(Problem.stage == "delivery")).scalars()
    store.dispose()
    assert problem.source == "bad@example.org" and "not retried" in problem.reason


def test_a_temporary_refusal_fails_the_attempt_and_the_retry_sends_it_once(dag_env, project, refusing_smtp):
    conn, received, handler = refusing_smtp
    (project / "config" / "subscribers.yaml").write_text(SUBSCRIBERS.format(other="temp@example.org"))
    env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=conn, NEWSBRIEF_TASK_RETRIES="1")
    proc = run_dag(env, "seed_digest")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert handler.deferred == 1
    assert sorted(m["X-Envelope-To"] for m in received.messages) == ["desk@example.org", "temp@example.org"]
    assert "451" in proc.stdout
    assert ledger() == {"desk@example.org": "sent", "temp@example.org": "sent"}
