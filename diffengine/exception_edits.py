"""How an exception to a clause was edited: widened or narrowed, its cases added or cut.

A restriction whose exception grows allows more ("except as permitted by law" added): it is
loosened, not imposed again. One whose exception is cut, narrowed ("with our prior written
permission") or reworded leaves out other cases than before: it is tightened, and news again.
"""

from __future__ import annotations

import re
from collections import Counter

from diffengine.edits import FILLERS, word_edits
from diffengine.matching import Unit, comparable_words
from diffengine.sentences import EXCEPTION_LIST, EXCEPTION_OPENER

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
EXCEPTION = re.compile(
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
    rf"{EXCEPTION.pattern}"
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
    found = list(EXCEPTION.finditer(unit.full))
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
_NEUTRAL = FILLERS | {"applicable", "otherwise"}


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
    but the `_JOINERS` and `FILLERS` ("unless the changes are required by law" become "unless
    changes …" cuts nothing from the exception)."""
    spans = unit.spans(pattern or EXCEPTION)
    outside: list[str] = []
    inside: list[str] = []
    for position, word in enumerate(comparable_words(unit.full)):
        if not any(span.start <= position <= span.end for span in spans):
            outside.append(word)
        elif word not in _JOINERS and word not in FILLERS:
            inside.append(word)
    return outside, inside


def case_narrowed(old: str, new: str) -> bool:
    """Whether a case of an exception, listed as an item of its own ("Transfers … are not
    allowed, except:", "- with the user's consent"), reworded from `old` to `new` leaves out
    less: words added or replaced ("with the user's explicit consent"), not only cut (the case
    widened), nor edits that say the same (fillers, typos, synonyms, "applicable")."""
    edits = word_edits(new, (old,))
    if edits is None or not edits[0]:
        return False
    before, after = _gist(comparable_words(old)), _gist(comparable_words(new))
    if _bag(before) == _bag(after):  # the same words reordered: "the consent of the user"
        return False
    return not _within(after, before)


def _bag(words: list[str]) -> Counter[str]:
    """Words in any order, a genitive's "of" and "'s" aside ("the user's consent", compared as
    "users"), and so a plural's "s"."""
    return Counter(word.removesuffix("s") for word in words if word != "of")
