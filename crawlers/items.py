"""What the spider hands the pipeline, what the pipeline reports back to the runner, and what the
runner reports to the command line."""

from __future__ import annotations

import email.policy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from functools import cached_property

from crawlers.extraction.media import charset, media_type

_UNTYPED = "application/octet-stream"  # a page sent with no media type


@dataclass(frozen=True)
class PageBody:
    """One fetched page of a document."""

    url: str
    body: bytes
    content_type: str | None
    encoding: str | None


@dataclass
class FetchedPage:
    """A response worth looking at: a document's pages (one, or several it combines), or a 304."""

    key: str
    url: str
    status: int
    parts: list[PageBody] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    elapsed_ms: int | None = None
    recorded: bool = False  # the spider found it the very body last recorded: no need to hash it

    @cached_property
    def body(self) -> bytes:
        """The snapshot to keep: the page's body, or a multipart of a combined document's (none
        for a 304). Built once: the pipeline sizes it, hashes it and stores it."""
        if len(self.parts) <= 1:
            return self.parts[0].body if self.parts else b""
        return combined_body(self.parts)

    @property
    def content_type(self) -> str | None:
        if len(self.parts) <= 1:
            return self.parts[0].content_type if self.parts else None
        return "multipart/mixed"


def combined_body(parts: list[PageBody]) -> bytes:
    """The pages as one MIME multipart (each with its URL, type and charset), identical for
    identical pages, so an unchanged combined document is recognised by its hash like any other.
    """
    message = EmailMessage()
    message.set_type("multipart/mixed")
    message.set_boundary(hashlib.sha256(b"".join(part.body for part in parts)).hexdigest())
    for part in parts:
        message.attach(_attachment(part))
    return message.as_bytes()


def snapshot_pages(body: bytes, content_type: str | None, urls: Sequence[str]) -> list[PageBody]:
    """The pages of a snapshot, at `urls` (the document's pages): its body, or the parts of a
    combined document's multipart, each with the type and charset `combined_body` gave it."""
    if content_type != "multipart/mixed":
        return [PageBody(urls[0], body, content_type, charset(content_type))]
    message = BytesParser(policy=email.policy.default).parsebytes(body)
    assert isinstance(message, EmailMessage)  # as the default policy makes them
    return [
        PageBody(url, _bytes_of(part), part["Content-Type"], part.get_content_charset())
        for url, part in zip(urls, message.iter_parts(), strict=True)
    ]


def _bytes_of(part: MIMEPart) -> bytes:
    """A page's body as it was fetched, its transfer encoding undone (a page is no multipart)."""
    body = part.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body


def _attachment(part: PageBody) -> EmailMessage:
    """One page of a combined snapshot, typed as it was read: its media type as browsers read
    its Content-Type, and the charset it declares (`PageBody.encoding`: none where it declares
    none, and its text was read as UTF-8 or windows-1252). The header was copied as sent,
    so a joined one (`text/html, text/html`) made a type no reader knows, and every part lost
    its charset: a windows-1251 page's bytes were left to be read as ASCII."""
    maintype, _, subtype = (media_type(part.content_type) or _UNTYPED).partition("/")
    textual = maintype == "text" or subtype.endswith("+xml")
    attachment = EmailMessage()
    attachment.set_content(
        part.body,
        maintype=maintype,
        subtype=subtype,
        params={"charset": part.encoding} if textual and part.encoding else None,
    )
    attachment["Content-Location"] = part.url
    return attachment


@dataclass
class FetchFailed:
    """A fetch that produced no usable page, with a short kind and a readable reason."""

    key: str
    url: str
    kind: str
    detail: str
    status: int | None = None
    elapsed_ms: int | None = None


@dataclass
class CrawlOutcome:
    """One document's result: `first`, `changed`, `unchanged`, `not-modified` or `failed`.

    Plain JSON values only (the effective date as ISO text): workers send outcomes through Redis.
    """

    key: str
    outcome: str
    detail: str = ""
    change_id: int | None = None
    effective_date: str | None = None


NO_RESULT = "no result: "
STOPPED = "the crawl stopped before reaching it"
INTERRUPTED = "the crawl was interrupted before reaching it"


def never_reached(key: str, why: str = STOPPED) -> CrawlOutcome:
    """The outcome of a document the crawl ended without: the store holds nothing new of it."""
    return CrawlOutcome(key, "failed", f"{NO_RESULT}{why}")


# Failures that say "this machine cannot reach the host", as opposed to "the host said no".
UNREACHABLE = ("dns-error", "connection-refused", "connection-error", "timeout")
# How a timeout's reason begins when its host was reached: the server had begun its answer, or
# had taken the connection and sent nothing (a hung backend, a tarpit). Neither is this machine
# offline.
ANSWERED = "the server answered, but "
SILENT = "the server took the connection, but "
REACHED = (ANSWERED, SILENT)
# What a timeout's reason names as the remedy when its host was reached.
TIMEOUT_SETTING = "(the `timeout` setting, POLICYWATCH_TIMEOUT)"


@dataclass
class CrawlResult:
    """Every document's outcome, in catalog order."""

    outcomes: list[CrawlOutcome] = field(default_factory=list)
    stopped_by: int | None = None  # the signal that stopped it (Ctrl-C: SIGINT), if one did
    # `elsewhere`: the documents another crawl of the store was fetching (`crawl --redis`). Not
    # among the outcomes: this crawl did not check them, nor fail to.
    elsewhere: list[CrawlOutcome] = field(default_factory=list)
    # Why a crawl through workers stopped waiting before every outcome was in, if it did: its
    # `never_reached` documents say so. Not the others reported `no result: …` by a worker that
    # could not record them (its store failed), which the crawl did not stop waiting for.
    gave_up: str | None = None

    @property
    def interrupted(self) -> bool:
        """Stopped by a signal: the documents not reached are still due."""
        return self.stopped_by is not None

    @property
    def unreached(self) -> list[CrawlOutcome]:
        """The documents the crawl ended without (`never_reached`)."""
        return [item for item in self.failed if item.detail.startswith(NO_RESULT)]

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.outcomes if item.outcome == outcome)

    @property
    def failed(self) -> list[CrawlOutcome]:
        return [item for item in self.outcomes if item.outcome == "failed"]

    @property
    def nothing_fetched(self) -> bool:
        return bool(self.outcomes) and len(self.failed) == len(self.outcomes)

    @property
    def offline(self) -> bool:
        """Every document failed for want of a network: worth saying plainly. Not when a
        server was reached and then took too long to answer, or to send or render its page: a
        crawl of slow or hung servers was asked whether the machine was offline."""
        return self.nothing_fetched and all(
            item.detail.startswith(UNREACHABLE) and not any(mark in item.detail for mark in REACHED)
            for item in self.outcomes
        )
