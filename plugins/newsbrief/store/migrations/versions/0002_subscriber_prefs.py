"""subscriber_prefs: opt-outs and preferences set on the web (types written out, as in the baseline)

Revision ID: 0002_subscriber_prefs
Revises: 0001_baseline
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_subscriber_prefs"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriber_prefs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=True),
        sa.Column("sentences", sa.Integer(), nullable=True),
        sa.Column("max_items", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )


def downgrade() -> None:
    op.drop_table("subscriber_prefs")
