"""How fast the web timeline renders over a real-sized history: 3,000 changes, 60 documents.

    python bench/timeline.py [--changes 3000] [--runs 20]

Builds a throwaway SQLite store (rows written directly, in bulk: the crawl is not what is
measured), then times whole HTTP requests through the app (routing, query, template): the
timeline's first and last pages, a filtered page, the Atom feed and the JSON API. The target
is under 200 ms for a timeline page.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert
from storerows import T0, document_row, version_row

from policywatch.web import create_app
from store.db import open_store
from store.models import Change, Document, Version
from store.queries import SEVERITIES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx2
    from fastapi.testclient import TestClient

DOCUMENTS = 60
CATEGORIES = ("ai-restriction", "api-access", "pricing", "data-sharing", "rate-limits")


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


def timed(client: TestClient, path: str, runs: int) -> tuple[float, float]:
    """Median and worst wall time in ms of GET `path`, after one warm-up request."""
    assert client.get(path).status_code == 200, path
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        build(engine, options.changes)
        client = TestClient(create_app(engine))
        last = options.changes // 50 + 1
        print(f"{options.changes} changes, {DOCUMENTS} documents; ms per request (median / worst)")
        for label, path in [
            ("timeline, first page", "/"),
            ("timeline, noise included", "/?all=1"),
            (f"timeline, page {last}", f"/?all=1&page={last}"),
            ("timeline, filtered", "/?service=Service+3&min_severity=medium&category=pricing"),
            ("Atom feed", "/feeds/all.atom"),
            ("JSON API, 1000 changes", "/api/changes?all=1&limit=1000"),
        ]:
            median, worst = timed(client, path, options.runs)
            print(f"  {label:<28} {median:7.1f} / {worst:7.1f}")
        engine.dispose()


if __name__ == "__main__":
    main()
