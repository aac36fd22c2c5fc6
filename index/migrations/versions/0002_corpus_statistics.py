"""Corpus statistics kept by the writer: per-article rows and per-term document frequencies
(``index/statistics.py``), for replicas that search Milvus and hold no passages in memory.

A store written before them gets them from its articles the first time a corpus opens on it
(``Corpus`` fills in the articles that have none).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_counts",
        sa.Column("term", sa.Text, primary_key=True),
        sa.Column("df", sa.Integer, nullable=False),
    )
    op.create_table(
        "article_stats",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("passages", sa.Integer, nullable=False),
        sa.Column("sentences", sa.Integer, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
        sa.Column("vector_sum", sa.LargeBinary, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("acronyms", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("article_stats")
    op.drop_table("term_counts")
