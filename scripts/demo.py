"""`make demo`: run the seed digest end to end in the project-local Airflow and say where it landed.

The demo keeps its own store (var/demo/) and starts from a clean one each time, so it always shows a
full digest; delivery goes to the outbox (no mail server needed).
"""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    var_dir = ROOT / "var" / "demo"
    outbox = Path(os.environ.get("NEWSBRIEF_OUTBOX_DIR") or ROOT / "outbox")
    shutil.rmtree(var_dir, ignore_errors=True)
    shutil.rmtree(outbox, ignore_errors=True)
    env = dict(os.environ, NEWSBRIEF_VAR_DIR=str(var_dir), NEWSBRIEF_OUTBOX_DIR=str(outbox),
               NEWSBRIEF_DELIVERY="outbox")
    env.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)
    started = time.monotonic()
    print("newsbrief demo: running the seed_digest DAG (airflow dags test) on seeds/ ...", flush=True)
    log_path = var_dir / "seed_digest.log"
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        proc = subprocess.run([str(BIN / "airflow"), "dags", "test", "seed_digest"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        print(log_path.read_text()[-4000:])
        print(f"\nThe seed_digest run failed (exit {proc.returncode}); the full log is {log_path}")
        return 1
    messages = sorted(outbox.rglob("*.eml"))
    if not messages:
        print(f"The run finished but wrote no digest; see the log: {log_path}")
        return 1
    print(f"\nDone in {elapsed:.1f} s. {len(messages)} digest(s) in {outbox}/:")
    for path in messages:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        print(f"      To: {msg['To']}\n      Subject: {msg['Subject']}")
        print(f"      Open in a browser: {path.with_name(path.stem + '.html')}")
    print(f"\nRun log: {log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
