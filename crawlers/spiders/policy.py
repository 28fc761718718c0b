"""The policy spider: one conditional GET per tracked document, every outcome handed on.

It never drops a document silently: a response becomes a `FetchedPage`, anything else (DNS,
refused connection, timeout, HTTP error, size cap, robots.txt, a bot wall, a redirect to a login
or home page) a `FetchFailed` with its reason. A document that combines several pages fetches
them one after the other and is handed on whole, or fails at the first page that fails. What a
response is, and whether it is the page asked for, is `crawlers.responses`'s to say; how a failed
fetch is told, `crawlers.fetch_failures`'s.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from sqlalchemy.exc import DBAPIError
from twisted.python.failure import Failure

from crawlers.browser import NAVIGATION, browser_failure, own_body, render_meta
from crawlers.declarations import TrackedDocument
from crawlers.fetch_failures import answered, failure_kind, failure_reason, redirected_away
from crawlers.items import ANSWERED, TIMEOUT_SETTING, FetchedPage, FetchFailed, PageBody
from crawlers.middlewares import BROWSER_MISSING, SENT
from crawlers.responses import content_type_of, declared_charset, header, screen
from store.db import StoreError, driver_words, open_store, public_url
from store.repository import DocumentInfo, FetchState, Repository, body_sha256

logger = logging.getLogger(__name__)

# Error statuses reach the spider so they are recorded with their reason; redirects still follow.
# So do the ones past 599 that no standard defines: LinkedIn refuses crawlers with 999.
HANDLED_STATUSES = [304, *range(400, 1000)]


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


def _store_failure(url: str, error: Exception) -> str:
    if isinstance(error, StoreError):  # says which store, and why
        return str(error)
    return f"the store {public_url(url)} failed: {driver_words(error)}"


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
            yield self._request(document, [], 0.0)

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
        self, document: TrackedDocument, fetched: list[PageBody], spent: float
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
            "spent": spent,  # seconds the earlier pages took (crawlers.middlewares.FetchClock)
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
        content_type = content_type_of(response)
        problem = screen(
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
        encoding = declared_charset(response, content_type)
        fetched = [*fetched, PageBody(response.url, response.body, content_type, encoding)]
        if len(fetched) < len(document.pages):
            yield self._request(document, fetched, _elapsed(response.meta) or 0.0)
            return
        yield FetchedPage(
            key=key,
            url=fetched[0].url,
            status=response.status,
            parts=fetched,
            etag=None if document.combined else header(response, "ETag"),
            last_modified=None if document.combined else header(response, "Last-Modified"),
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
        content_type = content_type_of(response)
        if response.status != 200 or screen(response, url, content_type, scan_body=True):
            return None
        return PageBody(
            response.url, response.body, content_type, declared_charset(response, content_type)
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

    def _not_modified(self, response: Response) -> FetchedPage:
        state = self.states[response.meta["key"]]
        return FetchedPage(
            key=response.meta["key"],
            url=response.url,
            status=304,
            etag=header(response, "ETag") or state.etag,
            last_modified=header(response, "Last-Modified") or state.last_modified,
            elapsed_ms=_elapsed_ms(response.meta),
        )

    def _answered_late(self, request: scrapy.Request) -> str:
        """A timeout's reason when the server had answered (`answered`): a page slow to send,
        or to render, is no sign of this machine being offline, nor helped by waiting for a
        network, but by a longer timeout."""
        timeout = request.meta.get("download_timeout") or self.settings.getfloat("DOWNLOAD_TIMEOUT")
        doing = "render" if NAVIGATION in request.meta else "arrive"
        return f"{ANSWERED}the page took longer than {timeout:g} s to {doing} {TIMEOUT_SETTING}"

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
                or redirected_away(request)
                or (kind, failure_reason(failure, kind, cap))
            )
            if kind == "timeout" and answered(request):
                reason = self._answered_late(request)
        except Exception as error:
            # Scrapy logs an errback's own exception and forgets the request: no spider
            # middleware sees it (crawlers.middlewares.InternalErrorMiddleware), and the document
            # would be lost, a worker's crawl left waiting for it.
            logger.exception("internal error while wording the failure of %s (%s)", request, key)
            page, kind, reason = "", "internal-error", f"{type(error).__name__}: {error}"
        yield FetchFailed(key, request.url, kind, page + reason, None, _elapsed_ms(request.meta))


def _language_headers(document: TrackedDocument) -> dict[str, str]:
    """Every page is asked for in the document's declared language: Scrapy asks in English."""
    return {"Accept-Language": document.language} if document.language else {}


def _which_page(document: TrackedDocument, index: int) -> str:
    """For a combined document, which of its pages failed; nothing for a single page."""
    if not document.combined:
        return ""
    return f"page {index + 1} of {len(document.pages)} ({document.pages[index].url}): "


def _elapsed(meta: dict[str, Any]) -> float | None:
    """Seconds the document's fetch took so far: its earlier pages', and this page's since its
    request went to the downloader (`FetchClock`); None when it never did (robots.txt said no)."""
    sent = meta.get(SENT)
    return None if sent is None else meta.get("spent", 0.0) + time.monotonic() - sent


def _elapsed_ms(meta: dict[str, Any]) -> int | None:
    elapsed = _elapsed(meta)
    return None if elapsed is None else int(elapsed * 1000)
