"""`subscribe`, `subscriptions list|remove|remind|pause|resume|edit|test` and `notify`: alerts
through Apprise.

Subscription URLs hold tokens and passwords: this module only ever prints them masked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from sqlalchemy import Engine

from notifier import DeliveryReport, deliver_owed
from notifier.channel import Channel, ChannelError
from notifier.delivery import ISSUE_STREAK, LEASE, MAX_ATTEMPTS, SEND_TIMEOUT, send
from notifier.subscriptions import mask, subscribe_config, trial_message
from notifier.subscriptions import subscribe as store_subscription
from policywatch.cli.common import (
    DbOption,
    JsonOption,
    checked_base_url,
    console,
    engine,
    err_console,
    fail,
    print_json,
    settings,
    severity_level,
    user_catalog,
)
from policywatch.cli.renames import resolved_filters
from policywatch.wording import counted, did_you_mean
from store.models import (
    DEFAULT_REMINDERS,
    DIGESTS,
    FETCH_ISSUE,
    MAX_REMINDER,
    REINSTATED,
    WITHDRAWN,
    service_slug,
)
from store.queries import SEVERITIES, tracked_names
from store.subscriptions import (
    DuplicateName,
    NewSubscription,
    SubscriptionRow,
    changes_unheard,
    edit_subscription,
    get_subscription,
    hears_changes,
    list_subscriptions,
    pause_subscription,
    remove_subscription,
    resume_subscription,
    set_reminders,
)

subscriptions_app = typer.Typer(
    help="The subscriptions: list them (URLs masked), remove, pause, resume, edit or set the"
    " reminders of one, send a test message.",
    no_args_is_help=True,
)

BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Where `policywatch serve` is reachable: messages link to {base}/changes/{id} "
        "(default: env POLICYWATCH_BASE_URL or base_url in the config file).",
        show_default=False,
        callback=checked_base_url,
    ),
]
# Shared by `notify` and `crawl`, which delivers at its end: with only `notify` reading them,
# a crawl's own delivery ignored POLICYWATCH_MAX_ATTEMPTS and POLICYWATCH_SEND_TIMEOUT, and
# alerted of fetch problems after 3 failures whatever `notify --issue-streak` said.
MaxAttemptsOption = Annotated[
    int,
    typer.Option(
        "--max-attempts",
        envvar="POLICYWATCH_MAX_ATTEMPTS",
        min=1,  # 0 gave up every owed delivery after a single try
        help="Attempts before a delivery is marked failed.",
    ),
]


def _a_number(seconds: float) -> float:
    """`nan` passes every range check: the timer that enforces the limit refused it, and each
    send failed with a traceback."""
    if math.isnan(seconds):
        raise typer.BadParameter("nan is no number of seconds")
    return seconds


SendTimeoutOption = Annotated[
    float,
    typer.Option(
        "--send-timeout",
        envvar="POLICYWATCH_SEND_TIMEOUT",
        min=1,
        max=86400,  # a day; the timer that enforces it overflowed at 1e10, and failed each send
        callback=_a_number,
        metavar="SECONDS",
        help="Time one message may take to be sent; past it, it fails and is retried.",
    ),
]
IssueStreakOption = Annotated[
    int,
    typer.Option(
        "--issue-streak",
        envvar="POLICYWATCH_ISSUE_STREAK",
        min=1,  # 0 alerted at a first failure, as 1 does
        help="Failed fetches in a row that make a fetch-issue alert.",
    ),
]
Repeated = Annotated[list[str] | None, typer.Option(show_default=False)]


# The filters of `subscribe`, which `subscriptions edit` replaces.
def _no_blank(values: list[str] | None) -> list[str] | None:
    """A filter's values, none blank: `--service "$SERVICE"` with the variable unset made a
    subscription that matched nothing, and never sent a word."""
    if values and any(not value.strip() for value in values):
        raise typer.BadParameter("a blank value names nothing, and would select nothing")
    return values


ServiceOption = Annotated[
    list[str] | None,
    typer.Option(help="Only this service, any case (repeatable).", callback=_no_blank),
]
DocumentOption = Annotated[
    list[str] | None,
    typer.Option(help="Only this document key (repeatable).", callback=_no_blank),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(help="Only documents with this catalog tag (repeatable).", callback=_no_blank),
]
CategoryOption = Annotated[
    list[str] | None,
    typer.Option(
        help=f"Only this change category, or `{FETCH_ISSUE}` for fetch problems (repeatable).",
        callback=_no_blank,
    ),
]
_SEVERITY = typer.Option(
    help=f"One of {', '.join(SEVERITIES)} (any case).", callback=severity_level
)
# Arguments are named as the README names them (URL, NAME, DAYS...), not by the parameter.
NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The subscription's name.")]
DigestOption = Annotated[
    str | None,
    typer.Option(help="One message per period: daily or weekly (none: one per change)."),
]


def subscribe(
    url: Annotated[
        str | None,
        typer.Argument(metavar="URL", help="An Apprise URL: mailto://, slack://, json://, …"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="An Apprise YAML config: one subscription per URL, with its tags."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="The subscription's name (default: the URL's scheme; with --config, the file's).",
        ),
    ] = None,
    service: ServiceOption = None,
    document: DocumentOption = None,
    tag: TagOption = None,
    category: CategoryOption = None,
    min_severity: Annotated[str, _SEVERITY] = "medium",
    digest: DigestOption = None,
    remind: Annotated[
        list[int] | None,
        typer.Option(
            min=1,
            max=MAX_REMINDER,
            help="Remind this many days before a change takes effect (repeatable; default: 7 "
            "and 1).",
            show_default=False,
        ),
    ] = None,
    no_remind: Annotated[
        bool, typer.Option("--no-remind", help="Never remind of an effective date.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Subscribe an Apprise URL (or config) to the changes that match the filters."""
    if (url is None) == (config is None):
        fail("give either an Apprise URL or --config FILE")
    if name is not None and not name.strip():  # `subscriptions remove ' '` could not name it
        fail("--name is blank: give the name subscriptions edit, pause, remove… will know it by")
    if remind and no_remind:
        fail("give --remind DAYS or --no-remind, not both")
    hears = hears_changes(category or [])
    if remind and not hears:
        fail("--remind: a subscription to fetch-issue alone hears of no change to remind of")
    request = NewSubscription(
        name=name or (config.stem if config else ""),
        url=url or "",
        services=service or [],
        documents=document or [],
        tags=tag or [],
        categories=category or [],
        min_severity=min_severity,
        digest=_digest(digest),
        reminders=[] if no_remind or not hears else remind or DEFAULT_REMINDERS,
    )
    store = engine(db)
    request = resolved_filters(store, request)
    _refuse_crossed(store, request.services, request.documents)
    try:
        if config is None:
            done = [store_subscription(store, request)]
        else:
            text = _read(config)
            if unrecognised := _unrecognised(text):
                fail(f"{config}: {'; '.join(unrecognised)}; nothing was subscribed")
            done = subscribe_config(store, text, request)
    except DuplicateName as error:  # the name, not the URL: say what to do instead
        fail(
            f"{error}: give another --name, or change that one with policywatch subscriptions"
            " edit (policywatch subscriptions list shows them)"
        )
    except ChannelError as error:
        fail(f"{config}: {error}" if config else str(error))
    for subscribed in done:
        console.print(
            f"Subscribed [bold]{escape(subscribed.name)}[/]: {escape(subscribed.masked)}",
            highlight=False,
            soft_wrap=True,  # a URL cut across lines cannot be copied
        )
        if subscribed.same_url_as:
            _warn(
                f"this URL is already subscribed as {subscribed.same_url_as}: a change that"
                " both match is sent twice"
            )
    if hears:
        _say_what_is_not_sent(store, [subscribed.name for subscribed in done], request.reminders)
    _warn_unknown_filters(store, request)


def _digest(value: str | None) -> str | None:
    """`--digest` checked: a period, or `none` (one message per change, as without it)."""
    if value is None or value == "none":
        return None
    if value not in DIGESTS:
        fail(f"--digest must be one of {', '.join(DIGESTS)} or none")
    return value


def _no_such(name: str, db: str | None) -> NoReturn:
    """A name that is no subscription's, with the one likely meant (`hok` for `hook`)."""
    names = [row.name for row in list_subscriptions(engine(db, existing=True, writes=False))]
    fail(
        f"no subscription named {name!r}{did_you_mean(name, names)}: `policywatch subscriptions"
        " list` shows them"
    )


def _say_what_is_not_sent(store: Engine, names: Sequence[str], reminders: Sequence[int]) -> None:
    """A subscription is owed the changes detected after it: subscribed after a first crawl had
    found the change that mattered, a user saw `notify` send nothing, and did not know why. Of
    those, the ones still to take effect will be recalled: said too, or the user would think
    the ban found last week lost to them. Both counted by its filters, as its alerts are."""
    unheard = changes_unheard(store, names, datetime.now(UTC))
    if not unheard.recorded:
        return
    said = (
        f"It hears of changes detected from now on, not of the {unheard.recorded} recorded so"
        " far (see policywatch history)"
    )
    if unheard.recalled:
        one = unheard.recalled == 1
        said += (
            f"; {unheard.recalled} of them, still to take effect,"
            f" {'is' if one else 'are'} recalled"
            f" {_days(sorted(set(reminders), reverse=True))} before {'its' if one else 'their'}"
            " date"
        )
    console.print(said + ".", highlight=False)


def _warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def _services_of(store: Engine) -> dict[str, str]:
    """Each document known (tracked, or declared in the catalog), by key: its service."""
    tracked = tracked_names(store)
    of = {key: service for service, keys in tracked.keys_of.items() for key in keys}
    return {document.key: document.service for document in user_catalog(None).documents} | of


def _refuse_crossed(store: Engine, services: Sequence[str], documents: Sequence[str]) -> None:
    """A document filter of a service the service filter leaves out selects nothing (a change
    must pass both): such a subscription never sent a word, where `history` refuses the same
    pair. Refused, naming the document's own service."""
    wanted = {service.lower() for service in services}
    known = _services_of(store) if wanted and documents else {}
    for key in documents:
        service = known.get(key.lower())
        if service and not {service.lower(), service_slug(key)} & wanted:
            fail(
                f"{key} is a document of {service}, not of {' or '.join(services)}: the"
                f" subscription would hear nothing of it (give --service {service} too, or no"
                " service filter)"
            )


def _warn_unknown_filters(store: Engine, request: NewSubscription) -> None:
    """A filter that names nothing known (a typo, most often) would silently match nothing.
    Warned, not refused: it may name a document declared or a rule written later."""
    from diffengine.rules import default_rules

    tracked = tracked_names(store)
    catalog = user_catalog(None).documents
    keys = tracked.keys | {document.key for document in catalog}
    known = {
        "service": tracked.services | {document.service for document in catalog},
        "document": keys,
        "tag": tracked.tags | {tag for document in catalog for tag in document.tags},
        "category": {rule.category for rule in default_rules()} | {FETCH_ISSUE},
    }
    given = {
        "service": request.services,
        "document": request.documents,
        "tag": request.tags,
        "category": request.categories,
    }
    slugs = {service_slug(key) for key in keys}  # a service named by its slug
    for label, values in given.items():
        names = {name.lower() for name in known[label]} | (slugs if label == "service" else set())
        for value in values:
            if value.lower() not in names:
                meant = did_you_mean(value, known[label])
                if not meant and label == "category":  # no command lists them: say them here
                    meant = f" (the rules' categories: {', '.join(sorted(known[label]))})"
                _warn(
                    f"no {label} {value} is known{meant};"
                    " the subscription gets nothing of it until one is"
                )


def _unrecognised(text: str) -> list[str]:
    """Why each URL of an Apprise YAML config that Apprise does not recognise is refused (its
    scheme alone said): Apprise's config loader drops such a URL without a word, and the others
    were subscribed as if the channel left out had been too."""
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # said as such when the config is read
    entries = loaded.get("urls") if isinstance(loaded, dict) else None
    said = []
    for entry in entries if isinstance(entries, list) else []:
        # `- URL`, or `- URL: {tag: …}` (or a list of such options) under it
        url = next(iter(entry), None) if isinstance(entry, dict) and len(entry) == 1 else entry
        if not isinstance(url, str):
            continue
        try:
            Channel(url)
        except ChannelError as error:
            said.append(str(error))
    return said


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")


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
        parts.append(f"reminded {_days(row.reminders)} before")
    return "; ".join(parts)


def _days(days: list[int]) -> str:
    """`7 days and 1 day`: the reminders, farthest first."""
    words = [counted(day, "day") for day in days]
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


@subscriptions_app.command(name="list")
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


@subscriptions_app.command()
def remove(
    name: NameArgument,
    db: DbOption = None,
) -> None:
    """Remove a subscription and what it is still owed."""
    if not remove_subscription(engine(db, existing=True), name):
        _no_such(name, db)
    console.print(f"Removed {escape(name)}.", highlight=False)


@subscriptions_app.command()
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
    said = f"reminded {_days(sorted(set(days), reverse=True))} before" if days else "not reminded"
    console.print(f"{escape(name)} is {said} a change takes effect.", highlight=False)


@subscriptions_app.command()
def pause(
    name: NameArgument,
    db: DbOption = None,
) -> None:
    """Send nothing to a subscription until resumed: what it is owed meanwhile is held.

    Changes, reminders, fetch problems and withdrawals keep being recorded for it."""
    switched = pause_subscription(engine(db, existing=True), name)
    if switched is None:
        _no_such(name, db)
    held = _deliveries(switched.held)
    if not switched.was_active:
        console.print(f"{escape(name)} is paused already ({held} held).", highlight=False)
        return
    console.print(
        f"Paused {escape(name)}: nothing is sent to it, what it is owed is held ({held} now);"
        f" policywatch subscriptions resume {escape(name)} sends it.",
        highlight=False,
    )


@subscriptions_app.command()
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
        said = f"{_deliveries(switched.skipped)} held skipped, never to be sent"
    else:
        said = f"{_deliveries(switched.held)} held, sent at the next notify or crawl"
        if switched.stale_reminders:
            said += f"; {counted(switched.stale_reminders, 'reminder')} the pause made late skipped"
    console.print(f"Resumed {escape(name)}: {said}.", highlight=False)


@subscriptions_app.command()
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
    min_severity: Annotated[str | None, _SEVERITY] = None,
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
        changes["digest"] = _digest(digest)
    if url is not None:
        changes["url"] = _checked_url(url)
    if not changes:
        fail("give what to change: --url, --service, --min-severity… (see --help)")
    store = engine(db, existing=True)
    before = get_subscription(store, name)
    if before is None:
        _no_such(name, db)
    _refuse_crossed(
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
    named = NewSubscription(name, "", service or [], document or [], tag or [], category or [])
    _warn_unknown_filters(store, named)


def _checked_url(url: str) -> str:
    """`url` if Apprise recognises it; refused as `subscribe` refuses it, never echoed whole."""
    try:
        Channel(url)
    except ChannelError as error:
        fail(str(error))
    return url


@subscriptions_app.command()
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


def notify(
    base_url: BaseUrlOption = None,
    max_attempts: MaxAttemptsOption = MAX_ATTEMPTS,
    issue_streak: IssueStreakOption = ISSUE_STREAK,
    retry_now: Annotated[
        bool,
        typer.Option("--retry-now", help="Ignore the backoff and retry failed deliveries too."),
    ] = False,
    send_timeout: SendTimeoutOption = SEND_TIMEOUT,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Deliver what the subscriptions are owed; failures stay queued for the next run."""
    store = engine(db, existing=True)  # a mistyped store would say "nothing owed" forever
    with interruptible_delivery():
        report = deliver_owed(
            store,
            base_url=base_url or settings().base_url,
            max_attempts=max_attempts,
            retry_now=retry_now,
            issue_streak=issue_streak,
            send_timeout=send_timeout,
        )
    if as_json:
        print_json(
            {
                "messages": report.messages,
                "delivered": report.delivered,
                "retrying": report.retrying,
                "failed": report.failed,
                "errors": report.errors,
                "waiting": report.waiting,
                "next_attempt": _iso(report.next_attempt),
                "held_for_digest": report.held.for_digest,
                "digest_due": _iso(report.held.digest_due),
                "given_up": report.held.given_up,
                "in_flight": report.in_flight,
                "superseded": sum(report.superseded.values()),
                "held_for_paused": report.held.for_paused,
            }
        )
        return
    print_delivery(report, console)


@contextmanager
def interruptible_delivery() -> Iterator[None]:
    """Ctrl-C while alerts go out: typer ended the command with 130 and not a word, leaving the
    user to guess what was sent. What was not is in the outbox, and is said to be."""
    try:
        yield
    except KeyboardInterrupt:
        lease = int(LEASE.total_seconds() // 60)
        err_console.print(
            "Interrupted: the alerts not sent wait in the outbox for the next crawl or"
            f" policywatch notify; one being sent as it stopped is tried again in {lease} minutes"
            " (twice received, if its service had taken it).",
            highlight=False,
        )
        raise typer.Exit(130) from None


def print_delivery(report: DeliveryReport, out: Console) -> None:
    """What a delivery run did and what still waits, and each error (masked) on stderr."""
    said = [f"alerts: {counted(report.messages, 'message')} sent"]
    if report.delivered:
        said[0] += f" ({_deliveries(report.delivered)})"
    if report.retrying:
        said.append(f"{_deliveries(report.retrying)} failed and will be retried")
    elif report.waiting and report.next_attempt:
        them = "it" if report.waiting == 1 else "them"
        said.append(
            f"{_deliveries(report.waiting)} waiting for a retry, the next at"
            f" {report.next_attempt:%Y-%m-%d %H:%M} UTC (--retry-now sends {them} now)"
        )
    if report.failed:
        said.append(f"{_deliveries(report.failed)} given up after every retry")
    said += _superseded(report)
    said += _held(report)
    out.print("; ".join(said) + ".", highlight=False)
    for error in report.errors:
        err_console.print(f"[yellow]not delivered:[/] {escape(error)}", highlight=False)


def _superseded(report: DeliveryReport) -> list[str]:
    """Follow-ups dropped unsent: counted nowhere else, they would vanish from sight."""
    said = []
    if withdrawals := report.superseded.get(WITHDRAWN):
        said.append(
            f"{counted(withdrawals, 'withdrawal')} not sent, the page having put the change back"
            " since"
        )
    if reinstatements := report.superseded.get(REINSTATED):
        said.append(
            f"{counted(reinstatements, 'reinstatement')} not sent, the page having undone the"
            " change again since"
        )
    return said


def _held(report: DeliveryReport) -> list[str]:
    """What waits on purpose: "0 messages sent" read as "nothing owed" while a digest held
    changes, or deliveries given up in earlier runs waited for --retry-now."""
    said = []
    if report.held.for_digest and report.held.digest_due:
        said.append(
            f"{counted(report.held.for_digest, 'change')} held for a digest, the next sent after"
            f" {report.held.digest_due:%Y-%m-%d %H:%M} UTC"
        )
    if report.in_flight and report.in_flight_until:
        said.append(
            f"{_deliveries(report.in_flight)} claimed by a run sending now, or stopped while"
            f" sending (tried again from {report.in_flight_until:%Y-%m-%d %H:%M} UTC)"
        )
    if report.held.for_paused:
        said.append(
            f"{_deliveries(report.held.for_paused)} held for"
            f" {counted(report.held.paused, 'paused subscription')}"
            " (policywatch subscriptions resume NAME sends them)"
        )
    if earlier := report.held.given_up - report.failed:
        them = "it" if earlier == 1 else "them"
        said.append(
            f"{_deliveries(earlier)} given up in earlier runs (--retry-now tries {them} again)"
        )
    return said


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _deliveries(count: int) -> str:
    return counted(count, "delivery", "deliveries")
