"""Effective dates still to come, as the pages state them today: what reminders trust.

A change's effective date was read when the change was found. Since then the page may have
moved the date ("effective 2026-01-15" now "effective 2026-02-01", a later change of its own) or
withdrawn the clause: a reminder of the old date would send people after a deadline that is
gone. So a date counts only while the document's latest version still states it, in any of the
spellings the diff engine reads as that date.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col

from store.latest import newest_versions
from store.models import Change, Version


def still_stated(session: Session, changes: Sequence[Change]) -> set[int]:
    """The ids of `changes` whose effective date their document's latest version still states."""
    # Imported on use: `history`, `documents` and `--help` load this module, not the engine.
    from diffengine.dates import canonical_dates

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
        and change.effective_date.isoformat() in latest.get(change.document_id, "")
    }


def _latest_texts(session: Session, documents: set[int]) -> dict[int, str]:
    if not documents:
        return {}
    latest = newest_versions(documents, col(Version.document_id), col(Version.text))
    return dict(session.execute(latest).all())
