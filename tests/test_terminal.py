"""The command line's consoles print fetched text inert: its control characters never reach the
terminal, while Rich's own styling does."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest
from rich.text import Text

from policywatch.cli.terminal import safe_console
from tests.alerting import History
from tests.conftest import FAST, Home
from tests.site import Site


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


def _terminal(columns: int) -> tuple[int, int]:
    """A pseudo-terminal this many columns wide: (the side a program reads, the side it writes)."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    return main, side


def _started(args: list[str], stdin: int, stdout: int) -> subprocess.Popen[bytes]:
    """`policywatch ARGS` started, where no variable sets a width or forces colour, nor names a
    store or a config file."""
    unset = {"COLUMNS", "LINES", "TERMINAL_WIDTH", "FORCE_COLOR", "PY_COLORS", "GITHUB_ACTIONS"}
    env = {k: v for k, v in os.environ.items() if k not in unset and "POLICYWATCH_" not in k}
    command = [str(Path(sys.executable).with_name("policywatch")), *args]
    return subprocess.Popen(command, stdin=stdin, stdout=stdout, env=env)


def _read(main: int, until: bytes | None = None) -> bytes:
    """What was written to a pseudo-terminal up to `until`, or until every writer closed it."""
    read = b""
    while until is None or until not in read:
        try:
            chunk = os.read(main, 1 << 16)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        read += chunk
    return read


@pytest.mark.parametrize(
    "args",
    [["--help"], ["crawl", "--help"], ["subscriptions", "list", "--help"], ["catalog", "list"]],
)
def test_output_written_to_a_pipe_is_80_columns_and_ends_no_line_with_spaces(
    args: list[str],
) -> None:
    """`policywatch crawl --help | less` in a terminal 200 columns wide drew its boxes 200 wide,
    each line padded with spaces to the last one, in the pager and in a file alike; and every
    table of a command was as wide, where the README says 80 columns."""
    main, side = _terminal(200)
    try:
        printed = _started(args, stdin=side, stdout=subprocess.PIPE).communicate(timeout=60)[0]
    finally:
        os.close(main), os.close(side)
    lines = printed.decode().splitlines()
    assert [line for line in lines if line != line.rstrip()] == []
    assert max(len(line) for line in lines) == 80


def test_help_in_a_terminal_is_drawn_to_its_width() -> None:
    """In a terminal Typer's help is as it was: its boxes as wide as the terminal."""
    main, side = _terminal(120)
    helping = _started(["crawl", "--help"], stdin=side, stdout=side)
    os.close(side)
    try:
        printed = _read(main).decode()
    finally:
        os.close(main)
    assert helping.wait(timeout=60) == 0
    assert "\x1b[1;33mUsage: " in printed  # styled, as a terminal is
    lines = re.sub(r"\x1b\[[\d;]*m", "", printed).splitlines()
    assert lines[1].rstrip().endswith("Usage: policywatch crawl [OPTIONS]")
    assert {len(line) for line in lines if line} == {120}  # padded to the width, as Typer draws


def test_the_crawls_progress_bar_names_the_last_document_done(home: Home, site: Site) -> None:
    """The bar read `crawling testsite/first` while the other page was being fetched: the key
    it showed is the document last done, and read as the one being fetched."""
    held = threading.Event()
    page = "<html><body><main><p>The terms.</p></main></body></html>"
    site.html("/first", page)
    site.html("/slow", page, held=held)  # answered once the bar has been read
    catalog = home.catalog(
        [
            {"type": "First", "url": site.url("/first"), "select": "main"},
            {"type": "Slow", "url": site.url("/slow"), "select": "main"},
        ]
    )
    fast = [arg for arg in FAST if arg != "--quiet"]
    both = ["--set", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]  # the first page is not behind the slow
    main, side = _terminal(120)
    env = {k: v for k, v in home.env().items() if k != "COLUMNS"}
    command = [str(Path(sys.executable).with_name("policywatch")), "crawl", "--catalog"]
    crawling = subprocess.Popen(
        [*command, str(catalog), "--only", "testsite", *fast, *both],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=side,
        env=env,
        cwd=home.path,
    )
    os.close(side)
    try:
        shown = _read(main, until=b"last done: testsite/first")
    finally:
        held.set()
        crawling.wait(timeout=120)
        os.close(main)

    assert b"crawling (last done: testsite/first)" in shown, shown
    assert b"crawling testsite/first" not in shown
