"""`policywatch import-history`: load dated versions from disk into the history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from policywatch.cli.common import (
    EXIT_NOTHING_FETCHED,
    DbOption,
    RulesOption,
    checked_rules,
    console,
    engine,
    err_console,
    fail,
    progress_bar,
    warn,
)
from policywatch.wording import counted, did_you_mean
from store.queries import tracked_names


def import_history(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="One document's folder of dated files, or a tree of them."
        ),
    ],
    service: Annotated[
        str | None, typer.Option(help="Service name, for a single document's folder.")
    ] = None,
    doc_type: Annotated[
        str | None, typer.Option("--type", help="Document type, for a single document's folder.")
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="CSS selector to keep, for .html versions (repeatable; default: the whole <body>)."
        ),
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option(help="CSS selector to drop, for .html versions (repeatable)."),
    ] = None,
    rules: RulesOption = None,
    db: DbOption = None,
) -> None:
    """Import dated versions (.md as extracted text, .html extracted with --select/--remove)."""
    # Extraction, the diff engine and the writer: loaded by the command that needs them.
    from crawlers.declarations import check_css
    from crawlers.importer import HtmlRules, document_folders, identify, import_folder
    from diffengine import assess, load_rules
    from store.repository import Repository

    if not folder.exists():  # as --catalog and --rules say it: a typo, not a file
        fail(f"{folder}: no such folder")
    if not folder.is_dir():
        fail(f"{folder} is not a folder")
    if (service is None) != (doc_type is None):
        fail("--service and --type go together")
    _refuse_misnamed(folder)
    folders = list(document_folders(folder))
    if not folders:
        fail(f"no dated .md or .html files under {folder} (names start like 2024-05-22)")
    if service and len(folders) > 1:
        fail(f"--service/--type name one document, but {folder} holds {len(folders)}")
    _refuse_the_future(folders)
    if not service and folders == [folder] and "__" not in folder.name:
        named, kind = identify(folder)
        err_console.print(
            f"[yellow]note:[/] the service {escape(named)!r} and the type {escape(kind)!r} are"
            f" taken from the folder names ({escape(str(folder))}); --service and --type name"
            " them otherwise",
            highlight=False,
        )
    for selector in [*(select or []), *(remove or [])]:
        try:
            check_css(selector)  # the catalog's check: before any document is made
        except ValueError as error:
            fail(str(error))
    judge = partial(assess, rules=load_rules(checked_rules(rules)))
    repository = Repository(engine(db))
    if service:
        _note_new_service(repository.engine, service)
    html = HtmlRules(select or (), remove or ())
    total = sum(1 for one in folders for _ in one.iterdir())
    rows: list[tuple[str, list[int]]] = []
    already, read, skipped = 0, False, []
    with _interruptible(rows), progress_bar() as progress:
        task = progress.add_task("importing", total=total)
        for one in folders:
            name, kind = (service, doc_type) if service and doc_type else identify(one)
            report = import_folder(
                repository, one, name, kind, html, lambda _: progress.advance(task), judge
            )
            counts = [report.versions, report.changes, report.unchanged, len(report.skipped)]
            rows.append((report.key, [*counts, report.older]))
            for reason in report.skipped:
                err_console.print(
                    f"[yellow]skipped[/] {escape(report.key)}: {escape(reason)}", highlight=False
                )
            if report.unlike:
                first, kept = report.unlike
                warn(
                    f"{report.key}: {first} keeps {kept:.0%} of the paragraphs of the text"
                    f" recorded before it ({report.recorded_until:%Y-%m-%d %H:%M} UTC), as"
                    " another document's would: it is recorded as its next version; if the"
                    " folder is another document's, name it with --service and --type"
                )
            if report.older:
                err_console.print(
                    f"[yellow]left out[/] {escape(report.key)}: {counted(report.older, 'file')}"
                    " older than the history already recorded (its text is recorded until"
                    f" {report.recorded_until:%Y-%m-%d %H:%M} UTC); an import only adds versions"
                    " after it",
                    highlight=False,
                )
            already += report.already
            read = read or report.read
            skipped += report.skipped
    console.print(_summary(rows, console.width))
    if already:
        console.print(f"{counted(already, 'file')} already recorded: left as they were.")
    if not read:  # as a crawl that fetched nothing: there were files, and none could be read
        fail(
            f"nothing was imported: no version could be read ({counted(len(skipped), 'file')}"
            f" skipped, the first {skipped[0]}); no version and no document was recorded",
            EXIT_NOTHING_FETCHED,
        )


@contextmanager
def _interruptible(rows: list[tuple[str, list[int]]]) -> Iterator[None]:
    """Ctrl-C mid-import: it ended with 130 and not a word, and the user could not tell whether
    anything was kept. Each version is written with its change, so what was imported stays:
    the documents done are summed up, and importing again adds only the rest."""
    try:
        yield
    except KeyboardInterrupt:
        if rows:
            console.print(_summary(rows, console.width))
        err_console.print(
            "Interrupted: the versions imported so far are kept; import the same folder again"
            " to add the rest (those recorded are counted as already recorded).",
            highlight=False,
        )
        raise typer.Exit(130) from None


def _note_new_service(store: Engine, service: str) -> None:
    """A `--service` close to a tracked one but not it is a typo, most often: the versions
    would make a document of their own, beside the history they were meant to extend."""
    tracked = tracked_names(store).services
    if service.lower() in {name.lower() for name in tracked}:
        return
    close = did_you_mean(service, tracked)
    if close:
        err_console.print(
            f"[yellow]note:[/] no tracked service is named {escape(service)!r}{escape(close)};"
            " the versions are imported as a new service's",
            highlight=False,
        )


_LISTED = 5  # wrongly named files named in an error; the rest are counted


def _listed(files: list[tuple[Path, str]]) -> str:
    """`path (why), …` for the first few, `and N more` for the rest."""
    named = ", ".join(f"{path} ({why})" for path, why in files[:_LISTED])
    return named + (f" and {len(files) - _LISTED} more" if len(files) > _LISTED else "")


def _refuse_misnamed(root: Path) -> None:
    """Files whose names start like a date but give none (`2025-02-30.md`) are refused before
    anything is recorded, as future ones are: the user meant a date, and put right and imported
    again, each is the version it was meant to be."""
    from crawlers.importer import misnamed

    if wrong := misnamed(root):
        fail(
            f"{counted(len(wrong), 'file')} named with no valid date or time: {_listed(wrong)};"
            " name each by the moment it was recorded (2024-05-22.md, 2024-05-22T12-36-09Z.md),"
            " then import again (nothing was imported)"
        )


def _refuse_the_future(folders: list[Path]) -> None:
    """Files dated after now are refused before anything is recorded. Skipping them would lose
    them: once the rest is imported, the file renamed with its true date would be older than the
    history and left out. Refused, the import is run again once the names are put right."""
    from crawlers.importer import dated_after

    now = datetime.now(UTC)
    ahead = [item for one in folders for item in dated_after(one, now)]
    if not ahead:
        return
    named = _listed([(path, f"{at:%Y-%m-%d %H:%M} UTC") for path, at in ahead])
    fail(
        f"{counted(len(ahead), 'file')} dated after now, which no version can be: {named};"
        " correct the date in the file name, then import again (nothing was imported)"
    )


# "skipped" could not be read; "left out" were older than the history, as the note says.
COUNTS = ("new versions", "changes", "repeats", "skipped", "left out")
ONE = ("new version", "change", "repeat", "skipped", "left out")  # in the list: "1 change"


def _summary(rows: list[tuple[str, list[int]]], width: int) -> Table:
    """The counts of each document: a table where its keys fit whole, else each key on a line of
    its own and its counts below, as `documents` lists them. A table narrower than its keys cut
    them ("google-generative-ai-…"), and a key is what `text`, `--document` and `--only` take."""
    longest = max((len(key) for key, _ in rows), default=0)
    if longest + sum(len(column) + 3 for column in COUNTS) + 2 <= width:
        table = Table(title="Imported", show_edge=False)
        table.add_column("document", no_wrap=True)
        for column in COUNTS:
            table.add_column(column, justify="right")
        for key, numbers in rows:
            table.add_row(escape(key), *(str(number) for number in numbers))
        return table
    listing = Table.grid(padding=0)
    listing.add_column(overflow="fold")
    for key, numbers in rows:
        listing.add_row(Text(key, style="bold"))
        listing.add_row(
            "  "
            + " · ".join(
                f"{n} {column if n != 1 else one}"
                for n, column, one in zip(numbers, COUNTS, ONE, strict=True)
            )
        )
    return listing
