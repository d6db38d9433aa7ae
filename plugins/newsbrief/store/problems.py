"""Failed inputs of a run (a seed file, a feed, a page): what the digest footer lists."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsbrief.store.schema import Problem


def add_problem(session: Session, run_key: str, stage: str, source: str, reason: str) -> None:
    """Record a failed input for the digest footer, once per run, stage and source."""
    try:
        with session.begin_nested():
            exists = session.execute(select(Problem.id).where(
                Problem.run_key == run_key, Problem.stage == stage, Problem.source == source)).first()
            if exists is None:
                session.add(Problem(run_key=run_key, stage=stage, source=source[:2048], reason=reason))
                session.flush()
    except IntegrityError:
        pass
