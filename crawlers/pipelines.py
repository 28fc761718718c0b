"""The item pipeline: from a fetched page to a recorded version, or a recorded fetch issue.

Cheapest checks first: a 304 or a body identical to the last one is recorded as a check and
never parsed. Otherwise the page is extracted, judged by the diff engine and written in one
transaction. Whatever goes wrong with one document becomes its failed outcome; the crawl goes on.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from crawlers.extract import ExtractionError, extract_markdown
from crawlers.items import CrawlOutcome, FetchedPage, FetchFailed
from crawlers.spiders.policy import PolicySpider
from diffengine import assess, load_rules
from store.repository import Attempt, Repository, body_sha256

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")


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

    def process_item(self, item: FetchedPage | FetchFailed) -> CrawlOutcome:
        try:
            if isinstance(item, FetchFailed):
                return self._failed(item)
            return self._fetched(item)
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

    def _fetched(self, page: FetchedPage) -> CrawlOutcome:
        attempt = Attempt(
            url=page.url,
            status=page.status,
            elapsed_ms=page.elapsed_ms,
            bytes=len(page.body),
            etag=page.etag,
            last_modified=page.last_modified,
        )
        if page.status == 304:
            self.repository.record_unchanged(page.key, attempt, not_modified=True)
            return CrawlOutcome(page.key, "not-modified")
        if body_sha256(page.body) == self.spider.states[page.key].body_sha256:
            self.repository.record_unchanged(page.key, attempt, not_modified=False)
            return CrawlOutcome(page.key, "unchanged")
        return self._extracted(page, attempt)

    def _extracted(self, page: FetchedPage, attempt: Attempt) -> CrawlOutcome:
        document = self.spider.documents[page.key]
        media_type = (page.content_type or "").split(";")[0].strip().lower()
        try:
            if media_type and media_type not in HTML_TYPES:
                raise ExtractionError("not-html", f"the server sent {media_type}, not HTML")
            text = extract_markdown(
                page.body,
                select=document.select,
                remove=document.remove,
                url=page.url,
                encoding=page.encoding,
            )
        except ExtractionError as error:
            self.repository.record_issue(page.key, attempt, error.kind, str(error))
            return CrawlOutcome(page.key, "failed", f"{error.kind}: {error}")
        recorded = self.repository.record_text(
            page.key, attempt, text, self.judge, body=page.body, content_type=page.content_type
        )
        summary = recorded.assessment.summary if recorded.assessment else ""
        return CrawlOutcome(page.key, recorded.outcome, summary, recorded.change_id)
