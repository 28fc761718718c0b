"""The worker's spider: the policy spider fed from the Redis queue by scrapy-redis.

It lives outside `crawlers/spiders/`, whose every module Scrapy imports at each crawl: a local
crawl needs neither scrapy-redis nor redis-py (the optional `workers` extra).

A batch of tasks (as many as `CONCURRENT_REQUESTS`) is taken when scrapy-redis's `RedisMixin` finds
this worker idle, or sooner, once half of the last batch is answered: each worker holds only what
it can fetch soon, and the others take the rest. Taken tasks move to this worker's own list in
Redis (`crawlers.queue.workers.take`), where a crawl finds them if the worker dies. The documents
of a batch are synced with the store together (one transaction, as a local crawl syncs its
selection); each outcome goes to the crawl that queued it (`crawlers.queue.workers.report`). A task
whose crawl no longer holds its document (killed outright, its claims lapsed) is dropped, not
fetched. A worker stopped with SIGINT or SIGTERM takes no more tasks, puts back at once those whose
requests are not sent, and finishes the pages it is fetching (Scrapy's graceful stop); a task it
took and could not start (its store unreachable, say) goes back to the queue for another worker.
Redis failing (a restart, a network cut) costs no page: one answered meanwhile is recorded, and its
outcome reported once Redis answers again; a task whose move to this worker's list Redis made but
whose reply was lost goes back to the queue then (`_mend`). Its sign of life comes from a thread
(`Pulse`), so that a page that holds the event loop does not make it look dead.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from functools import partial
from typing import Any

import redis
import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis.spiders import RedisMixin
from twisted.internet.task import LoopingCall
from twisted.python.failure import Failure

from crawlers.declarations import TrackedDocument
from crawlers.items import CrawlOutcome, FetchedPage, FetchFailed, PageBody
from crawlers.middlewares import stop_asked
from crawlers.queue.claims import claim_holders, of_store
from crawlers.queue.tasks import Task, TaskError, decode_task
from crawlers.queue.workers import (
    BEAT,
    QUEUE,
    give_back,
    heartbeat,
    release,
    report,
    retire,
    strays,
    take,
)
from crawlers.spiders.policy import PolicySpider, document_info
from store.db import StoreError, check_schema, open_store, public_url
from store.repository import Repository

# What the worker does (stopping, tasks passed on or put back, Redis back) is said at INFO, a
# plain line in its log; WARNING is for what is wrong: Redis out of reach, a dead crawl's tasks.
logger = logging.getLogger(__name__)


class RedisWatch:
    """Says once that Redis is out of reach, again each minute it stays so, and when it answers
    again: the worker's pulse, beat and idle handler each failed every second, and an outage
    of a minute wrote over a hundred lines in the service's log."""

    REPEAT = 60.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.down_since: float | None = None
        self.said = 0.0

    def failed(self, error: redis.RedisError) -> None:
        with self.lock:
            now = time.monotonic()
            if self.down_since is None:
                self.down_since = now
            elif now - self.said < self.REPEAT:
                return
            self.said = now
            since = f" (for {now - self.down_since:.0f} s)" if now > self.down_since else ""
        logger.warning("cannot reach Redis%s: %s", since, error)

    def answered(self) -> None:
        with self.lock:
            if self.down_since is None:
                return
            down, self.down_since = time.monotonic() - self.down_since, None
        logger.info("Redis answers again, after %.0f s", down)


class Pulse(threading.Thread):
    """Renews the worker's sign of life every BEAT seconds from a thread of its own: a page that
    holds the event loop longer than WORKER_TTL (a huge page or PDF being read, a lock the store
    waits for) made the worker look dead, and another worker fetched its tasks again. Only while
    the loop has ticked within `hung` seconds (POLICYWATCH_WORKER_HUNG): a worker whose loop is
    stuck must look dead, for its tasks to be taken back."""

    def __init__(self, renew: Callable[[], None], hung: float, watch: RedisWatch) -> None:
        super().__init__(name="policywatch-pulse", daemon=True)
        self.renew = renew
        self.watch = watch
        self.hung = hung
        self.ticked = time.monotonic()
        self.stopped = threading.Event()

    def tick(self) -> None:
        """From the event loop: it runs."""
        self.ticked = time.monotonic()

    def run(self) -> None:
        while True:
            if time.monotonic() - self.ticked < self.hung:
                try:
                    self.renew()
                except redis.RedisError as error:  # the next beat tries again
                    self.watch.failed(error)
                else:
                    self.watch.answered()
            if self.stopped.wait(BEAT):
                return

    def stop(self) -> None:
        self.stopped.set()
        if self.is_alive():
            self.join()


class QueuedPolicySpider(RedisMixin, PolicySpider):
    """Fetches what `policywatch crawl --redis` queues, until the worker is stopped."""

    name = "policy-queue"
    # A store that fails may come back (a database restarting): a service keeps going, and
    # reports each document it could not record to its crawl.
    stops_when_the_store_fails = False
    redis_key = QUEUE
    server: redis.Redis

    def __init__(self, worker: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.worker = worker
        # The tasks taken and not yet reported, by document (two crawls may queue one document,
        # and one fetch answers both), each with its text as queued, to release or give back.
        self.taken: dict[str, list[tuple[Task, str]]] = {}
        # Outcomes Redis failed to take (crawl, outcome, task), reported again at each beat: the
        # crawl waited for them until it gave up, the worker alive and its tasks never rescued.
        self.unreported: list[tuple[str, CrawlOutcome, str]] = []
        self.drained = False  # the last look at the queue found fewer tasks than a batch
        self.unanswered = 0  # requests sent or queued here, their response not yet in
        # The documents a page of which was answered, being read or recorded: in hand on a stop.
        # Not a combined one waiting for its next page, which a stop does not send.
        self.answered: set[str] = set()
        # scrapy-redis sets this once, when its module is imported: the idle clock starts now.
        self.spider_idle_start_time = int(time.time())
        self.beat = LoopingCall(self._beat)
        self.pulse: Pulse | None = None  # started with the store's URL, in start()
        self.redis = RedisWatch()
        self.store = ""  # the store's URL without password, once start() has opened it
        self.passed_on: set[str] = set()  # the crawls of other stores whose tasks were seen

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> QueuedPolicySpider:
        spider: QueuedPolicySpider = super().from_crawler(crawler, *args, **kwargs)
        spider.setup_redis(crawler)
        crawler.signals.connect(spider._reported, signal=signals.item_scraped)
        crawler.signals.connect(spider._stop_asked, signal=stop_asked)
        crawler.signals.connect(spider._stopping, signal=signals.spider_closed)
        return spider

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.repository = Repository(open_store(self.settings["POLICYWATCH_DB"]))
        self.store = public_url(self.repository.engine.url)  # as crawls name it, to match theirs
        self.pulse = Pulse(
            partial(heartbeat, self.server, self.worker, self.store),
            self.settings.getfloat("POLICYWATCH_WORKER_HUNG"),
            self.redis,
        )
        self.pulse.start()
        self.beat.start(BEAT)
        for request in self.next_requests():
            yield request

    def next_requests(self) -> Iterator[scrapy.Request]:
        """The requests of the next batch of tasks: scrapy-redis asks when this worker is idle,
        `_take_more` before. A task taken is this worker's until its outcome is reported or it
        is put back."""
        fresh: list[Task] = []
        batch = take(self.server, self.worker, self.redis_batch_size)
        self.drained = len(batch) < self.redis_batch_size
        read = [(task, raw) for raw in batch if (task := self._read(raw)) is not None]
        for task, raw in self._claimed(self._ours(read)):
            key = task.document.key
            if key not in self.taken:
                fresh.append(task)
            self.taken.setdefault(key, []).append((task, raw))
        if not fresh:
            return
        assert self.repository is not None, "start() opens the store"
        try:
            check_schema(self.repository.engine)
            self.repository.sync_documents([document_info(task.document) for task in fresh])
            self.states.update(self.repository.fetch_states([t.document.key for t in fresh]))
        except StoreError as error:  # a newer release's store: leave its tasks to its workers
            self._put_back([task.document.key for task in fresh])
            if self.store_failure is None:
                self.store_failure = (
                    f"the worker stopped: {error} ({_tasks(len(fresh))} put back in the queue)"
                )
                deferred_from_coro(self.crawler.stop_async())
            return
        except Exception as error:
            logger.error(
                "cannot reach the store, %s put back in the queue: %s",
                _tasks(len(fresh)),
                error,
            )
            self._put_back([task.document.key for task in fresh])
            return
        for task in fresh:
            self.documents[task.document.key] = task.document
            if task.accept_capture:
                self.accept_capture.add(task.document.key)
            yield self._request(task.document, [], time.monotonic())

    def _read(self, raw: str) -> Task | None:
        """The task in `raw`; one it cannot read is reported failed to its crawl, if it names one,
        so that the crawl says why instead of waiting for it."""
        try:
            return decode_task(raw)
        except TaskError as error:
            logger.error("dropped a task this worker cannot read: %s", error)
            if error.crawl and error.key:
                outcome = CrawlOutcome(error.key, "failed", f"worker {self.worker}: {error}")
                report(self.server, error.crawl, outcome, self.worker, raw)
            else:
                release(self.server, self.worker, [raw])
            return None

    def _ours(self, tasks: list[tuple[Task, str]]) -> list[tuple[Task, str]]:
        """The `tasks` queued by crawls of this worker's store; the others go back to the queue's
        tail, unfetched, for their store's workers, a line the first time a crawl's do."""
        ours = [(task, raw) for task, raw in tasks if of_store(task, self.store)]
        theirs = [(task, raw) for task, raw in tasks if not of_store(task, self.store)]
        if theirs:
            give_back(self.server, self.worker, [raw for _, raw in theirs], last=True)
        for crawl, count in Counter(task.crawl for task, _ in theirs).items():
            if crawl not in self.passed_on:
                self.passed_on.add(crawl)
                logger.info(
                    "passed on %s of crawl %s, queued for another store than this worker's (%s):"
                    " left to that store's workers",
                    _tasks(count),
                    crawl,
                    self.store,
                )
        return ours

    def _claimed(self, tasks: list[tuple[Task, str]]) -> list[tuple[Task, str]]:
        """The `tasks` whose crawl still holds their document; the others are dropped, a line
        per crawl saying so. A crawl killed outright leaves its tasks in the queue, and its
        claims lapse: the next crawl queued the documents again, and workers fetched each twice,
        once for a crawl nobody waited for. A live crawl renews its claims every second: none
        of its tasks is dropped."""
        holders = claim_holders(self.server, [task for task, _ in tasks])
        held: list[tuple[Task, str]] = []
        orphans: dict[tuple[str, str | None], list[tuple[Task, str]]] = defaultdict(list)
        for (task, raw), holder in zip(tasks, holders, strict=True):
            if holder == task.crawl:
                held.append((task, raw))
            else:
                orphans[task.crawl, holder].append((task, raw))
        if orphans:
            release(
                self.server, self.worker, [raw for group in orphans.values() for _, raw in group]
            )
        for (crawl, holder), group in orphans.items():
            why = (
                "its claims lapsed (killed outright?)"
                if holder is None
                else f"now claimed by crawl {holder}"
            )
            keys = ", ".join(task.document.key for task, _ in group)
            logger.warning(
                "dropped %s of crawl %s, not fetched: %s: %s", _tasks(len(group)), crawl, why, keys
            )
        return held

    def _reported(self, item: Any) -> None:
        if not isinstance(item, CrawlOutcome):
            return
        for task, raw in self.taken.pop(item.key, []):
            try:
                report(self.server, task.crawl, item, self.worker, raw)
            except redis.RedisError as error:  # a line, not Scrapy's traceback of the signal
                self.redis.failed(error)
                self.unreported.append((task.crawl, item, raw))
                logger.warning(
                    "%s: %s, not yet reported to crawl %s (Redis failed: %s): reported once"
                    " Redis answers",
                    item.key,
                    item.outcome,
                    task.crawl,
                    error,
                )
        self.answered.discard(item.key)
        self.documents.pop(item.key, None)
        self.states.pop(item.key, None)
        self.accept_capture.discard(item.key)

    def _request(
        self, document: TrackedDocument, fetched: list[PageBody], sent: float
    ) -> scrapy.Request:
        self.unanswered += 1
        if fetched:  # the next page of a combined document: until it is sent, none is in hand
            self.answered.discard(document.key)
        return super()._request(document, fetched, sent)

    def parse(self, response: Response) -> Iterable[FetchedPage | FetchFailed | scrapy.Request]:
        self._answered(response.meta["key"])
        return super().parse(response)

    def failed(self, failure: Failure) -> Iterable[FetchFailed]:
        self._answered(failure.request.meta["key"])  # type: ignore[attr-defined]
        return super().failed(failure)

    def _answered(self, key: str) -> None:
        """Note `key` in hand (`_stop_asked` finishes it), and take the next batch once half of
        this one is answered, not when all of it is recorded: waiting for the pipeline (a batch
        of checks commits 50 ms after its first) left the downloader idle between batches, and
        made a 304 recrawl of 1,000 pages by one worker twice as long as a local crawl."""
        self.answered.add(key)
        self.unanswered -= 1
        if self.drained or self.unanswered > self.redis_batch_size // 2:
            return
        try:
            self._take_more()
        except redis.RedisError as error:  # the next beat tries again; this page is recorded
            self.redis.failed(error)

    def _take_more(self) -> None:
        if self.crawler.engine.running:  # not while stopping
            self.schedule_next_requests()

    def _put_back(self, keys: list[str]) -> None:
        give_back(
            self.server, self.worker, [raw for key in keys for _, raw in self.taken.pop(key, [])]
        )

    def _beat(self) -> None:
        """Tell the pulse that the event loop runs and, when there is room, look for tasks:
        Scrapy tells an idle spider so only every 5 s, which would be the delay of every crawl."""
        if self.pulse:
            self.pulse.tick()
        try:
            self._mend()
            if self.unanswered < self.redis_batch_size:
                self._take_more()
        except redis.RedisError as error:  # the next beat tries again
            self.redis.failed(error)
        except Exception:  # a beat that raised would stop the beats: this worker would vanish
            logger.exception("could not look for tasks")

    def _mend(self) -> None:
        """Report the outcomes Redis failed to take, and put back in the queue the tasks this
        worker's list holds unknown to it (`strays`), saying how many."""
        while self.unreported:
            crawl, outcome, raw = self.unreported[0]
            report(self.server, crawl, outcome, self.worker, raw)
            self.unreported.pop(0)
            logger.info("%s: %s, reported to crawl %s", outcome.key, outcome.outcome, crawl)
        known = [raw for held in self.taken.values() for _, raw in held]
        lost = strays(self.server, self.worker, known)
        if lost:
            logger.info("%s this worker took as Redis failed put back in the queue", _tasks(lost))

    def _stop_asked(self, signum: int) -> None:
        """Put back at once the tasks whose requests are not sent, and say so. Scrapy's graceful
        stop waits for every request handed to its downloader, most of a batch still waiting for
        its host's turn, and sends none of them now (crawlers.downloader,
        SharedHostDelayMiddleware): their tasks went back only as the worker exited, and the
        other workers waited for them in the meantime. So does a combined document between its
        pages: its next page is not sent, and the worker that takes it fetches the document
        whole, from its first page, as its text is compared whole. The pages being fetched are
        finished, and so are those answered and still being read or recorded: put back, they
        were recorded here and never reported, and another worker fetched them a second time."""
        downloader = self.crawler.engine.downloader
        started = self.answered | {
            request.meta.get("key")
            for slot in downloader.slots.values()
            for request in slot.transferring
        }
        unstarted = [key for key in self.taken if key not in started]
        self._put_back(unstarted)
        said = [f"{_tasks(len(unstarted))} not started put back in the queue"] if unstarted else []
        if self.taken:
            again = (
                "press Ctrl-C" if signum == signal.SIGINT else f"send {signal.Signals(signum).name}"
            )
            timeout = self.settings.getint("DOWNLOAD_TIMEOUT")
            said.append(
                f"finishing the {len(self.taken)} being fetched (at most {timeout} s), "
                f"{again} again to stop at once"
            )
        logger.info("stopping: %s", "; ".join(said) or "no task in hand")

    def _stopping(self) -> None:
        if self.beat.running:
            self.beat.stop()
        if self.pulse:  # before retiring: a last beat would bring the worker back to life
            self.pulse.stop()
        unfinished = list(self.taken)
        try:
            self._put_back(unfinished)
            self._mend()
            retire(self.server, self.worker)
        except redis.RedisError as error:  # its sign of life lapses; a crawl takes the tasks back
            unsaid = f" nor to report {len(self.unreported)} outcomes" if self.unreported else ""
            logger.warning("stopping: cannot reach Redis to put tasks back%s: %s", unsaid, error)
            return
        if unfinished:
            told = _tasks(len(unfinished), "unfinished ")
            logger.info("stopping: %s put back in the queue", told)

    def spider_idle(self) -> None:
        """Wait for tasks, even while Redis is out of reach. scrapy-redis's handler raised then,
        and Scrapy closed the idle spider: a Redis restart made every idle worker exit, with
        status 0, which systemd's Restart=on-failure took for a wanted stop."""
        try:
            super().spider_idle()
        except redis.RedisError as error:
            self.redis.failed(error)
            raise DontCloseSpider from None


def _tasks(count: int, kind: str = "") -> str:
    """`1 task`, `3 unfinished tasks`: the log's count of tasks."""
    return f"{count} {kind}task{'' if count == 1 else 's'}"
