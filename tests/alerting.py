"""Building a store with documents and judged changes for the notifier tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import count

from sqlalchemy import Engine

from diffengine import Assessment, RuleMatch
from store.db import open_store
from store.queries import get_change
from store.repository import Attempt, DocumentInfo, Repository

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
WHATSAPP = DocumentInfo(
    "whatsapp/business-solution-terms",
    "WhatsApp",
    "Business Solution Terms",
    "https://www.whatsapp.com/legal/business-solution-terms",
    tags=["messaging", "meta"],
)
OPENAI = DocumentInfo(
    "openai/usage-policies", "OpenAI", "Usage Policies", "https://openai.com/policies", tags=["ai"]
)


class History:
    """A store whose documents change on demand, each change judged as the test says."""

    def __init__(self, db_url: str, documents: Sequence[DocumentInfo] = (WHATSAPP, OPENAI)) -> None:
        self.engine: Engine = open_store(db_url)
        self.repo = Repository(self.engine)
        self.repo.sync_documents(documents, at=T0 - timedelta(days=30))
        self._texts = count()
        for document in documents:
            self._record(document, T0 - timedelta(days=30), None)

    def _record(
        self,
        document: DocumentInfo,
        at: datetime,
        judge: Assessment | None,
        text: str | None = None,
    ) -> int | None:
        text = f"Version {next(self._texts)} of {document.key}. {text or ''}".strip()
        verdict = judge or Assessment(True, None, None, (), "first", 0, 0, 0)
        recorded = self.repo.record_text(
            document.key, Attempt(document.url, at=at), text, lambda *_, **__: verdict
        )
        return recorded.change_id

    def change(
        self,
        document: DocumentInfo = WHATSAPP,
        *,
        severity: str | None = "critical",
        categories: Sequence[str] = ("ai-restriction",),
        summary: str = "AI providers barred",
        sentences: Sequence[str] = ("General-purpose AI providers may not use the API.",),
        at: datetime | None = None,
        effective: date | None = None,
        meaningful: bool = True,
        noise: str = "cosmetic",
        text: str | None = None,
    ) -> int:
        """Record a change of `document` judged as given (`noise`: why it is not meaningful),
        its new version ending with `text` if given; returns its id."""
        matches = tuple(
            RuleMatch(
                "ai-providers", categories[0] if categories else "", severity or "", s, "added"
            )
            for s in sentences
        )
        verdict = Assessment(
            meaningful,
            None if meaningful else noise,
            severity,
            tuple(categories),
            summary,
            len(sentences),
            0,
            0,
            matches,
            effective,
        )
        change_id = self._record(document, at or datetime.now(UTC), verdict, text)
        assert change_id is not None
        return change_id


def withdraw(history: History, change_id: int, at: datetime | None = None) -> int:
    """The page reads again as before `change_id`: a change judged noise (its text was seen
    before), as the diff engine judges it. Returns the undoing change's id."""
    detail = get_change(history.engine, change_id)
    assert detail is not None
    flapping = Assessment(False, "flapping", None, (), "back", 0, 0, 0)
    attempt = Attempt(WHATSAPP.url, at=at or datetime.now(UTC))
    recorded = history.repo.record_text(
        WHATSAPP.key, attempt, detail.old_text, lambda *_, **__: flapping
    )
    assert recorded.change_id is not None
    return recorded.change_id


def reinstate(history: History, change_id: int) -> int:
    """The page reads again as after `change_id`: noise too, its text seen before. Returns the
    reinstating change's id."""
    detail = get_change(history.engine, change_id)
    assert detail is not None
    flapping = Assessment(False, "flapping", None, (), "back", 0, 0, 0)
    recorded = history.repo.record_text(
        WHATSAPP.key, Attempt(WHATSAPP.url), detail.new_text, lambda *_, **__: flapping
    )
    assert recorded.change_id is not None
    return recorded.change_id
