"""search index: PostgreSQL GIN index over the articles' English text-search vector; subscribers' muted alerts

Revision ID: 0005_search_index
Revises: 0004_alerts_ledger

The index expression is exactly `newsbrief.web.search.PG_DOCUMENT`, so the planner can use it for the
web app's `@@ websearch_to_tsquery(...)`. SQLite stores need no index here: their search uses the web
app's own FTS5 table. `subscriber_prefs.muted_alerts` holds the alerts a subscriber left with the
one-click link of one alert (a JSON list of alert ids), so the alert runs can skip them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_search_index"
down_revision = "0004_alerts_ledger"
branch_labels = None
depends_on = None

INDEX = "ix_articles_search_english"
DOCUMENT = "to_tsvector('english', title || ' ' || text)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON articles USING gin ({DOCUMENT})")
    with op.batch_alter_table("subscriber_prefs") as batch:
        batch.add_column(sa.Column("muted_alerts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscriber_prefs") as batch:
        batch.drop_column("muted_alerts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
