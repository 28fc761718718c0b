"""stderr as systemd's journal reads it: each line prefixed with its syslog priority (`<3>`).

A worker runs as a systemd service, and a crawl (`run`) as a timer's: what they write on stderr
goes to the journal, which stores every line at the unit's one level (info) unless the line
starts with `<N>`, N its priority (sd-daemon(3); `SyslogLevelPrefix=` is on by default). Their
warnings and errors were then stored as info: `journalctl -p warning` showed none of them.

systemd sets `JOURNAL_STREAM` to the device and inode of the stream it connects to the journal;
stderr is the journal when its own match them (systemd.exec(5): the variable alone is not
enough, as a service may start a program whose stderr it redirected). Anywhere else nothing
changes: a terminal, a file or cron's mail would show the prefixes as noise.

The crawl's log lines (crawlers/runner.py) carry their record's level; the command line's own
lines (policywatch/cli) say theirs with `said_as`, information when they say nothing.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

# syslog(3)'s priorities, the ones our lines use.
CRITICAL, ERROR, WARNING, INFO, DEBUG = 2, 3, 4, 6, 7

_LINES = re.compile(r"[^\n]*\n|[^\n]+")


def stderr_is_journal() -> bool:
    """Whether stderr is the stream systemd's `JOURNAL_STREAM` names (`DEVICE:INODE`)."""
    device, colon, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not (colon and device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # no stderr, or one that is no file (tests)
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


def level_priority(level: int) -> int:
    """The syslog priority of a logging level (Python's are 10 apart, from DEBUG's 10)."""
    if level >= logging.CRITICAL:
        return CRITICAL
    if level >= logging.ERROR:
        return ERROR
    if level >= logging.WARNING:
        return WARNING
    return INFO if level >= logging.INFO else DEBUG


def prefixed(text: str, priority: int) -> str:
    """`text` with every line prefixed: the journal reads each line as an entry of its own, so
    a traceback's lines below an error's are errors too."""
    return "".join(f"<{priority}>{line}" for line in _LINES.findall(text))


class JournalFormatter(logging.Formatter):
    """A log handler's formatter whose lines carry their record's priority."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.formatter = formatter

    def format(self, record: logging.LogRecord) -> str:
        # A message ending in a newline (a Python warning's) left an empty line below it, an
        # entry of its own in the journal, of no priority.
        text = self.formatter.format(record).rstrip("\n")
        return prefixed(text, level_priority(record.levelno))


_said: ContextVar[int] = ContextVar("said", default=INFO)


@contextmanager
def said_as(priority: int) -> Iterator[None]:
    """What is written to a `JournalStream` meanwhile has this priority (information else)."""
    token = _said.set(priority)
    try:
        yield
    finally:
        _said.reset(token)


class JournalStream:
    """A text stream (stderr) whose every line starts with the priority `said_as` gives.

    A line may come in several writes: only its start is prefixed. Everything else (isatty,
    fileno, encoding, flush) is the stream's own."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._line_open = False  # the last write ended mid-line

    def write(self, text: str) -> int:
        priority = _said.get()
        pieces = []
        for line in _LINES.findall(text):
            pieces.append(line if self._line_open else f"<{priority}>{line}")
            self._line_open = not line.endswith("\n")
        self.stream.write("".join(pieces))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
