"""alert_items: the alerts' exactly-once ledger keyed by (alert_key, article_id)."""

import sqlalchemy as sa
from alembic import op

revision = "0004_alerts_ledger"
down_revision = "0003_template_lines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_key", sa.String(420), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("batch_key", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=False),
        sa.Column("matched", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("alert_key", "article_id"),
    )
    op.create_index("ix_alert_items_alert_key", "alert_items", ["alert_key"])
    op.create_index("ix_alert_items_recipient", "alert_items", ["recipient"])
    op.create_index("ix_alert_items_article_id", "alert_items", ["article_id"])
    op.create_index("ix_alert_items_message_id", "alert_items", ["message_id"])


def downgrade() -> None:
    op.drop_table("alert_items")
