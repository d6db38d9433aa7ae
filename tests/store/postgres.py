"""A fresh database on the local PostgreSQL for one test or module, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """The URL of a new database named `<prefix>_<random>`; skips the test when no server answers."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - no server: skip with the reason
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({type(exc).__name__}): start it to run these")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
