"""The store's Alembic migrations: `env.py` and one revision file a schema change in `versions/`.

Nothing here reads an alembic.ini: `newsbrief.store.migrate` builds the configuration from the store
URL, so `newsbrief db upgrade` works from any directory and from the installed package.
"""
