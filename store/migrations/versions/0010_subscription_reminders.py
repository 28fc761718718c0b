"""how many days before a change takes effect each subscription is reminded of it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 03:00:00.000000

Subscriptions made before this revision are reminded 7 days and 1 day before, as new ones are
unless told otherwise (`policywatch subscriptions remind NAME --off` stops them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as 0008's: a column with a default needs no copy of the table on SQLite.
    op.add_column(
        "subscription",
        sa.Column("reminders", sa.JSON(), nullable=False, server_default=sa.text("'[7, 1]'")),
    )


def downgrade() -> None:
    op.drop_column("subscription", "reminders")
