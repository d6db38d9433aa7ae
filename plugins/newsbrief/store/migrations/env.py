"""Alembic environment for the store, configured by `newsbrief.store.migrate` (no alembic.ini).

The caller hands over an open connection in `config.attributes["connection"]` (its transaction is the
caller's to commit); the `sqlalchemy.url` option is the fallback when no connection is given.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from newsbrief.store.schema import Base

config = context.config
target_metadata = Base.metadata
VERSION_TABLE = config.attributes.get("version_table", "newsbrief_alembic_version")


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"}, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.begin() as connection:
        _configure(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
