"""The floor: a bare concurrent HTTP client fetching the benchmark's pages, and nothing else.

    python bench/floor.py URLS.txt [--concurrency 10] [--validators FILE]

No crawler can fetch the same pages faster than this: aiohttp, keep-alive connections, at most
`--concurrency` requests in flight, each body read whole and thrown away. The command line and
output are floorcli.py's.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import floorcli
from floorcli import Validators, conditional_headers


async def fetch_all(
    urls: list[str], concurrency: int, validators: Validators
) -> tuple[Counter[int], int, Validators]:
    statuses: Counter[int] = Counter()
    received: Validators = {}
    size = 0
    queue = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal size
            for url in queue:
                headers = conditional_headers(validators.get(url, {}))
                async with session.get(url, headers=headers) as r:
                    size += len(await r.read())
                    statuses[r.status] += 1
                    etag, modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
                    received[url] = {"etag": etag or "", "modified": modified or ""}

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, size, received


def main() -> None:
    floorcli.run(__doc__.splitlines()[0], lambda *args: asyncio.run(fetch_all(*args)))


if __name__ == "__main__":
    main()
