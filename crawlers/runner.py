"""Running the policy spider in-process, with a progress callback and a result per document."""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import AsyncCrawlerProcess
from scrapy.settings import Settings

from crawlers.browser import enable_browser
from crawlers.declarations import TrackedDocument
from crawlers.items import INTERRUPTED, STOPPED, CrawlOutcome, CrawlResult, never_reached
from crawlers.journal import JournalFormatter, stderr_is_journal
from crawlers.middlewares import stop_asked
from crawlers.settings import user_agent
from crawlers.spiders.policy import PolicySpider

logger = logging.getLogger(__name__)


class _Process(AsyncCrawlerProcess):
    """Scrapy's process, telling its caller and its crawlers' components at once that a signal
    asked it to stop (`stop_asked`).

    On the first SIGINT or SIGTERM Scrapy stops taking requests and waits for those in flight
    (up to DOWNLOAD_TIMEOUT), and says so only in a log that a local crawl does not show; a user
    pressing Ctrl-C saw nothing happen for seconds. The second signal stops it at once.
    """

    def __init__(self, settings: Settings, on_stop: Callable[[int], None]) -> None:
        super().__init__(settings)
        self.on_stop = on_stop
        self.stopped_by: int | None = None  # the signal, if one stopped it

    def _signal_shutdown(self, signum: int, frame: Any) -> None:
        from twisted.internet import reactor

        self.stopped_by = signum
        super()._signal_shutdown(signum, frame)
        # Not in the handler: it may interrupt a write. The signal, so that the caller can say
        # which one stops it at once (Ctrl-C is not how a SIGTERM was sent).
        reactor.callFromThread(self._stopping, signum)

    def _stopping(self, signum: int) -> None:
        for crawler in self.crawlers:
            crawler.signals.send_catch_log(stop_asked, signum=signum)
        self.on_stop(signum)


class CrawlAborted(Exception):
    """Scrapy could not run the crawl at all: a component it cannot load (named in `--set`,
    say). Every document would otherwise be reported as "not reached", with no reason given."""


def crawl_settings(
    db_url: str,
    *,
    contact_url: str | None = None,
    max_bytes: int | None = None,
    timeout: float | None = None,
    rules: Sequence[Path] = (),
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """The project's polite settings with the user's choices on top (`--set NAME=VALUE` last)."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("POLICYWATCH_DB", db_url, priority="cmdline")
    settings.set("POLICYWATCH_RULES", [str(path) for path in rules], priority="cmdline")
    if contact_url:
        settings.set("USER_AGENT", user_agent(contact_url), priority="cmdline")
    if max_bytes:
        settings.set("DOWNLOAD_MAXSIZE", max_bytes, priority="cmdline")
    if timeout:
        settings.set("DOWNLOAD_TIMEOUT", timeout, priority="cmdline")
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(
    documents: Sequence[TrackedDocument],
    settings: Settings,
    on_outcome: Callable[[CrawlOutcome], None] = lambda _: None,
    accept_capture: Sequence[str] = (),
    on_stop: Callable[[int], None] = lambda _: None,
) -> CrawlResult:
    """Crawl `documents` to completion or until interrupted (`on_stop` is called with the signal
    that asks the crawl to stop); blocks, and can run once per process (Twisted's reactor).
    `accept_capture`: the keys of the documents whose text is recorded even if it looks like a
    broken capture."""
    outcomes: dict[str, CrawlOutcome] = {}

    def scraped(outcome: CrawlOutcome) -> None:
        outcomes[outcome.key] = outcome
        on_outcome(outcome)

    needs_browser = any(document.render == "browser" for document in documents)
    with _bugs_shown(settings):
        stopped_by = _run(
            PolicySpider,
            settings,
            scraped,
            on_stop,
            documents=documents,
            browser_missing=enable_browser(settings) if needs_browser else None,
            accept_capture=accept_capture,
        )
    why = INTERRUPTED if stopped_by else STOPPED
    return CrawlResult(
        [outcomes.get(doc.key) or never_reached(doc.key, why) for doc in documents],
        stopped_by=stopped_by,
    )


# Where a bug in policywatch or in a Scrapy component shows in the log, as opposed to a fetch that
# failed (robots.txt unreachable, retries given up...), which the crawl's summary reports.
_OURS = ("crawlers", "store", "diffengine", "notifier", "policywatch")
_BUGS_FROM = (*_OURS, "scrapy.core", "scrapy.utils.signal", "twisted", "asyncio")


def _is_bug(record: logging.LogRecord) -> bool:
    if record.name == "py.warnings":
        return True
    return record.levelno >= logging.ERROR and record.name.startswith(_BUGS_FROM)


def _for_the_service(record: logging.LogRecord) -> bool:
    """A worker's log shows bugs, as a local crawl does, and policywatch's own lines: what it
    does (stopping, tasks passed on) and warnings (Redis or the store out of reach, tasks of a
    dead crawl dropped): a service has no summary to say them in."""
    return _is_bug(record) or (record.levelno >= logging.INFO and record.name.startswith(_OURS))


class _ServiceFormatter(logging.Formatter):
    """A worker's log as a journal reader expects it: plain lines for what it does, `warning: `
    and `error: ` (as the commands say them) only before what is wrong. Every line read
    `WARNING crawlers.worker: …`, a normal stop included, and what was wrong did not stand out."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)  # the message, and a bug's traceback below it
        return line if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {line}"


@contextmanager
def _bugs_shown(
    settings: Settings,
    shown: Callable[[logging.LogRecord], bool] = _is_bug,
    formatter: logging.Formatter | None = None,
) -> Iterator[None]:
    """Errors with their tracebacks, and Python warnings, on stderr during a crawl.

    A crawl installs no log handler (its failed fetches are in its summary, or a worker's lines
    per document: Scrapy's and Playwright's tracebacks for a robots.txt or a page that cannot be
    fetched filled a worker's log), and Scrapy's counting handler on the root logger keeps
    Python's last-resort handler from printing anything: a bug's traceback was lost, leaving a
    user with one line to report. Made inside the progress bar, the handler writes above it
    (rich redirects stderr while the bar is shown). With Scrapy's own handler asked for
    (`--set LOG_INSTALL_ROOT_HANDLER=true`), which shows everything at LOG_LEVEL, nothing.
    On systemd's journal, each line carries its record's priority (crawlers/journal.py).
    """
    if settings.getbool("LOG_INSTALL_ROOT_HANDLER"):
        yield
        return
    handler = logging.StreamHandler()
    formatter = formatter or logging.Formatter("%(levelname)s %(name)s: %(message)s")
    handler.setFormatter(JournalFormatter(formatter) if stderr_is_journal() else formatter)
    handler.addFilter(shown)
    logging.root.addHandler(handler)
    try:
        yield
    finally:
        logging.root.removeHandler(handler)


def run_worker(
    settings: Settings, worker: str, on_outcome: Callable[[CrawlOutcome], None] = lambda _: None
) -> None:
    """Fetch the documents queued in Redis (`REDIS_URL`) until stopped by SIGINT or SIGTERM,
    after the pages being fetched. The browser is set up whether or not a document needs it:
    which ones will come is not known in advance."""
    from crawlers.worker import QueuedPolicySpider  # scrapy-redis: workers only
    from crawlers.worker import logger as worker_log

    worker_log.setLevel(logging.INFO)  # below the root's WARNING: its lines of what it does
    with _bugs_shown(settings, _for_the_service, _ServiceFormatter()):
        _run(
            QueuedPolicySpider,
            settings,
            on_outcome,
            lambda _: None,
            worker=worker,
            browser_missing=enable_browser(settings),
        )


@contextmanager
def _signal_handlers_restored() -> Iterator[None]:
    """Scrapy's handlers of SIGINT and SIGTERM, which only ask its stopped reactor to stop,
    outlived the crawl: a Ctrl-C while the alerts went out afterwards was ignored."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(
    spider: type[PolicySpider],
    settings: Settings,
    on_outcome: Callable[[CrawlOutcome], None],
    on_stop: Callable[[int], None],
    **arguments: Any,
) -> int | None:
    """Run `spider` until it is done or stopped by a signal; the signal, if one stopped it."""

    def scraped(item: Any) -> None:
        if isinstance(item, CrawlOutcome):
            on_outcome(item)

    process = _Process(settings, on_stop)
    logging.getLogger("scrapy").setLevel(settings.get("LOG_LEVEL"))
    # The redirect middlewares warn at every start that the Referer middleware is not there: it
    # is left out on purpose (crawlers/settings.py), and a worker's log would open with it.
    logging.getLogger("scrapy.downloadermiddlewares.redirect").setLevel(logging.ERROR)
    crawler = process.create_crawler(spider)
    crawler.signals.connect(scraped, signal=signals.item_scraped)
    running = process.crawl(crawler, **arguments)
    # What exists by now (modules, the catalog, ORM mappings) lives until the process ends:
    # frozen, the collector's full passes stop walking it (a tenth of a 304 recrawl's time).
    gc.freeze()
    # A crawl allocates millions of short-lived containers, which reference counting frees (no
    # page leaves cycles behind: tests/test_extract.py): collecting the young every 10,000
    # allocations instead of 700 cuts the collector's time by two thirds (0.26 -> 0.09 s in a
    # first crawl of 1,000 pages), for no more memory.
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    with _signal_handlers_restored():
        process.start(install_signal_handlers=True)
    if isinstance(crawler.spider, PolicySpider) and crawler.spider.store_failure:
        raise CrawlAborted(crawler.spider.store_failure)
    error = running.exception() if running.done() and not running.cancelled() else None
    if error is not None:
        if not isinstance(error, ImportError):  # a component misnamed in --set needs no trace
            logger.error("the crawl could not run", exc_info=error)
        raise CrawlAborted(f"the crawl could not run: {type(error).__name__}: {error}") from error
    return process.stopped_by
