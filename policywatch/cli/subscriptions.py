"""`subscriptions list|remove|remind|pause|resume|edit|test`: the subscriptions made, each
listed with what it receives and what was delivered, and changed or tried one by one by name.

Subscription URLs hold tokens and passwords: this module only ever prints them masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table

from notifier.channel import Channel, ChannelError
from notifier.delivery import send
from notifier.subscriptions import mask, trial_message
from policywatch.cli.common import (
    DbOption,
    JsonOption,
    console,
    deliveries,
    engine,
    fail,
    print_json,
    user_catalog,
)
from policywatch.cli.renames import resolved_filters
from policywatch.cli.subscription_options import (
    SEVERITY,
    CategoryOption,
    DigestOption,
    DocumentOption,
    ServiceOption,
    TagOption,
    checked_digest,
    refuse_crossed,
    reminder_days,
    warn_unknown_filters,
)
from policywatch.wording import counted, did_you_mean
from store.models import MAX_REMINDER
from store.subscriptions import (
    NewSubscription,
    SubscriptionRow,
    edit_subscription,
    get_subscription,
    hears_changes,
    list_subscriptions,
    pause_subscription,
    remove_subscription,
    resume_subscription,
    set_reminders,
)

app = typer.Typer(
    help="The subscriptions: list them (URLs masked), remove, pause, resume, edit or set the"
    " reminders of one, send a test message.",
    no_args_is_help=True,
)
# Arguments are named as the README names them (URL, NAME, DAYS...), not by the parameter.
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The subscription's name.")]


def _no_such(name: str, db: str | None) -> NoReturn:
    """A name that is no subscription's, with the one likely meant (`hok` for `hook`)."""
    names = [row.name for row in list_subscriptions(engine(db, existing=True, writes=False))]
    fail(
        f"no subscription named {name!r}{did_you_mean(name, names)}: `policywatch subscriptions"
        " list` shows them"
    )


def _wants(row: SubscriptionRow) -> str:
    """What the subscription receives, in one cell: severity, filters, digest. The severity
    sorts changes alone: of one that hears of fetch problems alone, "medium or worse" said a
    bar its alerts never meet."""
    hears = hears_changes(row.categories)
    parts = [f"{row.min_severity} or worse"] if hears else []
    parts += [
        f"{label} {', '.join(values)}"
        for label, values in (
            ("services", row.services),
            ("documents", row.documents),
            ("tags", row.tags),
            ("categories", row.categories),
        )
        if values
    ]
    if row.digest:
        parts.append(f"{row.digest} digest")
    if row.reminders and hears:  # edited to fetch-issue alone: none
        parts.append(f"reminded {reminder_days(row.reminders)} before")
    return "; ".join(parts)


@app.command(name="list")
def list_(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Every subscription: masked URL, filters, deliveries (failed in red; held if paused)."""
    rows = list_subscriptions(engine(db, existing=True, writes=False))
    if as_json:
        print_json([row.to_json() | {"url": mask(row)} for row in rows])
        return
    if not rows:
        console.print("No subscriptions: add one with [bold]policywatch subscribe URL[/].")
        return
    console.print(_subscriptions_table(rows, console.width), highlight=False)
    for row in rows:
        if row.last_error:
            console.print(
                f"[red]{escape(row.name)}[/]: last error: {escape(row.last_error)}", highlight=False
            )


_WIDE = 100  # columns below which subscriptions are listed, not tabled


def _subscriptions_table(rows: Sequence[SubscriptionRow], width: int) -> Table:
    """Four columns, the URL the widest: eight of them cut URLs into pieces of nine letters in
    80. Narrower than _WIDE, each subscription is listed, its name whole on a line of its own:
    four columns in 80 folded names mid-word ("team-ch" / "at"), which `subscriptions edit`
    takes as copied, and masked URLs over two lines. A line longer than the width goes on
    indented under its own: piped (80 columns), "reminded 7 days and 1 day before" went on at
    the left edge, where the next subscription's name starts."""
    if width < _WIDE:
        listing = Table.grid(padding=(0, 1))
        listing.add_column(overflow="fold")
        for row in rows:
            paused = "" if row.active else " [bold yellow](paused)[/]"
            listing.add_row(f"[bold]{escape(row.name)}[/]{paused}")
            for line in (escape(mask(row)), escape(_wants(row)), _delivered(row, " · ")):
                listing.add_row(Padding(line, (0, 0, 0, 2)))
        return listing
    table = Table(show_edge=False, expand=True)
    table.add_column("name", overflow="fold", ratio=1)
    table.add_column("url", overflow="fold", ratio=4)
    table.add_column("receives", ratio=3)
    table.add_column("deliveries", no_wrap=True)
    for row in rows:
        table.add_row(
            escape(row.name) + ("" if row.active else "\n[bold yellow]paused[/]"),
            escape(mask(row)),
            escape(_wants(row)),
            _delivered(row, "\n"),
        )
    return table


def _delivered(row: SubscriptionRow, separator: str) -> str:
    """Sent, pending (held, when paused) and failed always; superseded and skipped when any."""
    failed = f"[bold red]{row.failed} failed[/]" if row.failed else "0 failed"
    waiting = f"{row.pending} pending" if row.active else f"[yellow]{row.held} held[/]"
    lines = [f"{row.sent} sent", waiting, failed]
    lines += [
        f"{count} {status}"
        for count, status in ((row.superseded, "superseded"), (row.skipped, "skipped"))
        if count
    ]
    return separator.join(lines)


@app.command()
def remove(
    name: NameArgument,
    db: DbOption = None,
) -> None:
    """Remove a subscription and what it is still owed."""
    if not remove_subscription(engine(db, existing=True), name):
        _no_such(name, db)
    console.print(f"Removed {escape(name)}.", highlight=False)


@app.command()
def remind(
    name: NameArgument,
    days: Annotated[
        list[int] | None,
        typer.Argument(
            metavar="DAYS...",
            min=1,
            max=MAX_REMINDER,
            help="Days before a change takes effect, e.g. 14 7 1.",
            show_default=False,
        ),
    ] = None,
    off: Annotated[bool, typer.Option("--off", help="Never remind this subscription.")] = False,
    db: DbOption = None,
) -> None:
    """Set how many days before a change takes effect the subscription is reminded of it."""
    if days and off:
        fail("give the days or --off, not both")
    if not days and not off:
        fail("give the days (such as 7 1), or --off")
    store = engine(db, existing=True)
    found = get_subscription(store, name)
    if days and found and not hears_changes(found.categories):
        fail(f"{name} asks for fetch-issue alone: it hears of no change to remind of")
    if not set_reminders(store, name, days or []):
        _no_such(name, db)
    said = (
        f"reminded {reminder_days(sorted(set(days), reverse=True))} before"
        if days
        else "not reminded"
    )
    console.print(f"{escape(name)} is {said} a change takes effect.", highlight=False)


@app.command()
def pause(
    name: NameArgument,
    db: DbOption = None,
) -> None:
    """Send nothing to a subscription until resumed: what it is owed meanwhile is held.

    Changes, reminders, fetch problems and withdrawals keep being recorded for it."""
    switched = pause_subscription(engine(db, existing=True), name)
    if switched is None:
        _no_such(name, db)
    held = deliveries(switched.held)
    if not switched.was_active:
        console.print(f"{escape(name)} is paused already ({held} held).", highlight=False)
        return
    console.print(
        f"Paused {escape(name)}: nothing is sent to it, what it is owed is held ({held} now);"
        f" policywatch subscriptions resume {escape(name)} sends it.",
        highlight=False,
    )


@app.command()
def resume(
    name: NameArgument,
    skip_held: Annotated[
        bool,
        typer.Option(
            "--skip-held", help="Settle what was held as skipped (kept on record, never sent)."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Send to a paused subscription again: what it holds goes at the next notify or crawl.

    With --skip-held, what it holds is settled as skipped: kept on record, never sent.

    A reminder the pause made late (its date past, or a nearer one held) is skipped anyway."""
    switched = resume_subscription(
        engine(db, existing=True), name, datetime.now(UTC), skip_held=skip_held
    )
    if switched is None:
        _no_such(name, db)
    if switched.was_active:
        console.print(f"{escape(name)} is not paused.", highlight=False)
        return
    if skip_held:
        said = f"{deliveries(switched.skipped)} held skipped, never to be sent"
    else:
        said = f"{deliveries(switched.held)} held, sent at the next notify or crawl"
        if switched.stale_reminders:
            said += f"; {counted(switched.stale_reminders, 'reminder')} the pause made late skipped"
    console.print(f"Resumed {escape(name)}: {said}.", highlight=False)


@app.command()
def edit(
    name: NameArgument,
    url: Annotated[
        str | None, typer.Option(help="A new Apprise URL (a rotated token, say).")
    ] = None,
    service: ServiceOption = None,
    document: DocumentOption = None,
    tag: TagOption = None,
    category: CategoryOption = None,
    any_service: Annotated[bool, typer.Option("--any-service", help="Clear --service.")] = False,
    any_document: Annotated[bool, typer.Option("--any-document", help="Clear --document.")] = False,
    any_tag: Annotated[bool, typer.Option("--any-tag", help="Clear --tag.")] = False,
    any_category: Annotated[bool, typer.Option("--any-category", help="Clear --category.")] = False,
    min_severity: Annotated[str | None, SEVERITY] = None,
    digest: DigestOption = None,
    db: DbOption = None,
) -> None:
    """Change a subscription's filters, digest or URL: what is given replaces, the rest stays.

    A repeated option (--service A --service B) is the whole new list; --any-service clears it.

    The new filters apply to the changes queued from now on; what is owed already is still sent."""
    lists = {
        "service": ("services", service, any_service),
        "document": ("documents", document, any_document),
        "tag": ("tags", tag, any_tag),
        "category": ("categories", category, any_category),
    }
    changes: dict[str, Any] = {}
    for flag, (column, given, cleared) in lists.items():
        if given and cleared:
            fail(f"give --{flag} or --any-{flag}, not both")
        if given or cleared:
            changes[column] = given or []
    if min_severity is not None:
        changes["min_severity"] = min_severity
    if digest is not None:
        changes["digest"] = checked_digest(digest)
    if url is not None:
        changes["url"] = _checked_url(url)
    if not changes:
        fail("give what to change: --url, --service, --min-severity… (see --help)")
    store = engine(db, existing=True)
    before = get_subscription(store, name)
    if before is None:
        _no_such(name, db)
    # An old key or service name filters on the new one, as `subscribe` takes it.
    named = NewSubscription(name, "", service or [], document or [], tag or [], category or [])
    named = resolved_filters(store, named, lambda: user_catalog(None))
    for column, resolved in (("services", named.services), ("documents", named.documents)):
        if resolved:
            changes[column] = list(resolved)
    refuse_crossed(
        store,
        changes.get("services", before.services),
        changes.get("documents", before.documents),
    )
    if not edit_subscription(store, name, changes):
        _no_such(name, db)
    row = get_subscription(store, name)
    assert row is not None, "just edited"
    console.print(
        f"Edited {escape(name)} ({escape(mask(row))}): of the changes queued from now on, it"
        f" receives {escape(_wants(row))}.",
        highlight=False,
        soft_wrap=True,
    )
    warn_unknown_filters(store, named)


def _checked_url(url: str) -> str:
    """`url` if Apprise recognises it; refused as `subscribe` refuses it, never echoed whole."""
    try:
        Channel(url)
    except ChannelError as error:
        fail(str(error))
    return url


@app.command()
def test(
    name: NameArgument,
    db: DbOption = None,
) -> None:
    """Send a test message now; exit 1 when the channel refuses it."""
    row = get_subscription(engine(db, existing=True, writes=False), name)
    if row is None:
        _no_such(name, db)
    try:
        channel = Channel(row.url)
    except ChannelError as error:
        fail(str(error))
    outcome = send(channel, trial_message(name))
    if not outcome.ok:
        fail(f"{name} ({channel.masked}): {outcome.error}", code=1)
    console.print(
        f"Sent a test message to {escape(name)} ({escape(channel.masked)}).",
        highlight=False,
        soft_wrap=True,
    )
