"""What became of a send, recorded at once: each destination that took it as it does
(`record_delivered`), then the outcome (`mark_sent`, `mark_failed`), and meanwhile that a slow
send is alive (`renew`). So a retry, or a run taking over from a killed one, sends nothing
where it went already, and a failure is retried after a backoff or given up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from store.db import writer
from store.models import FAILED, PENDING, SENDING, SENT, Delivery


def renew(engine: Engine, ids: Sequence[int], now: datetime) -> None:
    """Start the lease of deliveries still being sent afresh at `now`: their send is slow, not
    abandoned, and another run must not take them for a crashed one's."""
    with Session(writer(engine)) as session, session.begin():
        session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids), col(Delivery.status) == SENDING)
            .values(claimed_at=now)
        )


def mark_sent(engine: Engine, ids: Sequence[int], now: datetime) -> None:
    with Session(engine) as session, session.begin():
        session.execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .values(status=SENT, sent_at=now, last_error=None)
        )


def record_delivered(engine: Engine, ids: Sequence[int], destination: str) -> None:
    """`destination` took the message of the deliveries `ids` being sent: on record at once, so
    that neither a retry nor a run taking them over from a killed one sends it there again."""
    with Session(writer(engine)) as session, session.begin():
        query = select(Delivery).where(col(Delivery.id).in_(ids), col(Delivery.status) == SENDING)
        for delivery in session.exec(query.order_by(col(Delivery.id)).with_for_update()).all():
            delivery.delivered_to = sorted({*delivery.delivered_to, destination})
            session.add(delivery)


def mark_failed(
    engine: Engine,
    ids: Sequence[int],
    now: datetime,
    error: str,
    *,
    max_attempts: int,
    backoff: Callable[[int], timedelta],
    probe_every: timedelta,
) -> int:
    """A failed send: retried after `backoff(attempts)`, or `failed` once `max_attempts` are
    used up, its channel probed with it after `probe_every` (`_probes`); the destinations
    that took it all the same are on record (`record_delivered`), not to be sent it again.
    Returns how many were given up."""
    given_up = 0
    with Session(writer(engine)) as session, session.begin():
        for delivery in session.exec(select(Delivery).where(col(Delivery.id).in_(ids))).all():
            delivery.status = FAILED if delivery.attempts >= max_attempts else PENDING
            delivery.last_error = error
            wait = probe_every if delivery.status == FAILED else backoff(delivery.attempts)
            delivery.next_attempt_at = now + wait
            given_up += delivery.status == FAILED
            session.add(delivery)
    return given_up
