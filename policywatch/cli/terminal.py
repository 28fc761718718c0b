"""The consoles of the command line: fetched text is shown on the user's terminal, never obeyed.

A tracked page is written by someone else, and its text (a PDF's, an imported dataset's, a
page's non-ASCII controls) may hold terminal control characters: `ESC [` sequences that
recolour, move the cursor or erase the lines above, `ESC ]` ones that retitle the window or
plant a hyperlink. Rich escapes its own markup only when asked, and passes these characters on
as they are. So every console here strips them from the text it renders, whatever the command
prints, and keeps the styles and cursor moves Rich adds itself (its control segments).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.segment import Segment

# C0 controls but tab and newline, DEL, and the C1 controls (U+009B is a one-character `ESC [`).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Inert:
    """A renderable drawn as usual, with any control character dropped from its text; and,
    written to a file or a pipe, without the spaces Rich pads a line with to the width of its
    table or wrapped text (a real terminal is given them: they carry the cells' backgrounds)."""

    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        segments = self._inert(console.render(self.renderable, options))
        if console.is_terminal:
            yield from segments
        else:
            yield from _unpadded(segments)

    @staticmethod
    def _inert(segments: Iterable[Segment]) -> Iterator[Segment]:
        for segment in segments:
            if segment.control or not _CONTROLS.search(segment.text):
                yield segment
            else:
                yield Segment(_CONTROLS.sub("", segment.text), segment.style)


def _unpadded(segments: Iterable[Segment]) -> Iterator[Segment]:
    """`segments` with the spaces at the end of each line dropped. A line the renderable leaves
    open (no newline: `print(..., end="")`) keeps them, as what follows it may need them."""
    line: list[Segment] = []
    for segment in segments:
        if segment.control or "\n" not in segment.text:
            line.append(segment)
            continue
        *ended, rest = segment.text.split("\n")
        for text in ended:
            line.append(Segment(text, segment.style))
            yield from _rstripped(line)
            yield Segment("\n", segment.style)
            line = []
        line.append(Segment(rest, segment.style))
    yield from line


def _rstripped(line: list[Segment]) -> list[Segment]:
    """One line's segments without the spaces that end it (control segments kept)."""
    kept = list(line)
    for at in range(len(kept) - 1, -1, -1):
        segment = kept[at]
        if segment.control:
            continue
        text = segment.text.rstrip(" ")
        kept[at] = Segment(text, segment.style)
        if text:
            break
    return [segment for segment in kept if segment.control or segment.text]


class _InertText(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Inert(renderable) for renderable in renderables]


# The width of what is written to a file or a pipe: Rich measures the terminal the command was
# typed in (its stdin's), and `history | less` or `--help > help.txt` in a wide one was as wide,
# each line of a table or a box padded to the last cell.
PIPED_WIDTH = 80


def safe_console(**options: Any) -> Console:
    """A Rich console (`options` as for `Console`) that never writes a control character it was
    given to print, and that is 80 columns wide written to a file or a pipe, unless `width` or
    COLUMNS says."""
    return _made_safe(Console(**options), sized="width" in options)


def _made_safe(console: Console, *, sized: bool) -> Console:
    if not (sized or console.is_terminal or "COLUMNS" in os.environ):
        console.width = min(console.width, PIPED_WIDTH)
    console.push_render_hook(_InertText())
    return console


def plain_piped_help() -> None:
    """Have Typer print help (and its own errors) through a console made as ours are: in a
    terminal, as Typer draws it; written to a file or a pipe, with no line ending in spaces and
    at most 80 columns wide, unless COLUMNS or Typer's TERMINAL_WIDTH asks for a width. Typer
    makes that console in one function of its own, called each time it prints, which this
    wraps: its help is drawn by Rich straight to stdout, past Click's formatter."""
    from typer import rich_utils

    typers = rich_utils._get_rich_console

    def console(stderr: bool = False) -> Console:
        return _made_safe(typers(stderr), sized=bool(rich_utils.MAX_WIDTH))

    rich_utils._get_rich_console = console


# What JSON leaves raw of those: DEL and the C1 controls (it escapes C0 itself).
_RAW_IN_JSON = re.compile("[\x7f-\x9f]")


def inert_json(text: str) -> str:
    """JSON text with DEL and the C1 controls written as `\\u` escapes: a script parses the same
    data, and a terminal shown `--json` obeys none of them (`json.dumps` escapes C0 only, and
    U+009B is a one-character `ESC [`)."""
    return _RAW_IN_JSON.sub(lambda raw: f"\\u{ord(raw.group()):04x}", text)


def inert_text(text: str) -> str:
    """Text to write raw (not through a console: a document's text, for a file or a pager),
    without the control characters a terminal would obey."""
    return _CONTROLS.sub("", text)
