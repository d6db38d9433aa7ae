"""Delivery: outbox files, a real loopback SMTP server, the ledger (nothing twice), failures recorded."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from newsbrief.digest.delivery import build_message, deliver_digests
from newsbrief.digest.render import message_id
from newsbrief.orchestration.glue import SmtpTarget
from newsbrief.store import Delivery, Digest, Store
from tests.conftest import free_port

RUN = "seed_digest/manual__test"


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.dispose()


def add_digests(store, recipients, *, html="<p>Trade &amp; tariffs</p>"):
    ids = []
    with store.session() as s:
        for r in recipients:
            d = Digest(run_key=RUN, recipient=r, recipient_name=r.split("@")[0].title(),
                       subject="newsbrief: 1 story on Tariffs & trade (test)",
                       html=html, text="Trade & tariffs\n",
                       article_ids=[1], message_id=message_id(RUN, r), created_at=datetime.now(UTC))
            s.add(d)
            s.flush()
            ids.append(d.id)
    return ids


def ledger(store):
    with store.session() as s:
        return {d.recipient: (d.status, d.attempts) for d in s.execute(select(Delivery)).scalars()}


def test_message_is_multipart_alternative_with_stable_id(store):
    (digest_id,) = add_digests(store, ["a@example.org"])
    with store.session() as s:
        msg = build_message(s.get(Digest, digest_id), "newsbrief@localhost")
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"] == message_id(RUN, "a@example.org") == message_id(RUN, "A@example.org")
    assert message_id(RUN, "a@example.org") != message_id(RUN + "x", "a@example.org")


def test_outbox_then_nothing_twice(store, tmp_path):
    ids = add_digests(store, ["a@example.org", "b@example.org"])
    first = deliver_digests(store, ids, outbox_dir=tmp_path / "outbox", target=None)
    assert sorted(first.sent) == ["a@example.org", "b@example.org"]
    emls = sorted((tmp_path / "outbox").rglob("*.eml"))
    assert [p.name for p in emls] == ["a@example.org.eml", "b@example.org.eml"]
    assert all(p.with_suffix(".html").exists() for p in emls)
    again = deliver_digests(store, ids, outbox_dir=tmp_path / "outbox", target=None)
    assert again.sent == [] and sorted(again.skipped) == ["a@example.org", "b@example.org"]
    assert ledger(store) == {"a@example.org": ("sent", 1), "b@example.org": ("sent", 1)}


def test_real_smtp_and_retry_sends_once(store, tmp_path, smtp_server, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json())
    target = SmtpTarget("smtp_default", smtp_server.host, smtp_server.port, "newsbrief@localhost")
    html = "<p>Trade &amp; tariffs</p>\n" + "<p>A long paragraph of a real digest.</p>\n" * 200
    ids = add_digests(store, ["a@example.org", "b@example.org"], html=html)
    report = deliver_digests(store, ids, outbox_dir=tmp_path, target=target)
    assert sorted(report.sent) == ["a@example.org", "b@example.org"], report.failed
    deliver_digests(store, ids, outbox_dir=tmp_path, target=target)
    got = smtp_server.received.messages
    assert len(got) == 2
    assert {m["Message-ID"] for m in got} == {message_id(RUN, "a@example.org"), message_id(RUN, "b@example.org")}
    assert got[0]["Subject"] == "newsbrief: 1 story on Tariffs & trade (test)"
    assert got[0].get_body(("html",)).get_content().replace("\r\n", "\n") == html


def test_unreachable_smtp_is_named_recorded_and_kept(store, tmp_path, monkeypatch):
    port = free_port()
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": {
        "disable_ssl": True, "disable_tls": True, "from_email": "nb@localhost", "timeout": 2, "retry_limit": 0}}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    target = SmtpTarget("smtp_default", "127.0.0.1", port, "nb@localhost")
    ids = add_digests(store, ["a@example.org", "b@example.org"])
    report = deliver_digests(store, ids, outbox_dir=tmp_path / "outbox", target=target)
    assert report.sent == [] and set(report.failed) == {"a@example.org", "b@example.org"}
    reason = report.failed["a@example.org"]
    assert f"127.0.0.1:{port}" in reason and "NEWSBRIEF_DELIVERY=outbox" in reason
    assert ledger(store) == {"a@example.org": ("failed", 1), "b@example.org": ("failed", 1)}
    kept = sorted(p.name for p in (tmp_path / "outbox").rglob("failed/*.eml"))
    assert kept == ["a@example.org.eml", "b@example.org.eml"]


def test_one_failing_recipient_does_not_stop_the_others(store, tmp_path, smtp_server, monkeypatch):
    class Refuse:
        def __init__(self, received):
            self.received = received

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("bad"):
                return "550 no such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    from tests.conftest import _Handler

    class Handler(Refuse, _Handler):
        pass

    from aiosmtpd.controller import Controller

    from tests.conftest import Received

    received = Received()
    port = free_port()
    controller = Controller(Handler(received), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_server.conn_json().replace(str(smtp_server.port), str(port)))
        target = SmtpTarget("smtp_default", "127.0.0.1", port, "newsbrief@localhost")
        ids = add_digests(store, ["a@example.org", "bad@example.org", "c@example.org"])
        report = deliver_digests(store, ids, outbox_dir=tmp_path, target=target)
    finally:
        controller.stop()
    assert sorted(report.sent) == ["a@example.org", "c@example.org"]
    assert "550" in report.failed["bad@example.org"]
    assert len(received.messages) == 2
    assert ledger(store)["bad@example.org"] == ("rejected", 1), "a 550 is permanent: recorded, never retried"


def test_a_crashed_send_is_retried_after_its_lease_with_the_same_id(store, tmp_path):
    (digest_id,) = add_digests(store, ["a@example.org"])
    with store.session() as s:
        s.add(Delivery(digest_id=digest_id, recipient="a@example.org", message_id=message_id(RUN, "a@example.org"),
                       channel="", status="sending", attempts=1,
                       updated_at=datetime.now(UTC) - timedelta(seconds=600)))
    report = deliver_digests(store, [digest_id], outbox_dir=tmp_path, target=None, lease_seconds=60)
    assert report.sent == ["a@example.org"]
    assert ledger(store) == {"a@example.org": ("sent", 2)}


def test_a_long_subject_survives_the_wire(store, tmp_path):
    import email
    import email.policy

    (digest_id,) = add_digests(store, ["a@example.org"])
    long_subject = "newsbrief: 3 stories on Ceasefire & peace talks, Tariffs & trade (Seed digest, 25 Nov 2026 07:00 UTC)"
    with store.session() as s:
        s.get(Digest, digest_id).subject = long_subject
    deliver_digests(store, [digest_id], outbox_dir=tmp_path, target=None)
    (eml,) = tmp_path.rglob("*.eml")
    parsed = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == long_subject
    assert all(len(line) <= 998 for line in eml.read_bytes().split(b"\r\n"))
