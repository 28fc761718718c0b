"""The newest version of each document: what a page says today, which `reverts` compares a
change with and reminders read their dates in."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, select
from sqlmodel import col

from store.models import Version


def newest_versions(documents: Collection[int] | None, *columns: Any) -> Select[Any]:
    """A query of `columns` of the newest version of each of `documents` (None: of them all)."""
    seqs = select(col(Version.document_id), func.max(col(Version.seq)).label("seq"))
    if documents is not None:
        seqs = seqs.where(col(Version.document_id).in_(documents))
    newest = seqs.group_by(col(Version.document_id)).subquery()
    return select(*columns).join(
        newest,
        (col(Version.document_id) == newest.c.document_id) & (col(Version.seq) == newest.c.seq),
    )
