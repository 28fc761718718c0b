"""The outbox: what each subscription is owed, and the life of every delivery.

Deliveries are rows, written before anything is sent, so nothing owed is lost when a channel is
down or the process dies: `queue_owed` records what is owed, `claim` marks rows `sending` in a
committed transaction of its own just before the send, `record_delivered` notes each destination
that takes it as it does, and `mark_sent` / `mark_failed` record the outcome right after. A row
left `sending` by a crash is claimable again only after a lease, and then goes only to the
destinations not on record, so a pair reaches each at most once under normal operation. The
store knows nothing of Apprise: the notifier hands it outcomes as plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    cast,
    exists,
    false,
    func,
    or_,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped, aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from store.db import dialect_insert, in_batches, writer
from store.deadlines import dated_changes, reminder_time
from store.models import (
    DIGESTS,
    FAILED,
    FETCH_ISSUE,
    FETCH_RESUMED,
    FOLLOW_UPS,
    MAX_REMINDER,
    PENDING,
    REINSTATED,
    REMINDER,
    SENDING,
    SENT,
    SKIPPED,
    SUPERSEDED,
    WITHDRAWN,
    Change,
    Delivery,
    Document,
    Subscription,
)
from store.queries import (
    ChangeRow,
    DocumentRow,
    change_row,
    list_documents,
    reads_as,
    restores_in,
    reverts_in,
)
from store.subscriptions import SubscriptionRow, subscription_row, wants_change, wants_document

V = TypeVar("V")


@dataclass(frozen=True)
class Owed:
    """One claimable delivery: a change, or a fetch event (`event` holds its details)."""

    delivery_id: int
    subscription: SubscriptionRow
    topic: str
    change: ChangeRow | None
    event: dict[str, Any]
    delivered_to: frozenset[str] = frozenset()  # destinations an earlier send reached

    @property
    def kind(self) -> str:
        return self.topic.split(":", 1)[0]


def period_start(moment: datetime, digest: str) -> datetime:
    """The start of the UTC day, or of the ISO week (Monday), that `moment` falls in."""
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday()) if digest == "weekly" else day


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> None:
    """The rows as parameters of one statement (many rows to a round trip all the same), not
    as literal VALUES: compiling those cost about 1 ms a row, 2 s for a run owing 2,000."""
    if not rows:
        return
    insert = dialect_insert(session.get_bind().dialect.name)
    session.connection().execute(insert(Delivery).on_conflict_do_nothing(), rows)


def failed_by_document(engine: Engine) -> dict[str, int]:
    """Deliveries given up, counted by document key: for `documents` to show beside each one."""
    query = (
        select(Document.key, func.count())
        .join(Delivery, col(Delivery.document_id) == Document.id)
        .where(col(Delivery.status) == FAILED)
        .group_by(col(Document.key))
    )
    with Session(engine) as session:
        return dict(session.exec(query).all())


def documents_json(engine: Engine) -> list[dict[str, Any]]:
    """What `documents --json` and `/api/documents` give: each document's row and the alerts
    about it given up after every retry."""
    failed = failed_by_document(engine)
    return [document_json(row, failed) for row in list_documents(engine)]


def document_json(row: DocumentRow, failed: Mapping[str, int]) -> dict[str, Any]:
    """One document's object of `documents --json`, given `failed_by_document`'s counts: also
    what `/api/documents/KEY` extends, so the two never drift apart."""
    return {**row.to_json(), "failed_deliveries": failed.get(row.key, 0)}


# What is owed


def queue_owed(engine: Engine, now: datetime, *, issue_streak: int = 3) -> None:
    """Record a pending delivery for everything owed and not yet recorded.

    A change is owed to each matching subscription created before it was detected
    (`_owed_changes`), a paused one too: it holds what it is owed until it is resumed. A
    reminder of a change whose effective date comes near is owed to each matching subscription
    that asks for reminders (`_owed_reminders`). A fetch problem
    (`issue_streak` failures in a row) is owed once to subscriptions asking for `fetch-issue`,
    and its end once more. The withdrawal of a change is owed to each subscription that was
    sent its alert, once the page reads again as before it (`_owed_withdrawals`), and its
    reinstatement to each that was sent the withdrawal, once the page reads again as after it
    (`_owed_reinstatements`). Concurrent runs insert the same rows: duplicates are ignored by
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
        withdrawals = _owed_withdrawals(session, now)
        reinstatements = _owed_reinstatements(session, now)
        fetch_events = _owed_fetch_events(session, subscriptions, now, issue_streak)
        for sub in subscriptions:
            _insert_ignoring_duplicates(session, _owed_changes(session, sub, unqueued, now))
            _insert_ignoring_duplicates(session, _owed_reminders(sub, coming, now))
            _insert_ignoring_duplicates(session, withdrawals.get(sub.id or 0, []))
            _insert_ignoring_duplicates(session, reinstatements.get(sub.id or 0, []))
            _insert_ignoring_duplicates(session, fetch_events.get(sub.id or 0, []))
        _mark_queued(session, [change.id for change, *_ in unqueued if change.id], subscriptions)


def _subscriptions_kept() -> SelectOfScalar[Subscription]:
    """Every subscription, each kept from removal until the run has recorded what it is owed
    (`FOR KEY SHARE` on PostgreSQL, which `remove_subscription`'s lock waits for; SQLite's
    writer lock keeps it already): removed meanwhile, the run inserted alerts of a subscription
    gone, and ended on a foreign key error with nothing sent."""
    return select(Subscription).order_by(col(Subscription.id)).with_for_update(key_share=True)


def _row(
    sub: Subscription, document: Document, topic: str, now: datetime, **extra: Any
) -> dict[str, Any]:
    return {
        "subscription_id": sub.id,
        "document_id": document.id,
        "topic": topic,
        "status": PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "event": {},
        "change_id": None,
        **extra,
    }


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
        rows.append(_row(sub, document, topic, now, change_id=change.id, next_attempt_at=due))
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


# The session's loaded objects are left as read: by default each bulk update also evaluated its
# WHERE against every object the session holds, every change read as unqueued, once per batch
# of 500 (their square: 42 s for 20,000 changes after an import), for a session then closed.
_UNSYNCHRONIZED = {"synchronize_session": False}


def _mark_queued(
    session: Session, change_ids: Sequence[int], subscriptions: Sequence[Subscription]
) -> None:
    """The changes read as not queued are now, and the subscriptions asked about every change
    since they were made have caught up: by id, in batches, so that a change committed since
    the read stays unqueued for the next run."""
    for batch in in_batches(change_ids):
        session.execute(
            update(Change).where(col(Change.id).in_(batch)).values(queued=True),
            execution_options=_UNSYNCHRONIZED,
        )
    new = [sub.id for sub in subscriptions if not sub.caught_up]
    if new:
        session.execute(
            update(Subscription).where(col(Subscription.id).in_(new)).values(caught_up=True),
            execution_options=_UNSYNCHRONIZED,
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
            rows.append(_row(sub, document, topic, now, event=event))
    return rows


def _owed_withdrawals(session: Session, now: datetime) -> dict[int, list[dict[str, Any]]]:
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
        row = _row(sub, document, f"{WITHDRAWN}:{delivery.change_id}", now, event=event)
        owed.setdefault(delivery.subscription_id, []).append(row)
    return owed


def _owed_reinstatements(session: Session, now: datetime) -> dict[int, list[dict[str, Any]]]:
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
    back = restores_in(session, {_about(delivery) for delivery, *_ in withdrawals})
    owed: dict[int, list[dict[str, Any]]] = {}
    for delivery, sub, document in withdrawals:
        restore = back.get(_about(delivery))
        if restore is None:
            continue
        event = {
            **delivery.event,
            "withdrawn_told_at": (delivery.sent_at or delivery.created_at).isoformat(),
            "reinstated_by": restore.change_id,
            "reinstated_at": restore.detected_at.isoformat(),
        }
        row = _row(sub, document, _reinstated_topic(delivery), now, event=event)
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
    reinstated = aliased(Delivery)
    return exists().where(
        col(reinstated.subscription_id) == col(Delivery.subscription_id),
        col(reinstated.topic) == REINSTATED + func.substr(col(Delivery.topic), len(WITHDRAWN) + 1),
    )


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
    return f"{REINSTATED}:{_about(withdrawal)}"


def _about(follow_up: Delivery | Owed) -> int:
    """The change a reminder, withdrawal or reinstatement is about."""
    return int(follow_up.event["change_id"])


def _owed_fetch_events(
    session: Session, subscriptions: Sequence[Subscription], now: datetime, issue_streak: int
) -> dict[int, list[dict[str, Any]]]:
    """By subscription asking for `fetch-issue`, the fetch problems owed (a document failing
    `issue_streak` times in a row, with no episode of it open) and their ends (a document sound
    again, each of its open episodes). Only those documents are read, once for all: the others
    owe nothing whatever their history."""
    asking = [sub for sub in subscriptions if FETCH_ISSUE in (sub.categories or [])]
    if not asking:
        return {}
    episodes = _open_episodes(session, [sub.id for sub in asking if sub.id])
    failing = and_(col(Document.issue).is_not(None), col(Document.issue_streak) >= issue_streak)
    documents = session.exec(
        select(Document)
        .where(or_(failing, col(Document.id).in_({document for _, document in episodes})))
        .order_by(col(Document.id))
    ).all()
    owed: dict[int, list[dict[str, Any]]] = {}
    for sub in asking:
        for document in documents:
            if wants_document(sub, document):
                open_since = episodes.get((sub.id or 0, document.id or 0), [])
                rows = _fetch_event_rows(sub, document, open_since, now, issue_streak)
                owed.setdefault(sub.id or 0, []).extend(rows)
    return owed


def _open_episodes(
    session: Session, subscription_ids: Sequence[int]
) -> dict[tuple[int, int], list[str]]:
    """By (subscription, document), when each fetch problem it was told of and not yet told
    the end of began: an episode is named by that time, and open until its resumption is owed.
    One let go unsent on resuming a paused subscription (`skipped`) was never told, nor is its
    end. Looked up among the deliveries of no change (by the index on change and subscription),
    not among every alert ever owed."""
    issues = session.exec(
        select(Delivery.subscription_id, Delivery.document_id, Delivery.topic)
        .where(
            col(Delivery.change_id).is_(None),
            col(Delivery.subscription_id).in_(subscription_ids),
            col(Delivery.topic).startswith(FETCH_ISSUE + ":"),
            col(Delivery.status) != SKIPPED,
            ~_ended(Delivery),
        )
        .order_by(col(Delivery.id))
    ).all()
    episodes: dict[tuple[int, int], list[str]] = {}
    for subscription_id, document_id, topic in issues:
        since = topic.removeprefix(f"{FETCH_ISSUE}:{document_id}:")
        episodes.setdefault((subscription_id, document_id), []).append(since)
    return episodes


def _ended(issue: type[Delivery]) -> ColumnElement[bool]:
    """Whether the end of the fetch problem `issue` (a delivery, or an alias of it) is owed:
    its document was fetched again since."""
    resumed = aliased(Delivery)
    return exists().where(
        col(resumed.subscription_id) == col(issue.subscription_id),
        col(resumed.topic) == FETCH_RESUMED + func.substr(col(issue.topic), len(FETCH_ISSUE) + 1),
    )


def _fetch_event_rows(
    sub: Subscription, document: Document, open_since: Sequence[str], now: datetime, streak: int
) -> list[dict[str, Any]]:
    """A new problem of `document`, if it fails and no episode is open; or the end of each open
    episode, if it is sound again."""
    prefix = f":{document.id}:"
    event: dict[str, Any] = {
        "key": document.key,
        "service": document.service,
        "document_type": document.document_type,
        "url": document.url,
    }
    if document.issue and document.issue_streak >= streak and not open_since:
        since = (document.issue_since or now).isoformat()
        event |= {
            "issue": document.issue,
            "detail": document.issue_detail,
            "streak": document.issue_streak,
            "since": since,
        }
        return [_row(sub, document, FETCH_ISSUE + prefix + since, now, event=event)]
    if document.issue is None:
        return [
            _row(sub, document, FETCH_RESUMED + prefix + since, now, event=event | {"since": since})
            for since in open_since
        ]
    return []


# Claiming and recording


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
        or_(~col(delivery.topic).startswith(FETCH_ISSUE + ":"), ~_ended(delivery)),
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
            execution_options=_UNSYNCHRONIZED,
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
        delivery.id: _about(delivery)
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
    undone = reverts_in(session, {_about(item) for item in follow_ups})
    return {
        item.delivery_id
        for item in follow_ups
        if (item.kind == WITHDRAWN) != (_about(item) in undone)
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
