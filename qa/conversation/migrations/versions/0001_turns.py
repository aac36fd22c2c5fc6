"""The turns table: references to what answered each question (schema 3 of the SQLite files
written before migrations; such a file already has it, and it is left as it is).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from index.engine import utc_timestamp_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("turns"):
        return
    op.create_table(
        "turns",
        sa.Column("conversation_id", sa.Text, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("resolved", sa.Text, nullable=False),
        sa.Column("answered", sa.Integer, nullable=False),
        # the answer: characters [answer_start, answer_end) of the article cited as answer_rank
        sa.Column("answer_rank", sa.Integer),
        sa.Column("answer_start", sa.Integer),
        sa.Column("answer_end", sa.Integer),
        # the exact answer inside the answer sentence, same article: [span_start, span_end)
        sa.Column("span_start", sa.Integer),
        sa.Column("span_end", sa.Integer),
        sa.Column("citations", sa.Text, nullable=False),  # JSON list of references, no text
        sa.Column(
            "created_at",
            sa.Text,
            nullable=False,
            server_default=sa.text(f"({utc_timestamp_sql(bind.dialect.name)})"),
        ),
        sa.Column("feedback", sa.Text),
        sa.Column("feedback_at", sa.Text),
        sa.PrimaryKeyConstraint("conversation_id", "idx"),
        sa.CheckConstraint("feedback IN ('up', 'down')", name="turns_feedback"),
    )
    op.create_index("turns_by_age", "turns", ["created_at"])


def downgrade() -> None:
    op.drop_table("turns")
