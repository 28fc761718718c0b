"""The fetch problems owed to the subscriptions asking for `fetch-issue`: a document failing
several times in a row, once an episode, and the episode's end once the document is fetched
again. Only the documents failing, or with an episode open, are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session, col, select

from store.models import FETCH_ISSUE, FETCH_RESUMED, SKIPPED, Delivery, Document, Subscription
from store.outbox.deliveries import pending_row, sequel_owed
from store.subscriptions import wants_document


def owed_fetch_events(
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
            ~ended(Delivery),
        )
        .order_by(col(Delivery.id))
    ).all()
    episodes: dict[tuple[int, int], list[str]] = {}
    for subscription_id, document_id, topic in issues:
        since = topic.removeprefix(f"{FETCH_ISSUE}:{document_id}:")
        episodes.setdefault((subscription_id, document_id), []).append(since)
    return episodes


def ended(issue: type[Delivery]) -> ColumnElement[bool]:
    """Whether the end of the fetch problem `issue` (a delivery, or an alias of it) is owed:
    its document was fetched again since."""
    return sequel_owed(issue, FETCH_ISSUE, FETCH_RESUMED)


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
        return [pending_row(sub, document, FETCH_ISSUE + prefix + since, now, event=event)]
    if document.issue is None:
        return [
            pending_row(
                sub, document, FETCH_RESUMED + prefix + since, now, event=event | {"since": since}
            )
            for since in open_since
        ]
    return []
