"""The Celery worker's preload (newsbrief.orchestration.worker_preload): tasks forked from a worker that
parsed the configuration at its start still see the file as it is now, and a broken file fails the
task that reads it, not the worker's start."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from newsbrief.errors import ConfigError
from tests.conftest import ROOT
from tests.deploy.compose_file import ENV_EXAMPLE, airflow_common_environment, load_compose, read_env_file
from tests.integration.topology import sample_secrets


def test_a_subscriber_added_after_the_worker_started_gets_the_next_digest(project):
    from newsbrief.orchestration.tasks import load_config

    path = project / "config" / "subscribers.yaml"
    before = [s.email for s in load_config()[2]]
    path.write_text(path.read_text() + "\n  - email: new-reader@example.org\n")
    assert [s.email for s in load_config()[2]] == [*before, "new-reader@example.org"]


def test_a_broken_subscribers_file_fails_the_task_with_its_line_but_the_worker_starts(project):
    from newsbrief.orchestration.tasks import load_config

    path = project / "config" / "subscribers.yaml"
    path.write_text("subscribers:\n  - email: [unclosed\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "plugins"), str(ROOT)])}
    started = subprocess.run([sys.executable, "-c", "import newsbrief.orchestration.worker_preload"],
                             env=env, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr[-3000:]
    assert "not preloaded" in started.stdout + started.stderr
    with pytest.raises(ConfigError, match="subscribers.yaml"):
        load_config()


def test_every_celery_worker_of_the_compose_file_preloads_newsbrief():
    common = airflow_common_environment(load_compose({**read_env_file(ENV_EXAMPLE), **sample_secrets()}))
    extra = json.loads(common["AIRFLOW__CELERY__EXTRA_CELERY_CONFIG"])
    assert extra["imports"] == ["newsbrief.orchestration.worker_preload"]
