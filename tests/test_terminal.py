"""The command line's consoles print fetched text inert: its control characters never reach the
terminal, while Rich's own styling does."""

from __future__ import annotations

import io

from rich.text import Text

from policywatch.cli.terminal import safe_console
from tests.alerting import History
from tests.conftest import Home


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


def test_json_for_scripts_escapes_the_controls_json_leaves_raw() -> None:
    """`history --json` on a terminal: json.dumps escapes C0 but writes DEL and C1 (U+009B, a
    one-character `ESC [`) as they are; escaped, a script still reads the same text."""
    import json

    from policywatch.cli.terminal import inert_json

    data = {"summary": "Fees \x9b2Japply\x7f \x1b[31m — é"}
    printed = inert_json(json.dumps(data, ensure_ascii=False))
    assert not any(0x7F <= ord(c) <= 0x9F or ord(c) < 0x20 for c in printed)
    assert "— é" in printed and json.loads(printed) == data


def test_history_json_reaches_the_terminal_inert(home: Home) -> None:
    History(home.db).change(summary="Fees \x9b2Japply")
    printed = home.run("history", "--json")
    assert "\x9b" not in printed.stdout and printed.json()[0]["summary"] == "Fees \x9b2Japply"
