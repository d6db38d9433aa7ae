"""Fault suite for delivery: a real aiosmtpd server on loopback that drops, defers, refuses or is down.

Afterwards every subscriber has exactly one copy (counted at the server), with its original Message-ID,
and the permanent refusal is recorded, reported and never retried.
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from newsbrief.cli import main as cli_main
from newsbrief.config.settings import load_settings
from newsbrief.digest.delivery import deliver_digests, redeliver_failed
from newsbrief.digest.render import message_id
from newsbrief.orchestration.glue import SmtpTarget
from newsbrief.store import Delivery, Problem, Store
from tests.conftest import Received, _Handler, free_port
from tests.digest.test_delivery import RUN, add_digests, ledger


class Faulty(_Handler):
    """Drops the connection during DATA for drop@ (once), defers temp@ (once), refuses bad@ always."""

    def __init__(self, received):
        super().__init__(received)
        self.dropped = self.deferred = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bad@"):
            return "550 5.1.1 no such user here"
        if address.startswith("temp@") and not self.deferred:
            self.deferred = True
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos[0].startswith("drop@") and not self.dropped:
            self.dropped = True
            server.transport.abort()
            return "421 gone"
        return await super().handle_DATA(server, session, envelope)


def conn(port):
    return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
        "disable_ssl": True, "disable_tls": True, "from_email": "nb@localhost", "timeout": 5, "retry_limit": 0}})


@pytest.fixture
def env(project, monkeypatch):
    port = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn(port))
    monkeypatch.setenv("NEWSBRIEF_DELIVERY", "smtp")
    settings = load_settings()
    store = Store(settings.store_url)
    yield settings, store, port, SmtpTarget("smtp_default", "127.0.0.1", port, "nb@localhost")
    store.dispose()


def start(handler, port):
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def copies(received, address):
    return [m["Message-ID"] for m in received.to(address)]


def test_drop_451_and_550_end_with_exactly_one_copy_each(env, tmp_path, caplog):
    settings, store, port, target = env
    people = ["a@example.org", "drop@example.org", "temp@example.org", "bad@example.org", "z@example.org"]
    ids = add_digests(store, people)
    received = Received()
    controller = start(Faulty(received), port)
    try:
        first = deliver_digests(store, ids, outbox_dir=settings.outbox_dir, target=target)
        assert sorted(first.sent) == ["a@example.org", "z@example.org"], first.failed
        assert "please run connect() first" not in json.dumps(first.failed)
        drop = first.failed["drop@example.org"]
        assert f"127.0.0.1:{port}" in drop and "drop@example.org" in drop and "next recipient" in drop
        temp = first.failed["temp@example.org"]
        assert "451" in temp and "try again later" in temp and "temp@example.org" in temp
        bad = first.failed["bad@example.org"]
        assert "550" in bad and "permanently" in bad and "subscribers.yaml" in bad
        assert set(first.rejected) == {"bad@example.org"}
        assert ledger(store)["bad@example.org"] == ("rejected", 1)

        again = redeliver_failed(store, settings, now=datetime.now(UTC))
        assert sorted(again.sent) == ["drop@example.org", "temp@example.org"], again.failed
        assert redeliver_failed(store, settings, now=datetime.now(UTC)).sent == []
    finally:
        controller.stop()
    for person in people:
        expected = [] if person.startswith("bad@") else [message_id(RUN, person)]
        assert copies(received, person) == expected, person
    status = {r: s for r, (s, _) in ledger(store).items()}
    assert status == {p: "rejected" if p.startswith("bad@") else "sent" for p in people}
    with store.session() as s:
        (problem,) = s.execute(select(Problem).where(Problem.stage == "delivery")).scalars()
    assert problem.source == "bad@example.org" and "550" in problem.reason


def test_server_down_for_a_whole_run_then_up(env, capsys):
    settings, store, port, target = env
    people = ["a@example.org", "b@example.org"]
    ids = add_digests(store, people)
    down = deliver_digests(store, ids, outbox_dir=settings.outbox_dir, target=target)
    assert down.sent == [] and set(down.failed) == set(people) and not down.rejected
    assert "retried by later runs" in down.failed["a@example.org"]
    assert cli_main(["deliveries", "--failed"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {(r["recipient"], r["status"]) for r in listed} == {(p, "failed") for p in people}
    received = Received()
    controller = start(_Handler(received), port)
    try:
        assert cli_main(["redeliver", RUN]) == 0
        redeliver_failed(store, settings, now=datetime.now(UTC))
    finally:
        controller.stop()
    for person in people:
        assert copies(received, person) == [message_id(RUN, person)]
    assert ledger(store) == {p: ("sent", 2) for p in people}


def test_too_old_failures_expire_and_are_reported(env):
    settings, store, port, target = env
    ids = add_digests(store, ["a@example.org"])
    deliver_digests(store, ids, outbox_dir=settings.outbox_dir, target=target)
    received = Received()
    controller = start(_Handler(received), port)
    try:
        late = redeliver_failed(store, settings, now=datetime.now(UTC) + timedelta(days=4))
    finally:
        controller.stop()
    assert late.sent == [] and received.messages == []
    assert ledger(store) == {"a@example.org": ("expired", 1)}
    with store.session() as s:
        reasons = list(s.execute(select(Problem.reason).where(Problem.stage == "delivery")).scalars())
        assert any("not delivered within 3 days" in r for r in reasons)
        assert s.execute(select(Delivery.status)).scalar_one() == "expired"
