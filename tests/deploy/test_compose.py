"""docker-compose.yml, checked without a Docker engine: what `docker compose up` would refuse or get wrong.

The file is interpolated like Compose does (from .env.example plus generated secrets) and parsed by a
real Compose-specification parser (the `compose-spec` package, bindings of the Rust `compose_spec`
crate), then checked for what newsbrief's topology needs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.deploy.compose_file import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO,
    MissingVariable,
    airflow_common_environment,
    load_compose,
    raw_compose,
    read_env_file,
    required_variables,
)
from tests.integration.conftest import TUNING
from tests.integration.topology import loopback_overrides, native_environment, sample_secrets

AIRFLOW_SERVICES = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker"]
TOPOLOGY = ["postgres", "redis", "mailpit", "airflow-init", *AIRFLOW_SERVICES]
SECRETS = ["AIRFLOW_FERNET_KEY", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_ADMIN_PASSWORD",
           "NEWSBRIEF_SECRET_KEY"]
# Project folder -> the environment variable that tells the code where it is mounted.
MOUNTS = {"dags": "AIRFLOW__CORE__DAGS_FOLDER", "plugins": "AIRFLOW__CORE__PLUGINS_FOLDER",
          "templates": "NEWSBRIEF_TEMPLATES_DIR", "seeds": "NEWSBRIEF_SEEDS_DIR", "config": "NEWSBRIEF_CONFIG_DIR",
          "logs": None}
MAILPIT_FIXED = (1, 28, 3)  # CVE-2026-23829, SMTP header injection, fixed in v1.28.3


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return {**read_env_file(ENV_EXAMPLE), **sample_secrets()}


@pytest.fixture(scope="module")
def compose(env) -> dict:
    return load_compose(env)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def common_env(compose) -> dict[str, str]:
    return airflow_common_environment(compose)


def test_the_compose_specification_parser_accepts_the_file(compose):
    compose_spec = pytest.importorskip("compose_spec", reason="pip install compose-spec (a dev dependency)")
    parsed = compose_spec.PyCompose.from_json(json.dumps(compose))
    assert set(TOPOLOGY) <= set(parsed.service_names())


def test_the_parser_rejects_what_compose_rejects(compose):
    """Guards the guard: a misspelt key or an unknown depends_on condition must not pass."""
    compose_spec = pytest.importorskip("compose_spec", reason="pip install compose-spec (a dev dependency)")
    broken = json.loads(json.dumps(compose))
    broken["services"]["airflow-worker"]["depends_on"]["postgres"]["condition"] = "service_ready"
    with pytest.raises(ValueError, match="service_ready"):
        compose_spec.PyCompose.from_json(json.dumps(broken))
    broken = json.loads(json.dumps(compose))
    broken["services"]["airflow-worker"]["helthcheck"] = broken["services"]["airflow-worker"].pop("healthcheck")
    with pytest.raises(ValueError, match="helthcheck"):
        compose_spec.PyCompose.from_json(json.dumps(broken))


def test_every_service_of_the_topology_is_there(services):
    assert sorted(set(TOPOLOGY) - set(services)) == []
    for name in AIRFLOW_SERVICES:
        assert services[name]["image"] == services["airflow-init"]["image"], f"{name} runs another image"
        assert services[name]["build"]["context"] == ".", f"{name} is not built from ./Dockerfile"
    assert (REPO / services["airflow-init"]["build"]["dockerfile"]).is_file()


def test_every_image_is_pinned(services):
    for name, service in services.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"{name}: image {image!r} is not pinned to a version"


def test_mailpit_is_a_version_without_the_smtp_header_injection(services):
    tag = services["mailpit"]["image"].rpartition(":")[2]
    version = tuple(int(part) for part in re.match(r"v?(\d+)\.(\d+)\.(\d+)$", tag).groups())
    assert version >= MAILPIT_FIXED


def test_long_running_services_have_healthchecks_and_wait_for_what_they_need(services):
    for name in ["postgres", "redis", "mailpit", *AIRFLOW_SERVICES]:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in ["airflow-init", *AIRFLOW_SERVICES]:
        needs = services[name]["depends_on"]
        assert needs["postgres"]["condition"] == "service_healthy", name
        assert needs["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert needs["airflow-init"]["condition"] == "service_completed_successfully", name
    worker = services["airflow-worker"]["depends_on"]
    assert worker["airflow-apiserver"]["condition"] == "service_healthy"
    assert worker["mailpit"]["condition"] == "service_healthy"
    for name, service in services.items():
        for needed, how in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on unknown service {needed}"
            if how.get("condition") == "service_healthy":
                assert services[needed].get("healthcheck"), f"{name} waits for {needed} to be healthy, it has no check"


def test_workers_can_be_scaled(services):
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker, "--scale airflow-worker=N needs both absent"


def test_project_folders_are_mounted_where_the_environment_points(services, common_env):
    for name in ["airflow-init", *AIRFLOW_SERVICES]:
        mounts = {}
        for volume in services[name]["volumes"]:
            source, target = volume.split(":")[:2]
            mounts[source] = target
        for folder, variable in MOUNTS.items():
            assert f"./{folder}" in mounts, f"{name} does not mount ./{folder}"
            assert (REPO / folder).is_dir() or folder == "logs", f"./{folder} missing from the repository"
            if variable:
                assert common_env[variable] == mounts[f"./{folder}"], f"{variable} does not point at ./{folder}"
    declared = set(raw_compose()["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"named volume {source} is not declared"


def test_airflow_runs_celery_on_the_compose_postgres_and_redis(common_env):
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert make_url(common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).host == "postgres"
    assert make_url(common_env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+")).host == "postgres"
    assert common_env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379" in common_env[
        "AIRFLOW__CELERY__BROKER_URL"]
    assert common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


def test_the_store_is_its_own_database_on_the_compose_postgres(common_env, services):
    store = make_url(common_env["NEWSBRIEF_STORE_URL"])
    airflow = make_url(common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert store.get_backend_name() == "postgresql" and store.host == "postgres"
    assert store.database and store.database != airflow.database
    init = "\n".join(services["airflow-init"]["command"])
    assert "NEWSBRIEF_STORE_URL" in init and "CREATE DATABASE" in init, "airflow-init does not create the store"


def test_smtp_default_points_at_mailpit(common_env, services):
    conn = json.loads(common_env["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert conn["conn_type"] == "smtp"
    assert (conn["host"], conn["port"]) == ("mailpit", 1025)
    assert conn["extra"]["disable_ssl"] is True and conn["extra"]["disable_tls"] is True
    assert conn["extra"]["from_email"]
    assert 1025 in services["mailpit"]["expose"] and "127.0.0.1:8025:8025" in services["mailpit"]["ports"]
    assert common_env["NEWSBRIEF_DELIVERY"] in ("smtp", "auto")


def test_a_real_smtp_server_is_one_env_file_away(env):
    real = {**env, "SMTP_HOST": "smtp.example.org", "SMTP_PORT": "587", "SMTP_USER": "nb@example.org",
            "SMTP_PASSWORD": "s3cret", "SMTP_DISABLE_TLS": "false"}
    conn = json.loads(airflow_common_environment(load_compose(real))["AIRFLOW_CONN_SMTP_DEFAULT"])
    assert (conn["host"], conn["port"], conn["login"], conn["password"]) == (
        "smtp.example.org", 587, "nb@example.org", "s3cret")
    assert conn["extra"]["disable_tls"] is False


def test_no_secret_is_committed_and_compose_refuses_to_start_without_them():
    assert required_variables() == sorted(SECRETS)
    example = read_env_file(ENV_EXAMPLE)
    for name in SECRETS:
        assert example[name] == "", f".env.example must leave {name} empty"
        with pytest.raises(MissingVariable, match=name):
            load_compose({**example, **{k: "x" for k in SECRETS if k != name}})
    text = COMPOSE_FILE.read_text()
    for key in ["AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
                "NEWSBRIEF_SECRET_KEY"]:
        assert re.search(rf"{key}: '\$\{{[A-Z_]+:\?", text), f"{key} is not read from .env"
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_the_image_installs_the_lock_at_build_time(services, common_env):
    dockerfile = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM apache/airflow:(\S+)-python(\d+\.\d+)\s*$", dockerfile, re.M)
    assert base, "Dockerfile must start FROM apache/airflow:<version>-python<x.y>"
    assert re.search(r"^RUN pip install --no-cache-dir .*-r \S*requirements\.lock", dockerfile, re.M)
    for service in services.values():
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in service.get("environment", {})
    lock = REPO / "requirements.lock"
    if not lock.exists():
        pytest.fail("requirements.lock is missing: the image installs it")
    pins = dict(line.split("==", 1) for line in lock.read_text().splitlines() if "==" in line and not line.startswith("#"))
    assert pins.get("apache-airflow") == base.group(1), "the image's Airflow differs from the lock's"
    assert not [line for line in lock.read_text().splitlines() if " @ file:" in line or line.startswith("-e")], \
        "requirements.lock holds local paths: the image build cannot install them"
    for name, value in re.findall(r"(NEWSBRIEF_\w+_DIR)=(\S+)", dockerfile):
        assert common_env[name] == value, f"the image and docker-compose.yml disagree on {name}"


def test_the_native_topology_test_sets_exactly_the_compose_keys(common_env, tmp_path: Path):
    overrides = loopback_overrides(home=tmp_path, project=REPO, dags_folder=REPO / "dags",
                                   config_dir=tmp_path / "config", api_port=8080, meta_db="meta", store_db="store",
                                   redis_port=6390, smtp_port=2525)
    native = native_environment(common_env, {**overrides, **TUNING})
    assert sorted(native) == sorted(common_env)
    with pytest.raises(KeyError, match="AIRFLOW__CORE__INVENTED"):
        native_environment(common_env, {"AIRFLOW__CORE__INVENTED": "1"})


_LIST_PLUGINS = """
import json
import sys
from airflow import plugins_manager
plugins, errors = plugins_manager._get_plugins()
print(json.dumps({"errors": errors, "plugins": {p.name: {
    "source": str(p.source), "apps": [{k: v for k, v in a.items() if k != "app"} | {"type": type(a["app"]).__name__}
                                      for a in p.fastapi_apps],
    "views": p.external_views} for p in plugins}, "fastapi": "fastapi" in sys.modules}))
"""


def test_the_api_server_loads_the_web_plugin_from_the_mounted_plugins_folder(services, common_env, tmp_path):
    """The folder the api-server mounts at AIRFLOW__CORE__PLUGINS_FOLDER yields exactly one plugin, newsbrief's,
    with the web app under /newsbrief and a menu entry; .airflowignore keeps the library out of the scan.
    Loading it must not import FastAPI: every task process loads the plugins."""
    from newsbrief.orchestration.web_plugin import URL_PREFIX

    api = services["airflow-apiserver"]
    assert "./plugins:" + common_env["AIRFLOW__CORE__PLUGINS_FOLDER"] + ":ro" in api["volumes"]
    assert api["command"] == "api-server"
    assert "COPY --chown=airflow:0 plugins /opt/airflow/plugins" in (REPO / "Dockerfile").read_text()
    assert "newsbrief/" in (REPO / "plugins" / ".airflowignore").read_text().split()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", NEWSBRIEF_VAR_DIR=str(tmp_path / "var"))
    proc = subprocess.run([sys.executable, "-c", _LIST_PLUGINS], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["errors"] == {} and found["fastapi"] is False
    assert list(found["plugins"]) == ["newsbrief"], "only the top-level plugin file may be loaded as a plugin"
    plugin = found["plugins"]["newsbrief"]
    assert plugin["source"].endswith("newsbrief_airflow_plugin.py")
    assert plugin["apps"] == [{"url_prefix": URL_PREFIX, "name": "newsbrief", "type": "BuiltOnFirstRequest"}]
    assert plugin["views"] == [{"name": "newsbrief", "href": URL_PREFIX + "/", "destination": "nav",
                                "url_route": "newsbrief"}]


def test_email_links_point_at_the_plugin_on_the_published_api_server_port(services, common_env):
    """Links in emails must reach the web app, which compose serves only through the api-server's plugin;
    the key that signs them is one secret shared by the workers (signing) and the api-server (checking)."""
    from newsbrief.orchestration.web_plugin import URL_PREFIX

    published = [port.split(":")[-2] for port in services["airflow-apiserver"]["ports"]]
    assert common_env["NEWSBRIEF_PUBLIC_URL"] == f"http://localhost:{published[0]}{URL_PREFIX}"
    assert len(common_env["NEWSBRIEF_SECRET_KEY"]) >= 16
    for name in AIRFLOW_SERVICES:
        assert "NEWSBRIEF_SECRET_KEY" in services[name]["environment"], name
