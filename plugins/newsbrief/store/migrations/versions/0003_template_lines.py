"""template_lines: line/sentence keys per source and article, from which a source's furniture is learned."""

import sqlalchemy as sa
from alembic import op

revision = "0003_template_lines"
down_revision = "0002_subscriber_prefs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "template_lines",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(2048), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.UniqueConstraint("source", "key", "article_id"),
    )
    op.create_index("ix_template_lines_source", "template_lines", ["source"])
    op.create_index("ix_template_lines_article_id", "template_lines", ["article_id"])


def downgrade() -> None:
    op.drop_index("ix_template_lines_article_id", table_name="template_lines")
    op.drop_index("ix_template_lines_source", table_name="template_lines")
    op.drop_table("template_lines")
