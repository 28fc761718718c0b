"""Effective dates still to come, as the pages state them today: what reminders trust.

A change's effective date was read when the change was found. Since then the page may have
moved the date ("effective 2026-01-15" now "effective 2026-02-01", a later change of its own) or
withdrawn the clause: a reminder of the old date would send people after a deadline that is
gone. So a date counts only while the document's latest version still states it, in any of the
spellings the diff engine reads as that date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from store.latest import newest_versions
from store.models import Change, Document, Version


def dated_changes(
    session: Session,
    *,
    start: date,
    end: date | None,
    where: Sequence[ColumnElement[bool]] = (),
) -> tuple[list[tuple[Change, Document]], int]:
    """The meaningful changes (and their documents) taking effect from `start` to `end`
    (inclusive; no end: any time later) whose date their page still states, and how many more
    whose date it no longer does: what `upcoming` lists and reminders recall."""
    query = (
        select(Change, Document)
        .join(Document, col(Change.document_id) == Document.id)
        .where(*where, col(Change.meaningful).is_(True), col(Change.effective_date) >= start)
    )
    if end is not None:
        query = query.where(col(Change.effective_date) <= end)
    found = session.exec(query).all()
    stated = still_stated(session, [change for change, _ in found])
    kept = [(change, document) for change, document in found if change.id in stated]
    return kept, len(found) - len(kept)


def still_stated(session: Session, changes: Sequence[Change]) -> set[int]:
    """The ids of `changes` whose effective date their document's latest version still states."""
    # Imported on use: `history`, `documents` and `--help` load this module, not the engine.
    from diffengine.dates import canonical_dates, states

    documents = {change.document_id for change in changes if change.effective_date}
    latest = {
        document: canonical_dates(text)
        for document, text in _latest_texts(session, documents).items()
    }
    return {
        change.id
        for change in changes
        if change.id is not None
        and change.effective_date is not None
        # A day given without its year ("Starting March 1") is read as on the day it was found.
        and states(
            latest.get(change.document_id, ""), change.effective_date, change.detected_at.date()
        )
    }


def _latest_texts(session: Session, documents: set[int]) -> dict[int, str]:
    if not documents:
        return {}
    latest = newest_versions(documents, col(Version.document_id), col(Version.text))
    return dict(session.execute(latest).all())


def reminder_time(effective: date, days: int) -> datetime:
    """When the reminder `days` before `effective` is due: the start of that UTC day, or, for
    days before the calendar begins (stored before `MAX_REMINDER` bounded them), its first
    moment, which is never owed: a notify failed on them, for every subscription."""
    try:
        return datetime.combine(effective - timedelta(days=days), time(), tzinfo=UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)
