"""Whether an edit touched what a rule read: where a unit differs from its most alike counterpart.

Punctuation, letter case, spelling, fillers, a verb's agreement and typos are no edits; a figure
edited near what a rule read is one, further off than a word.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from functools import lru_cache

from diffengine.matching import Reach, Unit, comparable_words

_SIMILAR = 0.5  # a unit at least this alike (by words) to another is that one, edited
_MARGIN = 2  # words: an edit this close to what a rule read touches it
# A figure edited this close does: "Messages are billed at 0.005 USD each" -> "0.02", the price
# four words past what the rule read ("Messages are billed"), and a decimal two words of its own.
_FIGURE_MARGIN = 6
# Words whose coming or going changes no obligation: an article, the "that" of a clause ("data
# that you do not have permission to access"), "also" ("We may also share" / "We also may
# share"). And a verb agreeing with its subject ("while one of your other accounts is
# terminated"): Google Play's grammar fix alone fired a termination alert.
FILLERS = frozenset({"a", "an", "the", "that", "also"})
_AGREEMENT = frozenset(
    {frozenset({"is", "are"}), frozenset({"was", "were"}), frozenset({"has", "have"})}
)


def dropped(unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether none of `counterparts` is `unit` edited: a clause cut, not reworded."""
    return word_edits(unit.full, tuple(other.full for other in counterparts)) is None


def touched(reach: Reach, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` differs from the most alike of `counterparts` within `reach`.

    Words inserted or replaced count within `_MARGIN` words of the reach ("not" put before
    "use any robot"), figures within `_FIGURE_MARGIN` (a price or a limit follows the words
    that name it); words deleted count only from inside it, so a sentence that became a list
    item, its "You will not" moved into the list's introduction, is not touched. A reach that
    runs to the unit's last word takes in what was cut after it: the case cut from the end of
    "… except: (a) …; or (b) with YouTube's prior written permission". With no counterpart
    alike enough, the whole unit is new, and so touched.
    """
    edits = word_edits(unit.full, tuple(other.full for other in counterparts))
    if edits is None:
        return True
    changed, deleted = edits
    words = comparable_words(unit.full)
    end = reach.end + (reach.end == len(words) - 1)

    def near(word: int) -> bool:
        margin = _FIGURE_MARGIN if words[word].isdigit() else _MARGIN
        return reach.start - margin <= word <= reach.end + margin

    return any(map(near, changed)) or any(reach.start < point <= end for point in deleted)


def edited_within(reach: Reach, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` became the most alike of `counterparts` by edits all within `reach`, give
    or take `_MARGIN` words, as `touched` reads it: "we will notify you … at least 30 days
    before we make changes" become "… notify you … before we make changes" is the notice kept
    and its period cut, where an edit further off says more than that."""
    edits = word_edits(unit.full, tuple(other.full for other in counterparts))
    if edits is None:
        return False
    changed, deleted = edits
    start, end = reach.start - _MARGIN, reach.end + _MARGIN
    return (
        bool(changed or deleted)
        and all(start <= word <= end for word in changed)
        and all(start < point <= end + 1 for point in deleted)
    )


@lru_cache(maxsize=512)
def word_edits(
    text: str, others: tuple[str, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Where `text` differs from the most alike of `others`: the positions of its words
    inserted or replaced, and the positions before which words were deleted; None when none is
    alike. Punctuation, letter case and spelling do not count."""
    words = comparable_words(text)
    matcher: difflib.SequenceMatcher[str] = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(words)
    best: list[str] | None = None
    best_ratio = _SIMILAR
    for other in others:
        other_words = comparable_words(other)
        matcher.set_seq1(other_words)
        if matcher.quick_ratio() > best_ratio and (ratio := matcher.ratio()) > best_ratio:
            best, best_ratio = other_words, ratio
    if best is None:
        return None
    # Fillers are left out of the comparison, so that one moved ("We also may share" / "We may
    # also share") is no edit of the words around it; `kept` maps back to positions in `words`.
    kept = [position for position, word in enumerate(words) if word not in FILLERS]
    content = [words[position] for position in kept]
    former = [word for word in best if word not in FILLERS]
    matcher.set_seqs(former, content)
    changed: list[int] = []
    deleted: list[int] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or _cosmetic(former[i1:i2], content[j1:j2]):
            continue
        if tag == "delete":
            deleted.append(kept[j1] if j1 < len(kept) else len(words))
        else:
            changed += (kept[j] for j in range(j1, j2))
    return tuple(changed), tuple(deleted)


def _cosmetic(old: Sequence[str], new: Sequence[str]) -> bool:
    """Whether words `old` replaced by `new` say the same: the same letters spaced otherwise
    (the App Store's captures glue and split words: "terminate automatically" and
    "terminateautomatically", "these" and "th ese"), a verb agreeing with another subject, or a
    typo mended ("devlop" become "develop").
    Anything else is an edit, "the" become "any" included (an "any" inserted)."""
    return "".join(old) == "".join(new) or (
        len(old) == len(new) == 1
        and (frozenset((old[0], new[0])) in _AGREEMENT or _typo(old[0], new[0]))
    )


_TYPO_LENGTH = 5  # letters at least: "now" and "not" are words apart, "devlop" and "develop" not


def _typo(old: str, new: str) -> bool:
    """Whether `new` is `old` with a typo mended or made: one letter inserted, dropped, replaced
    or two swapped, in words of `_TYPO_LENGTH` letters or more ("to devlop competing models"
    become "to develop …" fired a high training alert). A negation is two letters or more
    ("lawful", "unlawful"); a figure is never a typo."""
    if not (old.isalpha() and new.isalpha()) or min(len(old), len(new)) < _TYPO_LENGTH:
        return False
    if len(old) == len(new):
        diff = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and old[diff[0]] == new[diff[1]]
            and old[diff[1]] == new[diff[0]]
        )
    shorter, longer = sorted((old, new), key=len)
    if len(longer) - len(shorter) != 1:
        return False
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))
