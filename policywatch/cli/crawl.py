"""`policywatch crawl`: fetch the catalog's documents that are due and record what changed."""

from __future__ import annotations

import json
import signal
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from rich.markup import escape
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from crawlers.declarations import slugify
from crawlers.items import NO_RESULT, CrawlOutcome, CrawlResult
from crawlers.journal import ERROR, WARNING, said_as
from crawlers.schedule import NOT_DUE, Schedule, plan
from notifier import deliver_owed
from notifier.delivery import ISSUE_STREAK, MAX_ATTEMPTS, SEND_TIMEOUT
from policywatch.cli.alerts import (
    IssueStreakOption,
    MaxAttemptsOption,
    SendTimeoutOption,
    interruptible_delivery,
    print_delivery,
)
from policywatch.cli.common import (
    EMPTY_CATALOG,
    EXIT_NOTHING_FETCHED,
    CatalogOption,
    DbOption,
    JsonOption,
    RedisOption,
    RulesOption,
    check_overrides,
    checked_rules,
    connected,
    console,
    engine,
    err_console,
    fail,
    fetch_settings,
    named_catalog,
    print_json,
    progress_bar,
    settings,
    skipped_entries,
    tracked_if_stored,
    warn_catalog_errors,
)
from policywatch.cli.renames import follow_renames, resolved_only
from policywatch.config import where_set
from policywatch.deadlines import dated
from policywatch.wording import counted, did_you_mean
from store.db import public_url
from store.models import utcnow
from store.queries import last_checks, redeclared_changes

if TYPE_CHECKING:
    from redis import Redis
    from scrapy.settings import Settings as ScrapySettings
    from sqlalchemy import Engine

    from crawlers.declarations import Catalog, TrackedDocument
    from store.queries import LastCheck

OnOutcome = Callable[[CrawlOutcome], None]

# Said below a refusal for a Redis the command line did not give (the config file's, or
# POLICYWATCH_REDIS's): a blank --redis or variable counts as unset, so this is the way out.
_HERE = "to crawl in this process instead, add --no-redis"

OnlyOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="KEY-SERVICE-or-TAG",
        help="A document key (fetched now, due or not), a service name or a catalog tag (its "
        "due documents), taken in that order; repeatable, any case; default: every document due.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
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


def _check_only(loaded: Catalog, only: list[str], db: str | None) -> None:
    """An `--only` that names nothing is a typo to point out, with the closest key, service or tag;
    or an entry skipped as broken, which the closest key of another service hid; or a document
    the store tracks but no catalog loaded declares (crawled with `--catalog`, named without)."""
    unknown = loaded.unknown(only)
    if not unknown:
        return
    undeclared = _undeclared(unknown, db)
    problems = []
    if undeclared:
        problems.append(
            f"--only {', '.join(undeclared)}: tracked in the store, but declared in no catalog"
            " loaded: give its declaration with --catalog PATH, or name it in the config file"
            " (catalog = [...])"
        )
    if typos := [name for name in unknown if name not in undeclared]:
        problems.append(f"--only {no_such_document(loaded, typos)}")
    fail("; ".join(problems))


def no_such_document(loaded: Catalog, names: list[str]) -> str:
    """`names`, which no document has as key, service or tag, each with the closest that one
    has; or the entries skipped as broken, which may have declared them."""
    known = {
        name
        for document in loaded.documents
        for name in (document.key, document.service, *document.tags)
    }
    said = ", ".join(f"{_shown(name)}{did_you_mean(name, known)}" for name in names)
    broken = len(skipped_entries(loaded))  # a name of `intervals` pacing nothing skips none
    skipped = (
        f"; or is it declared by one of the {counted(broken, 'entry', 'entries')} skipped"
        " as broken (above)?"
        if broken
        else ""
    )
    return f"{said}: no document has that key, service or tag{skipped}"


def _shown(name: str) -> str:
    """A name as typed, quoted when blank: `--only ''` read `error: --only : no document…`."""
    return name if name.strip() else repr(name)


def _undeclared(names: list[str], db: str | None) -> list[str]:
    """Those of `names` that are a key, service or tag the store tracks."""
    tracked = tracked_if_stored(db)
    if tracked is None:
        return []
    known = {key.lower() for key in tracked.keys}
    known |= {name for service in tracked.services for name in (service.lower(), slugify(service))}
    known |= {tag.lower() for tag in tracked.tags}
    return [name for name in names if name.lower() in known]


def crawl(
    catalog: CatalogOption = None,
    only: OnlyOption = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Fetch every selected document now, even those checked less than their "
            "interval (default 24h) ago.",
        ),
    ] = False,
    db: DbOption = None,
    rules: RulesOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    no_notify: Annotated[
        bool, typer.Option("--no-notify", help="Record only; leave alerts for `notify`.")
    ] = False,
    max_attempts: MaxAttemptsOption = MAX_ATTEMPTS,
    send_timeout: SendTimeoutOption = SEND_TIMEOUT,
    issue_streak: IssueStreakOption = ISSUE_STREAK,
    accept_capture: Annotated[
        bool,
        typer.Option(
            "--accept-capture",
            help="Record the text of the documents named by key with --only even if it looks "
            "like a broken capture "
            "(collapsed, or in another language): for a page that really did shrink.",
        ),
    ] = False,
    redis: RedisOption = None,
    no_redis: Annotated[
        bool,
        typer.Option(
            "--no-redis",
            help="Fetch in this process, even with a Redis set in the config file or "
            "POLICYWATCH_REDIS.",
        ),
    ] = False,
) -> None:
    """Fetch the documents that are due, record new versions, summarise, deliver alerts.

    Exit codes: 0 done or nothing due, 2 bad configuration, 3 nothing fetched.

    Stopped by Ctrl-C or SIGTERM, it records what was fetched and exits 130 or 143.\f

    Due (crawlers/schedule.py): never checked, declaration changed, or last attempt `interval`
    ago. A key named with --only is a request to fetch that document now; a service or tag
    named with --only narrows the selection and keeps the schedule, so cron lines may use it.
    With --redis, the due documents are fetched by `policywatch worker`s (crawlers/queue/).
    """
    if redis and no_redis:
        fail("give --redis URL or --no-redis, not both")
    loaded = loaded_catalog(catalog)
    only = resolved_only(loaded, only or [], db)
    _check_only(loaded, only, db)
    documents = loaded.select(only or [])
    if not documents:
        if not settings().bundled_catalog:
            fail(f"no document to crawl: {EMPTY_CATALOG}")
        fail("no document to crawl: every entry of the catalog is broken")
    named = {document.key for name in only or [] if (document := loaded.get(name))}
    if accept_capture and not named:
        fail("--accept-capture applies to documents named by key: add --only SERVICE/TYPE")
    store = engine(db)  # open and migrate before crawling, so a bad --db fails at once
    follow_renames(store, loaded)  # before the schedule reads the store by key
    config = settings()
    accepted = frozenset(named if accept_capture else ())
    queue_url = None if no_redis else redis or config.redis
    # A crawl run by hand, its Redis set for cron's, goes through the workers too, unless told.
    here = None if redis else _HERE
    if queue_url and (rules or set_):
        why = (
            "" if redis else f" (this crawl queues for them: redis is set in {where_set('redis')})"
        )
        fail(
            f"--rules and --set apply where pages are fetched: give them to the workers{why}",
            hint=here,
        )
    queue = connected(queue_url, redis, hint=here) if queue_url else None
    checks = last_checks(store, [document.key for document in documents])
    if queue is not None:
        fetch = _queued(queue, store, accepted, checks)
    else:
        rule_files, overrides = checked_rules(rules), parse_overrides(set_ or [])

        def fetch(due: list[TrackedDocument], advance: OnOutcome) -> CrawlResult:
            check_overrides(overrides)  # here: a crawl with nothing due loads no Scrapy
            scrapy_settings = fetch_settings(db, config, rule_files, overrides)
            return crawl_here(due, scrapy_settings, advance, accepted)

    schedule = plan(
        documents,
        checks,
        utcnow(),
        forced={document.key for document in documents} if all_ else named,
    )
    if queue is not None and schedule.due:  # nothing due needs no worker
        _check_workers(queue, store, here)
    if schedule.redeclared:
        from store.repository import Repository  # 40 ms of diffengine: not for nothing due

        Repository(store).mark_redeclared(schedule.redeclared)
    result = fetched(schedule.due, fetch, quiet=quiet or as_json)
    if as_json:
        print_json(_json(documents, result, schedule))
    else:
        _summary(result, schedule, store)
    if result.interrupted:
        _say_interrupted(result)
        raise typer.Exit(128 + (result.stopped_by or 0))  # as a shell reports a signal
    if queue is not None and result.unreached:
        _say_unreported(result)
    if not no_notify:
        changed = any(outcome.change_id for outcome in result.outcomes)
        delivery = Delivery(config.base_url, max_attempts, send_timeout, issue_streak)
        _notify(store, delivery, as_json=as_json, changed=changed)
    if result.nothing_fetched:
        if result.offline:
            with said_as(ERROR):
                err_console.print(
                    "[bold red]Nothing could be fetched:[/] no host could be reached. "
                    "Is this machine offline? Stored history is untouched."
                )
        elif not (queue is not None and result.unreached):  # else said just above
            _say_all_failed(result)
        raise typer.Exit(EXIT_NOTHING_FETCHED)


def loaded_catalog(catalog: list[Path] | None) -> Catalog:
    """The catalog a crawl fetches from: bundled and the user's, its broken entries said (and
    skipped); a path of the user's that does not exist is an error, not an empty catalog."""
    loaded = named_catalog(catalog)
    warn_catalog_errors(loaded)
    return loaded


def crawl_here(
    documents: list[TrackedDocument],
    scrapy_settings: ScrapySettings,
    advance: OnOutcome,
    accepted: frozenset[str] = frozenset(),
) -> CrawlResult:
    """Crawl `documents` in this process; a first Ctrl-C says how long the pages being fetched
    may still take, and a crawl Scrapy cannot run at all is an error in one line."""
    from crawlers.runner import CrawlAborted, run_crawl  # Scrapy: only a crawl that fetches

    wait = scrapy_settings.getint("DOWNLOAD_TIMEOUT")
    try:
        return run_crawl(
            documents,
            scrapy_settings,
            advance,
            accept_capture=sorted(accepted),
            on_stop=lambda signum: err_console.print(
                f"Stopping: waiting for the pages being fetched (at most {wait} s);"
                f" {_again(signum)} to stop at once."
            ),
        )
    except CrawlAborted as error:
        fail(str(error))


def fetched(
    documents: list[TrackedDocument],
    fetch: Callable[[list[TrackedDocument], OnOutcome], CrawlResult],
    *,
    quiet: bool,
) -> CrawlResult:
    """Crawl `documents` behind a progress bar, which names the document last done: several are
    fetched at once, and one named bare (`crawling x/terms`) read as the one being fetched.
    Nothing due loads no Scrapy at all: a cron line run every half hour mostly finds nothing
    due, and loading Scrapy and Twisted took a third of its time (0.85 -> 0.57 s)."""
    if not documents:
        return CrawlResult()
    with progress_bar(disable=quiet) as progress:
        task = progress.add_task("crawling", total=len(documents))

        def advance(outcome: CrawlOutcome) -> None:
            progress.update(task, advance=1, description=f"crawling (last done: {outcome.key})")

        return fetch(documents, advance)


def _check_workers(client: Redis, store: Engine, hint: str | None) -> None:
    """Before the progress bar: a worker of this store must be there to fetch."""
    from crawlers.queue.connection import QueueError  # redis: crawls over workers only
    from crawlers.queue.coordinator import check_workers

    try:
        check_workers(client, public_url(store.url))
    except QueueError as error:
        fail(str(error), hint=hint)


def _queued(
    client: Redis, store: Engine, accepted: frozenset[str], planned: dict[str, LastCheck]
) -> Callable[[list[TrackedDocument], OnOutcome], CrawlResult]:
    """Fetching by the workers: the due documents queued, their outcomes collected. Those
    another crawl of the store holds are left to it; so are those checked since `planned`, the
    last checks this crawl planned from, which another crawl fetched and released meanwhile."""
    from crawlers.queue.connection import QueueError  # redis: crawls over workers only
    from crawlers.queue.coordinator import dispatch

    def fetched_meanwhile(keys: list[str]) -> list[str]:
        now = last_checks(store, keys)
        return [key for key in keys if _checked_at(now, key) != _checked_at(planned, key)]

    def fetch(due: list[TrackedDocument], advance: OnOutcome) -> CrawlResult:
        try:
            return dispatch(
                client,
                due,
                public_url(store.url),
                fetched_meanwhile=fetched_meanwhile,
                accept_capture=accepted,
                on_outcome=advance,
            )
        except QueueError as error:  # the workers stopped since the check
            fail(str(error))

    return fetch


def _checked_at(checks: dict[str, LastCheck], key: str) -> datetime | None:
    check = checks.get(key)
    return check.at if check else None


def _json(
    documents: list[TrackedDocument], result: CrawlResult, schedule: Schedule
) -> list[dict[str, Any]]:
    """One object per selected document, in catalog order; `not-due` ones say when they are,
    `elsewhere` ones which other crawl of the store has them."""
    rows = {outcome.key: vars(outcome) for outcome in (*result.outcomes, *result.elsewhere)}
    for item in schedule.waiting:
        waiting = CrawlOutcome(item.document.key, NOT_DUE, item.due.isoformat(timespec="seconds"))
        rows[item.document.key] = vars(waiting)
    return [rows[document.key] for document in documents]


def _waiting(schedule: Schedule) -> str:
    """How many documents wait and when the first falls due, e.g. for a cron user's log."""
    count = len(schedule.waiting)
    one = count == 1
    nouns = "document was checked within its" if one else "documents were checked within their"
    when = schedule.next_due
    next_one = f"; the next is due {when:%Y-%m-%d %H:%M} UTC" if when else ""
    return f"{count} {nouns} interval{next_one} (--all fetches {'it' if one else 'them'} now)"


def _again(signum: int) -> str:
    """How to stop at once, in the terms of the signal that asked to stop: a SIGTERM comes from
    a service manager or `kill`, where there is no Ctrl-C to press."""
    if signum == signal.SIGINT:
        return "press Ctrl-C again"
    return f"send {signal.Signals(signum).name} again"


def _say_all_failed(result: CrawlResult) -> None:
    """Exit code 3 said on stderr too, with the kinds of failure: cron discards the summary on
    stdout (`run -q >/dev/null`), and a run whose every fetch failed (a bot wall on every page, a
    proxy refusing all) mailed nothing, as cron does not read exit codes."""
    kinds = Counter(item.detail.partition(":")[0] for item in result.failed)
    how = ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
    with said_as(ERROR):
        err_console.print(
            f"[bold red]Nothing could be fetched:[/] every document tried failed ({escape(how)});"
            " policywatch documents shows each open fetch issue.",
            highlight=False,
        )


def _say_unreported(result: CrawlResult) -> None:
    """Why a crawl stopped waiting for its workers (all stopped, Redis lost, …), and why the
    workers could not record the documents they reported `no result` (their store failed), on
    stderr: a cron job discards stdout, and its summary's failed rows said it to nobody. A
    worker's store failure was said as the crawl's giving up on its workers, which it had not:
    `Stopped waiting for the workers: the store … failed: …; 4 of 8 documents were not
    reported`, each of them reported."""
    mine = NO_RESULT + (result.gave_up or "")
    waited = [item for item in result.unreached if result.gave_up and item.detail == mine]
    unrecorded = [item for item in result.unreached if item not in waited]
    total = len(result.outcomes)
    with said_as(WARNING):
        if waited:
            err_console.print(
                f"[bold yellow]Stopped waiting for the workers:[/] {escape(result.gave_up or '')}."
                f" {len(waited)} of {total} documents were not reported: what the workers"
                " recorded is in the store, alerted by the next crawl (or policywatch notify);"
                " the rest is due again.",
                highlight=False,
            )
        if unrecorded:
            why = "; ".join(
                dict.fromkeys(item.detail.removeprefix(NO_RESULT) for item in unrecorded)
            )
            err_console.print(
                f"[bold yellow]The workers could not record {len(unrecorded)} of {total}"
                f" documents:[/] {escape(why)}. They are due again.",
                highlight=False,
            )


def _say_interrupted(result: CrawlResult) -> None:
    """What an interrupted crawl did and did not do: the rest is still due, nothing is lost."""
    unreached = len(result.unreached)
    are, them = ("is", "it") if unreached == 1 else ("are", "them")
    err_console.print(
        f"[bold yellow]Interrupted:[/] {len(result.outcomes) - unreached} of"
        f" {len(result.outcomes)} documents checked; the {unreached} not reached {are} still due"
        f" and the next crawl fetches {them}. Alerts owed wait for it (or for policywatch"
        " notify).",
        highlight=False,
    )


class Delivery(NamedTuple):
    """How the crawl's own alerts are sent: as `notify` sends them, the same settings read."""

    base_url: str | None
    max_attempts: int
    send_timeout: float
    issue_streak: int


def _notify(store: Engine, delivery: Delivery, *, as_json: bool, changed: bool) -> None:
    """Deliver what this crawl made owed, and retry earlier alerts. What went wrong is said on
    stderr, which cron mails; alerts all sent are said with the summary on stdout (not at all
    under --json, whose stdout is data): on stderr, they made cron mail every alert twice. A
    crawl that found changes says what holds their alerts back (a digest, a pause), where it
    said nothing, as if no subscription had heard of them."""
    with interruptible_delivery():
        report = deliver_owed(store, **delivery._asdict())
    held = changed and (report.held.for_digest or report.held.for_paused)
    if report.retrying or report.failed or report.errors:
        with said_as(WARNING):
            print_delivery(report, err_console)
    elif (report.messages or report.superseded or held) and not as_json:
        print_delivery(report, console)


def _elsewhere(outcomes: list[CrawlOutcome]) -> None:
    """What the summary says of the documents left to other crawls: those fetched for a crawl
    killed outright (its claims taken over) are reported by no summary, and were said to be."""
    # redis: crawls over workers only
    from crawlers.queue.coordinator import FETCHED_FOR_A_STOPPED_CRAWL

    orphans = sum(item.detail.startswith(FETCHED_FOR_A_STOPPED_CRAWL) for item in outcomes)
    if len(outcomes) > orphans:
        many = counted(len(outcomes) - orphans, "document")
        console.print(
            f"Elsewhere: another crawl of this store is fetching {many}, or just did;"
            " its summary reports them.",
            highlight=False,
        )
    if orphans:
        console.print(
            f"Elsewhere: {counted(orphans, 'document')} fetched since this crawl planned, for a"
            " crawl that stopped (killed outright?) before reporting them: policywatch history"
            " and documents show what was found.",
            highlight=False,
        )


_UNBOUNDED = 100_000  # columns


def _fits(table: Table) -> bool:
    """Whether the terminal is wide enough for each of `table`'s columns, its words whole: in a
    narrower one, rich cut them to a letter and an ellipsis (below 55 columns the crawl's
    counts read `che… unc… cha…`) or left them out (a change's summary beside a long key)."""
    unbounded = console.options.update_width(_UNBOUNDED)  # measured within the width, it fits
    return Measurement.get(console, unbounded, table).minimum <= console.width


def _print_table(table: Table, stacked: list[tuple[Text, Text]]) -> None:
    """`table`, or where it does not fit, its rows one under another: each row's heading (its
    document's key, whole: the terminal wraps it, and it is still copied as one line), then
    the rest, indented."""
    if _fits(table):
        console.print(table)
        return
    console.print(Text(str(table.title), style="table.title"))
    for heading, rest in stacked:
        console.print(heading, soft_wrap=True)
        console.print(Padding(rest, (0, 0, 0, 4)))


def _summary(result: CrawlResult, schedule: Schedule, store: Engine) -> None:
    if not result.outcomes and not result.elsewhere:
        console.print(f"Nothing is due: {_waiting(schedule)}.", highlight=False)
        return
    # Interrupted, the documents not reached were not checked, and did not fail: they are told
    # apart (and still due), not listed as failures.
    unreached = result.unreached if result.interrupted else []
    failed = [item for item in result.failed if item not in unreached]
    labels = ("checked", "unchanged", "changed", "new", "failed", "not due")
    values = (
        str(len(result.outcomes) - len(unreached)),
        str(result.count("unchanged") + result.count("not-modified")),
        str(result.count("changed")),
        str(result.count("first")),
        str(len(failed)),
        str(len(schedule.waiting) + len(result.elsewhere)),
    )
    counts = Table(title="Crawl summary", show_edge=False)
    for label in labels:
        counts.add_column(label, justify="right")
    counts.add_row(*values)
    if not _fits(counts):  # one count a line
        counts = Table(title="Crawl summary", show_edge=False, show_header=False)
        counts.add_column()
        counts.add_column(justify="right")
        for row in zip(labels, values, strict=True):
            counts.add_row(*row)
    console.print(counts)
    if schedule.waiting:
        console.print(f"Not due: {_waiting(schedule)}.", highlight=False)
    if result.elsewhere:
        _elsewhere(result.elsewhere)
    changed = [item for item in result.outcomes if item.outcome == "changed"]
    if changed:
        redeclared = redeclared_changes(
            store, [item.change_id for item in changed if item.change_id]
        )
        table = Table(title="Changes", show_edge=False)
        table.add_column("change", justify="right", no_wrap=True)
        # Keys whole (the summary wraps instead): `show`, `--only` and the web's addresses take
        # them, and a key folded at 80 columns (`…-term` / `s`) cannot be copied.
        table.add_column("document", no_wrap=True)
        table.add_column("summary", ratio=1, overflow="fold")
        rows = []
        for item in changed:
            effective = date.fromisoformat(item.effective_date) if item.effective_date else None
            document = Text(item.key)
            if item.change_id in redeclared:  # the new selectors may be what changed it
                document.append("\n(declaration changed)", style="dim")
            summary = Text(dated(item.detail, effective))
            table.add_row(str(item.change_id), document, summary)
            rows.append((Text(f"{item.change_id}  ").append_text(document), summary))
        _print_table(table, rows)
    if failed and not result.offline:  # offline, one sentence says it better than N rows
        table = Table(title="Failed fetches", show_edge=False)
        table.add_column("document", no_wrap=True)
        table.add_column("reason", overflow="fold")
        for item in failed:
            table.add_row(escape(item.key), escape(item.detail))
        _print_table(table, [(Text(item.key), Text(item.detail)) for item in failed])
