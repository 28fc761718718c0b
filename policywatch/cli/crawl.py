"""`policywatch crawl`: fetch the catalog's documents and record what changed."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from crawlers.items import CrawlOutcome
from crawlers.runner import CrawlResult, crawl_settings, run_crawl
from notifier import deliver_owed
from policywatch.cli.alerts import print_delivery
from policywatch.cli.common import (
    EXIT_NOTHING_FETCHED,
    CatalogOption,
    DbOption,
    JsonOption,
    RulesOption,
    checked_rules,
    console,
    db_url,
    engine,
    err_console,
    fail,
    print_json,
    progress_bar,
    settings,
    user_catalog,
    warn_catalog_errors,
)

OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="A document key or a service name (repeatable, any case)."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="NAME=VALUE",
        help="Override a Scrapy setting, e.g. --set DOWNLOAD_DELAY=5 (repeatable).",
    ),
]


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """`NAME=VALUE` pairs; values are read as JSON when they parse (numbers, booleans, lists)."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            fail(f"--set takes NAME=VALUE, not {pair!r}")
        try:
            overrides[name] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[name] = raw
    return overrides


def crawl(
    catalog: CatalogOption = None,
    only: OnlyOption = None,
    db: DbOption = None,
    rules: RulesOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Record only; leave alerts for `notify`.")
    ] = False,
) -> None:
    """Fetch the tracked documents, record new versions, and summarise what happened."""
    loaded = user_catalog(catalog)
    warn_catalog_errors(loaded)
    unknown = loaded.unknown(only or [])
    if unknown:
        fail(f"--only {', '.join(unknown)}: no document has that key or service")
    documents = loaded.select(only or [])
    if not documents:
        fail("no document to crawl: the catalog is empty or every entry is broken")
    store = engine(db)  # open and migrate before crawling, so a bad --db fails at once
    config = settings()
    scrapy_settings = crawl_settings(
        db_url(db),
        contact_url=config.contact_url,
        max_bytes=config.max_bytes,
        timeout=config.timeout,
        rules=checked_rules(rules),
        overrides=parse_overrides(set_ or []),
    )
    with progress_bar(disable=quiet or as_json) as progress:
        task = progress.add_task("crawling", total=len(documents))

        def advance(outcome: CrawlOutcome) -> None:
            progress.update(task, advance=1, description=f"crawling {outcome.key}")

        result = run_crawl(documents, scrapy_settings, advance)
    if as_json:
        print_json([vars(outcome) for outcome in result.outcomes])
    else:
        _summary(result)
    if not no_notify:
        _notify(store, config.base_url)
    if result.nothing_fetched:
        if result.offline:
            err_console.print(
                "[bold red]Nothing could be fetched:[/] no host could be reached. "
                "Is this machine offline? Stored history is untouched."
            )
        raise typer.Exit(EXIT_NOTHING_FETCHED)


def _notify(store: Engine, base_url: str | None) -> None:
    """Deliver what this crawl made owed, and retry earlier alerts; on stderr, as stdout is data."""
    report = deliver_owed(store, base_url=base_url)
    if report.messages or report.retrying or report.failed:
        print_delivery(report, err_console)


def _summary(result: CrawlResult) -> None:
    counts = Table(title="Crawl summary", show_edge=False)
    for column in ("checked", "unchanged", "changed", "new", "failed"):
        counts.add_column(column, justify="right")
    unchanged = result.count("unchanged") + result.count("not-modified")
    counts.add_row(
        str(len(result.outcomes)),
        str(unchanged),
        str(result.count("changed")),
        str(result.count("first")),
        str(len(result.failed)),
    )
    console.print(counts)
    changed = [item for item in result.outcomes if item.outcome == "changed"]
    if changed:
        table = Table(title="Changes", show_edge=False)
        table.add_column("change", justify="right")
        table.add_column("document")
        table.add_column("summary")
        for item in changed:
            table.add_row(str(item.change_id), item.key, item.detail)
        console.print(table)
    if result.failed and not result.offline:  # offline, one sentence says it better than N rows
        table = Table(title="Failed fetches", show_edge=False)
        table.add_column("document")
        table.add_column("reason", overflow="fold")
        for item in result.failed:
            table.add_row(item.key, item.detail)
        console.print(table)
