"""Judging a document's stored changes again, as the rules judge them now.

Rules improve from release to release (and users edit their own), but a change keeps the
verdict it was given when it was found: without this, last year's false alarm stays high on the
timeline, and a restriction the old rules missed stays noise. Each change is judged as
`Repository.record_text` would judge it now, with the history as it stood then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from diffengine import text_fingerprint
from store.db import writer
from store.models import Change, Document, Version, utcnow
from store.repository import Earlier, Judge, past_of, verdict_values

# What a reader of the timeline sees of a verdict. A change whose other columns alone differ (the
# excerpts kept since it was found, a match's title) is refreshed, not reported as judged anew.
VISIBLE = ("meaningful", "reason", "severity", "summary", "effective_date")


@dataclass(frozen=True)
class Rejudged:
    """A change whose stored verdict differs from the one it is given now (`before`, `after`:
    the verdict's columns)."""

    change_id: int
    detected_at: datetime
    before: dict[str, Any]
    after: dict[str, Any]

    @property
    def moved(self) -> bool:
        """Whether what the timeline shows of it differs."""
        return any(_same(self.before[name]) != _same(self.after[name]) for name in VISIBLE)


@dataclass(frozen=True)
class Judged:
    """What judging a document's changes again found: how many there were, and those whose
    verdict differs, oldest first."""

    key: str
    judged: int
    differing: list[Rejudged]


def rejudge(engine: Engine, key: str, judge: Judge, *, write: bool = True) -> Judged:
    """Judge every change of `key` again, oldest first, each told of the history before it as
    judged now (a version now judged an anomaly is no baseline for the next), and store the
    verdicts that differ, marked `rejudged_at`, unless not `write`.

    The document stays locked meanwhile: a crawl recording a version of it waits, rather than
    being judged against verdicts half rewritten. Not for a dry run, which writes nothing: it
    held the store's write lock as long (seconds a document, on SQLite), and crawls waited on
    it. Fingerprints are taken again too, as the diff engine takes them now: they tell a page
    flipping back to an earlier text.
    """
    now = utcnow()
    with Session(writer(engine) if write else engine) as session, session.begin():
        found = select(Document).where(Document.key == key)
        document = session.exec(found.with_for_update() if write else found).first()
        if document is None:
            raise KeyError(f"unknown document {key}")
        rows = session.exec(
            select(Version, Change)
            .outerjoin(Change, col(Change.to_version_id) == col(Version.id))
            .where(Version.document_id == document.id)
            .order_by(col(Version.seq))
        ).all()
        texts = {version.id: version.text for version, _ in rows if version.id is not None}
        earlier: list[Earlier] = []  # newest first
        differing: list[Rejudged] = []
        for version, change in rows:
            assert version.id is not None
            fingerprint = text_fingerprint(version.text)
            if write and len(rows) > 1:  # a lone first version waits for one: see `Version`
                version.fingerprint = fingerprint
            if change is None:  # the first version
                earlier.insert(0, Earlier(version.id, fingerprint, None, False))
                continue
            past = past_of(earlier, lambda _: texts)
            assessment = judge(
                texts[earlier[0].id],
                version.text,
                past.seen,
                baseline=past.baseline,
                history=past.history,
                accepted=change.accepted,
                old_accepted=past.old_accepted,
                today=change.detected_at.date(),
            )
            after = verdict_values(assessment)
            before = {name: getattr(change, name) for name in after}
            if any(_same(before[name]) != _same(after[name]) for name in after):
                assert change.id is not None
                differing.append(Rejudged(change.id, change.detected_at, before, after))
                if write:
                    for name, value in after.items():
                        setattr(change, name, value)
                    change.rejudged_at = now
            earlier.insert(0, Earlier(version.id, fingerprint, assessment.reason, change.accepted))
    return Judged(key, len(rows) - 1 if rows else 0, differing)


def _same(value: Any) -> str:
    """A column's value as stored and as a verdict gives it, made comparable: JSON columns come
    back with lists where the verdict has tuples."""
    return json.dumps(value, sort_keys=True, default=str)
