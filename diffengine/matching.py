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
import difflib
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import NamedTuple

from diffengine.normalize import comparable
from diffengine.rules import Rule
from diffengine.sentences import EXCEPTION_INTRO, EXCEPTION_LIST, EXCEPTION_OPENER

_WORD = re.compile(r"\w+(?:'\w+)*")
_SIMILAR = 0.5  # a unit at least this alike (by words) to another is that one, edited
_MARGIN = 2  # words: an edit this close to what a rule read touches it
# A figure edited this close does: "Messages are billed at 0.005 USD each" -> "0.02", the price
# four words past what the rule read ("Messages are billed"), and a decimal two words of its own.
_FIGURE_MARGIN = 6
# Words whose coming or going changes no obligation: an article, the "that" of a clause ("data
# that you do not have permission to access"), "also" ("We may also share" / "We also may
# share"). And a verb agreeing with its subject ("while one of your other accounts is
# terminated"): Google Play's grammar fix alone fired a termination alert.
_FILLERS = frozenset({"a", "an", "the", "that", "also"})
_AGREEMENT = frozenset(
    {frozenset({"is", "are"}), frozenset({"was", "were"}), frozenset({"has", "have"})}
)


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
# A list of what is allowed, not of what is barred: "available only in the following countries:
# United States, Canada". An item cut from it allows less.
_ALLOWLIST = re.compile(r"\b(?:only|solely|exclusively|limited\s+to|restricted\s+to)\b", re.I)
_ITEM_JOINT = re.compile(r"[,;]|\b(?:and/or|and|or)\b", re.IGNORECASE)


def items_cut(rule: Rule, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` is one of `counterparts` with items only cut from the list run into it after
    a colon that `rule` reads (`_opens_list`), its introduction alike: "The Services are not
    available in the following regions: Cuba, Iran, Russia" become "…: Cuba, Iran" bars fewer,
    the restriction lifted for what was cut, as an item removed from a list of its own is. Not
    a list of what is allowed ("available only in the following countries: …"), nor the cases
    of an exception ("except: …"): an item cut from those allows less."""
    reach = find(rule, unit)
    if reach is None or reach.end < len(unit.starts) - 1:
        return False
    lead, items = _run_in(unit.full, unit.starts[reach.start])
    if not items or _ALLOWLIST.search(lead) or EXCEPTION_INTRO.search(lead):
        return False
    for other in counterparts:
        other_lead, other_items = _run_in(other.full, unit.starts[reach.start])
        if comparable(other_lead) == comparable(lead) and items < other_items:
            return True
    return False


_TOKEN = re.compile(r"\w+(?:'\w+)*|[,;]")
_JOINT_WORDS = frozenset({",", ";", "and", "or", "and/or"})


def listed_cut(rule: Rule, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` is one of `counterparts` with items only cut from a list that `rule` reads:
    "We share your data with Meta and Google" become "… with Meta" shares with fewer, "with
    advertisers and partners" become "with partners" too; "You may not scrape, crawl or index"
    become "… scrape or index" bars less. Each item cut holds a term the rule read (or lay where
    it read), and a joint ("and", "or", a comma) beside it; no other word changed. The rule
    narrowed, as an item cut from a list run in after a colon is (`items_cut`); not a list of
    what is allowed ("only with Meta and Google", "available only in …") nor of an exception's
    cases: an item cut there allows less."""
    if find(rule, unit) is None:
        return False
    return any(_items_only_cut(rule, other, unit) for other in counterparts)


def _items_only_cut(rule: Rule, before: Unit, after: Unit) -> bool:
    reach = find(rule, before)
    if reach is None:
        return False
    old, new = _tokens(before.full), _tokens(after.full)
    read = [reach, *(span for group in rule.groups for span in before.spans(group))]
    matcher = difflib.SequenceMatcher(None, [t for t, _ in old], [t for t, _ in new], False)
    cut = False
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        gone = [token for token, _ in old[i1:i2]]
        came = [token for token, _ in new[j1:j2]]
        if tag == "equal" or not (set(gone) | set(came)) - _JOINT_WORDS:
            continue  # a joint moved: "Meta, Google and Amazon" become "Meta and Google"
        if tag != "delete" or not _cut_item(before, old, i1, i2, read):
            return False
        cut = True
    return cut


def _cut_item(
    before: Unit, old: list[tuple[str, int]], i1: int, i2: int, read: list[Reach]
) -> bool:
    """Whether tokens `i1` to `i2` of `old` cut from `before` are list items the rule read: a
    joint beside or among them, every word within what the rule read, no "only" or exception
    opening before them."""
    joined = any(token in _JOINT_WORDS for token, _ in old[max(0, i1 - 1) : min(len(old), i2 + 1)])
    words = [position for token, position in old[i1:i2] if token not in _JOINT_WORDS]
    head = before.full[: before.starts[words[0]]] if words else ""
    return (
        joined
        and bool(words)
        and all(any(span.start <= word <= span.end for span in read) for word in words)
        and not _ALLOWLIST.search(head)
        and not _EXCEPTION.search(head)
    )


def _tokens(text: str) -> list[tuple[str, int]]:
    """The words of `text` in comparable form, each with its word position (`Unit.starts`), and
    its commas and semicolons (position -1): the joints of a list."""
    tokens: list[tuple[str, int]] = []
    position = 0
    for found in _TOKEN.finditer(text):
        if found.group() in ",;":
            tokens.append((found.group(), -1))
        else:
            tokens.append((comparable(found.group()), position))
            position += 1
    return tokens


# Where a service is said to be available, its places listed after: "The API is available in
# the US, UK and Canada". With no "only", the places listed are still what is allowed.
_AVAILABLE_IN = re.compile(
    r"\b(available|offered|supported|accessible)\s+(only\s+)?in\s+"
    r"(?:the\s+following\s+(?:countries|regions|territories|markets|locations)\s*:\s*)?",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[;:!?]|\.(?:\s|$)")
# A list of where it is not available is of what is barred (`items_cut` reads it).
_DENIED_BEFORE = re.compile(r"\b(?:not|no\s+longer|never)\s+(?:be\s+)?$", re.IGNORECASE)


def allowed_cut(rule: Rule, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` is one of `counterparts` with places only cut from the list of where the
    service is available, words around alike: "available in the US, UK and Canada" become
    "available in the US" makes it available in fewer places, as "available only in …" cut
    does, though no word of the sentence restricts. Read by `rule` as the list it is, "only"
    implied: a rule reading "available only in the US" as a restriction fires."""
    return _places_edited(rule, unit, counterparts, frozenset.__lt__)


def allowed_grown(rule: Rule, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` is one of `counterparts` with places only added to the list of where the
    service is available ("available only in the US" become "… in the US and Canada"), "only"
    said or implied: the restriction lifted for the places added, however the words around the
    list read as restricting."""
    return _places_edited(rule, unit, counterparts, frozenset.__gt__)


def _places_edited(
    rule: Rule,
    unit: Unit,
    counterparts: tuple[Unit, ...],
    edited: Callable[[frozenset[str], frozenset[str]], bool],
) -> bool:
    """Whether `rule` reads the list of where the service is available in `unit` ("only"
    implied when not said), and one of `counterparts` says the same around a list of places
    that the new one is `edited` from (fewer, or more)."""
    places = _places(unit.text)
    if places is None:
        return False
    found, items, rest = places
    lead, tail = unit.text[: found.start()], unit.text[found.end() :]
    implied = Unit(f"{lead}{found.group(1)} only in {tail}", unit.lead, unit.intro)
    if find(rule, implied) is None:  # "only" implied, or said: the places listed, none else
        return False
    for other in counterparts:
        before = _places(other.text)
        if (
            before is not None
            and comparable(before[0].group()) == comparable(found.group())
            and comparable(other.text[: before[0].start()]) == comparable(lead)
            and before[2] == rest
            and edited(items, before[1])
        ):
            return True
    return False


@lru_cache(maxsize=4096)
def _places(text: str) -> tuple[re.Match[str], frozenset[str], str] | None:
    """Where `text` says the service is available in a list of places ("available in "), the
    places in comparable form, and what follows the list's clause; None when it says no such
    thing, or says it is not available there. Memoized: every rule asks of every fresh clause."""
    found = _AVAILABLE_IN.search(text)
    if found is None or _DENIED_BEFORE.search(text, 0, found.start()):
        return None
    stop = _CLAUSE_END.search(text, found.end())
    end = stop.start() if stop else len(text)
    items = (comparable(item) for item in _ITEM_JOINT.split(text[found.end() : end]))
    return found, frozenset(item for item in items if item), comparable(text[end:])


def _run_in(text: str, start: int) -> tuple[str, frozenset[str]]:
    """`text` up to the first colon from `start` (its list's introduction, with the colon), and
    the items after it in comparable form, whatever joins them ("Cuba, Iran and Syria")."""
    colon = text.find(":", start)
    if colon < 0:
        return text, frozenset()
    items = (comparable(item) for item in _ITEM_JOINT.split(text[colon + 1 :]))
    return text[: colon + 1], frozenset(item for item in items if item)


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


# An exception to what a clause says, to the next comma, colon, semicolon or full stop: "except
# as permitted by applicable law", "unless we approve it", "that is not provided by TikTok or
# approved in writing by TikTok". What follows a comma may be a new statement ("…approved in
# writing by TikTok, or use any bot to collect…", "Except as permitted by Apple, you shall not
# modify…"), so it is never taken for the exception; an exception listing alternatives ("…, or
# as permitted by law") opens again with its own words. A colon right after the opening word
# introduces the exception ("except: with YouTube's prior written permission"); one after its
# words ends it ("except with our permission: even then, you must not…"). An exception whose
# cases are enumerated ("except: (a) …; (b) …") runs to the end of the clause: the cases are
# the exception, commas and all. "Without" opens one only before a permission ("without our
# prior written permission": "except with it"), and it ends there: "without notice" is no
# exception, and what follows the permission is the clause again ("(without our prior
# permission) or attempt to access data that you do not have permission to access").
_EXCEPTION = re.compile(
    rf"{EXCEPTION_LIST.pattern}.*"
    rf"|\b(?:{EXCEPTION_OPENER}"
    r"|(?:as|where|when)\s+(?:expressly\s+)?(?:permitted|allowed|authori[sz]ed)\s+by"
    r"|(?:that\s+(?:is|are)\s+)?not\s+(?:provided|approved|authori[sz]ed|permitted)\s+by"
    r"|approved\s+in\s+writing)\b(?:\s*:)?[^.;:,]*"
    r"|\bwithout\s+(?:[\w']+\s+){0,4}?(?:permission|consent|approval|authori[sz]ation)\b",
    re.IGNORECASE | re.DOTALL,
)
# A permission a clause is conditioned on, outside any exception: "only with our permission",
# "requires our approval", "subject to our consent". Made stricter ("with our prior written
# permission") it tightens what the clause allows, as an exception's does; other words added to
# it say nothing sure (a condition added to "You may use the API" restricts, an exception added
# to "You may not" loosens), so only its narrowing words are read (`_narrowed`).
_GUARDS = re.compile(
    rf"{_EXCEPTION.pattern}"
    r"|\b(?:with|requires?|requiring|subject\s+to|upon|after\s+obtaining|obtain(?:ing)?)\s+"
    r"(?:[\w']+\s+){0,4}?(?:permission|consent|approval|authori[sz]ation)\b",
    re.IGNORECASE | re.DOTALL,
)
# Words that join an exception's cases: one moves as a case is added ("(a) … or (b) …" become
# "(a) …; (b) …; or (c) …"), and says nothing of the cases themselves.
_JOINERS = frozenset({"and", "or"})
# Words that narrow the condition an exception sets: "except with our permission" become "except
# with our prior written permission", "unless you consent" become "unless you expressly consent
# in writing", allows less than before, though its words grew.
_NARROWING = frozenset(
    {
        "prior",
        "written",
        "writing",
        "in",
        "express",
        "expressly",
        "explicit",
        "explicitly",
        "advance",
        "signed",
        "separate",
        "specific",
    }
)


def loosened(unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` is one of `counterparts` with an exception added or widened ("except as
    permitted by law", "that is not approved in writing by TikTok"), or a condition's narrowing
    words cut ("only with our prior written permission" become "only with our permission"), word
    for word otherwise: a restriction the old wording already made, loosened, not imposed again.
    An exception reworded (Le Chat's "except when you are subscribed to Le Chat Pro" becoming
    "Vibe Pro") is not one added to, and one made stricter ("with our prior written permission")
    is `tightened`."""
    return any(_widened(other, unit) or _narrowed(unit, other) for other in counterparts)


def tightened(unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `unit` is one of `counterparts` with its exception cut or narrowed, word for word
    otherwise: "You may not scrape the Service, except for research purposes" cut to "… the
    Service", or "except with our permission" become "except with our prior written
    permission"; or with the permission it is conditioned on narrowed so, outside any exception
    ("AI providers may access the Solution only with our permission", "… requires our
    approval"); or with an exception reworded ("except for non-commercial research" become
    "except for academic research approved by Reddit"): what the restriction leaves out is not
    what it was. The restriction reaches otherwise, however far from what a rule reads the
    exception stood: the restriction itself is news again, as when it was first made. An
    exception only added to or widened is `loosened`."""
    return any(
        _widened(unit, other) or _narrowed(other, unit) or _reworded(other, unit)
        for other in counterparts
    )


def _widened(before: Unit, after: Unit) -> bool:
    """Whether `after` is `before` with its exceptions allowing more, and words outside them
    alike: an exception where there was none, or a case added to one (an "or", an "and", a
    "(c)" more: "…; or (c) as permitted by applicable law"), but words that only narrow their
    condition; or their narrowing words cut ("prior written" taken from "with our prior written
    permission"). Words added to a case, no case more, qualify it: "for public search engines"
    become "… approved by us" leaves out less (`_reworded`)."""
    words, exceptions = _apart(before)
    other_words, other_exceptions = _apart(after)
    if words != other_words:
        return False
    if _within(exceptions, other_exceptions):
        return not _narrowing(exceptions, other_exceptions) and (
            not exceptions or _cases(after) > _cases(before)
        )
    return _within(other_exceptions, exceptions) and _narrowing(other_exceptions, exceptions)


_CASE_JOINT = re.compile(r"\b(?:and|or)\b|\((?:[ivx]{1,5}|[a-z]|\d{1,2})\)", re.IGNORECASE)


def _cases(unit: Unit) -> int:
    """How many cases `unit`'s exceptions name, as far as words tell: one per exception, and one
    more per "and", "or" or enumerator ("(b)") in them."""
    found = list(_EXCEPTION.finditer(unit.full))
    return len(found) + sum(len(_CASE_JOINT.findall(match.group())) for match in found)


def _narrowed(before: Unit, after: Unit) -> bool:
    """Whether `after` is `before` with only narrowing words added to a permission it is
    conditioned on or excepts, words outside alike: "with our permission" become "with our
    prior written permission", in an exception or not. A bare condition is no exception: words
    added to it other than these ("with our permission" become "with our or a partner's
    permission") are not read as widening it."""
    words, inside = _apart(before, _GUARDS)
    other_words, other_inside = _apart(after, _GUARDS)
    return (
        words == other_words and _within(inside, other_inside) and _narrowing(inside, other_inside)
    )


def _reworded(before: Unit, after: Unit) -> bool:
    """Whether `after` is `before` with an exception's words replaced, words outside alike: the
    cases it leaves out are others ("except for non-commercial research" become "except for
    academic research approved by Reddit"). Words only added to it, or only cut from it, are
    `_widened` one way or the other."""
    words, exceptions = _apart(before)
    other_words, other_exceptions = _apart(after)
    if words != other_words:
        return False
    exceptions, other_exceptions = _gist(exceptions), _gist(other_exceptions)
    if exceptions == other_exceptions or _within(other_exceptions, exceptions):
        return False  # the same, or words cut (`_widened` reads a cut)
    if _within(exceptions, other_exceptions):  # words added: a qualifier, or a case more
        return (
            bool(exceptions)
            and _cases(after) <= _cases(before)
            and not _narrowing(exceptions, other_exceptions)
        )
    return True


# Words of an exception that say the same as others: Google Play's "except as specifically
# permitted" become "except as expressly authorized" leaves out what it did; "applicable" law is
# the law.
_SYNONYMS = {
    "allowed": "permitted",
    "authorized": "permitted",
    "authorised": "permitted",
    "specifically": "expressly",
    "explicitly": "expressly",
}
# A cross-reference's number: Le Chat's "except as permitted in Section 10 (Assignment)" become
# "Section 13", the sections renumbered.
_REFERENCE = frozenset({"section", "sections", "clause", "clauses", "paragraph", "article"})
_NEUTRAL = _FILLERS | {"applicable", "otherwise"}


def _gist(words: list[str]) -> list[str]:
    """An exception's words as `_reworded` compares them: fillers left out, synonyms alike, the
    numbers of the sections it refers to dropped."""
    gist: list[str] = []
    for position, word in enumerate(words):
        if word in _NEUTRAL or (position and words[position - 1] in _REFERENCE):
            continue
        gist.append(_SYNONYMS.get(word, word))
    return gist


def _within(shorter: list[str], longer: list[str]) -> bool:
    """Whether `longer` is `shorter` with words added (in order), and some were."""
    remaining = iter(longer)
    return len(shorter) < len(longer) and all(word in remaining for word in shorter)


def _narrowing(shorter: list[str], longer: list[str]) -> bool:
    """Whether the words `longer` adds to `shorter` (which it holds in order) only narrow the
    condition they set ("prior written")."""
    return not (Counter(longer) - Counter(shorter)).keys() - _NARROWING


def _apart(unit: Unit, pattern: re.Pattern[str] | None = None) -> tuple[list[str], list[str]]:
    """The words of `unit` outside its exceptions (or what `pattern` covers), and those inside
    but the `_JOINERS` and `_FILLERS` ("unless the changes are required by law" become "unless
    changes …" cuts nothing from the exception)."""
    spans = unit.spans(pattern or _EXCEPTION)
    outside: list[str] = []
    inside: list[str] = []
    for position, word in enumerate(_words(unit.full)):
        if not any(span.start <= position <= span.end for span in spans):
            outside.append(word)
        elif word not in _JOINERS and word not in _FILLERS:
            inside.append(word)
    return outside, inside


def case_narrowed(old: str, new: str) -> bool:
    """Whether a case of an exception, listed as an item of its own ("Transfers … are not
    allowed, except:", "- with the user's consent"), reworded from `old` to `new` leaves out
    less: words added or replaced ("with the user's explicit consent"), not only cut (the case
    widened), nor edits that say the same (fillers, typos, synonyms, "applicable")."""
    edits = _edits(new, (old,))
    if edits is None or not edits[0]:
        return False
    before, after = _gist(_words(old)), _gist(_words(new))
    if _bag(before) == _bag(after):  # the same words reordered: "the consent of the user"
        return False
    return not _within(after, before)


def _bag(words: list[str]) -> Counter[str]:
    """Words in any order, a genitive's "of" and "'s" aside ("the user's consent", compared as
    "users"), and so a plural's "s"."""
    return Counter(word.removesuffix("s") for word in words if word != "of")


def dropped(unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether none of `counterparts` is `unit` edited: a clause cut, not reworded."""
    return _edits(unit.full, tuple(other.full for other in counterparts)) is None


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
    edits = _edits(unit.full, tuple(other.full for other in counterparts))
    if edits is None:
        return True
    changed, deleted = edits
    words = _words(unit.full)
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
    edits = _edits(unit.full, tuple(other.full for other in counterparts))
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
def _edits(text: str, others: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Where `text` differs from the most alike of `others`: the positions of its words
    inserted or replaced, and the positions before which words were deleted; None when none is
    alike. Punctuation, letter case and spelling do not count."""
    words = _words(text)
    matcher: difflib.SequenceMatcher[str] = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(words)
    best: list[str] | None = None
    best_ratio = _SIMILAR
    for other in others:
        other_words = _words(other)
        matcher.set_seq1(other_words)
        if matcher.quick_ratio() > best_ratio and (ratio := matcher.ratio()) > best_ratio:
            best, best_ratio = other_words, ratio
    if best is None:
        return None
    # Fillers are left out of the comparison, so that one moved ("We also may share" / "We may
    # also share") is no edit of the words around it; `kept` maps back to positions in `words`.
    kept = [position for position, word in enumerate(words) if word not in _FILLERS]
    content = [words[position] for position in kept]
    former = [word for word in best if word not in _FILLERS]
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


def _words(text: str) -> list[str]:
    """The words of `text`, one per word position of `Unit.starts`, each in comparable form."""
    return [comparable(word) for word in _WORD.findall(text)]
