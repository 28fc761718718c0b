"""Scrapy's HTTP/1.1 download handler, with a page broken off mid-body read as lost.

A body sent without a length (no Content-Length, not chunked: HTTP/1.0 servers, some scripts)
ends where the server closes the connection. Twisted takes any end of the connection for that
close, a reset included, and Scrapy hands on what had arrived as the whole page, flagged
"partial": a page broken off by a server crashing or a middlebox dropping the connection was
recorded as a new version, its missing end read as clauses removed (and, once the page came
whole again, as clauses added). Here only a clean close ends such a body; any other end is the
data lost that a body short of its Content-Length is: the fetch fails, and is retried.

Over TLS a clean close is the server's close_notify. Without it the end is no clean close
either: RFC 9112 (9.8) has a client treat a body delimited by the connection's close as
incomplete then, since that is how a truncation attack cuts a page short.

Its header lines may be as long as a browser takes them (see HEADER_LINE_MAX).

A download that times out on a connection made, before any answer came, says so (`Unanswered`):
the server was reached, and is hung, not out of reach.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, TypeVar

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadTimeoutError
from scrapy.http import Response
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IAddress
from twisted.python.failure import Failure
from twisted.web._newclient import HTTP11ClientProtocol
from twisted.web.client import HTTPConnectionPool
from twisted.web.http import _DataLoss, _IdentityTransferDecoder

from crawlers.items import SILENT, TIMEOUT_SETTING

_T = TypeVar("_T")


class BrokenOff(_DataLoss):
    """A body without a length whose connection ended other than by a clean close."""


class Overrun(_DataLoss):
    """A body followed by more bytes than its Content-Length announced: where it ends is not
    known, and the length may have been taken from an older, shorter page."""


class _BrokenOffDecoder:
    """Stands in for the body's decoder once its connection is lost: all data has been
    delivered, and Twisted's parser asks the decoder whether that was the whole body."""

    def __init__(self, loss: type[_DataLoss] = BrokenOff) -> None:
        self.loss = loss

    def noMoreData(self) -> None:
        raise self.loss()


# Twisted reads a response's header lines with LineReceiver's limit, 16 KiB a line, and past it
# drops the connection: a page sending a long Content-Security-Policy or Link header failed as
# "the connection was lost … (Connection was closed cleanly.)". Browsers take far longer lines
# (Chromium: 256 KiB of headers in all); so does this parser, and past that it says why.
HEADER_LINE_MAX = 256 * 1024


class HeaderTooLong(Exception):
    """A header line of the answer longer than HEADER_LINE_MAX."""

    def __init__(self) -> None:
        super().__init__(f"a header line is longer than {HEADER_LINE_MAX:,} bytes")


class _RoomyParser(_LenientHTTPClientParser):
    MAX_LENGTH = HEADER_LINE_MAX

    def lineLengthExceeded(self, line: bytes) -> None:
        raise HeaderTooLong()


class _ClosePolicingProtocol(_LenientHTTP11ClientProtocol):
    _overrun = False

    def request(self, request: Any) -> Any:
        answer = super().request(request)
        if self._parser is not None:  # the parser Scrapy's request() set, with room for headers
            self._parser.__class__ = _RoomyParser
        self._overrun = False
        return answer

    def _finishResponse_WAITING(self, rest: bytes) -> None:
        # `rest`: what came after the body's Content-Length in the same read, which Twisted
        # drops. Whitespace is let pass (some servers end a body with a stray CRLF); anything
        # else is the page going on past the length announced, whose text would be cut short.
        decoder = getattr(self._parser, "bodyDecoder", None)
        self._overrun = isinstance(decoder, _IdentityTransferDecoder) and bool(rest.strip())
        super()._finishResponse_WAITING(rest)

    _finishResponse_TRANSMITTING = _finishResponse_WAITING

    def _disconnectParser(self, reason: Failure) -> None:
        decoder = getattr(self._parser, "bodyDecoder", None)
        delimited_by_close = (
            isinstance(decoder, _IdentityTransferDecoder) and decoder.contentLength is None
        )
        if delimited_by_close and not reason.check(ConnectionDone):
            self._parser.bodyDecoder = _BrokenOffDecoder()  # type: ignore[union-attr]
        elif self._overrun:
            self._parser.bodyDecoder = _BrokenOffDecoder(Overrun)  # type: ignore[union-attr]
        super()._disconnectParser(reason)


class _ClosePolicingFactory(_LenientHTTP11ClientFactory):
    def buildProtocol(self, addr: IAddress | None) -> HTTP11ClientProtocol:
        return _ClosePolicingProtocol(self._quiescentCallback)


class ClosePolicing:
    """Mixed into a handler built on Scrapy's HTTP/1.1 one (the browser's too, which fetches
    what it does not render through it)."""

    _pool: HTTPConnectionPool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool._factory = _ClosePolicingFactory


class Unanswered(DownloadTimeoutError):
    """A download that timed out on a connection made, before its answer began: the server took
    the connection and sent nothing (a hung backend, a tarpit). Its host was reached, where
    Scrapy's words, `Getting … took longer than 30.0 seconds`, read as a host that cannot be,
    and a crawl of such servers asked whether this machine was offline."""

    def __init__(self, timeout: float) -> None:
        super().__init__(
            f"{SILENT}sent no answer in {timeout:g} s: hung, overloaded or holding crawlers off"
            f" {TIMEOUT_SETTING}"
        )


class _Reach:
    """Whether a download's connection was made: noted as the pool hands it over, a new one
    once connected, a kept-alive one at once."""

    made = False

    def note(self, connection: _T) -> _T:
        self.made = True
        return connection


# The reach of the download asking the pool for a connection. Set by `ReachNoting` in the
# download's own context, and read in it: Scrapy's agent asks for the connection as the download
# starts, in the same call.
_REACH: ContextVar[_Reach | None] = ContextVar("reach", default=None)


class _ReachNotingPool(HTTPConnectionPool):
    def getConnection(self, key: Any, endpoint: Any) -> Deferred[Any]:
        connection: Deferred[Any] = super().getConnection(key, endpoint)
        if (reach := _REACH.get()) is not None:
            connection.addCallback(reach.note)
        return connection


class ReachNoting:
    """Mixed into a handler built on Scrapy's HTTP/1.1 one (the browser's too, for what it
    fetches through it, robots.txt among them): a timeout before any answer on a connection
    made is `Unanswered`."""

    _pool: HTTPConnectionPool
    _crawler: Crawler

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool.__class__ = _ReachNotingPool  # it keeps no state of its own

    async def download_request(self, request: Request) -> Response:
        reach = _Reach()
        token = _REACH.set(reach)
        # A retry is a copy of the request, meta and all: the latency Scrapy noted as an earlier
        # attempt's answer began would have this one answered too (fetch_failures.answered).
        request.meta.pop("download_latency", None)
        try:
            response: Response = await super().download_request(request)  # type: ignore[misc]
            return response
        except DownloadTimeoutError as error:
            if reach.made and "download_latency" not in request.meta:
                settings = self._crawler.settings
                timeout = request.meta.get("download_timeout") or settings.getfloat(
                    "DOWNLOAD_TIMEOUT"
                )
                raise Unanswered(timeout) from error
            raise
        finally:
            _REACH.reset(token)


class HTTPDownloadHandler(ReachNoting, ClosePolicing, HTTP11DownloadHandler):
    """Set for http and https in crawlers/settings.py."""
