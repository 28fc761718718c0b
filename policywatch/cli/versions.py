"""`text`: what a document said, at any version of its history or on any date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

import typer
from rich.text import Text

from policywatch.cli.common import (
    DbOption,
    JsonOption,
    check_tracked,
    engine,
    err_console,
    fail,
    print_json,
)
from policywatch.cli.terminal import inert_text
from policywatch.wording import counted
from store.queries import VersionDetail, VersionRow, get_version, list_versions, version_on


def text(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="The document's key, as `documents` lists it.")
    ],
    version: Annotated[
        int | None,
        typer.Option(
            "--version", metavar="N", min=1, help="Version N (from 1; default: the latest)."
        ),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            metavar="DATE",
            help="The version current on DATE (2026-01-15: at the end of that day, UTC) or at"
            " an ISO time.",
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The whole text of a document (Markdown), as one of its versions or a date had it."""
    if version is not None and on is not None:
        fail("give --version or --on, not both")
    moment = _moment(on) if on is not None else None
    store = engine(db, existing=True, writes=False)
    versions = list_versions(store, key)
    if versions is None:
        check_tracked(store, None, key)  # says which key was meant
    if not versions:
        fail(f"{key} has no version yet: no fetch of it has succeeded (`documents` says why)")
    seq = _chosen(key, versions, version, moment, on)
    detail = get_version(store, key, seq)
    assert detail is not None, "a version just listed"
    if as_json:
        print_json(detail.to_json())
        return
    err_console.print(Text(_heading(detail), style="bold"), highlight=False)
    typer.echo(inert_text(detail.text), nl=not detail.text.endswith("\n"))


def _moment(value: str) -> datetime:
    """A bare date stands for the end of that day (what the page said that day, at its last);
    a time without a zone for UTC."""
    try:
        if len(value) == len("2026-01-15"):
            return datetime.combine(date.fromisoformat(value), time.max, UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--on {value!r} is not an ISO date or time such as 2026-01-15 or 2026-01-15T09:30")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chosen(
    key: str,
    versions: list[VersionRow],
    asked: int | None,
    moment: datetime | None,
    on: str | None,
) -> int:
    """The version asked for by number or by date, else the latest."""
    if asked is not None and asked > len(versions):
        fail(f"{key} has {counted(len(versions), 'version')}: give --version 1 to {len(versions)}")
    if moment is None:
        return asked or versions[-1].seq
    found = version_on(versions, moment)
    if found is None:
        fail(f"no version of {key} is known on {on}: it was first seen {_utc(versions[0].seen_at)}")
    return found.seq


def _heading(detail: VersionDetail) -> str:
    """`KEY · version 3 of 5, first seen …, replaced …`: on stderr, so that the text alone goes
    to a file or a pipe."""
    until = f", replaced {_utc(detail.replaced_at)}" if detail.replaced_at else ""
    latest = "" if detail.replaced_at else " (the latest)"
    seen = f"first seen {_utc(detail.seen_at)}"
    return f"{detail.key} · version {detail.seq} of {detail.versions}{latest}, {seen}{until}"


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
