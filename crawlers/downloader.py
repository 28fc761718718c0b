"""Scrapy's downloader, with its per-host limit kept when there is no download delay.

Scrapy 2.19 starts each transfer in a task of its own, and counts the request as transferring
only once that task runs. With a delay, a slot starts one request and waits, so the count is
right by then. With none, one pass over a slot's queue started every request in it: eight pages
queued for one host were fetched seven at a time, whatever CONCURRENT_REQUESTS_PER_DOMAIN said
(and a delay of a tenth of a millisecond still let two through now and then). Here a request
counts as transferring from the moment it leaves the queue.

Once a signal stops the crawl, a request that leaves the queue is not sent: Scrapy stops taking
requests from its scheduler, but went on sending those already queued for a busy host, one after
the other, each up to the download timeout.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure


class PerHostDownloader(Downloader):
    """Set as DOWNLOADER in crawlers/settings.py; tests/test_crawl.py counts, at the server,
    the requests one host is answering at once."""

    def _wait_for_download(
        self, slot: Slot, request: Request, queue_dfd: Deferred[Response]
    ) -> Coroutine[Any, Any, None]:
        if not self.crawler.crawling:  # stopping: the document stays due (spider's errback)
            return _refuse(queue_dfd)
        # Called as the request leaves the queue, before the loop that pops them looks at the
        # slot's free transfers again; Scrapy's own transfer adds it again, and removes it.
        slot.transferring.add(request)
        return super()._wait_for_download(slot, request, queue_dfd)


async def _refuse(queue_dfd: Deferred[Response]) -> None:
    queue_dfd.errback(Failure(IgnoreRequest("the crawl is stopping")))
