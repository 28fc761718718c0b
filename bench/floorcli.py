"""What the two floors (floor.py, scrapy_floor.py) share: their command line and their output.

    python bench/<floor>.py URLS.txt [--concurrency 10] [--validators FILE]

With `--validators`, requests carry the ETag / Last-Modified the file holds from a previous run
(conditional GET), and the file is rewritten with what this run received. Prints
`{"statuses": …, "bytes": …, "seconds": …}`, seconds spent fetching.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

Validators = dict[str, dict[str, str]]  # URL -> {"etag": …, "modified": …}
# (urls, concurrency, validators to send) -> (statuses, bytes read, validators received)
Fetch = Callable[[list[str], int, Validators], tuple[Counter[int], int, Validators]]


def conditional_headers(saved: dict[str, str]) -> dict[str, str]:
    sent = {"If-None-Match": saved.get("etag"), "If-Modified-Since": saved.get("modified")}
    return {name: value for name, value in sent.items() if value}


def run(description: str, fetch: Fetch) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("urls", type=Path)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--validators", type=Path)
    args = parser.parse_args()
    urls = args.urls.read_text().split()
    saved = args.validators
    validators = json.loads(saved.read_text()) if saved and saved.exists() else {}
    start = time.perf_counter()
    statuses, size, received = fetch(urls, args.concurrency, validators)
    seconds = time.perf_counter() - start
    if saved:
        saved.write_text(json.dumps(received))
    print(json.dumps({"statuses": statuses, "bytes": size, "seconds": seconds}))
