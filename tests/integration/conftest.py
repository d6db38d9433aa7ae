"""Fixtures for the native topology: a loopback SMTP server and the Airflow components on loopback.

The topology is module-scoped (starting it costs about half a minute); every process, database and
Redis database it creates is removed by its finalizer, also when a test or the start-up fails.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import psycopg2
import pytest
import redis

from tests.deploy.compose_file import REPO
from tests.integration import topology as topo

# Short enough that a killed worker's task is retried within a minute, long enough that a busy
# 2-core machine does not miss heartbeats of a healthy worker.
FAULT_TUNING = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "NEWSBRIEF_RETRY_DELAY_SECONDS": "2",
    "NEWSBRIEF_SEND_DELAY_SECONDS": "3",
}


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    at: float  # time.monotonic() on arrival


@dataclass
class SmtpSink:
    """Messages a real SMTP server on 127.0.0.1 received, in arrival order."""

    port: int
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, time.monotonic()))
        return "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if recipient in m.recipients]


def _reachable() -> str | None:
    try:
        psycopg2.connect(topo.PG_ADMIN_DSN, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL on 127.0.0.1:5432 (user postgres) is not reachable: {exc}"
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis on 127.0.0.1:6379 is not reachable: {exc}"
    return None


@pytest.fixture(scope="module")
def smtp_sink() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=topo.free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def source_tree() -> Path:
    """Where dags/, plugins/, config/, seeds/ and templates/ come from: this checkout, as deployed."""
    return REPO


@pytest.fixture(scope="module")
def topology(request, tmp_path_factory, smtp_sink, source_tree) -> Iterator[topo.Topology]:
    """The compose topology on loopback: migrated metadata DB, api-server, scheduler, dag-processor,
    triggerer and one Celery worker, with the given DAGs parsed."""
    missing = _reachable()
    if missing:
        pytest.skip(missing)
    home = tmp_path_factory.mktemp("airflow_home")
    cluster = topo.build(home, project=source_tree, dags_folder=source_tree / "dags", smtp_port=smtp_sink.port, tuning=FAULT_TUNING)
    request.node.stash[TOPOLOGY_KEY] = cluster
    try:
        cluster.run("db-migrate", "db", "migrate")
        cluster.run("store-upgrade", "db", "upgrade", program="newsbrief")
        cluster.start("api-server", "api-server")
        cluster.start("scheduler", "scheduler")
        cluster.start("dag-processor", "dag-processor")
        cluster.start("triggerer", "triggerer", "--skip-serve-logs")
        start_worker(cluster)
        cluster.wait_healthy()
        yield cluster
    finally:
        problems = cluster.close()
        if problems:
            print("topology teardown problems:\n" + "\n".join(problems))


def start_worker(cluster: topo.Topology, name: str = "worker") -> topo.Process:
    return cluster.start(name, "celery", "worker", "--skip-serve-logs")


TOPOLOGY_KEY = pytest.StashKey[topo.Topology]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failing test, append every component's log tail to the report."""
    report = yield
    if report.failed and call.when == "call":
        cluster = None
        for node in item.listchain():
            if TOPOLOGY_KEY in node.stash:
                cluster = node.stash[TOPOLOGY_KEY]
        if cluster is not None:
            report.sections.append(("Airflow component logs (tails)", cluster.report()))
    return report
