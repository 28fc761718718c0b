"""Normalization: two texts that normalize equal differ only cosmetically.

What does not change what a policy says, and so must never raise an alert, all of it seen in
real page histories: whitespace and line wrapping; typography (curly quotes, dashes, non-breaking
and zero-width spaces, `•` bullets typed into list items); Markdown emphasis and escapes; link
targets, whose rotating tracking tokens (`?helpref=…`, `?ref=…`) churn daily on Meta's pages;
query strings of bare URLs; relative dates ("Updated 6 days ago"); the same date written two
ways. Letter case is kept for display; comparisons casefold (see `comparable`).

The normal form is Markdown again, one block per line and a blank line between blocks: headings
as `#`, list items as `- `, table rows as `| … |`. It stays readable in a diff, and normalizing
it again changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from diffengine.blocks import Block, is_table_separator, parse_blocks
from diffengine.dates import canonical_dates

_TYPOGRAPHY = {
    **dict.fromkeys("‘’‚‛′‹›`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−﹘﹣•◦▪‣", "-"),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    **dict.fromkeys("\u00a0\u2007\u202f\t", " "),
}
_TYPOGRAPHIC = re.compile("[" + "".join(_TYPOGRAPHY) + "]")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
# An escaped bracket opens no link: LinkedIn's "**\[Note: … migrated to the** [**LinkedIn
# Marketing Solutions (LMS) Program**](…) **effective October 1, 2020\]**", a section title,
# lost its "[" to a link read from it, and kept a stray backslash.
_LINK = re.compile(r"(?<!\\)\[([^\]]*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
_ORPHAN_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*\)")
_EMPTY_BRACKETS = re.compile(r"\[\s*\]|\(\s*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]*)>")
_URL_QUERY = re.compile(r"(\b(?:https?://|www\.)[^\s?#<>\"]*)[?#][^\s<>\"]*")
# Only real HTML elements are markup: "<user-consent-token>", "<none>" or "<API key>" in a policy
# are text it quotes (a placeholder, a header's value), and deleting them made edits to them
# cosmetic.
_HTML_ELEMENTS = (  # the name must end where the tag's name does: see the lookahead below
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|blockquote|body|br|button|canvas|"
    "caption|center|cite|code|col|colgroup|data|datalist|dd|del|details|dfn|dialog|div|dl|dt|"
    "em|embed|fieldset|figcaption|figure|font|footer|form|h1|h2|h3|h4|h5|h6|head|header|"
    "hgroup|hr|html|i|iframe|img|input|ins|kbd|label|legend|li|link|main|map|mark|menu|meta|"
    "meter|nav|noscript|object|ol|optgroup|option|output|p|param|picture|pre|progress|q|rp|"
    "rt|ruby|s|samp|script|search|section|select|slot|small|source|span|strike|strong|style|"
    "sub|summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|time|title|tr|track|"
    "tt|u|ul|var|video|wbr|path|g|use|defs|symbol"
)
_HTML_TAG = re.compile(rf"</?(?:{_HTML_ELEMENTS})(?=[\s/>])[^<>]*>", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~=])")
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])")
_ANCHORS = frozenset({"#", "¶", "§", "🔗"})
_RELATIVE_DATE = re.compile(
    r"\b(?:(?:\d+|an?|one|a few|several)\s+(?:second|minute|hour|day|week|month|year)s?\s+ago"
    r"|yesterday|just now)\b",
    re.IGNORECASE,
)
_SPACE_BEFORE = re.compile(r" ([.,;:!?)\]])")
_SPACE_AFTER = re.compile(r"([(\[]) ")
_YEAR = re.compile(r"(?:19|20)\d\d")  # a cheap test before looking for dates
_LEADING_BULLETS = re.compile(r"^(?:[·*+-]\s*)+")
_ORDERED_MARKER = re.compile(r"^(\d+)([.)])")
_TRAILING_HASHES = re.compile(r"\s#+$")

RELATIVE_DATE = "[relative date]"

_ISE = re.compile(  # British -ise verbs and their -isation nouns
    r"\b(anonymi|authori|capitali|categori|centrali|characteri|critici|customi|digiti|emphasi"
    r"|finali|initiali|itemi|jeopardi|legali|locali|maximi|memori|minimi|moneti|neutrali"
    r"|normali|optimi|organi|penali|personali|prioriti|pseudonymi|reali|recogni|saniti"
    r"|speciali|stabili|standardi|summari|synchroni|utili|visuali|analy|paraly)"
    r"s(e|ed|es|er|ers|ing|ation|ations)\b"
)
_AMERICAN = {
    "programme": "program",
    "programmes": "programs",
    "behaviour": "behavior",
    "behaviours": "behaviors",
    "colour": "color",
    "favour": "favor",
    "honour": "honor",
    "labour": "labor",
    "neighbour": "neighbor",
    "centre": "center",
    "centres": "centers",
    "licence": "license",
    "licences": "licenses",
    "defence": "defense",
    "offence": "offense",
    "offences": "offenses",
    "catalogue": "catalog",
    "cancelled": "canceled",
    "cancelling": "canceling",
    "travelled": "traveled",
    "labelled": "labeled",
    "labelling": "labeling",
    "modelling": "modeling",
    "fulfil": "fulfill",
    "fulfilment": "fulfillment",
    "enrol": "enroll",
    "enrolment": "enrollment",
    "judgement": "judgment",
    "ageing": "aging",
    "whilst": "while",
    "amongst": "among",
}
# "a. ", "iv. ", "(c) ", "10. ", "10.2 ", "3b) " opening a block, a sentence or a heading.
_ENUMERATORS = re.compile(
    r"^(?:(?:\(?(?:\d{1,3}[a-z]?|[a-z]|[ivxlc]{1,6})[.)]|\d{1,3}(?:\.\d{1,3})+)\s+)+"
)
_WORDS = re.compile(r"\w+")
_BRITISH_WORD = re.compile(r"\b(?:" + "|".join(_AMERICAN) + r")\b")


@lru_cache(maxsize=8192)
def inline(text: str) -> str:
    """The cosmetic-free form of one block's text, on one line, markers excluded.

    Memoized: consecutive versions of a page share most of their blocks, and a replay of its
    history (`import-history`, `rejudge`) normalizes each version whole.
    """
    for _ in range(4):  # removing markup can reveal markup; stop when nothing changes
        cleaned = _inline_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def _typography(match: re.Match[str]) -> str:
    return _TYPOGRAPHY[match[0]]


def _link_text(match: re.Match[str]) -> str:
    """A link's text, without its target; a heading's anchor link ("#", "¶") goes entirely."""
    return "" if match[1].strip() in _ANCHORS else match[1]


def _plain_characters(text: str) -> str:
    """Compatibility characters composed (NFKC), typography made plain."""
    # ASCII (a flag on the string, no scan) is in every normal form and holds no typography but
    # the backtick and the tab; most blocks are ASCII once the first pass has run.
    if not text.isascii():
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        if _TYPOGRAPHIC.search(text):  # a search without a match costs half a sub without one
            text = _TYPOGRAPHIC.sub(_typography, text)
    elif "`" in text or "\t" in text:
        text = _TYPOGRAPHIC.sub(_typography, text)
    return text


def _without_markup(text: str) -> str:
    """Images and link targets out (a link's text stays), HTML tags out."""
    if "[" in text or "]" in text:
        text = _IMAGE.sub("", text.replace(")[", ") ["))
        text = _LINK.sub(_link_text, text)
        text = _ORPHAN_TARGET.sub("", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", _AUTOLINK.sub(r"\1", text))
    return text


def _without_url_queries(text: str) -> str:
    """Bare URLs without their query or fragment (tracking parameters, session ids)."""
    return _URL_QUERY.sub(r"\1", text) if "://" in text or "www." in text else text


def _inline_once(text: str) -> str:
    # Each step is guarded by a cheap test: most blocks need few of them, and this runs per block.
    text = _without_markup(_plain_characters(text))
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    text = text.replace("*", "")  # emphasis; list markers were read by the block parser
    if "_" in text:
        text = _UNDERSCORE_EMPHASIS.sub("", text)
    text = _without_url_queries(text)
    if ("19" in text or "20" in text) and _YEAR.search(text):
        text = canonical_dates(text)
    if "ago" in text or "esterday" in text or "just now" in text:
        text = _RELATIVE_DATE.sub(RELATIVE_DATE, text)
    text = " ".join(text.split())
    if "(" in text or "[" in text:
        # Spaces are single now: an opening bracket's space is "( ", and once it is gone an empty
        # pair is "()" or "[]". Plain searches for them cost a fraction of the patterns' scans.
        if "( " in text or "[ " in text:
            text = _SPACE_AFTER.sub(r"\1", text)
        if "()" in text or "[]" in text:
            text = _EMPTY_BRACKETS.sub("", text).strip()
    return _SPACE_BEFORE.sub(r"\1", text) if _SPACE_BEFORE.search(text) else text


def item_text(block: Block) -> str:
    """The normalized text of a block, without its Markdown marker."""
    text = inline(block.raw)
    return _LEADING_BULLETS.sub("", text) if block.kind == "item" else text


def render(block: Block, text: str) -> str:
    """A block's normal form: `text` with the Markdown marker of its kind."""
    if block.kind == "heading":
        if text.endswith("#") and _TRAILING_HASHES.search(" " + text):
            text = text[:-1] + "\\#"  # else read back as a closing sequence and dropped
        return "#" * block.level + " " + text
    if block.kind == "item":
        return "- " + text
    if block.kind == "row":
        row = "| " + " | ".join(cell.strip() for cell in text.strip("|").split("|")) + " |"
        return row.replace("-", "\\-") if is_table_separator(row) else row  # not a |---| line
    return _escape_marker(text)


def _escape_marker(paragraph: str) -> str:
    """Escape a paragraph that would read back as another kind of block (`1. …`, `# …`)."""
    if not paragraph or (paragraph[0] not in "#>|*+-=_" and not paragraph[0].isdigit()):
        return paragraph
    reread = parse_blocks(paragraph)
    if len(reread) == 1 and reread[0].kind == "paragraph" and reread[0].raw == paragraph:
        return paragraph
    if paragraph[0].isdigit():
        return _ORDERED_MARKER.sub(r"\1\\\2", paragraph)
    return "\\" + paragraph


@lru_cache(maxsize=16)
def normalize(text: str) -> str:
    """The normal form of a whole Markdown text: cosmetic differences gone, structure kept.

    Memoized: a crawl vets a new text, fingerprints it and judges it, apart.
    """
    return "\n\n".join(filter(None, map(_block_form, parse_blocks(text))))


def _block_form(block: Block) -> str:
    """A block's normal form: "" when nothing is left of it."""
    content = item_text(block)
    return render(block, content) if content else ""


def prose_sample(text: str, count: int, size: int) -> list[str]:
    """At most `count` stretches of the prose of Markdown `text`, of at most `size` characters
    each, starting evenly spread over it and never overlapping; a short text is read whole.

    Prose is what the normal form keeps of the words: link targets, images, HTML tags and URL
    queries out, compatibility characters and typography made plain; the steps that change no
    word (emphasis, escapes, spacing, dates) are skipped. Counting words needs no more, at a
    third of the cost of normalizing: a page's first version is only checked for its language.
    """
    blocks = parse_blocks(text)
    lengths = [len(block.raw) for block in blocks]
    step = max(size, -(-sum(lengths) // count))
    starts: list[int] = []
    target = end = 0
    for index, length in enumerate(lengths):
        end += length
        if end > target:  # this block holds the next start, or several when it is long
            starts.append(index)
            while target < end:
                target += step
    if not starts:
        return []
    stops = [*starts[1:], len(lengths)]
    return [_stretch(blocks[start:stop], size) for start, stop in zip(starts, stops, strict=True)]


def _stretch(blocks: list[Block], size: int) -> str:
    """The prose of `blocks`, as far as `size` characters reach."""
    proses: list[str] = []
    read = 0
    for block in blocks:
        if read >= size:
            break
        prose = _prose(block.raw)
        if prose:
            proses.append(prose)
            read += len(prose) + 2
    return "\n\n".join(proses)[:size]


def _prose(text: str) -> str:
    text = _without_markup(_plain_characters(text))
    return _without_url_queries(text)


@lru_cache(maxsize=16384)
def comparable(text: str) -> str:
    """The key two normalized sentences or blocks are compared by.

    Only words count: punctuation (an Oxford comma, "Effective:" glued to its date), letter
    case, apostrophes ("LinkedIns" and "LinkedIn's"), the numbering of list items and
    sections ("h. 'IT Systems' means" becoming "i. 'IT Systems' means" when an item is inserted
    above) and British or American spelling are cosmetic too: Google Play's policy flipped from
    "Program" to "Programme", and Instagram's terms from "personalized" to "personalised", with
    the locale served. Memoized: the same sentences are compared many times.
    """
    return _spelled(" ".join(_WORDS.findall(_unnumbered(text))))


def comparable_text(text: str) -> str:
    """`comparable` for whole texts, such as a normal form: line by line, each line memoized,
    as the versions of a page share most of their blocks. The same as in one pass: no word runs
    across lines, and the numbering at the text's start is taken off first."""
    return " ".join(comparable_lines(text))


def comparable_lines(text: str) -> tuple[str, ...]:
    """The lines of `comparable_text` that hold words: joined by spaces, they are it."""
    return tuple(filter(None, map(_comparable_line, _unnumbered(text).split("\n"))))


@lru_cache(maxsize=16384)
def _comparable_line(line: str) -> str:
    return _spelled(" ".join(_WORDS.findall(line)))


def _unnumbered(text: str) -> str:
    """`text` case-folded, without apostrophes, and without the numbering that opens it."""
    return _ENUMERATORS.sub("", text.casefold().replace("'", ""))


def _spelled(words: str) -> str:
    """Words (one space between each) in American spelling: "-ize", "program", "color"."""
    return _BRITISH_WORD.sub(lambda word: _AMERICAN[word[0]], _ISE.sub(r"\1z\2", words))
