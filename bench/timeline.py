"""How the web pages, feed and JSON API cost as the history grows: 3,000 and 30,000 changes.

    python bench/timeline.py [--changes 3000,30000] [--runs 20] [--pg URL] [--only LABEL]

Builds a throwaway store per size, 60 documents (rows written directly, in bulk: the crawl is
not what is measured), a SQLite file or, with `--pg` (an admin URL), a new PostgreSQL database
dropped after it. Then it times whole HTTP requests through the app (routing, queries,
template or serialisation) and prints, per request, the median (and worst) at each size and
how many times the cost grew from the smallest size to the largest: a page whose cost follows
the history's size reads every change where it shows fifty. `--only` keeps the requests whose
label holds LABEL, to profile one (`py-spy record -- python bench/timeline.py --only …`).
The CPU time of the process is printed beside the wall time: the steadier figure on a machine
shared with other work (it leaves out the PostgreSQL server's).
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import time
import warnings
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, insert
from storerows import T0, document_row, store, version_row

from policywatch.web import create_app
from store.db import open_store
from store.models import Change, Document, Version
from store.queries import SEVERITIES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx2
    from fastapi.testclient import TestClient

DOCUMENTS = 60
CATEGORIES = ("ai-restriction", "api-access", "pricing", "data-sharing", "rate-limits")
PAGE = 50  # the timeline's page size
# Every change of document 0 is noise (one in ten is, and 60 is a multiple of 10) about
# `ai-restriction`: asked for its `pricing` changes, the timeline shows none, counts the noise
# it hides and tries each filter dropped ("with one filter less").
EMPTY = "/?document=service-0/document-0&category=pricing"
DOCUMENT = "/documents/service-3/document-3"


def build(engine: Engine, changes: int) -> None:
    """`changes` changes spread over DOCUMENTS documents, one version each side."""
    per_document = changes // DOCUMENTS + 1
    documents, versions, rows = [], [], []
    for d in range(DOCUMENTS):
        documents.append(document_row(d))
        for seq in range(per_document + 1):
            version_id = d * (per_document + 1) + seq + 1
            versions.append(version_row(version_id, d, seq, seq, hour=seq * DOCUMENTS + d))
    for n in range(changes):
        d, seq = n % DOCUMENTS, n // DOCUMENTS
        category = CATEGORIES[n % len(CATEGORIES)]
        first = d * (per_document + 1) + seq + 1
        rows.append(
            {
                "document_id": d + 1,
                "from_version_id": first,
                "to_version_id": first + 1,
                "detected_at": T0 + timedelta(hours=n),
                "meaningful": n % 10 != 0,
                "reason": None if n % 10 else "cosmetic",
                "severity": SEVERITIES[n % len(SEVERITIES)],
                "categories": [category],
                "summary": f"Change {n}: a clause about {category} was edited",
                "added": 2,
                "removed": 1,
                "changed": 1,
                "matches": [],
                "effective_date": date(2026, 1, 1) + timedelta(days=n % 90),
            }
        )
    with engine.begin() as connection:
        connection.execute(insert(Document), documents)
        connection.execute(insert(Version), versions)
        connection.execute(insert(Change), rows)


def pages(n: int) -> int:
    return max(1, -(-n // PAGE))


def older_link(client: TestClient, path: str) -> str:
    """Where the "older" link of page `path` leads, as a reader paging through gets there."""
    found = re.search(r'rel="next" href="\?([^"]+)"', client.get(path).text)
    assert found, f"no older link on {path}"
    return path.split("?")[0] + "?" + html.unescape(found[1])


def requests(client: TestClient, changes: int) -> list[tuple[str, str]]:
    """What is timed at a size, by label: the pages that must not follow the history's size,
    and the late ones, reached by number (the pager's "oldest") and by the "older" link."""
    last = pages(changes)
    own = pages(-(-changes // DOCUMENTS))  # document 3's changes, noise included
    return [
        ("timeline, first page", "/"),
        ("timeline, noise included", "/?all=1"),
        ("timeline, the last page", f"/?all=1&page={last}"),
        ("timeline, older from the last but one", older_link(client, f"/?all=1&page={last - 1}")),
        ("timeline, filtered", "/?service=Service+3&min_severity=medium&category=pricing"),
        ("timeline, empty selection", EMPTY),
        ("documents", "/documents"),
        ("document, first page", DOCUMENT),
        ("document, last page", f"{DOCUMENT}?page={own}"),
        ("Atom feed", "/feeds/all.atom"),
        ("JSON API, 50 changes", "/api/changes"),
        ("JSON API, 1000 changes", "/api/changes?all=1&limit=1000"),
        ("JSON API, the last 50", f"/api/changes?all=1&offset={changes - PAGE}"),
    ]


def timed(client: TestClient, path: str, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (the app and its client, not the
    PostgreSQL server), in ms, of GET `path`, after one warm-up request. On a machine shared
    with other work the CPU time is the steadier of the two."""
    assert client.get(path).status_code == 200, path
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200
    return statistics.median(walls), statistics.median(cpus)


@dataclass
class Size:
    """The figures of one size: median wall and CPU time per label."""

    changes: int
    figures: dict[str, tuple[float, float]]


def measure(url: str, changes: int, runs: int, only: str) -> Size:
    engine = open_store(url)
    start = time.perf_counter()
    build(engine, changes)
    print(f"{changes} changes, {DOCUMENTS} documents: built in {time.perf_counter() - start:.1f} s")
    client = TestClient(create_app(engine))
    figures = {
        label: timed(client, path, runs)
        for label, path in requests(client, changes)
        if only.lower() in label.lower()
    }
    engine.dispose()
    return Size(changes, figures)


def report(sizes: list[Size], runs: int, backend: str) -> None:
    """One row per request: each size's medians (wall / CPU), then how many times the CPU
    time grew from the first size to the last."""
    print(f"\n{backend}, {DOCUMENTS} documents; ms per request, median of {runs}: wall / CPU")
    header = "".join(f"{f'{size.changes:,} changes':>20}" for size in sizes)
    print(f"  {'request':<40}{header}{'growth':>9}")
    for label in sizes[0].figures:
        cells = "".join(f"{f'{w:.1f} / {c:.1f}':>20}" for w, c in (s.figures[label] for s in sizes))
        growth = sizes[-1].figures[label][1] / sizes[0].figures[label][1]
        print(f"  {label:<40}{cells}{growth:>8.1f}×")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", default="3000,30000", help="sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--pg", help="a PostgreSQL admin URL: the stores are databases of it")
    parser.add_argument("--only", default="", help="time only the requests whose label holds it")
    options = parser.parse_args()
    sizes = []
    for changes in (int(n) for n in options.changes.split(",")):
        with store(options.pg) as url:
            sizes.append(measure(url, changes, options.runs, options.only))
    report(sizes, options.runs, "SQLite" if options.pg is None else "PostgreSQL")


if __name__ == "__main__":
    main()
