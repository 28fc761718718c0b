"""Page chrome: navigation, breadcrumbs, link lists and widgets caught in the selected region.

Real captures pick up chrome: Anthropic's help-centre breadcrumbs ("All Collections › Safeguards
› …"), Mistral's site menu ("Products", "Solutions", "Contact Sales"), the feedback form and
rotating "related articles" of Meta's help centre, Google's product chooser. Such blocks never
carry a policy, nor does a stylesheet the capture left in the text (TikTok's, 2026-07-21): they
are left out of rule matching (a bare "AI" in a menu is not a restriction), and a change made
only of them is a capture anomaly, not a policy change.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from diffengine.blocks import Block

_LINK_TEXT = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_BREADCRUMBS = re.compile(r"(?:\[[^\]]*\]\([^)]*\)\s*[›>/|»]?\s*){2,}")  # links in a row
_MARKUP = re.compile(r"[!\[\]*_#`\\]")
_SENTENCE_MARK = re.compile(r"[.:;!?\d]")
# A page's stylesheet left in the text, two rules or more: "p.p1 {margin: 0.0px; font: 12.0px
# Times} span.s1 {font-kerning: none}" (selectors, then property: value pairs in braces). Each
# part can be read one way only, so a long paragraph that is no stylesheet fails fast.
_SELECTOR = r"[\w.#*-]+(?:(?:\s*[,>+~]\s*|\s+)[\w.#*-]+)*"
_DECLARATION = r"-?[a-z]+(?:-[a-z]+)*\s*:[^;{}\":]*(?:;\s*|(?=\}))"
_STYLE_RULE = rf"{_SELECTOR}\s*\{{\s*(?:{_DECLARATION})+\}}"
_STYLESHEET = re.compile(rf"\s*{_STYLE_RULE}(?:\s*{_STYLE_RULE})+\s*")
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
# ("Was this helpful?", "How could it be better?", "The solution doesn't work", …), its list
# of related articles, which rotates from one fetch to the next on Meta's help pages, and the
# help box under Instagram's and Threads' terms ("Other ways to get help", "Chat with Meta AI
# support assistant").
ZONE_OPENERS = frozenset(
    {
        "did this answer your question?",
        "other ways to get help",
        "people also ask",
        "related articles",
        "related questions",
        "related topics",
        "was this helpful?",
        "was this article helpful?",
    }
)
# Labels that close a list of suggested topics running back to the previous heading or prose:
# Meta's help centre shows a few above its articles ("What is the Instagram Service?", "My
# account was disabled", "Delete my Threads profile") and changes them every few weeks, each
# change a low alert on Instagram's and Threads' terms.
ZONE_CLOSERS = frozenset({"i have a different question"})
_LABEL_MARKUP = re.compile(r"[*_#\[\]`]+")
_LABEL_LENGTH = 60  # a block this long or longer is no widget label


def _label(block: Block) -> str:
    """The block as a widget label would read, casefolded; "" for a block too long for one."""
    if len(block.raw) >= _LABEL_LENGTH:
        return ""
    return _LABEL_MARKUP.sub("", block.raw).strip().casefold()


def chrome_zones(blocks: Sequence[Block]) -> list[bool]:
    """For each block, whether it lies in a widget zone: from an opener to the next heading
    that is not an opener itself, or from a closer back over the topic labels above it (short
    paragraphs that end no sentence with a period). Read from raw text: no normalization
    needed."""
    labels = [_label(block) for block in blocks]
    zones: list[bool] = []
    inside = False
    for block, label in zip(blocks, labels, strict=True):
        if label in ZONE_OPENERS:
            inside = True
        elif block.kind == "heading":
            inside = False
        zones.append(inside)
    for end, label in enumerate(labels):
        if label not in ZONE_CLOSERS:
            continue
        start = end
        while start > 0 and _topic(blocks[start - 1], labels[start - 1]):
            start -= 1
        zones[start : end + 1] = [True] * (end + 1 - start)
    return zones


def _topic(block: Block, label: str) -> bool:
    """Whether a block reads as one of a help centre's suggested topics: a short paragraph, a
    question or a bare title, not a sentence ended with a period."""
    return block.kind == "paragraph" and bool(label) and not label.endswith(".")


def is_chrome(block: Block, text: str) -> bool:
    """Whether `block` (with normalized `text`) is page chrome rather than policy text."""
    if not text or text.casefold() in CHROME_LABELS:
        return True
    if block.kind == "heading":
        return False
    if _BREADCRUMBS.match(block.raw) or _STYLESHEET.fullmatch(block.raw):
        return True
    link_chars = sum(len(_MARKUP.sub("", link)) for link in _LINK_TEXT.findall(block.raw))
    if link_chars >= _LINK_SHARE * len(text):
        return True
    return (
        block.kind == "paragraph"
        and len(text.split()) <= _MENU_WORDS
        and not _SENTENCE_MARK.search(text)
    )
