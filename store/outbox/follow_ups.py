"""The follow-ups owed of alerts sent: a change's withdrawal, once its page reads again as
before it, and then its reinstatement, once the page reads again as after it. Each goes only to
the subscriptions that were told what it follows up, looked up by index among the few
deliveries that could be: an idle run asks about none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, String, cast, exists, func
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import Session, col, select

from store.db import in_batches
from store.models import REINSTATED, SENT, WITHDRAWN, Change, Delivery, Document, Subscription
from store.outbox.deliveries import change_about, pending_row, sequel_owed
from store.queries import reads_as, restores_in, reverts_in

V = TypeVar("V")


def owed_withdrawals(session: Session, now: datetime) -> dict[int, list[dict[str, Any]]]:
    """By subscription, the withdrawals owed: a change whose alert it was sent (one still
    pending, failed or never owed is no news to take back) and that its page has undone since,
    reading again as before it (`reverts_in`). Only alerts sent and not yet withdrawn whose page
    reads as before their change (`reads_as`, in SQL) are asked about, each change once however
    many subscriptions got it: every run would otherwise load every alert ever sent. Digest or
    not, a withdrawal is due at once: a developer shutting down a bot over a ban should not wait
    out a week.
    """
    undone_now = _reading_as(session, col(Change.from_version_id))
    alerted = _sent(
        session, lambda batch: col(Delivery.change_id).in_(batch), undone_now, ~_withdrawn()
    )
    undone = reverts_in(session, {row.change_id for row, *_ in alerted if row.change_id})
    owed: dict[int, list[dict[str, Any]]] = {}
    for delivery, sub, document in alerted:
        revert = undone.get(delivery.change_id or 0)
        if revert is None:
            continue
        event = {
            "change_id": delivery.change_id,
            "alerted_at": (delivery.sent_at or delivery.created_at).isoformat(),
            "reverted_by": revert.change_id,
            "reverted_at": revert.detected_at.isoformat(),
        }
        row = pending_row(sub, document, f"{WITHDRAWN}:{delivery.change_id}", now, event=event)
        owed.setdefault(delivery.subscription_id, []).append(row)
    return owed


def owed_reinstatements(session: Session, now: datetime) -> dict[int, list[dict[str, Any]]]:
    """By subscription, the reinstatements owed: a change whose withdrawal it was sent and whose
    page reads again as after it (`restores_in`), the clause it was told no longer stands put
    back; the later flapping brought no alert, as the withdrawal itself brought none. Once: a
    page that goes on flipping is flapping, and `history` and the timeline say where it stands.
    As for withdrawals, only those whose page reads as after their change are asked about, by
    topic among the deliveries of no change (their own index: see `Delivery`).
    """
    back_now = [f"{WITHDRAWN}:{id_}" for id_ in _reading_as(session, col(Change.to_version_id))]
    withdrawals = _sent(
        session,
        lambda batch: col(Delivery.topic).in_(batch),
        back_now,
        _of_no_change(session),
        ~_reinstated(),
    )
    back = restores_in(session, {change_about(delivery) for delivery, *_ in withdrawals})
    owed: dict[int, list[dict[str, Any]]] = {}
    for delivery, sub, document in withdrawals:
        restore = back.get(change_about(delivery))
        if restore is None:
            continue
        event = {
            **delivery.event,
            "withdrawn_told_at": (delivery.sent_at or delivery.created_at).isoformat(),
            "reinstated_by": restore.change_id,
            "reinstated_at": restore.detected_at.isoformat(),
        }
        row = pending_row(sub, document, _reinstated_topic(delivery), now, event=event)
        owed.setdefault(delivery.subscription_id, []).append(row)
    return owed


def _of_no_change(session: Session) -> ColumnElement[bool]:
    """The deliveries of no change (follow-ups, fetch events), in the words of the partial index
    on their topic (see `Delivery`). On SQLite as `likely(...)`: the unique index on (change_id,
    subscription_id) answers `change_id IS NULL` too, and SQLite, which keeps no statistics,
    took it, reading every follow-up ever owed instead of the few asked about."""
    of_no_change = col(Delivery.change_id).is_(None)
    if session.get_bind().dialect.name == "sqlite":
        return func.likely(of_no_change)
    return of_no_change


# The two below are built once: building them (an alias, a subquery) took longer than an idle
# run's queries.
@cache
def _withdrawn() -> ColumnElement[bool]:
    """Whether the subscription of the delivery at hand was owed its change's withdrawal."""
    withdrawn = aliased(Delivery)
    return exists().where(
        col(withdrawn.subscription_id) == col(Delivery.subscription_id),
        col(withdrawn.topic) == WITHDRAWN + ":" + cast(col(Delivery.change_id), String),
    )


@cache
def _reinstated() -> ColumnElement[bool]:
    """Whether the subscription of the withdrawal at hand was owed its reinstatement."""
    return sequel_owed(Delivery, WITHDRAWN, REINSTATED)


def _reading_as(session: Session, side: Mapped[int]) -> list[int]:
    """The changes `reads_as` finds, read first: few (about one per document), they are then
    looked up among the deliveries by index. Left inside the deliveries' query, PostgreSQL,
    misjudging how many deliveries were sent (see `_sent`), walked every one of them and asked
    about each (0.6 s at 100,000)."""
    return [id_ for id_ in session.execute(reads_as(side)).scalars() if id_ is not None]


def _sent(
    session: Session,
    among: Callable[[Sequence[V]], ColumnElement[bool]],
    values: Sequence[V],
    *where: ColumnElement[bool],
) -> list[tuple[Delivery, Subscription, Document]]:
    """The deliveries sent that are `among` the `values` and match `where`, with their
    subscription and document: what a withdrawal or a reinstatement follows up (held, if the
    subscription is paused since). The values (about one per document) go `IN_LIST_SIZE` to a
    statement.

    They name a few deliveries among all those ever sent: the status is compared through a
    function, so that SQLite, which keeps no statistics, looks those up by their index rather
    than walk every sent delivery by the status index (100 ms at 100,000 of them).
    """
    if not values:  # the usual idle run: no page reads as before or after an alerted change
        return []
    sent = func.lower(col(Delivery.status)) == SENT
    query = (
        select(Delivery, Subscription, Document)
        .join(Subscription, col(Delivery.subscription_id) == Subscription.id)
        .join(Document, col(Delivery.document_id) == Document.id)
        .where(sent, *where)
    )
    return [row for batch in in_batches(values) for row in session.exec(query.where(among(batch)))]


def _reinstated_topic(withdrawal: Delivery) -> str:
    return f"{REINSTATED}:{change_about(withdrawal)}"
