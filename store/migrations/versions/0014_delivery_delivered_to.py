"""deliveries remember the destinations that took a message whose send failed for others

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 10:00:00.000000

A mail to several recipients, one of whom the server refused, failed as a whole: every retry
mailed the others again. A delivery now records the destinations (a mail's recipients, the URLs
of a subscription of several) that have its message, and a retry leaves them out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place, as 0012's: a column with a default needs no copy of the table on SQLite.
    op.add_column(
        "delivery",
        sa.Column("delivered_to", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.drop_column("delivery", "delivered_to")
