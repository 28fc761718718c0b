"""The newest version of each document: what a page says today, which `reverts` compares a
change with and reminders read their dates in."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from store.models import Document, Version


def newest_versions(documents: Collection[int] | None, *columns: Any) -> Select[Any]:
    """A query of `columns` of the newest version of each of `documents` (None: of them all).

    Each document's newest version is looked up by the index on (document, seq), one per
    document: grouping the versions by document read every version ever recorded."""
    newer = aliased(Version)
    newest = (
        select(col(newer.id))
        .where(col(newer.document_id) == col(Document.id))
        .order_by(col(newer.seq).desc())
        .limit(1)
        .correlate(Document)
        .scalar_subquery()
    )
    ids = select(newest).select_from(Document)
    if documents is not None:
        ids = ids.where(col(Document.id).in_(documents))
    return select(*columns).where(col(Version.id).in_(ids))
