"""How policywatch's crawl scales, against urlwatch on the same pages and three floors.

    python bench/crawl.py                       # N = 200, 1,000, 5,000; 3 rounds; nginx
    python bench/crawl.py --quick               # N = 200 and 1,000 only
    python bench/crawl.py --sizes 1000 --rounds 5 --json figures.json
    python bench/crawl.py --sizes 20 --rounds 1 --no-urlwatch --server python   # a smoke run

Builds N policy pages (bench/crawlsite.py), serves them on 127.0.0.1 (nginx when installed, else a
threaded Python server), and for each N runs, per tool, four scenarios in this order:

    first       a new store, every page fetched, extracted and recorded
    unchanged   a recrawl; the server answers conditional GETs, so every page is a 304
    changed     10% of the pages edited (a new clause, a new date); 90% 304, 10% 200 + diff
    unchanged   a recrawl, the server ignoring validators: every page a full 200,
    no-cond     recognised as unchanged by its body hash (policywatch) or text (urlwatch)

Tools alternate within a round and rounds alternate which goes first; medians are reported.
Politeness: policywatch's per-host limits are product settings (one request per host at a time,
AutoThrottle, a 1 s delay). All pages share one loopback host, so the benchmark lifts them with
`--set`: CONCURRENT_REQUESTS and CONCURRENT_REQUESTS_PER_DOMAIN = --concurrency (10, urlwatch's
fixed thread count), DOWNLOAD_DELAY = 0, AUTOTHROTTLE_ENABLED = false. robots.txt stays obeyed
(one request). urlwatch has no such limits to lift; the floors use the same concurrency.

The floors fetch the same pages and do nothing else: `floor` is a bare aiohttp client (what no
crawler can beat), `scrapy` a bare Scrapy spider with Scrapy's defaults, `scrapy-core` the same
spider with none of Scrapy's optional components (what no Scrapy-based crawler can beat).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from crawlsite import Server, edit_pages, start_server
from crawltools import Floor, Measure, Policywatch, Urlwatch
from rich.console import Console
from rich.table import Table

SCENARIOS = ("first", "unchanged", "changed", "unchanged-no-cond")
CHANGED_SHARE = 0.10
FLOOR_SCENARIOS = ("get", "conditional")
# A bare client; bare Scrapy with its defaults; Scrapy's core alone (no middleware, extension...)
FLOORS = {
    "floor": ("floor.py",),
    "scrapy": ("scrapy_floor.py",),
    "scrapy-core": ("scrapy_floor.py", "--core"),
}
FLOOR_OF = {"unchanged": "conditional"}  # the floor to compare with; `get` otherwise
console = Console()


class Tool(Protocol):
    name: str

    def reset(self, urls: list[str]) -> None: ...

    def run(self, scenario: str) -> Measure: ...


@dataclass
class Figure:
    """The median of the rounds of one (N, tool, scenario)."""

    size: int
    tool: str
    scenario: str
    wall: float
    cpu: float
    rss_mb: float
    store_mb: float
    pages_per_s: float
    outcomes: dict[str, int]
    walls: list[float]


def tool_rounds(tool: Tool, server: Server, size: int, tag: str) -> dict[str, Measure]:
    """One tool through the four scenarios, from a new store; what the server answered is kept."""
    urls = [f"{server.base}/policies/p{n:05d}.html" for n in range(size)]
    tool.reset(urls)
    server.validators(True)
    results: dict[str, Measure] = {}
    for scenario in SCENARIOS:
        if scenario == "changed":
            time.sleep(1.1)  # a second boundary between the last fetch and the edit
            edit_pages(server.root, size, CHANGED_SHARE, tag)
        if scenario == "unchanged-no-cond":
            server.validators(False)
        server.statuses()
        results[scenario] = tool.run(scenario)
        served = server.statuses()
        results[scenario].outcomes.update({f"http-{k}": v for k, v in served.items()})
    server.validators(True)
    return results


def floor_rounds(floor: Floor, server: Server, size: int) -> dict[str, Measure]:
    urls = [f"{server.base}/policies/p{n:05d}.html" for n in range(size)]
    floor.reset(urls)
    return {scenario: floor.run(scenario) for scenario in FLOOR_SCENARIOS}


def median_figure(size: int, tool: str, scenario: str, runs: list[Measure]) -> Figure:
    middle = statistics.median
    outcomes: Counter[str] = Counter()
    for run in runs:
        outcomes.update(run.outcomes)
    return Figure(
        size=size,
        tool=tool,
        scenario=scenario,
        wall=middle(run.wall for run in runs),
        cpu=middle(run.cpu for run in runs),
        rss_mb=middle(run.rss_mb for run in runs),
        store_mb=middle(run.store_mb for run in runs),
        pages_per_s=size / middle(run.wall for run in runs),
        outcomes={key: round(value / len(runs)) for key, value in sorted(outcomes.items())},
        walls=[round(run.wall, 3) for run in runs],
    )


def bench_size(
    size: int, rounds: int, server: Server, tools: list[Tool], floors: list[Floor]
) -> list[Figure]:
    runs: dict[tuple[str, str], list[Measure]] = {}
    for number in range(rounds):
        order = tools if number % 2 == 0 else tools[::-1]
        for tool in order:
            tag = f"{size}-{number}-{tool.name}"
            for scenario, measure in tool_rounds(tool, server, size, tag).items():
                runs.setdefault((tool.name, scenario), []).append(measure)
            console.log(f"N={size} round {number + 1}/{rounds}: {tool.name} done")
        for floor in floors:
            for scenario, measure in floor_rounds(floor, server, size).items():
                runs.setdefault((floor.name, scenario), []).append(measure)
    return [median_figure(size, tool, scenario, ms) for (tool, scenario), ms in runs.items()]


def expected(size: int, scenario: str, tool: str) -> dict[str, int]:
    """What the server must have answered for the scenario to mean what it says. policywatch
    fetches a page whose text changed a second time at once, to tell a change from what
    differs on every fetch (crawlers/steady.py): its changed pages are each fetched twice."""
    changed = round(size * CHANGED_SHARE)
    fetches = 2 if tool == "policywatch" else 1
    return {
        "first": {"http-200": size},
        "unchanged": {"http-304": size},
        "changed": {"http-200": changed * fetches, "http-304": size - changed},
        "unchanged-no-cond": {"http-200": size},
        "get": {"200": size},
        "conditional": {"304": size},
    }[scenario]


def check(figure: Figure) -> str | None:
    """A warning when a run did not do what its scenario says (or a tool failed pages)."""
    want = expected(figure.size, figure.scenario, figure.tool)
    got = {k: v for k, v in figure.outcomes.items() if k in want or k.startswith("http-2")}
    failed = figure.outcomes.get("failed", 0) + figure.outcomes.get("error", 0)
    if got != want or failed:
        run = f"{figure.tool} {figure.scenario} N={figure.size}"
        return f"{run}: expected {want}, got {figure.outcomes}"
    return None


def table(figures: list[Figure], size: int) -> Table:
    """One row per tool and scenario, with policywatch's time as a multiple of the others'."""
    found = {(f.tool, f.scenario): f for f in figures if f.size == size}
    out = Table(title=f"N = {size:,} pages (medians)", show_edge=False)
    for column in ("scenario", "tool", "wall s", "CPU s", "RSS MB", "pages/s", "store MB"):
        out.add_column(column, justify="left" if column in ("scenario", "tool") else "right")
    for peer in ("urlwatch", *FLOORS):
        out.add_column(f"÷ {peer}", justify="right")
    rows = [(s, t) for s in SCENARIOS for t in ("policywatch", "urlwatch")]
    rows += [(s, t) for t in FLOORS for s in FLOOR_SCENARIOS]
    for scenario, tool in rows:
        figure = found.get((tool, scenario))
        if figure is None:
            continue
        ratios = [found.get(("urlwatch", scenario)) if tool == "policywatch" else None]
        floor_scenario = FLOOR_OF.get(scenario, "get")
        ratios += [found.get((f, floor_scenario)) if tool not in FLOORS else None for f in FLOORS]
        out.add_row(
            scenario,
            tool,
            f"{figure.wall:.2f}",
            f"{figure.cpu:.2f}",
            f"{figure.rss_mb:.0f}",
            f"{figure.pages_per_s:,.0f}",
            f"{figure.store_mb:.1f}" if tool not in FLOORS else "",
            *(f"{figure.wall / peer.wall:.2f}" if peer else "" for peer in ratios),
        )
    return out


def by_round(figures: list[Figure], size: int) -> str:
    """policywatch's time as a multiple of urlwatch's in each round, which were run side by side:
    how far apart they are says how much a median can be trusted on a shared machine."""
    found = {(f.tool, f.scenario): f for f in figures if f.size == size}
    ratios = []
    for scenario in SCENARIOS:
        ours, theirs = found.get(("policywatch", scenario)), found.get(("urlwatch", scenario))
        if ours and theirs:
            rounds = zip(ours.walls, theirs.walls, strict=True)
            ratios.append(f"{scenario} " + " ".join(f"{a / b:.2f}" for a, b in rounds))
    return "÷ urlwatch, round by round: " + "; ".join(ratios)


def machine() -> str:
    """Where the figures come from, for the README."""
    model = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor() or platform.machine(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.machine()
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}"
    )


def build_site(root: Path, size: int) -> str:
    """The pages, built by a child process: see `crawlsite.build_pages`."""
    command = [sys.executable, str(Path(__file__).with_name("crawlsite.py")), str(root), str(size)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,1000,5000", help="comma-separated page counts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N = 200 and 1,000 only")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    parser.add_argument("--no-urlwatch", action="store_true")
    parser.add_argument("--urlwatch-venv", type=Path, help="reuse (or create) urlwatch's venv here")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument(
        "--profile", type=Path, help="record policywatch's runs with py-spy (raw stacks) here"
    )
    args = parser.parse_args()
    sizes = [200, 1000] if args.quick else [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="pw-crawl-bench-") as tmp:
        workdir = Path(tmp)
        workdir.chmod(0o755)  # nginx's workers run as another user
        source = build_site(workdir / "site", max(sizes))
        server = start_server(workdir, args.server)
        try:
            report = run(args, sizes, workdir, server, source)
        finally:
            server.stop()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


def run(
    args: argparse.Namespace, sizes: list[int], workdir: Path, server: Server, source: str
) -> dict[str, Any]:
    floors = [Floor(workdir, args.concurrency, name, script) for name, script in FLOORS.items()]
    tools: list[Tool] = [Policywatch(workdir, args.concurrency, args.profile)]
    urlwatch = None if args.no_urlwatch else Urlwatch(workdir, args.urlwatch_venv)
    if urlwatch:
        tools.append(urlwatch)
    top = floors[0].ceiling([f"{server.base}/policies/p{n:05d}.html" for n in range(max(sizes))])
    console.print(machine(), highlight=False)
    console.print(
        f"Pages: {source} text; server: {server.name} on {server.base}; ceiling "
        f"{top:,.0f} pages/s (two bare clients at once, 32 connections each); "
        f"concurrency {args.concurrency}; {urlwatch.version if urlwatch else 'no urlwatch'}",
        highlight=False,
    )
    figures = [f for size in sizes for f in bench_size(size, args.rounds, server, tools, floors)]
    for size in sizes:
        console.print(table(figures, size))
        if args.rounds > 1 and urlwatch:
            console.print(by_round(figures, size), highlight=False)
    for warning in filter(None, map(check, figures)):
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return {
        "machine": machine(),
        "source": source,
        "server": server.name,
        "server_ceiling_pages_per_s": top,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "urlwatch": urlwatch.version if urlwatch else None,
        "figures": [asdict(figure) for figure in figures],
    }


if __name__ == "__main__":
    main()
