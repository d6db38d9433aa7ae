"""Running the real DAGs with `airflow dags test` in a private Airflow home (SQLite metadata)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory) -> dict:
    """A migrated Airflow home of its own, so tests never touch the developer's `.airflow/`."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "NEWSBRIEF_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "PYTHONPATH": str(ROOT / "plugins"),
        "NEWSBRIEF_RETRY_DELAY_SECONDS": "1",
    })
    proc = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return env


def run_dag(env: dict, dag_id: str, *, conf: dict | None = None, logical_date: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`airflow dags test` of a DAG from dags/, returning the finished process (output in .stdout)."""
    cmd = [AIRFLOW, "dags", "test", dag_id]
    if logical_date:
        cmd.append(logical_date)
    if conf is not None:
        cmd += ["-c", json.dumps(conf)]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    proc.stdout = proc.stdout + proc.stderr
    return proc


@pytest.fixture
def dag_env(airflow_home, project) -> dict:
    """The Airflow env plus the NEWSBRIEF_* paths of the test's private project copy."""
    env = dict(airflow_home)
    env.update({k: v for k, v in os.environ.items() if k.startswith("NEWSBRIEF_") and k != "NEWSBRIEF_RETRY_DELAY_SECONDS"})
    return env
