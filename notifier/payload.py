"""The alert as data, for the programs that receive it: the `policywatch` field of a JSON or
form webhook's payload.

A person reads the title and the body; a program should not have to parse them. Each alert
names its kind, the subscription it went to, the outbox rows it delivers (an id seen again is a
resend: the one window where a message may arrive twice), and its changes with the fields of
`history --json` (a digest's most severe first, as its text lists them), or its documents with
their fetch problem. A withdrawal's change also has `reverted`, the change that undid it, as
`history --json` gives it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from notifier.messages import most_severe_first, review_url
from store.models import REINSTATED, WITHDRAWN
from store.outbox.deliveries import Owed
from store.queries import ChangeRow

# A withdrawal's or reinstatement's change: the field naming the change that moved the page,
# and the event's keys of that change's id and time.
_RECALLED = {
    WITHDRAWN: ("reverted", "reverted_by", "reverted_at"),
    REINSTATED: ("reinstated", "reinstated_by", "reinstated_at"),
}
# A fetch problem's fields, null where the event has none (a resumption has no issue).
_DOCUMENT_FIELDS = ("key", "service", "document_type", "url", "issue", "detail", "streak", "since")


def alert_data(
    kind: str,
    subscription: str,
    *,
    deliveries: Sequence[int] = (),
    changes: Sequence[ChangeRow] = (),
    documents: Sequence[dict[str, Any]] = (),
    base_url: str | None = None,
) -> dict[str, Any]:
    """The object a webhook's program reads; every key is always there, lists maybe empty."""
    return {
        "kind": kind,
        "subscription": subscription,
        "deliveries": sorted(deliveries),
        "changes": [
            {**change.to_json(), "review_url": review_url(change, base_url)} for change in changes
        ],
        "documents": [{name: event.get(name) for name in _DOCUMENT_FIELDS} for event in documents],
    }


def owed_data(items: Sequence[Owed], base_url: str | None) -> dict[str, Any]:
    """The data of one message delivering `items` (one subscription's, sent together)."""
    first = items[0]
    changes = [item.change for item in items if item.change]
    kind = "digest" if first.kind == "change" and first.subscription.digest else first.kind
    data = alert_data(
        kind,
        first.subscription.name,
        deliveries=[item.delivery_id for item in items],
        changes=most_severe_first(changes),
        documents=sorted(
            (item.event for item in items if item.change is None),
            key=lambda event: (event["service"], event["document_type"]),  # as the text lists them
        ),
        base_url=base_url,
    )
    if kind in _RECALLED:  # one change, and the change that took it back or put it back
        field, by, at = _RECALLED[kind]
        [change] = data["changes"]
        change[field] = {"change_id": first.event[by], "detected_at": first.event[at]}
    return data
