"""Scrapy's own floor: a bare spider fetching the benchmark's pages, and nothing else.

    python bench/scrapy_floor.py URLS.txt [--concurrency 10] [--validators FILE] [--core]

The same command line and output as floor.py (floorcli.py). policywatch is a Scrapy project, so
no policywatch crawl can cost less than Scrapy itself: start-up (imports, the reactor, the
engine and its middlewares) and its work per request. This spider requests every URL (with the
saved ETag / Last-Modified when `--validators` is given), counts statuses and bytes, keeps the
validators it receives, and does nothing else: no extraction, no store, no robots.txt. Scrapy
runs with its defaults, but for the per-host limits the benchmark lifts for policywatch too.

With `--core`, Scrapy runs without any of its optional components: no downloader or spider
middleware, no extension, no stats, the HTTP handler alone. No crawl that needs robots.txt,
redirects, compression, timeouts or retries can cost less: what is left is Scrapy's engine,
scheduler and downloader.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import floorcli
import scrapy
from floorcli import Validators, conditional_headers
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], validators: Validators, **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = urls
        self.validators = validators
        self.statuses: Counter[int] = Counter()
        self.size = 0
        self.received: Validators = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            headers = conditional_headers(self.validators.get(url, {}))
            meta = {"handle_httpstatus_list": [304]}
            yield scrapy.Request(url, headers=headers, meta=meta, dont_filter=True)

    def parse(self, response: Response) -> None:
        self.statuses[response.status] += 1
        self.size += len(response.body)
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        self.received[response.url] = {
            "etag": etag.decode("latin-1") if etag else "",
            "modified": modified.decode("latin-1") if modified else "",
        }


CORE = {
    "DOWNLOADER_MIDDLEWARES_BASE": {},
    "SPIDER_MIDDLEWARES_BASE": {},
    "EXTENSIONS_BASE": {},
    "DOWNLOAD_HANDLERS_BASE": {
        "http": "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
    },
    "STATS_CLASS": "scrapy.statscollectors.DummyStatsCollector",
    "TELNETCONSOLE_ENABLED": False,
    "WARN_ON_GENERATOR_RETURN_VALUE": False,
}


def fetch_all(
    urls: list[str], concurrency: int, validators: Validators, core: bool = False
) -> tuple[Counter[int], int, Validators]:
    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "LOG_LEVEL": "WARNING",
        "CONCURRENT_ITEMS": 1,
        **(CORE if core else {}),
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, urls=urls, validators=validators)
    process.start()
    spider = crawler.spider
    assert isinstance(spider, BareSpider)
    return spider.statuses, spider.size, spider.received


def main() -> None:
    core = "--core" in sys.argv
    if core:
        sys.argv.remove("--core")  # floorcli's own arguments are the rest
    floorcli.run(__doc__.splitlines()[0], partial(fetch_all, core=core))


if __name__ == "__main__":
    main()
