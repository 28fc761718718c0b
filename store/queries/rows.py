"""Rows of the read side: the stable shapes of `--json` output and of the web API.

Their field names are documented in the README and must not change lightly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlmodel import col

from store.models import Change, Document

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str | None) -> int:
    """Position in SEVERITIES; no severity yet (diff engine pending) counts as `info`."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


_PLAIN = (str, int, float, type(None))


def _jsonable(value: Any) -> Any:
    """`value` as plain JSON data: dates in ISO form, dataclasses (a nested `FetchIssue`) as
    dicts of their fields. Walked once, where `dataclasses.asdict` deep-copied every list and
    dict of the stored JSON first: two thirds of `/api/changes` building 1,000 rows."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _jsonable(getattr(value, name)) for name in _field_names(type(value))}
    return value


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


class JsonRow:
    """A row that turns into plain JSON data with ISO dates."""

    def to_json(self) -> dict[str, Any]:
        json_data: dict[str, Any] = _jsonable(self)
        return json_data


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
    last_changed: datetime | None  # any change, noise included: a flapping page's latest flap
    issue: FetchIssue | None
    # The latest change judged meaningful: what a reviewer asks "when did it last change?" of.
    last_meaningful_change: datetime | None


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
    excerpts: list[dict[str, Any]]
    effective_date: date | None
    redeclared: bool  # read right after the declaration changed: see `Change.redeclared`
    rejudged_at: datetime | None  # when `rejudge` last gave it another verdict

    @property
    def effective_as_given(self) -> str | None:
        """The effective date as the page gave it: a month without its day ("effective March
        2026") is stored as its first day, the earliest the change may apply, and the diff
        engine's summary says the month; shown as the month, not as a day the page never gave.
        Else the ISO date; None when the change has none."""
        when = self.effective_date
        if when is None:
            return None
        month = f"{when:%B %Y}"
        return month if when.day == 1 and f"effective {month}" in self.summary else when.isoformat()

    def matched_sentences(self) -> list[MatchedSentence]:
        """Each sentence the rules caught, once, most severe first: a clause caught by three
        rules is shown as one clause with three rules, not as the clause three times."""
        caught: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for match in self.matches:
            caught.setdefault(_sentence_key(match), []).append(match)
        sentences = [
            MatchedSentence(text, _side(found), tuple(found), _before(found))
            for (text, _), found in caught.items()
        ]
        return sorted(sentences, key=lambda sentence: -severity_rank(sentence.severity))


def _sentence_key(match: dict[str, Any]) -> tuple[str, str]:
    """One rewording is one sentence, whichever side its rules name: a rule reading the words
    it gained ("at any time and without notice") says `added`, another reading the sentence
    `changed`, and alerts quoted it twice, each time with its old wording."""
    return match["sentence"], match.get("before") or match.get("side", "")


def _side(matches: list[dict[str, Any]]) -> str:
    """A reworded sentence is `changed`, though some of its rules read it as words added."""
    sides = [str(match.get("side", "")) for match in matches]
    return "changed" if "changed" in sides else sides[0]


def _before(matches: list[dict[str, Any]]) -> str:
    """The old wording of a reworded sentence, as its matches keep it (changes recorded before
    matches kept it have none)."""
    return next((str(match["before"]) for match in matches if match.get("before")), "")


@dataclass(frozen=True)
class MatchedSentence:
    """A sentence with every rule match on it (`matches`: the stored match objects), and its
    old wording when it was reworded (`before`; "" for a sentence added or removed)."""

    sentence: str
    side: str
    matches: tuple[dict[str, Any], ...]
    before: str = ""

    @property
    def severity(self) -> str:
        """The worst severity of its matches."""
        return max((match.get("severity") or "info" for match in self.matches), key=severity_rank)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(match["category"] for match in self.matches))

    @property
    def rule_ids(self) -> list[str]:
        return [match["rule_id"] for match in self.matches]


@dataclass(frozen=True)
class Skipped(JsonRow):
    """A version passed over as a broken capture in judging a later change: the change that
    made it (judged an anomaly), its store id and its number in the document's history."""

    change_id: int
    version: int
    seq: int


# The largest id a change can have: PostgreSQL's INTEGER key (SQLite's reaches further, but a
# store never gets there). An id typed beyond it names no change; asked for, it made the
# database driver overflow (a 500 on the web, a traceback on the command line).
MAX_ID = 2**31 - 1


# The columns of a `ChangeRow`, by its fields: a listing reads these alone, not every column
# of two ORM objects (a document's declaration decoded once for each of its changes).
ROW_COLUMNS: dict[str, Any] = {
    "id": col(Change.id),
    "key": col(Document.key),
    "service": col(Document.service),
    "document_type": col(Document.document_type),
    "url": col(Document.url),
    "detected_at": col(Change.detected_at),
    "from_version": col(Change.from_version_id),
    "to_version": col(Change.to_version_id),
    "meaningful": col(Change.meaningful),
    "reason": col(Change.reason),
    "severity": col(Change.severity),
    "categories": col(Change.categories),
    "summary": col(Change.summary),
    "added": col(Change.added),
    "removed": col(Change.removed),
    "changed": col(Change.changed),
    "matches": col(Change.matches),
    "excerpts": col(Change.excerpts),
    "effective_date": col(Change.effective_date),
    "redeclared": col(Change.redeclared),
    "rejudged_at": col(Change.rejudged_at),
}


_LISTS = ("categories", "matches", "excerpts")  # JSON lists, which an old row may hold as null


def change_row_of(values: Sequence[Any]) -> ChangeRow:
    """A row of `ROW_COLUMNS`' values, in their order."""
    fields = dict(zip(ROW_COLUMNS, values, strict=True))
    for name in _LISTS:
        fields[name] = list(fields[name] or [])
    return ChangeRow(**fields)


def change_row(change: Change, document: Document) -> ChangeRow:
    return change_row_of(
        [
            getattr(change if column.class_ is Change else document, column.key)
            for column in ROW_COLUMNS.values()
        ]
    )
