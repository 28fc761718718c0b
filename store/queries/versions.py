"""A document's versions, one or two at a time: what `text`, `compare` and their web pages read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    func,
)
from sqlmodel import Session, col, select

from store.models import Change, Document, Snapshot, Version, decompress
from store.queries.changes import changes_json
from store.queries.documents import VersionRow, find_document
from store.queries.rows import MAX_ID, ChangeRow, JsonRow, change_row


@dataclass(frozen=True)
class VersionInfo(JsonRow):
    """One version of a document (`seq` of `versions`, from 1), without its text: when the page
    said it, from when it was first seen (`seen_at`) until the next version was (`replaced_at`,
    None for the latest). The changes that led to it and away from it are named by id
    (`came_by` is None for the first version, `left_by` for the latest)."""

    key: str
    service: str
    document_type: str
    url: str
    seq: int
    seen_at: datetime
    id: int
    versions: int
    replaced_at: datetime | None
    came_by: int | None
    left_by: int | None


@dataclass(frozen=True)
class VersionDetail(VersionInfo):
    """One version of a document with its whole text: what the page said (`text --json`)."""

    text: str


def get_version(engine: Engine, key: str, seq: int) -> VersionDetail | None:
    """Version `seq` (from 1) of a document; None when the document is not tracked or has no
    such version."""
    found = get_versions(engine, key, (seq,))
    return found[0] if found else None


def version_snapshot(engine: Engine, key: str, seq: int) -> tuple[bytes, str | None] | None:
    """The raw body version `seq` of a document was read from, and its Content-Type (a combined
    document's is a MIME multipart of its pages); None when the store kept none. A preview reads
    it to tell what the selectors left out of the page."""
    with Session(engine) as session:
        row = session.exec(
            select(Snapshot.content, Snapshot.content_type)
            .join(Version, col(Version.snapshot_sha256) == Snapshot.sha256)
            .join(Document, col(Document.id) == Version.document_id)
            .where(Document.key == key.lower(), Version.seq == seq)
        ).first()
        return None if row is None else (decompress(row[0]), row[1])


def get_versions(engine: Engine, key: str, seqs: Sequence[int]) -> list[VersionDetail] | None:
    """Versions `seqs` of a document, in that order, read at once: its versions counted once,
    not once for each (a comparison reads two). None when the document is not tracked or lacks
    one of them."""
    if not all(0 < seq < MAX_ID for seq in seqs):  # one past it is asked for: when replaced
        return None
    with Session(engine) as session:
        document = find_document(session, key)
        if document is None:
            return None
        versions = session.exec(
            select(func.count()).select_from(Version).where(Version.document_id == document.id)
        ).one()
        found = [_version_detail(session, document, seq, versions) for seq in seqs]
        details = [detail for detail in found if detail is not None]
        return details if len(details) == len(seqs) else None


def _version_detail(
    session: Session, document: Document, seq: int, versions: int
) -> VersionDetail | None:
    """Version `seq` of `document`, which has `versions` in all; None when it has no such one."""
    version = session.exec(
        select(Version).where(Version.document_id == document.id, Version.seq == seq)
    ).first()
    if version is None:
        return None
    replaced_at = session.exec(
        select(Version.seen_at).where(Version.document_id == document.id, Version.seq == seq + 1)
    ).first()
    changes = select(Change.id).where(Change.document_id == document.id)
    came_by = session.exec(changes.where(Change.to_version_id == version.id)).first()
    left_by = session.exec(changes.where(Change.from_version_id == version.id)).first()
    return VersionDetail(
        document.key,
        document.service,
        document.document_type,
        document.url,
        version.seq,
        version.seen_at,
        version.id,  # type: ignore[arg-type]
        versions,
        replaced_at,
        came_by,
        left_by,
        version.text,
    )


def changes_between(engine: Engine, key: str, first: int, last: int) -> list[ChangeRow]:
    """The changes that led a document from version `first` to version `last`, oldest first,
    noise included."""
    with Session(engine) as session:
        document = find_document(session, key)
        if document is None:
            return []
        changes = session.exec(
            select(Change)
            .join(Version, col(Version.id) == col(Change.to_version_id))
            .where(Change.document_id == document.id, Version.seq > first, Version.seq <= last)
            .order_by(col(Version.seq))
        ).all()
        return [change_row(change, document) for change in changes]


@dataclass(frozen=True)
class Comparison:
    """Two versions of a document, the older `before`, and the changes that led from one to
    the other (`between`, oldest first, noise included): what the compare page and `compare`
    show and their JSON gives."""

    before: VersionDetail
    after: VersionDetail
    between: list[ChangeRow]

    @property
    def meaningful(self) -> list[ChangeRow]:
        """The changes between that are listed, oldest first."""
        return [change for change in self.between if change.meaningful]

    @property
    def noise(self) -> int:
        """How many changes between were judged noise: counted, not listed."""
        return sum(not change.meaningful for change in self.between)


def compare_versions(engine: Engine, key: str, first: int, second: int) -> Comparison | None:
    """Versions `first` and `second` of a document, in either order; None when the document is
    not tracked or lacks one of them."""
    older, newer = sorted((first, second))
    found = get_versions(engine, key, (older, newer))
    if found is None:
        return None
    before, after = found
    return Comparison(before, after, changes_between(engine, key, older, newer))


def comparison_json(engine: Engine, compared: Comparison) -> dict[str, Any]:
    """What `compare --json` and `/api/documents/KEY/compare` give, but the diff of the texts
    (the command line's and the web's to make): each side the object of `text --json` without
    its text, the meaningful changes between as `history --json` gives them, the noise
    counted."""

    def side(version: VersionDetail) -> dict[str, Any]:
        return {name: value for name, value in version.to_json().items() if name != "text"}

    return {
        "key": compared.after.key,
        "before": side(compared.before),
        "after": side(compared.after),
        "changes": changes_json(engine, compared.meaningful),
        "noise": compared.noise,
    }


def version_on(versions: Sequence[VersionRow], moment: datetime) -> VersionRow | None:
    """The version a page showed at `moment`: the newest first seen by then (versions oldest
    first); None before the first."""
    return next((version for version in reversed(versions) if version.seen_at <= moment), None)
