"""Articles, passages, sentences with their vectors, the meta table and the change log.

A SQLite file written before migrations existed already holds these tables (with no Alembic
version table): each is created only when absent, and a passages table from before entities
were tagged gains its ``entities`` column.

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
    present = set(sa.inspect(bind).get_table_names())
    if "meta" not in present:
        op.create_table(
            "meta",
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    if "articles" not in present:
        op.create_table(
            "articles",
            sa.Column("id", sa.Text, primary_key=True),
            sa.Column("title", sa.Text, nullable=False),
            *(
                sa.Column(name, sa.Text)
                for name in ("author", "outlet", "section", "standfirst", "url", "published")
            ),
            sa.Column("extra", sa.Text, nullable=False, server_default="{}"),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("content_hash", sa.Text, nullable=False),
            sa.Column(
                "added_at",
                sa.Text,
                nullable=False,
                server_default=sa.text(f"({utc_timestamp_sql(bind.dialect.name)})"),
            ),
        )
    if "passages" not in present:
        op.create_table(
            "passages",
            # On SQLite an INTEGER PRIMARY KEY named rowid is the row id itself, as before.
            sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("id", sa.Text, nullable=False, unique=True),
            sa.Column(
                "article_id",
                sa.Text,
                sa.ForeignKey("articles.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("ordinal", sa.Integer, nullable=False),
            sa.Column("start", sa.Integer, nullable=False),
            sa.Column("end", sa.Integer, nullable=False),
            sa.Column("vector", sa.LargeBinary, nullable=False),
            # JSON [[start, end, label], ...], offsets into the article text
            sa.Column("entities", sa.Text),
        )
        op.create_index("passages_article", "passages", ["article_id"])
    elif "entities" not in {c["name"] for c in sa.inspect(bind).get_columns("passages")}:
        # Passages stored before entities were tagged have none until re-ingested.
        op.add_column("passages", sa.Column("entities", sa.Text))
    if "sentences" not in present:
        op.create_table(
            "sentences",
            sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column(
                "passage_rowid",
                sa.Integer,
                sa.ForeignKey("passages.rowid", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("start", sa.Integer, nullable=False),
            sa.Column("end", sa.Integer, nullable=False),
            sa.Column("vector", sa.LargeBinary, nullable=False),
        )
        op.create_index("sentences_passage", "sentences", ["passage_rowid"])
    if "changes" not in present:
        # Which articles each committed generation added, replaced or deleted: how a process
        # that did not write brings its snapshot up to date by reading only what changed.
        op.create_table(
            "changes",
            sa.Column("generation", sa.Integer, nullable=False),
            sa.Column("article_id", sa.Text, nullable=False),
        )
        op.create_index("changes_generation", "changes", ["generation"])


def downgrade() -> None:
    for table in ("changes", "sentences", "passages", "articles", "meta"):
        op.drop_table(table)
