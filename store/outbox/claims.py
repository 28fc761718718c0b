"""Which deliveries may be sent now (`due`), and taking them for a send (`claim`).

A claim marks rows `sending` in a committed transaction of its own just before the send, so of
two concurrent runs only one sends a row; one left `sending` by a crash is claimable again only
after a lease. A follow-up the page has overtaken since it was owed is settled unsent instead.
A channel whose deliveries were given up is probed with the oldest of them, and once a message
reaches it, the rest are due again (`revive`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import ColumnElement, Engine, and_, exists, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from store.db import UNSYNCHRONIZED, writer
from store.models import (
    FAILED,
    FETCH_ISSUE,
    FOLLOW_UPS,
    PENDING,
    REINSTATED,
    REMINDER,
    SENDING,
    SUPERSEDED,
    WITHDRAWN,
    Change,
    Delivery,
    Document,
    Subscription,
)
from store.outbox.deliveries import Owed, change_about
from store.outbox.fetch_events import ended
from store.queries import ChangeRow, change_row, reverts_in
from store.subscriptions import subscription_row


def _claimable(now: datetime, lease: timedelta, retry_now: bool) -> ColumnElement[bool]:
    """Pending and due, or abandoned mid-send past the lease, or given up and due to probe its
    channel (`_probes`); `retry_now` also takes deliveries waiting out a backoff and failed
    ones (never a digest whose period is still open)."""
    due_now = col(Delivery.next_attempt_at) <= now
    if retry_now:
        due_now = or_(due_now, col(Delivery.attempts) > 0)
    waiting = and_(col(Delivery.status) == PENDING, due_now)
    abandoned = and_(col(Delivery.status) == SENDING, col(Delivery.claimed_at) < now - lease)
    probe = and_(col(Delivery.status) == FAILED, col(Delivery.next_attempt_at) <= now)
    statuses = [waiting, abandoned, probe]
    if retry_now:
        statuses.append(col(Delivery.status) == FAILED)
    return or_(*statuses)


def _revivable(delivery: type[Delivery]) -> ColumnElement[bool]:
    """Whether `delivery` (or an alias of it) is given up and worth sending still: not a fetch
    problem whose end is owed already (its alert, arriving after the one saying the page is
    fetched again, would say it fails)."""
    return and_(
        col(delivery.status) == FAILED,
        or_(~col(delivery.topic).startswith(FETCH_ISSUE + ":"), ~ended(delivery)),
    )


@cache
def _probes() -> ColumnElement[bool]:
    """Whether the delivery at hand, given up, is its subscription's oldest worth sending
    (`_revivable`): the one sent, alone, to see whether a channel that failed for so long its
    deliveries were given up is back, every `mark_failed`'s `probe_every`; `revive` sends the
    rest once it goes through. A channel down for a day lost its alerts, a critical change's
    among them, unless someone ran --retry-now."""
    given_up = aliased(Delivery)
    oldest = select(func.min(given_up.id)).where(_revivable(given_up))
    return col(Delivery.id).in_(oldest.group_by(col(given_up.subscription_id)))


def revive(
    engine: Engine, subscription_ids: Collection[int], now: datetime, *, tried_before: datetime
) -> int:
    """The deliveries given up (`_revivable`) of subscriptions a message has just reached, due
    again now: their channel works again. Not those tried since `tried_before` (the run's
    start), given up again in this run: one the service refuses whatever the channel's state
    was sent twice a run. Their attempts are kept: one failing again is given up again at
    once. Returns how many."""
    if not subscription_ids:
        return 0
    with Session(writer(engine)) as session, session.begin():
        result = session.execute(
            update(Delivery)
            .where(
                col(Delivery.subscription_id).in_(subscription_ids),
                _revivable(Delivery),
                col(Delivery.claimed_at) < tried_before,
            )
            .values(status=PENDING, next_attempt_at=now),
            execution_options=UNSYNCHRONIZED,
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def due(engine: Engine, now: datetime, *, lease: timedelta, retry_now: bool = False) -> list[Owed]:
    """The deliveries that may be attempted now, of active subscriptions, oldest first."""
    query = (
        select(Delivery, Subscription, Change, Document)
        .join(Subscription, col(Delivery.subscription_id) == Subscription.id)
        .join(Document, col(Delivery.document_id) == Document.id)
        .outerjoin(Change, col(Delivery.change_id) == Change.id)
        .where(_claimable(now, lease, retry_now), col(Subscription.active))
        .order_by(col(Delivery.id))
    )
    if not retry_now:
        query = query.where(or_(col(Delivery.status) != FAILED, _probes()))
    with Session(engine) as session:
        rows = session.exec(query).all()
        recalled = _recalled_changes(session, [delivery for delivery, *_ in rows])
        return [
            Owed(
                delivery_id=delivery.id,  # type: ignore[arg-type]
                subscription=subscription_row(sub),
                topic=delivery.topic,
                change=change_row(change, document) if change else recalled.get(delivery.id or 0),
                event=dict(delivery.event or {}),
                delivered_to=frozenset(delivery.delivered_to),
            )
            for delivery, sub, change, document in rows
        ]


def _recalled_changes(session: Session, deliveries: Sequence[Delivery]) -> dict[int, ChangeRow]:
    """The change each reminder or withdrawal among `deliveries` is about, by delivery id. They
    name their change in their event, not in `change_id`: that column is unique per
    subscription, for the alert of the change itself."""
    about = {
        delivery.id: change_about(delivery)
        for delivery in deliveries
        if delivery.id is not None
        and delivery.topic.split(":", 1)[0] in (REMINDER, WITHDRAWN, REINSTATED)
    }
    if not about:
        return {}
    found = session.exec(
        select(Change, Document)
        .join(Document, col(Change.document_id) == Document.id)
        .where(col(Change.id).in_(set(about.values())))
    ).all()
    rows = {change.id: change_row(change, document) for change, document in found}
    return {delivery: rows[change] for delivery, change in about.items() if change in rows}


@dataclass(frozen=True)
class Claimed:
    """What `claim` did: the deliveries marked `sending`, to send now, as they stand at the
    claim (`_as_claimed`), and the kinds of the withdrawals and reinstatements it settled
    `superseded` instead."""

    owed: list[Owed] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [item.delivery_id for item in self.owed]


def claim(
    engine: Engine,
    owed: Sequence[Owed],
    now: datetime,
    *,
    lease: timedelta,
    retry_now: bool = False,
) -> Claimed:
    """Mark the still-claimable rows among `owed` `sending`, committed.

    Each row is claimed by a conditional update, so of two concurrent runs only one wins it, and
    none while its subscription is paused (`_still_active`). A withdrawal or reinstatement is
    claimed only if its page still reads as it says, asked in the same transaction under the
    page's lock, which a crawl holds while it records a new version: no crawl commits between
    the question and the claim. One the page has overtaken since it was owed is settled instead
    (`_supersede`); an alert of a change is claimed as is.
    """
    claimed: list[Owed] = []
    superseded: list[str] = []
    with Session(writer(engine)) as session, session.begin():
        overtaken = _overtaken(session, [item for item in owed if item.kind in FOLLOW_UPS])
        for item in owed:
            if item.delivery_id in overtaken:
                if _supersede(session, item, now, lease, retry_now):
                    superseded.append(item.kind)
                continue
            result = session.execute(
                update(Delivery)
                .where(
                    col(Delivery.id) == item.delivery_id,
                    _claimable(now, lease, retry_now),
                    _still_active(),
                )
                .values(status=SENDING, claimed_at=now, attempts=col(Delivery.attempts) + 1)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                claimed.append(item)
        return Claimed(_as_claimed(session, claimed), superseded)


def _as_claimed(session: Session, owed: list[Owed]) -> list[Owed]:
    """`owed` with the destinations that have each and its subscription's URL read again at the
    claim, not taken from `due`: a run listing a delivery, then sending other messages while an
    overlapping run sent it to some of its destinations, sent it there again; and one whose
    subscription's URL was edited meanwhile sent it to the URL the user had just replaced."""
    if not owed:
        return []
    current = {
        id_: (delivered_to, url)
        for id_, delivered_to, url in session.execute(
            sa_select(col(Delivery.id), col(Delivery.delivered_to), col(Subscription.url))
            .join(Subscription, col(Delivery.subscription_id) == Subscription.id)
            .where(col(Delivery.id).in_([item.delivery_id for item in owed]))
        )
    }
    return [
        replace(
            item,
            delivered_to=frozenset(current[item.delivery_id][0]),
            subscription=replace(item.subscription, url=current[item.delivery_id][1]),
        )
        for item in owed
    ]


@cache
def _still_active() -> ColumnElement[bool]:
    """Asked again at the claim, not taken from `due`: a subscription paused while a run sends
    other groups holds what that run has not claimed yet."""
    return exists().where(
        col(Subscription.id) == col(Delivery.subscription_id), col(Subscription.active)
    )


def _overtaken(session: Session, follow_ups: Sequence[Owed]) -> set[int]:
    """Of `follow_ups`, the withdrawals whose change no longer reads as undone and the
    reinstatements whose change reads as undone again: sent, they would tell of a state the
    page has left ("no longer stands" of a clause that stands, then "[REINSTATED]"), as one
    that waited out a channel's backoff would. Their pages are locked first (`FOR SHARE`; on
    SQLite the writer's transaction holds the database) so that the answer holds until the
    claim commits."""
    if not follow_ups:
        return set()
    keys = sorted({item.change.key for item in follow_ups if item.change})
    session.execute(
        sa_select(col(Document.id))
        .where(col(Document.key).in_(keys))
        .order_by(col(Document.id))
        .with_for_update(read=True)
    )
    undone = reverts_in(session, {change_about(item) for item in follow_ups})
    return {
        item.delivery_id
        for item in follow_ups
        if (item.kind == WITHDRAWN) != (change_about(item) in undone)
    }


def _supersede(
    session: Session, follow_up: Owed, now: datetime, lease: timedelta, retry_now: bool
) -> bool:
    """Settle `follow_up` unsent, if still claimable: kept as `superseded`, neither sent nor
    retried (a withdrawal never sent owes no reinstatement). Its topic is given up (suffixed
    with its id), so that when the page flips back again the follow-up is owed anew: no one was
    told this one."""
    settled = session.execute(
        update(Delivery)
        .where(col(Delivery.id) == follow_up.delivery_id, _claimable(now, lease, retry_now))
        .values(
            status=SUPERSEDED,
            topic=f"{follow_up.topic}:{SUPERSEDED}:{follow_up.delivery_id}",
            event={**follow_up.event, "superseded_at": now.isoformat()},
        )
    )
    return bool(settled.rowcount)  # type: ignore[attr-defined]
