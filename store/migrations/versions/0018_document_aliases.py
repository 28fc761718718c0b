"""the keys documents were known by before a rename

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:30:00.000000

A document renamed (the catalog's `formerly`, see store/renames.py) keeps its history under its
new key; the table `document_alias` remembers each key it had, so that the addresses, commands
and settings naming an old key still find it. Filled here with the keys 0017 respelled: a
document whose key is its names' plain spelling, where the spelling before 0017 differs, was
known by that one (a document first crawled since then gets an alias nobody typed: harmless,
and a key some document holds is never made an alias). The spelling before 0017 is copied here
as it was, as 0017 copies it: a migration must not change when the code does.
"""

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _accented(text: str) -> str:
    """A name's slug before 0017, which took each accented letter for a word break."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


_document = sa.table(
    "document",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("service", sa.String),
    sa.column("document_type", sa.String),
)


def _respelled() -> list[dict[str, object]]:
    """The alias rows of the documents 0017 respelled: their key before it, and their id."""
    rows = op.get_bind().execute(
        sa.select(_document.c.id, _document.c.key, _document.c.service, _document.c.document_type)
    )
    documents = rows.all()
    taken = {row.key for row in documents}
    now = datetime.now(UTC)
    aliases = []
    for row in documents:
        old = f"{_accented(row.service)}/{_accented(row.document_type)}"
        if old not in taken:
            taken.add(old)
            aliases.append({"old_key": old, "document_id": row.id, "renamed_at": now})
    return aliases


def upgrade() -> None:
    table = op.create_table(
        "document_alias",
        sa.Column("old_key", sa.String(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("renamed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.PrimaryKeyConstraint("old_key"),
    )
    with op.batch_alter_table("document_alias", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_alias_document_id"), ["document_id"], unique=False
        )
    if aliases := _respelled():
        op.bulk_insert(table, aliases)


def downgrade() -> None:
    with op.batch_alter_table("document_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_alias_document_id"))
    op.drop_table("document_alias")
