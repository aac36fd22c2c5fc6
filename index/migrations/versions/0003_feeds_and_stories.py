"""Feeds polled for articles (``index/feeds.py``): the registry, the entries seen, and the
lease that lets one replica poll at a time; and the story each article belongs to
(``index/stories.py``), with the MinHash signature it was grouped by.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text),
        sa.Column("interval_seconds", sa.Float, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("added", sa.Text, nullable=False),
        sa.Column("last_fetch", sa.Text),
        sa.Column("last_outcome", sa.Text),
        sa.Column("last_error", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_fetch", sa.Float, nullable=False, server_default="0"),
        sa.Column("entries_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("articles_stored", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "feed_entries",
        sa.Column(
            "feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("entry_key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("article_id", sa.Text),
    )
    op.create_table(
        "feed_lease",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("expires", sa.Float, nullable=False),
    )
    op.execute("INSERT INTO feed_lease (name, holder, expires) VALUES ('poller', '', 0)")
    op.create_table(
        "article_stories",
        sa.Column("article_id", sa.Text, primary_key=True),
        sa.Column("story_id", sa.Text, nullable=False, index=True),
        sa.Column("signature", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("article_stories")
    op.drop_table("feed_lease")
    op.drop_table("feed_entries")
    op.drop_table("feeds")
