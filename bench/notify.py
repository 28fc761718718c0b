"""How long an idle `notify` run takes as the alerts ever sent and the subscriptions grow.

    python bench/notify.py [--sizes 1000,10000,100000] [--subscriptions 1,20,200] [--runs 5]
                           [--pg URL]

Builds a throwaway store per size and number of subscriptions (rows written directly, in bulk:
the crawl is not what is measured): 100 documents, and as many changes as make the size's sent
alerts (at least one per document), each alerted to every subscription and sent. On a few
documents the latest change undid the one before it, and each subscription was sent that
withdrawal: a real store's history has some. Then it times whole delivery runs (`deliver_owed`,
what `policywatch notify` runs) with nothing owed, after the first run, timed apart: it queues
every change built, as the first run after an import does. With `--pg` (an admin
URL), each store is a new PostgreSQL database, dropped after it; SQLite otherwise.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert
from sqlmodel import Session, col, select
from storerows import T0, document_row, store, version_row

from notifier import deliver_owed
from store.db import open_store
from store.models import Change, Delivery, Document, Subscription, Version

DOCUMENTS = 100
REVERTED = 5  # documents whose latest change undid the one before it, withdrawn to everyone


def build(engine: Engine, alerts: int, subscriptions: int) -> None:
    """`alerts` sent alerts: `alerts / subscriptions` changes spread over DOCUMENTS documents,
    plus the undoing one of each REVERTED document (noise: alerted to no one)."""
    per_document = max(alerts // subscriptions // DOCUMENTS, 1)
    documents, versions, changes = [], [], []
    for d in range(DOCUMENTS):
        documents.append(document_row(d))
        wordings = list(range(per_document + 1))
        if d < REVERTED:
            wordings.append(per_document - 1)  # back to the wording before the last change
        for seq, wording in enumerate(wordings):
            versions.append(_version(d, seq, per_document, wording))
            if seq:
                changes.append(_change(d, seq, per_document, meaningful=seq <= per_document))
    teams = [
        {
            "id": s + 1,
            "name": f"team-{s}",
            "url": f"json://127.0.0.1:9/{s}",  # never called: nothing is owed
            "services": [],
            "documents": [],
            "tags": [],
            "categories": [],
            "min_severity": "medium",
            "created_at": T0,
            "active": True,
        }
        for s in range(subscriptions)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Document), documents)
        connection.execute(insert(Version), versions)
        connection.execute(insert(Change), changes)
        connection.execute(insert(Subscription), teams)
        connection.execute(insert(Delivery), list(_deliveries(changes, subscriptions)))


def _version(d: int, seq: int, per_document: int, wording: int) -> dict[str, Any]:
    version_id = d * (per_document + 2) + seq + 1
    return version_row(version_id, d, seq, wording, hour=seq * DOCUMENTS + d)


def _change(d: int, seq: int, per_document: int, *, meaningful: bool) -> dict[str, Any]:
    to_version = d * (per_document + 2) + seq + 1
    return {
        "id": d * (per_document + 1) + seq,
        "document_id": d + 1,
        "from_version_id": to_version - 1,
        "to_version_id": to_version,
        "detected_at": T0 + timedelta(hours=seq * DOCUMENTS + d),
        "meaningful": meaningful,
        "reason": None if meaningful else "flapping",
        "severity": "high" if meaningful else None,
        "categories": ["ai-restriction"] if meaningful else [],
        "summary": f"Change {seq} of document {d}",
        "matches": [],
    }


def _deliveries(changes: list[dict[str, Any]], subscriptions: int) -> Iterator[dict[str, Any]]:
    """Each meaningful change's alert sent to every subscription, and the withdrawal of each
    change a later one undid."""
    undone = {change["id"] - 1: change for change in changes if not change["meaningful"]}
    for change in changes:
        if not change["meaningful"]:
            continue
        sent = change["detected_at"] + timedelta(minutes=1)
        for s in range(subscriptions):
            yield _sent(s, change, f"change:{change['id']}", sent, change_id=change["id"])
            if revert := undone.get(change["id"]):
                event = {
                    "change_id": change["id"],
                    "alerted_at": sent.isoformat(),
                    "reverted_by": revert["id"],
                    "reverted_at": revert["detected_at"].isoformat(),
                }
                at = revert["detected_at"] + timedelta(minutes=1)
                yield _sent(s, change, f"withdrawn:{change['id']}", at, event=event)


def _sent(s: int, change: dict[str, Any], topic: str, at: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "subscription_id": s + 1,
        "document_id": change["document_id"],
        "topic": topic,
        "change_id": None,
        "event": {},
        "status": "sent",
        "attempts": 1,
        "created_at": at,
        "next_attempt_at": at,
        "claimed_at": at,
        "sent_at": at,
        **extra,
    }


def sent(engine: Engine) -> int:
    """The change alerts sent, as built."""
    query = select(func.count()).where(col(Delivery.status) == "sent", col(Delivery.change_id) > 0)
    with Session(engine) as session:
        return session.exec(query).one()


def timed(engine: Engine, runs: int) -> tuple[float, float, float]:
    """Wall time in ms of the first run (it queues every change built, as the first `notify`
    after an import does), then the median and worst of the idle runs after it."""
    start = time.perf_counter()
    assert deliver_owed(engine).messages == 0, "the store owes nothing"
    first = (time.perf_counter() - start) * 1000
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        report = deliver_owed(engine)
        samples.append((time.perf_counter() - start) * 1000)
        assert (report.messages, report.retrying, report.failed) == (0, 0, 0)
    return first, statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="sent alerts, comma-separated")
    parser.add_argument("--subscriptions", default="1,20,200", help="comma-separated")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pg", help="a PostgreSQL admin URL: the stores are databases of it")
    options = parser.parse_args()
    print(
        f"{'SQLite' if options.pg is None else 'PostgreSQL'}, {DOCUMENTS} documents;"
        f" ms per idle notify run (median / worst of {options.runs}); the first run's"
    )
    for subscriptions in (int(n) for n in options.subscriptions.split(",")):
        for size in (int(size) for size in options.sizes.split(",")):
            with store(options.pg) as url:
                engine = open_store(url)
                build(engine, size, subscriptions)
                first, median, worst = timed(engine, options.runs)
                print(
                    f"  {subscriptions:>4} subscriptions {sent(engine):>9,} sent alerts"
                    f" {median:9.1f} / {worst:9.1f}   first {first:9.1f}"
                )
                engine.dispose()


if __name__ == "__main__":
    main()
