"""Faults injected into a real crawl with `--set SPIDER_MIDDLEWARES=...`: stand-ins for a bug,
to test what policywatch does when one is met. The crawl runs in a child process, which imports
this module when the test puts `ROOT` on its PYTHONPATH."""

from __future__ import annotations

import asyncio
import json
import os
import time
import warnings
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import Response
from scrapy.resolver import CachingThreadedResolver
from twisted.internet import defer
from twisted.internet.error import DNSLookupError

FAULT = "injected fault"
ROOT = str(Path(__file__).resolve().parent.parent)


def spider_middlewares(name: str) -> list[str]:
    """The `--set` arguments that put fault `name` of this module next to the spider."""
    return ["--set", f'SPIDER_MIDDLEWARES={{"tests.faults.{name}": 900}}']


class CrashOnCrashPage:
    """Raises, with a Python warning first, while reading any page whose path ends in /crash."""

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any], spider: object = None
    ) -> AsyncIterator[Any]:
        if response.url.endswith("/crash"):
            warnings.warn(f"{FAULT}: a warning", stacklevel=1)
            raise RuntimeError(FAULT)
        async for item in result:
            yield item


BLOCKED = 12.0  # seconds: longer than a worker counts as alive without a sign of life
# A file whose creation ends the hold instead (at most HELD_AT_MOST seconds): a test whose other
# worker must take the page over cannot count on that happening within BLOCKED on a loaded machine.
HELD_UNTIL = "FAULT_HELD_UNTIL"
HELD_AT_MOST = 120.0


class BlockOnSlowPage:
    """Holds the event loop for BLOCKED seconds, or until the file that FAULT_HELD_UNTIL names
    exists, while reading any page whose path ends in /slow: what a huge page or PDF, or a lock
    the store waits for, does to a crawl."""

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any], spider: object = None
    ) -> AsyncIterator[Any]:
        if response.url.endswith("/slow"):
            _hold()
        async for item in result:
            yield item


def _hold() -> None:
    released = os.environ.get(HELD_UNTIL)
    if released is None:
        time.sleep(BLOCKED)
        return
    deadline = time.monotonic() + HELD_AT_MOST
    while not Path(released).exists() and time.monotonic() < deadline:
        time.sleep(0.1)


DWELL = 4.0  # seconds a page is read without holding the event loop


class DwellOnSlowPage:
    """Reads any page whose path ends in /slow for DWELL seconds while the event loop runs on:
    a page answered and still being read or recorded, no longer being fetched."""

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any], spider: object = None
    ) -> AsyncIterator[Any]:
        if response.url.endswith("/slow"):
            await asyncio.sleep(DWELL)
        async for item in result:
            yield item


class Unprintable(Exception):
    """An exception whose message cannot be rendered: reading it raises."""

    def __str__(self) -> str:
        raise RuntimeError(FAULT)


class FailUnprintably:
    """Fails the download of any page whose path ends in /unprintable with an `Unprintable`
    error, which the spider's errback meets when it words the failure. A downloader middleware:
    name it with `--set DOWNLOADER_MIDDLEWARES=...` (`downloader_middlewares`)."""

    def process_request(self, request: Request, spider: object = None) -> None:
        if request.url.endswith("/unprintable"):
            raise Unprintable()


def downloader_middlewares(name: str) -> list[str]:
    """The `--set` arguments that add fault `name` of this module to the downloader's
    middlewares, beside policywatch's own."""
    from crawlers import settings

    ours = {**settings.DOWNLOADER_MIDDLEWARES, f"tests.faults.{name}": 540}
    return ["--set", f"DOWNLOADER_MIDDLEWARES={json.dumps(ours)}"]


REBOUND = ".rebound.test"


class RebindingResolver(CachingThreadedResolver):
    """Scrapy's resolver, but every name under `REBOUND` connects to 127.0.0.1, which the
    system's resolver (policywatch's own check) does not know: a DNS server that answers a
    public address to the check and this machine to the connection. Name it with `--set
    DNS_RESOLVER=tests.faults.RebindingResolver`."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if name.endswith(REBOUND):
            return defer.succeed("127.0.0.1")
        return super().getHostByName(name, timeout)


FLAKY = ".flaky.test"
_FAILED_ONCE: set[str] = set()  # the names under FLAKY whose first lookup failed


class FlakyResolver(CachingThreadedResolver):
    """Scrapy's resolver, but every name under `FLAKY` fails its first lookup, then connects to
    127.0.0.1: a resolver that failed for a moment (a network coming back). Name it with `--set
    DNS_RESOLVER=tests.faults.FlakyResolver`."""

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> defer.Deferred[str]:
        if not name.endswith(FLAKY):
            return super().getHostByName(name, timeout)
        if name in _FAILED_ONCE:
            return defer.succeed("127.0.0.1")
        _FAILED_ONCE.add(name)
        return defer.fail(DNSLookupError(name))
