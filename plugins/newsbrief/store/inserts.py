"""Bulk inserts that a concurrent run may have beaten: rows already stored are kept, not raised about.

Two runs racing on the same article (a retry overlapping a zombie task, two DAGs on one seed) both look,
both find nothing and both insert; the database's unique constraints decide, and `ON CONFLICT DO
NOTHING` turns the loser's insert into a no-op instead of a raw IntegrityError in the task log.
"""

from __future__ import annotations

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_new(session: Session, model, rows: list[dict]) -> None:
    """Insert `rows` into `model`'s table, skipping any that a unique constraint says are already stored."""
    if not rows:
        return
    dialect_insert = _DIALECT_INSERT.get(session.get_bind().dialect.name)
    statement = dialect_insert(model).on_conflict_do_nothing() if dialect_insert else insert(model)
    session.execute(statement, rows)
