"""The diff of two versions as the change page shows it: sections, line pairs, word spans.

The texts are Markdown as extracted, and are read as the diff engine reads them: the diff is cut
into sections at each heading, `# Title` or `Title` over `====` (as Open Terms Archive's imports
have them), and only the sections that changed are expanded. Lines are aligned with difflib; in a
run of differing lines each line faces the line it became, compared word by word, so a reviewer
sees the two words that moved the meaning rather than two whole paragraphs, while a line alike
to none (an inserted section, a block replaced by other text) stands alone across an empty cell.
Everything here is plain data: the templates escape every piece of text they print.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from math import isqrt
from typing import Literal

from diffengine.blocks import locate_blocks
from diffengine.compare import MAX_PAIRING, pair_alike
from diffengine.normalize import inline, item_text
from diffengine.words import token_spans

SpanKind = Literal["same", "del", "ins"]
RowKind = Literal["equal", "insert", "delete", "replace"]

_KINDS: dict[str, SpanKind] = {"equal": "same", "delete": "del", "insert": "ins"}
_CONTEXT = 2  # unchanged lines shown around an edit inside an expanded section
_STRETCH = isqrt(MAX_PAIRING)  # lines a side of the longest run `pair_alike` pairs


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
    holds: frozenset[int] = frozenset()  # the matched sentences (by index) the line holds

    @property
    def flagged(self) -> bool:
        """Whether the line holds a sentence a rule matched."""
        return bool(self.holds)


@dataclass
class Section:
    """The lines under one heading; `changed` sections are shown expanded."""

    title: str
    level: int
    rows: list[Row] = field(default_factory=list)
    # Its id on the newer version's page, where a folded section's text is read; None for a
    # heading only the older text has.
    place: str | None = None

    @property
    def changed(self) -> bool:
        return any(row.kind != "equal" for row in self.rows)

    @property
    def flagged(self) -> bool:
        """Whether a line of it holds a sentence a rule matched: the section a reviewer looks
        for first among the many a rewrite changes."""
        return any(row.flagged for row in self.rows)

    def holds(self, sentence: int) -> bool:
        """Whether a line of it holds matched sentence number `sentence`."""
        return any(sentence in row.holds for row in self.rows)

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
    inline_spans = tuple(Span(_KINDS[span.op], span.text) for span in token_spans(old, new))
    return (
        tuple(span for span in inline_spans if span.kind != "ins"),
        tuple(span for span in inline_spans if span.kind != "del"),
        inline_spans,
    )


def _squash(text: str) -> str:
    """Whitespace and case folded: rule matches quote sentences, not the page's exact bytes."""
    return " ".join(text.split()).casefold()


class _Side:
    """One version, line by line, with the blocks the lines belong to as the engine reads them."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        located = locate_blocks(self.lines)
        self._blocks = [found.block for found in located]
        self._starts = [found.line for found in located]
        self._owners = [-1] * len(self.lines)  # the block of each line; -1: blank, a rule
        ends = [*self._starts[1:], len(self.lines)][: len(self._starts)]  # none in a blank text
        for index, (start, end) in enumerate(zip(self._starts, ends, strict=True)):
            for line in range(start, end):
                if not self.lines[line].strip():
                    break  # a blank line ends every block
                self._owners[line] = index
        self._texts: dict[int, str] = {}

    def heading(self, line: int) -> Section | None:
        """A new section if a heading (of either style) starts on `line`."""
        index = self._owners[line]
        block = self._blocks[index] if index >= 0 else None
        if block is None or block.kind != "heading" or self._starts[index] != line:
            return None
        title = self._text(index)
        return Section(title, block.level) if title else None

    def holds(self, line: int, sentences: list[str]) -> frozenset[int]:
        """Which of `sentences` (squashed; "" for none) the block `line` is part of holds.

        Matched sentences are quoted in the engine's normal form (ISO dates, link targets
        gone, plain quotes), and a sentence may be wrapped over lines: so the comparison is
        made on the normal form of the whole block the line belongs to.
        """
        index = self._owners[line]
        if index < 0:
            return frozenset()
        text = _squash(self._text(index))
        return frozenset(n for n, sentence in enumerate(sentences) if sentence and sentence in text)

    def normal(self, lines: range) -> dict[int, str]:
        """Some lines in normal form, by index: what lines are paired by."""
        return {line: inline(self.lines[line]) for line in lines}

    def _text(self, index: int) -> str:
        """The normal form of block `index`, as the engine gives it to the rules."""
        if index not in self._texts:
            self._texts[index] = item_text(self._blocks[index])
        return self._texts[index]


def _pairs(
    before: _Side, after: _Side, olds: range, news: range
) -> Iterator[tuple[int | None, int | None]]:
    """The lines of a run of differing lines, each facing the line it became or nothing.

    `pair_alike` leaves a run too long to search whole unpaired; such a run (a list whose every
    item was reworded) is cut into stretches along its diagonal, each short enough to be paired.
    """
    count = -(-max(len(olds), len(news)) // _STRETCH)
    for part in range(count):
        old_part = olds[part * len(olds) // count : (part + 1) * len(olds) // count]
        new_part = news[part * len(news) // count : (part + 1) * len(news) // count]
        old_texts, new_texts = before.normal(old_part), after.normal(new_part)
        yield from pair_alike(old_part, new_part, old_texts.__getitem__, new_texts.__getitem__)


Opcode = tuple[str, int, int, int, int]
_FINE_RUN = 250_000  # old × new lines of a run diffed again: a page rewritten whole is not


def _line_opcodes(old: list[str], new: list[str]) -> Iterator[Opcode]:
    """difflib's opcodes of two texts' lines, found with blank lines as junk, then each
    differing run diffed again as it is.

    Thousands of blank lines alike made difflib try each as the anchor of a match (9.8 s for a
    1 MB policy reworded throughout); as junk they join only the runs they border, so the
    second pass gives back a blank line between two edits its place as an unchanged line (a
    run too long for it, a page rewritten whole, keeps the first pass's verdict).
    """
    coarse = difflib.SequenceMatcher(_blank, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in coarse.get_opcodes():
        if tag == "equal" or i1 == i2 or j1 == j2 or (i2 - i1) * (j2 - j1) > _FINE_RUN:
            yield tag, i1, i2, j1, j2
            continue
        fine = difflib.SequenceMatcher(None, old[i1:i2], new[j1:j2], autojunk=False)
        for sub, k1, k2, m1, m2 in fine.get_opcodes():
            yield sub, i1 + k1, i1 + k2, j1 + m1, j1 + m2


def _blank(line: str) -> bool:
    return not line.strip()


def _rows(before: _Side, after: _Side, sentences: list[str]) -> list[Row]:
    wanted = [_squash(sentence) for sentence in sentences]
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in _line_opcodes(before.lines, after.lines):
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                same = (Span("same", before.lines[i]),)
                rows.append(Row("equal", i + 1, j + 1, same, same, same))
            continue
        for old, new in _pairs(before, after, range(i1, i2), range(j1, j2)):
            left, right, inline_spans = word_spans(
                "" if old is None else before.lines[old], "" if new is None else after.lines[new]
            )
            kind: RowKind = "insert" if old is None else "delete" if new is None else "replace"
            rows.append(
                Row(
                    kind,
                    None if old is None else old + 1,
                    None if new is None else new + 1,
                    left,
                    right,
                    inline_spans,
                    (frozenset() if old is None else before.holds(old, wanted))
                    | (frozenset() if new is None else after.holds(new, wanted)),
                )
            )
    return rows


def sections(old: str, new: str, sentences: list[str] | None = None) -> list[Section]:
    """The diff cut at headings; `sentences` (rule matches) flag the lines that hold them."""
    before, after = _Side(old), _Side(new)
    return _cut(_rows(before, after, sentences or []), before, after)


def holders(found: list[Section], count: int) -> list[tuple[int, Section] | None]:
    """For each of `count` matched sentences, the first section of `found` holding it, with
    its place in the list from 1 (what its heading's id is made of); None where no line holds
    it (a sentence the engine read in a page's header)."""
    return [
        next(((place, section) for place, section in enumerate(found, 1) if section.holds(n)), None)
        for n in range(count)
    ]


def outline(text: str) -> list[Section]:
    """One version cut at its headings as a diff cuts its newer text, so that each section
    has the `place` the change pages' links to it name."""
    side = _Side(text)
    rows = []
    for number, line in enumerate(side.lines, start=1):
        same = (Span("same", line),)
        rows.append(Row("equal", number, number, same, same, same))
    return _cut(rows, side, side)


def _cut(rows: Iterable[Row], before: _Side, after: _Side) -> list[Section]:
    """Rows cut at headings. Only the newer text's headings are counted into places (the
    nth of a title is `s-title-n`): a diff and the newer text alone give each the same."""
    seen: Counter[str] = Counter()
    result = [_placed(Section("Top of the page", 0), seen)]
    for row in rows:
        if row.new_no:
            heading = after.heading(row.new_no - 1)
            if heading:
                _placed(heading, seen)
        else:
            heading = before.heading(row.old_no - 1) if row.old_no else None
        if heading:
            result.append(heading)
        result[-1].rows.append(row)
    return [section for section in result if section.rows]


def _placed(section: Section, seen: Counter[str]) -> Section:
    seen[section.anchor] += 1
    section.place = f"{section.anchor}-{seen[section.anchor]}"
    return section
