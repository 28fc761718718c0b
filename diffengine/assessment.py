"""The verdict on one new version of a document, as the store records it."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class RuleMatch:
    """One rule that fired on one sentence of the change."""

    rule_id: str
    category: str
    severity: str
    sentence: str
    side: str  # "added" or "removed"


@dataclass(frozen=True)
class Assessment:
    """What the store keeps of a change: whether it matters, how much, and why."""

    meaningful: bool
    reason: str | None  # why not meaningful: "cosmetic", "flapping", "anomaly"
    severity: str | None
    categories: tuple[str, ...]
    summary: str
    added: int
    removed: int
    changed: int
    matches: tuple[RuleMatch, ...] = field(default_factory=tuple)
    effective_date: date | None = None


def text_fingerprint(text: str) -> str:
    """A stable hash of a text, used to recognise contents already seen."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _line_counts(old: str, new: str) -> tuple[int, int, int]:
    added = removed = changed = 0
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            added += j2 - j1
        elif tag == "delete":
            removed += i2 - i1
        elif tag == "replace":
            changed += max(i2 - i1, j2 - j1)
    return added, removed, changed


def assess(old: str, new: str, seen: Collection[str] = ()) -> Assessment:
    """Judge the change from `old` to `new`; `seen` holds fingerprints of earlier versions.

    Until the classifying engine lands, every change of the extracted text counts as meaningful
    and is summarised by its line counts.
    """
    added, removed, changed = _line_counts(old, new)
    summary = f"{added} lines added, {removed} removed, {changed} changed"
    return Assessment(
        meaningful=True,
        reason=None,
        severity=None,
        categories=(),
        summary=summary,
        added=added,
        removed=removed,
        changed=changed,
    )
