"""A manual `seed_digest` trigger to the email at the SMTP server, on the native Celery topology
(target: median under 15 s over 5 triggers).

Usage (from the repo root):  .venv/bin/python bench/celery.py [--triggers 5]

The topology is the integration test's (tests/integration/topology.py): docker-compose.yml's Airflow
environment on loopback, CeleryExecutor with one worker (concurrency 2), a private redis-server as the
broker, metadata and store databases on the local PostgreSQL, mail to a loopback aiosmtpd. Compose's
own values are kept for everything else (no send delay, default heartbeats). Each trigger is one REST
call (`POST /api/v2/dags/seed_digest/dagRuns`) for a recipient of its own; the clock stops when that
recipient's message reaches the SMTP server. The next trigger waits for the run to finish. The first
trigger also ingests, summarizes and tags the seed files; the later ones find them stored (`force`
rebuilds and re-sends the digest). Prints each trigger with its task durations and the median; writes
bench/results/celery.json with the git commit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration import topology as topo  # noqa: E402

DAG_ID = "seed_digest"
TARGET_S = 15.0


def _seconds(ti: dict) -> float | None:
    if not ti.get("start_date") or not ti.get("end_date"):
        return None
    return (datetime.fromisoformat(ti["end_date"]) - datetime.fromisoformat(ti["start_date"])).total_seconds()


STAMPS = (("scheduled", "scheduled_when"), ("queued", "queued_when"), ("started", "start_date"), ("ended", "end_date"))


def timeline(tis: dict[str, dict], posted: float) -> dict[str, dict[str, float]]:
    """Each task's scheduled/queued/started/ended, in seconds after the trigger's POST, in start order."""
    out = {}
    for task, ti in sorted(tis.items(), key=lambda kv: kv[1]["start_date"] or ""):
        out[task] = {name: round(datetime.fromisoformat(ti[key]).timestamp() - posted, 2)
                     for name, key in STAMPS if ti.get(key)}
    return out


def breakdown(line: dict[str, dict[str, float]], email_s: float) -> dict[str, float]:
    """Where a trigger's time went: inside tasks (started..ended), waiting in the queue (queued..started),
    and the scheduler's share (trigger or the previous task's end until the next task is queued)."""
    inside = queue = sched = 0.0
    previous_end = 0.0
    for stamps in line.values():
        if {"queued", "started", "ended"} - set(stamps):
            continue
        sched += max(0.0, stamps["queued"] - previous_end)
        queue += stamps["started"] - stamps["queued"]
        inside += stamps["ended"] - stamps["started"]
        previous_end = stamps["ended"]
    return {"inside_tasks_s": round(inside, 2), "queued_to_running_s": round(queue, 2),
            "to_next_queued_s": round(sched, 2), "last_task_end_to_email_s": round(email_s - previous_end, 2)}


def measure(cluster: topo.Topology, sink: topo.SmtpSink, triggers: int) -> list[dict]:
    cluster.wait_for_dag(DAG_ID)
    cluster.api("PATCH", f"/dags/{DAG_ID}", json={"is_paused": False})
    runs = []
    for n in range(1, triggers + 1):
        recipient = f"bench-{n}@example.org"
        started, posted = time.monotonic(), time.time()
        run = cluster.api("POST", f"/dags/{DAG_ID}/dagRuns",
                          json={"logical_date": None, "conf": {"recipients": [recipient], "force": True}})
        (received,) = cluster.wait_until(f"the digest to {recipient}", lambda r=recipient: sink.to(r),
                                         timeout=300, interval=0.05)
        to_email = received.at - started
        cluster.wait_for_run(DAG_ID, run["dag_run_id"], timeout=300)
        to_success = time.monotonic() - started
        tis = cluster.task_instances(DAG_ID, run["dag_run_id"])
        tasks = {task: _seconds(ti) for task, ti in sorted(tis.items(), key=lambda kv: kv[1]["start_date"] or "")}
        line = timeline(tis, posted)
        runs.append({"trigger": n, "trigger_to_email_s": round(to_email, 2),
                     "trigger_to_run_success_s": round(to_success, 2),
                     "task_run_s": {task: round(s, 2) for task, s in tasks.items() if s is not None},
                     "breakdown": breakdown(line, to_email), "timeline": line})
        busy = sum(s for s in tasks.values() if s)
        print(f"trigger {n}: email after {to_email:5.1f} s, run success after {to_success:5.1f} s "
              f"(tasks ran {busy:.1f} s of it: " + ", ".join(f"{t} {s:.1f}" for t, s in tasks.items() if s) + ")",
              flush=True)
        print("    " + ", ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f}"
                                 for k, v in runs[-1]["breakdown"].items()), flush=True)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triggers", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "celery.json")
    parser.add_argument("--logs", type=Path, help="copy the components' and tasks' logs here before teardown")
    args = parser.parse_args()
    missing = topo.reachable()
    if missing:
        print(f"bench-celery cannot run here: {missing}", file=sys.stderr)
        return 2
    with topo.smtp_server() as sink, tempfile.TemporaryDirectory(prefix="nb-bench-celery-") as tmp:
        cluster = topo.build(Path(tmp) / "airflow_home", project=ROOT, dags_folder=ROOT / "dags",
                             smtp_port=sink.port)
        try:
            begun = time.monotonic()
            topo.start(cluster)
            print(f"topology up in {time.monotonic() - begun:.0f} s (api-server, scheduler, dag-processor, "
                  "triggerer, 1 Celery worker, private Redis)", flush=True)
            runs = measure(cluster, sink, args.triggers)
        except topo.TopologyError as exc:
            print(f"bench-celery failed: {exc}", file=sys.stderr)
            return 1
        finally:
            if args.logs:
                shutil.copytree(cluster.home / "logs", args.logs, dirs_exist_ok=True)
            problems = cluster.close()
            if problems:
                print("teardown problems:\n" + "\n".join(problems), file=sys.stderr)
    times = [r["trigger_to_email_s"] for r in runs]
    median = statistics.median(times)
    print(f"\nmanual seed_digest trigger -> email at the SMTP server, {len(times)} triggers: "
          f"median {median:.1f} s (min {min(times):.1f}, max {max(times):.1f}); target < {TARGET_S:.0f} s: "
          f"{'met' if median < TARGET_S else 'NOT met'}")
    result = {
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                 cwd=ROOT).stdout.strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "topology": "native compose topology: CeleryExecutor, 1 worker (concurrency 2), private Redis, PostgreSQL",
        "triggers": runs,
        "median_trigger_to_email_s": round(median, 2),
        "target_s": TARGET_S,
        "met": median < TARGET_S,
    }
    out = args.out.resolve()
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
