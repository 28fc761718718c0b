"""Items cut from or added to a list a rule reads: fewer barred, fewer places allowed.

"Not available in: Cuba, Iran, Russia" become "…: Cuba, Iran" bars fewer; "We share your data
with Meta and Google" become "… with Meta" shares with fewer; "available in the US, UK and
Canada" become "available in the US" allows fewer places. A list of what is allowed, or an
exception's cases, reads the other way round.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import lru_cache

from diffengine.exception_edits import EXCEPTION
from diffengine.matching import Reach, Unit, find
from diffengine.normalize import comparable
from diffengine.rules import Rule
from diffengine.sentences import EXCEPTION_INTRO

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
        and not EXCEPTION.search(head)
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
