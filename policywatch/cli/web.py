"""`serve`: the review web app on uvicorn; off loopback only with a token."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crawlers.declarations import declaration_files
from policywatch.cli.common import (
    DbOption,
    checked_base_url,
    console,
    engine,
    fail,
    note,
    settings,
    user_catalog,
)
from policywatch.config import ConfigError, config_file, load_settings

if TYPE_CHECKING:
    from crawlers.declarations import Catalog
    from policywatch.web.pace import WatchedCatalog

TOKEN_ENV = "POLICYWATCH_TOKEN"
# The shortest token taken: a guessable one opens the pages, the API and the change history.
TOKEN_MIN_LENGTH = 16


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback needs a token.")
    ] = ("127.0.0.1"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            help=f"Token required for everything but the feeds (default: env {TOKEN_ENV}).",
            show_default=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="The public URL of the site, for links in feeds and a sub-path behind a proxy "
            "(default: the base_url setting, else as requested).",
            callback=checked_base_url,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The review web page, Atom feeds and JSON API over the store."""
    import uvicorn

    from policywatch.web.app import create_app, is_loopback

    secret = token or os.environ.get(TOKEN_ENV) or None
    if secret is not None:
        _check_token(secret, "--token" if token else TOKEN_ENV)
    if not is_loopback(host) and not secret:
        fail(
            f"--host {host} is reachable from other machines: set --token or {TOKEN_ENV} "
            "(the feeds stay public, everything else requires the token)"
        )
    # The setting alerts link to: a proxy's public address, told once for every command.
    public = base_url or settings().base_url
    if not is_loopback(host) and not (public or "").startswith("https:"):
        note(
            f"--host {host} serves plain http: the token and every page cross the network in"
            " clear text; put a TLS proxy in front and give its address as --base-url https://…"
        )
    app = create_app(
        engine(db, existing=True, writes=False),
        token=secret,
        base_url=public,
        catalog=catalog_loader(),
        local=secret is None,
    )
    _check_free(host, port)
    console.print(f"policywatch is serving on http://{_address(host, port)}/  (Ctrl-C stops it)")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def catalog_loader() -> WatchedCatalog:
    """The catalog of the document pages, read anew once the config file or a declaration file
    changed: a pace changed there shows without restarting `serve`."""
    from policywatch.web.pace import WatchedCatalog  # the web app's imports: only for `serve`

    return WatchedCatalog(_catalog, _catalog_sources)


def _catalog_sources() -> list[Path]:
    """The files and folders the catalog is read from: the config file, and the declaration
    files and folders it names (none while it is broken: its fix is a change of its own)."""
    try:
        paths = load_settings().catalog
    except ConfigError:
        paths = []
    return [config_file(), *paths, *declaration_files(paths)]


def _catalog() -> Catalog | None:
    """The catalog as `policywatch run` reads it, for the document pages' pace; None when the
    settings cannot be read (a config file broken while serving: said on stderr, as at a
    crawl), so that the pages still show everything else."""
    try:
        return user_catalog(None)
    except typer.Exit:
        return None


def _check_token(secret: str, source: str) -> None:
    """A token short enough to guess is refused; one on the command line is visible to every
    user of the machine (`ps`), which the environment variable is not: say so."""
    if len(secret) < TOKEN_MIN_LENGTH:
        fail(
            f"the token given by {source} is {len(secret)} characters long, too short to be"
            f" hard to guess: it needs at least {TOKEN_MIN_LENGTH}; make one with"
            " openssl rand -hex 16"
        )
    if source == "--token":
        note(
            "other users of this machine can read --token in the process list (ps); set"
            f" {TOKEN_ENV} instead to keep the token out of it"
        )


def _address(host: str, port: int) -> str:
    """`127.0.0.1:8000`, `[::1]:8000`: an IPv6 address in brackets, as a URL writes it
    (`http://::1:8000/` is no address a browser opens)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_free(host: str, port: int) -> None:
    """A port taken is one line, before "serving on" is said: uvicorn would print that line
    first, then its own error. It binds as uvicorn does: an IPv6 address on an IPv6 socket
    (`--host ::1` was refused, "Address family for hostname not supported", probed on an IPv4
    one), SO_REUSEADDR set (a port a closed server left in TIME_WAIT is free). The reason is the
    error's own words: a host that does not resolve was "Unknown error -2", os.strerror of a
    lookup's (negative) error code."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fail(
                f"cannot listen on {_address(host, port)}: another program is serving there"
                " (another policywatch serve?); choose another port with --port"
            )
        fail(f"cannot listen on {_address(host, port)}: {error.strerror or error}")
