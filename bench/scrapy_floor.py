"""Scrapy's own floor: a bare spider fetching the benchmark's pages, and nothing else.

    python bench/scrapy_floor.py URLS.txt [--concurrency 10] [--validators FILE]

The same command line and output as floor.py. policywatch is a Scrapy project, so no policywatch
crawl can cost less than Scrapy itself: start-up (imports, the reactor, the engine and its
middlewares) and its work per request. This spider requests every URL (with the saved ETag /
Last-Modified when `--validators` is given), counts statuses and bytes, keeps the validators it
receives, and does nothing else: no extraction, no store, no robots.txt. Scrapy runs with its
defaults, but for the per-host limits the benchmark lifts for policywatch too.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], validators: dict[str, dict[str, str]], **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = urls
        self.validators = validators
        self.statuses: Counter[int] = Counter()
        self.size = 0
        self.received: dict[str, dict[str, str]] = {}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            saved = self.validators.get(url, {})
            sent = {"If-None-Match": saved.get("etag"), "If-Modified-Since": saved.get("modified")}
            headers = {name: value for name, value in sent.items() if value}
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", type=Path)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--validators", type=Path)
    args = parser.parse_args()
    urls = args.urls.read_text().split()
    saved = args.validators
    validators = json.loads(saved.read_text()) if saved and saved.exists() else {}
    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "DOWNLOAD_DELAY": 0,
        "LOG_LEVEL": "WARNING",
    }
    start = time.perf_counter()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, urls=urls, validators=validators)
    process.start()
    seconds = time.perf_counter() - start
    spider = crawler.spider
    assert isinstance(spider, BareSpider)
    if saved:
        saved.write_text(json.dumps(spider.received))
    print(json.dumps({"statuses": spider.statuses, "bytes": spider.size, "seconds": seconds}))


if __name__ == "__main__":
    main()
