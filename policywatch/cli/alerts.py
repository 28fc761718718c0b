"""`notify`: deliver what the subscriptions are owed, and say what was sent and what waits.
`crawl` delivers at its end: it takes the same options (`MaxAttemptsOption`, …), is
interrupted alike (`interruptible_delivery`) and says it alike (`print_delivery`).

Subscription URLs hold tokens and passwords: this module only ever prints them masked.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from notifier import DeliveryReport, deliver_owed
from notifier.delivery import ISSUE_STREAK, LEASE, MAX_ATTEMPTS, SEND_TIMEOUT
from policywatch.cli.common import (
    DbOption,
    JsonOption,
    checked_base_url,
    console,
    deliveries,
    engine,
    err_console,
    print_json,
    settings,
)
from policywatch.wording import counted
from store.models import REINSTATED, WITHDRAWN

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
        said[0] += f" ({deliveries(report.delivered)})"
    if report.retrying:
        said.append(f"{deliveries(report.retrying)} failed and will be retried")
    elif report.waiting and report.next_attempt:
        them = "it" if report.waiting == 1 else "them"
        said.append(
            f"{deliveries(report.waiting)} waiting for a retry, the next at"
            f" {report.next_attempt:%Y-%m-%d %H:%M} UTC (--retry-now sends {them} now)"
        )
    if report.failed:
        said.append(f"{deliveries(report.failed)} given up after every retry")
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
            f"{deliveries(report.in_flight)} claimed by a run sending now, or stopped while"
            f" sending (tried again from {report.in_flight_until:%Y-%m-%d %H:%M} UTC)"
        )
    if report.held.for_paused:
        said.append(
            f"{deliveries(report.held.for_paused)} held for"
            f" {counted(report.held.paused, 'paused subscription')}"
            " (policywatch subscriptions resume NAME sends them)"
        )
    if earlier := report.held.given_up - report.failed:
        them = "it" if earlier == 1 else "them"
        said.append(
            f"{deliveries(earlier)} given up in earlier runs (--retry-now tries {them} again)"
        )
    return said


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
