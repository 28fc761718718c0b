"""Crawls spread over `policywatch worker`s through the local Redis, into a shared PostgreSQL.

Every worker is the real command in its own process, every page comes from a loopback site, and
the coordinator is the real `policywatch crawl --redis`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import pytest
import redis
import scrapy
from scrapy.utils.test import get_crawler
from sqlalchemy import create_engine, text

from crawlers.declarations import load_catalog
from crawlers.middlewares import SharedHostDelayMiddleware
from crawlers.queue.claims import CLAIM_PREFIX, CLAIM_STALE, Claims
from crawlers.queue.connection import QueueError
from crawlers.queue.coordinator import (
    ELSEWHERE,
    FETCHED_FOR_A_STOPPED_CRAWL,
    FETCHED_MEANWHILE,
    FETCHING_ELSEWHERE,
    check_workers,
    dispatch,
)
from crawlers.queue.hosts import host_turn
from crawlers.queue.tasks import Task, encode_task
from crawlers.queue.workers import (
    QUEUE,
    WORKER_PREFIX,
    WORKER_TTL,
    heartbeat,
    live_workers,
    outcomes_key,
)
from crawlers.runner import crawl_settings
from store.db import public_url
from tests import faults
from tests.conftest import PG_ADMIN_URL, Home, Result, unavailable
from tests.receivers import free_port
from tests.site import Page, Site

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

PAGE = "<html><body><main><h1>API Terms {n}</h1><p>You may call the API, clause {n}.</p></main>"
# Workers lift the per-host delays on the one loopback host; one request at a time stays.
FAST = ["--set", "DOWNLOAD_DELAY=0", "--set", "AUTOTHROTTLE_ENABLED=false"]
POLICYWATCH = ("-m", "policywatch")  # Python's arguments for the command
# The same, its claims lasting 2 s (CLAIM_TTL) instead of 30.
SHORT_CLAIMS = "import crawlers.queue.claims as q; q.CLAIM_TTL = 2; "
SHORT_CLAIMS += "from policywatch.cli import main; main()"
# The same, waiting 3 s (WORKERLESS) instead of 30 for a worker when none is alive.
SHORT_WAIT = SHORT_CLAIMS.replace(
    "claims as q; q.CLAIM_TTL = 2", "coordinator as q; q.WORKERLESS = 3"
)


class Workers:
    """`policywatch worker` processes of one home, stopped at the end of the test."""

    def __init__(self, home: Home, redis_url: str) -> None:
        self.home, self.redis_url = home, redis_url
        self.client = redis.Redis.from_url(redis_url)
        self.processes: list[subprocess.Popen[str]] = []

    def start(
        self,
        *args: str,
        db: str | None = None,
        env: dict[str, str] | None = None,
        stderr: IO[str] | int = subprocess.PIPE,
    ) -> int:
        """Start a worker and wait until it says it is alive; returns its index. What it says
        goes to `stderr` (a pipe: `stop` returns it)."""
        before = set(live_workers(self.client))
        command = ["worker", "--redis", self.redis_url, "--db", db or self.home.db, *FAST, *args]
        process = subprocess.Popen(
            [sys.executable, "-m", "policywatch", *command],
            env={**self.home.env(), **(env or {})},
            cwd=self.home.path,
            stderr=stderr,
            text=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 30
        while set(live_workers(self.client)) <= before:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the worker never said it was alive"
            time.sleep(0.1)
        return len(self.processes) - 1

    def stop(self, index: int, how: signal.Signals = signal.SIGTERM) -> str:
        """Signal a worker, wait for it to exit, and return what it printed (if to a pipe)."""
        process = self.processes[index]
        process.send_signal(how)
        _, stderr = process.communicate(timeout=60)
        return stderr or ""

    def stop_all(self) -> None:
        for index, process in enumerate(self.processes):
            if process.poll() is None:
                self.stop(index)


@pytest.fixture
def pg_home(tmp_path: Path, pg_url: str) -> Home:
    return Home(tmp_path, pg_url)


@pytest.fixture
def workers(pg_home: Home, redis_url: str) -> Iterator[Workers]:
    pool = Workers(pg_home, redis_url)
    yield pool
    pool.stop_all()


def publish(site: Site, home: Home, count: int, **options: object) -> Path:
    for n in range(count):
        site.html(f"/terms-{n}", PAGE.format(n=n), **options)
    documents = [
        {"type": f"Terms {n}", "url": site.url(f"/terms-{n}"), "select": "main"}
        for n in range(count)
    ]
    return home.catalog(documents)


def crawl(home: Home, catalog: Path, redis_url: str, *args: str) -> Result:
    return home.run(
        "crawl", "--catalog", str(catalog), "--only", "testsite", "--all", "--quiet",
        "--redis", redis_url, *args,
    )  # fmt: skip


def crawl_started(
    home: Home, catalog: Path, redis_url: str, site: Site, entry: Sequence[str] = POLICYWATCH
) -> subprocess.Popen[str]:
    """`crawl --json` in the background, returned once a worker has sent its first request;
    `entry`, Python's arguments before the command's, may alter the command."""
    command = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", "--quiet"]
    coordinator = background(home, *entry, *command, "--redis", redis_url, "--json")
    deadline = time.monotonic() + 30
    while not fetched(site):
        assert time.monotonic() < deadline, "no worker fetched anything"
        time.sleep(0.1)
    return coordinator


def background(home: Home, *args: str) -> subprocess.Popen[str]:
    """Python with `args`, in the background, its output kept."""
    return subprocess.Popen(
        [sys.executable, *args],
        env=home.env(),
        cwd=home.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def fetched(site: Site) -> list[str]:
    """The pages requested, robots.txt aside."""
    return [hit.path for hit in site.log if hit.path != "/robots.txt"]


def outcomes(result: Result) -> dict[str, str]:
    return {row["key"]: row["outcome"] for row in result.json()}


def test_two_workers_share_a_crawl_into_one_store(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    catalog = publish(site, pg_home, 8, delay=1)
    first = workers.start("--set", "CONCURRENT_REQUESTS=2")
    second = workers.start("--set", "CONCURRENT_REQUESTS=2")

    result = crawl(pg_home, catalog, redis_url, "--json")

    assert result.code == 0, result.stderr
    assert set(outcomes(result).values()) == {"first"}
    assert len(outcomes(result)) == 8
    assert all(len(site.hits(f"/terms-{n}")) == 1 for n in range(8))
    documents = pg_home.run("documents", "--json").json()
    assert [row["versions"] for row in documents] == [1] * 8
    again = crawl(pg_home, catalog, redis_url, "--json")
    assert set(outcomes(again).values()) == {"not-modified"}
    assert all("If-None-Match" in site.hits(f"/terms-{n}")[-1].headers for n in range(8))
    # Each worker printed the documents it fetched: both took part, none twice.
    logs = [workers.stop(first), workers.stop(second)]
    fetched = [line.split(":")[0] for log in logs for line in log.splitlines() if ": first" in line]
    assert sorted(fetched) == sorted(outcomes(result))
    assert all(": first" in log for log in logs)
    assert redis.Redis.from_url(redis_url).llen(QUEUE) == 0


def test_a_change_found_by_a_worker_is_reported_by_the_crawl(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    catalog = publish(site, pg_home, 1)
    workers.start()
    assert crawl(pg_home, catalog, redis_url).code == 0
    clause = "<p>You may not use the API to train AI models.</p></main>"
    site.html("/terms-0", PAGE.format(n=0).replace("</main>", clause))

    result = crawl(pg_home, catalog, redis_url, "--json")

    [row] = result.json()
    assert row["outcome"] == "changed"
    assert row["change_id"] is not None
    shown = pg_home.run("show", str(row["change_id"]), "--json").json()
    assert "train AI models" in json.dumps(shown)


def test_crawl_refuses_when_no_worker_is_alive(pg_home: Home, site: Site, redis_url: str) -> None:
    catalog = publish(site, pg_home, 2)
    result = crawl(pg_home, catalog, redis_url)
    assert result.code == 2
    assert "no policywatch worker is alive" in result.stderr
    assert redis.Redis.from_url(redis_url).llen(QUEUE) == 0
    assert site.log == []


def test_a_crawl_waits_a_beat_for_a_worker_starting_with_it(redis_url: str) -> None:
    """Started with its workers (at boot) or just after Redis came back empty, a crawl was
    refused ("no worker alive") before the workers' first beat."""
    client = redis.Redis.from_url(redis_url)
    store = "postgresql://store"
    with pytest.raises(QueueError, match="no policywatch worker is alive"):
        check_workers(client, store, patience=0.5)
    starting = threading.Timer(1.0, heartbeat, (client, "w1", store))
    starting.start()
    began = time.monotonic()
    check_workers(client, store)  # waits for it, instead of refusing
    assert 0.9 < time.monotonic() - began < WORKER_TTL
    starting.join()


def test_a_crawl_waits_a_beat_for_its_store_s_worker_beside_another_store_s(
    redis_url: str,
) -> None:
    """Started with its workers on a Redis where another store's worker (staging) was already
    alive, a crawl was refused at once ("the workers on this Redis record into …"), without the
    beat it waits for a worker when there is none."""
    client = redis.Redis.from_url(redis_url)
    store, staging = "postgresql://store", "postgresql://staging"
    heartbeat(client, "staging-worker", staging)
    with pytest.raises(QueueError, match="record into postgresql://staging, not into"):
        check_workers(client, store, patience=0.5)
    starting = threading.Timer(1.0, heartbeat, (client, "w1", store))
    starting.start()
    check_workers(client, store)  # waits for it, instead of refusing
    starting.join()


def test_a_crawl_with_nothing_due_needs_no_worker(
    pg_home: Home, site: Site, redis_url: str
) -> None:
    catalog = publish(site, pg_home, 1)
    assert pg_home.crawl(catalog).code == 0  # fetched here: not due again for 24 h
    command = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--redis", redis_url]
    result = pg_home.run(*command)
    assert result.code == 0, result.stderr
    assert "Nothing is due" in result.stdout


def test_crawl_refuses_workers_of_another_store(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, tmp_path: Path
) -> None:
    catalog = publish(site, pg_home, 1)
    workers.start(db=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    result = crawl(pg_home, catalog, redis_url)
    assert result.code == 2
    assert "other.sqlite3" in result.stderr
    assert "give `crawl` and `worker` the same --db" in result.stderr
    assert site.log == []


def test_a_relative_sqlite_store_is_the_file_in_the_folder_each_command_runs_in(
    site: Site, redis_url: str, tmp_path: Path
) -> None:
    """`sqlite:///store.sqlite3` names a file in the folder a command runs in: a worker and a
    crawl started in two folders named two stores by the same text, and the crawl, taking them
    for one, reported each fetch `new` while its own store never heard of any."""
    relative = "sqlite:///store.sqlite3"
    crawler, worker = Home(tmp_path / "cron", relative), Home(tmp_path / "service", relative)
    crawler.path.mkdir()
    worker.path.mkdir()
    catalog = publish(site, crawler, 1)
    pool = Workers(worker, redis_url)
    try:
        pool.start()
        result = crawl(crawler, catalog, redis_url)
    finally:
        pool.stop_all()

    assert result.code == 2, result.stdout
    theirs, ours = (f"sqlite:///{home.path / 'store.sqlite3'}" for home in (worker, crawler))
    assert f"the workers on this Redis record into {theirs}, not into {ours}" in result.stderr
    assert site.log == []


def test_a_worker_leaves_the_tasks_of_another_stores_crawl_to_that_stores_workers(
    pg_home: Home, site: Site, workers: Workers, tmp_path: Path
) -> None:
    """Workers of two stores on one Redis (staging beside production, a worker left pointing at
    an old database) took each other's tasks from the one queue: the page was recorded into the
    other store, and the crawl reported an outcome its own store never held."""
    catalog = publish(site, pg_home, 1)
    [document] = load_catalog([catalog], bundled=False).documents
    other = workers.start(db=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    claims = Claims(workers.client, public_url(pg_home.db), "c1")
    claims.take([document.key])
    task = encode_task(Task("c1", document, claim=claims.key(document.key)))
    workers.client.rpush(QUEUE, task)
    time.sleep(3)  # the worker takes it within a second

    log = workers.stop(other)

    assert fetched(site) == []
    assert workers.client.lrange(QUEUE, 0, -1) == [task.encode()]  # for its store's workers
    # A plain line: Redis shared by several stores is no fault, not a warning.
    assert "\npassed on 1 task of crawl c1, queued for another store than this worker's" in log


def test_a_crawl_whose_workers_died_stops_waiting_beside_another_stores_workers(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, tmp_path: Path
) -> None:
    """The workers of another store, alive on the same Redis, counted as the crawl's: it waited
    10 minutes (STALL) for tasks that only its own store's workers, all dead, would fetch."""
    catalog = publish(site, pg_home, 3, delay=60)
    workers.start(db=f"sqlite:///{tmp_path / 'other.sqlite3'}")
    own = workers.start("--set", "CONCURRENT_REQUESTS=1")
    coordinator = crawl_started(pg_home, catalog, redis_url, site, ("-c", SHORT_WAIT))
    workers.stop(own, signal.SIGKILL)

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 3, stderr
    details = {row["detail"] for row in json.loads(stdout)}
    assert details == {"no result: every worker stopped before reporting it (none for 3 s)"}


def test_redis_password_is_never_printed(pg_home: Home, site: Site) -> None:
    catalog = publish(site, pg_home, 1)
    result = crawl(pg_home, catalog, "redis://:hunter2@127.0.0.1:1/0")
    assert result.code == 2
    assert "cannot use Redis at redis://:****@127.0.0.1:1/0" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    for url in ("redis://127.0.0.1:1/0?password=hunter2", "redis://:hunter2@127.0.0.1:port/0"):
        refused = crawl(pg_home, catalog, url)
        assert refused.code == 2 and "Traceback" not in refused.stderr, refused
        assert "hunter2" not in refused.stderr + refused.stdout
    assert "--set" in crawl(pg_home, catalog, "redis://x", "--set", "A=1").stderr


def test_a_redis_of_the_config_file_is_said_to_be_from_there(pg_home: Home, site: Site) -> None:
    """With `redis` in the config file (so that the cron line stays the same), a crawl or a
    worker named a Redis, or refused --set, that its command line never gave: the operator was
    left to guess where the URL came from, and that the crawl went through workers at all."""
    catalog = publish(site, pg_home, 1)
    config = pg_home.path / "config.toml"
    config.write_text('redis = "redis://:hunter2@127.0.0.1:1/0"\n', encoding="utf-8")
    command = ["--catalog", str(catalog), "--only", "testsite", "--all", "--quiet"]

    for refused in (pg_home.run("crawl", *command), pg_home.run("worker")):
        assert refused.code == 2, refused
        assert "cannot use Redis at redis://:****@127.0.0.1:1/0: " in refused.stderr
        [said] = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
        assert said.endswith(f"(in {config})"), refused.stderr
        assert "hunter2" not in refused.stderr
    tuned = pg_home.run("crawl", *command, "--set", "DOWNLOAD_DELAY=3")
    assert tuned.code == 2
    assert f"give them to the workers (this crawl queues for them: redis is set in {config})" in (
        tuned.stderr
    )


def test_no_redis_crawls_here_though_the_config_file_names_a_redis(
    pg_home: Home, site: Site
) -> None:
    """With `redis` in the config file (or POLICYWATCH_REDIS), one document could not be crawled
    by hand in this process: `--redis ''` and `POLICYWATCH_REDIS=` count as unset, and fell
    back to the config file's Redis, down or not."""
    catalog = publish(site, pg_home, 1)
    config = pg_home.path / "config.toml"
    config.write_text('redis = "redis://127.0.0.1:1/0"\n', encoding="utf-8")
    command = ["--catalog", str(catalog), "--only", "testsite/terms-0", "--quiet", *FAST]

    here = pg_home.run("crawl", *command, "--no-redis", "--json")

    assert here.code == 0, here.stderr
    assert outcomes(here) == {"testsite/terms-0": "first"}
    assert fetched(site) == ["/terms-0"]
    assert pg_home.run("run", *command, "--no-redis").code == 0  # run takes crawl's options
    assert fetched(site) == ["/terms-0", "/terms-0"]
    both = pg_home.run("crawl", *command, "--no-redis", "--redis", "redis://127.0.0.1:1/0")
    assert both.code == 2
    assert "error: give --redis URL or --no-redis, not both" in both.stderr
    # Refused for the config file's Redis, a crawl says how to crawl here instead.
    refused = pg_home.run("crawl", "--catalog", str(catalog), "--only", "testsite/terms-0")
    assert refused.code == 2
    assert refused.stderr.splitlines()[-1] == "to crawl in this process instead, add --no-redis"


def test_a_killed_worker_ends_the_wait_and_its_queued_tasks_are_withdrawn(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    catalog = publish(site, pg_home, 3, delay=60)
    workers.start("--set", "CONCURRENT_REQUESTS=1")  # takes one task at a time
    coordinator = crawl_started(pg_home, catalog, redis_url, site, ("-c", SHORT_WAIT))
    workers.stop(0, signal.SIGKILL)

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 3, stderr
    details = {row["detail"] for row in json.loads(stdout)}
    assert details == {"no result: every worker stopped before reporting it (none for 3 s)"}
    assert len(fetched(site)) == 1  # the two tasks still queued were withdrawn, never fetched
    assert redis.Redis.from_url(redis_url).llen(QUEUE) == 0


def test_the_tasks_of_a_killed_worker_go_to_the_live_one_and_the_crawl_says_so(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    catalog = publish(site, pg_home, 3, delay=2)
    doomed = workers.start("--set", "CONCURRENT_REQUESTS=1")  # each takes one task at a time
    workers.start("--set", "CONCURRENT_REQUESTS=1")
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    while workers.client.llen(QUEUE) > 1:  # until each holds one
        time.sleep(0.05)
    dead = workers.stop(doomed, signal.SIGKILL).split()[1].rstrip(":")  # named by its banner

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}
    assert workers.client.keys("policywatch:taken:*") == []  # nothing held, by the dead or alive
    # The operator hears of it, once: the worker's death showed nowhere.
    said = [line for line in stderr.splitlines() if "stopped answering" in line]
    assert len(said) == 1, stderr
    assert re.fullmatch(
        rf"worker {re.escape(dead)} stopped answering \(no sign of life for {WORKER_TTL} s\)"
        r" while fetching 1 document of this crawl, put back in the queue for the other"
        r" workers: testsite/terms-\d",
        said[0],
    ), said


def test_a_crawl_waits_for_a_worker_restarted_after_the_last_one_died(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """systemd restarts a failed worker 10 s later (RestartSec=10); the crawl gave up on its
    documents 5 s after the last worker's last sign of life."""
    catalog = publish(site, pg_home, 3, delay=1)
    doomed = workers.start("--set", "CONCURRENT_REQUESTS=1")
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    workers.stop(doomed, signal.SIGKILL)
    time.sleep(WORKER_TTL + 6)  # no worker, for longer than it counts as alive
    assert coordinator.poll() is None, coordinator.communicate()
    workers.start()

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}


def test_a_killed_workers_tasks_go_back_while_the_others_still_report(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """The crawl looks for dead workers' tasks every second, not only once every worker has gone
    quiet: before, a live worker reporting a page every half second kept the dead one's task
    waiting until the end of the crawl."""
    catalog = publish(site, pg_home, 16, delay=0.5)
    site.html("/terms-0", PAGE.format(n=0), delay=5)  # the first task: the doomed worker's
    doomed = workers.start("--set", "CONCURRENT_REQUESTS=1")
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    site.html("/terms-0", PAGE.format(n=0), delay=0.5)
    # The survivor is alive before the other dies: a crawl whose every worker is gone gives up
    # (exit 3), which a loaded machine starting the survivor late met.
    workers.start("--set", "CONCURRENT_REQUESTS=1")  # 15 pages of 0.5 s, one at a time
    workers.stop(doomed, signal.SIGKILL)

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}
    rescued = site.hits("/terms-0")[-1].at
    last = max(hit.at for hit in site.log if hit.path != "/terms-0")
    assert rescued < last, f"fetched again {rescued - last:.1f} s after the others"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_crawl_summarises_and_withdraws_its_tasks(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, stop: signal.Signals
) -> None:
    """Ctrl-C, or SIGTERM (systemd, a cron job's timeout): SIGTERM killed the crawl outright,
    its tasks left queued for the workers and its claims held until they lapsed."""
    catalog = publish(site, pg_home, 3, delay=3)
    workers.start("--set", "CONCURRENT_REQUESTS=1")
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    coordinator.send_signal(stop)

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 128 + stop, stderr  # interrupted, as a local crawl says
    assert "Interrupted: 0 of 3 documents checked; the 3 not reached are still due" in stderr
    details = [row["detail"] for row in json.loads(stdout)]
    assert details.count("no result: the crawl was interrupted before a worker reported it") == 3
    client = redis.Redis.from_url(redis_url)
    assert client.llen(QUEUE) == 0 and client.keys(CLAIM_PREFIX + "*") == []
    assert len(fetched(site)) == 1


def test_a_worker_stopped_mid_crawl_finishes_its_page_and_puts_back_the_other(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """One page of a host at a time: the stopped worker finishes the one it is fetching; the one
    it took and had not started goes back to the queue, and the other worker fetches it."""
    catalog = publish(site, pg_home, 4, delay=2)
    first = workers.start("--set", "CONCURRENT_REQUESTS=2")  # each takes two of the four tasks
    workers.start("--set", "CONCURRENT_REQUESTS=2")
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    deadline = time.monotonic() + 60
    while workers.client.llen(QUEUE) or len(fetched(site)) < 2:  # each took two, fetches one
        assert time.monotonic() < deadline, "the workers never started fetching"
        time.sleep(0.05)
    first_log = workers.stop(first)  # mid-fetch: each page takes 2 s to answer

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}
    assert first_log.count(": first") == 1
    assert "stopping: 1 task not started put back in the queue" in first_log
    assert sorted(fetched(site)) == [f"/terms-{n}" for n in range(4)]  # each page once


def test_a_document_needing_a_browser_fails_clearly_on_a_worker_without_one(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    site.html("/app", PAGE.format(n=0))
    catalog = pg_home.catalog([{"type": "App", "url": site.url("/app"), "render": "browser"}])
    workers.start(env={"POLICYWATCH_BROWSER": "/nonexistent/chromium"})

    result = crawl(pg_home, catalog, redis_url, "--json")

    [row] = result.json()
    assert row["outcome"] == "failed"
    assert row["detail"].startswith("browser-unavailable: no Chromium found")
    assert site.log == []  # not even robots.txt


def test_a_misspelt_set_is_warned_about_in_the_workers_log(workers: Workers) -> None:
    """As `crawl --set` warns: a worker's DOWNLOD_DELAY was set for nothing, without a word."""
    index = workers.start("--set", "DOWNLOD_DELAY=5", "--set", "PLAYWRIGHT_X=1")
    log = workers.stop(index)
    assert "warning: --set DOWNLOD_DELAY is no setting (did you mean DOWNLOAD_DELAY?)" in log
    assert "PLAYWRIGHT_X" not in log  # an add-on's own name: nothing close to it


def test_a_workers_log_on_the_journal_says_each_lines_priority(
    workers: Workers, tmp_path: Path
) -> None:
    """A worker as a systemd service: its warnings were stored as information, as every line
    it writes is unless it starts with `<N>`, and `journalctl -p warning` showed none."""
    log = tmp_path / "journal"
    with log.open("w") as journal:
        status = os.fstat(journal.fileno())
        env = {"JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
        index = workers.start("--set", "DOWNLOD_DELAY=5", stderr=journal, env=env)
        workers.stop(index)
    warned, banner, stopping = log.read_text(encoding="utf-8").splitlines()
    assert warned.startswith(
        "<4>warning: --set DOWNLOD_DELAY is no setting (did you mean DOWNLOAD_DELAY?)"
    )
    assert banner.startswith("<6>worker ")
    assert stopping == "<6>stopping: no task in hand"  # the worker's log: a record's level


def test_an_unreadable_task_is_reported_to_its_crawl(workers: Workers, redis_url: str) -> None:
    workers.start()
    client = redis.Redis.from_url(redis_url)
    client.rpush(
        QUEUE, json.dumps({"protocol": "policywatch-task-99", "crawl": "c1", "key": "a/b"})
    )

    popped = client.blpop([outcomes_key("c1")], timeout=20)

    assert popped is not None
    outcome = json.loads(popped[1])
    assert (outcome["key"], outcome["outcome"]) == ("a/b", "failed")
    assert "unreadable task (protocol" in outcome["detail"]


def test_a_worker_that_loses_its_store_puts_the_tasks_back(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, pg_url: str
) -> None:
    catalog = publish(site, pg_home, 1)
    [document] = load_catalog([catalog], bundled=False).documents
    first = workers.start()
    database = pg_url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{database}" WITH (FORCE)'))
    admin.dispose()
    client = redis.Redis.from_url(redis_url)
    task = encode_task(Task("c1", document))
    client.rpush(QUEUE, task)
    time.sleep(3)  # the worker takes it within a second, and fails to sync it

    log = workers.stop(first)

    assert "cannot reach the store, 1 task put back in the queue" in log
    assert client.lrange(QUEUE, 0, -1) == [task.encode()]
    assert fetched(site) == []


def test_a_crawl_says_its_workers_store_failed_not_that_it_stopped_waiting(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, pg_url: str
) -> None:
    """A worker whose store fails reports each document it could not record `no result: the
    store … failed: …`; the crawl said of them `Stopped waiting for the workers: the store …
    failed … 2 of 2 documents were not reported`, when it had waited for, and been told, each."""
    catalog = publish(site, pg_home, 2)
    workers.start()
    store = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with store.connect() as connection:  # no fetch recorded from now on: a disk full, say
        connection.execute(
            text(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION"
                " 'could not extend file: No space left on device'; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text('CREATE TRIGGER disk_full BEFORE INSERT ON "fetch" EXECUTE FUNCTION refuse()')
        )
    store.dispose()

    result = crawl(pg_home, catalog, redis_url, "--json")

    assert result.code == 3, result.stderr  # nothing recorded
    details = {row["detail"] for row in result.json()}
    assert all(detail.startswith("no result: the store ") for detail in details), details
    assert "Stopped waiting" not in result.stderr
    said = "The workers could not record 2 of 2 documents: the store postgresql+psycopg://"
    assert said in result.stderr
    assert "No space left on device" in result.stderr
    assert result.stderr.rstrip().endswith("They are due again.")


def test_a_worker_whose_store_a_newer_release_migrated_stops_and_puts_its_tasks_back(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, pg_url: str
) -> None:
    """A worker checked the store's schema only as it started: one left running while a crawl
    of a later release migrated the store went on recording into a schema it did not know."""
    catalog = publish(site, pg_home, 1)
    [document] = load_catalog([catalog], bundled=False).documents
    index = workers.start()
    store = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with store.connect() as connection:  # as the migration of a later release leaves it
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    task = encode_task(Task("c1", document))
    workers.client.rpush(QUEUE, task)

    _, log = workers.processes[index].communicate(timeout=60)

    assert workers.processes[index].returncode == 2, log
    assert "error: the worker stopped: the store is now at schema 9999, not " in log
    assert workers.client.lrange(QUEUE, 0, -1) == [task.encode()]  # for an upgraded worker
    assert fetched(site) == []


def test_a_bug_in_a_worker_fails_that_document_at_once(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker reports it like any failure: before, the document was never answered, and the
    crawl waited for it until it gave up (10 minutes)."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    for path in ("/terms", "/crash"):
        site.html(path, PAGE.format(n=path))
    catalog = pg_home.catalog(
        [{"type": path, "url": site.url(path), "select": "main"} for path in ("/terms", "/crash")]
    )
    index = workers.start(*faults.spider_middlewares("CrashOnCrashPage"))

    result = pg_home.run(
        "crawl", "--catalog", str(catalog), "--only", "testsite", "--all", "--quiet",
        "--redis", redis_url, "--json", timeout=60,
    )  # fmt: skip

    assert result.code == 0, result.stderr
    rows = {row["key"]: row for row in result.json()}
    assert rows["testsite/crash"]["detail"] == f"internal-error: RuntimeError: {faults.FAULT}"
    assert rows["testsite/terms"]["outcome"] == "first"
    assert f"RuntimeError: {faults.FAULT}" in workers.stop(index)


def test_workers_keep_a_hosts_download_delay_between_them(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """Two workers fetching pages of one host send it one request per DOWNLOAD_DELAY together,
    as one crawler would, not one each."""
    catalog = publish(site, pg_home, 4)
    polite = ["--set", "DOWNLOAD_DELAY=1", "--set", "CONCURRENT_REQUESTS=2"]
    first, second = workers.start(*polite), workers.start(*polite)

    result = crawl(pg_home, catalog, redis_url, "--json")

    assert result.code == 0, result.stderr
    assert set(outcomes(result).values()) == {"first"}
    shares = [workers.stop(index).count(": first") for index in (first, second)]
    assert min(shares) >= 1, f"one worker fetched everything: {shares}"
    arrivals = sorted(hit.at for hit in site.log)  # robots.txt included: a request to the host
    gaps = [round(later - earlier, 2) for earlier, later in itertools.pairwise(arrivals)]
    assert min(gaps) > 0.6, gaps


def test_a_request_still_goes_when_redis_fails_to_give_the_hosts_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis gone for a moment must not cost the page: it goes with the worker's own delay."""
    settings = crawl_settings("sqlite://", overrides={"TWISTED_REACTOR_ENABLED": False})
    ours = {name: settings[name] for name in settings if settings.getpriority(name)}
    crawler = get_crawler(scrapy.Spider, ours)  # Scrapy's defaults at their own priority
    crawler.spider = crawler._create_spider("policy")
    crawler.engine = crawler._create_engine()  # for its download slots; nothing is downloaded
    gone = redis.Redis(port=free_port())
    middleware = SharedHostDelayMiddleware(crawler, partial(host_turn, gone), redis.RedisError)

    request = scrapy.Request("http://policies.example/terms")
    assert asyncio.run(middleware.process_request(request)) is None  # on its way

    [warning] = [r.getMessage() for r in caplog.records if r.name == "crawlers.middlewares"]
    assert warning.startswith("policies.example: not paced with the other workers, Redis failed")


def test_a_worker_busy_with_one_page_stays_alive_and_fetches_nothing_twice(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page that holds the worker's event loop longer than WORKER_TTL (a huge PDF, a lock the
    store waits for) must not make the worker look dead: its tasks would go to another worker,
    and be fetched twice."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    paths = ("/slow", *(f"/terms-{n}" for n in range(3)))
    for path in paths:
        site.html(path, PAGE.format(n=path))
    catalog = pg_home.catalog(
        [{"type": path, "url": site.url(path), "select": "main"} for path in paths]
    )
    workers.start(*faults.spider_middlewares("BlockOnSlowPage"))
    coordinator = crawl_started(pg_home, catalog, redis_url, site)  # the busy one took them all
    workers.start()  # there to take the busy worker's tasks, were it taken for dead

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}, stdout
    assert sorted(fetched(site)) == sorted(paths)  # each page once


def test_a_worker_whose_loop_is_stuck_looks_dead_and_its_tasks_go_to_another(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past POLICYWATCH_WORKER_HUNG seconds of one page holding it, a worker stops saying it is
    alive (its pulse thread would otherwise keep a stuck worker alive for ever)."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    site.html("/slow", PAGE.format(n="slow"))
    catalog = pg_home.catalog([{"type": "Slow", "url": site.url("/slow"), "select": "main"}])
    stuck = ["--set", "POLICYWATCH_WORKER_HUNG=1", *faults.spider_middlewares("BlockOnSlowPage")]
    released = pg_home.path / "released"  # the stuck worker is held until the crawl has ended
    workers.start(*stuck, env={faults.HELD_UNTIL: str(released)})
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    workers.start()

    try:
        stdout, stderr = coordinator.communicate(timeout=60)
    finally:
        released.touch()

    assert coordinator.returncode == 0, stderr
    assert [row["outcome"] for row in json.loads(stdout)] == ["first"], stdout
    assert fetched(site) == ["/slow", "/slow"]  # the second worker fetched it while the first slept


def test_a_worker_scrapy_cannot_run_exits_with_the_reason(pg_home: Home, redis_url: str) -> None:
    bad = 'ITEM_PIPELINES={"no_such_module.Pipeline": 300}'
    result = pg_home.run("worker", "--redis", redis_url, "--set", bad, timeout=60)
    assert result.code == 2, result.stderr
    assert "error: the crawl could not run: ModuleNotFoundError" in result.stderr
    assert not live_workers(redis.Redis.from_url(redis_url))


def test_a_stopped_worker_puts_back_at_once_the_tasks_it_has_not_started(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """SIGTERM: the tasks whose requests are not sent go back to the queue at once, for the other
    workers, and the worker says so; it finishes only the page being fetched. Before, the others
    went on waiting for their host's turn, one per delay, only to be dropped: the worker put
    them back and said so only as it exited, a delay per task later."""
    catalog = publish(site, pg_home, 5, delay=1)
    paced = ["--set", "DOWNLOAD_DELAY=2", "--set", "CONCURRENT_REQUESTS=4"]
    index = workers.start(*paced)  # takes 4 tasks, fetches one of them every 2 s
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    process = workers.processes[index]
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    while workers.client.llen(QUEUE) < 4:  # the 3 not started, and the one never taken
        assert time.monotonic() - signalled < 1.5, "the worker held on to its tasks"
        time.sleep(0.05)
    assert process.poll() is None  # still fetching its page

    _, log = process.communicate(timeout=60)

    assert time.monotonic() - signalled < 4  # its page takes 1 s; was 6 s, 3 turns of 2 s
    assert "stopping: 3 tasks not started put back in the queue; finishing the 1 being" in log
    assert "send SIGTERM again to stop at once" in log
    assert log.count(": first") == 1
    assert log.index("stopping: 3") < log.index(": first")  # said at once, not at the end
    workers.start()
    stdout, stderr = coordinator.communicate(timeout=60)
    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}, stdout
    assert sorted(fetched(site)) == [f"/terms-{n}" for n in range(5)]  # each page once


def test_a_stopped_worker_puts_back_at_once_a_combined_document_between_its_pages(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """SIGTERM after the first page of a combined document, its second waiting for the host's
    turn: that page is never sent, yet the task was held as if being fetched, and went back
    only as the worker exited, once its other pages (here one held on another host) were done.
    It goes back at once; the worker that takes it fetches the document whole again, as its
    text is compared whole."""
    held = threading.Event()
    site.html("/part-1", PAGE.format(n=1))
    site.html("/part-2", PAGE.format(n=2))
    site.html("/held", PAGE.format(n="held"), held=held)
    elsewhere = site.url("/held").replace("127.0.0.1", "localhost")  # a host of its own
    catalog = pg_home.catalog(
        [
            {
                "type": "Both",
                "select": "main",
                "combine": [site.url(p) for p in ("/part-1", "/part-2")],
            },
            {"type": "Held", "select": "main", "url": elsewhere},
        ]
    )
    index = workers.start("--set", "DOWNLOAD_DELAY=3", "--set", "CONCURRENT_REQUESTS=4")
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    deadline = time.monotonic() + 30
    while sorted(fetched(site)) != ["/held", "/part-1"]:
        assert time.monotonic() < deadline, fetched(site)
        time.sleep(0.05)
    time.sleep(0.5)  # the first page read; the second waits its turn, 3 s after the first
    process = workers.processes[index]
    process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    while workers.client.llen(QUEUE) < 1:
        assert time.monotonic() - signalled < 1.5, "the worker held on to the combined document"
        time.sleep(0.05)
    assert process.poll() is None  # still fetching the held page
    held.set()

    _, log = process.communicate(timeout=60)
    workers.start()
    stdout, stderr = coordinator.communicate(timeout=60)

    assert "stopping: 1 task not started put back in the queue; finishing the 1 being" in log
    assert coordinator.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}, stdout
    assert sorted(fetched(site)) == ["/held", "/part-1", "/part-1", "/part-2"]


def test_a_worker_stopped_while_reading_a_page_finishes_it_and_nothing_is_fetched_twice(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while a page's answer is being read or recorded (no longer being fetched): the
    worker put its task back in the queue, recorded the page all the same and never reported
    it, and another worker fetched the page a second time for the crawl."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    site.html("/slow", PAGE.format(n="slow"))
    catalog = pg_home.catalog([{"type": "Slow", "url": site.url("/slow"), "select": "main"}])
    index = workers.start(*faults.spider_middlewares("DwellOnSlowPage"))
    coordinator = crawl_started(pg_home, catalog, redis_url, site)
    time.sleep(1)  # its answer in, being read (for 4 s)
    log = workers.stop(index)
    workers.start()  # would take the task, were it put back

    stdout, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 0, stderr
    assert [row["outcome"] for row in json.loads(stdout)] == ["first"], stdout
    assert "stopping: finishing the 1 being fetched" in log, log
    assert "testsite/slow: first" in log and "put back" not in log, log
    assert fetched(site) == ["/slow"]


def test_a_workers_log_is_a_line_per_document_and_real_errors(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """As a local crawl's: a failed fetch is its document's line, not Scrapy's and Playwright's
    tracebacks too (a crawl of the bundled catalog without network left 3,909 lines in a
    worker's log). `--set LOG_INSTALL_ROOT_HANDLER=true` gives Scrapy's whole log."""
    site.html("/terms", PAGE.format(n=0))
    catalog = pg_home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms"), "select": "main"},
            {"type": "Gone", "url": "http://policies.invalid/terms"},
            {"type": "App", "url": "http://app.invalid/terms", "render": "browser"},
        ]
    )
    index = workers.start()

    result = crawl(pg_home, catalog, redis_url, "--json")

    assert result.code == 0, result.stderr
    assert outcomes(result) == {
        "testsite/terms": "first",
        "testsite/gone": "failed",
        "testsite/app": "failed",
    }
    banner, *lines = workers.stop(index).splitlines()
    assert banner.startswith("worker ")
    assert sorted(lines[:3]) == [
        "testsite/app: failed dns-error: Page.goto: net::ERR_NAME_NOT_RESOLVED at "
        "http://app.invalid/terms",
        "testsite/gone: failed dns-error: DNS lookup failed: no results for hostname lookup: "
        "policies.invalid.",
        "testsite/terms: first",
    ]
    # A stop asked for is normal operation: a plain line, as a journal shows it, not a warning.
    assert lines[3:] == ["stopping: no task in hand"]  # not "0 tasks … put back"
    full = workers.start("--set", "LOG_INSTALL_ROOT_HANDLER=true", "--set", "LOG_LEVEL=INFO")
    assert "[scrapy.core.engine] INFO: Spider opened" in workers.stop(full)


def test_overlapping_crawls_of_one_store_fetch_each_document_once(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """Two crawls of one store at once (cron lines on two machines, a manual crawl during cron's)
    queued the same documents: each page was fetched twice, a 200 then a 304. A document another
    crawl holds is left to it, forced with --only KEY or not, and reported `elsewhere`."""
    # The pages are held until the others have ended: the first crawl holds its documents
    # however long they take to start on a loaded machine and to see its claims renewed.
    release = threading.Event()
    catalog = publish(site, pg_home, 6, held=release)
    workers.start("--set", "CONCURRENT_REQUESTS=1")
    first = crawl_started(pg_home, catalog, redis_url, site)
    args = [*POLICYWATCH, "crawl", "--catalog", str(catalog), "--quiet", "--redis", redis_url]
    cron = background(pg_home, *args, "--only", "testsite", "--json")  # as due: all never checked
    forced = background(pg_home, *args, "--only", "testsite/terms-5")  # the first crawl's last

    cron_out, cron_err = cron.communicate(timeout=60)
    forced_out, forced_err = forced.communicate(timeout=60)
    release.set()
    stdout, stderr = first.communicate(timeout=60)

    assert first.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}
    assert cron.returncode == 0, cron_err
    rows = json.loads(cron_out)
    # Each left to the first crawl, or already checked by it (then not due, a date its detail).
    assert {row["outcome"] for row in rows} <= {ELSEWHERE, "not-due"}, rows
    elsewhere = [row["detail"] for row in rows if row["outcome"] == ELSEWHERE]
    assert any(detail.startswith(f"{FETCHING_ELSEWHERE} (") for detail in elsewhere), rows
    assert all(detail.startswith(FETCHING_ELSEWHERE) or detail == FETCHED_MEANWHILE
               for detail in elsewhere), rows  # fmt: skip
    not_due = [row["detail"] for row in rows if row["outcome"] == "not-due"]
    assert all(detail[:4].isdigit() for detail in not_due), rows
    assert forced.returncode == 0, forced_err
    assert "another crawl of this store is fetching 1 document, or just did" in forced_out
    assert sorted(fetched(site)) == [f"/terms-{n}" for n in range(6)]  # each page once
    assert workers.client.keys(CLAIM_PREFIX + "*") == []  # every claim released
    documents = pg_home.run("documents", "--json").json()
    assert [row["versions"] for row in documents] == [1] * 6


def test_a_local_crawl_beside_a_crawl_through_workers_records_each_change_once(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """A local crawl claims nothing (it has no Redis: one given makes it a crawl through
    workers), so beside a crawl through workers of the same store it may fetch the pages they
    fetch. The store records each version once all the same: each document's row is locked
    while its fetch is recorded, and the second finds the text unchanged."""
    catalog = publish(site, pg_home, 3)
    assert pg_home.crawl(catalog).code == 0
    for n in range(3):  # each page changed, and slow
        site.html(f"/terms-{n}", PAGE.format(n=n).replace("You may", "You may not"), delay=1)
    workers.start()
    queued = crawl_started(pg_home, catalog, redis_url, site)

    local = pg_home.crawl(catalog, "--json")
    _, stderr = queued.communicate(timeout=60)

    assert local.code == 0, local.stderr
    assert queued.returncode == 0, stderr
    documents = pg_home.run("documents", "--json").json()
    assert [row["versions"] for row in documents] == [2] * 3
    changes = pg_home.run("history", "--all", "--json").json()
    assert sorted(change["key"] for change in changes) == [
        f"testsite/terms-{n}" for n in range(3)
    ]  # one change each, not one per crawl
    # The first crawl's, then each page once or twice, and by each crawl that found its text
    # not the one last recorded once more (crawlers/steady.py).
    assert len(fetched(site)) <= 3 + 2 * 6


def test_the_claims_of_a_crawl_killed_outright_lapse(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """A crawl that cannot release its claims (`kill -9`, a lost machine) stops renewing them:
    they lapse after CLAIM_TTL seconds (2 here), and the next crawl fetches the documents."""
    catalog = publish(site, pg_home, 2, delay=1)
    workers.start()
    doomed = crawl_started(pg_home, catalog, redis_url, site, entry=("-c", SHORT_CLAIMS))
    doomed.kill()
    doomed.wait()
    killed = time.monotonic()

    assert len(workers.client.keys(CLAIM_PREFIX + "*")) == 2
    while workers.client.keys(CLAIM_PREFIX + "*"):
        assert time.monotonic() - killed < 3, "the claims outlived their TTL"
        time.sleep(0.1)
    result = crawl(pg_home, catalog, redis_url, "--json")
    assert result.code == 0, result.stderr
    assert ELSEWHERE not in outcomes(result).values()
    assert len(outcomes(result)) == 2


@contextmanager
def live_crawl(
    client: redis.Redis, store: str, crawl: str, keys: Collection[str]
) -> Iterator[None]:
    """A crawl `crawl` of `store` holding `keys`, renewing its claims every half second as a
    crawl waiting for its workers does, until the block ends; it then releases them."""
    claims = Claims(client, store, crawl)
    claims.take(list(keys))
    done = threading.Event()

    def renew() -> None:
        while not done.wait(0.5):
            claims.keep(claims.held)

    renewing = threading.Thread(target=renew)
    renewing.start()
    try:
        yield
    finally:
        done.set()
        renewing.join()
        claims.keep(())


def test_a_claim_its_crawl_stopped_renewing_is_taken_over(redis_url: str) -> None:
    """A crawl killed outright holds its claims until they lapse (CLAIM_TTL, 30 s): a crawl
    started meanwhile left those documents to it, and said that crawl's summary would report
    them, though none ever would. A claim left unrenewed for CLAIM_STALE seconds is now taken
    over; one its crawl renews is still that crawl's."""
    client = redis.Redis.from_url(redis_url)
    store = "postgresql://store"
    Claims(client, store, "dead").take(["x/dead"])  # never renewed, nor released
    mine = Claims(client, store, "next")

    with live_crawl(client, store, "live", ["x/live"]):
        started = time.monotonic()
        others = mine.take(["x/dead", "x/live", "x/free"])
        waited = time.monotonic() - started

    assert others == {"x/live": "live"}
    assert mine.held == {"x/dead", "x/free"}
    assert client.get(mine.key("x/dead")) == b"next"
    assert 0 < client.pttl(mine.key("x/dead")) <= 30_000  # for a full CLAIM_TTL, as any claim
    assert waited < CLAIM_STALE + 2, waited  # not until the dead crawl's claim lapsed


def test_a_document_fetched_since_the_crawl_planned_is_not_queued(
    home: Home, site: Site, redis_url: str
) -> None:
    """Another crawl may fetch a document, and release it, between this crawl's plan and its
    claim: the store's last check, changed since the plan, says so, and it is not queued."""
    catalog = publish(site, home, 3)
    documents = load_catalog([catalog], bundled=False).documents
    keys = [document.key for document in documents]
    client = redis.Redis.from_url(redis_url)
    heartbeat(client, "w1", "postgresql://store")  # a live worker, which must get nothing
    told: list[str] = []

    with live_crawl(client, "postgresql://store", "other", keys[:1]):
        result = dispatch(
            client,
            documents,
            "postgresql://store",
            fetched_meanwhile=lambda claimed: claimed,  # every one, since the plan
            on_outcome=lambda outcome: told.append(outcome.key),
        )
        others = client.keys(CLAIM_PREFIX + "*")

    assert result.outcomes == []
    assert [(row.key, row.outcome, row.detail) for row in result.elsewhere] == [
        (keys[0], ELSEWHERE, f"{FETCHING_ELSEWHERE} (other)"),
        (keys[1], ELSEWHERE, FETCHED_MEANWHILE),
        (keys[2], ELSEWHERE, FETCHED_MEANWHILE),
    ]
    assert sorted(told) == sorted(keys)  # the progress bar is told of each
    assert client.llen(QUEUE) == 0
    assert len(others) == 1  # the other crawl's, not ours


def test_a_document_fetched_for_a_crawl_killed_outright_is_not_left_to_its_summary(
    home: Home, site: Site, redis_url: str
) -> None:
    """A crawl started just after one was killed outright takes its claims over, and finds
    some of its documents fetched meanwhile (tasks the workers took before it died): it said
    another crawl's summary reported them, which none ever would."""
    catalog = publish(site, home, 2)
    documents = load_catalog([catalog], bundled=False).documents
    keys = [document.key for document in documents]
    client = redis.Redis.from_url(redis_url)
    heartbeat(client, "w1", "postgresql://store")
    Claims(client, "postgresql://store", "dead").take(keys[:1])  # never renewed, nor released

    result = dispatch(
        client, documents, "postgresql://store", fetched_meanwhile=lambda claimed: claimed
    )

    assert [(row.key, row.detail) for row in result.elsewhere] == [
        (keys[0], f"{FETCHED_FOR_A_STOPPED_CRAWL} (dead)"),
        (keys[1], FETCHED_MEANWHILE),
    ]


def orphaned_tasks(
    home: Home, catalog: Path, redis_url: str, count: int, *, lapse: bool = True
) -> str:
    """Queue the `count` documents of `catalog` from a crawl killed outright (`kill -9`) before
    any worker took them, and, with `lapse`, wait until its claims lapse (CLAIM_TTL is then 2 s
    in it; without, its claims last 30 s); the killed crawl's id. A sign of life of a worker
    that is away lets it queue with no worker to take."""
    client = redis.Redis.from_url(redis_url)
    client.set(WORKER_PREFIX + "away", public_url(home.db), ex=60)
    command = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", "--quiet"]
    entry = ("-c", SHORT_CLAIMS) if lapse else POLICYWATCH
    doomed = background(home, *entry, *command, "--redis", redis_url)
    deadline = time.monotonic() + 30
    while client.llen(QUEUE) < count:
        assert doomed.poll() is None, doomed.communicate()
        assert time.monotonic() < deadline, "the crawl never queued its tasks"
        time.sleep(0.05)
    [crawl] = {client.get(key) for key in client.keys(CLAIM_PREFIX + "*")}
    doomed.kill()
    doomed.wait()
    while lapse and client.keys(CLAIM_PREFIX + "*"):
        assert time.monotonic() < deadline, "the claims outlived their TTL"
        time.sleep(0.1)
    return crawl.decode()


def test_the_tasks_of_a_crawl_killed_outright_are_dropped_once_its_claims_lapse(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """A crawl killed outright left its tasks queued: once its claims lapsed, a worker fetched
    them for a crawl nobody waited for, and the next crawl fetched every page again."""
    catalog = publish(site, pg_home, 3)
    dead = orphaned_tasks(pg_home, catalog, redis_url, 3)
    index = workers.start()
    deadline = time.monotonic() + 30
    while workers.client.llen(QUEUE):  # taken by the worker
        assert time.monotonic() < deadline, "the worker never took the tasks"
        time.sleep(0.05)

    result = crawl(pg_home, catalog, redis_url, "--json")

    assert result.code == 0, result.stderr
    assert set(outcomes(result).values()) == {"first"}
    assert sorted(fetched(site)) == [f"/terms-{n}" for n in range(3)]  # each page once
    assert workers.client.keys("policywatch:taken:*") == []  # the orphans released, not held
    log = workers.stop(index)
    assert (
        f"\nwarning: dropped 3 tasks of crawl {dead}, not fetched: its claims "
        "lapsed (killed outright?): testsite/terms-0, testsite/terms-1, testsite/terms-2\n"
    ) in log
    assert "Traceback" not in log


@pytest.mark.parametrize("lapse", [True, False], ids=["lapsed", "unrenewed"])
def test_the_tasks_of_a_crawl_killed_outright_are_dropped_for_the_crawl_queuing_them_again(
    pg_home: Home, site: Site, workers: Workers, redis_url: str, lapse: bool
) -> None:
    """The next crawl claims the documents and queues them behind the killed crawl's tasks: a
    worker taking one task at a time fetched each page for both. Started before the killed
    crawl's claims lapsed (30 s), it left the documents to that crawl, and said that crawl's
    summary reported them, which none ever would: it now takes over the claims left unrenewed
    for CLAIM_STALE seconds."""
    catalog = publish(site, pg_home, 3)
    dead = orphaned_tasks(pg_home, catalog, redis_url, 3, lapse=lapse)
    command = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", "--quiet"]
    second = background(pg_home, *POLICYWATCH, *command, "--redis", redis_url, "--json")
    deadline = time.monotonic() + 30
    while workers.client.llen(QUEUE) < 6:  # the killed crawl's 3, then its own
        assert second.poll() is None, second.communicate()
        assert time.monotonic() < deadline, "the second crawl never queued its tasks"
        time.sleep(0.05)
    [alive] = {workers.client.get(key) for key in workers.client.keys(CLAIM_PREFIX + "*")}
    index = workers.start("--set", "CONCURRENT_REQUESTS=1")  # one task at a time

    stdout, stderr = second.communicate(timeout=60)

    assert second.returncode == 0, stderr
    assert {row["outcome"] for row in json.loads(stdout)} == {"first"}
    assert sorted(fetched(site)) == [f"/terms-{n}" for n in range(3)]  # each page once
    log = workers.stop(index)
    dropped = f"dropped 1 task of crawl {dead}, not fetched: now claimed by crawl {alive.decode()}"
    assert log.count(dropped) == 3, log


def test_a_task_of_the_previous_release_is_fetched(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """Workers are upgraded before the crawls: a task queued by a crawl of the previous release
    (`policywatch-task-1`) names no claim, and is fetched as that release's workers did."""
    catalog = publish(site, pg_home, 1)
    [document] = load_catalog([catalog], bundled=False).documents
    workers.start()
    task = json.loads(encode_task(Task("c1", document)))
    workers.client.rpush(QUEUE, json.dumps({**task, "protocol": "policywatch-task-1"}))

    popped = workers.client.blpop([outcomes_key("c1")], timeout=30)

    assert popped is not None
    assert json.loads(popped[1])["outcome"] == "first"
    assert fetched(site) == ["/terms-0"]


class RedisServer:
    """A Redis of the test's own, without persistence, that the test stops and starts again
    on the same port (the machine's Redis is shared, and must not be stopped)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        if not shutil.which("redis-server"):
            unavailable("redis-server", "not installed")
        command = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, which are never answered, as from a
        blackholed host."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.resume()  # a paused server would not stop
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class RedisLink:
    """A TCP link from workers to a Redis that the test cuts (each connection closed, and each
    new one at once: a network cut) or makes deaf (requests go through, replies are lost: Redis
    does what it is asked, and the worker times out not knowing it), while crawls reach that
    Redis directly."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}{parts.path}"
        self.state = "up"
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:  # closed
                return
            if self.state == "cut":
                near.close()
                continue
            far = socket.create_connection(self.target)
            self.sockets += [near, far]
            threading.Thread(target=self._pipe, args=(near, far, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(far, near, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (replies and self.state == "deaf"):
                    sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            end.close()

    def cut(self) -> None:
        self.state = "cut"
        for end in self.sockets:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.mark.parametrize("how", ["cut", "deaf"])
def test_a_worker_that_loses_redis_mid_page_records_and_reports_it(
    pg_home: Home, site: Site, redis_url: str, how: str
) -> None:
    """A page answered while the worker could not reach Redis failed `internal-error` with a
    traceback, unrecorded: asking Redis for more tasks raised in the page's callback. Its
    outcome, which Redis could not take, was never reported, and a task Redis moved to the
    worker's list while its reply was lost stayed there: the worker, alive, was never rescued,
    and the crawl waited for both documents for 10 minutes. Now the page is recorded, its
    outcome reported once Redis answers, and the stray task put back in the queue."""
    catalog = publish(site, pg_home, 3, delay=1.5)
    link = RedisLink(redis_url)
    pool = Workers(pg_home, link.url)
    coordinator = None
    try:
        pool.start("--set", "CONCURRENT_REQUESTS=1")  # fetching one, the others queued
        coordinator = crawl_started(pg_home, catalog, redis_url, site)
        if how == "cut":
            link.cut()
            time.sleep(3)  # the page is answered meanwhile; the worker's key lasts 5 s
        else:
            link.state = "deaf"
            time.sleep(4)  # Redis moves the next task to the worker, which never hears
        link.state = "up"

        stdout, stderr = coordinator.communicate(timeout=60)

        assert coordinator.returncode == 0, stderr
        assert {row["outcome"] for row in json.loads(stdout)} == {"first"}, stdout
        documents = pg_home.run("documents", "--json").json()
        assert [row["versions"] for row in documents] == [1] * 3
        if how == "cut":  # a deaf link also keeps the worker's sign of life from it a while
            assert sorted(fetched(site)) == [f"/terms-{n}" for n in range(3)]  # each once
        log = pool.stop(0)
        assert "internal-error" not in log and "Traceback" not in log, log
    finally:
        if coordinator is not None and coordinator.poll() is None:
            coordinator.kill()  # hung: the test failed
            coordinator.wait()
        link.state = "up"
        pool.stop_all()
        link.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


def test_a_worker_outlives_a_redis_outage(
    pg_home: Home, site: Site, own_redis: RedisServer
) -> None:
    """scrapy-redis's idle handler raised while Redis was down, and Scrapy closed the idle
    spider: every idle worker exited, with status 0, at a Redis restart, and no crawl found a
    worker again (systemd's Restart=on-failure took it for a wanted stop)."""
    catalog = publish(site, pg_home, 1)
    pool = Workers(pg_home, own_redis.url)
    try:
        pool.start()
        own_redis.stop()
        time.sleep(8)  # scrapy-redis tells an idle spider every 5 s
        assert pool.processes[0].poll() is None, pool.processes[0].communicate()[1]
        own_redis.start()
        # Back empty: the worker says it is alive at its next beat, which the crawl waits for.
        result = crawl(pg_home, catalog, own_redis.url, "--json")

        assert result.code == 0, result.stderr
        assert outcomes(result) == {"testsite/terms-0": "first"}
        log = pool.stop(0)
        assert log.count("warning: cannot reach Redis") == 1, log  # once, not every second
        assert "\nRedis answers again, after " in log and "Traceback" not in log  # no fault
    finally:
        pool.stop_all()


def test_a_redis_that_never_answers_is_refused_not_waited_for(
    pg_home: Home, site: Site, own_redis: RedisServer
) -> None:
    """A Redis that accepts connections and never answers (a paused process, a blackholed
    host) hung `crawl --redis` and `worker` forever: each now says it cannot use it (exit 2),
    as when Redis cannot be reached."""
    catalog = publish(site, pg_home, 1)
    own_redis.pause()
    where = f"cannot use Redis at {own_redis.url}: Timeout"
    args = ["--catalog", str(catalog), "--only", "testsite", "--quiet"]

    for command in (["crawl", *args], ["worker", "--db", pg_home.db]):
        result = pg_home.run(*command, "--redis", own_redis.url, timeout=30)

        assert result.code == 2, result.stderr
        assert where in result.stderr
    assert site.log == []


def past_its_ping(client: redis.Redis) -> bool:
    """Whether another client has sent Redis more than its first PING: the crawl is past its
    check that Redis answers (paused before, it is refused as a Redis out of reach is)."""
    ours = client.client_id()
    return any(
        entry["id"] != str(ours) and entry["cmd"] not in ("ping", "NULL")
        for entry in client.client_list()
    )


def test_a_redis_lost_before_the_tasks_are_queued_stops_the_crawl_plainly(
    pg_home: Home, site: Site, own_redis: RedisServer
) -> None:
    """Redis lost while the crawl waited for a first worker (or claimed, or queued) ended it
    with a traceback, exit 1: it is now refused as a Redis out of reach at the start is."""
    catalog = publish(site, pg_home, 1)
    client = redis.Redis.from_url(own_redis.url)
    coordinator = background(
        pg_home, *POLICYWATCH, "crawl", "--catalog", str(catalog), "--only", "testsite",
        "--quiet", "--redis", own_redis.url,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not past_its_ping(client):  # the crawl checked Redis: it waits 5 s for a worker
        assert coordinator.poll() is None, coordinator.communicate()
        assert time.monotonic() < deadline, "the crawl never connected"
        time.sleep(0.05)
    own_redis.pause()

    _, stderr = coordinator.communicate(timeout=60)

    assert coordinator.returncode == 2, stderr
    assert "Redis stopped answering before the documents were queued (Timeout" in stderr
    assert "Traceback" not in stderr
    assert site.log == []


@pytest.mark.parametrize("how", ["down", "restarted-empty", "paused"])
def test_a_crawl_that_loses_redis_ends_with_its_summary_and_says_why(
    pg_home: Home, site: Site, own_redis: RedisServer, how: str
) -> None:
    """Redis gone mid-crawl ended the crawl with a traceback and exit code 1: no summary, no
    alert. It now waits for Redis as long as its claims last (2 s here), then stops; and a Redis
    back without its data, the crawl's claims gone, stops it too (the workers drop its tasks),
    where it waited 10 minutes for them. A Redis that stops answering without closing (paused,
    a host blackholed) hung the crawl forever: its silence times out, and is an outage too."""
    catalog = publish(site, pg_home, 3, delay=3)
    pool = Workers(pg_home, own_redis.url)
    coordinator = None
    try:
        pool.start("--set", "CONCURRENT_REQUESTS=1")
        coordinator = crawl_started(pg_home, catalog, own_redis.url, site, ("-c", SHORT_CLAIMS))
        if how == "paused":
            own_redis.pause()
        else:
            own_redis.stop()
        if how == "restarted-empty":
            own_redis.start()

        stdout, stderr = coordinator.communicate(timeout=60)

        assert coordinator.returncode == 3, stderr  # nothing reported
        lost = how == "restarted-empty"
        why = "this crawl's claims in Redis lapsed or were lost" if lost else "Redis stopped"
        details = [row["detail"] for row in json.loads(stdout)]
        assert all(detail.startswith(f"no result: {why}") for detail in details), details
        assert "Traceback" not in stderr
        assert f"Stopped waiting for the workers: {why}" in stderr
        assert "3 of 3 documents were not reported" in stderr
    finally:
        if coordinator is not None and coordinator.poll() is None:
            coordinator.kill()  # hung: the test failed
            coordinator.wait()
        own_redis.resume()
        pool.stop_all()


def test_a_crawl_suspended_past_its_claims_stops_waiting_for_the_dropped_tasks(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """A crawl suspended (a laptop's lid, SIGSTOP) for longer than its claims last finds them
    lapsed: the workers dropped its tasks as orphans, and it waited 10 minutes for them."""
    catalog = publish(site, pg_home, 3, delay=1)
    workers.start("--set", "CONCURRENT_REQUESTS=1")
    coordinator = crawl_started(pg_home, catalog, redis_url, site, ("-c", SHORT_CLAIMS))
    coordinator.send_signal(signal.SIGSTOP)
    time.sleep(4)  # the claims lapse after 2 s; the worker drops the tasks it takes next
    coordinator.send_signal(signal.SIGCONT)

    stdout, stderr = coordinator.communicate(timeout=30)

    assert "Stopped waiting for the workers: this crawl's claims in Redis lapsed" in stderr
    lost = [row["key"] for row in json.loads(stdout) if row["outcome"] == "failed"]
    assert lost, stdout
    assert len(fetched(site)) < 3  # the dropped tasks were not fetched


def test_a_worker_asks_for_robots_txt_again_once_it_is_old(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """A worker runs for weeks, and kept the first robots.txt it read of a host for its life:
    a site that came to disallow the crawler was still crawled, and one whose robots.txt
    failed once (now: the whole site disallowed) stayed refused, whatever the next crawl found.
    RFC 9309 (2.4): a robots.txt is not to be kept more than 24 hours."""
    site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    site.html("/terms", "<html><body><main><p>You may call the API.</p></main></body></html>")
    catalog = pg_home.catalog([{"type": "Terms", "url": site.url("/terms"), "select": "main"}])
    workers.start("--set", "POLICYWATCH_ROBOTS_MAX_AGE=1")
    assert outcomes(crawl(pg_home, catalog, redis_url, "--json")) == {"testsite/terms": "first"}
    site.pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    time.sleep(1.5)
    result = crawl(pg_home, catalog, redis_url, "--json")
    assert outcomes(result) == {"testsite/terms": "failed"}
    assert "robots-disallowed" in result.stdout
    assert len(site.hits("/robots.txt")) == 2 and len(site.hits("/terms")) == 1
