"""whether a document's next text, and a change, were read under a changed declaration

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 23:40:00.000000

Changes recorded before this revision were read under the declaration of the version before
them, as far as anyone can tell now (false); no document waits for a re-read (false): a
declaration changed before this revision was re-read under the earlier code, which did not mark
it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("document", "change")


# Not in batch mode: on SQLite that copies a table anew, and dropping the old `document` fails on
# the rows that refer to it. SQLite adds a column with a default, and drops one (since 3.35), in
# place.


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(
            table, sa.Column("redeclared", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "redeclared")
