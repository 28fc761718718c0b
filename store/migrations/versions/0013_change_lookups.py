"""versions looked up by fingerprint, changes by the version they left and by effective date

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 20:00:00.000000

`notify` looks for the changes whose page reads again as before or after them: it now starts
from each document's latest version and finds the versions of that document with its
fingerprint, then the changes that left or reached them; without these indexes it joined every
change ever found, at every run. Reminders recall the changes taking effect in the coming days:
without an index on `effective_date` every change was read.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_version_document_fingerprint", "version", ["document_id", "fingerprint"])
    op.create_index("ix_change_from_version_id", "change", ["from_version_id"])
    op.create_index("ix_change_effective_date", "change", ["effective_date"])


def downgrade() -> None:
    op.drop_index("ix_change_effective_date", table_name="change")
    op.drop_index("ix_change_from_version_id", table_name="change")
    op.drop_index("ix_version_document_fingerprint", table_name="version")
