"""The Redis queue between `policywatch crawl --redis` and the `policywatch worker`s.

When one machine is not enough, `crawl` still plans what is due, but instead of fetching it pushes
one task per document (its whole declaration, so workers need no catalog of their own) to a Redis
list. Workers, long-running Scrapy crawlers reading that list through scrapy-redis
(`crawlers/worker.py`), fetch and record into the store they share (PostgreSQL), and
push each document's outcome to the crawl's own list, which `crawl` reads to print its summary
and exit code as a local crawl does.

A worker moves the tasks it takes to a list of its own (`take`), and removes each once reported:
when a worker dies, `crawl` puts the tasks of its own that the dead worker held back in the queue
for the live ones (`rescue`). `crawl` stops waiting when every document is reported, when no
worker is alive any more, or when no outcome came for `STALL` seconds; what is still queued is
then withdrawn, so no stale task is fetched later.

Two crawls of one store may overlap (cron lines on two machines, a manual crawl during cron's):
each claims the documents it queues, a Redis key per store and document that it renews while it
waits (`Claims`), and queues only those it claimed. A document another live crawl holds, or
fetched since this one planned, is left to it: this crawl reports it `elsewhere`, saying so. Both
fetched it before, and its host served it twice. A claim left unrenewed (its crawl killed
outright) is taken over. A task names its crawl's claim, and a worker drops a task whose crawl no
longer holds it: a crawl killed outright leaves its tasks queued; the next crawl queues the same
documents again, and the orphans fetched them twice (`claim_holders`). This module is both
sides' protocol and the coordinator's loop: it imports redis, not Scrapy, so that `crawl --redis`
starts as fast as a crawl with nothing due.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis
from pydantic import BaseModel, ConfigDict, ValidationError

from crawlers.declarations import Format, Page, PartDeclaration, Render, TrackedDocument
from crawlers.items import CrawlOutcome, CrawlResult, never_reached
from store.db import SECRET_PARAMETER

QUEUE = "policywatch:documents"  # the tasks, read by every worker
WORKER_PREFIX = "policywatch:worker:"  # one key per live worker, gone unless renewed
TAKEN_PREFIX = "policywatch:taken:"  # per worker, the tasks it holds: a dead one's are taken back
HOST_PREFIX = "policywatch:host:"  # per host, set for the download delay when a request starts
CLAIM_PREFIX = "policywatch:claim:"  # per store and document, the crawl that queued it
BEAT = 1.0  # seconds between a worker's renewals
WORKER_TTL = 5  # seconds a worker counts as alive after its last renewal
RESCUE_EVERY = 1.0  # seconds between a crawl's looks for the tasks of workers that died
OUTCOMES_TTL = 24 * 3600  # a crawl's outcomes list outlives any crawl that reads it
STALL = 600.0  # seconds without any outcome after which `crawl` gives up on live workers
# Seconds a crawl waits for a worker when none is alive: systemd restarts a failed one after
# RestartSec=10, a redeploy starts the new one after stopping the old; 5 s failed both.
WORKERLESS = 30.0
# Seconds a crawl's claims outlast its last renewal (every RESCUE_EVERY): a crawl killed outright
# keeps its documents from the others this long. Read at each claim, so tests can shorten it.
CLAIM_TTL = 30.0
# Seconds a claim another crawl holds is watched for a renewal before it is taken for a dead
# crawl's (killed outright, its claims not yet lapsed) and taken over: a live crawl renews its
# claims every RESCUE_EVERY seconds, as a worker its sign of life, and is given as long.
CLAIM_STALE = float(WORKER_TTL)
WATCH_EVERY = 0.2  # seconds between a crawl's looks at the claims another crawl holds
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
# How every client of the queue talks to Redis (`connect`, and the worker's scrapy-redis client
# through REDIS_PARAMS). Seconds to connect and to be answered, beyond a blocking command's own
# wait (a crawl's BLPOP waits 1 s): a Redis that accepts connections and never answers (a paused
# process, a blackholed host) hung a crawl, and a worker's event loop, forever. A timeout is a
# redis.RedisError, so it is an outage like any other; it is not retried: the callers' own loops
# try again.
CLIENT_OPTIONS = {
    "socket_connect_timeout": 5,
    "socket_timeout": 5,
    "retry_on_timeout": False,
    "health_check_interval": 30,
}
# Keys a SCAN looks at per round trip: Redis's default, 10, took a round trip per 10 keys of the
# whole database (the hosts' delays, other crawls' lists) at each of a crawl's looks for workers.
SCAN_COUNT = 1000

logger = logging.getLogger(__name__)


class QueueError(Exception):
    """Redis cannot be used as asked: the message says why and what to do."""


class TaskError(ValueError):
    """A task this worker cannot read: another release's format, or not a task at all."""

    def __init__(self, message: str, crawl: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.crawl = crawl
        self.key = key


@dataclass(frozen=True)
class Task:
    """One document to fetch for one crawl. `claim` is the Redis key of the crawl's claim on the
    document (see `Claims`); None in a task of the previous format, which named none."""

    crawl: str
    document: TrackedDocument
    accept_capture: bool = False
    claim: str | None = None


PROTOCOL = "policywatch-task-2"  # the layout of the tasks this release queues


class _TaskData(BaseModel):
    """A task on the wire. `protocol` names this layout: a worker of another release refuses a
    layout it does not know by name, rather than misreading it."""

    model_config = ConfigDict(extra="forbid")

    # Task 1, the previous release's layout, names no claim: its tasks are fetched unchecked, as
    # that release's workers did, so that workers can be upgraded before the crawls. A worker of
    # that release refuses a task 2 by its protocol, and the crawl reports it failed, saying so.
    protocol: Literal["policywatch-task-2", "policywatch-task-1"]
    crawl: str
    claim: str | None = None
    key: str
    service: str
    type: str
    tags: list[str]
    pages: list[PartDeclaration]
    render: Render = "http"
    format: Format | None = None
    interval: str
    language: str | None = None
    source: str
    accept_capture: bool = False


def encode_task(task: Task) -> str:
    document = task.document
    data = _TaskData(
        protocol=PROTOCOL,
        crawl=task.crawl,
        claim=task.claim,
        key=document.key,
        service=document.service,
        type=document.document_type,
        tags=list(document.tags),
        pages=[
            PartDeclaration(url=page.url, select=list(page.select), remove=list(page.remove))
            for page in document.pages
        ],
        render=document.render,
        format=document.format,
        interval=document.interval,
        language=document.language,
        source=document.source,
        accept_capture=task.accept_capture,
    )
    return data.model_dump_json(exclude_defaults=True, exclude_none=True)


def decode_task(raw: bytes | str) -> Task:
    """The task in `raw`; its selectors are validated again, as a catalog entry's are."""
    try:
        data = _TaskData.model_validate_json(raw)
    except ValidationError as error:
        crawl, key = _ids(raw)
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise TaskError(f"unreadable task ({where}: {problem['msg']})", crawl, key) from None
    document = TrackedDocument(
        key=data.key,
        service=data.service,
        document_type=data.type,
        pages=tuple(_page(part) for part in data.pages),
        tags=tuple(data.tags),
        interval=data.interval,
        language=data.language,
        source=data.source,
        render=data.render,
        format=data.format,
    )
    return Task(data.crawl, document, data.accept_capture, data.claim)


def _page(part: PartDeclaration) -> Page:
    return Page(part.url, tuple(part.select or ()), tuple(part.remove or ()))


def _ids(raw: bytes | str) -> tuple[str | None, str | None]:
    """The crawl and document of a task that does not validate, if they can be read at all, so
    that its crawl hears of the failure instead of waiting for it."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    crawl, key = data.get("crawl"), data.get("key")
    return (crawl if isinstance(crawl, str) else None, key if isinstance(key, str) else None)


def masked(url: str) -> str:
    """The Redis URL without its password, which must never be printed or logged: the one
    before the host, or a `?password=` (redis-py takes both). Read as text, so that a URL too
    broken to connect to (a port that is no number) is still shown masked."""
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if ":" in user:
        user = user.partition(":")[0] + ":****"
    query = [
        (name, "****" if SECRET_PARAMETER.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=f"{user}{at}{host}", query=urlencode(query, safe="*")))


def connect(url: str) -> redis.Redis:
    """A client of the Redis at `url`, checked to answer, or a QueueError saying what is wrong."""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise QueueError(f"--redis takes a redis:// URL, not {masked(url)!r}")
    try:
        client = redis.Redis.from_url(url, **CLIENT_OPTIONS)
        client.ping()
    except (redis.RedisError, ValueError) as error:
        raise QueueError(f"cannot use Redis at {masked(url)}: {error}") from None
    return client


def process_name() -> str:
    """A worker's or a crawl's name, `HOST:PID:RANDOM`: it says where the process runs (a crawl
    that finds a document held tells its operator where the holder is), and is unique even when
    a restarted container reuses its host name and pid (a new worker must not inherit the task
    list of the one it replaces, which it would never release)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def outcomes_key(crawl: str) -> str:
    return f"policywatch:crawl:{crawl}:outcomes"


def heartbeat(client: redis.Redis, worker: str, store: str) -> None:
    """Say that `worker`, recording into `store` (its URL without password), is alive for the
    next WORKER_TTL seconds."""
    client.set(WORKER_PREFIX + worker, store, ex=WORKER_TTL)


def host_turn(client: redis.Redis, host: str, delay: float) -> float:
    """0 when a request may be sent to `host` now, which starts the host's `delay` for every
    worker; otherwise the seconds left of the last one's delay, after which to ask again."""
    key = HOST_PREFIX + host
    if client.set(key, 1, nx=True, px=max(1, round(delay * 1000))):
        return 0.0
    return max(client.pttl(key), 1) / 1000  # -2: it lapsed just now


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
    return [_text(raw) for raw in moved if raw is not None]


def release(client: redis.Redis, worker: str, tasks: Sequence[str]) -> None:
    """Drop tasks from `worker`'s list without reporting them: one naming no crawl to report to,
    or one whose crawl no longer holds its document (`claim_holders`)."""
    with client.pipeline() as pipe:
        for raw in tasks:
            pipe.lrem(TAKEN_PREFIX + worker, 1, raw)
        pipe.execute()


def claim_holders(client: redis.Redis, tasks: Sequence[Task]) -> list[str | None]:
    """The crawl holding each task's document now (None: none does), in one round trip.

    A live crawl renews its claims every second, and releases one only once its document's
    outcome is in, or as it ends, its untaken tasks withdrawn first: a task whose crawl is not
    the holder is an orphan, of a crawl killed outright whose claims lapsed, maybe queued again
    by the crawl that holds it now. A task of the previous format names no claim: its own crawl
    is taken to hold it."""
    claims = [task.claim for task in tasks if task.claim is not None]
    held = iter(client.mget(claims) if claims else [])
    return [task.crawl if task.claim is None else _holder(next(held)) for task in tasks]


def _holder(value: bytes | str | None) -> str | None:
    return None if value is None else _text(value)


def give_back(
    client: redis.Redis, worker: str, tasks: Sequence[str], *, last: bool = False
) -> None:
    """Tasks `worker` took and cannot do (it is stopping, or its store is out of reach), back at
    the head of the queue for another worker, in their order; at its tail if `last`: tasks of
    another store (`of_store`), which this worker, taking from the head, would take again before
    its own. Only those still in its list: a crawl that took this worker for dead may have put
    them back already (`rescue`), and a second copy in the queue would be fetched twice."""
    if tasks:
        pushed = ["RPUSH", *tasks] if last else ["LPUSH", *reversed(tasks)]
        client.register_script(_GIVE_BACK)([TAKEN_PREFIX + worker, QUEUE], pushed)


def of_store(task: Task, store: str) -> bool:
    """Whether `task` was queued by a crawl of `store` (its URL without password), as its claim
    names it: workers of several stores may share a Redis and its one queue, and one of another
    store recorded the page there, where the crawl's own store never heard of it. A task of the
    previous format names no claim, and is taken for this store's, as that release's were."""
    return task.claim is None or task.claim.startswith(claim_prefix(store))


def strays(client: redis.Redis, worker: str, known: Collection[str]) -> int:
    """Put back in the queue the tasks in `worker`'s list that it does not know it holds; how
    many. A reply lost to a Redis that timed out (paused, a network cut) left a task moved to
    the list by a `take` that the worker took for failed, or still there after a `release` or
    `report` it took for failed: the worker, alive, was never rescued, and the crawl waited
    for that document until it gave up (STALL, 10 minutes)."""
    listed = Counter(_text(raw) for raw in client.lrange(TAKEN_PREFIX + worker, 0, -1))
    lost = list((listed - Counter(known)).elements())
    give_back(client, worker, lost)
    return len(lost)


def rescue(client: redis.Redis, crawl: str, alive: Collection[str]) -> dict[str, list[str]]:
    """Put the tasks of `crawl` that workers no longer `alive` were holding back at the head of
    the queue, for the live ones; the documents put back, by the worker that held them."""
    rescued: dict[str, list[str]] = {}
    for key in client.scan_iter(TAKEN_PREFIX + "*", count=SCAN_COUNT):
        worker = _text(key)[len(TAKEN_PREFIX) :]
        if worker in alive:
            continue
        mine = [_text(raw) for raw in client.lrange(key, 0, -1) if _ids(raw)[0] == crawl]
        if mine:
            with client.pipeline() as pipe:
                for raw in mine:
                    pipe.lrem(key, 1, raw)
                pipe.lpush(QUEUE, *reversed(mine))
                pipe.execute()
            rescued[worker] = [_ids(raw)[1] or "?" for raw in mine]
    return rescued


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


def live_workers(client: redis.Redis) -> dict[str, str]:
    """The workers that said they were alive within WORKER_TTL seconds, and their stores."""
    keys = list(client.scan_iter(WORKER_PREFIX + "*", count=SCAN_COUNT))
    stores = client.mget(keys) if keys else []
    return {
        _text(key)[len(WORKER_PREFIX) :]: _text(store)
        for key, store in zip(keys, stores, strict=True)
        if store is not None  # expired between the scan and the read
    }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def report(client: redis.Redis, crawl: str, outcome: CrawlOutcome, worker: str, task: str) -> None:
    """Hand one document's outcome to the crawl that asked for it, and release the task from
    `worker`'s list, in one round trip."""
    key = outcomes_key(crawl)
    with client.pipeline() as pipe:
        pipe.rpush(key, json.dumps(vars(outcome)))
        pipe.expire(key, OUTCOMES_TTL)
        pipe.lrem(TAKEN_PREFIX + worker, 1, task)
        pipe.execute()


def interleaved(documents: Sequence[TrackedDocument]) -> list[TrackedDocument]:
    """The documents with their hosts taken in turn. A worker takes a batch from the head of the
    queue and is polite per host: a batch of one host's documents would keep that worker busy
    one request at a time while the others idle."""
    by_host: dict[str, list[TrackedDocument]] = defaultdict(list)
    for document in documents:
        by_host[urlsplit(document.url).netloc].append(document)
    rounds = zip_longest(*by_host.values())
    return [document for document in chain.from_iterable(rounds) if document is not None]


# A claim is renewed or released only by the crawl holding it: one of ours that lapsed (this
# crawl stalled for CLAIM_TTL) may be another crawl's by now.
_RENEW = """
local renewed = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    renewed = renewed + 1
  end
end
return renewed
"""
# Each task (ARGV[2] on) still in the worker's list (KEYS[1]) is pushed to the queue (KEYS[2]) by
# ARGV[1]: LPUSH, to its head (the tasks given last first), or RPUSH, to its tail.
_GIVE_BACK = """
for i = 2, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call(ARGV[1], KEYS[2], ARGV[i]) end
end
"""
_RELEASE = """
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
"""
# A claim is taken over only from the crawl last seen holding it (ARGV[2i + 1]), and only if
# that crawl has not renewed it since it was last seen (its PTTL no higher, ARGV[2i + 2]).
_TAKE_OVER = """
local taken = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[2 * i + 1]
      and redis.call('PTTL', key) <= tonumber(ARGV[2 * i + 2]) then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    taken[#taken + 1] = key
  end
end
return taken
"""


def _claim_ms() -> int:
    """CLAIM_TTL in milliseconds, read at each claim (tests shorten it)."""
    return round(CLAIM_TTL * 1000)


def claim_prefix(store: str) -> str:
    """What the keys of the claims on `store`'s documents begin with: the store's URL hashed, so
    that crawls of two stores sharing a Redis never hold each other's."""
    return f"{CLAIM_PREFIX}{hashlib.sha256(store.encode()).hexdigest()[:12]}:"


class Claims:
    """The documents a crawl holds, so that another crawl of the same store does not queue them
    too: two overlapping crawls each fetched every document due, a 200 and then a 304 from each
    host. A claim is a key per store and document, naming the crawl, that lapses CLAIM_TTL
    seconds after the crawl last renewed it, as a worker's sign of life does; a crawl that finds
    a claim unrenewed for CLAIM_STALE seconds takes it over, so a crawl killed outright holds its
    documents no longer than that from the next one. Each step is one round trip, whatever the
    number of documents."""

    def __init__(self, client: redis.Redis, store: str, crawl: str) -> None:
        self.client, self.crawl = client, crawl
        self.prefix = claim_prefix(store)
        self.held: set[str] = set()
        # The documents whose claim was taken over, with the dead crawl that held each.
        self.taken_over: dict[str, str] = {}
        self.renew = client.register_script(_RENEW)
        self.release = client.register_script(_RELEASE)
        self.take_over = client.register_script(_TAKE_OVER)

    def key(self, document: str) -> str:
        """The Redis key of the claim on `document`, which the crawl's tasks name."""
        return self.prefix + document

    def take(self, keys: Sequence[str]) -> dict[str, str]:
        """Claim each of `keys` that no live crawl holds; the others, with the crawl holding
        each. A claim another crawl holds is watched until that crawl renews it (it is alive,
        and the document is its), or it is released or lapses (then claimed), or for
        CLAIM_STALE seconds without a renewal (then taken over). A crawl killed outright kept
        its documents until its claims lapsed, 30 s, and the crawl started after it said of
        them that another crawl's summary would report them, which none ever did.

        While it watches, this crawl renews its own claims: a crawl watching a third one's
        must not look dead to another crawl watching its own."""
        watched = {key: (holder, math.inf) for key, holder in self._claim(keys).items()}
        since = dict.fromkeys(watched, time.monotonic())
        alive: dict[str, str] = {}
        renewed = time.monotonic()
        while watched:
            time.sleep(WATCH_EVERY)
            now = time.monotonic()
            if now - renewed >= RESCUE_EVERY:
                self.keep(self.held)
                renewed = now
            looked = self._look(watched)
            free: list[str] = []
            stale: dict[str, tuple[str, float]] = {}
            for key, (holder, ttl) in looked.items():
                if holder is None:
                    free.append(key)
                    continue
                if holder != watched[key][0]:  # claimed by a third crawl: watched afresh
                    since[key] = now
                elif ttl > watched[key][1]:
                    alive[key] = holder
                    del watched[key]
                    continue
                elif now - since[key] >= CLAIM_STALE:
                    stale[key] = (holder, ttl)
                watched[key] = (holder, ttl)
            for key in free + sorted(self._take_over(stale)):
                del watched[key]
            for key, holder in self._claim(free).items():  # another crawl was first
                watched[key], since[key] = (holder, math.inf), now
        return alive

    def _claim(self, keys: Sequence[str]) -> dict[str, str]:
        """Claim each of `keys` that no other crawl holds; the others, with the crawl holding
        each."""
        if not keys:
            return {}
        with self.client.pipeline() as pipe:  # MULTI: each holder read as it was claimed
            for key in keys:
                pipe.set(self.key(key), self.crawl, nx=True, px=_claim_ms())
                pipe.get(self.key(key))
            replies = pipe.execute()[1::2]
        holders = {key: _text(holder) for key, holder in zip(keys, replies, strict=True)}
        self.held |= {key for key, holder in holders.items() if holder == self.crawl}
        return {key: holder for key, holder in holders.items() if key not in self.held}

    def _look(self, keys: Collection[str]) -> dict[str, tuple[str | None, float]]:
        """The crawl holding each of `keys` (None: none does) and the milliseconds its claim
        has left, which rise only when that crawl renews it."""
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.get(self.key(key))
                pipe.pttl(self.key(key))
            replies = pipe.execute()
        return {
            key: (_holder(holder), ttl)
            for key, holder, ttl in zip(keys, replies[::2], replies[1::2], strict=True)
        }

    def _take_over(self, stale: Mapping[str, tuple[str, float]]) -> set[str]:
        """Claim those of `stale` still held by the crawl seen holding them, unrenewed since
        (their time left no higher than seen): that crawl is dead. The keys taken over."""
        if not stale:
            return set()
        seen = [str(value) for holder, ttl in stale.values() for value in (holder, int(ttl))]
        claims = [self.key(key) for key in stale]
        taken = {_text(claim) for claim in self.take_over(claims, [self.crawl, _claim_ms(), *seen])}
        over = {key for key in stale if self.key(key) in taken}
        self.held |= over
        self.taken_over |= {key: stale[key][0] for key in over}
        return over

    def keep(self, keys: Collection[str]) -> bool:
        """Renew the claims on `keys` for CLAIM_TTL seconds, and release the others held:
        their outcomes are in, or the crawl is over (`keep(())`). False when some of those
        to renew were no longer this crawl's (see `_collect`)."""
        kept, done = self.held & set(keys), self.held - set(keys)
        with self.client.pipeline() as pipe:
            if kept:
                self.renew([self.key(key) for key in kept], [self.crawl, _claim_ms()], pipe)
            if done:
                self.release([self.key(key) for key in done], [self.crawl], pipe)
            replies = pipe.execute()
        self.held = kept
        return not kept or replies[0] == len(kept)


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
                # Workers of other stores on this Redis pass this crawl's tasks on (`of_store`).
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
            if time.monotonic() - lost >= CLAIM_TTL:
                yield f"Redis stopped answering ({error})"
                return
            time.sleep(RESCUE_EVERY)
        if time.monotonic() - last > stall:
            yield f"no worker reported any document for {stall:.0f} s"
            return
