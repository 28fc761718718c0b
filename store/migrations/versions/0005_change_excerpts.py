"""the first sentences of each change, for alerts about changes no rule recognised

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 19:30:00.000000

Changes recorded before this revision have no excerpts (NULL): their alerts quote nothing, as
before; the texts they would come from are still in `version`.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excerpts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.drop_column("excerpts")
