"""What every sub-command shares: the consoles, the options, and opening the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crawlers.declarations import Catalog, load_catalog
from policywatch.config import load_settings

console = Console()
err_console = Console(stderr=True)

CatalogOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        help="Extra declaration file or folder (repeatable); added to the bundled catalog.",
        show_default=False,
    ),
]


def user_catalog(extra: list[Path] | None) -> Catalog:
    """The bundled catalog plus the user's files: config file, `POLICYWATCH_CATALOG`, `--catalog`."""
    settings = load_settings()
    return load_catalog([*settings.catalog, *(extra or [])])
