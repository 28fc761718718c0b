"""The item pipeline: from a fetched page to a recorded version, or a recorded fetch issue.

Cheapest checks first: a 304 or a body identical to the last one is recorded as a check (in one
transaction with the checks arriving beside it: crawlers/checks.py) and never parsed. Otherwise
each page is extracted (HTML, or PDF when declared or served as one), the text is vetted (a page
in another language, or collapsed to a fraction of the last version, is a broken capture),
judged by the diff engine and written in one transaction. Whatever goes wrong with one document
becomes its failed outcome; the crawl goes on.
"""

from __future__ import annotations

import logging
from functools import cached_property, partial
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from crawlers.checks import CheckWriter
from crawlers.declarations import Page, TrackedDocument
from crawlers.extraction import (
    TEXT_TYPES,
    ExtractionError,
    extract_markdown,
    html_start,
    media_type,
    pdf_header,
    pdf_markdown,
    text_markdown,
)
from crawlers.items import CrawlOutcome, FetchedPage, FetchFailed, PageBody
from crawlers.spiders.policy import PolicySpider
from crawlers.steady import steady_text
from diffengine import assess, capture_problem, load_rules
from store.repository import Attempt, Check, Repository, body_sha256

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
PDF_TYPE = "application/pdf"
# What a server or storage bucket labels a file whose type it was not told (S3 gives an object
# uploaded without one `binary/octet-stream`): its body says what it is.
UNTYPED = ("application/octet-stream", "binary/octet-stream", "application/unknown")


class RecordPipeline:
    """Records every item of the policy spider in the store and reports a `CrawlOutcome`."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        rules = load_rules(crawler.settings.getlist("POLICYWATCH_RULES"))
        self.judge = partial(assess, rules=rules)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordPipeline:
        return cls(crawler)

    @property
    def spider(self) -> PolicySpider:
        spider = self.crawler.spider
        assert isinstance(spider, PolicySpider), "RecordPipeline serves the policy spider"
        return spider

    async def process_item(self, item: FetchedPage | FetchFailed) -> CrawlOutcome:
        try:
            if isinstance(item, FetchFailed):
                return self._failed(item)
            return await self._fetched(item)
        except DBAPIError as error:  # the store's trouble, not this page's: no bug to trace
            failed = self.spider.cannot_record(error)
            logger.warning("could not record %s: %s", item.key, failed)
            return CrawlOutcome(item.key, "failed", f"no result: {failed}")
        except Exception as error:  # one document's trouble must not stop the crawl
            logger.exception("could not record %s", item.key)
            return CrawlOutcome(item.key, "failed", f"internal-error: {error}")

    @property
    def repository(self) -> Repository:
        assert self.spider.repository is not None, "the spider opens the store in start()"
        return self.spider.repository

    def _failed(self, item: FetchFailed) -> CrawlOutcome:
        attempt = Attempt(url=item.url, status=item.status, elapsed_ms=item.elapsed_ms)
        self.repository.record_issue(item.key, attempt, item.kind, item.detail)
        return CrawlOutcome(item.key, "failed", f"{item.kind}: {item.detail}")

    @cached_property
    def checks(self) -> CheckWriter:
        return CheckWriter(self.repository)

    async def _fetched(self, page: FetchedPage) -> CrawlOutcome:
        attempt = Attempt(
            url=page.url,
            status=page.status,
            elapsed_ms=page.elapsed_ms,
            bytes=len(page.body),
            etag=page.etag,
            last_modified=page.last_modified,
        )
        if page.status == 304:
            await self.checks.record(Check(page.key, attempt, not_modified=True))
            return CrawlOutcome(page.key, "not-modified")
        last_body = self.spider.states[page.key].body_sha256  # None before the first fetch
        if page.recorded or (last_body and body_sha256(page.body) == last_body):
            await self.checks.record(Check(page.key, attempt, not_modified=False))
            return CrawlOutcome(page.key, "unchanged")
        return await self._extracted(page, attempt)

    async def _extracted(self, page: FetchedPage, attempt: Attempt) -> CrawlOutcome:
        document = self.spider.documents[page.key]
        try:
            text = self._text(page.parts, document)
            if self._may_vary(document):
                text = await self._steadied(text, document)
        except ExtractionError as error:
            self.repository.record_issue(page.key, attempt, error.kind, str(error))
            return CrawlOutcome(page.key, "failed", f"{error.kind}: {error}")
        accepted = page.key in self.spider.accept_capture
        sent_to = page.url if page.url != document.pages[0].url else None
        vet = partial(vet_capture, language=document.language, sent_to=sent_to)
        recorded = self.repository.record_text(
            page.key,
            attempt,
            text,
            partial(self.judge, language=document.language),
            vet=None if accepted else vet,
            body=page.body,
            content_type=page.content_type,
            accepted=accepted,
        )
        if recorded.outcome == "failed":
            return CrawlOutcome(page.key, "failed", recorded.detail)
        assessment = recorded.assessment
        effective = assessment.effective_date if assessment else None
        return CrawlOutcome(
            page.key,
            recorded.outcome,
            assessment.summary if assessment else "",
            recorded.change_id,
            effective.isoformat() if effective else None,
        )

    def _text(self, parts: list[PageBody], document: TrackedDocument) -> str:
        """The text of a document's fetched pages, in order."""
        max_bytes = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        return "\n".join(
            page_text(part, declared, document, max_bytes=max_bytes)
            for part, declared in zip(parts, document.pages, strict=True)
        )

    @staticmethod
    def _may_vary(document: TrackedDocument) -> bool:
        """Whether a text that is not the last recorded is checked against a second fetch
        (crawlers/steady.py): a single page fetched over HTTP. A combined document's pages, or a
        rendered page, would cost a second fetch of each, or a second render."""
        return not document.combined and document.render != "browser"

    async def _steadied(self, text: str, document: TrackedDocument) -> str:
        """`text` with what changes on every fetch kept as last recorded (crawlers/steady.py),
        told by fetching the page again: only when it is not the text last recorded, as the
        page's first text has nothing to keep."""
        previous = self.repository.latest_text(document.key)
        if previous is None or text == previous:
            return text
        again = await self.spider.fetch_again(document.key)
        if again is None:
            return text
        try:
            other = self._text([again], document)
        except ExtractionError:  # no page this time: nothing to tell the first one by
            return text
        return steady_text(text, other, previous)


def page_text(part: PageBody, declared: Page, document: TrackedDocument, *, max_bytes: int) -> str:
    """The Markdown of one fetched page: from its PDF, its pages inflating to `max_bytes` at
    most, from its plain text or Markdown, or from its HTML with its selectors."""
    sent = media_type(part.content_type)
    # Undeclared and unlabelled, a PDF must say so from its start.
    if (document.format == "pdf" or sent == PDF_TYPE) and not pdf_header(part.body):
        raise ExtractionError("not-pdf", _not_a_pdf(sent, part.body))
    if document.format == "pdf" or sent == PDF_TYPE or part.body.startswith(b"%PDF-"):
        return pdf_markdown(part.body, max_bytes=max_bytes)
    if sent in TEXT_TYPES:
        return text_markdown(
            part.body,
            sent,
            select=declared.select,
            remove=declared.remove,
            url=part.url,
            encoding=part.encoding,
        )
    if sent and sent not in HTML_TYPES and not _untyped_html(sent, part.body):
        raise ExtractionError("not-html", f"the server sent {sent}, not HTML or text")
    return extract_markdown(
        part.body,
        select=declared.select,
        remove=declared.remove,
        url=part.url,
        encoding=part.encoding,
    )


def _untyped_html(sent: str, body: bytes) -> bool:
    """Whether a body labelled as a file of no known type (`UNTYPED`) starts as an HTML page: a
    policy kept in a storage bucket was `not-html`, never tracked, as a PDF so labelled is read
    by its header."""
    return sent in UNTYPED and _starts_as_html(body)


def _starts_as_html(body: bytes) -> bool:
    return html_start(body[:1024].decode("utf-8-sig", "replace"))


def _not_a_pdf(labelled: str, body: bytes) -> str:
    """What came where a PDF was expected (declared `format: pdf`, or labelled one): pypdf's own
    words ("Stream has ended unexpectedly") did not say. A login page at a `.pdf` address is
    labelled as its address is; screening already took it for an error page, a sign-in page or
    a wall if it is one."""
    if labelled != PDF_TYPE:
        sent = labelled or "a body of no declared type"
        return f"declared `format: pdf`, but the server sent {sent}"
    sent = "an HTML page" if _starts_as_html(body) else "a body that is not a PDF"
    return f"the server labelled it {PDF_TYPE}, but sent {sent}"


def vet_capture(
    previous: str | None, text: str, language: str | None, sent_to: str | None = None
) -> tuple[str, str] | None:
    """The diff engine's verdict on whether this capture is sound, as the store's `Vet` wants it.
    `sent_to`: where redirects took the crawler, if not to the address declared; a text in
    another language read there is named with it, as a site that sends a visitor to its
    region's page (`/en-us/` to `/de-de/`) made an English address read as German with nothing
    to say why."""
    problem = capture_problem(previous, text, language)
    if problem is None:
        return None
    if problem.kind == "wrong-language" and sent_to:
        where = f"the site sent the crawler to {sent_to}: its page for another region or language?"
        return problem.kind, f"{problem.message}; {where}"
    return problem.kind, problem.message
