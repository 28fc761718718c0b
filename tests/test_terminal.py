"""The command line's consoles print fetched text inert: its control characters never reach the
terminal, while Rich's own styling does."""

from __future__ import annotations

import io

from rich.text import Text

from policywatch.cli.terminal import safe_console


def test_control_characters_of_printed_text_are_dropped_and_styles_kept() -> None:
    out = io.StringIO()
    console = safe_console(file=out, force_terminal=True, color_system="standard", width=200)
    hostile = "Fees \x1b[2J\x9b31mapply\x07 \x1b]8;;https://evil.example/\x1b\\here"
    console.print(Text(hostile, style="bold"), "[red]imported[/red]", "\x00tail")
    printed = out.getvalue()
    assert "Fees [2J31mapply ]8;;https://evil.example/\\here" in printed
    assert "\x9b" not in printed and "\x07" not in printed and "\x00" not in printed
    assert "\x1b[2J" not in printed and "\x1b]8" not in printed
    assert "\x1b[1m" in printed and "\x1b[31m" in printed  # bold and red, as Rich styles them
