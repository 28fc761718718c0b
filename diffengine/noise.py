"""Captures that went wrong: the page changed in the fetcher's hands, not at its source.

Seen in real histories: WhatsApp's terms collapsing to a list of seven links for five days, Le
Chat's to "Redirecting to legal.mistral.ai", Llama's AUP to "This page isn't available" every
other day for months, Google Play's guidelines to Google's product chooser; Facebook's terms
served in French and YouTube's in Thai. Each test reads normalized texts.
"""

from __future__ import annotations

COLLAPSE_RATIO = 0.5  # a version with less than half the words of the last sound one is broken
_PROSE_BLOCK_WORDS = 6  # a block with fewer words is a label, a link or a heading
_SOUND_PROSE_WORDS = 40  # a page with less prose than this is an error page or a stub


def word_count(normalized: str) -> int:
    """Words of a normalized text."""
    return len(normalized.split())


def collapse_ratio(reference: str, new: str) -> float | None:
    """The share of the reference's words `new` kept, when it collapsed; None when it did not."""
    before, after = word_count(reference), word_count(new)
    if before == 0 or after >= COLLAPSE_RATIO * before:
        return None
    return after / before


def looks_broken(normalized: str) -> bool:
    """Whether a text is an error page, a redirect notice or a bare list of links, not a policy."""
    prose = 0
    for block in normalized.split("\n\n"):
        words = len(block.split())
        if words >= _PROSE_BLOCK_WORDS and not block.startswith("#"):
            prose += words
            if prose >= _SOUND_PROSE_WORDS:
                return False
    return True
