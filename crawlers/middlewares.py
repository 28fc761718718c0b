"""Middlewares: downloader ones that fix or extend Scrapy's own for politeness and safety, and the
spider's last resort for its own bugs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from scrapy.http.cookies import CookieJar
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import get_meta_refresh
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from crawlers.inside import INWARD, is_inside, leads_inside
from crawlers.items import FetchFailed
from store.models import utcnow

if TYPE_CHECKING:
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

# Sent (with `signum`) to each crawler as soon as SIGINT or SIGTERM asks it to stop
# (crawlers.runner): Scrapy says nothing to its components until the pages in flight are done.
stop_asked = object()


ASKED_AGAIN = "the next crawl asks again"


class RobotsTxtUnreachable(IgnoreRequest):
    """A page not requested because its site's robots.txt could not be fetched. `cause`: what
    that download raised, which the spider words as it words a page's own failed download, so
    that an unreachable host reads as one (`timeout`, `connection-refused`…)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"robots.txt could not be fetched: {cause}")
        self.cause = cause


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every waiting request given the parser.

    Scrapy 2.19 hands the parsed robots.txt to the requests queued while it downloads through one
    Deferred: the first waiter consumes the result and the others get None, which means "allow
    all", so a disallowed page queued third was fetched anyway. Here each waiter chains its own
    Deferred and the result passes through unchanged to the next.

    A host's robots.txt is asked for again once it is `POLICYWATCH_ROBOTS_MAX_AGE` seconds old:
    Scrapy keeps it for the crawler's life, which for a worker is weeks, where RFC 9309 (2.4)
    keeps it 24 hours at most. A site that came to disallow the crawler was still crawled by the
    workers, and one whose robots.txt failed once stayed refused until they restarted.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_age = crawler.settings.getfloat("POLICYWATCH_ROBOTS_MAX_AGE")
        # host -> why its robots.txt failed: the error status it answered, or what its download
        # raised
        self._failing: dict[str, int | Exception] = {}
        self._asked: dict[str, float] = {}  # host -> when its robots.txt was asked for
        # Hosts whose robots.txt failed for a name that did not resolve: asked for again by the
        # next request, not kept as "allow all" (`_robots_error`).
        self._unresolved: set[str] = set()

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        """A robots.txt that answers a server error (5xx, or 429) says nothing of what is
        allowed: RFC 9309 (2.3.1.4) has a crawler then take the whole site as disallowed, where
        Scrapy read the error page as a robots.txt allowing all. Other statuses (a 404, a 403)
        mean no rules, as the RFC says too."""
        if response.status >= 500 or response.status == 429:
            self._failing[netloc] = response.status
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        """A robots.txt that could not be fetched at all (a timeout, a refused or broken
        connection, an answer that is no HTTP) is unreachable: RFC 9309 (2.3.1.4) has the whole
        site disallowed then too, where Scrapy took it as allowing all, and fetched the pages.
        An IgnoreRequest is a decision of the crawl's own (a redirect loop, a stop), not the
        site's failing, and leaves all allowed as before. So does a name that does not resolve:
        the page, on the same host, fails with it at once in its own words (Chromium's, for a
        rendered page), which say more than "robots.txt could not be fetched". Only the pages
        waiting for it are let through so: a lookup that failed for a moment (a network coming
        back) had the host's rules taken as "allow all" until `max_age`, and a worker fetched
        for an hour the pages its robots.txt disallows."""
        if isinstance(exc, (CannotResolveHostError, DNSLookupError)):
            self._unresolved.add(netloc)
        elif not isinstance(exc, IgnoreRequest):
            self._failing[netloc] = exc
        super()._robots_error(exc, netloc)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        failing = self._failing.get(urlparse_cached(request).netloc)
        if isinstance(failing, Exception):
            raise RobotsTxtUnreachable(failing)
        if failing is not None:
            raise IgnoreRequest(
                f"robots.txt answered HTTP {failing}: while it fails, the whole site counts as"
                f" disallowed (RFC 9309); {ASKED_AGAIN}"
            )
        super().process_request_2(rp, request)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        netloc = urlparse_cached(request).netloc
        self._forget_if_old(netloc)
        if netloc not in self._parsers:  # the first request to this host downloads robots.txt
            self._asked[netloc] = time.monotonic()
            return await super().robot_parser(request)
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            own: Deferred[RobotParser | None] = Deferred()
            parser.addBoth(_pass_through, own)
            return await maybe_deferred_to_future(own)
        return parser

    def _forget_if_old(self, netloc: str) -> None:
        """Forget the host's robots.txt, and why it failed, once it is older than `max_age` or
        its name did not resolve (unless it is still being downloaded), so that the next
        request asks for it again."""
        asked = self._asked.get(netloc)
        if asked is None:
            return
        if netloc not in self._unresolved and time.monotonic() - asked < self.max_age:
            return
        if isinstance(self._parsers.get(netloc), Deferred):
            return
        self._parsers.pop(netloc, None)
        self._failing.pop(netloc, None)
        self._unresolved.discard(netloc)
        del self._asked[netloc]


def _pass_through(result: Any, waiter: Deferred[Any]) -> Any:
    waiter.callback(result)
    return result


BROWSER_MISSING = "policywatch_browser_missing"  # request meta: why it cannot be rendered here


class BrowserUnavailable(Exception):
    """A `render: browser` document on a machine without the browser: not worth a plain fetch,
    whose text would be an empty shell."""


class BrowserRequiredMiddleware:
    """Fails the requests marked with BROWSER_MISSING before anything is sent, robots.txt
    included: the spider's errback records why, as for any other failed fetch."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        missing = request.meta.get(BROWSER_MISSING)
        if missing:
            raise BrowserUnavailable(missing)


# Request meta: why a redirect was not followed, for the spider to say.
REDIRECT_REFUSED = "policywatch_redirect_refused"


class LedInside(Exception):
    """A page that arrived inside, from a public address: a rendered page that Chromium's
    redirects (or its scripts) took there, or a fetched one whose redirect named a host that
    looked public when checked and was connected to inside (its DNS answer changed between the
    two: rebinding). Its text is not recorded."""


class InsideRedirectMiddleware:
    """Does not follow a redirect from a public address into this machine or its network
    (`crawlers.inside`). Placed after Scrapy's RedirectMiddleware, it sees the 3xx first; the
    response then reaches the spider, which says why it stopped there. Chromium follows its own
    redirects, and a name may resolve otherwise at the connection than at the check: a page
    that arrived inside nonetheless fails instead."""

    async def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        await _refuse_arrival_inside(request, response)
        location = response.headers.get("Location")
        if not 300 <= response.status < 400 or not location:
            return response
        origin = request.meta.get("redirect_urls", [request.url])[0]
        try:
            target = urlsplit(urljoin(request.url, location.decode("latin-1"))).hostname
            start = urlsplit(origin).hostname
        except ValueError:  # a malformed Location: Scrapy's redirect failed with Python's words
            request.meta["dont_redirect"] = True  # ("fetch-error: Invalid IPv6 URL")
            request.meta[REDIRECT_REFUSED] = "its Location is no URL that can be read"
            return response
        if await leads_inside(target) and not await leads_inside(start):
            request.meta["dont_redirect"] = True
            request.meta[REDIRECT_REFUSED] = INWARD
        return response


async def _refuse_arrival_inside(request: Request, response: Response) -> None:
    """Raises `LedInside` for a page that arrived inside from a public origin. A rendered page
    is judged by its final URL; a fetched one that came by redirects, by the address it was
    read from, which through a proxy is the proxy's and says nothing of where the page is."""
    if request.meta.get("playwright"):
        origin, address = request.url, None
        final = urlsplit(response.url).hostname
        arrived = response.url != request.url and await leads_inside(final)
    else:
        redirects = request.meta.get("redirect_urls")
        origin, address = (redirects or [request.url])[0], response.ip_address
        direct = bool(redirects) and not request.meta.get("proxy")
        arrived = direct and address is not None and is_inside(str(address))
    if arrived and not await leads_inside(urlsplit(origin).hostname):
        at = f" ({address})" if address else ""
        raise LedInside(f"the page led to {response.url}{at}, which is not read ({INWARD})")


# The cookies the redirects of one fetch set, in its requests' meta (copied along its redirects).
REDIRECT_COOKIES = "policywatch_redirect_cookies"


class RedirectCookiesMiddleware:
    """The cookies a redirect sets, sent along that redirect's chain, as a browser sends them
    on its first visit: a site that gives a new visitor a cookie (a session, a check that
    cookies are kept) and sends it back to the same address was followed, cookieless, until
    Scrapy gave up, `too-many-redirects`, the policy never recorded. Nothing is kept beyond
    the chain (Scrapy's cookies middleware is left out: policy pages are public), so each
    fetch, the second fetch of crawlers/steady.py too, comes as a new visitor. Placed before
    Scrapy's RedirectMiddleware in the response's way, it sees the 3xx first."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        jar = request.meta.get(REDIRECT_COOKIES)
        if jar is not None:  # its cookies for this request's host and path, as a browser's
            # A redirect copies the header of the request before it, which the jar would leave
            # as it is, without the cookies set since.
            request.headers.pop("Cookie", None)
            jar.add_cookie_header(request)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if 300 <= response.status < 400 and b"Set-Cookie" in response.headers:
            jar = request.meta.setdefault(REDIRECT_COOKIES, CookieJar())
            jar.extract_cookies(response, request)
        return response


class MetaRefreshElsewhereMiddleware(MetaRefreshMiddleware):
    """Scrapy's meta refresh, not followed when it reloads the page itself: a policy page that
    refreshes every 30 s (`<meta http-equiv="refresh" content="30; url=/terms">`) was
    followed to itself until Scrapy gave up, "too-many-redirects", and never recorded. A
    browser shows the page, then reloads it."""

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse):
            _, url = get_meta_refresh(response, ignore_tags=self._ignore_tags)
            if url and urldefrag(url).url == urldefrag(response.url).url:
                return response
        return super().process_response(request, response)


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, spaced out: exponential backoff, and Retry-After when the server asks.

    Sleeping here holds the host's download slot, which is the point: a host that answers 503 or
    429 gets no other request from us until the wait is over. A host that asks for a longer wait
    than `RETRY_BACKOFF_MAX` is not retried in this crawl at all: its answer is recorded as a fetch
    issue and the next scheduled crawl tries again.

    Asked to stop (Ctrl-C, SIGTERM), a crawl retries nothing: the wait is cut short and the
    answer kept as it came. A backoff of up to `RETRY_BACKOFF_MAX` held the stop past the
    download timeout it promised, for a retry Scrapy then dropped anyway.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("RETRY_BACKOFF_BASE")
        self.cap = settings.getfloat("RETRY_BACKOFF_MAX")
        self.stopping = asyncio.Event()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        middleware = super().from_crawler(crawler)
        crawler.signals.connect(middleware.stopping.set, signal=stop_asked)
        return middleware

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if retry_after(response.headers.get("Retry-After")) > self.cap:
            return response
        result = super().process_response(request, response)
        if isinstance(result, Request) and await self._stopped_during(request, response):
            return response
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        result = super().process_exception(request, exception)
        if isinstance(result, Request) and await self._stopped_during(request, None):
            return None  # the failure goes on to the spider, which a stop makes record nothing
        return result

    async def _stopped_during(self, request: Request, response: Response | None) -> bool:
        """Wait out the backoff before a retry; True when a stop came first (or before)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), self.delay(request, response))
        return self.stopping.is_set()

    def delay(self, request: Request, response: Response | None) -> float:
        """Seconds to wait before retry number n+1: base·2ⁿ, or Retry-After, never over the cap."""
        attempt = request.meta.get("retry_times", 0)
        wanted = self.base * 2**attempt
        if response is not None:
            wanted = max(wanted, retry_after(response.headers.get("Retry-After")))
        return min(wanted, self.cap)


class SharedHostDelayMiddleware:
    """The download delay kept by all the workers together: one request to a host per delay
    from all of them, as one Scrapy process keeps it with its download slots. Each worker still
    keeps its own limits (one request at a time per host, AutoThrottle, which may lengthen the
    delay); without this, N workers each sent theirs. A key per host in Redis, set for the delay
    when a request may go; a request that finds it set waits for it to lapse. Workers only
    (REDIS_URL), and only with a delay (DOWNLOAD_DELAY or AutoThrottle).

    The turn is taken before the request waits in its worker's download slot, which holds it
    only while the same worker's previous request to the host is still out: workers keep no
    random share in their delay (`policywatch worker` sets DOWNLOAD_DELAY_JITTER to 0), so a
    request goes at its turn unless a response took longer than the delay.

    Once the worker is asked to stop, a request waiting for its turn is not sent (IgnoreRequest;
    the worker puts its task back). Such requests used to go on waiting, each taking a turn one
    delay after the other only to be dropped by the downloader: a worker holding 14 tasks of one
    host took some 25 s to stop, and kept the host's turns from the other workers meanwhile.
    """

    def __init__(
        self,
        crawler: Crawler,
        turn: Callable[[str, float], float],
        unreachable: type[Exception],
    ) -> None:
        """`turn(host, delay)`: 0 if a request may go now, else the seconds to wait first; it
        raises `unreachable` when Redis fails."""
        self.crawler = crawler
        self.turn = turn
        self.unreachable = unreachable
        self.minimum = crawler.settings.getfloat("DOWNLOAD_DELAY")
        self.stopping = asyncio.Event()
        crawler.signals.connect(self.stopping.set, signal=stop_asked)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedHostDelayMiddleware:
        settings = crawler.settings
        url = settings.get("REDIS_URL")
        paced = settings.getfloat("DOWNLOAD_DELAY") > 0 or settings.getbool("AUTOTHROTTLE_ENABLED")
        if not url or not paced:
            raise NotConfigured
        from redis import RedisError  # workers only

        from crawlers.queue.connection import connect
        from crawlers.queue.hosts import host_turn

        return cls(crawler, partial(host_turn, connect(url)), RedisError)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        assert self.crawler.engine is not None, "requests are downloaded by the engine"
        downloader = self.crawler.engine.downloader
        host = downloader.get_slot_key(request)
        slot = downloader.slots.get(host)
        delay = max(self.minimum, slot.delay if slot else 0.0)
        if delay <= 0:
            return
        try:
            while not self.stopping.is_set():
                wait = self.turn(host, delay)
                if wait <= 0:
                    return
                with contextlib.suppress(TimeoutError):  # woken early by a stop
                    await asyncio.wait_for(self.stopping.wait(), wait)
        except self.unreachable as error:
            # Redis gone: the page is still worth fetching, with this worker's own delay.
            logger.warning("%s: not paced with the other workers, Redis failed: %s", host, error)
            return
        raise IgnoreRequest("the worker is stopping")


def retry_after(header: bytes | None) -> float:
    """The Retry-After header in seconds (a number or an HTTP date); 0 when absent or unreadable."""
    if not header:
        return 0.0
    value = header.decode("latin-1").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return 0.0


SENT = "sent"  # meta: when a page's request first went to the downloader (time.monotonic())


class FetchClock:
    """Stamps when a page's request first goes to the downloader, last of the middlewares
    before it (past robots.txt and the per-host delay): a fetch's time was counted from when
    the crawl queued it, and a loopback page read "fetched in 7.8 s" in a preview, its wait
    for robots.txt and its turn on the host counted in. Its retries and redirects count in,
    as they are the fetch (`meta` is copied to them)."""

    def process_request(self, request: Request) -> None:
        request.meta.setdefault(SENT, time.monotonic())


class InternalErrorMiddleware:
    """A bug met while reading a page fails that document, with the traceback logged, instead of
    leaving it unanswered: a local crawl called it "never reached", and a worker never reported
    it, so the crawl that queued it waited for it until it gave up (10 minutes). Last in the
    chain: Scrapy's own middlewares handle their exceptions first."""

    def process_spider_exception(
        self, response: Response, exception: Exception, spider: Spider | None = None
    ) -> Iterable[FetchFailed] | None:
        key = response.meta.get("key")
        if key is None:  # not a document's page: Scrapy logs it as usual
            return None
        logger.error("internal error while reading %s (%s)", response.url, key, exc_info=exception)
        reason = f"{type(exception).__name__}: {exception}"
        return [FetchFailed(key, response.url, "internal-error", reason, response.status)]
