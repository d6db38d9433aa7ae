"""Indexes for a store of a million articles: articles by ingestion time (a day's articles, the clustering
window) and digests by recipient (what a recipient was already sent), so none of them scans the table."""

from alembic import op

revision = "0006_scale_indexes"
down_revision = "0005_search_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_articles_ingested_at", "articles", ["ingested_at"])
    op.create_index("ix_digests_recipient", "digests", ["recipient"])


def downgrade() -> None:
    op.drop_index("ix_digests_recipient", table_name="digests")
    op.drop_index("ix_articles_ingested_at", table_name="articles")
