"""`crawl --redis`: the due documents queued for the workers, and their outcomes collected.

`crawl` still plans what is due, but instead of fetching it queues one task per document it
claims, and reads the outcomes the workers push to the crawl's own list, to print its summary and
exit code as a local crawl does. It stops waiting when every document is reported, when no worker
is alive any more, or when no outcome came for `STALL` seconds; what is still queued is then
withdrawn, so no stale task is fetched later.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import chain, zip_longest
from urllib.parse import urlsplit

import redis

from crawlers.declarations import TrackedDocument
from crawlers.items import CrawlOutcome, CrawlResult, never_reached
from crawlers.queue.claims import Claims, claim_ttl
from crawlers.queue.connection import QueueError, process_name
from crawlers.queue.tasks import Task, encode_task
from crawlers.queue.workers import (
    QUEUE,
    RESCUE_EVERY,
    WORKER_TTL,
    live_workers,
    outcomes_key,
    rescue,
)

STALL = 600.0  # seconds without any outcome after which `crawl` gives up on live workers
# Seconds a crawl waits for a worker when none is alive: systemd restarts a failed one after
# RestartSec=10, a redeploy starts the new one after stopping the old; 5 s failed both.
WORKERLESS = 30.0
# The outcome of a document another crawl of the store claimed, and its details.
ELSEWHERE = "elsewhere"
FETCHING_ELSEWHERE = "being fetched by another crawl"
FETCHED_MEANWHILE = "fetched by another crawl since this one planned"
# The same, by a crawl whose claim this one took over: that crawl died, and reports nothing.
FETCHED_FOR_A_STOPPED_CRAWL = (
    "fetched since this crawl planned, for a crawl that stopped (killed outright?) before"
    " reporting it"
)
# Why a crawl stops waiting when its claims are gone: the workers drop its tasks.
CLAIMS_LOST = (
    "this crawl's claims in Redis lapsed or were lost (the crawl was suspended, or Redis"
    " restarted without its data): the workers drop its tasks"
)
logger = logging.getLogger(__name__)


def check_workers(client: redis.Redis, store: str, *, patience: float = WORKER_TTL) -> None:
    """Raise a QueueError unless a worker records into `store` (a store URL, without password).
    Without any worker, the tasks would wait for nobody; with workers of another store, the
    crawl would plan and alert from a store that never hears of their fetches. None of this
    store's alive is waited for up to `patience` seconds: a crawl started with its workers (at
    boot), or in the second Redis came back empty, was refused before their first beat, and so
    was one beside another store's live worker (staging sharing production's Redis)."""
    deadline = time.monotonic() + patience
    try:
        workers = live_workers(client)
        while store not in workers.values() and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = live_workers(client)
    except redis.RedisError as error:
        raise _unanswered(error) from None
    if not workers:
        raise QueueError(
            "no policywatch worker is alive on this Redis: start one with "
            "`policywatch worker --redis URL --db URL` (nothing was queued)"
        )
    if store not in workers.values():
        theirs = ", ".join(sorted(set(workers.values())))
        raise QueueError(
            f"the workers on this Redis record into {theirs}, not into {store}: give `crawl` "
            "and `worker` the same --db (nothing was queued)"
        )


def dispatch(
    client: redis.Redis,
    documents: Sequence[TrackedDocument],
    store: str,
    *,
    fetched_meanwhile: Callable[[list[str]], Collection[str]],
    accept_capture: frozenset[str] = frozenset(),
    on_outcome: Callable[[CrawlOutcome], None] = lambda _: None,
    stall: float = STALL,
) -> CrawlResult:
    """Queue `documents` for the workers and collect their outcomes, in the documents' order.

    Only the documents this crawl claims are queued; the others are `elsewhere` (see `Claims`),
    as are those `fetched_meanwhile` says were checked since this crawl planned, among those it
    claimed: another crawl fetched them and let go between this one's plan and its claim.
    Refuses as `check_workers` does. Whatever ends the wait, Ctrl-C included (which, as in a
    local crawl, ends it with the outcomes so far), the tasks no worker took are withdrawn from
    the queue and the claims released.
    """
    if not documents:
        return CrawlResult()
    check_workers(client, store)
    crawl = process_name()
    claims = Claims(client, store, crawl)
    elsewhere: dict[str, CrawlOutcome] = {}
    tasks: dict[str, str] = {}
    outcomes: dict[str, CrawlOutcome] = {}
    why = "the crawl stopped before a worker reported it"
    gave_up: str | None = None
    stopped_by: int | None = None
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        for key, holder in claims.take([document.key for document in documents]).items():
            elsewhere[key] = CrawlOutcome(key, ELSEWHERE, f"{FETCHING_ELSEWHERE} ({holder})")
        for key in fetched_meanwhile(sorted(claims.held)):
            dead = claims.taken_over.get(key)  # no summary of its crawl reports it
            why = FETCHED_MEANWHILE if dead is None else f"{FETCHED_FOR_A_STOPPED_CRAWL} ({dead})"
            elsewhere[key] = CrawlOutcome(key, ELSEWHERE, why)
        claims.keep(claims.held - elsewhere.keys())
        for left in elsewhere.values():
            on_outcome(left)
        tasks = {
            document.key: encode_task(
                Task(crawl, document, document.key in accept_capture, claims.key(document.key))
            )
            for document in interleaved(documents)
            if document.key not in elsewhere
        }
        if tasks:
            client.rpush(QUEUE, *tasks.values())
        for outcome in _collect(client, crawl, store, set(tasks), stall, claims):
            if isinstance(outcome, str):
                why = gave_up = outcome
                break
            outcomes[outcome.key] = outcome
            on_outcome(outcome)
    except (KeyboardInterrupt, _Terminated) as stop:  # as a local crawl: the summary so far
        why = "the crawl was interrupted before a worker reported it"
        stopped_by = signal.SIGTERM if isinstance(stop, _Terminated) else signal.SIGINT
    except redis.RedisError as error:  # before the wait, which rides outages out (`_collect`)
        raise _unanswered(error) from None
    finally:
        try:
            with client.pipeline() as pipe:
                for key, task in tasks.items():
                    if key not in outcomes:
                        pipe.lrem(QUEUE, 1, task)
                pipe.delete(outcomes_key(crawl))
                pipe.execute()
            claims.keep(())
        except redis.RedisError:  # Redis gone: the tasks left are dropped once the claims lapse
            pass
        signal.signal(signal.SIGTERM, previous)
    return CrawlResult(
        [
            outcomes.get(doc.key) or never_reached(doc.key, why)
            for doc in documents
            if doc.key not in elsewhere
        ],
        stopped_by=stopped_by,
        elsewhere=[elsewhere[doc.key] for doc in documents if doc.key in elsewhere],
        gave_up=gave_up,
    )


def _unanswered(error: redis.RedisError) -> QueueError:
    """Redis lost before the tasks were queued: a refusal, as a Redis out of reach at the start
    is, where it was a traceback."""
    return QueueError(
        f"Redis stopped answering before the documents were queued ({error}): the crawl"
        " stopped; those not fetched are due again at the next crawl"
    )


class _Terminated(Exception):
    """SIGTERM during a crawl's wait, as KeyboardInterrupt is SIGINT: it ended the process
    outright, its tasks left in the queue and its claims held until they lapsed."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def _collect(
    client: redis.Redis, crawl: str, store: str, keys: set[str], stall: float, claims: Claims
) -> Iterator[CrawlOutcome | str]:
    """Each outcome as a worker reports it; a string saying why, if the wait ends before all.
    Every RESCUE_EVERY seconds, the claims of the documents still awaited are renewed, and
    those of the documents reported released.

    Redis may stop answering (restarted, the network): the wait goes on for up to CLAIM_TTL
    seconds, the claims' own patience, and ends then, saying so, instead of a traceback that
    left no summary and no alert. Claims found gone (Redis came back without its data, or this
    crawl was suspended longer than CLAIM_TTL) end it too: the workers drop the tasks of a crawl
    that holds no claim, and it would have waited STALL seconds for them."""
    waiting = set(keys)
    last = looked = time.monotonic()
    lost: float | None = None  # when Redis stopped answering
    gone: float | None = None  # since when no worker is alive
    while waiting:
        try:
            popped = client.blpop([outcomes_key(crawl)], timeout=1)
            if popped is not None:
                outcome = CrawlOutcome(**json.loads(popped[1]))
                if outcome.key in waiting:
                    waiting.discard(outcome.key)
                    last = time.monotonic()
                    yield outcome
            # Whether outcomes come or not: the tasks of a worker that died were looked for only
            # once all had gone quiet, and waited for the end of the crawl while others reported.
            if time.monotonic() - looked >= RESCUE_EVERY or lost is not None:
                looked = time.monotonic()
                if not claims.keep(waiting):
                    yield CLAIMS_LOST
                    return
                alive = live_workers(client)
                # Workers of other stores on this Redis pass this crawl's tasks on
                # (`claims.of_store`).
                gone = None if store in alive.values() else gone or looked
                # Not as soon as the last worker goes: one restarted is back within WORKERLESS;
                # and what the last ones reported is read first.
                if gone is not None and popped is None and looked - gone > WORKERLESS:
                    yield f"every worker stopped before reporting it (none for {WORKERLESS:.0f} s)"
                    return
                if rescued := rescue(client, crawl, alive):  # a worker died holding some
                    _say_rescued(rescued)
                    last = time.monotonic()
            lost = None
        except redis.RedisError as error:
            lost = lost or time.monotonic()
            if time.monotonic() - lost >= claim_ttl():
                yield f"Redis stopped answering ({error})"
                return
            time.sleep(RESCUE_EVERY)
        if time.monotonic() - last > stall:
            yield f"no worker reported any document for {stall:.0f} s"
            return


def _say_rescued(rescued: Mapping[str, list[str]]) -> None:
    """Tell the operator, once, which documents were taken back from which dead worker: a worker
    killed (`kill -9`, out of memory, a lost machine) showed nowhere, its pages fetched again by
    the others as if nothing had happened, and its death went unnoticed crawl after crawl."""
    for worker, keys in rescued.items():
        count = f"{len(keys)} document{'' if len(keys) == 1 else 's'}"
        logger.warning(
            "worker %s stopped answering (no sign of life for %d s) while fetching %s of this"
            " crawl, put back in the queue for the other workers: %s",
            worker,
            WORKER_TTL,
            count,
            ", ".join(keys),
        )


def interleaved(documents: Sequence[TrackedDocument]) -> list[TrackedDocument]:
    """The documents with their hosts taken in turn. A worker takes a batch from the head of the
    queue and is polite per host: a batch of one host's documents would keep that worker busy
    one request at a time while the others idle."""
    by_host: dict[str, list[TrackedDocument]] = defaultdict(list)
    for document in documents:
        by_host[urlsplit(document.url).netloc].append(document)
    rounds = zip_longest(*by_host.values())
    return [document for document in chain.from_iterable(rounds) if document is not None]
