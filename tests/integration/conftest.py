"""Fixtures for the native topology: a loopback SMTP server, a loopback feed server and the Airflow
components on loopback with a private Redis broker.

The topology is session-scoped, shared by the modules here (starting it costs about half a minute); every process, database and
file it creates is removed by its finalizer, also when a test or the start-up fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from tests.deploy.compose_file import REPO
from tests.http_server import LocalServer
from tests.integration import topology as topo
from tests.integration.topology import SmtpSink, start_worker  # noqa: F401 - re-exported for the tests

# Short enough that a killed worker's task is retried within a minute, long enough that a busy
# 2-core machine does not miss heartbeats of a healthy worker.
FAULT_TUNING = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "NEWSBRIEF_RETRY_DELAY_SECONDS": "2",
    "NEWSBRIEF_SEND_DELAY_SECONDS": "3",
}
# ingest_feeds every minute (it stays paused until the alerts test unpauses it).
TUNING = {**FAULT_TUNING, "NEWSBRIEF_INGEST_CRON": "* * * * *"}

ALERT_READER = "alerts-reader@example.org"
ALERT_WORD = "permafrost"
FEED_PATH = "/wire.xml"


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    with topo.smtp_server() as sink:
        yield sink


@pytest.fixture(scope="session")
def feed_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture(scope="session")
def source_tree() -> Path:
    """Where dags/, plugins/, seeds/ and templates/ come from: this checkout, as deployed."""
    return REPO


def alert_config(source: Path, target: Path, feed_url: str) -> Path:
    """The checkout's config/ with feeds.yaml reading one loopback feed and one more subscriber, who has an
    `as_it_happens` alert on a word no seed article contains."""
    shutil.copytree(source / "config", target)
    (target / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [
        {"url": feed_url, "name": "Loopback Wire", "language": "en", "fetch_pages": False}]}))
    subscribers = yaml.safe_load((target / "subscribers.yaml").read_text())
    subscribers["subscribers"].append({"email": ALERT_READER, "name": "Alerts reader", "alerts": [
        {"id": "thaw", "query": ALERT_WORD, "frequency": "as_it_happens", "min_interval_minutes": 1}]})
    (target / "subscribers.yaml").write_text(yaml.safe_dump(subscribers, sort_keys=False))
    return target


@pytest.fixture(scope="session")
def topology(request, tmp_path_factory, smtp_sink, feed_server, source_tree) -> Iterator[topo.Topology]:
    """The compose topology on loopback: migrated metadata DB, private Redis, api-server (with the
    newsbrief plugin), scheduler, dag-processor, triggerer and one Celery worker."""
    missing = topo.reachable()
    if missing:
        pytest.skip(missing)
    home = tmp_path_factory.mktemp("airflow_home")
    config = alert_config(source_tree, home / "config", feed_server.url(FEED_PATH))
    cluster = topo.build(home, project=source_tree, dags_folder=source_tree / "dags", smtp_port=smtp_sink.port,
                         config_dir=config, tuning=TUNING)
    request.node.stash[TOPOLOGY_KEY] = cluster
    try:
        topo.start(cluster)
        yield cluster
    finally:
        problems = cluster.close()
        if problems:
            print("topology teardown problems:\n" + "\n".join(problems))


@pytest.fixture(scope="session")
def store(topology: topo.Topology) -> Iterator[sa.Engine]:
    """The topology's store database, read as the tests' ground truth."""
    engine = sa.create_engine(topology.store_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


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
