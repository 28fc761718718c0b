"""The structured diff of two versions of a policy.

Three levels, each answering its own question:

- sections (heading path -> its blocks), compared with deepdiff: which sections were added,
  removed or changed;
- blocks (paragraphs, list items, headings, table rows), aligned with difflib: what was added,
  removed, changed or moved, with word-level spans for display;
- sentences, aligned with difflib inside each changed region: what the rules read. A sentence
  that left one place and arrived in another is a move, and a paragraph merged with the next or
  rewrapped is not a change at all: only sentences that really differ come out.

Blocks that are byte-identical in both versions are never normalized: on a long policy with a
handful of edits nearly all the work is skipped (see `bench/diff_speed.py`).
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from diffengine.blocks import parse_blocks, run_in_title
from diffengine.chrome import chrome_zones, is_chrome
from diffengine.normalize import comparable, inline, item_text
from diffengine.sentences import split_sentences
from diffengine.words import Span, shared_head, word_spans

Path = tuple[str, ...]
ParagraphKind = Literal["added", "removed", "changed", "moved"]
SentenceKind = Literal["added", "removed", "changed"]

_SIMILAR = 0.5  # two paragraphs or sentences at least this alike are one, edited
# Two that differ in figures only ("3. Termination" renumbered, "| Free | 60 |" lowered to 10,
# a date moved) are one edited, however short: by words they are barely half alike.
_REFIGURED = 0.75
MAX_PAIRING = 2_500  # candidate pairs examined per region; a full rewrite is not paired
_HEADER_BLOCKS = 8  # the top of a page, where effective and "last updated" dates sit
_INTRO_LOOKBACK = 200  # blocks walked back to find the sentence that introduces a list

_CELL_BORDER = re.compile(r"(?<!\\)\|")  # a table's cell border, not an escaped "\|"
_TOKEN = re.compile(r"\w+|[^\w\s]")  # what paragraphs and sentences are paired by
# A dateline: a short label and a date, "Dated: 2010-06-09" (dates reach here in ISO form),
# perhaps with a link after it, "Effective as of 2022-01-05 (view previous version)".
_DATELINE = re.compile(
    r"^(?P<label>\W*\w[^:\d]{0,30}?)\s*:?\s*(?P<date>(?:19|20)\d\d-[01]\d-[0-3]\d)"
    r"(?:\s*\([^()\d]{1,40}\))?\W*$"
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ParagraphChange:
    """A block that was added, removed, changed or moved; texts normalized, markers left out."""

    kind: ParagraphKind
    section: Path
    old: str = ""
    new: str = ""
    level: int = 0  # heading level; 0 for paragraphs, list items and table rows
    chrome: bool = False
    spans: tuple[Span, ...] = ()
    from_section: Path = ()  # where a moved block was


@dataclass(frozen=True, slots=True)
class SentenceChange:
    """A sentence added, removed or changed, with the text that introduces its list, if any."""

    kind: SentenceKind
    section: Path
    old: str = ""
    new: str = ""
    old_intro: str = ""
    new_intro: str = ""
    chrome: bool = False
    known: bool = False  # the new wording is in an earlier version: the page flaps (`assess`)
    # A sentence of a table's row: the whole row, each cell after its column's head ("Change:
    # New rate limits; Effective date: 2026-01-15"). A date in a table says what it is only by
    # its column: the effective date of the row the change touched.
    old_row: str = ""
    new_row: str = ""


@dataclass(frozen=True, slots=True)
class Hunk:
    """Neighbouring block changes with a little unchanged context around them."""

    section: Path
    before: tuple[str, ...]
    changes: tuple[ParagraphChange, ...]
    after: tuple[str, ...]


@dataclass(frozen=True)
class ChangeReport:
    """Everything that differs between two versions, at section, block and sentence level."""

    sections_added: tuple[Path, ...] = ()
    sections_removed: tuple[Path, ...] = ()
    sections_changed: tuple[Path, ...] = ()
    paragraphs: tuple[ParagraphChange, ...] = ()
    sentences: tuple[SentenceChange, ...] = ()
    hunks: tuple[Hunk, ...] = ()
    header: tuple[str, ...] = field(default=(), repr=False)
    # The old version's blocks, as written: where a name stood before the change (`classify`
    # tells a rename from a party swapped by it).
    old_blocks: tuple[str, ...] = field(default=(), repr=False)

    @property
    def identical(self) -> bool:
        """No block differs, once normalized."""
        return not self.paragraphs

    @property
    def substantive(self) -> tuple[SentenceChange, ...]:
        """The sentence changes of policy text, page chrome left out."""
        return tuple(sentence for sentence in self.sentences if not sentence.chrome)

    def count(self, kind: SentenceKind) -> int:
        """How many substantive sentences were added, removed or changed."""
        return sum(1 for sentence in self.substantive if sentence.kind == kind)

    @property
    def moved(self) -> int:
        """How many blocks moved unchanged to another place."""
        return sum(1 for paragraph in self.paragraphs if paragraph.kind == "moved")


class _Version:
    """One parsed version: blocks, lazily normalized texts, alignment keys, heading paths."""

    def __init__(self, text: str) -> None:
        self.blocks = parse_blocks(text)
        self._texts: dict[int, str] = {}
        self._keys: dict[int, str] = {}
        self._headings = self._heading_stacks()
        self._paths: dict[tuple[int, ...], Path] = {}
        self._section_keys: dict[tuple[int, ...], tuple[str, ...]] = {}
        self._zones: list[bool] | None = None

    def text(self, index: int) -> str:
        """The normalized text of block `index`, computed on first use."""
        if index not in self._texts:
            self._texts[index] = item_text(self.blocks[index])
        return self._texts[index]

    def sentences(self, index: int) -> list[str]:
        """The sentences of block `index`; a bold title on a line of its own atop it is one."""
        text = self.text(index)
        title = inline(run_in_title(self.blocks[index]))
        if title and text.startswith(title + " "):
            return [title, *split_sentences(text[len(title) + 1 :])]
        return split_sentences(text)

    def keys(self, shared: set[str]) -> list[tuple[int, str]]:
        """(index, key) of every non-empty block: byte-shared blocks are keyed by their raw
        text (never normalized), the others by their comparable normal form."""
        for index, block in enumerate(self.blocks):
            if block.raw in shared:
                self._keys[index] = "\0" + block.raw
            elif text := self.text(index):
                self._keys[index] = comparable(text)
        return list(self._keys.items())

    def _heading_stacks(self) -> list[tuple[int, ...]]:
        """For each block, the indexes of the headings it sits under, outermost first."""
        stacks: list[tuple[int, ...]] = []
        stack: list[int] = []
        current: tuple[int, ...] = ()
        for index, block in enumerate(self.blocks):
            if block.kind == "heading":
                while stack and self.blocks[stack[-1]].level >= block.level:
                    stack.pop()
                stack.append(index)
                current = tuple(stack)
            stacks.append(current)
        return stacks

    def path(self, index: int) -> Path:
        """Where block `index` sits: its heading path (a heading's own: its parents')."""
        stack = self._headings[index]
        return self._titles(stack[:-1] if self.blocks[index].kind == "heading" else stack)

    def section_path(self, index: int) -> Path:
        """The heading path of the section block `index` belongs to (a heading's: its own)."""
        return self._titles(self._headings[index])

    def _titles(self, stack: tuple[int, ...]) -> Path:
        if stack not in self._paths:
            self._paths[stack] = tuple(self.text(heading) for heading in stack)
        return self._paths[stack]

    def section_key(self, index: int) -> tuple[str, ...]:
        """The heading path of block `index` by alignment keys: no normalization needed."""
        stack = self._headings[index]
        if stack not in self._section_keys:
            self._section_keys[stack] = tuple(self._keys.get(heading, "") for heading in stack)
        return self._section_keys[stack]

    def chrome(self, index: int) -> bool:
        """Whether block `index` is page chrome: a menu, a link list, a widget."""
        if self._zones is None:
            self._zones = chrome_zones(self.blocks)
        return self._zones[index] or is_chrome(self.blocks[index], self.text(index))

    def row(self, index: int) -> str:
        """Table row `index` with each cell after its column's head ("Change: …; Effective
        date: 2026-01-15"); "" for any other block and for the head itself. The head is the
        first row of those that run together: a table's rows, the Markdown its extraction
        writes (`crawlers/extraction/markdown.py`)."""
        if self.blocks[index].kind != "row":
            return ""
        head = index
        while head > 0 and self.blocks[head - 1].kind == "row":
            head -= 1
        if head == index:
            return ""
        heads, cells = _cells(self.blocks[head].raw), _cells(self.blocks[index].raw)
        pairs = zip(heads, cells, strict=False)  # a row may have fewer cells, or more
        labelled = [f"{name}: {cell}" if name else cell for name, cell in pairs]
        return "; ".join(labelled + cells[len(heads) :])

    def intro(self, index: int) -> str:
        """The sentences ending in ':' that introduce list item `index` ("You will not: …")."""
        block = self.blocks[index]
        if block.kind != "item":
            return ""
        parts: list[str] = []
        depth = block.depth
        for back in range(index - 1, max(-1, index - _INTRO_LOOKBACK), -1):
            previous = self.blocks[back]
            if previous.kind != "item":
                if self.text(back).endswith(":"):
                    parts.append(self.text(back))
                break
            if previous.depth < depth:  # its parent item: its own introduction, if any
                if self.text(back).endswith(":"):
                    parts.append(self.text(back))
                depth = previous.depth
        return " ".join(reversed(parts))


def _cells(row: str) -> list[str]:
    """The normalized texts of a Markdown table row's cells."""
    return [inline(cell) for cell in _CELL_BORDER.split(row.strip().strip("|"))]


def compare(old: str, new: str, *, context: int = 1) -> ChangeReport:
    """The structured diff from `old` to `new` (Markdown); `context` blocks around each hunk."""
    if old == new:
        return ChangeReport()
    before, after = _Version(old), _Version(new)
    shared = {block.raw for block in before.blocks} & {block.raw for block in after.blocks}
    old_keys, new_keys = before.keys(shared), after.keys(shared)
    opcodes = _opcodes([key for _, key in old_keys], [key for _, key in new_keys])
    regions = [
        ([index for index, _ in old_keys[i1:i2]], [index for index, _ in new_keys[j1:j2]])
        for i1, i2, j1, j2 in opcodes
    ]
    moves = _moves(before, after, regions)
    changes: list[list[ParagraphChange]] = []
    sentences: list[SentenceChange] = []
    for olds, news in regions:
        kept_old = [index for index in olds if index not in moves.values()]
        kept_new = [index for index in news if index not in moves]
        changes.append(list(_paragraph_changes(before, after, kept_old, kept_new, moves, news)))
        sentences += _sentence_changes(before, after, kept_old, kept_new)
    paragraphs = [change for region in changes for change in region]
    sections = _sections(before, after, old_keys, new_keys, paragraphs)
    return ChangeReport(
        *sections,
        paragraphs=tuple(paragraphs),
        sentences=tuple(_without_moves(sentences)),
        hunks=tuple(_hunks(after, new_keys, opcodes, changes, context)),
        header=_header(after),
        old_blocks=tuple(block.raw for block in before.blocks),
    )


def _header(version: _Version) -> tuple[str, ...]:
    """The top of the page, where effective and "last updated" dates of the whole page sit: its
    first blocks, up to the second heading. Past it, a date is a section's ("This section is
    effective 2027-03-01"), not every change's."""
    texts: list[str] = []
    headings = 0
    for index, block in enumerate(version.blocks[:_HEADER_BLOCKS]):
        headings += block.kind == "heading"
        if headings > 1:
            break
        texts.append(version.text(index))
    return tuple(texts)


def _opcodes(old: list[str], new: list[str]) -> list[tuple[int, int, int, int]]:
    """The non-equal regions (i1, i2, j1, j2) of the alignment of two key lists."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    middle_old, middle_new = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
    matcher = difflib.SequenceMatcher(None, middle_old, middle_new, autojunk=False)
    return [
        (i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _moves(
    before: _Version, after: _Version, regions: list[tuple[list[int], list[int]]]
) -> dict[int, int]:
    """Blocks that left one place and arrived unchanged in another: new index -> old index."""
    departed: dict[str, list[int]] = defaultdict(list)
    for olds, _ in regions:
        for index in olds:
            if text := before.text(index):
                departed[comparable(text)].append(index)
    moves: dict[int, int] = {}
    for olds, news in regions:
        for index in news:
            candidates = departed.get(comparable(after.text(index)), [])
            elsewhere = [old for old in candidates if old not in olds]
            if elsewhere:
                moves[index] = elsewhere[0]
                candidates.remove(elsewhere[0])
    return moves


def _paragraph_changes(
    before: _Version,
    after: _Version,
    olds: list[int],
    news: list[int],
    moves: dict[int, int],
    arrivals: list[int],
) -> Iterator[ParagraphChange]:
    """The block changes of one region, in reading order; moved blocks where they arrived."""
    one_for_one = len(olds) == len(news) == 1  # a block replaced by one block: it changed
    pairs = (
        [(olds[0], news[0])]
        if one_for_one
        else pair_alike(olds, news, lambda i: before.text(i), lambda j: after.text(j))
    )
    for index in arrivals:
        if index in moves:
            yield ParagraphChange(
                "moved",
                after.path(index),
                before.text(moves[index]),
                after.text(index),
                after.blocks[index].level,
                after.chrome(index),
                from_section=before.path(moves[index]),
            )
    for old, new in pairs:
        if old is not None and new is not None:
            old_text, new_text = before.text(old), after.text(new)
            yield ParagraphChange(
                "changed",
                after.path(new),
                old_text,
                new_text,
                after.blocks[new].level,
                before.chrome(old) and after.chrome(new),
                word_spans(old_text, new_text),
            )
        elif new is not None:
            yield ParagraphChange(
                "added",
                after.path(new),
                new=after.text(new),
                level=after.blocks[new].level,
                chrome=after.chrome(new),
            )
        elif old is not None:
            yield ParagraphChange(
                "removed",
                before.path(old),
                old=before.text(old),
                level=before.blocks[old].level,
                chrome=before.chrome(old),
            )


def pair_alike(
    olds: Sequence[T], news: Sequence[T], old_text: Callable[[T], str], new_text: Callable[[T], str]
) -> list[tuple[T | None, T | None]]:
    """Pair each old item with the new item it became (or None), keeping reading order.

    Like difflib's ndiff: the most alike pair (by words) splits the region, and either side is
    paired the same way; items alike by less than `_SIMILAR` stay unpaired (a removal and an
    addition), unless they differ in figures only. The change page pairs the lines it shows side
    by side the same way.
    """
    if not olds or not news or len(olds) * len(news) > MAX_PAIRING:
        return [(old, None) for old in olds] + [(None, new) for new in news]
    likeness = _Likeness(
        [_TOKEN.findall(comparable(old_text(old))) for old in olds],
        [_TOKEN.findall(comparable(new_text(new))) for new in news],
    )
    return [
        (None if i is None else olds[i], None if j is None else news[j])
        for i, j in likeness.split(0, len(olds), 0, len(news))
    ]


class _Likeness:
    """How alike old and new items are, by words, for `pair_alike`.

    Each pair is measured at most once: a region is searched again after every split, and a
    list whose every item was reworded (Le Chat renamed Vibe) splits off one pair at a time, so
    measuring anew took a quarter of a second for fifty items.
    """

    def __init__(self, old_words: list[list[str]], new_words: list[list[str]]) -> None:
        self.old_words, self.new_words = old_words, new_words
        self._old_shapes = [_shape(words) for words in old_words]
        self._new_shapes = [_shape(words) for words in new_words]
        self._known: dict[tuple[int, int], tuple[float, bool]] = {}  # (ratio or bound, exact)
        self._matcher: difflib.SequenceMatcher[str] = difflib.SequenceMatcher(autojunk=False)
        self._new = -1  # the new item the matcher holds

    def split(self, i1: int, i2: int, j1: int, j2: int) -> list[tuple[int | None, int | None]]:
        """The pairs of old items i1..i2 and new items j1..j2, by the most alike pair first."""
        if i2 - i1 == j2 - j1 == 1:  # one item each: paired or not, how alike does not matter
            return [(i1, j1)] if self._alike(i1, j1) else [(i1, None), (None, j1)]
        best: tuple[int, int] | None = None
        best_ratio = _SIMILAR
        for j in range(j1, j2):
            for i in range(i1, i2):
                if (ratio := self._ratio(i, j, best_ratio)) is not None:
                    best, best_ratio = (i, j), ratio
        if best is None:
            return [(i, None) for i in range(i1, i2)] + [(None, j) for j in range(j1, j2)]
        i, j = best
        return [*self.split(i1, i, j1, j), (i, j), *self.split(i + 1, i2, j + 1, j2)]

    def _alike(self, i: int, j: int) -> bool:
        """Whether old item `i` and new item `j` are alike enough to pair.

        The words both begin or end with settle most of them without difflib's search: the
        first match difflib's ratio counts is the longest the two have, so at least as long.
        A page reworded throughout is mostly regions of one line each, decided here.
        """
        old, new = self.old_words[i], self.new_words[j]
        shared = max(shared_head(old, new), shared_head(old[::-1], new[::-1]))
        size = len(old) + len(new)
        if size and 2.0 * shared / size > _SIMILAR:
            return True
        return self._ratio(i, j, _SIMILAR) is not None

    def _ratio(self, i: int, j: int, floor: float) -> float | None:
        """How alike old item `i` and new item `j` are when above `floor`, else None: their
        ratio, or `_REFIGURED` if they differ in figures only and that is more."""
        shape = self._old_shapes[i]
        refigured = _REFIGURED if shape is not None and shape == self._new_shapes[j] else 0.0
        ratio = self._measured(i, j, max(floor, refigured))
        if ratio is not None:
            return ratio
        return refigured if refigured > floor else None

    def _measured(self, i: int, j: int, floor: float) -> float | None:
        """The ratio of old item `i` and new item `j` when above `floor`, else None."""
        known = self._known.get((i, j))
        if known is not None and (known[0] <= floor or known[1]):
            return known[0] if known[0] > floor else None
        if known is None and _real_quick_ratio(self.old_words[i], self.new_words[j]) <= floor:
            return None  # not worth setting the matcher up for
        matcher = self._matcher
        if self._new != j:
            matcher.set_seq2(self.new_words[j])
            self._new = j
        matcher.set_seq1(self.old_words[i])
        if known is None:
            self._known[(i, j)] = (quick := matcher.quick_ratio(), False)
            if quick <= floor:
                return None
        ratio = matcher.ratio()
        self._known[(i, j)] = (ratio, True)
        return ratio if ratio > floor else None


def _shape(words: list[str]) -> tuple[str, ...] | None:
    """The words with each figure as `#`, when there are both figures and other words: items of
    one shape differ in figures only."""
    if not any(map(str.isdigit, words)):
        return None  # most items: no figure, no shape to build
    shape = tuple("#" if word.isdigit() else word for word in words)
    return shape if any(word != "#" for word in shape) else None


def _real_quick_ratio(a: list[str], b: list[str]) -> float:
    """difflib's `real_quick_ratio` of `a` and `b`, an upper bound of their ratio, from their
    lengths alone."""
    size = len(a) + len(b)
    return 2.0 * min(len(a), len(b)) / size if size else 1.0


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    block: int


def _sentences(version: _Version, indexes: Iterable[int]) -> list[_Sentence]:
    """The sentences of some blocks; a "sentence" with no word (a stray ".") is none."""
    return [
        _Sentence(sentence, index)
        for index in indexes
        for sentence in version.sentences(index)
        if comparable(sentence)
    ]


def _sentence_changes(
    before: _Version, after: _Version, olds: list[int], news: list[int]
) -> Iterator[SentenceChange]:
    """The sentences of a region that really differ: merges, splits and rewraps drop out."""
    old_sentences, new_sentences = _sentences(before, olds), _sentences(after, news)
    matcher = difflib.SequenceMatcher(
        None,
        [comparable(sentence.text) for sentence in old_sentences],
        [comparable(sentence.text) for sentence in new_sentences],
        autojunk=False,
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        pairs = (
            [(old_sentences[i1], new_sentences[j1])]  # one sentence became one: it changed
            if i2 - i1 == j2 - j1 == 1
            else pair_alike(
                old_sentences[i1:i2], new_sentences[j1:j2], lambda s: s.text, lambda s: s.text
            )
        )
        for old, new in pairs:
            if old and new and (_relabelled(old.text, new.text) or _respaced(old.text, new.text)):
                continue
            yield SentenceChange(
                "changed" if old and new else "added" if new else "removed",
                after.path(new.block) if new else before.path(old.block) if old else (),
                old.text if old else "",
                new.text if new else "",
                before.intro(old.block) if old else "",
                after.intro(new.block) if new else "",
                (not old or before.chrome(old.block)) and (not new or after.chrome(new.block)),
                old_row=before.row(old.block) if old else "",
                new_row=after.row(new.block) if new else "",
            )


def _relabelled(old: str, new: str) -> bool:
    """Whether a dateline kept its date under another label: YouTube's page, rendered for
    another region, reads "日付: 2010-06-09" or "Tarix: 2010-06-09" for "Dated: 2010-06-09", and
    "سارية اعتبارًا من 2022-01-05 (عرض الإصدار السابق)" for "Effective as of 2022-01-05 (view
    previous version)", a low change each time. The date is what a dateline says; its label's
    language, and its link's, are not."""
    before, after = _DATELINE.match(old), _DATELINE.match(new)
    return bool(before and after and before["date"] == after["date"])


def _respaced(old: str, new: str) -> bool:
    """Whether two sentences differ only in where spaces fall between their letters: the App
    Store's captures glue and split words ("terminateautomatically", "th ese", "W ITHOUT"),
    and its terms read "4 sentences removed, 105 changed" where four were. The rules read such
    an edit as none (`matching`); nor is it a sentence changed."""
    return comparable(old).replace(" ", "") == comparable(new).replace(" ", "")


def _without_moves(sentences: list[SentenceChange]) -> Iterator[SentenceChange]:
    """Drop sentences removed in one place and added, unchanged, in another."""
    removed: dict[str, int] = defaultdict(int)
    added: dict[str, int] = defaultdict(int)
    for sentence in sentences:
        if sentence.kind == "removed":
            removed[comparable(sentence.old)] += 1
        elif sentence.kind == "added":
            added[comparable(sentence.new)] += 1
    for sentence in sentences:
        key = comparable(sentence.old if sentence.kind == "removed" else sentence.new)
        other = added if sentence.kind == "removed" else removed
        if sentence.kind != "changed" and other[key] > 0:
            other[key] -= 1
            continue
        yield sentence


def _sections(
    before: _Version,
    after: _Version,
    old_keys: list[tuple[int, str]],
    new_keys: list[tuple[int, str]],
    paragraphs: list[ParagraphChange],
) -> tuple[tuple[Path, ...], tuple[Path, ...], tuple[Path, ...]]:
    """Sections added, removed and changed, by heading path (deepdiff on the section maps).

    Sections alike in both versions are dropped first, so deepdiff only sees the few that
    differ; a section counts as changed when one of its blocks really changed.
    """
    old_map, new_map = _section_map(before, old_keys), _section_map(after, new_keys)
    differing = [
        key for key in old_map.keys() | new_map.keys() if old_map.get(key) != new_map.get(key)
    ]
    labels = {repr(key): key for key in differing}  # deepdiff reports keys; () is a path too
    # Loaded here (~15 ms): a crawl imports the diff engine, and most crawls compare nothing.
    from deepdiff import DeepDiff

    diff = DeepDiff(
        {label: hash(old_map[key]) for label, key in labels.items() if key in old_map},
        {label: hash(new_map[key]) for label, key in labels.items() if key in new_map},
        view="tree",
        threshold_to_diff_deeper=0,  # always key by key, even when no key is common
    )

    def paths(report: str) -> tuple[Path, ...]:
        found = []
        for item in diff.get(report, ()):
            key = labels[item.path(output_format="list")[0]]
            version, section = (after, new_map[key]) if key in new_map else (before, old_map[key])
            found.append(version.section_path(section[1]))
        return tuple(sorted(found))

    touched = {paragraph.section for paragraph in paragraphs}
    changed = tuple(path for path in paths("values_changed") if path in touched)
    return paths("dictionary_item_added"), paths("dictionary_item_removed"), changed


def _section_map(
    version: _Version, keys: list[tuple[int, str]]
) -> dict[tuple[str, ...], tuple[tuple[str, ...], int]]:
    """Each section (by heading keys) -> (the keys of its blocks, the index of its first)."""
    blocks: dict[tuple[str, ...], list[str]] = defaultdict(list)
    first: dict[tuple[str, ...], int] = {}
    for index, key in keys:
        section = version.section_key(index)
        blocks[section].append(key)
        first.setdefault(section, index)
    return {section: (tuple(content), first[section]) for section, content in blocks.items()}


def _hunks(
    after: _Version,
    new_keys: list[tuple[int, str]],
    opcodes: list[tuple[int, int, int, int]],
    changes: list[list[ParagraphChange]],
    context: int,
) -> Iterator[Hunk]:
    """Group the changed regions that lie within 2 x `context` blocks of each other."""
    groups: list[list[int]] = []
    for region, (_, _, j1, _) in enumerate(opcodes):
        if not changes[region]:
            continue
        if groups and j1 - opcodes[groups[-1][-1]][3] <= 2 * context:
            groups[-1].append(region)
        else:
            groups.append([region])
    for group in groups:
        first, last = opcodes[group[0]][2], opcodes[group[-1]][3]
        group_changes = tuple(change for region in group for change in changes[region])
        yield Hunk(
            group_changes[0].section,
            tuple(after.text(index) for index, _ in new_keys[max(0, first - context) : first]),
            group_changes,
            tuple(after.text(index) for index, _ in new_keys[last : last + context]),
        )
