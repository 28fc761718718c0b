"""The structured diff of a change, drawn for the terminal (`policywatch show`).

Only what changed is drawn, with a little unchanged context around it; the heading path of each
hunk stands above it as a landmark; a reworded paragraph shows its deleted and inserted words in
place, long unchanged runs of words elided. Page chrome (menus, link lists) is drawn dim, and a
paragraph holding a sentence a rule matched is flagged in the margin. On a terminal without
colour, deleted and inserted words are marked `[-like this-]` and `{+like this+}`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from diffengine import ChangeReport, ParagraphChange, Span

_CONTEXT_CHARS = 160  # an unchanged paragraph shown for context is cut to this
_KEPT_WORDS = 8  # words kept on each side of an edit inside a long unchanged run
_MARKS = {"added": "+", "removed": "-", "changed": "~", "moved": "↷"}
_STYLES = {"added": "green", "removed": "red", "changed": "bold", "moved": "yellow"}
_FLAG = "⚑"


class ChangeView:
    """A change report as terminal lines; colour or plain markers, as the console allows."""

    def __init__(self, report: ChangeReport, flagged: Collection[str] = ()) -> None:
        self.report = report
        self.flagged = flagged

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        plain = console.no_color or console.color_system is None
        if self.report.identical:
            yield Text("No change in the text once normalized.", style="dim")
            return
        yield from self._lines(plain)

    def _lines(self, plain: bool) -> Iterator[RenderableType]:
        landmark: tuple[str, ...] | None = None
        for number, hunk in enumerate(self.report.hunks):
            if hunk.section != landmark:
                title = " › ".join(hunk.section) or "(top of the page)"
                yield Text(title, style="bold cyan")
                landmark = hunk.section
            elif number:
                yield Text("  ⋮", style="dim")
            yield from map(_context, hunk.before)
            for change in hunk.changes:
                yield self._change(change, plain)
            yield from map(_context, hunk.after)

    def _change(self, change: ParagraphChange, plain: bool) -> Table:
        text = change.new or change.old
        flag = any(sentence and sentence in text for sentence in self.flagged)
        margin = Text(_FLAG if flag else " ", style="bold magenta")
        margin.append(_MARKS[change.kind] + " ", style=_STYLES[change.kind])
        line = Text()
        if change.level:
            line.append("#" * change.level + " ", style="bold")
        if change.kind == "changed":
            line.append_text(_spans(change.spans, plain))
        else:
            line.append(text, style=_STYLES[change.kind])
        if change.kind == "moved":
            origin = " › ".join(change.from_section) or "the top"
            line.append(f"  (moved from {origin})", style="dim")
        if change.chrome:
            line.stylize("dim")
            line.append("  (page chrome)", style="dim italic")
        return hanging(margin, line)


def hanging(margin: Text, body: Text) -> Table:
    """`body` after `margin`, its wrapped lines indented to line up under its first."""
    row = Table.grid()
    row.add_column(no_wrap=True)
    row.add_column()
    row.add_row(margin, body)
    return row


def render_change(
    old: str, new: str, *, context: int = 1, flagged: Collection[str] = ()
) -> ChangeView:
    """The diff from `old` to `new`, ready for `console.print`.

    `context`: unchanged blocks shown around each hunk. `flagged`: sentences to flag in the
    margin (those the rules matched, from the change's matches).
    """
    from diffengine import compare  # the diff engine: only `show` loads it

    return ChangeView(compare(old, new, context=context), flagged)


def _context(text: str) -> Table:
    clipped = text if len(text) <= _CONTEXT_CHARS else text[: _CONTEXT_CHARS - 1] + "…"
    return hanging(Text("  "), Text(clipped, style="dim"))


def _spans(spans: tuple[Span, ...], plain: bool) -> Text:
    """Deleted words struck in red, inserted words in green, long unchanged runs elided."""
    from diffengine.words import elided  # the diff engine: only `show` loads it

    text = Text()
    for index, span in enumerate(spans):
        if span.op == "delete":
            text.append(f"[-{span.text}-]" if plain else span.text, style="red strike")
        elif span.op == "insert":
            text.append(f"{{+{span.text}+}}" if plain else span.text, style="bold green")
        else:
            last = index == len(spans) - 1
            text.append(elided(span.text, first=index == 0, last=last, kept=_KEPT_WORDS))
        text.append(" ")
    text.rstrip()
    return text
