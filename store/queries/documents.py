"""The tracked documents: what `documents`, the web's document pages and the crawl's plan read."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    ScalarSelect,
    func,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from store.models import Change, Document, Fetch, Version, service_slug
from store.queries.rows import DocumentRow, FetchIssue, JsonRow


def list_documents(engine: Engine) -> list[DocumentRow]:
    """Every tracked document with its version count and current fetch health, by key."""
    # Versions are numbered from 1 without a gap (`seq`): the last number is the count, read
    # from the index on (document, seq) where counting read every version ever recorded.
    versions = (
        sa_select(func.max(col(Version.seq)))
        .where(col(Version.document_id) == col(Document.id))
        .scalar_subquery()
    )
    query = select(
        Document, func.coalesce(versions, 0), _last_meaningful_of(col(Document.id))
    ).order_by(Document.key)
    with Session(engine) as session:
        return [_document_row(*found) for found in session.exec(query).all()]


def _last_meaningful_of(document_id: Any) -> ScalarSelect[datetime]:
    """When the latest meaningful change of document `document_id` (an id, or a column of
    them) was detected: computed from the changes, so that `rejudge` moves it, where
    `Document.last_changed` counts every flap of the page. One document at a time, from the
    end of its range of the index on (document, meaningful, detected_at): grouping them all
    read the whole index (30,000 changes: 8 ms)."""
    return (
        sa_select(func.max(col(Change.detected_at)))
        .where(col(Change.document_id) == document_id, col(Change.meaningful).is_(True))
        .scalar_subquery()
    )


def last_meaningful_ids(engine: Engine, key: str | None = None) -> dict[str, int]:
    """The id of each document's latest meaningful change (the one `last_meaningful_change`
    dates; of the document `key` alone, when given), by key; a document with none is left
    out. What the web pages link that date to. One document at a time, from the end of its
    range of the index on (document, meaningful, detected_at), as `_last_meaningful_of`."""
    latest = (
        sa_select(col(Change.id))
        .where(col(Change.document_id) == col(Document.id), col(Change.meaningful).is_(True))
        .order_by(col(Change.detected_at).desc(), col(Change.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    query = sa_select(col(Document.key), latest)
    if key is not None:
        query = query.where(col(Document.key) == key.lower())
    with engine.connect() as connection:
        return {found: change for found, change in connection.execute(query) if change}


@dataclass(frozen=True)
class DocumentName:
    """What names a tracked document in a filter's choices."""

    key: str
    service: str
    document_type: str


def document_names(engine: Engine) -> list[DocumentName]:
    """Every tracked document's key, service and type, by key: what the timeline's filters
    offer, without the counts and dates of `list_documents` that every page then paid for."""
    query = sa_select(
        col(Document.key), col(Document.service), col(Document.document_type)
    ).order_by(col(Document.key))
    with engine.connect() as connection:
        return [DocumentName(*row) for row in connection.execute(query)]


@dataclass(frozen=True)
class LastCheck:
    """A document's last fetch attempt (None: never), the declaration it was made with, and the
    kind of its open fetch issue with the number of failed attempts in a row, if it has one."""

    at: datetime | None
    declaration: dict[str, Any]
    issue: str | None = None
    streak: int = 0


def last_checks(engine: Engine, keys: Collection[str]) -> dict[str, LastCheck]:
    """The last attempt of each of `keys` that the store knows, for deciding what is due."""
    # Columns, not documents: building a thousand ORM objects tripled its time (6 -> 17 ms).
    # sqlmodel's `select` is typed for four columns at most; SQLAlchemy's takes any number.
    query = sa_select(
        col(Document.key),
        col(Document.last_checked),
        col(Document.declaration),
        col(Document.issue),
        col(Document.issue_streak),
    ).where(col(Document.key).in_(list(keys)))
    with engine.connect() as connection:
        return {
            key: LastCheck(at, dict(declaration or {}), issue, streak)
            for key, at, declaration, issue, streak in connection.execute(query)
        }


def _document_row(
    document: Document, versions: int, last_meaningful: datetime | None
) -> DocumentRow:
    issue = None
    if document.issue:
        issue = FetchIssue(
            document.issue, document.issue_detail, document.issue_streak, document.issue_since
        )
    return DocumentRow(
        key=document.key,
        service=document.service,
        document_type=document.document_type,
        url=document.url,
        versions=versions,
        last_checked=document.last_checked,
        last_changed=document.last_changed,
        issue=issue,
        last_meaningful_change=last_meaningful,
    )


@dataclass(frozen=True)
class VersionRow(JsonRow):
    """A version of a document: its number in the document's history (`seq`, from 1), when it
    was first seen, and its `id` in the store, by which changes name it (`from_version`)."""

    seq: int
    seen_at: datetime
    id: int


@dataclass(frozen=True)
class DocumentDetail:
    """A document with its versions (oldest first) and its latest text, for the web page."""

    document: DocumentRow
    versions: list[VersionRow]
    latest_text: str | None
    changes: int  # all of them, noise included: its changes are listed a page at a time


def get_document(engine: Engine, key: str) -> DocumentDetail | None:
    """One document by key with its versions and latest text; None when it is not tracked."""
    with Session(engine) as session:
        document = find_document(session, key)
        if document is None:
            return None
        versions = _versions(session, document.id)  # type: ignore[arg-type]
        latest = latest_version(session, document.id)  # type: ignore[arg-type]
        changes = session.exec(
            select(func.count()).select_from(Change).where(Change.document_id == document.id)
        ).one()
        last_meaningful = session.execute(sa_select(_last_meaningful_of(document.id))).scalar()
        return DocumentDetail(
            _document_row(document, len(versions), last_meaningful),
            versions,
            latest.text if latest else None,
            changes,
        )


def find_document(session: Session, key: str) -> Document | None:
    return session.exec(select(Document).where(Document.key == key.lower())).first()


def list_versions(engine: Engine, key: str) -> list[VersionRow] | None:
    """A document's versions, oldest first; None when it is not tracked."""
    with Session(engine) as session:
        document = find_document(session, key)
        return None if document is None else _versions(session, document.id)  # type: ignore[arg-type]


def _versions(session: Session, document_id: int) -> list[VersionRow]:
    rows = session.exec(
        select(Version.seq, Version.seen_at, Version.id)
        .where(Version.document_id == document_id)
        .order_by(col(Version.seq))
    ).all()
    return [VersionRow(seq, seen_at, id_) for seq, seen_at, id_ in rows]  # type: ignore[arg-type]


def latest_version(session: Session, document_id: int) -> Version | None:
    """The newest version of a document, or None before its first."""
    return session.exec(
        select(Version)
        .where(Version.document_id == document_id)
        .order_by(col(Version.seq).desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class FetchRow(JsonRow):
    """A fetch attempt as the preview of a declaration tells it: its status, the bytes of the
    body fetched (None when it failed before one came) and how long it took."""

    status: int | None
    bytes: int | None
    elapsed_ms: int | None


def last_fetch(engine: Engine, key: str) -> FetchRow | None:
    """A document's latest fetch attempt; None when it has none."""
    with Session(engine) as session:
        row = session.exec(
            select(Fetch.status, Fetch.bytes, Fetch.elapsed_ms)
            .join(Document, col(Document.id) == Fetch.document_id)
            .where(Document.key == key.lower())
            .order_by(col(Fetch.id).desc())
            .limit(1)
        ).first()
        return None if row is None else FetchRow(*row)


def recorded_versions(engine: Engine, key: str) -> tuple[datetime | None, set[str]]:
    """Until when a document's text is recorded (None before its first version), and the sha256
    of every version's text: what an import needs to add only what the history lacks.

    Recorded until its latest version, or a later check that found that text again: a repeat an
    import read (a file whose text is the one before), or a crawl's. Up to its latest version
    only, importing a folder again read its trailing repeats anew, counted them as repeats, not
    as already recorded, and logged each once more; and a file dated between a crawl's version
    and its later checks was recorded as the newest wording, though those checks saw another.
    """
    query = (
        select(Version.seen_at, Version.text_sha256)
        .join(Document, col(Document.id) == col(Version.document_id))
        .where(Document.key == key)
    )
    checked = (
        select(func.max(Fetch.at))
        .join(Document, col(Document.id) == col(Fetch.document_id))
        .where(Document.key == key, col(Fetch.outcome).in_(("unchanged", "not-modified")))
    )
    with Session(engine) as session:
        rows = session.exec(query).all()
        last_check = session.exec(checked).one()
    until = max((seen for seen, _ in rows), default=None)
    if until is not None and last_check is not None:
        until = max(until, last_check)
    return until, {digest for _, digest in rows}


@dataclass(frozen=True)
class TrackedNames:
    """What a subscription's filters may name, as far as the tracked documents tell."""

    keys_of: dict[str, set[str]]  # each tracked service's document keys
    tags: set[str]

    @property
    def services(self) -> set[str]:
        return set(self.keys_of)

    @property
    def keys(self) -> set[str]:
        return set().union(*self.keys_of.values())

    def service(self, typed: str) -> str | None:
        """The tracked service `typed` names, in any case or by its slug (as `_service_is`
        selects), written as the catalog writes it; None when it names none."""
        wanted = typed.lower()
        for service, keys in sorted(self.keys_of.items()):
            if wanted == service.lower() or wanted in {service_slug(key) for key in keys}:
                return service
        return None


def tracked_names(engine: Engine) -> TrackedNames:
    query = sa_select(col(Document.service), col(Document.key), col(Document.tags))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    keys_of: dict[str, set[str]] = {}
    for service, key, _ in rows:
        keys_of.setdefault(service, set()).add(key)
    return TrackedNames(keys_of, {tag for _, _, tags in rows for tag in tags or []})
