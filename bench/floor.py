"""The floor: a bare concurrent HTTP client fetching the benchmark's pages, and nothing else.

    python bench/floor.py URLS.txt [--concurrency 10] [--validators FILE]

No crawler can fetch the same pages faster than this: aiohttp, keep-alive connections, at most
`--concurrency` requests in flight, each body read whole and thrown away. With `--validators`,
requests carry the ETag / Last-Modified the file holds from a previous run (conditional GET),
and the file is rewritten with what this run received. Prints `{"statuses": …, "bytes": …,
"seconds": …}` (seconds spent fetching, start-up excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import aiohttp


async def fetch_all(
    urls: list[str], concurrency: int, validators: dict[str, dict[str, str]]
) -> tuple[Counter[int], int, dict[str, dict[str, str]]]:
    statuses: Counter[int] = Counter()
    received: dict[str, dict[str, str]] = {}
    size = 0
    queue = iter(urls)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal size
            for url in queue:
                saved = validators.get(url, {})
                sent = {
                    "If-None-Match": saved.get("etag"),
                    "If-Modified-Since": saved.get("modified"),
                }
                headers = {name: value for name, value in sent.items() if value}
                async with session.get(url, headers=headers) as r:
                    size += len(await r.read())
                    statuses[r.status] += 1
                    etag, modified = r.headers.get("ETag"), r.headers.get("Last-Modified")
                    received[url] = {"etag": etag or "", "modified": modified or ""}

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, size, received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", type=Path)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--validators", type=Path)
    args = parser.parse_args()
    urls = args.urls.read_text().split()
    saved = args.validators
    validators = json.loads(saved.read_text()) if saved and saved.exists() else {}
    start = time.perf_counter()
    statuses, size, received = asyncio.run(fetch_all(urls, args.concurrency, validators))
    seconds = time.perf_counter() - start
    if saved:
        saved.write_text(json.dumps(received))
    print(json.dumps({"statuses": statuses, "bytes": size, "seconds": seconds}))


if __name__ == "__main__":
    main()
