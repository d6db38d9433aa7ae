"""alert_subscriptions: alerts added or removed outside subscribers.yaml; alert_items.claimed_at: the send lease

Revision ID: 0007_alert_subscriptions
Revises: 0004_alerts_ledger
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_alert_subscriptions"
down_revision = "0006_scale_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("alert_id", sa.String(length=80), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email", "alert_id"),
    )
    op.create_index("ix_alert_subscriptions_email", "alert_subscriptions", ["email"])
    with op.batch_alter_table("alert_items") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_items") as batch:
        batch.drop_column("claimed_at")
    op.drop_index("ix_alert_subscriptions_email", table_name="alert_subscriptions")
    op.drop_table("alert_subscriptions")
