"""How catalog loading scales: every crawl, `catalog list` and `catalog validate` loads it first.

Writes a catalog of N documents (one YAML file per service, 50 documents each, with selectors of
the kinds real declarations use, ranges included) and times `load_catalog` on it, the bundled
catalog included, as the command line loads it. Loading validates every entry, checks every
selector and refuses duplicate keys; its cost per document should not grow with N.

    python bench/catalog_load.py [--sizes 1000,5000,10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from crawlers.declarations import load_catalog

PER_SERVICE = 50
SELECTS: list[object] = [
    "#content",
    "main article",
    ".legal-body, .terms",
    {"start_before": "h1#terms", "end_before": "footer"},
]
REMOVES = [".share", "nav, .cookie-banner", "[aria-hidden=true]", ".toc a.anchor"]


def write_catalog(folder: Path, size: int) -> None:
    """`size` documents in files of PER_SERVICE, each service a distinct name."""
    for first in range(0, size, PER_SERVICE):
        service = f"Service {first // PER_SERVICE:05d}"
        documents = [
            {
                "type": f"Terms {n:05d}",
                "url": f"https://example.{first // PER_SERVICE}.test/legal/{n}",
                "select": [SELECTS[n % len(SELECTS)]],
                "remove": [REMOVES[n % len(REMOVES)]],
            }
            for n in range(first, min(first + PER_SERVICE, size))
        ]
        path = folder / f"service-{first // PER_SERVICE:05d}.yaml"
        path.write_text(yaml.safe_dump({"service": service, "documents": documents}))


def timed_load(folder: Path, size: int, runs: int) -> float:
    """The median wall time of loading the catalog; checks that every document loaded."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        catalog = load_catalog([folder])
        times.append(time.perf_counter() - start)
        if catalog.errors or len(catalog.documents) < size:
            raise SystemExit(f"the generated catalog did not load: {catalog.errors[:3]}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000", help="comma-separated sizes")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    table = Table(title="load_catalog (bundled catalog + N documents), median wall time")
    for column in ("documents", "seconds", "ms per document", "÷ smallest size, per document"):
        table.add_column(column, justify="right")
    baseline = None
    for size in (int(size) for size in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="pw-catalog-bench-") as tmp:
            write_catalog(Path(tmp), size)
            seconds = timed_load(Path(tmp), size, args.runs)
        per_document = seconds / size * 1000
        baseline = baseline or per_document
        table.add_row(
            f"{size:,}", f"{seconds:.2f}", f"{per_document:.3f}", f"{per_document / baseline:.2f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
