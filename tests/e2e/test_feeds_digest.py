"""ingest_feeds -> daily_digest end to end: the real DAGs, the bundled real feeds on a loopback server,
a broken feed, and a real SMTP server on loopback; the received digest is parsed and checked."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import run_dag
from tests.http_server import LocalServer

pytestmark = pytest.mark.e2e

DEMO = ROOT / "demo" / "feeds"
SUBSCRIBERS = """\
subscribers:
  - email: everything@example.org
    name: Night desk
    max_items: 200
"""


def feeds_yaml(server: LocalServer) -> str:
    lines = ["feeds:"]
    for path in sorted(DEMO.glob("*.xml")):
        url = server.add(f"/{path.name}", path.read_bytes(), headers={"Content-Type": "application/rss+xml"},
                         last_modified="Sat, 22 Aug 2026 21:50:16 GMT")
        lines += [f"  - url: {url}", f"    name: {path.stem}", "    fetch_pages: false"]
    lines += [f"  - url: {server.add('/broken.xml', b'upstream error', status=500)}", "    name: Broken Wire"]
    return "\n".join(lines) + "\n"


def interval_end(now: datetime) -> datetime:
    """The end of the daily (07:00 UTC) data interval that contains `now`: a manual `dags test` at that
    date covers the interval ending there, i.e. the one in which the feeds were just ingested."""
    end = now.replace(hour=7, minute=0, second=0, microsecond=0)
    return end if now < end else end + timedelta(days=1)


def test_feed_stories_reach_the_daily_digest_clustered_summarized_and_tagged(dag_env, project, smtp_server):
    with LocalServer() as server:
        (project / "config" / "feeds.yaml").write_text(feeds_yaml(server))
        (project / "config" / "subscribers.yaml").write_text(SUBSCRIBERS)
        for seed in (project / "seeds").iterdir():
            seed.unlink()
        env = dict(dag_env, AIRFLOW_CONN_SMTP_DEFAULT=smtp_server.conn_json(), NEWSBRIEF_FETCH_ALLOW="127.0.0.1")
        now = datetime.now(UTC)
        hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        ingest = run_dag(env, "ingest_feeds", logical_date=hour.isoformat())
        assert ingest.returncode == 0, ingest.stdout[-6000:]
        assert "ingest_batch" in ingest.stdout and "stories clustered" in ingest.stdout

        before = len(server.requests)
        again = run_dag(env, "ingest_feeds", logical_date=(hour - timedelta(hours=1)).isoformat())
        assert again.returncode == 0, again.stdout[-6000:]
        assert "nothing new this hour" in again.stdout
        second = server.requests[before:]
        assert len(second) == len(list(DEMO.glob("*.xml"))), "the broken feed waits out its back-off"
        assert all(headers.get("if-modified-since") for _, headers in second), "unchanged feeds cost a 304"

        digest = run_dag(env, "daily_digest", logical_date=interval_end(datetime.now(UTC)).isoformat())
        if digest.returncode != 0:
            failed = sorted(project.rglob("*.eml"))
            pytest.fail(digest.stdout[-4000:] + "\n" + "\n".join(
                f"{p}: longest line {max(map(len, p.read_bytes().splitlines()))}" for p in failed))

    (msg,) = smtp_server.received.to("everything@example.org")
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "US Hits Canada With 50% Tariffs as Carney Vows to Retaliate" in text.replace("’", "'") or \
        "US hits Canadian goods with 50% tariffs" in text
    assert "Also reported by" in text and "also reported by" in html.lower()
    tariffs_block = next(b for b in text.split("\n\n") if "50% tariffs" in b)
    assert "Also reported by" in tariffs_block
    assert "South Korea" in text and "Arctic" in text
    assert text.count("Arctic commercial route") == 1, "a clustered story must be listed once"
    assert "Tags:" in text and "  - " in text
    assert "Broken Wire" in text and "HTTP 500" in text


_SHAPE = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder="dags/ingest_feeds.py")
dag = bag.dags["ingest_feeds"]
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "catchup": dag.catchup,
                  "aware_start": dag.start_date.tzinfo is not None, "schedule": dag.timetable.expression,
                  "tasks": {t.task_id: [type(t).__name__, [a.uri for a in t.outlets], t.retries] for t in dag.tasks}}))
"""


def test_ingest_dag_is_hourly_batched_and_publishes_the_articles_asset(airflow_home):
    proc = subprocess.run([sys.executable, "-c", _SHAPE], env=airflow_home, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shape = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shape["errors"] == {} and shape["catchup"] is False and shape["aware_start"]
    assert shape["schedule"] == "0 * * * *"
    tasks = shape["tasks"]
    assert set(tasks) == {"plan_batches", "ingest_batch", "cluster_stories"}
    assert tasks["ingest_batch"][0].endswith("MappedOperator"), "feeds must be mapped in batches, not one task each"
    assert [uri.rstrip("/") for uri in tasks["cluster_stories"][1]] == ["newsbrief://articles"]
    assert all(retries >= 1 for _, _, retries in tasks.values())
