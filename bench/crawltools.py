"""The contestants of bench/crawl.py, each run as a user would run it, in a child process.

policywatch runs its real CLI on a generated catalog; urlwatch runs in its own virtualenv with an
equivalent job list (the same CSS selection and exclusion, then HTML to Markdown); the floors
are bench/floor.py (a bare client) and bench/scrapy_floor.py (a bare Scrapy spider). Each run is
measured from outside: wall time, CPU time (user + system) and peak RSS of the child, from
`os.wait4`, and the size of what it stores.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from crawlsite import REMOVE, SELECT, SERVICE

BENCH = Path(__file__).resolve().parent
PACKAGES = ("crawlers", "diffengine", "store", "notifier", "policywatch")


@dataclass
class Measure:
    """One run of one tool on one scenario."""

    wall: float
    cpu: float
    rss_mb: float
    store_mb: float
    outcomes: Counter[str] = field(default_factory=Counter)


def measured(command: list[str], env: dict[str, str], log: Path) -> tuple[Measure, str]:
    """Run `command` to its end; its stdout is returned, its stderr kept in `log` for failures."""
    out = log.with_suffix(".out")
    with out.open("wb") as stdout, log.open("wb") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{command[0]} exited {child.returncode}; see {log}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(wall, cpu, usage.ru_maxrss / 1024, 0.0), out.read_text(errors="replace")


def size_mb(*paths: Path) -> float:
    return sum(path.stat().st_size for path in paths if path.exists()) / 1e6


def clean_env(workdir: Path) -> dict[str, str]:
    """This environment without the user's policywatch settings, HOME in the work folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
    return {**env, "HOME": str(workdir), "POLICYWATCH_CONFIG": str(workdir / "absent.toml")}


class Policywatch:
    """`policywatch crawl` with the per-host politeness limits lifted to `concurrency`."""

    name = "policywatch"

    def __init__(self, workdir: Path, concurrency: int, profile: Path | None = None) -> None:
        self.workdir = workdir / "policywatch"
        self.profile = profile
        self.size = 0
        self.workdir.mkdir(exist_ok=True)
        self.db = self.workdir / "store.sqlite3"
        self.catalog = self.workdir / "catalog.yaml"
        self.lifted = {
            "CONCURRENT_REQUESTS": concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
            "DOWNLOAD_DELAY": 0,
            "AUTOTHROTTLE_ENABLED": False,
        }
        self.env = clean_env(self.workdir)
        self.cli = str(Path(sys.executable).with_name("policywatch"))
        # pip compiled urlwatch's bytecode when it installed it; Python would write ours on the
        # first run, unless PYTHONDONTWRITEBYTECODE is set (as on CI machines), when every run
        # would compile the project again (~0.1 s). Compiled here once, as a user's install has it.
        packages = [str(BENCH.parent / name) for name in PACKAGES]
        subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)

    def reset(self, urls: list[str]) -> None:
        """A new store, and a catalog of `urls` selected and cleaned like the others do."""
        for path in self.workdir.glob("store.sqlite3*"):
            path.unlink()
        self.size = len(urls)
        documents = [
            {"type": f"Policy {n:05d}", "url": url, "select": [SELECT], "remove": [REMOVE]}
            for n, url in enumerate(urls)
        ]
        self.catalog.write_text(yaml.safe_dump({"service": SERVICE, "documents": documents}))

    def command(self) -> list[str]:
        overrides = [f"{name}={json.dumps(value)}" for name, value in self.lifted.items()]
        return [
            self.cli,
            "crawl",
            *("--catalog", str(self.catalog), "--only", SERVICE, "--all"),
            *("--db", f"sqlite:///{self.db}", "--no-notify", "--json", "-q"),
            *(arg for override in overrides for arg in ("--set", override)),
        ]

    def run(self, scenario: str) -> Measure:
        command = self.command()
        if self.profile:  # sampled from outside by py-spy: the figures of such runs are skewed
            self.profile.mkdir(parents=True, exist_ok=True)
            output = self.profile / f"policywatch-{self.size}-{scenario}.txt"
            command = [
                "py-spy",
                "record",
                "--format",
                "raw",
                "-r",
                "200",
                "-o",
                str(output),
                "--",
                *command,
            ]
        measure, stdout = measured(command, self.env, self.workdir / f"{scenario}.log")
        data = "".join(line for line in stdout.splitlines() if not line.startswith("py-spy>"))
        rows = json.loads(data)
        measure.outcomes = Counter(row["outcome"] for row in rows)
        failures = (row["detail"].split(":")[0] for row in rows if row["outcome"] == "failed")
        measure.outcomes.update(f"failed:{kind}" for kind in failures)
        measure.store_mb = size_mb(*self.workdir.glob("store.sqlite3*"))
        return measure


SUMMARY_LINE = re.compile(r"^\d+\. (NEW|CHANGED|ERROR): ", re.MULTILINE)
URLWATCH_CONFIG = {
    "display": {"new": True, "error": True, "unchanged": False},
    "report": {
        "text": {"details": True, "footer": False, "line_length": 75, "minimal": False},
        "stdout": {"enabled": True, "color": False},
    },
}


class Urlwatch:
    """urlwatch (latest from PyPI) in its own virtualenv: 10 worker threads, no politeness limits
    to lift (it has none: no per-host limit, no delay, no robots.txt)."""

    name = "urlwatch"

    def __init__(self, workdir: Path, venv: Path | None) -> None:
        self.workdir = workdir / "urlwatch"
        self.workdir.mkdir(exist_ok=True)
        self.venv = venv or self.workdir / "venv"
        self.urls = self.workdir / "urls.yaml"
        self.cache = self.workdir / "cache.db"
        self.config = self.workdir / "urlwatch.yaml"
        self.env = clean_env(self.workdir)
        if not (self.venv / "bin" / "urlwatch").exists():
            subprocess.run([sys.executable, "-m", "venv", str(self.venv)], check=True)
            pip = [str(self.venv / "bin" / "pip"), "install", "-q", "urlwatch", "html2text"]
            subprocess.run(pip, check=True)
        self.version = subprocess.run(
            [str(self.venv / "bin" / "urlwatch"), "--version"], capture_output=True, text=True
        ).stdout.strip()

    def reset(self, urls: list[str]) -> None:
        self.cache.unlink(missing_ok=True)
        self.config.write_text(yaml.safe_dump(URLWATCH_CONFIG))
        jobs = [
            {
                "name": f"Policy {n:05d}",
                "url": url,
                "filter": [
                    {"css": {"selector": SELECT, "exclude": REMOVE}},
                    {"html2text": "pyhtml2text"},
                ],
            }
            for n, url in enumerate(urls)
        ]
        self.urls.write_text(yaml.safe_dump_all(jobs))

    def run(self, scenario: str) -> Measure:
        command = [
            str(self.venv / "bin" / "urlwatch"),
            *("--urls", str(self.urls), "--config", str(self.config), "--cache", str(self.cache)),
            *("--hooks", str(self.workdir / "hooks.py")),
        ]
        measure, stdout = measured(command, self.env, self.workdir / f"{scenario}.log")
        summary = SUMMARY_LINE.finditer(stdout)  # "01. CHANGED: name", once per job
        measure.outcomes = Counter(match[1].lower() for match in summary)
        measure.store_mb = size_mb(self.cache)
        return measure


class Floor:
    """A floor script (bench/floor.py, the bare client, or bench/scrapy_floor.py, bare Scrapy,
    with its defaults or its core alone): plain GETs, then the same with the validators it
    received (304s)."""

    def __init__(
        self,
        workdir: Path,
        concurrency: int,
        name: str = "floor",
        script: tuple[str, ...] = ("floor.py",),
    ) -> None:
        """`script`: the floor script in bench/ and its own options."""
        self.name = name
        self.script = [str(BENCH / script[0]), *script[1:]]
        self.workdir = workdir / name
        self.workdir.mkdir(exist_ok=True)
        self.urls = self.workdir / "urls.txt"
        self.validators = self.workdir / "validators.json"
        self.concurrency = concurrency
        self.env = clean_env(self.workdir)

    def reset(self, urls: list[str]) -> None:
        self.urls.write_text("\n".join(urls))
        self.validators.unlink(missing_ok=True)

    def ceiling(self, urls: list[str], clients: int = 2, connections: int = 32) -> float:
        """Pages per second the server gives `clients` bare clients at once (best of three),
        from the clients' own fetch time: a lower bound of what the server can do."""
        count = min(4000, 10 * len(urls))
        requests = self.workdir / "ceiling.txt"
        requests.write_text("\n".join(itertools.islice(itertools.cycle(urls), count)))
        command = [sys.executable, str(BENCH / "floor.py"), str(requests)]
        command += ["--concurrency", str(connections)]
        best = 0.0
        for _ in range(3):
            children = [
                subprocess.Popen(command, env=self.env, stdout=subprocess.PIPE, text=True)
                for _ in range(clients)
            ]
            seconds = max(json.loads(child.communicate()[0])["seconds"] for child in children)
            best = max(best, clients * count / seconds)
        return best

    def run(self, scenario: str) -> Measure:
        """`get`: every page in full; `conditional`: with the validators of the last `get`."""
        if scenario == "get":
            self.validators.unlink(missing_ok=True)
        command = [sys.executable, *self.script, str(self.urls)]
        command += ["--concurrency", str(self.concurrency), "--validators", str(self.validators)]
        measure, stdout = measured(command, self.env, self.workdir / f"{scenario}.log")
        measure.outcomes = Counter({str(k): v for k, v in json.loads(stdout)["statuses"].items()})
        return measure
