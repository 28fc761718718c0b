"""How a failed fetch is told: its kind (`failure_kind`) and what went wrong (`failure_reason`).

A document is never dropped silently: whatever failed (DNS, a refused connection, a timeout, an
HTTP error, the size cap, robots.txt, a redirect away from the policy) becomes a `FetchFailed` of
the policy spider with its kind and reason. Scrapy's and Twisted's own words are kept unless they
would mislead, or leave the user without the setting that helps.
"""

from __future__ import annotations

import re

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
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectError,
    ConnectionDone,
    ConnectionLost,
    DNSLookupError,
    TimeoutError,
)
from twisted.python.failure import Failure
from twisted.web._newclient import ParseError

from crawlers.browser import NAVIGATION
from crawlers.compression import CompressedCutShort
from crawlers.extraction import RAISE_THE_CAP
from crawlers.http11 import BrokenOff, Overrun
from crawlers.middlewares import (
    ASKED_AGAIN,
    REDIRECT_REFUSED,
    BrowserUnavailable,
    LedInside,
    RobotsTxtUnreachable,
)
from crawlers.responses import header
from crawlers.screening import redirect_verdict

# Scrapy's words for a body over DOWNLOAD_MAXSIZE: "Received 6600000 bytes which is larger than
# download max size (5242880) in request <GET …>."
_SIZES = re.compile(r"(\d+) bytes which is larger than download max size \((\d+)\)")
# and for a compressed body that inflates past it: "Ignored response <200 …> because its body
# (2107 B compressed, 100352 B decompressed so far) exceeded DOWNLOAD_MAXSIZE (100000 B) during
# decompression."
_INFLATED = re.compile(r"\((\d+) B compressed, .*DOWNLOAD_MAXSIZE \((\d+) B\)")
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
    return _reasons(failure) if failure.check(DownloadFailedError) else []


def _reasons(failure: Failure) -> list[Failure]:
    """The failures Twisted gathered, which a Scrapy error carries as its cause's `reasons`."""
    return list(getattr(getattr(failure.value, "__cause__", None), "reasons", []))


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
    reasons = _reasons(failure)
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


def _not_followed(response: Response) -> str:
    """Why a 3xx ended the fetch: Scrapy follows redirects to http(s) pages only, never to a
    `file:` or `ftp:` URL a page names, nor one without a Location; and policywatch none from
    a public address into a private one."""
    location = header(response, "Location")
    where = f"to {location} " if location else "without a Location "
    why = response.request.meta.get(REDIRECT_REFUSED) if response.request else None
    return f"HTTP {response.status}: a redirect {where}is not followed ({why or NOT_HTTP})"


def answered(request: scrapy.Request) -> bool:
    """Whether the server had begun its answer (its status and headers had come) to a request
    that then timed out: its host was reached. Chromium's answer is its navigation's
    (`Navigation.answer`); Scrapy notes an answer's latency as its headers come."""
    navigation = request.meta.get(NAVIGATION)
    if navigation is not None:
        return navigation.answer is not None
    return "download_latency" in request.meta


def redirected_away(request: scrapy.Request) -> tuple[str, str] | None:
    """The redirect that took a failed request away from the policy, to a login, cookie-consent
    or home page, as screening says it of a page that arrives there: the page was no policy
    however its fetch failed. Most sites' robots.txt disallow their sign-in page, and a policy
    redirected there read `robots-disallowed: Forbidden by robots.txt`, as if the policy itself
    were kept from crawlers."""
    chain = request.meta.get("redirect_urls")
    away = redirect_verdict(chain[0], request.url, chain) if chain else None
    return (away.kind, away.detail) if away else None
