"""The block structure of a Markdown policy: headings, paragraphs, list items, table rows.

Parsing is structural only and cheap: a block keeps its raw source, and the inline clean-up
(`normalize.inline`) is done later, lazily, for the blocks that differ between two versions.
That is what keeps `compare` on a 300 KB policy within milliseconds: most blocks are byte-equal
in both versions and are never normalized at all.

Both heading styles are read: ATX (`# Title`) and setext (`Title` over `=====`), which is what
Open Terms Archive's extraction produces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, NamedTuple

BlockKind = Literal["heading", "paragraph", "item", "row"]

_ATX = re.compile(r"(#{1,6})(?:\s+|$)")
_LIST_MARKER = re.compile(r"(?:[*+\-•◦▪‣]|\d{1,3}[.)])(?:\s+|$)")
_THEMATIC_BREAK = re.compile(r"(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,}|(?:=\s*){3,})")
_TABLE_SEPARATOR = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")
_CLOSING_HASHES = re.compile(r"\s+#+\s*$")
_SETEXT_UNDERLINE = re.compile(r"=+|-+")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_MARKUP_STARTS = frozenset(">=-*_#|+•◦▪‣")
# A bold title on a line of its own atop a paragraph, as a page sets <b>Title<br></b>Text:
# "**Terminations by You**⏎You may…", or "**Terminations by You⏎**You may…". Not one that leads
# into what follows (it ends in ":" or ","), nor a bold run the next line goes on with in lower
# case ("**You may not**⏎use any robot").
_RUN_IN_TITLE = re.compile(
    r"(\*\*|__)([^\n*_]*[^\s*_:,;])(?:\1[^\S\n]*\\?\n|[^\S\n]*\\?\n\1)(?=[\"'(“‘]?[A-Z0-9])"
)


class Block(NamedTuple):
    """One unit of a page: its kind, heading level (0 if not a heading), list depth, raw text."""

    kind: BlockKind
    raw: str
    level: int = 0
    depth: int = 0


class Located(NamedTuple):
    """A block with the index of the line it starts on (a setext heading: its title's)."""

    line: int
    block: Block


def is_table_separator(line: str) -> bool:
    """Whether a table line is the `|---|---|` row under a table's header."""
    return _TABLE_SEPARATOR.fullmatch(line) is not None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def parse_blocks(text: str) -> list[Block]:
    """Split Markdown `text` into blocks, in order; thematic breaks and blank lines vanish.

    A blank line always ends a block, so the text is cut at blank lines first, and the pieces
    that are one plain line (most of a policy) become paragraphs without further ado.
    """
    blocks: list[Block] = []
    for piece in _BLANK_LINE.split(text.replace("\r\n", "\n").replace("\r", "\n")):
        plain = piece.strip()
        if not plain:
            continue
        if "\n" not in plain and plain[0] not in _MARKUP_STARTS and not plain[0].isdigit():
            blocks.append(Block("paragraph", plain))
        else:
            blocks += _parse_lines(piece).blocks
    return blocks


def run_in_title(block: Block) -> str:
    """The raw bold title a paragraph or list item opens with on a line of its own, or "".

    Such a title is no part of the sentence below it: merged, "Terminations by You You may stop
    using the Service at any time." read as a termination.
    """
    if block.kind == "heading" or "\n" not in block.raw:
        return ""
    title = _RUN_IN_TITLE.match(block.raw)
    return title[2] if title else ""


def locate_blocks(lines: Sequence[str]) -> list[Located]:
    """The blocks of a Markdown text given as its lines, each with the line it starts on.

    For views that show a text line by line (the change page): they find its headings, of
    either style, and the block each line belongs to, as `parse_blocks` reads them.
    """
    located: list[Located] = []
    start = 0
    for index, line in enumerate([*lines, ""]):
        if line.strip():
            continue
        if index > start:
            piece = _parse_lines("\n".join(lines[start:index]))
            located += map(Located, [start + offset for offset in piece.starts], piece.blocks)
        start = index + 1
    return located


class _Piece(NamedTuple):
    """The blocks of a piece of text, and the index of the line each starts on in the piece."""

    blocks: tuple[Block, ...]
    starts: tuple[int, ...]


@lru_cache(maxsize=8192)
def _parse_lines(text: str) -> _Piece:
    """The blocks of a piece of text with no blank line, read line by line.

    Memoized: two versions of a page share most of their pieces, so the second is read fast.
    """
    blocks: list[Block] = []
    starts: list[int] = []
    kind: BlockKind = "paragraph"
    lines: list[str] = []  # of the block being read
    depth = start = 0
    for index, line in enumerate(text.split("\n")):
        stripped = line.strip()
        first = stripped[:1]
        while first == ">":  # a blockquote reads as the text it quotes
            stripped = stripped.lstrip(">").strip()
            first = stripped[:1]
        if lines and kind == "paragraph" and _SETEXT_UNDERLINE.fullmatch(stripped):
            # A setext underline turns the paragraph above it into a heading; after a blank
            # line (no paragraph above), a line of dashes is a thematic break.
            blocks.append(Block("heading", " ".join(lines), 1 if first == "=" else 2))
            starts.append(start)
            lines = []
            continue
        boundary = _boundary(stripped, first, line) if stripped else _BREAK  # ">" alone
        if boundary is None:
            if not lines:
                kind, depth, start = "paragraph", 0, index
            lines.append(stripped)
            continue
        if lines:
            blocks.append(Block(kind, "\n".join(lines), 0, depth))
            starts.append(start)
            lines = []
        if boundary.kind == "item":
            kind, depth, start = "item", boundary.depth, index
            lines = [boundary.raw]
        elif boundary.raw:
            blocks.append(boundary)
            starts.append(index)
    if lines:
        blocks.append(Block(kind, "\n".join(lines), 0, depth))
        starts.append(start)
    return _Piece(tuple(blocks), tuple(starts))


_BREAK = Block("paragraph", "")  # a thematic break or a table's separator row: ends a block


def _boundary(stripped: str, first: str, line: str) -> Block | None:
    """The block a line starts (an item's first line, a heading, a table row), `_BREAK` for a
    line that only ends the block before it, or None for a line that continues it."""
    if first in "*-_=" and _THEMATIC_BREAK.fullmatch(stripped):
        return _BREAK
    if first == "#" and (heading := _ATX.match(stripped)):
        title = _CLOSING_HASHES.sub("", stripped[heading.end() :])
        return Block("heading", title, len(heading.group(1)))
    if first == "|":
        return _BREAK if is_table_separator(stripped) else Block("row", stripped)
    if (first in "*+-•◦▪‣" or first.isdigit()) and (marker := _LIST_MARKER.match(stripped)):
        return Block("item", stripped[marker.end() :], 0, _indent(line))
    return None
