"""changes queued to the subscriptions, and subscriptions caught up with the changes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00.000000

`notify` asked each subscription about every change ever found, at every run. Now it asks about
the changes not yet `queued` (an index finds them), and each subscription once about those found
since it was made (`caught_up`). Every change is marked queued here and every subscription is
left to catch up: the first `notify` after the upgrade asks as before, once, what is owed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as 0008's: a column with a default needs no copy of the table on SQLite.
    op.add_column(
        "change", sa.Column("queued", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.execute(sa.text("UPDATE change SET queued = :queued").bindparams(queued=True))
    op.create_index("ix_change_queued", "change", ["queued"])
    op.add_column(
        "subscription",
        sa.Column("caught_up", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("subscription", "caught_up")
    op.drop_index("ix_change_queued", table_name="change")
    op.drop_column("change", "queued")
