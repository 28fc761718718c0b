"""A page's text with what changes on every fetch kept as last recorded: a nonce, a request id,
a session or CSRF token, a generation stamp shown inside the policy's element.

Such a page gave a new version, judged a meaningful change, on every crawl. When a page's text
is not the one last recorded, it is fetched a second time at once (crawlers/pipelines.py): the
words the two fetches do not share are the page's per-fetch words. Where the text differs from
the last recorded one only in those words, the last recorded words are kept, so an unchanged
policy reads as unchanged; a clause that changed between crawls (and not between two fetches a
moment apart) is a change as before, without the per-fetch words changed around it. A stamp
that stays the same over the two fetches (one to the minute) is not told apart: only what
differs between them is.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

# Words with the whitespace after them (and any before the first): joined, they are the text.
_WORDS = re.compile(r"\s+|\S+\s*")
# Two fetches of a page a moment apart share nearly all their words; two that share fewer are
# not the same page with its per-fetch words (an A/B test, a wall on one of them): then nothing
# is taken for per-fetch.
_SHARED_AT_LEAST = 0.9


def steady_text(text: str, again: str, previous: str) -> str:
    """`text`, with each difference from `previous` (the text last recorded) that lies wholly
    in words `again` (the same page fetched a moment later) does not share undone."""
    if text in (again, previous):
        return text
    words = _WORDS.findall(text)
    varying = _varying(words, _WORDS.findall(again))
    if not varying:
        return text
    before = _WORDS.findall(previous)
    steady: list[str] = []
    for operation, start, end, at, to in SequenceMatcher(None, before, words).get_opcodes():
        # A deletion from `previous` sits between two words of `text`: it is per-fetch when
        # the word after it is.
        per_fetch = operation != "equal" and varying.issuperset(range(at, max(to, at + 1)))
        steady.extend(before[start:end] if per_fetch else words[at:to])
    return "".join(steady)


def _varying(words: list[str], other: list[str]) -> set[int]:
    """The positions of `words` that `other` does not share (a position before which `other`
    has words of its own counts too); none when the two are too unlike to be one page."""
    matcher = SequenceMatcher(None, words, other)
    if matcher.ratio() < _SHARED_AT_LEAST:
        return set()
    return {
        position
        for operation, start, end, _, _ in matcher.get_opcodes()
        if operation != "equal"
        for position in range(start, max(end, start + 1))
    }
