"""The policy spider: one conditional GET per tracked document, every outcome handed on.

It never drops a document silently: a response becomes a `FetchedPage`, anything else (DNS,
refused connection, timeout, HTTP error, size cap, robots.txt) a `FetchFailed` with its reason.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from typing import Any

import scrapy
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.response import response_status_message
from twisted.internet.error import ConnectError, DNSLookupError, TimeoutError
from twisted.python.failure import Failure

from crawlers.declarations import TrackedDocument
from crawlers.items import FetchedPage, FetchFailed
from store.db import open_store
from store.repository import DocumentInfo, FetchState, Repository

# Error statuses reach the spider so they are recorded with their reason; redirects still follow.
HANDLED_STATUSES = [304, *range(400, 600)]

_FAILURE_KINDS: list[tuple[type[BaseException], str]] = [
    (CannotResolveHostError, "dns-error"),
    (DNSLookupError, "dns-error"),
    (DownloadConnectionRefusedError, "connection-refused"),
    (DownloadTimeoutError, "timeout"),
    (TimeoutError, "timeout"),
    (DownloadCancelledError, "too-large"),
    (ConnectError, "connection-error"),
    (IgnoreRequest, "robots-disallowed"),
    (HttpError, "http-error"),
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
    return next((kind for error, kind in _FAILURE_KINDS if failure.check(error)), "fetch-error")


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class PolicySpider(scrapy.Spider):
    """Fetches the documents it is given and records them through the pipeline."""

    name = "policy"

    def __init__(self, documents: Iterable[TrackedDocument] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.documents = {document.key: document for document in documents}
        self.repository: Repository | None = None
        self.states: dict[str, FetchState] = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.repository = Repository(open_store(self.settings["POLICYWATCH_DB"]))
        self.repository.sync_documents([document_info(doc) for doc in self.documents.values()])
        for key, document in self.documents.items():
            self.states[key] = self.repository.fetch_state(key)
            yield scrapy.Request(
                document.url,
                callback=self.parse,
                errback=self.failed,
                headers=conditional_headers(self.states[key]),
                dont_filter=True,
                meta={
                    "key": key,
                    "handle_httpstatus_list": HANDLED_STATUSES,
                    "sent": time.monotonic(),
                },
            )

    def parse(self, response: Response) -> Iterable[FetchedPage | FetchFailed]:
        key = response.meta["key"]
        elapsed = _elapsed_ms(response.meta)
        if response.status >= 400:
            detail = f"HTTP {response_status_message(response.status)}"
            yield FetchFailed(key, response.url, "http-error", detail, response.status, elapsed)
            return
        state = self.states[key]
        not_modified = response.status == 304
        yield FetchedPage(
            key=key,
            url=response.url,
            status=response.status,
            body=response.body,
            content_type=_header(response, "Content-Type"),
            encoding=getattr(response, "encoding", None),
            etag=_header(response, "ETag") or (state.etag if not_modified else None),
            last_modified=_header(response, "Last-Modified")
            or (state.last_modified if not_modified else None),
            elapsed_ms=elapsed,
        )

    def failed(self, failure: Failure) -> Iterable[FetchFailed]:
        request = failure.request  # type: ignore[attr-defined]
        kind = failure_kind(failure)
        detail = str(failure.value) or repr(failure.value)
        yield FetchFailed(
            request.meta["key"], request.url, kind, detail, None, _elapsed_ms(request.meta)
        )


def _elapsed_ms(meta: dict[str, Any]) -> int | None:
    sent = meta.get("sent")
    return None if sent is None else int((time.monotonic() - sent) * 1000)
