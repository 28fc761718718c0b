"""Subscriptions: who wants which changes, and where; stored, listed, edited, paused.

The filters that match a change or a document (`wants_change`, `wants_document`) are here too:
the outbox asks them when it records what each subscription is owed. A subscription's URL holds
its tokens and passwords: nothing here shows it, and `SubscriptionRow.to_json` leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from store.db import writer
from store.deadlines import dated_changes, reminder_time
from store.models import (
    DEFAULT_REMINDERS,
    FAILED,
    FETCH_ISSUE,
    PENDING,
    REMINDER,
    SENDING,
    SENT,
    SKIPPED,
    SUPERSEDED,
    Change,
    Delivery,
    Document,
    Subscription,
    service_slug,
)
from store.queries import JsonRow, severity_rank

EDITABLE = {"url", "services", "documents", "tags", "categories", "min_severity", "digest"}


class DuplicateName(ValueError):
    """A subscription of that name exists already."""


@dataclass(frozen=True)
class NewSubscription:
    """What `subscribe` asks for; empty filter lists match everything."""

    name: str
    url: str
    services: Sequence[str] = ()
    documents: Sequence[str] = ()
    tags: Sequence[str] = ()
    categories: Sequence[str] = ()
    min_severity: str = "medium"
    digest: str | None = None
    reminders: Sequence[int] = DEFAULT_REMINDERS


@dataclass(frozen=True)
class SubscriptionRow(JsonRow):
    """A subscription with the state of its deliveries. `url` is the secret: mask it to show it."""

    name: str
    url: str
    services: list[str]
    documents: list[str]
    tags: list[str]
    categories: list[str]
    min_severity: str
    digest: str | None
    reminders: list[int]
    created_at: datetime
    active: bool
    pending: int = 0
    sent: int = 0
    failed: int = 0
    superseded: int = 0
    skipped: int = 0
    last_error: str | None = None
    id: int = field(default=0, repr=False)

    @property
    def held(self) -> int:
        """What a paused subscription is owed and not sent until it is resumed."""
        return 0 if self.active else self.pending

    def to_json(self) -> dict[str, Any]:
        """Everything but the URL, which only the notifier can mask; `held` too, so that a
        script need not know that a paused subscription's pending deliveries wait for it."""
        data = super().to_json()
        del data["url"]
        return data | {"held": self.held}


def _keys(documents: Sequence[str]) -> list[str]:
    """Document keys as the catalog spells them: a filter typed in another case still matches."""
    return [key.lower() for key in documents]


def add_subscription(engine: Engine, new: NewSubscription, now: datetime) -> None:
    """Store a subscription; DuplicateName when the name is taken."""
    row = Subscription(
        name=new.name,
        url=new.url,
        services=list(new.services),
        documents=_keys(new.documents),
        tags=list(new.tags),
        categories=list(new.categories),
        min_severity=new.min_severity,
        digest=new.digest,
        reminders=_reminder_days(new.reminders),
        created_at=now,
    )
    try:
        with Session(engine) as session, session.begin():
            session.add(row)
    except IntegrityError as error:
        raise DuplicateName(f"a subscription named {new.name!r} exists already") from error


def list_subscriptions(engine: Engine) -> list[SubscriptionRow]:
    """Every subscription by name, with its counts of pending, sent, failed, superseded and
    skipped deliveries."""
    counts = select(Delivery.subscription_id, Delivery.status, func.count()).group_by(
        col(Delivery.subscription_id), col(Delivery.status)
    )
    errors = select(Delivery.subscription_id, Delivery.last_error).where(
        col(Delivery.status).in_([PENDING, FAILED]), col(Delivery.last_error).is_not(None)
    )
    with Session(engine) as session:
        tally: dict[tuple[int | None, str], int] = {
            (sid, status): n for sid, status, n in session.exec(counts).all()
        }
        last_error = dict(session.exec(errors.order_by(col(Delivery.claimed_at))).all())
        subscriptions = session.exec(select(Subscription).order_by(Subscription.name)).all()
        return [
            subscription_row(
                sub,
                pending=tally.get((sub.id, PENDING), 0) + tally.get((sub.id, SENDING), 0),
                sent=tally.get((sub.id, SENT), 0),
                failed=tally.get((sub.id, FAILED), 0),
                superseded=tally.get((sub.id, SUPERSEDED), 0),
                skipped=tally.get((sub.id, SKIPPED), 0),
                last_error=last_error.get(sub.id or 0),
            )
            for sub in subscriptions
        ]


def get_subscription(engine: Engine, name: str) -> SubscriptionRow | None:
    return next((row for row in list_subscriptions(engine) if row.name == name), None)


def remove_subscription(engine: Engine, name: str) -> bool:
    """Delete a subscription and its deliveries; False when there is no such subscription.
    Locked first, it waits for a run recording what the subscription is owed (see
    `queue_owed`): its deliveries are then deleted with it, none inserted after."""
    with Session(writer(engine)) as session, session.begin():
        named = select(Subscription).where(Subscription.name == name)
        sub = session.exec(named.with_for_update()).first()
        if sub is None:
            return False
        session.execute(delete(Delivery).where(col(Delivery.subscription_id) == sub.id))
        session.delete(sub)
        return True


def set_reminders(engine: Engine, name: str, days: Sequence[int]) -> bool:
    """Remind the subscription `days` before a change takes effect (none: never); False when
    there is no such subscription."""
    with Session(writer(engine)) as session, session.begin():
        sub = session.exec(select(Subscription).where(Subscription.name == name)).first()
        if sub is None:
            return False
        sub.reminders = _reminder_days(days)
        session.add(sub)
        return True


def edit_subscription(engine: Engine, name: str, changes: Mapping[str, Any]) -> bool:
    """Replace the `changes` given (of `EDITABLE`) and keep the rest; False when there is no
    such subscription. What it is owed already stays owed: the filters choose among the changes
    queued from now on."""
    assert set(changes) <= EDITABLE, set(changes) - EDITABLE
    with Session(writer(engine)) as session, session.begin():
        sub = session.exec(select(Subscription).where(Subscription.name == name)).first()
        if sub is None:
            return False
        for column, value in changes.items():
            setattr(sub, column, _keys(value) if column == "documents" else value)
        session.add(sub)
        return True


@dataclass(frozen=True)
class Switched:
    """What pausing or resuming found and did: whether the subscription was active before, how
    many deliveries it holds (after resuming: still to send), and how many it let go of."""

    was_active: bool
    held: int = 0
    skipped: int = 0
    stale_reminders: int = 0


def pause_subscription(engine: Engine, name: str) -> Switched | None:
    """Stop sending to a subscription; what it is owed keeps being queued, and waits. None when
    there is no such subscription."""
    with Session(writer(engine)) as session, session.begin():
        sub = session.exec(select(Subscription).where(Subscription.name == name)).first()
        if sub is None:
            return None
        was_active, sub.active = sub.active, False
        session.add(sub)
        return Switched(was_active, _count_held(session, sub))


def resume_subscription(
    engine: Engine, name: str, now: datetime, *, skip_held: bool = False
) -> Switched | None:
    """Send to a paused subscription again: what it holds goes at the next run, or, with
    `skip_held`, is settled `skipped`. Either way a reminder the pause made late is settled
    `skipped` (`_stale_reminders`), as a run missed for days sends none late. None when there is
    no such subscription."""
    with Session(writer(engine)) as session, session.begin():
        sub = session.exec(select(Subscription).where(Subscription.name == name)).first()
        if sub is None:
            return None
        if sub.active:
            return Switched(True, _count_held(session, sub))
        stale = _stale_reminders(session, sub, now)
        skipped = _skip(session, _held_by(sub) if skip_held else col(Delivery.id).in_(stale))
        sub.active = True
        session.add(sub)
        return Switched(False, _count_held(session, sub), skipped, len(stale))


def _held_by(sub: Subscription) -> ColumnElement[bool]:
    return and_(col(Delivery.subscription_id) == sub.id, col(Delivery.status) == PENDING)


def _count_held(session: Session, sub: Subscription) -> int:
    return session.exec(select(func.count()).where(_held_by(sub))).one()


def _stale_reminders(session: Session, sub: Subscription, now: datetime) -> list[int]:
    """The reminders held for `sub` that the outbox would not owe now: of a change no longer
    coming (its date passed, or moved since), or farther than another held for the same change
    (of several due at once, only the nearest goes)."""
    held = session.exec(
        select(Delivery).where(_held_by(sub), col(Delivery.topic).startswith(REMINDER + ":"))
    ).all()
    if not held:
        return []
    reminders = [
        (delivery, int(delivery.event["change_id"]), int(delivery.event["days"]))
        for delivery in held
    ]
    tomorrow = now.date() + timedelta(days=1)
    about = {change_id for _, change_id, _ in reminders}
    coming, _ = dated_changes(session, start=tomorrow, end=None, where=[col(Change.id).in_(about)])
    still = {change.id for change, _ in coming}
    nearest: dict[int, int] = {}
    for _, change_id, days in reminders:
        nearest[change_id] = min(days, nearest.get(change_id, days))
    return [
        delivery.id
        for delivery, change_id, days in reminders
        if delivery.id is not None and (change_id not in still or days > nearest[change_id])
    ]


def _skip(session: Session, which: ColumnElement[bool]) -> int:
    """Settle the held deliveries `which` picks `skipped`: kept on record under their topic, so
    neither sent nor owed again."""
    skipped = session.execute(
        update(Delivery).where(which, col(Delivery.status) == PENDING).values(status=SKIPPED)
    )
    return int(skipped.rowcount)  # type: ignore[attr-defined]


def _reminder_days(days: Sequence[int]) -> list[int]:
    """Each day once, farthest first, as they come to pass."""
    return sorted(set(days), reverse=True)


def subscription_row(sub: Subscription, **state: Any) -> SubscriptionRow:
    return SubscriptionRow(
        id=sub.id,  # type: ignore[arg-type]
        name=sub.name,
        url=sub.url,
        services=list(sub.services or []),
        documents=list(sub.documents or []),
        tags=list(sub.tags or []),
        categories=list(sub.categories or []),
        min_severity=sub.min_severity,
        digest=sub.digest,
        reminders=list(sub.reminders or []),
        created_at=sub.created_at,
        active=sub.active,
        **state,
    )


def wants_document(sub: Subscription, document: Document) -> bool:
    """The service (by name in any case, or by slug: the first half of its keys), document and
    tag filters (empty: everything)."""
    services = {service.lower() for service in sub.services or []}
    if services and not {document.service.lower(), service_slug(document.key)} & services:
        return False
    if sub.documents and document.key not in sub.documents:
        return False
    return not sub.tags or bool(set(sub.tags) & set(document.tags or []))


@dataclass(frozen=True)
class Unheard:
    """What `subscribe` says a new subscription is not alerted of, its filters applied."""

    recorded: int  # the meaningful changes recorded so far
    recalled: int  # of those, the ones still to take effect that its reminders will recall


def changes_unheard(engine: Engine, names: Sequence[str], now: datetime) -> Unheard:
    """The meaningful changes recorded so far that the filters of subscriptions `names` (any of
    them) select, and those of them that one of their reminders still recalls. Counting every
    change told a subscriber to one service's critical changes of 258 it never wanted, and of
    dates to come of other services, which it would never be reminded of."""
    with Session(engine) as session:
        subs = session.exec(select(Subscription).where(col(Subscription.name).in_(names))).all()
        found = session.exec(
            select(Change, Document)
            .join(Document, col(Change.document_id) == Document.id)
            .where(col(Change.meaningful).is_(True))
            .options(defer(Change.matches), defer(Change.excerpts))  # type: ignore[arg-type]
        ).all()
        recorded = sum(
            any(wants_change(sub, change, document) for sub in subs) for change, document in found
        )
        tomorrow = now.date() + timedelta(days=1)  # nothing is recalled on its own day
        coming, _ = dated_changes(session, start=tomorrow, end=None)
        recalled = sum(
            any(_recalls(sub, change, document) for sub in subs) for change, document in coming
        )
    return Unheard(recorded, recalled)


def _recalls(sub: Subscription, change: Change, document: Document) -> bool:
    """Whether a reminder of `change` is owed to `sub`: it wants the change, and one of its
    reminders falls after it was made (as the outbox owes them)."""
    assert change.effective_date is not None, "a dated change"
    effective = change.effective_date
    return wants_change(sub, change, document) and any(
        reminder_time(effective, days) >= sub.created_at for days in sub.reminders or []
    )


def hears_changes(categories: Sequence[str]) -> bool:
    """Whether a subscription asking for `categories` hears of changes at all: one asking for
    fetch problems alone (`--category fetch-issue`) hears of no change, nor of its date."""
    return not categories or bool(set(categories) - {FETCH_ISSUE})


def wants_change(sub: Subscription, change: Change, document: Document) -> bool:
    """A meaningful change at least as severe as asked, in an asked-for category if any."""
    if not hears_changes(sub.categories or []):
        return False
    categories = set(sub.categories or []) - {FETCH_ISSUE}
    if categories and not categories & set(change.categories or []):
        return False
    if severity_rank(change.severity) < severity_rank(sub.min_severity):
        return False
    return change.meaningful and wants_document(sub, document)
