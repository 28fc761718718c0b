"""`documents`, `history` and `show`: reading back what the crawls recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from sqlalchemy import Engine

from policywatch.cli.common import (
    DbOption,
    DocumentOption,
    JsonOption,
    MinSeverityOption,
    ServiceOption,
    check_tracked,
    console,
    engine,
    err_console,
    fail,
    print_json,
)
from policywatch.cli.diffview import hanging, render_change
from policywatch.cli.renames import resolved_key, resolved_service
from policywatch.deadlines import dated, days_after, days_left
from policywatch.wording import counted, noise_hidden, unified_diff, why_no_date
from store.outbox.given_up import documents_json, failed_by_document
from store.queries import (
    ChangeDetail,
    ChangeRow,
    DocumentRow,
    Revert,
    Selection,
    change_detail_json,
    changes_json,
    count_changes,
    get_change,
    hidden_noise,
    list_changes,
    list_documents,
    reverts,
    upcoming_changes,
)

SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold red",
    "medium": "yellow",
    "low": "cyan",
    "info": "dim",
}


# Beyond any store's count, and within what SQLite and PostgreSQL take for a LIMIT: a number
# past 2**63 was an OverflowError and its traceback.
_MAX_LIMIT = 10**9
_WIDE = 100  # columns below which changes are listed, not tabled (see `_changes`)
_WIDE_DOCUMENTS = 120  # likewise for documents: keys of 55 letters beside four more columns
# A change read right after its document's declaration changed (`Change.redeclared`).
_REDECLARED = " (declaration changed: not alerted)"


def _when(moment: datetime | None, *, wide: bool = True) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" if wide else "%Y-%m-%d") if moment else "—"


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        fail(f"--since {value!r} is not an ISO date such as 2026-01-15{why_no_date(error)}")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def documents(db: DbOption = None, as_json: JsonOption = False) -> None:
    """What is tracked: versions, last check, last meaningful change, any open fetch issue."""
    store = engine(db, existing=True, writes=False)
    if as_json:
        print_json(documents_json(store))
        return
    rows = list_documents(store)
    failed = failed_by_document(store)
    if not rows:
        console.print("Nothing tracked yet: run [bold]policywatch crawl[/].")
        return
    wide = console.width >= _WIDE_DOCUMENTS
    console.print(_documents_table(rows, failed) if wide else _documents_list(rows, failed))
    failing = sum(1 for row in rows if row.issue)
    if failing:
        console.print(
            f"{failing} of {len(rows)} documents cannot be fetched: [bold]policywatch documents"
            " --json[/] gives each reason in full, [bold]policywatch crawl --only KEY[/] tries"
            " one again now."
        )


def _issue(row: DocumentRow) -> Text:
    """The open fetch issue on one line, cut to the width left: --json has every reason in full."""
    if not row.issue:
        return Text()
    return Text.assemble(
        (row.issue.kind, "red"),
        f" ×{row.issue.streak}: {row.issue.detail or ''}",
        no_wrap=True,
        overflow="ellipsis",
    )


def _documents_table(rows: list[DocumentRow], failed: dict[str, int]) -> Table:
    table = Table(show_edge=False)
    table.add_column("document", no_wrap=True)
    table.add_column("versions", justify="right")
    for column in ("last checked", "last meaningful change", "fetch issue"):
        table.add_column(column, ratio=1 if column == "fetch issue" else None)
    if failed:
        table.add_column("alerts failed", justify="right", style="red")
    for row in rows:
        cells: list[str | Text] = [
            escape(row.key),
            str(row.versions),
            _when(row.last_checked),
            _when(row.last_meaningful_change),
            _issue(row),
        ]
        if failed:
            cells.append(str(failed.get(row.key, "")))
        table.add_row(*cells)
    return table


def _documents_list(rows: list[DocumentRow], failed: dict[str, int]) -> Group:
    """Each document as its key on a line of its own, then the rest on one line below it: in a
    table, a terminal of 80 columns folded keys mid-word (`amazon-appstore/d` / `eveloper-…`),
    and a key is what `--only`, `--document` and the web's addresses take. Lines, as
    `history` lists changes: a grid padded each with spaces to its width."""
    lines: list[Text] = []
    for row in rows:
        lines.append(Text(row.key, style="bold", overflow="fold"))
        details = Text(
            f"  {counted(row.versions, 'version')} · checked {_when(row.last_checked, wide=False)}"
            f" · meaningful change {_when(row.last_meaningful_change, wide=False)}",
            no_wrap=True,
            overflow="ellipsis",
        )
        if failed.get(row.key):
            details.append(f" · {failed[row.key]} alerts failed", "red")
        if row.issue:
            details.append(" · ").append_text(_issue(row))
        lines.append(details)
    return Group(*lines)


def history(
    service: ServiceOption = None,
    document: DocumentOption = None,
    since: Annotated[str | None, typer.Option(help="Only changes on or after this date.")] = None,
    min_severity: MinSeverityOption = None,
    include_noise: Annotated[
        bool, typer.Option("--all", help="Include changes judged not meaningful.")
    ] = False,
    limit: Annotated[
        int,
        typer.Option(
            min=0,
            max=_MAX_LIMIT,
            help="At most this many changes, the newest; 0: all of them.",
        ),
    ] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recorded changes, newest first."""
    after = _since(since)  # a bad value is said before a missing store
    store = engine(db, existing=True, writes=False)
    service = service and resolved_service(store, service)
    document = document and resolved_key(store, document)
    selection = Selection(
        service=service, document=document, since=after, min_severity=min_severity
    )
    rows = list_changes(
        store,
        **selection,
        include_noise=include_noise,
        limit=limit + 1 if limit else None,  # one more tells that there are more
    )
    more = bool(limit) and len(rows) > limit
    rows = rows[:limit] if more else rows
    if not rows:
        check_tracked(store, service, document)
    total = count_changes(store, include_noise=include_noise, **selection) if more else 0
    if as_json:
        print_json(changes_json(store, rows))
        if more:  # on stderr: stdout is the data
            err_console.print(_only_newest(limit, total), highlight=False)
        return
    if not rows:
        hidden = {} if include_noise else hidden_noise(store, **selection)
        console.print(_nothing_shown(hidden), highlight=False)
        return
    console.print(detected_listing(store, rows))
    if more:
        console.print(_only_newest(limit, total), highlight=False)


def detected_listing(store: Engine, rows: list[ChangeRow]) -> Table | Group:
    """Changes as `history` lists them: each with its id, when it was detected, its document,
    severity and summary, and whether the page has since undone it (as the timeline marks it:
    a clause withdrawn a week later is not the page's last word)."""
    undone = reverts(store, [row.id for row in rows if row.meaningful])

    def summary(row: ChangeRow) -> Text:
        said = _summary(row)
        if row.id in undone:
            said.append(f" {_reverted(undone[row.id])}", "italic")
        return said

    return _changes(rows, _detected, "detected", summary)


def _reverted(revert: Revert) -> str:
    return f"(reverted {_when(revert.detected_at, wide=False)} by change {revert.change_id})"


def _only_newest(limit: int, total: int) -> str:
    """What a list cut at `limit` says, so that neither a reader nor a script takes the newest
    changes for all of them, nor wonders how many there are."""
    newest = "newest change" if limit == 1 else f"{limit} newest changes"
    return f"The {newest} of {total:,}; --limit 0 shows them all."


def _severity(row: ChangeRow) -> Text:
    return Text(row.severity or "—", style=SEVERITY_STYLE.get(row.severity or "", ""))


def _summary(row: ChangeRow) -> Text:
    summary = dated(row.summary, row.effective_date) + _REDECLARED * row.redeclared
    return Text(summary) if row.meaningful else Text(f"({row.reason}) {summary}", "dim")


# How a listing of changes dates each one, in a table's column or a list's line: when it was
# detected (`history`), or when it takes effect (`upcoming`).
Moment = Callable[[ChangeRow, bool], str | Text]


def _detected(row: ChangeRow, wide: bool) -> str:
    return _when(row.detected_at, wide=wide)


def _effective(row: ChangeRow, wide: bool = True) -> Text:
    when = row.effective_as_given or "—"
    return Text.assemble((when, "bold"), "  ", days_left(row.effective_date))


def _changes(
    rows: list[ChangeRow], moment: Moment, heading: str, summary: Callable[[ChangeRow], Text]
) -> Table | Group:
    """A table of changes in a terminal at least `_WIDE` columns wide; below, a list: each
    change's id, date, severity and document key on a line, its summary wrapped below (a table
    of 80 columns folded keys mid-word, see `_documents_list`)."""
    if console.width >= _WIDE:
        table = Table(show_edge=False)
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column(heading, no_wrap=True)
        table.add_column("document", no_wrap=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("summary", ratio=1, overflow="fold")
        for row in rows:
            cells = (moment(row, True), escape(row.key), _severity(row), summary(row))
            table.add_row(str(row.id), *cells)
        return table
    return _changes_list(rows, moment, summary)


def _changes_list(
    rows: list[ChangeRow], moment: Moment, summary: Callable[[ChangeRow], Text]
) -> Group:
    """Each change's lines, indented past the ids: its id, date, severity and key (the key on
    a line of its own when they do not fit), then its summary. Lines, not a grid: a grid
    measures every cell before it draws one, which made `history --limit 0` (2,000 changes)
    spend two thirds of its time measuring."""
    width = max(len(str(row.id)) for row in rows)
    lines: list[RenderableType] = []
    for row in rows:
        head = Text.assemble(
            str(row.id).rjust(width), " ", moment(row, False), "  ", _severity(row)
        )
        key = Text(row.key, "bold")
        if head.cell_len + 2 + key.cell_len <= console.width:
            lines.append(head.append("  ").append_text(key))
        else:
            lines += [head, Padding(key, (0, 0, 0, width + 1), expand=False)]
        lines.append(Padding(summary(row), (0, 0, 0, width + 1), expand=False))
    return Group(*lines)


def _nothing_shown(hidden: dict[str, int]) -> str:
    """An empty history, and the noise it leaves out: "No changes" alone, when cosmetic edits
    were recorded, read as if nothing had been seen at all."""
    total = sum(hidden.values())
    if not total:
        return "No changes recorded (yet) for this selection."
    return (
        f"No meaningful changes for this selection: {noise_hidden(hidden)};"
        f" --all shows {'it' if total == 1 else 'them'}."
    )


def upcoming(
    within: Annotated[
        int,
        typer.Option(min=0, help="Only changes taking effect within this many days; 0: any time."),
    ] = 90,
    service: ServiceOption = None,
    document: DocumentOption = None,
    min_severity: MinSeverityOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Changes taking effect from today on, soonest first: what to act on before its date."""
    store = engine(db, existing=True, writes=False)
    service = service and resolved_service(store, service)
    document = document and resolved_key(store, document)
    today = datetime.now(UTC).date()
    end = days_after(today, within) if within else None
    selection = Selection(service=service, document=document, min_severity=min_severity)
    coming = upcoming_changes(store, start=today, end=end, **selection)
    rows = coming.rows
    if not rows:
        check_tracked(store, service, document)
    if as_json:
        print_json(changes_json(store, rows))
        if coming.unstated:  # on stderr: stdout is the data
            err_console.print(_unstated(coming.unstated), highlight=False)
        return
    if not rows:
        span = f"in the next {counted(within, 'day')}" if end else "from today on"
        wider = "; --within 0 looks further" if end else ""
        console.print(f"No change takes effect {span} for this selection{wider}.", highlight=False)
    else:
        console.print(_changes(rows, _effective, "effective", lambda row: Text(row.summary)))
    if coming.unstated:
        console.print(_unstated(coming.unstated), highlight=False)


def _unstated(count: int) -> str:
    """What `upcoming` leaves out, said: a reader who remembers the January date must learn
    that it moved or went, not wonder where it is."""
    whose = (
        "whose date its page no longer states"
        if count == 1
        else "whose dates their pages no longer state"
    )
    return f"Left out: {counted(count, 'change')} {whose} (moved, or withdrawn)."


def _passed_over(detail: ChangeDetail) -> str:
    """Which text the change was judged against, when broken captures came between, as the
    web page says it: the diff below is from that text, not from the broken one."""
    broken = [f"version {skipped.seq} (change {skipped.change_id})" for skipped in detail.skipped]
    were = "was a broken capture" if len(broken) == 1 else "were broken captures"
    return (
        f"Compared with version {detail.old_seq}, the last capture that read right:"
        f" {', '.join(broken)} {were}, passed over in judging this change."
    )


def show(
    change_id: Annotated[
        str,
        typer.Argument(metavar="CHANGE_ID", help="The change's id, as `history` lists it."),
    ],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One change: what it is, and the diff of the text."""
    # Read as text and checked here: typer's own check said "Input should be a valid integer,
    # unable to parse string as an integer", in a box, naming no argument a user would know.
    if not (change_id.isascii() and change_id.isdigit()):
        fail(f"CHANGE_ID must be a number, not {change_id!r}: `policywatch history` lists them")
    store = engine(db, existing=True, writes=False)
    detail = get_change(store, int(change_id))
    if detail is None:
        fail(f"no change with id {change_id}: `policywatch history --all` lists them")
    change = detail.change
    if as_json:
        diff = unified_diff(detail.old_text, detail.new_text)
        print_json({**change_detail_json(store, detail), "diff": "\n".join(diff)})
        return
    title = f"{change.service} · {change.document_type}"
    console.print(Text(title, style="bold"), f" (change {change.id})")
    console.print(Text(f"{change.url}\ndetected {_when(change.detected_at)} UTC"))
    severity = Text(change.severity or "unrated", SEVERITY_STYLE.get(change.severity or "", ""))
    verdict = "" if change.meaningful else f" (not meaningful: {change.reason})"
    verdict += _REDECLARED * change.redeclared
    if change.rejudged_at:
        verdict += f" (judged again {_when(change.rejudged_at)} UTC: not alerted)"
    severity.append(" ")
    console.print(
        hanging(severity, Text(f"{dated(change.summary, change.effective_date)}{verdict}"))
    )
    if detail.skipped:
        console.print(_passed_over(detail), style="italic", highlight=False)
    undone = reverts(store, [change.id]).get(change.id) if change.meaningful else None
    if undone:
        console.print(
            f"Reverted: since change {undone.change_id}, {_when(undone.detected_at)} UTC, the"
            " page reads as it did before this change.",
            style="italic",
            highlight=False,
        )
    caught = change.matched_sentences()
    for sentence in caught:
        quoted = f"[{', '.join(sentence.rule_ids)}] {sentence.sentence}"
        console.print(hanging(Text("  "), Text(quoted, "yellow")))
        if sentence.before and sentence.side != "removed":  # the old wording the rule read too
            console.print(hanging(Text("    was: "), Text(sentence.before, "dim")))
    flagged = [sentence.sentence for sentence in caught]
    console.print(render_change(detail.old_text, detail.new_text, flagged=flagged))
