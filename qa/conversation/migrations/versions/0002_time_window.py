"""The period a turn was answered from: the publication days its question named (or inherited
from the turn before), so a follow-up keeps them.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


COLUMNS = ("window_from", "window_to", "window_phrase")


def upgrade() -> None:
    # A SQLite file from before the schema was Alembic's may already hold them: it is stamped
    # with every revision whose tables it has.
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("turns")}
    missing = [name for name in COLUMNS if name not in present]
    if not missing:
        return
    with op.batch_alter_table("turns") as batch:
        # ISO days, inclusive, and the question's words for them ("last week")
        for name in missing:
            batch.add_column(sa.Column(name, sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("window_phrase")
        batch.drop_column("window_to")
        batch.drop_column("window_from")
