"""A delivery as the outbox's modules hand it to each other: the row recorded when it becomes
owed (`pending_row`), and what is claimed and handed to the notifier to send (`Owed`). In one
place, so that what records deliveries (`owed`, `follow_ups`, `fetch_events`) and what claims
them (`claims`) read one alike: the change a follow-up is about (`change_about`), and whether
the sequel of a delivery is owed (`sequel_owed`), included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import col

from store.models import PENDING, Delivery, Document, Subscription
from store.queries import ChangeRow
from store.subscriptions import SubscriptionRow


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


def pending_row(
    sub: Subscription, document: Document, topic: str, now: datetime, **extra: Any
) -> dict[str, Any]:
    """The row of a delivery of `topic` about `document` that `sub` is owed as of `now`: pending,
    due at once unless `extra` says otherwise, of no change unless it names one."""
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


def sequel_owed(delivery: type[Delivery], kind: str, sequel: str) -> ColumnElement[bool]:
    """Whether the subscription of `delivery` (one of `kind`: `Delivery`, or an alias of it) was
    owed its `sequel`, the delivery whose topic is its own with `sequel` for `kind`: a
    withdrawal's reinstatement, a fetch problem's end."""
    owed = aliased(Delivery)
    return exists().where(
        col(owed.subscription_id) == col(delivery.subscription_id),
        col(owed.topic) == sequel + func.substr(col(delivery.topic), len(kind) + 1),
    )


def change_about(follow_up: Delivery | Owed) -> int:
    """The change a reminder, withdrawal or reinstatement is about."""
    return int(follow_up.event["change_id"])
