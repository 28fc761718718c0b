"""The workers' side of the queue: their signs of life, the tasks each holds, what they report.

A worker moves the tasks it takes to a list of its own (`take`), and removes each once reported
(`report`) or dropped (`release`): a task is always in the queue or in one worker's list. A
worker says it is alive every BEAT seconds (`heartbeat`); when one dies, a crawl puts the tasks
of its own that the dead worker held back in the queue for the live ones (`rescue`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Sequence

import redis

from crawlers.items import CrawlOutcome
from crawlers.queue.connection import text
from crawlers.queue.tasks import task_ids

QUEUE = "policywatch:documents"  # the tasks, read by every worker
WORKER_PREFIX = "policywatch:worker:"  # one key per live worker, gone unless renewed
TAKEN_PREFIX = "policywatch:taken:"  # per worker, the tasks it holds: a dead one's are taken back
BEAT = 1.0  # seconds between a worker's renewals
WORKER_TTL = 5  # seconds a worker counts as alive after its last renewal
RESCUE_EVERY = 1.0  # seconds between a crawl's looks for the tasks of workers that died
OUTCOMES_TTL = 24 * 3600  # a crawl's outcomes list outlives any crawl that reads it
# Keys a SCAN looks at per round trip: Redis's default, 10, took a round trip per 10 keys of the
# whole database (the hosts' delays, other crawls' lists) at each of a crawl's looks for workers.
SCAN_COUNT = 1000


def outcomes_key(crawl: str) -> str:
    return f"policywatch:crawl:{crawl}:outcomes"


def heartbeat(client: redis.Redis, worker: str, store: str) -> None:
    """Say that `worker`, recording into `store` (its URL without password), is alive for the
    next WORKER_TTL seconds."""
    client.set(WORKER_PREFIX + worker, store, ex=WORKER_TTL)


def retire(client: redis.Redis, worker: str) -> None:
    client.delete(WORKER_PREFIX + worker, TAKEN_PREFIX + worker)


def take(client: redis.Redis, worker: str, count: int) -> list[str]:
    """Up to `count` tasks moved from the queue to `worker`'s own list, in one transaction: a
    task is always in one list or the other, so a worker that dies holding it loses nothing."""
    held = TAKEN_PREFIX + worker
    with client.pipeline() as pipe:
        for _ in range(count):
            pipe.lmove(QUEUE, held, "LEFT", "RIGHT")
        pipe.expire(held, OUTCOMES_TTL)  # a dead worker's list, of crawls long over, goes too
        moved = pipe.execute()[:-1]
    return [text(raw) for raw in moved if raw is not None]


def release(client: redis.Redis, worker: str, tasks: Sequence[str]) -> None:
    """Drop tasks from `worker`'s list without reporting them: one naming no crawl to report to,
    or one whose crawl no longer holds its document (`claims.claim_holders`)."""
    with client.pipeline() as pipe:
        for raw in tasks:
            pipe.lrem(TAKEN_PREFIX + worker, 1, raw)
        pipe.execute()


def give_back(
    client: redis.Redis, worker: str, tasks: Sequence[str], *, last: bool = False
) -> None:
    """Tasks `worker` took and cannot do (it is stopping, or its store is out of reach), back at
    the head of the queue for another worker, in their order; at its tail if `last`: tasks of
    another store (`claims.of_store`), which this worker, taking from the head, would take again
    before its own. Only those still in its list: a crawl that took this worker for dead may have
    put them back already (`rescue`), and a second copy in the queue would be fetched twice."""
    if tasks:
        pushed = ["RPUSH", *tasks] if last else ["LPUSH", *reversed(tasks)]
        client.register_script(_GIVE_BACK)([TAKEN_PREFIX + worker, QUEUE], pushed)


def strays(client: redis.Redis, worker: str, known: Collection[str]) -> int:
    """Put back in the queue the tasks in `worker`'s list that it does not know it holds; how
    many. A reply lost to a Redis that timed out (paused, a network cut) left a task moved to
    the list by a `take` that the worker took for failed, or still there after a `release` or
    `report` it took for failed: the worker, alive, was never rescued, and the crawl waited
    for that document until it gave up (STALL, 10 minutes)."""
    listed = Counter(text(raw) for raw in client.lrange(TAKEN_PREFIX + worker, 0, -1))
    lost = list((listed - Counter(known)).elements())
    give_back(client, worker, lost)
    return len(lost)


def rescue(client: redis.Redis, crawl: str, alive: Collection[str]) -> dict[str, list[str]]:
    """Put the tasks of `crawl` that workers no longer `alive` were holding back at the head of
    the queue, for the live ones; the documents put back, by the worker that held them."""
    rescued: dict[str, list[str]] = {}
    for key in client.scan_iter(TAKEN_PREFIX + "*", count=SCAN_COUNT):
        worker = text(key)[len(TAKEN_PREFIX) :]
        if worker in alive:
            continue
        mine = [text(raw) for raw in client.lrange(key, 0, -1) if task_ids(raw)[0] == crawl]
        if mine:
            with client.pipeline() as pipe:
                for raw in mine:
                    pipe.lrem(key, 1, raw)
                pipe.lpush(QUEUE, *reversed(mine))
                pipe.execute()
            rescued[worker] = [task_ids(raw)[1] or "?" for raw in mine]
    return rescued


def live_workers(client: redis.Redis) -> dict[str, str]:
    """The workers that said they were alive within WORKER_TTL seconds, and their stores."""
    keys = list(client.scan_iter(WORKER_PREFIX + "*", count=SCAN_COUNT))
    stores = client.mget(keys) if keys else []
    return {
        text(key)[len(WORKER_PREFIX) :]: text(store)
        for key, store in zip(keys, stores, strict=True)
        if store is not None  # expired between the scan and the read
    }


def report(client: redis.Redis, crawl: str, outcome: CrawlOutcome, worker: str, task: str) -> None:
    """Hand one document's outcome to the crawl that asked for it, and release the task from
    `worker`'s list, in one round trip."""
    key = outcomes_key(crawl)
    with client.pipeline() as pipe:
        pipe.rpush(key, json.dumps(vars(outcome)))
        pipe.expire(key, OUTCOMES_TTL)
        pipe.lrem(TAKEN_PREFIX + worker, 1, task)
        pipe.execute()


# Each task (ARGV[2] on) still in the worker's list (KEYS[1]) is pushed to the queue (KEYS[2]) by
# ARGV[1]: LPUSH, to its head (the tasks given last first), or RPUSH, to its tail.
_GIVE_BACK = """
for i = 2, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call(ARGV[1], KEYS[2], ARGV[i]) end
end
"""
