"""Sentences and enumerated clauses: the units that are diffed and that rules read.

Policy sentences are long and often enumerate: "You agree that you will not … do any of the
following: (i) exploit …; (ii) introduce any viruses …; (iv) use any robot, spider, crawlers,
scraper …". The prohibition and the thing prohibited can be eighty words apart, so a rule reads
each enumerated clause together with the sentence's lead ("You agree that you will not …").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "inc",
        "ltd",
        "llc",
        "co",
        "corp",
        "no",
        "nos",
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "vs",
        "sec",
        "art",
        "para",
        "approx",
        "cf",
        "u.s",
        "u.k",
        "e.u",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_LAST_WORD = re.compile(r"(\S+)\.$")
_BARE_ENUMERATOR = re.compile(r"\(?(?:\d{1,3}[a-z]?|[a-z]|[ivxlc]{1,6})[.)]")
_TRAILING_JOINER = re.compile(r"[\s;,]*(?:\b(?:and|or)\b)?[\s;,]*$")
_MARKER = r"\((?:[ivx]{1,5}|[a-z]|\d{1,2})\)\s"  # "(iv) ", "(b) ", "(3) "
_ENUMERATOR = re.compile(rf"(?:(?<=^)|(?<=[\s:;,])){_MARKER}")
# The words that open an exception to what a clause says ("except", "unless", "other than").
EXCEPTION_OPENER = (
    r"except(?:\s+for)?|unless|other\s+than|save\s+for|excluding|with\s+the\s+exception\s+of"
)
# An exception whose cases are enumerated, with or without a colon: YouTube's "… using any
# automated means … except: (a) in the case of public search engines …; (b) with YouTube's prior
# written permission; or (c) as permitted by applicable law", OpenAI's "… unless: (i) …".
EXCEPTION_LIST = re.compile(rf"\b(?:{EXCEPTION_OPENER})\s*:?\s+{_MARKER}", re.IGNORECASE)
# A list's introduction that ends by opening an exception: its items are the exception's cases,
# as Google's "Transfers of data are not allowed, except:" lists them.
EXCEPTION_INTRO = re.compile(
    rf"\b(?:{EXCEPTION_OPENER})(?:\s+(?:as\s+follows|the\s+following|in\s+the\s+following"
    r"\s+cases))?\s*:?\s*$",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """The sentences of one normalized block, in order; abbreviations do not end a sentence."""
    sentences: list[str] = []
    start = 0
    for end in _END.finditer(text):
        piece = text[start : end.end()].rstrip()
        word = _LAST_WORD.search(piece)
        if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
            continue
        if _BARE_ENUMERATOR.fullmatch(piece.strip()):  # "ii." numbering what follows
            continue
        sentences.append(piece)
        start = end.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


@dataclass(frozen=True, slots=True)
class Clause:
    """One enumerated clause of a sentence with the sentence's lead, or a whole sentence."""

    lead: str
    text: str


def clauses(sentence: str) -> list[Clause]:
    """The enumerated clauses of `sentence` ("… : (i) …; (ii) …"), or the sentence itself.

    An enumeration that lists an exception's cases ("… except: (a) …; (b) …") is the exception,
    not clauses of the statement: it stays with the clause it excepts from, so that a case
    added to it reads as the exception widened, not as "(c) as permitted by applicable law"
    read under the lead "… using any automated means … except:" as a new restriction.
    """
    listed = EXCEPTION_LIST.search(sentence)
    end = listed.start() if listed else len(sentence)
    markers = list(_ENUMERATOR.finditer(sentence, 0, end))
    if len(markers) < 2:
        return [Clause("", sentence)]
    lead = sentence[: markers[0].start()].strip()
    bounds = [marker.end() for marker in markers]
    ends = [marker.start() for marker in markers[1:]] + [len(sentence)]
    return [
        Clause(lead, _TRAILING_JOINER.sub("", sentence[start:end]).strip())
        for start, end in zip(bounds, ends, strict=True)
    ]
