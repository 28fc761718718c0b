"""What waits after a delivery run, counted for its report: deliveries waiting out a backoff,
being sent or stopped mid-send, held for a digest or for a paused subscription, given up. Read
only: "0 messages sent" must not read as "nothing owed".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from store.models import FAILED, PENDING, SENDING, Delivery, Subscription


def awaiting_retry(engine: Engine) -> tuple[int, datetime | None]:
    """How many deliveries wait out a backoff after a failed send, and when the first is due
    (those a paused subscription holds wait for it instead: see `held`)."""
    query = (
        select(func.count(), func.min(col(Delivery.next_attempt_at)))
        .join(Subscription, col(Delivery.subscription_id) == Subscription.id)
        .where(
            col(Delivery.status) == PENDING, col(Delivery.attempts) > 0, col(Subscription.active)
        )
    )
    with Session(engine) as session:
        count, first = session.exec(query).one()
    return count, first


def in_flight(engine: Engine, lease: timedelta) -> tuple[int, datetime | None]:
    """How many deliveries are claimed for sending, by a run sending them now or one stopped
    while sending (Ctrl-C, `kill -9`), and when the first may be claimed again: unlisted, they
    read as lost."""
    query = select(func.count(), func.min(col(Delivery.claimed_at))).where(
        col(Delivery.status) == SENDING
    )
    with Session(engine) as session:
        count, first = session.exec(query).one()
    return count, first + lease if first else None


@dataclass(frozen=True)
class Held:
    """What a delivery run leaves waiting on purpose: changes held for a digest whose period is
    still open (and when the first is due), deliveries given up after every retry, and the
    deliveries paused subscriptions hold (and how many subscriptions)."""

    for_digest: int = 0
    digest_due: datetime | None = None
    given_up: int = 0
    for_paused: int = 0
    paused: int = 0


def held(engine: Engine) -> Held:
    pending = (
        select(func.count(), func.min(col(Delivery.next_attempt_at)))
        .join(Subscription, col(Delivery.subscription_id) == Subscription.id)
        .where(col(Delivery.status) == PENDING)
    )
    digests = pending.where(
        col(Delivery.attempts) == 0, col(Subscription.digest).is_not(None), col(Subscription.active)
    )
    for_paused = pending.where(~col(Subscription.active))
    paused = select(func.count()).where(~col(Subscription.active))
    failed = select(func.count()).where(col(Delivery.status) == FAILED)
    with Session(engine) as session:
        count, due = session.exec(digests).one()
        holding, _ = session.exec(for_paused).one()
        return Held(count, due, session.exec(failed).one(), holding, session.exec(paused).one())
