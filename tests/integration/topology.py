"""The docker-compose topology, natively: every Airflow component as a process on loopback.

Each component gets the environment of docker-compose.yml's ``x-airflow-common`` with only the values
that name a host, a port, a path or a secret replaced, so a key added to the compose file reaches the
native test too (and one the test invents fails ``native_environment``). Every process starts in its
own session so it can be stopped with its children (the Celery worker's task processes outlive a
kill of the worker's main pid alone). The Celery broker is a private redis-server on its own port, so
that a test can restart it; the metadata and store databases live on the local PostgreSQL.

`start` brings the whole topology up; the integration test's fixtures and `bench/celery.py` share it.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from base64 import urlsafe_b64encode
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg2
import redis

from tests.deploy.compose_file import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    airflow_common_environment,
    load_compose,
    read_env_file,
    required_variables,
)

PG_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/{db}"
REDIS_URL = "redis://127.0.0.1:{port}/0"
VENV_BIN = Path(sys.executable).parent


class TopologyError(AssertionError):
    """A component did not come up or a run did not reach the expected state; the message says which."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sample_secrets() -> dict[str, str]:
    """Fresh values for the secrets docker-compose.yml requires: a Fernet key (32 bytes, as Fernet
    wants) and 64 bytes for the others (JWT signing warns below that)."""
    return {name: urlsafe_b64encode(os.urandom(32)).decode() if "FERNET" in name else secrets.token_urlsafe(64)
            for name in required_variables()}


def compose_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """``x-airflow-common``'s environment as Compose would give it, .env.example plus fresh secrets."""
    env = {**read_env_file(ENV_EXAMPLE), **sample_secrets(), **(extra or {})}
    return airflow_common_environment(load_compose(env, COMPOSE_FILE))


def native_environment(compose_env: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """The compose environment with loopback values; an override of a key compose lacks is a bug."""
    unknown = sorted(set(overrides) - set(compose_env))
    if unknown:
        raise KeyError(f"native test sets keys docker-compose.yml does not: {unknown}; add them to x-airflow-common")
    return {**compose_env, **overrides}


# --- PostgreSQL and Redis -------------------------------------------------------------------------


def create_database(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(PG_ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name


def drop_database(name: str) -> None:
    conn = psycopg2.connect(PG_ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,))
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()


def redis_server_program() -> str | None:
    return shutil.which("redis-server")


def reachable() -> str | None:
    """Why the topology cannot start here, or None."""
    try:
        psycopg2.connect(PG_ADMIN_DSN, connect_timeout=3).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL on 127.0.0.1:5432 (user postgres) is not reachable: {exc}"
    if redis_server_program() is None:
        return "redis-server is not installed (apt-get install redis-server): the broker is a private instance"
    return None


# --- SMTP ----------------------------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    at: float  # time.monotonic() on arrival


@dataclass
class SmtpSink:
    """Messages a real SMTP server on 127.0.0.1 (aiosmtpd) received, in arrival order."""

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


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpSink]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- processes -----------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [state, ppid, pgrp, session, ...], or None when gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def identity(pid: int) -> tuple[int, str] | None:
    """A pid with its start time, so that a pid the kernel reused is never mistaken for ours."""
    stat = _stat(pid)
    return (pid, stat[19]) if stat else None


def descendants(pid: int) -> list[tuple[int, str]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            tree.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if ident := identity(child):
                found.append(ident)
            todo.append(child)
    return found


def alive(ident: tuple[int, str]) -> bool:
    stat = _stat(ident[0])
    return bool(stat) and stat[0] != "Z" and stat[19] == ident[1]


@dataclass
class Process:
    name: str
    argv: list[str]
    popen: subprocess.Popen
    log: Path
    known: set[tuple[int, str]] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def remember_children(self) -> None:
        if ident := identity(self.pid):
            self.known.add(ident)
        self.known.update(descendants(self.pid))

    def kill(self, sig: int = signal.SIGKILL) -> list[tuple[int, str]]:
        """Signal the process group and every descendant seen, also those that left the group.

        The group is signalled only while its leader is unreaped (its id cannot be reused then);
        other pids only while their start time still matches."""
        self.remember_children()
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
        for ident in sorted(self.known):
            if alive(ident):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(ident[0], sig)
        return sorted(self.known)

    def survivors(self, wait: float = 5.0) -> list[int]:
        deadline = time.monotonic() + wait
        while True:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(0.1)
            left = [pid for pid, start in self.known if alive((pid, start))]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def stop(self, grace: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.kill(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        self.kill(signal.SIGKILL)
        survivors = self.survivors()
        if survivors:
            raise TopologyError(f"{self.name}: processes {survivors} survived SIGKILL")

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


@dataclass
class Topology:
    """Airflow home, databases, broker, processes and a REST client; ``close`` undoes all of it."""

    home: Path
    env: dict[str, str]
    api_url: str
    username: str
    password: str
    store_url: str
    redis_port: int = 0
    databases: list[str] = field(default_factory=list)
    processes: list[Process] = field(default_factory=list)
    _token: str | None = None

    # processes

    def process_env(self) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items()
                     if not key.startswith(("AIRFLOW", "_AIRFLOW", "NEWSBRIEF_", "PYTEST_"))}
        return {**inherited, **self.env, "AIRFLOW_HOME": str(self.home), "PYTHONUNBUFFERED": "1",
                "PATH": f"{VENV_BIN}{os.pathsep}{inherited.get('PATH', '')}"}

    def start(self, name: str, *args: str, env: dict[str, str] | None = None, program: str = "airflow") -> Process:
        log = self.home / "logs" / f"{name}.out"
        log.parent.mkdir(parents=True, exist_ok=True)
        argv = [program if os.path.isabs(program) else str(VENV_BIN / program), *args]
        with log.open("ab") as out:
            popen = subprocess.Popen(argv, cwd=self.home, env={**self.process_env(), **(env or {})},
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        process = Process(name, argv, popen, log)
        self.processes.append(process)
        return process

    def run(self, name: str, *args: str, timeout: float = 180, program: str = "airflow") -> None:
        process = self.start(name, *args, program=program)
        try:
            code = process.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            process.stop()
            raise TopologyError(f"`{program} {' '.join(args)}` took over {timeout:.0f} s\n{process.tail()}") from None
        if code != 0:
            raise TopologyError(f"`{program} {' '.join(args)}` exited {code}\n{process.tail()}")

    def running(self) -> list[Process]:
        return [p for p in self.processes if p.popen.poll() is None]

    def check_running(self, *names: str) -> None:
        for process in self.processes:
            if process.name in names and process.popen.poll() is not None:
                raise TopologyError(f"{process.name} exited with {process.popen.returncode}\n{process.tail()}")

    def report(self) -> str:
        return "\n".join(f"----- {p.name} (pid {p.pid}, exit {p.popen.poll()}) {p.log}\n{p.tail()}"
                         for p in self.processes)

    def close(self, grace: float = 5.0) -> list[str]:
        """Stop every process (the broker among them), drop the databases; returns what went wrong."""
        problems = []
        for process in self.processes:
            with contextlib.suppress(Exception):
                process.remember_children()
                if process.popen.poll() is None:
                    process.kill(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.2)
        for process in reversed(self.processes):
            try:
                process.stop(grace=0)
            except Exception as exc:
                problems.append(f"{process.name}: {exc}")
        for name in self.databases:
            try:
                drop_database(name)
            except Exception as exc:
                problems.append(f"drop database {name}: {exc}")
        return problems

    # the broker

    def start_redis(self, timeout: float = 20) -> Process:
        """The private broker: loopback, its own port, snapshots in the home (saved on SIGTERM, as the
        compose Redis does when restarted), so queued task messages survive a restart."""
        data = self.home / "redis"
        data.mkdir(parents=True, exist_ok=True)
        process = self.start("redis", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--dir", str(data),
                             "--save", "3600 1 300 100 60 10000", "--appendonly", "no", "--protected-mode", "yes",
                             program=redis_server_program() or "redis-server")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running("redis")
            client = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_connect_timeout=1)
            try:
                if client.ping():
                    return process
            except redis.RedisError:
                time.sleep(0.1)
            finally:
                client.close()
        raise TopologyError(f"redis-server did not answer on port {self.redis_port} in {timeout:.0f} s\n{process.tail()}")

    def restart_redis(self, downtime: float = 2.0) -> tuple[str, str]:
        """Stop the broker as `docker compose restart redis` does (SIGTERM), keep it down for
        ``downtime`` seconds, start it again on the same port; returns the old and new server run ids."""
        old = next(p for p in reversed(self.processes) if p.name == "redis" and p.popen.poll() is None)
        before = self.redis_info()["run_id"]
        old.popen.send_signal(signal.SIGTERM)
        try:
            old.popen.wait(20)
        except subprocess.TimeoutExpired:
            raise TopologyError(f"redis-server ignored SIGTERM for 20 s\n{old.tail()}") from None
        with contextlib.suppress(ValueError):
            self.processes.remove(old)
        time.sleep(downtime)
        self.start_redis()
        return before, self.redis_info()["run_id"]

    def redis_info(self) -> dict:
        client = redis.Redis(host="127.0.0.1", port=self.redis_port, socket_connect_timeout=3)
        try:
            return client.info("server")
        finally:
            client.close()

    # REST API, as a user

    def token(self) -> str:
        """A JWT for the admin user from the simple auth manager's `POST /auth/token`."""
        if self._token is None:
            response = httpx.post(f"{self.api_url}/auth/token",
                                  json={"username": self.username, "password": self.password}, timeout=30)
            if response.status_code >= 300:
                raise TopologyError(f"login as {self.username} failed: {response.status_code} {response.text}")
            self._token = response.json()["access_token"]
        return self._token

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.api_url}/api/v2", timeout=30,
                            headers={"Authorization": f"Bearer {self.token()}"})

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.client() as client:
            response = client.request(method, path, **kwargs)
        if response.status_code >= 300:
            raise TopologyError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def wait_healthy(self, timeout: float = 180) -> dict:
        """Until the api-server answers and reports scheduler, dag-processor and triggerer alive."""
        deadline, last = time.monotonic() + timeout, "no answer"
        while time.monotonic() < deadline:
            self.check_running("api-server", "scheduler", "dag-processor", "triggerer")
            try:
                health = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
            except (httpx.HTTPError, ValueError) as exc:
                last = repr(exc)
            else:
                last = json.dumps(health)
                parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
                if all((health.get(part) or {}).get("status") == "healthy" for part in parts):
                    return health
            time.sleep(1)
        raise TopologyError(f"components not healthy after {timeout:.0f} s: {last}\n{self.report()}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> dict:
        deadline, last = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            try:
                return self.api("GET", f"/dags/{dag_id}")
            except TopologyError as exc:
                last = str(exc)
            try:
                errors = self.api("GET", "/importErrors")
            except TopologyError:
                errors = {}
            if errors.get("total_entries"):
                raise TopologyError(f"DAG files failed to import: {json.dumps(errors['import_errors'], indent=1)}")
            time.sleep(1)
        raise TopologyError(f"DAG {dag_id} not parsed after {timeout:.0f} s: {last}\n{self.report()}")

    def trigger(self, dag_id: str, conf: dict) -> str:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}")["state"]

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        body = self.api("GET", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances")
        return {ti["task_id"]: ti for ti in body["task_instances"]}

    def wait_until(self, what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5,
                   watch: Iterable[str] = ("api-server", "scheduler")) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_running(*watch)
            result = check()
            if result:
                return result
            time.sleep(interval)
        raise TopologyError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.report()}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        state = self.wait_until(f"run {run_id} of {dag_id} to finish", finished, timeout, interval=1)
        if state != "success":
            tis = self.task_instances(dag_id, run_id)
            summary = {task: (ti["state"], ti["try_number"]) for task, ti in tis.items()}
            raise TopologyError(f"run {run_id} ended {state}: {summary}\n{self.task_errors(dag_id, run_id)}")
        return state

    def task_errors(self, dag_id: str, run_id: str) -> str:
        """The error events of every task log of a run (the worker writes them under AIRFLOW_HOME/logs)."""
        found = []
        for path in sorted((self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}").glob("task_id=*/attempt=*.log")):
            for line in path.read_text(errors="replace").splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("level") in ("error", "critical"):
                    details = event.get("error_detail") or []
                    where = [f"{f['filename']}:{f['lineno']}" for d in details for f in d.get("frames", [])[-2:]]
                    errors = [f"{d.get('exc_type')}: {d.get('exc_value')}" for d in details]
                    found.append(f"{path.parent.name}/{path.name}: {event.get('event')} {errors} {where}")
        return "\n".join(found) or "(no error events in the task logs)"


def loopback_overrides(*, home: Path, project: Path, dags_folder: Path, config_dir: Path, api_port: int,
                       meta_db: str, store_db: str, redis_port: int, smtp_port: int) -> dict[str, str]:
    """The compose values that must differ natively: hosts, ports, paths, secrets and a small worker."""
    fresh = sample_secrets()
    smtp = {"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
            "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "newsbrief@localhost",
                      "timeout": 10, "retry_limit": 1}}
    return {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "auth" / "passwords.json"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": PG_URL.format(db=meta_db),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + PG_URL.format(db=meta_db).replace("+psycopg2", ""),
        "AIRFLOW__CELERY__BROKER_URL": REDIS_URL.format(port=redis_port),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__CORE__FERNET_KEY": fresh["AIRFLOW_FERNET_KEY"],
        "AIRFLOW__API__SECRET_KEY": fresh["AIRFLOW_API_SECRET_KEY"],
        "AIRFLOW__API_AUTH__JWT_SECRET": fresh["AIRFLOW_JWT_SECRET"],
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "NEWSBRIEF_STORE_URL": PG_URL.format(db=store_db),
        "NEWSBRIEF_CONFIG_DIR": str(config_dir),
        "NEWSBRIEF_SEEDS_DIR": str(project / "seeds"),
        "NEWSBRIEF_TEMPLATES_DIR": str(project / "templates"),
        "NEWSBRIEF_OUTBOX_DIR": str(home / "outbox"),
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps(smtp),
        "NEWSBRIEF_SECRET_KEY": fresh["NEWSBRIEF_SECRET_KEY"],
        "NEWSBRIEF_PUBLIC_URL": f"http://127.0.0.1:{api_port}/newsbrief",
        # The loopback feed server of the alerts test; compose leaves this empty.
        "NEWSBRIEF_FETCH_ALLOW": "127.0.0.1",
    }


def build(home: Path, *, project: Path, dags_folder: Path, smtp_port: int, config_dir: Path | None = None,
          tuning: dict[str, str] | None = None) -> Topology:
    """Fresh metadata and store databases, a broker port and an Airflow home; nothing started yet."""
    home.mkdir(parents=True, exist_ok=True)
    topology = Topology(home=home, env={}, api_url="", username="admin", password=secrets.token_urlsafe(12),
                        store_url="")
    try:
        meta_db = create_database("nb_it_meta")
        topology.databases.append(meta_db)
        store_db = create_database("nb_it_store")
        topology.databases.append(store_db)
        topology.redis_port = free_port()
        api_port = free_port()
        compose_env = compose_environment()
        topology.env = native_environment(compose_env, {
            **loopback_overrides(home=home, project=project, dags_folder=dags_folder,
                                 config_dir=config_dir or project / "config", api_port=api_port,
                                 meta_db=meta_db, store_db=store_db, redis_port=topology.redis_port,
                                 smtp_port=smtp_port),
            **(tuning or {}),
        })
        topology.api_url = f"http://127.0.0.1:{api_port}"
        topology.store_url = topology.env["NEWSBRIEF_STORE_URL"]
        topology.username = compose_env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(",")[0].split(":")[0]
        passwords_file = Path(topology.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
        passwords_file.parent.mkdir(parents=True, exist_ok=True)
        passwords_file.write_text(json.dumps({topology.username: topology.password}))
    except BaseException:
        topology.close()
        raise
    return topology


def start_worker(cluster: Topology, name: str = "worker") -> Process:
    return cluster.start(name, "celery", "worker", "--skip-serve-logs")


def start(cluster: Topology) -> Topology:
    """Migrate, then start the broker and every Airflow component; returns once all report healthy."""
    cluster.run("db-migrate", "db", "migrate")
    cluster.run("store-upgrade", "db", "upgrade", program="newsbrief")
    cluster.start_redis()
    cluster.start("api-server", "api-server")
    cluster.start("scheduler", "scheduler")
    cluster.start("dag-processor", "dag-processor")
    cluster.start("triggerer", "triggerer", "--skip-serve-logs")
    start_worker(cluster)
    cluster.wait_healthy()
    return cluster
