"""The consoles of the command line: fetched text is shown on the user's terminal, never obeyed.

A tracked page is written by someone else, and its text (a PDF's, an imported dataset's, a
page's non-ASCII controls) may hold terminal control characters: `ESC [` sequences that
recolour, move the cursor or erase the lines above, `ESC ]` ones that retitle the window or
plant a hyperlink. Rich escapes its own markup only when asked, and passes these characters on
as they are. So every console here strips them from the text it renders, whatever the command
prints, and keeps the styles and cursor moves Rich adds itself (its control segments).
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderHook, RenderResult
from rich.segment import Segment

# C0 controls but tab and newline, DEL, and the C1 controls (U+009B is a one-character `ESC [`).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Inert:
    """A renderable drawn as usual, with any control character dropped from its text."""

    def __init__(self, renderable: ConsoleRenderable) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            if segment.control or not _CONTROLS.search(segment.text):
                yield segment
            else:
                yield Segment(_CONTROLS.sub("", segment.text), segment.style)


class _InertText(RenderHook):
    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Inert(renderable) for renderable in renderables]


def safe_console(**options: Any) -> Console:
    """A Rich console (`options` as for `Console`) that never writes a control character it was
    given to print."""
    console = Console(**options)
    console.push_render_hook(_InertText())
    return console


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
