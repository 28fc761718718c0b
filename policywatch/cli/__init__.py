"""The `policywatch` command: one typer app, with each family of sub-commands in its own module."""

from __future__ import annotations

import typer

from policywatch.cli import catalog

app = typer.Typer(
    name="policywatch",
    help="Track platform policy pages, detect meaningful changes, review their history.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(catalog.app, name="catalog")


def main() -> None:
    app()
