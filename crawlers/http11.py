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
"""

from __future__ import annotations

from typing import Any

from scrapy.core.downloader.handlers.http11 import (
    HTTP11DownloadHandler,
    _LenientHTTP11ClientFactory,
    _LenientHTTP11ClientProtocol,
    _LenientHTTPClientParser,
)
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IAddress
from twisted.python.failure import Failure
from twisted.web._newclient import HTTP11ClientProtocol
from twisted.web.client import HTTPConnectionPool
from twisted.web.http import _DataLoss, _IdentityTransferDecoder


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


class HTTPDownloadHandler(ClosePolicing, HTTP11DownloadHandler):
    """Set for http and https in crawlers/settings.py."""
