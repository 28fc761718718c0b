"""What the outbox does at each run grows with what is owed, and no faster: stores of the
benchmarks' synthetic rows (`bench/notify.py`), by what each run does and the query plans it
takes (its times are the benchmark's to measure)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, update
from sqlmodel import Session, col, select

from store.db import open_store
from store.models import Change, Delivery, Subscription
from store.outbox.owed import queue_owed

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def notify_bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("notify")


def test_a_run_owing_thousands_of_alerts_queues_each_once_and_marks_every_change(
    tmp_path: Path, notify_bench: ModuleType
) -> None:
    """3,000 changes not yet queued (a first run after a large import), marked queued in batches
    and their rows inserted as parameters of one statement, duplicates ignored: every change is
    marked, and what was already sent is not owed again. How long it takes is measured by
    `bench/notify.py` (its first run: 12,000 changes took 12.8 s of CPU, their square, now 2)."""
    engine = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    notify_bench.build(engine, 3_000, 1)
    with engine.begin() as connection:  # asks about the changes not yet queued, as every run
        connection.execute(update(Subscription).values(caught_up=True))
    sent = _count(engine, select(func.count()).select_from(Delivery))

    queue_owed(engine, datetime.now(UTC))

    assert _count(engine, select(func.count()).where(col(Change.queued).is_(False))) == 0
    assert _count(engine, select(func.count()).select_from(Delivery)) == sent > 3_000


def _count(engine: Engine, query: Any) -> int:
    with Session(engine) as session:
        return int(session.exec(query).one())


def test_the_withdrawals_a_reinstatement_may_follow_are_looked_up_by_index(
    db_url: str, notify_bench: ModuleType
) -> None:
    """Each run asks which withdrawals sent may be followed by a reinstatement, by topic. Over an
    index of every delivery's topic, PostgreSQL (no statistics yet, or reckoning each topic owed
    to every subscription) read all 100,100 deliveries of the benchmark's store: 52 ms a run;
    by the follow-ups' own index, 0.2 ms."""
    engine = open_store(db_url)
    notify_bench.build(engine, 100_000 if "postgresql" in db_url else 20_000, 20)
    asked: list[tuple[str, Any]] = []

    def keep(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "delivery.topic IN" in statement:
            asked.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    queue_owed(engine, datetime.now(UTC))
    event.remove(engine, "before_cursor_execute", keep)

    [(statement, parameters)] = asked
    sqlite = db_url.startswith("sqlite")
    with engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, parameters)
        plan = " ".join(str(row[-1] if sqlite else row[0]) for row in cursor.fetchall())
    assert "Seq Scan on delivery" not in plan and "SCAN delivery " not in f"{plan} ", plan
    assert "ix_delivery_follow_up_topic" in plan, plan


def test_each_documents_latest_meaningful_change_is_read_from_an_index(tmp_path: Path) -> None:
    """`documents` and every timeline page (its filters list the documents) ask when each
    document last changed meaningfully: from every change's row, 240 ms at 30,000 changes on
    SQLite; from the index on (document, meaningful, detected_at) alone, 30 ms; then from the
    end of each document's range of it, not the whole index grouped (8 -> 0.1 ms)."""
    from sqlalchemy import select

    from store.models import Document
    from store.queries.documents import _last_meaningful_of

    engine = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    each = select(Document.id, _last_meaningful_of(Document.id))  # type: ignore[call-overload]
    query = each.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        plan = " ".join(
            row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
        )
    assert "SEARCH change USING COVERING INDEX ix_change_document_meaningful" in plan, plan
    assert "SCAN change" not in plan, plan
