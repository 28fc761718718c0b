"""Changes a page has since undone, or brought back: a restriction withdrawn a week later
must not read as the page's last word.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import (
    Engine,
    Select,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import Session, col

from store.db import in_batches
from store.latest import newest_versions
from store.models import Change, Version
from store.queries.rows import JsonRow


@dataclass(frozen=True)
class Revert(JsonRow):
    """The change that took a page back to its wording before an earlier change."""

    change_id: int
    detected_at: datetime


def reverts(engine: Engine, change_ids: Sequence[int]) -> dict[int, Revert]:
    """Of `change_ids`, those whose page reads today as it did before them (its latest version
    has the fingerprint of the change's old version: the same text, cosmetics aside), each with
    the latest change that took it back. A restriction a page withdrew a week later (YouTube's,
    among others) read on the timeline as the page's last word."""
    if not change_ids:
        return {}
    with Session(engine) as session:
        return reverts_in(session, change_ids)


def reverts_in(session: Session, change_ids: Collection[int]) -> dict[int, Revert]:
    """`reverts` within `session` (the outbox asks within its write transaction), any number
    of ids: they are asked `IN_LIST_SIZE` at a time."""
    return _batched(session, change_ids, col(Change.from_version_id))


def restores_in(session: Session, change_ids: Collection[int]) -> dict[int, Revert]:
    """Of `change_ids`, those whose page reads today as it did *after* them again, a later
    change having brought that wording back, each with the latest such change: a withdrawn
    clause put back (the outbox tells whoever it told of the withdrawal)."""
    return _batched(session, change_ids, col(Change.to_version_id))


@cache  # built once per side: building it (aliases, subqueries) cost more than running it
def reads_as(side: Mapped[int]) -> Select[int | None]:
    """The ids of the changes whose document's latest version has the fingerprint of their
    version on `side`, as a query: those `reverts_in` (before) or `restores_in` (after) may
    find, and every document's latest change on the after side. A caller asking about each of
    a growing number of rows (every alert ever sent) narrows them to these in SQL first: few
    read so, and no page can have changed without its latest version changing. It starts from
    the latest versions (one per document) and finds the versions sharing their fingerprint by
    index, then the changes on their `side`: not every change ever found joined with its
    version."""
    newest = newest_versions(None, col(Version.document_id), col(Version.fingerprint))
    latest = newest.where(col(Version.fingerprint) != "").subquery()
    version = aliased(Version)
    same = (col(version.document_id) == latest.c.document_id) & (
        col(version.fingerprint) == latest.c.fingerprint
    )
    return (
        sa_select(col(Change.id))
        .select_from(latest)
        .join(version, same)
        .join(Change, side == col(version.id))
    )


def _batched(session: Session, change_ids: Collection[int], side: Mapped[int]) -> dict[int, Revert]:
    found: dict[int, Revert] = {}
    for batch in in_batches(sorted(set(change_ids))):
        found |= _back_to(session, batch, side)
    return found


def _back_to(session: Session, change_ids: Sequence[int], side: Mapped[int]) -> dict[int, Revert]:
    """Of `change_ids`, those whose document's latest version has the fingerprint of their
    version on `side` (before: undone; after: brought back), each with the latest later change
    that arrived at that wording."""
    version = aliased(Version)
    changes = session.execute(
        sa_select(col(Change.id), col(Change.document_id), col(version.fingerprint))
        .join(version, col(version.id) == side)
        .where(col(Change.id).in_(change_ids))
    ).all()
    documents = {document_id for _, document_id, _ in changes}
    latest = _latest_fingerprints(session, documents)
    back = {
        (document_id, fingerprint)
        for _, document_id, fingerprint in changes
        if fingerprint and latest.get(document_id) == fingerprint
    }
    if not back:
        return {}
    takers = session.execute(
        sa_select(
            col(Change.id),
            col(Change.document_id),
            col(Change.detected_at),
            col(Version.fingerprint),
        )
        .join(Version, col(Version.id) == col(Change.to_version_id))
        .where(
            col(Change.document_id).in_({document_id for document_id, _ in back}),
            col(Version.fingerprint).in_({fingerprint for _, fingerprint in back}),
        )
        .order_by(col(Change.id))
    ).all()
    found: dict[int, Revert] = {}
    for change_id, document_id, fingerprint in changes:
        if (document_id, fingerprint) not in back:
            continue
        later = [
            Revert(taker, at)
            for taker, taker_document, at, taken_to in takers
            if taker_document == document_id and taker > change_id and taken_to == fingerprint
        ]
        if later:
            found[change_id] = later[-1]
    return found


def _latest_fingerprints(session: Session, documents: Collection[int]) -> dict[int, str]:
    """The fingerprint of each document's latest version."""
    latest = newest_versions(documents, col(Version.document_id), col(Version.fingerprint))
    return dict(session.execute(latest).all())
