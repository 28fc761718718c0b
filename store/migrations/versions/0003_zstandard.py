"""texts and raw bodies compressed with Zstandard

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 07:00:00.000000

New rows of `version.text` and `snapshot.content` are Zstandard frames; rows written before stay
zlib streams, which the store still reads (`store.models.decompress`). The schema is unchanged:
this revision is here so that a release which reads only zlib refuses the store with a clear
error, and so that a downgrade gives that release rows it can read.
"""

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
import zstandard
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_COMPRESSED = (("version", "id", "text"), ("snapshot", "sha256", "content"))


def upgrade() -> None:
    """Nothing to rewrite: zlib rows are read as they are."""


def downgrade() -> None:
    """Every Zstandard row recompressed with zlib, which the older releases read."""
    connection = op.get_bind()
    for table, key, column in _COMPRESSED:
        rows = connection.execute(sa.text(f"SELECT {key}, {column} FROM {table}"))
        for row_key, data in rows.all():
            if bytes(data).startswith(_ZSTD_MAGIC):
                old = zlib.compress(zstandard.decompress(bytes(data)), 1)
                update = f"UPDATE {table} SET {column} = :data WHERE {key} = :key"
                connection.execute(sa.text(update), {"data": old, "key": row_key})
