"""Shared fixtures: a real SMTP server on loopback, and an isolated newsbrief environment per test."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# In-process Airflow imports (DagBag, connection lookup) must never write to the user's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
SHARED = ROOT.parent / "shared"
SEED = ROOT / "seeds" / "000_4578fa6d09c8fd9d.txt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """Messages an SMTP server accepted, parsed, in arrival order."""

    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


class _Handler:
    def __init__(self, received: Received):
        self.received = received

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.received.lock:
            self.received.messages.append(msg)
        return "250 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    received: Received

    def conn_json(self) -> str:
        """The smtp_default connection for a plain loopback server (see AIRFLOW-NOTES: no SSL, no STARTTLS)."""
        import json

        return json.dumps({"conn_type": "smtp", "host": self.host, "port": self.port,
                           "extra": {"disable_ssl": True, "disable_tls": True,
                                     "from_email": "newsbrief@localhost", "timeout": 10, "retry_limit": 1}})


@pytest.fixture
def smtp_server():
    """A real aiosmtpd server on 127.0.0.1 collecting what it receives."""
    from aiosmtpd.controller import Controller

    received = Received()
    port = free_port()
    controller = Controller(_Handler(received), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, received)
    finally:
        controller.stop()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A private copy of config, templates and seeds with its own SQLite store and outbox."""
    for name in ("config", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "seeds").mkdir()
    shutil.copy(SEED, tmp_path / "seeds" / SEED.name)
    monkeypatch.setenv("NEWSBRIEF_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("NEWSBRIEF_TEMPLATES_DIR", str(tmp_path / "templates"))
    monkeypatch.setenv("NEWSBRIEF_SEEDS_DIR", str(tmp_path / "seeds"))
    monkeypatch.setenv("NEWSBRIEF_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("NEWSBRIEF_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("NEWSBRIEF_STORE_URL", raising=False)
    monkeypatch.delenv("NEWSBRIEF_DELIVERY", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    return tmp_path


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or a skip naming what is missing."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}: place the ../shared folder beside the repo to run this")
    return path
