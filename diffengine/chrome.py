"""Page chrome: navigation, breadcrumbs, link lists and widgets caught in the selected region.

Real captures pick up chrome: Anthropic's help-centre breadcrumbs ("All Collections › Safeguards
› …"), Mistral's site menu ("Products", "Solutions", "Contact Sales"), the feedback form and
rotating "related articles" of Meta's help centre, Google's product chooser. Such blocks never
carry a policy: they are left out of rule matching (a bare "AI" in a menu is not a
restriction), and a change made only of them is a capture anomaly, not a policy change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from diffengine.blocks import Block

_LINK_TEXT = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BREADCRUMBS = re.compile(r"(?:\[[^\]]*\]\([^)]*\)\s*[›>/|»]?\s*){2,}")  # links in a row
_MARKUP = re.compile(r"[!\[\]*_#`\\]")
_SENTENCE_MARK = re.compile(r"[.:;!?\d]")
_LINK_SHARE = 0.6  # a block this much link text is a menu, a table of contents or a widget
_MENU_WORDS = 2  # a bare paragraph this short, without a sentence mark, is a menu entry

# Widget and navigation labels, compared casefolded with the whole block.
CHROME_LABELS = frozenset(
    {
        "all collections",
        "back to top",
        "choose a google product",
        "copy link",
        "cookie settings",
        "did this answer your question?",
        "help centre",
        "help center",
        "how can we improve it?",
        "i have a different question",
        "learn more",
        "on this page",
        "print",
        "read more",
        "related articles",
        "see more",
        "share",
        "show less",
        "show more",
        "skip to main content",
        "submit",
        "table of contents",
        "was this helpful?",
        "yes no",
        "yesno",
    }
)


# Labels that open a widget running to the next heading: a help centre's feedback form
# ("Was this helpful?", "How could it be better?", "The solution doesn't work", …) and its list
# of related articles, which rotates from one fetch to the next on Meta's help pages.
ZONE_OPENERS = frozenset(
    {
        "did this answer your question?",
        "people also ask",
        "related articles",
        "related questions",
        "related topics",
        "was this helpful?",
        "was this article helpful?",
    }
)
_LABEL_MARKUP = re.compile(r"[*_#\[\]`]+")


def chrome_zones(blocks: Sequence[Block]) -> list[bool]:
    """For each block, whether it lies in a widget zone: from an opener to the next heading
    that is not an opener itself. Read from raw text: no normalization needed."""
    zones: list[bool] = []
    inside = False
    for block in blocks:
        label = _LABEL_MARKUP.sub("", block.raw).strip().casefold() if len(block.raw) < 60 else ""
        if label in ZONE_OPENERS:
            inside = True
        elif block.kind == "heading":
            inside = False
        zones.append(inside)
    return zones


def is_chrome(block: Block, text: str) -> bool:
    """Whether `block` (with normalized `text`) is page chrome rather than policy text."""
    if not text or text.casefold() in CHROME_LABELS:
        return True
    if block.kind == "heading":
        return False
    if _BREADCRUMBS.match(block.raw):
        return True
    link_chars = sum(len(_MARKUP.sub("", link)) for link in _LINK_TEXT.findall(block.raw))
    if link_chars >= _LINK_SHARE * len(text):
        return True
    return (
        block.kind == "paragraph"
        and len(text.split()) <= _MENU_WORDS
        and not _SENTENCE_MARK.search(text)
    )
