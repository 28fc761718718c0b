"""follow-ups looked up by topic among themselves: a partial index replaces ix_delivery_topic

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:00:00.000000

`notify` looks for the sent withdrawals of the changes whose page reads again as after them, by
topic (`withdrawn:<change>`). Over 0011's index of every delivery's topic, PostgreSQL, reckoning
each topic owed to every subscription, or without statistics yet, read every delivery ever made
(52 ms at 100,000). The index now holds the deliveries of no change alone (withdrawals,
reinstatements, reminders, fetch events), which the query names.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLLOW_UPS = sa.text("change_id IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_delivery_follow_up_topic",
        "delivery",
        ["topic"],
        sqlite_where=FOLLOW_UPS,
        postgresql_where=FOLLOW_UPS,
    )
    op.drop_index("ix_delivery_topic", table_name="delivery")


def downgrade() -> None:
    op.create_index("ix_delivery_topic", "delivery", ["topic"])
    op.drop_index("ix_delivery_follow_up_topic", table_name="delivery")
