"""when `policywatch rejudge` gave a change a verdict other than the one it was found with

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 00:20:00.000000

No change was judged anew before this revision (null).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("change", sa.Column("rejudged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("change", "rejudged_at")  # in place, as 0008's
