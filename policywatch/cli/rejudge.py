"""`policywatch rejudge`: the stored changes judged again, by the rules as they are now."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from policywatch.cli.common import (
    DbOption,
    DocumentOption,
    JsonOption,
    RulesOption,
    ServiceOption,
    check_tracked,
    checked_rules,
    console,
    engine,
    err_console,
    print_json,
    progress_bar,
)
from policywatch.wording import counted
from store.queries import tracked_names

if TYPE_CHECKING:  # the diff engine is loaded by the command, not by `--help`
    from store.rejudging import Judged, Rejudged


def rejudge(
    service: ServiceOption = None,
    document: DocumentOption = None,
    rules: RulesOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say which verdicts would change; change none.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Judge the recorded changes again by the current rules; replace the verdicts that differ.

    After an upgrade, or an edit of your rules: those replaced are listed, and alert no one.
    """
    from diffengine import assess, load_rules
    from store.rejudging import rejudge as judge_again

    store = engine(db, existing=True, writes=not dry_run)
    check_tracked(store, service, document)
    judge = partial(assess, rules=load_rules(checked_rules(rules)))
    keys = _selected(store, service, document)
    judged: list[Judged] = []
    try:
        with progress_bar(disable=as_json) as progress:
            task = progress.add_task("judging", total=len(keys))
            for key in keys:
                judged.append(judge_again(store, key, judge, write=not dry_run))
                progress.advance(task)
    except KeyboardInterrupt:
        # The documents judged keep their new verdicts, and a second run, finding them agreed,
        # lists them no more: the list is printed now or never.
        _print(judged, dry_run, as_json)
        err_console.print(
            f"Interrupted: {len(judged)} of {counted(len(keys), 'document')} judged again"
            f"{'' if dry_run else ', their verdicts replaced as listed'}; the others keep"
            " theirs, and policywatch rejudge judges them again.",
            highlight=False,
        )
        raise typer.Exit(130) from None
    _print(judged, dry_run, as_json)


def _print(judged: list[Judged], dry_run: bool, as_json: bool) -> None:
    if as_json:
        print_json([_json(one.key, change) for one in judged for change in one.differing])
    else:
        _report(judged, dry_run)


def _selected(store: Engine, service: str | None, document: str | None) -> list[str]:
    """The keys of the documents to judge. A service is taken as `history` takes it, by its
    name in any case or by its slug: named by its slug (`google-play`), none was judged."""
    tracked = tracked_names(store)
    named = tracked.service(service) if service else None
    keys = tracked.keys_of[named] if named else tracked.keys
    return sorted(key for key in keys if not document or key == document.lower())


def _verdict(columns: dict[str, Any]) -> dict[str, Any]:
    """What the timeline shows of a verdict, as `history --json` spells it."""
    effective = columns["effective_date"]
    return {
        "meaningful": columns["meaningful"],
        "reason": columns["reason"],
        "severity": columns["severity"],
        "summary": columns["summary"],
        "effective_date": effective.isoformat() if effective else None,
    }


def _json(key: str, change: Rejudged) -> dict[str, Any]:
    return {
        "id": change.change_id,
        "key": key,
        "detected_at": change.detected_at.isoformat(),
        "moved": change.moved,
        "before": _verdict(change.before),
        "after": _verdict(change.after),
    }


def _said(columns: dict[str, Any]) -> str:
    """A verdict in a table cell: its severity, or why it is noise, then its summary."""
    rating = columns["severity"] if columns["meaningful"] else f"({columns['reason']})"
    return escape(f"{rating or 'unrated'}: {columns['summary']}")


def _report(judged: list[Judged], dry_run: bool) -> None:
    moved = [(one.key, change) for one in judged for change in one.differing if change.moved]
    if moved:
        table = Table(title="Would be judged otherwise" if dry_run else "Judged otherwise")
        for column in ("id", "detected", "document", "was", "now"):
            table.add_column(column, justify="right" if column == "id" else "left")
        for key, change in moved:
            detected = f"{change.detected_at:%Y-%m-%d}"
            was, now = _said(change.before), _said(change.after)
            table.add_row(str(change.change_id), detected, escape(key), was, now)
        console.print(table)
    total = sum(one.judged for one in judged)
    documents = sum(1 for one in judged if one.judged)  # not those with no change to judge
    refreshed = sum(len(one.differing) for one in judged) - len(moved)
    verb = "would change" if dry_run else "changed"
    console.print(
        f"{counted(total, 'change')} of {counted(documents, 'document')} judged again:"
        f" {counted(len(moved), 'verdict')} {verb}"
        + (f", {refreshed} more with details {verb} (matches, excerpts)" if refreshed else "")
        + (" (--dry-run: nothing was written)" if dry_run else ""),
        highlight=False,
    )
