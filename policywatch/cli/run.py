"""`policywatch run`: `crawl` under an exclusive lock, so that cron or timer runs never overlap.

A run that finds the lock held prints one line naming the holder and exits with EXIT_LOCKED (4),
not 0: a run stuck for hours would otherwise go unnoticed, while a distinct code lets cron mail
and systemd's unit status surface it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
import typer
from filelock import FileLock, Timeout

from policywatch.cli.common import EXIT_LOCKED, db_url, err_console, fail
from policywatch.cli.crawl import crawl
from policywatch.config import APP_NAME
from store.db import public_url, sqlite_path
from store.models import utcnow


def lock_path(url: str) -> Path:
    """Where the run lock of the store at `url` lives.

    Beside a SQLite file (`policywatch.sqlite3.run.lock`): the store and its lock go together,
    whoever opens it and whatever their user directories. Any other store (PostgreSQL) gets a
    file in the user state directory named by a hash of its URL (password left out, so that
    changing it keeps the lock). That lock is per machine, on purpose: a PostgreSQL store may be
    shared by workers on several machines, which crawl safely at once; the lock only keeps this
    machine's scheduled runs from piling up. An OS file lock, unlike an advisory lock held on a
    database connection, also works while the database is down.
    """
    if (path := sqlite_path(url)) is not None:
        return Path(f"{path}.run.lock")
    digest = hashlib.sha256(public_url(url).encode("utf-8")).hexdigest()[:16]
    return Path(platformdirs.user_state_dir(APP_NAME)) / f"run-{digest}.lock"


def _holder_file(lock: Path) -> Path:
    """The holder's pid and start time, beside the lock: older filelock releases truncate the
    lock file itself whenever a contender tries it."""
    return lock.with_name(lock.name + ".holder")


def _holder(lock: Path) -> str:
    """`pid N since T` of the run holding `lock`, as far as its note can be read."""
    try:
        note = json.loads(_holder_file(lock).read_text(encoding="utf-8"))
        return f"pid {int(note['pid'])} since {note['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid unknown"


@contextmanager
def exclusive_run(lock: Path) -> Iterator[None]:
    """Hold `lock` for the block, or exit with EXIT_LOCKED when another process holds it.

    It is an OS lock (`flock`): the kernel releases it when its holder dies, even by `kill -9`,
    so a crashed run never blocks the next one. The holder note is rewritten by each new holder.
    """
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        held = FileLock(lock, timeout=0)
        held.acquire()
    except Timeout:
        err_console.print(
            f"another policywatch run is in progress ({_holder(lock)}); skipping", highlight=False
        )
        raise typer.Exit(EXIT_LOCKED) from None
    except OSError as error:
        fail(f"cannot take the run lock {lock}: {error.strerror}")
    note = _holder_file(lock)
    try:
        since = utcnow().isoformat(timespec="seconds")
        draft = note.with_name(f"{note.name}.{os.getpid()}")
        draft.write_text(json.dumps({"pid": os.getpid(), "since": since}), encoding="utf-8")
        draft.replace(note)  # atomic: a contender never reads half a note
        yield
    finally:
        note.unlink(missing_ok=True)
        held.release()


def run(**options: Any) -> None:
    """`crawl` (same options) under a lock, so that cron and timer runs never overlap.

    Exit codes: 0 done or nothing due, 2 bad configuration, 3 nothing fetched, 4 locked.

    Stopped by Ctrl-C or SIGTERM, it records what was fetched and exits 130 or 143.
    """
    with exclusive_run(lock_path(db_url(options["db"]))):
        crawl(**options)


# `run` takes exactly `crawl`'s options: typer reads them from the signature `__wrapped__` leads to.
functools.update_wrapper(run, crawl, assigned=(), updated=())
