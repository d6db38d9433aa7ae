"""`make demo`: run newsbrief's DAGs end to end in the project-local Airflow and say where the mail landed.

1. `seed_digest` on the articles in seeds/ (the manual seed digest).
2. The bundled demo feeds (demo/feeds/, served on loopback: no internet needed) through `ingest_feeds`,
   then `daily_digest` for the current day: feed stories and seeds together, near-duplicates clustered.

Each part keeps its own store under var/demo/ and starts clean, so the demo always shows full digests;
delivery goes to the outbox (no mail server needed).
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "plugins"))


def run(dag_id: str, env: dict, log_path: Path, *args: str) -> bool:
    started = time.monotonic()
    print(f"  airflow dags test {dag_id} {' '.join(args)}".rstrip(), end=" ... ", flush=True)
    with open(log_path, "w") as log:
        proc = subprocess.run([str(BIN / "airflow"), "dags", "test", dag_id, *args], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    print(f"{'ok' if proc.returncode == 0 else 'FAILED'} ({time.monotonic() - started:.1f} s)", flush=True)
    if proc.returncode != 0:
        print(log_path.read_text()[-4000:])
        print(f"\n{dag_id} failed (exit {proc.returncode}); the full log is {log_path}")
    return proc.returncode == 0


def show(outbox: Path, pattern: str) -> int:
    messages = sorted(outbox.glob(f"{pattern}/*.eml"))
    for path in messages:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        print(f"  {shown}\n      To: {msg['To']}\n      Subject: {msg['Subject']}")
    if messages:
        print(f"  (open the .html beside each .eml in a browser, e.g. {messages[0].with_name(messages[0].stem + '.html')})")
    return len(messages)


def next_digest_time(now: datetime) -> datetime:
    """The 07:00 UTC that ends the daily interval containing `now` (the daily DAG's cron)."""
    today = now.replace(hour=7, minute=0, second=0, microsecond=0)
    return today if now < today else today + timedelta(days=1)


def upgrade_store(env: dict) -> bool:
    """`newsbrief db upgrade` on the store the DAGs will use, as an operator would after an update."""
    proc = subprocess.run([str(BIN / "newsbrief"), "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    print(f"  newsbrief db upgrade ... {'ok' if proc.returncode == 0 else 'FAILED'}")
    if proc.returncode != 0:
        print(proc.stderr or proc.stdout)
    return proc.returncode == 0


def main() -> int:
    from newsbrief.sources.demo_server import serve_in_background

    demo_dir = ROOT / "var" / "demo"
    outbox = Path(os.environ.get("NEWSBRIEF_OUTBOX_DIR") or ROOT / "outbox")
    shutil.rmtree(demo_dir, ignore_errors=True)
    shutil.rmtree(outbox, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    base = {k: v for k, v in os.environ.items() if k != "AIRFLOW_CONN_SMTP_DEFAULT"}
    base.update(NEWSBRIEF_OUTBOX_DIR=str(outbox), NEWSBRIEF_DELIVERY="outbox", NEWSBRIEF_TASK_RETRIES="0")
    started = time.monotonic()

    print("newsbrief demo, part 1: the seed digest (seeds/ -> summaries, tags -> one email per subscriber)")
    seeds_env = dict(base, NEWSBRIEF_VAR_DIR=str(demo_dir / "seeds"))
    if not upgrade_store(seeds_env) or not run("seed_digest", seeds_env, demo_dir / "seed_digest.log"):
        return 1
    if not show(outbox, "seed_digest*"):
        print(f"seed_digest wrote no digest; see {demo_dir / 'seed_digest.log'}")
        return 1

    print("\nnewsbrief demo, part 2: bundled feeds on a loopback server + seeds -> the daily digest")
    feeds_env = dict(base, NEWSBRIEF_VAR_DIR=str(demo_dir / "daily"), NEWSBRIEF_FETCH_ALLOW="127.0.0.1",
                     NEWSBRIEF_FEEDS_FILE=str(ROOT / "demo" / "feeds.yaml"))
    if not upgrade_store(feeds_env):
        return 1
    server = serve_in_background()
    try:
        ok = run("ingest_feeds", feeds_env, demo_dir / "ingest_feeds.log")
        ok = ok and run("daily_digest", feeds_env, demo_dir / "daily_digest.log",
                        next_digest_time(datetime.now(UTC)).isoformat())
    finally:
        server.shutdown()
    if not ok:
        return 1
    if not show(outbox, "daily_digest*"):
        print(f"daily_digest wrote no digest; see {demo_dir / 'daily_digest.log'}")
        return 1
    print(f"\nDone in {time.monotonic() - started:.1f} s. Digests are in {outbox}/; run logs in {demo_dir}/")
    print(f"Browse them in the web app: NEWSBRIEF_VAR_DIR={demo_dir / 'daily'} make web, then open http://127.0.0.1:8088/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
