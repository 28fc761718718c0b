"""`text` and `compare`: what a document said at any version of its history or on any date,
and what changed between two of them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

import typer
from rich.text import Text
from sqlalchemy import Engine

from policywatch.cli.common import (
    DbOption,
    JsonOption,
    check_tracked,
    console,
    engine,
    err_console,
    fail,
    print_json,
)
from policywatch.cli.diffview import render_change
from policywatch.cli.history import detected_listing
from policywatch.cli.renames import resolved_key
from policywatch.cli.terminal import inert_text
from policywatch.wording import counted, unified_diff, why_no_date
from store.queries import (
    Comparison,
    VersionDetail,
    VersionRow,
    compare_versions,
    comparison_json,
    get_version,
    list_versions,
    version_on,
)


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
    moment = _moment(on, "--on") if on is not None else None
    store = engine(db, existing=True, writes=False)
    key = resolved_key(store, key)
    versions = _versions(store, key)
    seq = _chosen(key, versions, version, moment, on)
    detail = get_version(store, key, seq)
    assert detail is not None, "a version just listed"
    if as_json:
        print_json(detail.to_json())
        return
    err_console.print(Text(_heading(detail), style="bold"), highlight=False)
    typer.echo(inert_text(detail.text), nl=not detail.text.endswith("\n"))


_VERSION_HELP = (
    " A version's number (from 1), or a date (2025-06-01: the version current at the end of"
    " that day, UTC) or an ISO time."
)


def compare(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="The document's key, as `documents` lists it.")
    ],
    first: Annotated[str, typer.Argument(metavar="FROM", help="One version." + _VERSION_HELP)],
    second: Annotated[
        str | None,
        typer.Argument(
            metavar="[TO]", help="The other version (default: the latest)." + _VERSION_HELP
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed between two versions of a document, however far apart.

    Since a review or a date: the meaningful changes between them, then one diff of the texts.
    """
    store = engine(db, existing=True, writes=False)
    key = resolved_key(store, key)
    versions = _versions(store, key)
    older, newer = sorted(
        (_given(key, versions, first, "FROM"), _given(key, versions, second, "TO"))
    )
    # FROM the latest and TO not given: "what changed since 2025-12-01" of a page unchanged
    # since is answered (nothing), not an error that fails a script.
    if older == newer and second is not None:
        fail(f"FROM and TO name one version of {key}, version {older}: compare two")
    compared = compare_versions(store, key, older, newer)
    assert compared is not None, "two versions just listed"
    if as_json:
        diff = unified_diff(compared.before.text, compared.after.text)
        print_json({**comparison_json(store, compared), "diff": "\n".join(diff)})
        return
    before, after = compared.before, compared.after
    console.print(Text(f"{after.service} · {after.document_type}", "bold"), f"({key})")
    if before.seq == after.seq:  # `compare KEY DATE`, nothing changed since: an answer
        console.print(Text(f"No change since {first}: {_seen(after)}."), highlight=False)
        return
    console.print(Text(f"from {_seen(before)}\n  to {_seen(after)}"), highlight=False)
    console.print(_between(compared), highlight=False)
    if compared.meaningful:
        console.print(detected_listing(store, compared.meaningful))
    flagged = [
        sentence.sentence for row in compared.meaningful for sentence in row.matched_sentences()
    ]
    console.print(render_change(before.text, after.text, flagged=flagged))


def _versions(store: Engine, key: str) -> list[VersionRow]:
    """The document's versions, oldest first; or the error of a key that names nothing
    tracked (with the key meant) or of a document no fetch of which has succeeded."""
    if not key.strip():  # `text "$KEY"` with KEY unset: said to have "no version yet"
        fail(f"KEY must name a document, not {key!r}: `policywatch documents` lists them")
    versions = list_versions(store, key)
    if versions is None:
        check_tracked(store, None, key)  # says which key was meant
    if not versions:
        fail(f"{key} has no version yet: no fetch of it has succeeded (`documents` says why)")
    return versions


def _given(key: str, versions: list[VersionRow], given: str | None, name: str) -> int:
    """The version a FROM or TO names, by number or by date; the latest when not given."""
    if given is None:
        return versions[-1].seq
    if given.isascii() and given.isdigit():
        return _chosen(key, versions, int(given), None, None, f"{name} a number from ")
    moment = _moment(given, name, "a version's number, nor an ISO date or time")
    return _chosen(key, versions, None, moment, given)


def _seen(version: VersionDetail) -> str:
    """`version 3 of 7, first seen …`, `version 7 of 7 (the latest), first seen …`."""
    latest = "" if version.replaced_at else " (the latest)"
    seen = f"first seen {_utc(version.seen_at)}"
    return f"version {version.seq} of {version.versions}{latest}, {seen}"


def _between(compared: Comparison) -> str:
    """How many changes led from one version to the other, and how many of them were noise:
    the diff below holds them all, the listing only the meaningful ones."""
    noise = f" ({compared.noise:,} more judged noise)" if compared.noise else ""
    shown = len(compared.meaningful)
    listed = counted(shown, "meaningful change") if shown else "No meaningful change"
    return f"{listed} between them{noise}."


def _moment(value: str, name: str, what: str = "an ISO date or time") -> datetime:
    """A bare date stands for the end of that day (what the page said that day, at its last);
    a time without a zone for UTC."""
    try:
        if len(value) == len("2026-01-15"):
            return datetime.combine(date.fromisoformat(value), time.max, UTC)
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        such = f"such as 2026-01-15 or 2026-01-15T09:30{why_no_date(error)}"
        fail(f"{name} {value!r} is not {what} {such}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _chosen(
    key: str,
    versions: list[VersionRow],
    asked: int | None,
    moment: datetime | None,
    on: str | None,
    asking: str = "--version ",
) -> int:
    """The version asked for by number or by date, else the latest. Numbers start at 1: a 0
    taken for "not given" compared the latest version with itself, or with TO."""
    if asked is not None and not 1 <= asked <= len(versions):
        fail(f"{key} has {counted(len(versions), 'version')}: give {asking}1 to {len(versions)}")
    if moment is None:
        return versions[-1].seq if asked is None else asked
    found = version_on(versions, moment)
    if found is None:
        fail(f"no version of {key} is known on {on}: it was first seen {_utc(versions[0].seen_at)}")
    return found.seq


def _heading(detail: VersionDetail) -> str:
    """`KEY · version 3 of 5, first seen …, replaced …`: on stderr, so that the text alone goes
    to a file or a pipe."""
    until = f", replaced {_utc(detail.replaced_at)}" if detail.replaced_at else ""
    return f"{detail.key} · {_seen(detail)}{until}"


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
