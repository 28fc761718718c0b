"""Shared fixtures: a loopback web site, isolated policywatch homes, SQLite and PostgreSQL."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.forkserver import ForkServer
from tests.receivers import Webhook
from tests.site import Site

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Politeness is the product's default; tests lift the delays on their one loopback host.
FAST = [
    "--set",
    "DOWNLOAD_DELAY=0",
    "--set",
    "AUTOTHROTTLE_ENABLED=false",
    "--set",
    "RETRY_BACKOFF_BASE=0.05",
    "--quiet",
]
# Commands that run until signalled (a worker, the web server): always a process started from
# scratch, as the tests signal them. The others, crawls included (the server imports Scrapy but
# installs no reactor: each child installs its own), may run in a child of the fork server
# (tests/forkserver.py), unless TESTS_SPAWN_ALL is set.
SPAWNED = frozenset({"worker", "serve"})
# What every command's environment holds but for its own variables, read by the server's libraries
# on import: a command whose environment differs elsewhere is spawned instead.
OURS = frozenset({"COLUMNS", "PYTEST_CURRENT_TEST"})
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}


def _outside(env: dict[str, str]) -> dict[str, str]:
    """The part of an environment the fork server's libraries might have read: all but ours, and
    the name of the test pytest sets while it runs."""
    return {k: v for k, v in env.items() if not k.startswith("POLICYWATCH_") and k not in OURS}


@functools.cache
def _fork_server() -> ForkServer:
    server = ForkServer(BASE_ENV)
    atexit.register(server.close)
    return server


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two test processes a core, as most tests wait on child processes and loopback
    servers (2 cores: 9 min 12 s with one a core, 8 min 6 s with two); at most 15, the Redis
    databases `redis_url` shares out."""
    return min(2 * (os.cpu_count() or 1), 15)


def spawn(args: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> Result:
    """`python -m policywatch ARGS` in a process started from scratch."""
    done = subprocess.run(
        [sys.executable, "-m", "policywatch", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def forkable(args: tuple[str, ...], env: dict[str, str]) -> bool:
    """Whether the fork server may run this command as a fresh process would."""
    if os.environ.get("TESTS_SPAWN_ALL") or (args and {args[0], args[:2]} & SPAWNED):
        return False
    return _outside(env) == _outside(BASE_ENV)


def unavailable(service: str, reason: str) -> None:
    """Skip a test whose service is missing, except in CI, where that must fail loudly."""
    message = f"{service} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: services are required)")
    pytest.skip(message)


@pytest.fixture
def hook() -> Iterator[Webhook]:
    """A webhook receiver on loopback, for Apprise's json:// deliveries."""
    receiver = Webhook().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium, for `render: browser` crawls."""
    path = shutil.which("chromium")
    if path is None:
        unavailable("chromium", "install Debian's chromium package")
    return str(path)


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site().start()
    yield server
    server.stop()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Home:
    """An isolated policywatch user: its own config, database and catalog folder."""

    path: Path
    db: str

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("POLICYWATCH_")}
        return {
            **base,
            "POLICYWATCH_CONFIG": str(self.path / "config.toml"),
            "POLICYWATCH_DB": self.db,
            "COLUMNS": "200",
        }

    def run(self, *args: str, timeout: float = 120, columns: int = 200) -> Result:
        """Run the real `policywatch` entry point in a child process, in a terminal this wide."""
        env = {**self.env(), "COLUMNS": str(columns)}
        if forkable(args, env):
            return Result(*_fork_server().run([*args], env, str(self.path), timeout))
        return spawn(args, env, self.path, timeout)

    def crawl(self, catalog: Path, *args: str) -> Result:
        """Crawl the `TestSite` documents now, due or not (`--all`)."""
        return self.run(
            "crawl", "--catalog", str(catalog), "--only", "testsite", "--all", *FAST, *args
        )

    def catalog(self, documents: list[dict[str, Any]], name: str = "testsite.yaml") -> Path:
        """Write a declaration file of the `TestSite` service."""
        import yaml

        path = self.path / name
        path.write_text(yaml.safe_dump({"service": "TestSite", "documents": documents}))
        return path


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path, f"sqlite:///{tmp_path / 'store.sqlite3'}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"pw_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        unavailable("PostgreSQL on 127.0.0.1:5432", str(error).splitlines()[0])
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on the local PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("pg_url")  # type: ignore[no-any-return]


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty database of the local Redis for one test: one per xdist worker, emptied before
    and after, so parallel tests never share a queue. Two test runs on one machine share those
    databases and empty each other's: give each its own server with TEST_REDIS
    (`redis-server --port 6390 --save ''`, then TEST_REDIS=redis://127.0.0.1:6390)."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    server = os.environ.get("TEST_REDIS", "redis://127.0.0.1:6379").rstrip("/")
    url = f"{server}/{1 + int(worker or 0) % 15}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as error:
        unavailable(f"Redis at {server}", str(error))
    yield url
    client.flushdb()
    client.close()
