"""rule match titles with the product named, not the raw placeholder

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 21:30:00.000000

A stored match kept its rule's title template ("AI providers barred from {target}") until the
diff engine filled it where the match is made; the command line, the pages, the feeds and the
alerts showed the placeholder for changes recorded before. This revision fills it as the engine
does, from the matched sentence, with a copy of the engine's pattern as it stands at this
revision (a migration must not change when the engine does). The schema is unchanged.
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PLACEHOLDER = "{target}"
_TARGET = re.compile(
    r"\b(?:from|on|via|through|with|to)\s+(?:accessing or using\s+|accessing\s+|using\s+|"
    r"access to\s+|use of\s+)?the\s+((?:[A-Z][\w'&-]*\s?){1,5})"
)


def _filled(match: dict[str, Any]) -> dict[str, Any]:
    title = str(match.get("title", ""))
    if _PLACEHOLDER not in title:
        return match
    found = _TARGET.search(str(match.get("sentence", "")))
    product = f"the {found.group(1).strip()}" if found else "the platform"
    named = title.replace(_PLACEHOLDER, product)
    return {**match, "title": named[:1].upper() + named[1:]}


def upgrade() -> None:
    change = sa.table("change", sa.column("id", sa.Integer), sa.column("matches", sa.JSON))
    connection = op.get_bind()
    placeholders = sa.select(change.c.id, change.c.matches).where(
        sa.cast(change.c.matches, sa.Text).like(f"%{_PLACEHOLDER}%")
    )
    for change_id, matches in connection.execute(placeholders).all():
        filled = [_filled(match) for match in matches]
        connection.execute(change.update().where(change.c.id == change_id).values(matches=filled))


def downgrade() -> None:
    """Nothing to put back: earlier releases show a filled title as it is."""
