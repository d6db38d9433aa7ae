"""seed_digest on the distributed topology (CeleryExecutor, Redis broker, Postgres metadata and store),
driven through the REST API as a user would, including the broker restarted during a run and a Celery
worker lost in the middle of delivery.

Run alone with ``pytest -m integration``; the components' log tails are attached to a failure.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.deploy.compose_file import REPO
from tests.integration.conftest import SmtpSink, start_worker
from tests.integration.topology import Topology, compose_environment

pytestmark = pytest.mark.integration

DAG_ID = "seed_digest"
TASKS = ["ingest_seeds", "summarize", "tag", "build_digests", "deliver"]
READERS = ["ana@example.org", "ben@example.org", "chloe@example.org"]
READERS_DURING_FAULT = ["dora@example.org", "emil@example.org", "farah@example.org"]
READERS_DURING_RESTART = ["gus@example.org", "hana@example.org", "ivo@example.org"]


def rows(engine: sa.Engine, sql: str, **params) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(sa.text(sql), params)]


def deliveries(engine: sa.Engine, recipients: list[str]) -> list[dict]:
    try:
        return rows(engine, "SELECT recipient, message_id, status, attempts FROM deliveries "
                            "WHERE recipient = ANY(:recipients) ORDER BY id", recipients=list(recipients))
    except sa.exc.ProgrammingError:  # tables not created yet
        return []


def seed_articles(engine: sa.Engine) -> dict[int, str]:
    return {row["id"]: row["title"] for row in rows(engine, "SELECT id, title FROM articles WHERE source_kind = 'seed'")}


def summaries(engine: sa.Engine) -> dict[int, list[list[str]]]:
    found: dict[int, list[list[str]]] = {}
    for row in rows(engine, "SELECT article_id, text FROM summaries ORDER BY id"):
        found.setdefault(row["article_id"], []).append(row["text"])
    return found


def digests_for(engine: sa.Engine, recipients: list[str]) -> dict[str, dict]:
    found = rows(engine, "SELECT recipient, message_id, article_ids FROM digests WHERE recipient = ANY(:recipients)",
                 recipients=list(recipients))
    return {row["recipient"]: row for row in found}


def plain_text(message) -> str:
    return " ".join(message.get_body(preferencelist=("plain",)).get_content().split())


def assert_one_digest_each(sink: SmtpSink, engine: sa.Engine, recipients: list[str]) -> None:
    """Every recipient got exactly one message, the one the store's digest and ledger name, with every
    stored seed article in it: its title and one of its stored summaries, sentence by sentence."""
    articles = seed_articles(engine)
    summarized = summaries(engine)
    seed_files = [p for p in (REPO / "seeds").iterdir() if p.is_file() and not p.name.startswith(".")]
    assert len(articles) == len(seed_files), f"{len(seed_files)} seed files but {len(articles)} articles stored"
    digests = digests_for(engine, recipients)
    ledger = {row["recipient"]: row for row in deliveries(engine, recipients)}
    for recipient in recipients:
        received = sink.to(recipient)
        assert len(received) == 1, f"{recipient} received {len(received)} digests"
        message = received[0].message
        assert recipient in digests, f"no digest stored for {recipient}"
        assert sorted(digests[recipient]["article_ids"]) == sorted(articles), f"articles missing for {recipient}"
        assert message["Message-ID"] == digests[recipient]["message_id"]
        assert ledger[recipient]["status"] == "sent"
        assert ledger[recipient]["message_id"] == message["Message-ID"]
        assert message["To"].addresses[0].addr_spec == recipient
        assert message["From"].addresses[0].addr_spec == "newsbrief@localhost"
        assert message["Subject"].strip()
        body = plain_text(message)
        for article_id, title in articles.items():
            assert " ".join(title.split()) in body, f"{title!r} not in the digest to {recipient}"
            assert any(all(" ".join(sentence.split()) in body for sentence in summary)
                       for summary in summarized.get(article_id, [])), f"no summary of {title!r} for {recipient}"
    assert sorted(ledger) == sorted(recipients)


def test_seed_digest_runs_on_the_celery_topology(topology: Topology, smtp_sink: SmtpSink, store: sa.Engine):
    assert sorted(topology.env) == sorted(compose_environment()), "components must get the compose keys"
    topology.wait_for_dag(DAG_ID)
    run_id = topology.trigger(DAG_ID, {"recipients": READERS})

    topology.wait_for_run(DAG_ID, run_id, timeout=240)

    tis = topology.task_instances(DAG_ID, run_id)
    assert {task: (tis[task]["state"], tis[task]["try_number"]) for task in TASKS} == {
        task: ("success", 1) for task in TASKS}
    assert_one_digest_each(smtp_sink, store, READERS)


def test_restarting_the_broker_during_a_digest_run_loses_nothing_and_sends_each_digest_once(
        topology: Topology, smtp_sink: SmtpSink, store: sa.Engine):
    """Redis stopped (SIGTERM, as `docker compose restart redis` does) once the run's first task runs, down
    for 3 s, then started again: the worker and the scheduler reconnect and the later tasks go through the
    restarted broker."""
    topology.wait_for_dag(DAG_ID)
    run_id = topology.trigger(DAG_ID, {"recipients": READERS_DURING_RESTART, "force": True})

    def a_task_started() -> bool:
        states = {ti["state"] for ti in topology.task_instances(DAG_ID, run_id).values()}
        return bool(states & {"running", "success"})

    topology.wait_until("the run's first task to start", a_task_started, timeout=120, interval=0.2)
    stopped_at = datetime.now(UTC)
    before, after = topology.restart_redis(downtime=3)
    assert before != after, "redis-server was not restarted"

    topology.wait_for_run(DAG_ID, run_id, timeout=300)

    tis = topology.task_instances(DAG_ID, run_id)
    assert {task: tis[task]["state"] for task in TASKS} == {task: "success" for task in TASKS}
    after_restart = [task for task in TASKS if datetime.fromisoformat(tis[task]["start_date"]) > stopped_at]
    assert after_restart, "every task had started before the broker went down: nothing went through the restart"
    assert_one_digest_each(smtp_sink, store, READERS_DURING_RESTART)
    print(f"broker restart: tasks queued through the restarted Redis: {after_restart}; tries "
          f"{ {task: tis[task]['try_number'] for task in TASKS} }")


def test_losing_the_worker_during_delivery_sends_each_digest_once(
        topology: Topology, smtp_sink: SmtpSink, store: sa.Engine):
    worker = next(p for p in reversed(topology.processes) if p.name.startswith("worker"))
    topology.wait_for_dag(DAG_ID)
    run_id = topology.trigger(DAG_ID, {"recipients": READERS_DURING_FAULT, "force": True})

    def some_but_not_all_sent() -> bool:
        sent = [row for row in deliveries(store, READERS_DURING_FAULT) if row["status"] == "sent"]
        assert len(sent) < len(READERS_DURING_FAULT), "delivery finished before the worker could be killed"
        return bool(sent)

    topology.wait_until("the first digest of the run to be sent", some_but_not_all_sent, timeout=240,
                        interval=0.2)
    killed = [pid for pid, _ in worker.kill()]
    states_at_kill = {task: ti["state"] for task, ti in topology.task_instances(DAG_ID, run_id).items()}
    sent_before_kill = {row["recipient"] for row in deliveries(store, READERS_DURING_FAULT) if row["status"] == "sent"}
    assert worker.survivors(wait=10) == [], "the worker or its task process survived SIGKILL"
    replaced_at = time.monotonic()
    start_worker(topology, "worker-2")
    assert states_at_kill == {"redeliver_earlier": "success", "ingest_seeds": "success",
                              "plan_article_batches": "success", "summarize": "success",
                              "tag": "success", "build_digests": "success", "deliver": "running"}

    topology.wait_for_run(DAG_ID, run_id, timeout=240)

    tis = topology.task_instances(DAG_ID, run_id)
    assert tis["deliver"]["try_number"] == 2, "deliver was not retried after the worker was lost"
    assert all(tis[task]["try_number"] == 1 for task in TASKS[:-1])
    assert_one_digest_each(smtp_sink, store, READERS_DURING_FAULT)
    assert 1 <= len(sent_before_kill) < len(READERS_DURING_FAULT)
    for recipient in set(READERS_DURING_FAULT) - sent_before_kill:
        assert smtp_sink.to(recipient)[0].at > replaced_at, f"the killed task still sent to {recipient}"
    print(f"fault: {len(sent_before_kill)} of {len(READERS_DURING_FAULT)} digests sent before the kill "
          f"(pids {killed}); deliver tries: {tis['deliver']['try_number']}; the new worker sent the rest")
