"""Which words of a reworded text changed: the one word-level diff, for every reader of a diff.

A reworded paragraph or sentence is shown with its deleted and inserted runs of words marked in
place, so that a reader sees the two words that moved the meaning instead of comparing two long
paragraphs: the terminal's `policywatch show`, the review page and the alerts all draw these
spans. Two cuts of a text into words serve them: `word_spans` reads words as the engine compares
sentences (what counts as changed is what the engine counted), `token_spans` keeps every byte
(the review page faces the raw lines of the page). Both are the same diff underneath.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import compress, count
from operator import ne
from typing import Literal

from diffengine.normalize import comparable

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")  # words, punctuation and the spaces between, all kept


@dataclass(frozen=True, slots=True)
class Span:
    """A run of words of a changed paragraph: kept, inserted or deleted."""

    op: Literal["equal", "insert", "delete"]
    text: str


def word_spans(old: str, new: str) -> tuple[Span, ...]:
    """Word-level differences between two paragraphs, as kept, deleted and inserted runs.

    Words are compared as the engine compares sentences (`comparable`: case, punctuation and
    spelling aside), so a word marked is a word the engine saw change; runs are joined by one
    space, kept runs in the new wording.
    """
    return _spans(old.split(), new.split(), key=comparable, glue=" ")


def token_spans(old: str, new: str) -> tuple[Span, ...]:
    """Byte-exact differences between two lines: the kept and deleted runs join back into `old`,
    the kept and inserted runs into `new`, whitespace and punctuation included.

    The two ends the lines share are found on their characters and only the stretch between
    them is cut into words: cutting a whole 1 MB page reworded throughout into words, to set
    most of them aside again, was a sixth of its change page's time. The marks are those of the
    words of the whole lines (`_spans`): the ends are cut where a word ends in both lines.
    """
    head = _shared_prefix(old, new)
    tail = _shared_prefix(old[head:][::-1], new[head:][::-1])
    middle = _spans(
        _TOKEN.findall(old, head, len(old) - tail),
        _TOKEN.findall(new, head, len(new) - tail),
        key=str,
        glue="",
    )
    before = (Span("equal", old[:head]),) if head else ()
    after = (Span("equal", old[len(old) - tail :]),) if tail else ()
    return before + middle + after


def _shared_prefix(old: str, new: str) -> int:
    """How many characters `old` and `new` begin with alike, up to the last place where a word
    (`_TOKEN`) ends in both: the words before it are the words the two lines begin with."""
    low, high = 0, min(len(old), len(new))
    while low < high:  # the longest common prefix, by halves: string slices compare in C
        middle = (low + high + 1) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle - 1
    while low and not (_ends_word(old, low) and _ends_word(new, low)):
        low -= 1
    return low


def _ends_word(text: str, at: int) -> bool:
    """Whether a word of `text` ends at `at` (> 0): the word read from the character before
    stops there."""
    found = _TOKEN.match(text, at - 1, at + 1)
    return found is not None and found.end() == at


def _spans(
    old: Sequence[str], new: Sequence[str], *, key: Callable[[str], str], glue: str
) -> tuple[Span, ...]:
    spans: list[Span] = []
    for tag, i1, i2, j1, j2 in _opcodes([key(word) for word in old], [key(word) for word in new]):
        if tag == "equal":
            spans.append(Span("equal", glue.join(new[j1:j2])))
            continue
        if i2 > i1:
            spans.append(Span("delete", glue.join(old[i1:i2])))
        if j2 > j1:
            spans.append(Span("insert", glue.join(new[j1:j2])))
    return tuple(spans)


def _opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """difflib's opcodes, with the words both ends share set aside first.

    difflib's search grows with the square of a line's words (a space or a "the" anchors a
    match everywhere): a 6 KB paragraph with one word reworded took 0.4 s to mark, and a page
    rewritten throughout seconds. Most edits leave a line's two ends alone, so only the
    stretch between them is searched; its first and last words differ, so the marks are the
    ones difflib gives the whole line.
    """
    head = shared_head(old, new)
    tail = shared_head(old[head:][::-1], new[head:][::-1])
    middle = difflib.SequenceMatcher(
        None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False
    )
    opcodes = [("equal", 0, head, 0, head)] if head else []
    opcodes += [
        (tag, i1 + head, i2 + head, j1 + head, j2 + head)
        for tag, i1, i2, j1, j2 in middle.get_opcodes()
    ]
    if tail:
        opcodes.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return opcodes


def shared_head(old: Sequence[str], new: Sequence[str]) -> int:
    """How many words `old` and `new` begin with alike (compared in C, not word by word)."""
    return next(compress(count(), map(ne, old, new)), min(len(old), len(new)))


def elided(run: str, *, first: bool, last: bool, kept: int) -> str:
    """An unchanged run of words with its middle elided, `kept` words left each side of it; at
    either end of a paragraph, only its edited side: the words next to an edit are what make it
    read, the rest of a long clause only delays it."""
    words = run.split()
    keep_head = 0 if first else kept
    keep_tail = 0 if last else kept
    if len(words) <= keep_head + keep_tail + 2:
        return run
    head = " ".join(words[:keep_head])
    tail = " ".join(words[len(words) - keep_tail :])
    return " ".join(part for part in (head, "…", tail) if part)
