"""The claims that keep two overlapping crawls of one store from queuing the same documents.

Two crawls of one store may overlap (cron lines on two machines, a manual crawl during cron's):
each claims the documents it queues, a Redis key per store and document that it renews while it
waits (`Claims`), and queues only those it claimed. A document another live crawl holds is left
to it. A claim left unrenewed (its crawl killed outright) is taken over. A task names its
crawl's claim, and a worker drops a task whose crawl no longer holds it (`claim_holders`): a
crawl killed outright leaves its tasks queued, the next crawl queues the same documents again,
and the orphans fetched them twice. A worker also leaves the tasks of another store's crawl to
that store's workers (`of_store`).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Collection, Mapping, Sequence

import redis

from crawlers.queue.connection import text
from crawlers.queue.tasks import Task
from crawlers.queue.workers import RESCUE_EVERY, WORKER_TTL

CLAIM_PREFIX = "policywatch:claim:"  # per store and document, the crawl that queued it
# Seconds a crawl's claims outlast its last renewal (every RESCUE_EVERY): a crawl killed outright
# keeps its documents from the others this long. Read at each claim, so tests can shorten it.
CLAIM_TTL = 30.0
# Seconds a claim another crawl holds is watched for a renewal before it is taken for a dead
# crawl's (killed outright, its claims not yet lapsed) and taken over: a live crawl renews its
# claims every RESCUE_EVERY seconds, as a worker its sign of life, and is given as long.
CLAIM_STALE = float(WORKER_TTL)
WATCH_EVERY = 0.2  # seconds between a crawl's looks at the claims another crawl holds


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
    return None if value is None else text(value)


def of_store(task: Task, store: str) -> bool:
    """Whether `task` was queued by a crawl of `store` (its URL without password), as its claim
    names it: workers of several stores may share a Redis and its one queue, and one of another
    store recorded the page there, where the crawl's own store never heard of it. A task of the
    previous format names no claim, and is taken for this store's, as that release's were."""
    return task.claim is None or task.claim.startswith(claim_prefix(store))


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
    return round(claim_ttl() * 1000)


def claim_ttl() -> float:
    """CLAIM_TTL, read at each use (tests shorten it): also how long a crawl whose Redis stopped
    answering waits for it (`coordinator._collect`), its claims' own patience."""
    return CLAIM_TTL


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
        holders = {key: text(holder) for key, holder in zip(keys, replies, strict=True)}
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
        taken = {text(claim) for claim in self.take_over(claims, [self.crawl, _claim_ms(), *seen])}
        over = {key for key in stale if self.key(key) in taken}
        self.held |= over
        self.taken_over |= {key: stale[key][0] for key in over}
        return over

    def keep(self, keys: Collection[str]) -> bool:
        """Renew the claims on `keys` for CLAIM_TTL seconds, and release the others held:
        their outcomes are in, or the crawl is over (`keep(())`). False when some of those
        to renew were no longer this crawl's (see `coordinator._collect`)."""
        kept, done = self.held & set(keys), self.held - set(keys)
        with self.client.pipeline() as pipe:
            if kept:
                self.renew([self.key(key) for key in kept], [self.crawl, _claim_ms()], pipe)
            if done:
                self.release([self.key(key) for key in done], [self.crawl], pipe)
            replies = pipe.execute()
        self.held = kept
        return not kept or replies[0] == len(kept)
