"""The diff of two versions as the change page shows it: sections, line pairs, word spans.

The texts are normalized Markdown, so headings (`# …`) are the natural landmarks: the diff is cut
into sections at each heading, and only the sections that changed are expanded. Lines are aligned
with difflib; a replaced line is paired with its counterpart and compared word by word, so a
reviewer sees the two words that moved the meaning rather than two whole paragraphs.
Everything here is plain data: the templates escape every piece of text they print.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Literal

SpanKind = Literal["same", "del", "ins"]
RowKind = Literal["equal", "insert", "delete", "replace"]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
_CONTEXT = 2  # unchanged lines shown around an edit inside an expanded section


@dataclass(frozen=True)
class Span:
    kind: SpanKind
    text: str


@dataclass(frozen=True)
class Row:
    """One line of the old text facing one line of the new (either may be missing)."""

    kind: RowKind
    old_no: int | None
    new_no: int | None
    old: tuple[Span, ...]
    new: tuple[Span, ...]
    inline: tuple[Span, ...]
    flagged: bool = False  # the line holds a sentence a rule matched


@dataclass
class Section:
    """The lines under one heading; `changed` sections are shown expanded."""

    title: str
    level: int
    rows: list[Row] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(row.kind != "equal" for row in self.rows)

    @property
    def anchor(self) -> str:
        return "s-" + re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    def visible_rows(self) -> list[Row | None]:
        """Changed rows with a little context; None marks a run of unchanged lines left out."""
        keep = {
            index + offset
            for index, row in enumerate(self.rows)
            if row.kind != "equal"
            for offset in range(-_CONTEXT, _CONTEXT + 1)
        }
        shown: list[Row | None] = []
        for index, row in enumerate(self.rows):
            if index in keep:
                shown.append(row)
            elif shown[-1:] != [None]:
                shown.append(None)
        return shown


def word_spans(old: str, new: str) -> tuple[tuple[Span, ...], tuple[Span, ...], tuple[Span, ...]]:
    """The old line, the new line and the inline view of both, as marked word spans."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    left: list[Span] = []
    right: list[Span] = []
    inline: list[Span] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        if tag == "equal":
            same = Span("same", before)
            left.append(same)
            right.append(same)
            inline.append(same)
            continue
        if before:
            left.append(Span("del", before))
            inline.append(Span("del", before))
        if after:
            right.append(Span("ins", after))
            inline.append(Span("ins", after))
    return tuple(left), tuple(right), tuple(inline)


def _squash(text: str) -> str:
    """Whitespace and case folded: rule matches quote sentences, not the page's exact bytes."""
    return " ".join(text.split()).casefold()


def _rows(old_lines: list[str], new_lines: list[str], sentences: list[str]) -> list[Row]:
    wanted = [squashed for squashed in map(_squash, sentences) if squashed]

    def flagged(*lines: str) -> bool:
        return any(sentence in _squash(line) for line in lines if line for sentence in wanted)

    rows: list[Row] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                same = (Span("same", old_lines[i]),)
                rows.append(Row("equal", i + 1, j + 1, same, same, same))
            continue
        for i, j in zip_longest(range(i1, i2), range(j1, j2)):
            old = old_lines[i] if i is not None else ""
            new = new_lines[j] if j is not None else ""
            left, right, inline = word_spans(old, new)
            kind: RowKind = "insert" if i is None else "delete" if j is None else "replace"
            rows.append(
                Row(
                    kind,
                    None if i is None else i + 1,
                    None if j is None else j + 1,
                    left,
                    right,
                    inline,
                    flagged(old, new),
                )
            )
    return rows


def sections(old: str, new: str, sentences: list[str] | None = None) -> list[Section]:
    """The diff cut at headings; `sentences` (rule matches) flag the lines that hold them."""
    result = [Section("Top of the page", 0)]
    for row in _rows(old.splitlines(), new.splitlines(), sentences or []):
        text = "".join(span.text for span in (row.new if row.new_no else row.old))
        heading = _HEADING.match(text)
        if heading:
            result.append(Section(heading.group(2), len(heading.group(1))))
        result[-1].rows.append(row)
    return [section for section in result if section.rows]
