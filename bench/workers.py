"""How crawls spread over `policywatch worker`s compare with one local crawl, on the same pages.

    python bench/workers.py                                  # N = 1,000; 1 and 2 workers; 3 rounds
    python bench/workers.py --sizes 200 --workers 1,2,4 --rounds 1

Builds N policy pages and serves them as bench/crawl.py does, then, per round, for a local
`policywatch crawl` and for 1, 2, … `policywatch worker`s fed by `policywatch crawl --redis`,
each with a new PostgreSQL database: a first crawl, then a 304 recrawl. The figure is the
coordinating command's wall time, from its start to its summary: what a cron job waits for.
Workers start (and say they are alive) before the clock starts, as services do.

Per-host limits are lifted as bench/crawl.py lifts them (--concurrency requests at a time, no
delay), for the local crawl and for each worker: N workers send up to N × --concurrency requests
at once, as they would to N hosts. Needs PostgreSQL (--pg, an admin URL; a database is created
and dropped per run) and Redis (--redis; the database given is emptied).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from crawl import build_site, machine
from crawlsite import SERVICE, start_server
from crawltools import Policywatch, measured
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text

SCENARIOS = ("first", "unchanged")
console = Console()


class Store:
    """A new PostgreSQL database per run, dropped after it."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.base = admin_url.rsplit("/", 1)[0]

    @contextmanager
    def fresh(self) -> Iterator[str]:
        name = f"pw_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{self.base}/{name}"
        finally:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Crawls(Policywatch):
    """bench/crawl.py's policywatch, on PostgreSQL, crawling locally or through workers."""

    def __init__(self, workdir: Path, concurrency: int, redis_url: str) -> None:
        super().__init__(workdir, concurrency)
        self.redis_url = redis_url
        self.store_url = ""

    def overrides(self) -> list[str]:
        pairs = [f"{name}={json.dumps(value)}" for name, value in self.lifted.items()]
        return [arg for pair in pairs for arg in ("--set", pair)]

    def command(self, queued: bool = False) -> list[str]:
        selection = ("--catalog", str(self.catalog), "--only", SERVICE, "--all")
        where = ("--redis", self.redis_url) if queued else tuple(self.overrides())
        output = ("--no-notify", "--json", "-q")
        return [self.cli, "crawl", *selection, "--db", self.store_url, *output, *where]

    def crawl(self, scenario: str, queued: bool) -> tuple[float, Counter[str]]:
        measure, stdout = measured(self.command(queued), self.env, self.workdir / f"{scenario}.log")
        return measure.wall, Counter(row["outcome"] for row in json.loads(stdout))

    @contextmanager
    def workers(self, count: int) -> Iterator[None]:
        """`count` workers of this store, alive (their keys in Redis) when the block starts."""
        client = redis.Redis.from_url(self.redis_url)
        command = [self.cli, "worker", "--redis", self.redis_url, "--db", self.store_url, "-q"]
        logs = [(self.workdir / f"worker-{n}.log").open("wb") for n in range(count)]
        children = [
            subprocess.Popen([*command, *self.overrides()], env=self.env, stderr=log)
            for log in logs
        ]
        try:
            deadline = time.monotonic() + 60
            while len(list(client.scan_iter("policywatch:worker:*"))) < count:
                if time.monotonic() > deadline or any(c.poll() is not None for c in children):
                    raise RuntimeError(f"the workers did not start; see {self.workdir}")
                time.sleep(0.1)
            yield
        finally:
            for child in children:
                child.terminate()
            for child, log in zip(children, logs, strict=True):
                child.wait(timeout=120)
                log.close()


def one_round(crawls: Crawls, store: Store, setups: list[int]) -> list[dict[str, object]]:
    """Each setup once: 0 is the local crawl, n > 0 that many workers."""
    rows: list[dict[str, object]] = []
    for workers in setups:
        with store.fresh() as db:
            crawls.store_url = db
            runner = crawls.workers(workers) if workers else _nothing()
            with runner:
                for scenario in SCENARIOS:
                    wall, outcomes = crawls.crawl(scenario, queued=workers > 0)
                    rows.append(
                        {"workers": workers, "scenario": scenario, "wall": wall, **outcomes}
                    )
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def label(workers: int) -> str:
    if not workers:
        return "local crawl"
    return f"{workers} worker{'s' if workers > 1 else ''}"


def report(rows: list[dict[str, object]], size: int, setups: list[int]) -> Table:
    table = Table(title=f"N = {size:,}: wall time in seconds, median (pages per second)")
    table.add_column("setup")
    for scenario in SCENARIOS:
        table.add_column(scenario, justify="right")
    for workers in setups:
        cells = []
        for scenario in SCENARIOS:
            walls = [
                float(str(row["wall"]))
                for row in rows
                if row["workers"] == workers and row["scenario"] == scenario
            ]
            median = statistics.median(walls)
            cells.append(f"{median:.2f} ({size / median:,.0f})")
        table.add_row(label(workers), *cells)
    return table


def checked(rows: list[dict[str, object]], size: int) -> None:
    """Every run did what its scenario says, or the figure means nothing."""
    wanted = {"first": "first", "unchanged": "not-modified"}
    for row in rows:
        outcome = wanted[str(row["scenario"])]
        if row.get(outcome) != size:
            raise SystemExit(f"{label(int(str(row['workers'])))}: {row}, not {size} {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000", help="comma-separated page counts")
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--json", type=Path, help="write every run to this file")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    setups = [0, *(int(count) for count in args.workers.split(","))]
    redis.Redis.from_url(args.redis).flushdb()
    store = Store(args.pg)
    runs: dict[int, list[dict[str, object]]] = {}
    with tempfile.TemporaryDirectory(prefix="pw-workers-bench-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx's workers run as another user
        source = build_site(workdir / "site", max(sizes))
        server = start_server(workdir, args.server)
        crawls = Crawls(workdir, args.concurrency, args.redis)
        try:
            console.print(machine(), highlight=False)
            console.print(
                f"Pages: {source} text; server: {server.name}; {os.cpu_count()} CPUs; "
                f"concurrency {args.concurrency} per crawl or worker",
                highlight=False,
            )
            for size in sizes:
                crawls.reset([f"{server.base}/policies/p{n:05d}.html" for n in range(size)])
                runs[size] = []
                for number in range(args.rounds):
                    order = setups if number % 2 == 0 else setups[::-1]
                    runs[size] += one_round(crawls, store, order)
                checked(runs[size], size)
                console.print(report(runs[size], size, setups))
        finally:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
