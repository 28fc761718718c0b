"""The policy spider: one conditional GET per tracked document, every outcome handed on.

It never drops a document silently: a response becomes a `FetchedPage`, anything else (DNS,
refused connection, timeout, HTTP error, size cap, robots.txt, a bot wall, a redirect to a login
or home page) a `FetchFailed` with its reason. A document that combines several pages fetches
them one after the other and is handed on whole, or fails at the first page that fails.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError
from twisted.internet.error import (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    DNSLookupError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ParseError
from w3lib.encoding import html_body_declared_encoding, read_bom

from crawlers.browser import (
    NAVIGATION,
    browser_failure,
    own_body,
    render_meta,
    rendered_verdict,
)
from crawlers.compression import CompressedCutShort
from crawlers.declarations import TrackedDocument
from crawlers.extraction import RAISE_THE_CAP, charset
from crawlers.http11 import BrokenOff, Overrun
from crawlers.items import ANSWERED, FetchedPage, FetchFailed, PageBody
from crawlers.middlewares import (
    ASKED_AGAIN,
    BROWSER_MISSING,
    REDIRECT_REFUSED,
    BrowserUnavailable,
    LedInside,
    RobotsTxtUnreachable,
    retry_after,
)
from crawlers.screening import (
    Verdict,
    bot_wall,
    consent_page,
    error_page,
    login_page,
    markup,
    redirect_verdict,
    scanned,
    script_redirect,
    status_verdict,
)
from store.db import StoreError, driver_words, open_store, public_url
from store.repository import DocumentInfo, FetchState, Repository, body_sha256

logger = logging.getLogger(__name__)

# Scrapy's words for a body over DOWNLOAD_MAXSIZE: "Received 6600000 bytes which is larger than
# download max size (5242880) in request <GET …>."
_SIZES = re.compile(r"(\d+) bytes which is larger than download max size \((\d+)\)")
# and for a compressed body that inflates past it: "Ignored response <200 …> because its body
# (2107 B compressed, 100352 B decompressed so far) exceeded DOWNLOAD_MAXSIZE (100000 B) during
# decompression."
_INFLATED = re.compile(r"\((\d+) B compressed, .*DOWNLOAD_MAXSIZE \((\d+) B\)")
# Error statuses reach the spider so they are recorded with their reason; redirects still follow.
# So do the ones past 599 that no standard defines: LinkedIn refuses crawlers with 999.
HANDLED_STATUSES = [304, *range(400, 1000)]
NOT_HTTP = "only http and https are"

_FAILURE_KINDS: list[tuple[type[BaseException], str]] = [
    (CannotResolveHostError, "dns-error"),
    (DNSLookupError, "dns-error"),
    (DownloadConnectionRefusedError, "connection-refused"),
    (DownloadTimeoutError, "timeout"),
    (TimeoutError, "timeout"),
    (DownloadCancelledError, "too-large"),
    (ConnectError, "connection-error"),
    (ResponseDataLossError, "connection-error"),
    (CompressedCutShort, "connection-error"),
    (HttpError, "http-error"),  # before IgnoreRequest, of which it is a kind
    (LedInside, "http-error"),
    (IgnoreRequest, "robots-disallowed"),
    (BrowserUnavailable, "browser-unavailable"),
]


def document_info(document: TrackedDocument) -> DocumentInfo:
    """The store's view of a catalog entry."""
    return DocumentInfo(
        key=document.key,
        service=document.service,
        document_type=document.document_type,
        url=document.url,
        declaration=document.declaration(),
        tags=document.tags,
    )


def conditional_headers(state: FetchState) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from the validators of the last fetch."""
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def failure_kind(failure: Failure) -> str:
    if robots := _robots_failure(failure):
        return failure_kind(robots)  # the host is unreachable, as the page would have found
    if failure.check(IgnoreRequest) and "max redirections" in str(failure.value):
        # Scrapy's redirect middleware gives up on a loop with the IgnoreRequest robots.txt
        # raises: told apart by its message, or a loop would read as a robots.txt refusal.
        return "too-many-redirects"
    if failure.check(IgnoreRequest) and "DOWNLOAD_MAXSIZE" in str(failure.value):
        return "too-large"  # a compressed body that grew over the cap as it was decompressed
    if any(reason.check(ConnectionLost, ConnectionDone) for reason in _gathered(failure)):
        return "connection-error"
    return next((kind for error, kind in _FAILURE_KINDS if failure.check(error)), "fetch-error")


def _robots_failure(failure: Failure) -> Failure | None:
    """How the download of the site's robots.txt failed, when that is why the page was not
    requested (`RobotsTxtUnreachable`)."""
    if not isinstance(failure.value, RobotsTxtUnreachable):
        return None
    return Failure(failure.value.cause)


def _gathered(failure: Failure) -> list[Failure]:
    """The failures Twisted gathered for a response that failed (a connection lost, an answer
    that is no HTTP), which Scrapy's DownloadFailedError quotes as their list's repr."""
    if not failure.check(DownloadFailedError) or failure.value is None:
        return []
    return list(getattr(failure.value.__cause__, "reasons", []))


def _gathered_words(failure: Failure) -> str | None:
    """What Twisted's gathered failures say, in words; None when it gathered none."""
    reasons = _gathered(failure)
    if not reasons:
        return None
    words = "; ".join(
        # A ParseError's message is the tuple of its reason and the line it could not parse.
        str(reason.value.args[0])
        if isinstance(reason.value, ParseError)
        else reason.getErrorMessage()
        for reason in reasons
    )
    if any(reason.check(ConnectionLost, ConnectionDone) for reason in reasons):
        return f"the connection was lost before the answer came in whole ({words})"
    return f"the server's answer is not HTTP that can be read ({words})"


def failure_reason(failure: Failure, kind: str, cap: int) -> str:
    """What went wrong, in words: Scrapy's own message, unless it would mislead or leave the
    user without the setting that helps. `cap`: the size cap the page was fetched under."""
    if robots := _robots_failure(failure):
        why = failure_reason(robots, kind, cap).rstrip(".")
        return (
            f"robots.txt could not be fetched: {why}; while it cannot be, the whole site counts"
            f" as disallowed (RFC 9309); {ASKED_AGAIN}"
        )
    if kind == "too-many-redirects":
        return "the page redirects in a loop (or through too many pages)"
    if isinstance(failure.value, HttpError):  # a status the spider does not handle: a 3xx
        return _not_followed(failure.value.response)
    if failure.check(ResponseDataLossError):  # Scrapy's has no message
        return _data_lost(failure)
    if kind == "too-large":
        return f"{_too_large(str(failure.value), cap)}; {RAISE_THE_CAP}"
    return _gathered_words(failure) or str(failure.value) or repr(failure.value)


def _data_lost(failure: Failure) -> str:
    """A body cut short: of the length the server announced, or of the clean close that ends
    a body sent without one (crawlers/http11.py)."""
    reasons = getattr(getattr(failure.value, "__cause__", None), "reasons", [])
    if any(reason.check(Overrun) for reason in reasons):
        return (
            "the server sent more than the length it announced (Content-Length), so where the"
            " page ends is not known: read to that length, its text would be cut short"
        )
    if any(reason.check(BrokenOff) for reason in reasons):
        return (
            "the connection was broken off before the page ended (the server sent no length,"
            " so only its closing the connection cleanly ends the page)"
        )
    return (
        "the connection closed before the whole page arrived (the server sent less than the"
        " length it announced)"
    )


def _too_large(message: str, cap: int) -> str:
    """Scrapy's words for a body over the size cap, as sizes the user reads at a glance. A body
    sent without a length (streamed, chunked) that grows past the cap is cut off with no words
    at all: the issue read "too-large: DownloadCancelledError('')"."""
    if not message:
        return (
            f"the page grew past the size cap of {cap:,} bytes as it came in (its server sent"
            " no length)"
        )
    if sizes := _SIZES.search(message):
        size, limit = (int(number) for number in sizes.groups())
        return f"the page is {size:,} bytes or more, over the size cap of {limit:,}"
    if sizes := _INFLATED.search(message):
        compressed, limit = (int(number) for number in sizes.groups())
        return (
            f"the page inflates past the size cap of {limit:,} bytes"
            f" ({compressed:,} bytes compressed)"
        )
    return message


def _store_failure(url: str, error: Exception) -> str:
    if isinstance(error, StoreError):  # says which store, and why
        return str(error)
    return f"the store {public_url(url)} failed: {driver_words(error)}"


def _not_followed(response: Response) -> str:
    """Why a 3xx ended the fetch: Scrapy follows redirects to http(s) pages only, never to a
    `file:` or `ftp:` URL a page names, nor one without a Location; and policywatch none from
    a public address into a private one."""
    location = _header(response, "Location")
    where = f"to {location} " if location else "without a Location "
    why = response.request.meta.get(REDIRECT_REFUSED) if response.request else None
    return f"HTTP {response.status}: a redirect {where}is not followed ({why or NOT_HTTP})"


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class PolicySpider(scrapy.Spider):
    """Fetches the documents it is given and records them through the pipeline."""

    name = "policy"
    stops_when_the_store_fails = True

    def __init__(
        self,
        documents: Iterable[TrackedDocument] = (),
        browser_missing: str | None = None,
        accept_capture: Iterable[str] = (),
        **kwargs: Any,
    ) -> None:
        """`browser_missing`: why `render: browser` documents cannot be rendered here, if so.
        `accept_capture`: the keys of the documents whose text is recorded even if it looks
        like a broken capture."""
        super().__init__(**kwargs)
        self.documents = {document.key: document for document in documents}
        self.browser_missing = browser_missing
        self.accept_capture = set(accept_capture)
        self.repository: Repository | None = None
        self.states: dict[str, FetchState] = {}
        self.store_failure: str | None = None  # why the store could not be used, if so

    async def start(self) -> AsyncIterator[scrapy.Request]:
        url = self.settings["POLICYWATCH_DB"]
        try:
            self.repository = Repository(open_store(url))
            self.repository.sync_documents([document_info(doc) for doc in self.documents.values()])
            self.states = self.repository.fetch_states(list(self.documents))
        except (StoreError, DBAPIError) as error:
            # Nothing fetched could be recorded, so nothing is fetched: the runner says why the
            # crawl could not run, where Scrapy logged a traceback and every document read
            # "not reached", as if no site had answered.
            self.store_failure = f"the crawl could not run: {_store_failure(url, error)}"
            return
        for document in self.documents.values():
            yield self._request(document, [], time.monotonic())

    def cannot_record(self, error: DBAPIError) -> str:
        """The store failed to record a page (a disk full, the database gone): nothing more
        can be, so the crawl stops fetching, and the runner says why. What it says."""
        failed = _store_failure(self.settings["POLICYWATCH_DB"], error)
        if self.stops_when_the_store_fails and self.store_failure is None:
            self.store_failure = (
                f"the crawl stopped: {failed}; what was recorded before stays, and the"
                " documents not recorded are still due"
            )
            deferred_from_coro(self.crawler.stop_async())  # as Ctrl-C does: no page more
        return failed

    def _request(
        self, document: TrackedDocument, fetched: list[PageBody], sent: float
    ) -> scrapy.Request:
        """The request for the next page of `document` after the `fetched` ones.

        Only a single-page document fetched over HTTP is fetched conditionally: the store keeps
        one set of validators per document, and a combined one is compared by the hash of all
        its pages. Chromium is sent no validators: it cannot render the 304 they bring
        (net::ERR_ABORTED), and a rendered page is compared by the hash of its HTML instead.
        Every page is asked for in the document's declared language: a site that serves its
        terms in the language asked sent a `language: fr` document in English, every crawl a
        `wrong-language` issue.
        """
        page = document.pages[len(fetched)]
        meta: dict[str, Any] = {
            "key": document.key,
            "fetched": fetched,
            "handle_httpstatus_list": HANDLED_STATUSES,
            "sent": sent,
        }
        if document.render == "browser" and self.browser_missing:
            meta[BROWSER_MISSING] = self.browser_missing  # fails it before it is sent
        elif document.render == "browser":
            meta.update(render_meta(page, self.settings.getfloat("DOWNLOAD_TIMEOUT") * 1000))
        unconditional = document.combined or document.render == "browser"
        headers = {} if unconditional else conditional_headers(self.states[document.key])
        headers.update(_language_headers(document))
        return scrapy.Request(
            page.url,
            callback=self.parse,
            errback=self.failed,
            headers=headers,
            dont_filter=True,
            meta=meta,
        )

    def parse(self, response: Response) -> Iterable[FetchedPage | FetchFailed | scrapy.Request]:
        response = own_body(response)
        key = response.meta["key"]
        document = self.documents[key]
        fetched: list[PageBody] = response.meta["fetched"]
        recorded = self._last_recorded(response, document)
        content_type = _content_type(response)
        problem = self._screen(
            response, document.pages[len(fetched)].url, content_type, scan_body=not recorded
        )
        if problem:
            detail = _which_page(document, len(fetched)) + problem.detail
            yield FetchFailed(
                key, response.url, problem.kind, detail, response.status, _elapsed_ms(response.meta)
            )
            return
        if response.status == 304:
            yield self._not_modified(response)
            return
        encoding = _declared_charset(response, content_type)
        fetched = [*fetched, PageBody(response.url, response.body, content_type, encoding)]
        if len(fetched) < len(document.pages):
            yield self._request(document, fetched, response.meta["sent"])
            return
        yield FetchedPage(
            key=key,
            url=fetched[0].url,
            status=response.status,
            parts=fetched,
            etag=None if document.combined else _header(response, "ETag"),
            last_modified=None if document.combined else _header(response, "Last-Modified"),
            elapsed_ms=_elapsed_ms(response.meta),
            recorded=recorded,
        )

    async def fetch_again(self, key: str) -> PageBody | None:
        """The single page of `key` fetched once more, at once and without validators, to tell
        what of it changes on every fetch (crawlers/steady.py); None when the fetch fails or
        its answer does not pass screening: the first fetch then stands alone. Downloaded
        through the engine, as the crawl's own requests are (robots.txt, the per-host delay,
        redirects kept outside), but parsed by no callback."""
        url = self.documents[key].pages[0].url
        request = scrapy.Request(
            url,
            headers=_language_headers(self.documents[key]),
            dont_filter=True,
            meta={"handle_httpstatus_list": HANDLED_STATUSES},
        )
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as error:  # whatever it is, the page as first fetched is still sound
            logger.debug("fetching %s again failed: %r", key, error)
            return None
        content_type = _content_type(response)
        if response.status != 200 or self._screen(response, url, content_type, scan_body=True):
            return None
        return PageBody(
            response.url, response.body, content_type, _declared_charset(response, content_type)
        )

    def _last_recorded(self, response: Response, document: TrackedDocument) -> bool:
        """Whether this 200 is the very body last recorded for a single-page document, which
        passed screening then: a site that answers no conditional GET sends it on every crawl,
        and scanning it again for bot-wall markers costs half a millisecond a page."""
        recorded = self.states[document.key].body_sha256
        return (
            recorded is not None
            and response.status == 200
            and not document.combined
            and body_sha256(response.body) == recorded
        )

    def _screen(
        self, response: Response, requested: str, content_type: str | None, scan_body: bool
    ) -> Verdict | None:
        """Why this response is not the page asked for, if it is not: see `crawlers.screening`.
        Its status, headers and redirects are always screened, its body when `scan_body` and
        it is markup (`crawlers.screening.markup`: not a text or Markdown file's)."""
        headers = {
            name.decode("latin-1").lower(): values[-1].decode("latin-1")
            for name, values in response.headers.items()
            if values
        }
        body = scanned(response.body)
        scan_body = scan_body and markup(content_type, body)
        vendor = bot_wall(headers, body if scan_body else b"")
        if vendor:
            return Verdict("bot-wall", f"HTTP {response.status}: a bot wall or captcha ({vendor})")
        if response.status >= 400:
            return status_verdict(response.status, retry_after(response.headers.get("Retry-After")))
        if unasked := _unasked(response):
            return Verdict("http-error", unasked)
        redirect = redirect_verdict(requested, response.url, response.meta.get("redirect_urls", ()))
        if redirect is not None or not scan_body or response.status >= 300:
            return redirect
        if said := (
            error_page(body, response.status)
            or login_page(body, response.status)
            or consent_page(body, response.status)
        ):  # a "soft 404", a sign-in form or a cookie wall, with 200
            return said
        if response.meta.get("playwright"):  # Chromium ran its scripts: judged where it arrived
            return rendered_verdict(response)
        return _script_redirect(response, body, requested)

    def _not_modified(self, response: Response) -> FetchedPage:
        state = self.states[response.meta["key"]]
        return FetchedPage(
            key=response.meta["key"],
            url=response.url,
            status=304,
            etag=_header(response, "ETag") or state.etag,
            last_modified=_header(response, "Last-Modified") or state.last_modified,
            elapsed_ms=_elapsed_ms(response.meta),
        )

    def _answered_late(self, request: scrapy.Request) -> str:
        """A timeout's reason when the server had answered (`_answered`): a page slow to send,
        or to render, is no sign of this machine being offline, nor helped by waiting for a
        network, but by a longer timeout."""
        timeout = request.meta.get("download_timeout") or self.settings.getfloat("DOWNLOAD_TIMEOUT")
        doing = "render" if NAVIGATION in request.meta else "arrive"
        return (
            f"{ANSWERED}the page took longer than {timeout:g} s to {doing}"
            " (the `timeout` setting, POLICYWATCH_TIMEOUT)"
        )

    def failed(self, failure: Failure) -> Iterable[FetchFailed]:
        if not self.crawler.crawling:
            # Stopped by a signal: what failed now is the stop's doing (downloads cut, the
            # browser killed by the same Ctrl-C), not the site's. Nothing is recorded: the
            # document stays due, and a worker puts its task back.
            return
        request = failure.request  # type: ignore[attr-defined]
        key = request.meta["key"]
        try:
            page = _which_page(self.documents[key], len(request.meta.get("fetched", ())))
            kind = failure_kind(failure)
            cap = request.meta.get("download_maxsize", self.settings.getint("DOWNLOAD_MAXSIZE"))
            kind, reason = (
                browser_failure(failure.value)
                or _redirected_away(request)
                or (kind, failure_reason(failure, kind, cap))
            )
            if kind == "timeout" and _answered(request):
                reason = self._answered_late(request)
        except Exception as error:
            # Scrapy logs an errback's own exception and forgets the request: no spider
            # middleware sees it (crawlers.middlewares.InternalErrorMiddleware), and the document
            # would be lost, a worker's crawl left waiting for it.
            logger.exception("internal error while wording the failure of %s (%s)", request, key)
            page, kind, reason = "", "internal-error", f"{type(error).__name__}: {error}"
        yield FetchFailed(key, request.url, kind, page + reason, None, _elapsed_ms(request.meta))


def _answered(request: scrapy.Request) -> bool:
    """Whether the server had begun its answer (its status and headers had come) to a request
    that then timed out: its host was reached. Chromium's answer is its navigation's
    (`Navigation.answer`); Scrapy notes an answer's latency as its headers come."""
    navigation = request.meta.get(NAVIGATION)
    if navigation is not None:
        return navigation.answer is not None
    return "download_latency" in request.meta


def _redirected_away(request: scrapy.Request) -> tuple[str, str] | None:
    """The redirect that took a failed request away from the policy, to a login, cookie-consent
    or home page, as screening says it of a page that arrives there: the page was no policy
    however its fetch failed. Most sites' robots.txt disallow their sign-in page, and a policy
    redirected there read `robots-disallowed: Forbidden by robots.txt`, as if the policy itself
    were kept from crawlers."""
    chain = request.meta.get("redirect_urls")
    away = redirect_verdict(chain[0], request.url, chain) if chain else None
    return (away.kind, away.detail) if away else None


def _unasked(response: Response) -> str | None:
    """A status that answers a question the request did not ask: a 304 to a request that named
    no version was recorded as "not-modified", the document never captured and no issue said;
    a 206, part of the page, as the whole page."""
    asked = response.request.headers if response.request else {}
    if response.status == 304 and not (
        asked.get("If-None-Match") or asked.get("If-Modified-Since")
    ):
        return "HTTP 304 Not Modified, to a request that named no version: there is no page"
    if response.status == 206:
        return "HTTP 206 Partial Content: a part of the page, which was not asked for"
    return None


def _script_redirect(response: Response, body: bytes, requested: str) -> Verdict | None:
    """A short page whose script sends the browser elsewhere is not the policy: "Redirecting…"
    was recorded as the document's text, and every later crawl found it unchanged. `body`: the
    response's, as screening reads it (`crawlers.screening.scanned`)."""
    target = script_redirect(body)
    if target is None:
        return None
    try:
        to = urljoin(response.url, target) if target else ""
    except ValueError:  # an address no URL parser reads: said as written
        to = target
    elsewhere = redirect_verdict(requested, to) if to else None
    if elsewhere is not None:  # a login or home page
        return Verdict(elsewhere.kind, f"by script, {elsewhere.detail}")
    where = f" to {to}" if to else ""
    return Verdict(
        "script-redirect",
        f"HTTP {response.status}: the page only sends the browser on by script{where}: declare"
        " the address it leads to, or `render: browser`",
    )


def _content_type(response: Response) -> str | None:
    """The Content-Type as browsers take it: a header sent twice is its values joined (RFC 9110
    §5.3), which `crawlers.extraction.media` reads. Scrapy's `get` gave the last line alone, and
    a charset named on the first was lost."""
    values = response.headers.getlist("Content-Type")
    return ", ".join(value.decode("latin-1") for value in values) if values else None


def _declared_charset(response: Response, content_type: str | None) -> str | None:
    """The charset a page declares (its byte-order mark, Content-Type or meta tag, in turn, as
    browsers and Scrapy take them; for a rendered page, the one its HTML was re-encoded in),
    never Scrapy's guess from its bytes (`TextResponse.encoding`): a windows-1252 page that
    declared none was read as cp1250 one day and as cp775 the next, once a paragraph was added,
    its "don’t" turned "donÆt" as if changed. The Content-Type's charset is the one browsers
    read (`crawlers.extraction.media.charset`), not the first written in it. Without one,
    extraction reads UTF-8, or windows-1252 as browsers do."""
    if response.meta.get("playwright") and isinstance(response, TextResponse):
        return response.encoding  # as scrapy-playwright encoded Chromium's HTML
    body = response.body
    return read_bom(body)[0] or charset(content_type) or html_body_declared_encoding(body)


def _language_headers(document: TrackedDocument) -> dict[str, str]:
    """Every page is asked for in the document's declared language: Scrapy asks in English."""
    return {"Accept-Language": document.language} if document.language else {}


def _which_page(document: TrackedDocument, index: int) -> str:
    """For a combined document, which of its pages failed; nothing for a single page."""
    if not document.combined:
        return ""
    return f"page {index + 1} of {len(document.pages)} ({document.pages[index].url}): "


def _elapsed_ms(meta: dict[str, Any]) -> int | None:
    sent = meta.get("sent")
    return None if sent is None else int((time.monotonic() - sent) * 1000)
