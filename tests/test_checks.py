"""Checks written together: one transaction for the checks that arrive at once, an outcome only
once its check is in the store, and a failed batch failing every check it held."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, event, func
from sqlmodel import Session, col, select

from crawlers import checks
from crawlers.checks import CheckWriter
from store.db import open_store
from store.models import Document, Fetch
from store.repository import Attempt, Check, DocumentInfo, Repository

KEYS = [f"bench/policy-{n:03d}" for n in range(checks.SIZE + 5)]


@pytest.fixture
def engine(db_url: str) -> Engine:
    engine = open_store(db_url)
    infos = [DocumentInfo(key, "Bench", key, f"https://e.invalid/{key}") for key in KEYS]
    Repository(engine).sync_documents(infos)
    return engine


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[object]]:
    """The transactions committed while the test runs."""
    committed: list[object] = []
    listener = committed.append  # one bound method, to remove the very listener added
    event.listen(engine, "commit", listener)
    yield committed
    event.remove(engine, "commit", listener)


def check(key: str, not_modified: bool = True) -> Check:
    return Check(key, Attempt(f"https://e.invalid/{key}", status=304), not_modified)


def fetch_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Fetch)).one()


async def record_all(writer: CheckWriter, keys: list[str]) -> list[BaseException | None]:
    results = await asyncio.gather(
        *(writer.record(check(key)) for key in keys), return_exceptions=True
    )
    return list(results)


def test_checks_arriving_together_share_one_transaction(
    engine: Engine, commits: list[object]
) -> None:
    writer = CheckWriter(Repository(engine))
    assert asyncio.run(record_all(writer, KEYS[:7])) == [None] * 7
    assert (len(commits), fetch_rows(engine)) == (1, 7)


def test_a_batch_holds_at_most_size_checks(engine: Engine, commits: list[object]) -> None:
    writer = CheckWriter(Repository(engine))
    assert asyncio.run(record_all(writer, KEYS)) == [None] * len(KEYS)
    assert (len(commits), fetch_rows(engine)) == (2, len(KEYS))


def test_a_check_alone_is_written_after_the_delay(engine: Engine, commits: list[object]) -> None:
    async def one() -> tuple[int, int]:
        writer = CheckWriter(Repository(engine))
        await writer.record(check(KEYS[0], not_modified=False))
        written = fetch_rows(engine)  # read by another connection: it has committed
        await writer.record(check(KEYS[1]))
        return written, fetch_rows(engine)

    assert asyncio.run(one()) == (1, 2)
    assert len(commits) == 2
    with Session(engine) as session:
        outcomes = session.exec(select(Fetch.outcome).order_by(col(Fetch.id))).all()
        first = session.exec(select(Document).where(Document.key == KEYS[0])).one()
    assert outcomes == ["unchanged", "not-modified"]
    assert first.last_checked is not None


def test_a_failed_batch_fails_each_of_its_checks_and_writes_none(engine: Engine) -> None:
    writer = CheckWriter(Repository(engine))
    results = asyncio.run(record_all(writer, [KEYS[0], "nowhere/unknown", KEYS[1]]))
    assert [type(result) for result in results] == [KeyError] * 3
    assert "unknown document nowhere/unknown" in str(results[0])
    assert fetch_rows(engine) == 0
    assert asyncio.run(record_all(writer, [KEYS[0]])) == [None]  # the next batch is written
    assert fetch_rows(engine) == 1


def test_two_crawls_checking_the_same_documents_at_once_do_not_deadlock(engine: Engine) -> None:
    """Each writer stops after its first UPDATE until the other has made its own (or for 2 s).
    Locking in the order given, they would each hold one row and wait for the other's: a
    deadlock, which PostgreSQL breaks by failing one of them."""
    halfway = threading.Barrier(2, timeout=2)
    first_update = threading.local()

    def pause(_connection: object, statement: object, *_: object) -> None:
        if getattr(statement, "is_update", False) and not getattr(first_update, "done", False):
            first_update.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                halfway.wait()  # times out when the other writer is waiting for this one's row

    event.listen(engine, "after_execute", pause)
    repository = Repository(engine)
    pair = [check(KEYS[0]), check(KEYS[1])]
    with ThreadPoolExecutor(2) as pool:
        writes = [pool.submit(repository.record_checks, order) for order in (pair, pair[::-1])]
        assert [write.result(timeout=30) for write in writes] == [None, None]
    event.remove(engine, "after_execute", pause)
    assert fetch_rows(engine) == 4
