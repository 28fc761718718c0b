"""Reading the history back: the rows behind `documents`, `history` and `show`.

The dataclasses here are the stable shape of `--json` output (and of the web API later): their
field names are documented in the README and must not change lightly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from store.models import Change, Document, Version

SEVERITIES = ("info", "low", "medium", "high", "critical")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


class JsonRow:
    """A row that turns into plain JSON data with ISO dates."""

    def to_json(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]


@dataclass(frozen=True)
class FetchIssue(JsonRow):
    kind: str
    detail: str | None
    streak: int
    since: datetime | None


@dataclass(frozen=True)
class DocumentRow(JsonRow):
    key: str
    service: str
    document_type: str
    url: str
    versions: int
    last_checked: datetime | None
    last_changed: datetime | None
    issue: FetchIssue | None


@dataclass(frozen=True)
class ChangeRow(JsonRow):
    id: int
    key: str
    service: str
    document_type: str
    url: str
    detected_at: datetime
    from_version: int
    to_version: int
    meaningful: bool
    reason: str | None
    severity: str | None
    categories: list[str]
    summary: str
    added: int
    removed: int
    changed: int
    matches: list[dict[str, Any]]
    effective_date: date | None


@dataclass(frozen=True)
class ChangeDetail:
    """A change with the two texts it lies between, for display."""

    change: ChangeRow
    old_text: str
    new_text: str


def list_documents(engine: Engine) -> list[DocumentRow]:
    """Every tracked document with its version count and current fetch health, by key."""
    counts = (
        select(Version.document_id, func.count().label("n"))
        .group_by(col(Version.document_id))
        .subquery()
    )
    query = (
        select(Document, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.document_id == Document.id)
        .order_by(Document.key)
    )
    with Session(engine) as session:
        return [_document_row(document, n) for document, n in session.exec(query).all()]


def _document_row(document: Document, versions: int) -> DocumentRow:
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
    )


def list_changes(
    engine: Engine,
    *,
    service: str | None = None,
    document: str | None = None,
    since: datetime | None = None,
    min_severity: str | None = None,
    include_noise: bool = False,
    limit: int | None = None,
) -> list[ChangeRow]:
    """Changes newest first; noise (not meaningful) only when asked for."""
    query = select(Change, Document).join(Document, col(Change.document_id) == Document.id)
    if service:
        query = query.where(func.lower(Document.service) == service.lower())
    if document:
        query = query.where(Document.key == document.lower())
    if since:
        query = query.where(Change.detected_at >= since)
    if min_severity:
        allowed = SEVERITIES[SEVERITIES.index(min_severity) :]
        query = query.where(col(Change.severity).in_(allowed))
    if not include_noise:
        query = query.where(col(Change.meaningful).is_(True))
    query = query.order_by(col(Change.detected_at).desc(), col(Change.id).desc()).limit(limit)
    with Session(engine) as session:
        return [_change_row(change, doc) for change, doc in session.exec(query).all()]


def get_change(engine: Engine, change_id: int) -> ChangeDetail | None:
    """One change with its before and after texts; None when there is no such change."""
    with Session(engine) as session:
        change = session.get(Change, change_id)
        if change is None:
            return None
        document = session.get_one(Document, change.document_id)
        before = session.get_one(Version, change.from_version_id)
        after = session.get_one(Version, change.to_version_id)
        return ChangeDetail(_change_row(change, document), before.text, after.text)


def _change_row(change: Change, document: Document) -> ChangeRow:
    return ChangeRow(
        id=change.id,  # type: ignore[arg-type]
        key=document.key,
        service=document.service,
        document_type=document.document_type,
        url=document.url,
        detected_at=change.detected_at,
        from_version=change.from_version_id,
        to_version=change.to_version_id,
        meaningful=change.meaningful,
        reason=change.reason,
        severity=change.severity,
        categories=list(change.categories or []),
        summary=change.summary,
        added=change.added,
        removed=change.removed,
        changed=change.changed,
        matches=list(change.matches or []),
        effective_date=change.effective_date,
    )
