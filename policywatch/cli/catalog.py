"""`policywatch catalog`: list, validate and show the tracked documents' declarations."""

from __future__ import annotations

import typer

app = typer.Typer(help="The catalog of tracked documents.", no_args_is_help=True)
