"""Deliver what is owed: queue it, claim it, send it through Apprise, record the outcome.

Guarantee: every owed (subscription, change) pair is sent until it succeeds, and at most once
to each destination under normal operation. A delivery is claimed (`sending`, committed) before
its send; each destination of the subscription (a mail's recipient, one URL of several) that
takes the message is recorded at once, and the delivery is marked `sent` once all have it. A
run that crashes or is killed does not resend what a destination has on record; a crash exactly
between a destination taking the message and that commit leaves it unrecorded, retried once the
lease (`LEASE`) has expired, so in that one case it may arrive twice there; a send still running
renews its lease (`_leased`). Failures are retried with exponential backoff and marked `failed`
after `max_attempts`, never dropped; a retry goes to each destination with the deliveries it
lacks only, a retried alert joining a new one in a digest included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from notifier.channel import Channel, ChannelError, Outcome
from notifier.messages import (
    burst_message,
    change_message,
    digest_message,
    fetch_event_message,
    fetch_events_message,
    found_earlier,
    reinstated_message,
    reminder_message,
    withdrawn_message,
)
from notifier.payload import owed_data
from notifier.render import (
    RENDERERS,
    TITLE_IN_BODY,
    Message,
    fit,
    render,
    short_title,
    title_in_body,
)
from store.models import REINSTATED, REMINDER, WITHDRAWN, utcnow
from store.outbox.claims import claim, due, revive
from store.outbox.deliveries import Owed
from store.outbox.outcomes import mark_failed, mark_sent, record_delivered, renew
from store.outbox.owed import period_start, queue_owed
from store.outbox.waiting import Held, awaiting_retry, held, in_flight
from store.subscriptions import SubscriptionRow

MAX_ATTEMPTS = 10
ISSUE_STREAK = 3
LEASE = timedelta(minutes=30)
SEND_TIMEOUT = 60.0  # seconds one message may take to be sent, to all its destinations
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
# Change alerts owed at once to one subscription past which they travel in one message.
BURST = 10


def backoff(attempts: int) -> timedelta:
    """1 min, 2, 4, … after each failed attempt, at most 6 hours."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


@dataclass
class DeliveryReport:
    """What one run did: messages sent, deliveries sent, retrying, given up, superseded, and
    why."""

    messages: int = 0
    delivered: int = 0
    retrying: int = 0  # failed in this run, to be retried
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    waiting: int = 0  # waiting for a retry after this run (those retrying included), and when
    next_attempt: datetime | None = None
    held: Held = field(default_factory=Held)  # digests' changes, deliveries given up
    in_flight: int = 0  # claimed by a run sending them, or stopped while it did, and until when
    in_flight_until: datetime | None = None
    # Withdrawals and reinstatements the page overtook before they went, by kind: never sent.
    superseded: dict[str, int] = field(default_factory=dict)


def send(
    channel: Channel,
    message: Message,
    *,
    to: Collection[str] | None = None,
    time_limit: float = SEND_TIMEOUT,
    on_delivered: Callable[[str], None] = lambda name: None,
) -> Outcome:
    """`message` rendered for the channel's format and length limits, then sent to the
    destinations `to` (all when None), each that takes it told to `on_delivered`."""
    body_room = channel.body_maxlen
    if channel.title_maxlen:
        title = short_title(message, channel.title_maxlen)
        if channel.title_marked_up:  # posted with the body, in its markup (Discord)
            title = title_in_body(title, channel.dialect)
        if channel.title_shares_body_limit:  # sent as `title\r\nbody` (Discord)
            body_room -= len(title) + channel.title_overhead
    else:  # no title field: Apprise puts the title into the body, as it is, in its markup
        title = title_in_body(short_title(message, _title_room(channel, message)), channel.dialect)
        body_room -= len(title) + TITLE_IN_BODY[channel.dialect]
    body = fit(message, channel.dialect, body_room)
    while channel.body_maxbytes and len(body.encode()) > channel.body_maxbytes:
        body_room -= len(body.encode()) - channel.body_maxbytes  # `·`, `—`, `…` weigh 2 or 3
        body = fit(message, channel.dialect, body_room)
    return channel.send(
        title,
        body,
        message.notify_type,
        message.data,
        to=to,
        time_limit=time_limit,
        on_delivered=on_delivered,
    )


def _title_room(channel: Channel, message: Message) -> int:
    """What a title put into the body may take: the body's room less the last link, the change
    on the review page (`fit` keeps it). An SMS's 160 characters given a longer title kept no
    body at all, and Apprise refused to send it."""
    links = [line for line in message.foot if line.style == "link"]
    kept = len(render(links[-1:], channel.dialect)) + len(RENDERERS[channel.dialect][1])
    return channel.body_maxlen - TITLE_IN_BODY[channel.dialect] - kept


def _group_key(owed: Owed) -> Hashable:
    """A digest's changes owed at once travel together, and so do the fetch problems (or their
    ends): a machine offline for a few days, or a site down, opens one per document, and a
    subscriber wants one alert listing them, not one alert per document. Only the periods that
    are over are owed, usually one; several after a pause or days without a run, and a daily
    digest resumed after three weeks is one message, not 21."""
    sub = owed.subscription
    if owed.change is None:
        return (sub.id, owed.kind)
    if owed.kind in (REMINDER, WITHDRAWN, REINSTATED):  # digest or not: a week's would be late
        return owed.delivery_id
    if sub.digest:
        return (sub.id, "digest")
    return owed.delivery_id


def _grouped(owed: list[Owed]) -> list[list[Owed]]:
    """`owed` in messages (`_group_key`), a subscription's change alerts past BURST in one: a
    crawl finding 500 pages changed (a site redesigned, a catalog fixed) sent 500 alerts, which
    flooded the channel, and its service's rate limit refused most of them."""
    groups: dict[Hashable, list[Owed]] = {}
    for item in owed:
        groups.setdefault(_group_key(item), []).append(item)
    alerts: dict[int | None, list[Hashable]] = {}
    for key, [first, *_] in groups.items():
        if first.kind == "change" and first.change is not None and not first.subscription.digest:
            alerts.setdefault(first.subscription.id, []).append(key)
    for sub_id, keys in alerts.items():
        if len(keys) > BURST:
            groups[(sub_id, "burst")] = [item for key in keys for item in groups.pop(key)]
    return list(groups.values())


def _compose(items: list[Owed], base_url: str | None, today: datetime) -> Message:
    return replace(_words(items, base_url, today), data=owed_data(items, base_url))


def _words(items: list[Owed], base_url: str | None, today: datetime) -> Message:
    """What the alert says to people: one change, a digest, a reminder, a withdrawal, or fetch
    problems."""
    first = items[0]
    sub = first.subscription
    if first.change is None:
        if len(items) == 1:
            return fetch_event_message(first.kind, first.event)
        return fetch_events_message(first.kind, [item.event for item in items])
    if first.kind == REMINDER:
        return reminder_message(first.change, base_url=base_url, today=today.date())
    if first.kind == WITHDRAWN:
        return withdrawn_message(first.change, first.event, base_url=base_url, today=today.date())
    if first.kind == REINSTATED:
        return reinstated_message(first.change, first.event, base_url=base_url, today=today.date())
    if sub.digest:
        changes = [item.change for item in items if item.change]
        periods = sorted({period_start(change.detected_at, sub.digest) for change in changes})
        return digest_message(
            changes,
            digest=sub.digest,
            start=periods[0],
            last=periods[-1],
            base_url=base_url,
            today=today.date(),
        )
    if len(items) > 1:
        changes = [item.change for item in items if item.change]
        return burst_message(changes, base_url=base_url, today=today.date())
    alert = change_message(first.change, base_url=base_url, today=today.date())
    return found_earlier(alert, first.change, today)


def deliver_owed(
    engine: Engine,
    *,
    base_url: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    retry_now: bool = False,
    issue_streak: int = ISSUE_STREAK,
    send_timeout: float = SEND_TIMEOUT,
    now: datetime | None = None,
) -> DeliveryReport:
    """Queue what is owed and send what is due; `retry_now` skips backoff and revives failures;
    a message not sent within `send_timeout` seconds fails, to be retried.

    `now` fixes the clock (for tests): deliveries due later than `now` wait.
    """
    clock: Callable[[], datetime] = (lambda: now) if now else utcnow
    started = clock()
    queue_owed(engine, started, issue_streak=issue_streak)
    report = DeliveryReport()
    channels: dict[str, Channel | ChannelError] = {}
    reached: set[int] = set()  # the subscriptions a message went through to

    def send_due() -> None:
        for group in _grouped(due(engine, clock(), lease=LEASE, retry_now=retry_now)):
            # Claimed at the time of sending: the lease runs from the send, however long the run.
            claimed = claim(engine, group, clock(), lease=LEASE, retry_now=retry_now)
            for kind in claimed.superseded:
                report.superseded[kind] = report.superseded.get(kind, 0) + 1
            if not claimed.owed:
                continue  # another run took them
            sub = claimed.owed[0].subscription  # its URL as it stands now
            if sub.url not in channels:
                channels[sub.url] = _channel(sub)
            with _leased(engine, sorted(claimed.ids), clock):
                sent = _send_group(
                    engine, channels[sub.url], claimed.owed, base_url, clock, send_timeout
                )
            _record(engine, report, sub, sent, clock(), max_attempts)
            if sent.messages:
                reached.add(sub.id)

    send_due()
    # A channel working again is sent what it was given up on, in this run (`claims._probes`).
    if revive(engine, reached, clock(), tried_before=started):
        send_due()
    report.waiting, report.next_attempt = awaiting_retry(engine)
    report.held = held(engine)
    report.in_flight, report.in_flight_until = in_flight(engine, LEASE)
    return report


@dataclass
class _Sent:
    """What the messages of one group did: by delivery, the destinations that have it now, of
    the channel's `destinations`; how many messages every destination they went to took; and
    why the others failed."""

    has: dict[int, set[str]]
    destinations: list[str]
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def complete(self, delivery_id: int) -> bool:
        return bool(self.destinations) and set(self.destinations) <= self.has[delivery_id]

    @property
    def error(self) -> str:
        """The failures, and how many destinations have every delivery of the group."""
        said = "; ".join(self.errors) or "unknown error"
        having = [d for d in self.destinations if all(d in has for has in self.has.values())]
        if not having or len(self.destinations) < 2:
            return said
        return (
            f"{said} ({len(having)} of {len(self.destinations)} destinations have it, and"
            " are not sent it again)"
        )


def _send_group(
    engine: Engine,
    channel: Channel | ChannelError,
    items: list[Owed],
    base_url: str | None,
    clock: Callable[[], datetime],
    time_limit: float,
) -> _Sent:
    """Send each destination of the channel the deliveries of `items` it lacks (`_parts`), in
    one message for all those that lack the same ones; each taking one is recorded at once."""
    if isinstance(channel, ChannelError):
        has = {item.delivery_id: set(item.delivered_to) for item in items}
        return _Sent(has, [], errors=[str(channel)])
    has = {item.delivery_id: channel.known_as(item.delivered_to) for item in items}
    sent = _Sent(has, channel.destinations)
    for part, to in _parts(items, has, channel.destinations):
        ids = [item.delivery_id for item in part]

        def took(name: str, ids: list[int] = ids) -> None:
            record_delivered(engine, ids, name)
            for id_ in ids:
                has[id_].add(name)

        message = _compose(part, base_url, clock())
        outcome = send(channel, message, to=to, time_limit=time_limit, on_delivered=took)
        sent.messages += outcome.ok
        if outcome.error:
            sent.errors.append(outcome.error)
    return sent


def _parts(
    items: list[Owed], has: Mapping[int, set[str]], destinations: list[str]
) -> list[tuple[list[Owed], list[str]]]:
    """The messages to send for `items`: for each set of deliveries some destinations lack (an
    earlier send having reached the others), those deliveries and those destinations. A retried
    alert joining a new one (a digest's next change) went to every destination, those that had
    it included."""
    lacking: dict[tuple[int, ...], list[str]] = {}
    for name in destinations:
        ids = tuple(item.delivery_id for item in items if name not in has[item.delivery_id])
        if ids:
            lacking.setdefault(ids, []).append(name)
    return [
        ([item for item in items if item.delivery_id in ids], to) for ids, to in lacking.items()
    ]


@contextmanager
def _leased(engine: Engine, ids: list[int], clock: Callable[[], datetime]) -> Iterator[None]:
    """Renew the lease of `ids` every third of it while they are sent: Apprise bounds each
    read of an answer (4 s), not the whole of it, and an endpoint dribbling its answer a byte
    at a time outlasted the lease; another run took the delivery for a crashed one's and sent
    it again. A run that dies stops renewing, and the lease runs out as before."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(LEASE.total_seconds() / 3):
            try:
                renew(engine, ids, clock())
            except SQLAlchemyError:  # the store busy or away: the next renewal tries again
                continue

    renewer = threading.Thread(target=keep, name="policywatch-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()


def _channel(sub: SubscriptionRow) -> Channel | ChannelError:
    try:
        return Channel(sub.url)
    except ChannelError as error:
        return error


def _record(
    engine: Engine,
    report: DeliveryReport,
    sub: SubscriptionRow,
    sent: _Sent,
    done: datetime,
    max_attempts: int,
) -> None:
    """Mark sent the deliveries every destination has, and failed the others."""
    complete = [id_ for id_ in sorted(sent.has) if sent.complete(id_)]
    missing = [id_ for id_ in sorted(sent.has) if not sent.complete(id_)]
    report.messages += sent.messages
    if complete:
        mark_sent(engine, complete, done)
        report.delivered += len(complete)
    if not missing:
        return
    error = sent.error
    given_up = mark_failed(
        engine,
        missing,
        done,
        error,
        max_attempts=max_attempts,
        backoff=backoff,
        probe_every=BACKOFF_CAP,
    )
    report.failed += given_up
    report.retrying += len(missing) - given_up
    report.errors.append(f"{sub.name}: {error}")
