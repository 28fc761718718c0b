"""whether the user accepted a change's new capture (crawl --accept-capture)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 20:10:00.000000

Changes recorded before this revision were not accepted (false): an accepted capture was judged
as an anomaly then, and stays as it was judged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("accepted", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("change", schema=None) as batch_op:
        batch_op.drop_column("accepted")
