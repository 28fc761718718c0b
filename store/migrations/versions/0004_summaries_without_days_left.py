"""change summaries without the days left they were written with

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 05:00:00.000000

A summary used to end with the days left before its effective date, counted the day the change
was found ("…; effective 2026-01-15 (82 days left)"). Stored, that count went stale and
contradicted the one alerts and pages count when they show the change; the diff engine now writes
the date alone, and this revision takes the count off the summaries written before. The schema is
unchanged.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTED = re.compile(r"(; effective \d{4}-\d{2}-\d{2}) \((?:today|\d+ days left)\)$")


def upgrade() -> None:
    connection = op.get_bind()
    query = sa.text("SELECT id, summary FROM change WHERE summary LIKE '%; effective %'")
    update = sa.text("UPDATE change SET summary = :summary WHERE id = :id")
    for change_id, summary in connection.execute(query).all():
        dated = _COUNTED.sub(r"\1", summary)
        if dated != summary:
            connection.execute(update, {"summary": dated, "id": change_id})


def downgrade() -> None:
    """Nothing to put back: earlier releases show a summary as it is."""
