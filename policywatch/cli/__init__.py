"""The `policywatch` command: one typer app, each family of sub-commands in its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from policywatch import __version__
from policywatch.cli import (
    alerts,
    catalog,
    crawl,
    history,
    imports,
    rejudge,
    run,
    subscribe,
    subscriptions,
    versions,
    worker,
)
from policywatch.cli import web as web_cli
from policywatch.cli.common import PlainUsageErrors, console, fail, on_journal
from policywatch.cli.terminal import plain_piped_help

plain_piped_help()

app = typer.Typer(
    name="policywatch",
    help="Track platform policy pages, detect meaningful changes, review their history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=PlainUsageErrors,
)


def _version(asked: bool) -> None:
    if asked:
        console.print(f"policywatch {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Track platform policy pages, detect meaningful changes, review their history."""


app.add_typer(catalog.app, name="catalog")
app.command()(crawl.crawl)
app.command()(run.run)
app.command()(worker.worker)
app.command()(history.documents)
app.command(name="history")(history.history)
app.command()(history.show)
app.command()(versions.text)
app.command()(versions.compare)
app.command()(history.upcoming)
app.command(name="import-history")(imports.import_history)
app.command()(rejudge.rejudge)
app.command()(web_cli.serve)
app.command()(subscribe.subscribe)
app.add_typer(subscriptions.app, name="subscriptions")
app.command()(alerts.notify)


@app.command()
def demo(
    keep: Annotated[
        Path | None,
        typer.Option(
            "--keep",
            metavar="DIR",
            help="Keep the demo's store, catalog and pages in DIR (new or empty), to review"
            " them after: serve, history, show.",
        ),
    ] = None,
) -> None:
    """The whole loop offline: serve sample pages, crawl, change a clause, crawl, show."""
    from policywatch import demo as demo_loop

    if keep is not None and keep.exists() and not keep.is_dir():  # "not an empty folder" of a file
        fail(f"{keep} is a file: the demo keeps its files in a folder, new or empty")
    if keep is not None and keep.exists() and any(keep.iterdir()):
        fail(f"{keep} is not an empty folder: the demo keeps its files in a new or empty one")
    demo_loop.run(console, keep)


def main() -> None:
    on_journal()
    app()
