"""How a rule reads a unit of text, and whether an edit touched what it read.

A unit is a sentence, or one enumerated clause of it, with its context: the sentence's lead
("You agree that you will not … : (iv) use any robot, spider …") and the text introducing the
list the sentence is an item of ("You agree you will not use … Services to:"). They are read as
one virtual sentence, introduction first, so distances are natural.

- The rule's first group, its subject, must be in the unit itself (lead or clause): a list
  introduction says how ("you will not"), never what.
- Other groups may come from the introduction (unless the rule says `context: false`); those
  found in the unit must lie within `within` words of each other.
- The reach is where the rule reads: from its first to its last term; to the end of the clause
  when the terms start in the lead (an enumerated clause is in the scope of its statement) or
  before an enumerated exception (its cases are: "… except (a) …; (b) …"); the whole clause
  when the introduction supplied a group.

An edit fires a rule again only within its reach: a long sentence retouched elsewhere (a product
renamed at its end) keeps its verdict, and a sentence turned into a list item under "You will
not:" is not a new restriction.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from diffengine.normalize import comparable
from diffengine.rules import Rule
from diffengine.sentences import EXCEPTION_LIST

_WORD = re.compile(r"\w+(?:'\w+)*")


class Reach(NamedTuple):
    """Word positions, in a unit's virtual sentence, from where a rule reads to where it stops."""

    start: int
    end: int


@dataclass(frozen=True)
class Unit:
    """A clause (or a whole sentence) with the lead of its sentence and its list introduction."""

    text: str
    lead: str = ""
    intro: str = ""

    @cached_property
    def full(self) -> str:
        """The virtual sentence: introduction, lead, clause."""
        return " ".join(part for part in (self.intro, self.lead, self.text) if part)

    @cached_property
    def starts(self) -> tuple[int, ...]:
        """Offset of each word of `full`."""
        return tuple(word.start() for word in _WORD.finditer(self.full))

    @cached_property
    def own_start(self) -> int:
        """Index of the first word of the unit itself (its lead, else its clause)."""
        return len(_WORD.findall(self.intro))

    @cached_property
    def text_start(self) -> int:
        """Index of the first word of the clause."""
        return self.own_start + len(_WORD.findall(self.lead))

    @cached_property
    def exception_list(self) -> int | None:
        """Index of the word opening the unit's enumerated exception ("except: (a) …; (b) …")."""
        found = EXCEPTION_LIST.search(self.full)
        return self._word_at(found.start()) if found else None

    def positions(self, pattern: re.Pattern[str]) -> tuple[int, ...]:
        """Word indexes where `pattern` matches in the virtual sentence."""
        found = _matches(self.full, pattern.pattern, pattern.flags)
        return tuple(self._word_at(start) for start, _ in found)

    def spans(self, pattern: re.Pattern[str]) -> list[Reach]:
        """The words each match of `pattern` covers in the virtual sentence."""
        return [
            Reach(self._word_at(start), self._word_at(end - 1))
            for start, end in _matches(self.full, pattern.pattern, pattern.flags)
            if end > start
        ]

    def _word_at(self, offset: int) -> int:
        return max(0, bisect.bisect_right(self.starts, offset) - 1)


@lru_cache(maxsize=32768)
def _matches(text: str, source: str, flags: int) -> tuple[tuple[int, int], ...]:
    """Where each match of the pattern of `source` and `flags` starts and ends in `text`.
    Memoized by the pattern's source (a pattern hashes its compiled code, slowly): each rule
    reads each unit several times (`find` for its fresh clauses, `_reads` for the side it fired
    on, its terms' ends for its reach), and a replay meets the same sentences in many changes."""
    return tuple(found.span() for found in re.compile(source, flags).finditer(text))


def find(rule: Rule, unit: Unit) -> Reach | None:
    """Where `rule` reads its subject in `unit`, or None if it does not."""
    reach = _reach(rule, unit)
    return None if reach is None or _denied(rule, unit) else reach


def negated(rule: Rule, unit: Unit) -> bool:
    """Whether `unit` says what `rule` reads but for the rule's `none` words: a denial ("We do
    not use your content to train our models"), a right merely reserved ("We may discontinue
    the API"). A unit that lost them says it outright, which is the rule's news."""
    return _denied(rule, unit) and _reach(rule, unit) is not None


def _denied(rule: Rule, unit: Unit) -> bool:
    return rule.none is not None and rule.none.search(unit.full, len(unit.intro)) is not None


def _reach(rule: Rule, unit: Unit) -> Reach | None:
    """Where `rule` reads its subject in `unit`, its `none` words aside."""
    lifted: list[Reach] | None = None  # read once a group matches: most rules read nothing
    pinned: list[list[int]] = []
    from_intro = False
    for number, group in enumerate(rule.groups):
        found: Sequence[int] = unit.positions(group)
        if found and rule.lifted_by is not None:
            lifted = unit.spans(rule.lifted_by) if lifted is None else lifted
            found = [
                position
                for position in found
                if not any(span.start <= position <= span.end for span in lifted)
            ]
        own = [position for position in found if position >= unit.own_start]
        if own:
            pinned.append(own)
        elif number and found and rule.context:
            from_intro = True
        else:
            return None
    start, end = _window(pinned)
    if end - start > rule.within:
        return None
    end = _term_end(rule, unit, Reach(start, end))
    last = len(unit.starts) - 1
    if from_intro:
        return Reach(min(start, unit.text_start), last)
    listed = unit.exception_list
    if (unit.lead and start < unit.text_start) or (listed is not None and start < listed):
        return Reach(start, last)
    return Reach(start, last if _opens_list(unit, start, end) else end)


def _term_end(rule: Rule, unit: Unit, reach: Reach) -> int:
    """The last word of the terms `rule` found starting in `reach`: a term read is read whole,
    to its last word, not only where it starts. A recipient named ("we share your data with
    Meta", `@named_recipient`, a list of names: "with Meta, Google and Amazon") is read to the
    last name, so that one added to the list ("with Meta and Google") is an edit there."""
    return max(
        (
            span.end
            for group in rule.groups
            for span in unit.spans(group)
            if reach.start <= span.start <= reach.end
        ),
        default=reach.end,
    )


_LIST_LEAD = 3  # words: "… in the following regions: Cuba, Iran" ends what a rule read by a colon


def _opens_list(unit: Unit, start: int, end: int) -> bool:
    """Whether what a rule read ends, within `_LIST_LEAD` words, at a colon that opens a list run
    into the sentence ("The Services are not available in the following regions: Cuba, Iran,
    North Korea, Syria"), or runs across one into its first item ("not available in: Cuba"):
    the list is what the statement reads, as a list's items are read with their introduction,
    and a country added to it ("…, Syria, Russia") is an edit there."""
    after = unit.starts[end + 1 : end + 1 + _LIST_LEAD]
    if not after:
        return False
    lead = unit.full[unit.starts[start] : after[-1]]
    colon = lead.find(":")
    return colon >= 0 and not _STOPS.search(lead, 0, colon)


_STOPS = re.compile(r"[.;!?]")


def _window(positions: list[list[int]]) -> Reach:
    """The narrowest run of words holding one position from every list."""
    if len(positions) == 1:
        return Reach(min(positions[0]), max(positions[0]))
    events = sorted(
        (position, group) for group, found in enumerate(positions) for position in found
    )
    counts = [0] * len(positions)
    covered, left = 0, 0
    best = Reach(events[0][0], events[-1][0])
    for position, group in events:
        counts[group] += 1
        covered += counts[group] == 1
        while covered == len(positions):
            if position - events[left][0] < best.end - best.start:
                best = Reach(events[left][0], position)
            counts[events[left][1]] -= 1
            covered -= counts[events[left][1]] == 0
            left += 1
    return best


def comparable_words(text: str) -> list[str]:
    """The words of `text`, one per word position of `Unit.starts`, each in comparable form."""
    return [comparable(word) for word in _WORD.findall(text)]
