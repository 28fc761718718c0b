"""What each subscription is owed, recorded as pending deliveries by `queue_owed`, the first
step of every delivery run. The alerts of changes and the reminders of their dates are worked
out here; the follow-ups of alerts sent (`follow_ups`) and the fetch problems (`fetch_events`)
in modules of their own; all are recorded in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, exists, false, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from store.db import UNSYNCHRONIZED, dialect_insert, in_batches, writer
from store.deadlines import dated_changes, reminder_time
from store.models import DIGESTS, MAX_REMINDER, REMINDER, Change, Delivery, Document, Subscription
from store.outbox.deliveries import pending_row
from store.outbox.fetch_events import owed_fetch_events
from store.outbox.follow_ups import owed_reinstatements, owed_withdrawals
from store.subscriptions import wants_change


def period_start(moment: datetime, digest: str) -> datetime:
    """The start of the UTC day, or of the ISO week (Monday), that `moment` falls in."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if digest == "weekly" else day


def queue_owed(engine: Engine, now: datetime, *, issue_streak: int = 3) -> None:
    """Record a pending delivery for everything owed and not yet recorded.

    A change is owed to each matching subscription created before it was detected
    (`_owed_changes`), a paused one too: it holds what it is owed until it is resumed. A
    reminder of a change whose effective date comes near is owed to each matching subscription
    that asks for reminders (`_owed_reminders`). A fetch problem (`issue_streak` failures in a
    row) is owed once to subscriptions asking for `fetch-issue`, and its end once more
    (`owed_fetch_events`). The withdrawal of a change is owed to each subscription that was
    sent its alert, once the page reads again as before it (`owed_withdrawals`), and its
    reinstatement to each that was sent the withdrawal, once the page reads again as after it
    (`owed_reinstatements`). Concurrent runs insert the same rows: duplicates are ignored by
    the unique (subscription, topic) constraint.

    The changes not yet queued are read first, then the subscriptions, and only those changes
    are marked queued: a change committed meanwhile waits for the next run, and a subscription
    committed meanwhile, not caught up, asks at its first run about every change detected since
    it was made, those this run queues included.
    """
    with Session(writer(engine)) as session, session.begin():
        unqueued = session.exec(_unqueued_changes()).all()
        subscriptions = session.exec(_subscriptions_kept()).all()
        coming = _coming_deadlines(session, subscriptions, now)
        withdrawals = owed_withdrawals(session, now)
        reinstatements = owed_reinstatements(session, now)
        fetch_events = owed_fetch_events(session, subscriptions, now, issue_streak)
        for sub in subscriptions:
            _insert_ignoring_duplicates(session, _owed_changes(session, sub, unqueued, now))
            _insert_ignoring_duplicates(session, _owed_reminders(sub, coming, now))
            _insert_ignoring_duplicates(session, withdrawals.get(sub.id or 0, []))
            _insert_ignoring_duplicates(session, reinstatements.get(sub.id or 0, []))
            _insert_ignoring_duplicates(session, fetch_events.get(sub.id or 0, []))
        _mark_queued(session, [change.id for change, *_ in unqueued if change.id], subscriptions)


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """The rows as parameters of one statement (many rows to a round trip all the same), not
    as literal VALUES: compiling those cost about 1 ms a row, 2 s for a run owing 2,000."""
    if not rows:
        return
    insert = dialect_insert(session.get_bind().dialect.name)
    session.connection().execute(insert(Delivery).on_conflict_do_nothing(), rows)


def _subscriptions_kept() -> SelectOfScalar[Subscription]:
    """Every subscription, each kept from removal until the run has recorded what it is owed
    (`FOR KEY SHARE` on PostgreSQL, which `remove_subscription`'s lock waits for; SQLite's
    writer lock keeps it already): removed meanwhile, the run inserted alerts of a subscription
    gone, and ended on a foreign key error with nothing sent."""
    return select(Subscription).order_by(col(Subscription.id)).with_for_update(key_share=True)


def _alertable() -> ColumnElement[bool]:
    """A meaningful change found as news: what a catalog edit changed is no news of the
    platform (`redeclared`), nor is a verdict given anew to an old change (`rejudged_at`)."""
    return and_(col(Change.meaningful), ~col(Change.redeclared), col(Change.rejudged_at).is_(None))


def _unqueued_changes() -> Select[Change, Document, bool]:
    """The changes not yet queued (the index on `queued` finds these few among all), with their
    document and whether they are news at all."""
    return (
        select(Change, Document, _alertable())
        .join(Document, col(Change.document_id) == Document.id)
        .where(col(Change.queued) == false())
        .order_by(col(Change.id))
    )


def _owed_changes(
    session: Session,
    sub: Subscription,
    unqueued: Sequence[tuple[Change, Document, bool]],
    now: datetime,
) -> list[dict[str, Any]]:
    """The alerts owed to `sub` among the changes not yet queued; until it has caught up,
    among every change detected since it was made (once, and a new subscription's are few)."""
    rows = []
    for change, document in _since_made(session, sub, unqueued):
        if not wants_change(sub, change, document):
            continue
        due = now
        if sub.digest:  # a digest goes out once its period is over
            due = period_start(change.detected_at, sub.digest) + DIGESTS[sub.digest]
        topic = f"change:{change.id}"
        rows.append(
            pending_row(sub, document, topic, now, change_id=change.id, next_attempt_at=due)
        )
    return rows


def _since_made(
    session: Session, sub: Subscription, unqueued: Sequence[tuple[Change, Document, bool]]
) -> Sequence[tuple[Change, Document]]:
    """The alertable changes detected after `sub` was made and maybe not yet recorded for it."""
    if sub.caught_up:
        return [
            (change, document)
            for change, document, alertable in unqueued
            if alertable and change.detected_at > sub.created_at
        ]
    recorded = exists().where(
        col(Delivery.change_id) == Change.id, col(Delivery.subscription_id) == sub.id
    )
    return session.exec(
        select(Change, Document)
        .join(Document, col(Change.document_id) == Document.id)
        .where(col(Change.detected_at) > sub.created_at, _alertable(), ~recorded)
    ).all()


def _mark_queued(
    session: Session, change_ids: Sequence[int], subscriptions: Sequence[Subscription]
) -> None:
    """The changes read as not queued are now, and the subscriptions asked about every change
    since they were made have caught up: by id, in batches, so that a change committed since
    the read stays unqueued for the next run."""
    for batch in in_batches(change_ids):
        session.execute(
            update(Change).where(col(Change.id).in_(batch)).values(queued=True),
            execution_options=UNSYNCHRONIZED,
        )
    new = [sub.id for sub in subscriptions if not sub.caught_up]
    if new:
        session.execute(
            update(Subscription).where(col(Subscription.id).in_(new)).values(caught_up=True),
            execution_options=UNSYNCHRONIZED,
        )


def _coming_deadlines(
    session: Session, subscriptions: Sequence[Subscription], now: datetime
) -> list[tuple[Change, Document]]:
    """The meaningful changes taking effect within the farthest reminder any subscription asks
    for, whose date their page still states (`still_stated`): a date moved or withdrawn since
    is no deadline."""
    reminders = (day for sub in subscriptions for day in sub.reminders or [])
    farthest = min(max(reminders, default=0), MAX_REMINDER)  # stored before it was bounded
    if not farthest:
        return []
    tomorrow = now.date() + timedelta(days=1)  # nothing is recalled on its own day
    coming, _ = dated_changes(session, start=tomorrow, end=now.date() + timedelta(days=farthest))
    return coming


def _owed_reminders(
    sub: Subscription, coming: Sequence[tuple[Change, Document]], now: datetime
) -> list[dict[str, Any]]:
    """For each coming change the subscription wants, the nearest of its reminders now due.

    A reminder due before the change was found, or before the subscription was made, is not
    owed: the alert of the change (or `upcoming`) said as much. Of several due at once (no run
    for days), only the nearest goes: one message saying how far the date is.
    """
    rows = []
    for change, document in coming:
        assert change.effective_date is not None and change.id is not None, "a coming change"
        if not wants_change(sub, change, document):
            continue
        since = max(change.detected_at, sub.created_at)
        due = [
            days
            for days in sub.reminders or []
            if since <= reminder_time(change.effective_date, days) <= now
        ]
        if due:
            days = min(due)
            topic = f"{REMINDER}:{change.id}:{days}"
            event = {"change_id": change.id, "days": days}
            rows.append(pending_row(sub, document, topic, now, event=event))
    return rows
