"""deliveries looked up by topic: the withdrawals a reinstatement may follow up

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:00:00.000000

`notify` looks for the sent withdrawals of the changes whose page reads again as after them, by
topic (`withdrawn:<change>`); without an index it read every delivery ever made, at every run.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_delivery_topic", "delivery", ["topic"])


def downgrade() -> None:
    op.drop_index("ix_delivery_topic", table_name="delivery")
