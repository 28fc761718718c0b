"""Crawls spread over workers, what needs no Redis: the task format, the queue order, and a
crawl on an install without the `workers` extra."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from crawlers.declarations import load_catalog
from crawlers.queue.connection import masked
from crawlers.queue.coordinator import interleaved
from crawlers.queue.tasks import Task, decode_task, encode_task
from tests.conftest import Home
from tests.site import Site


def test_a_task_carries_the_whole_declaration(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(
        "service: X\ndocuments:\n"
        "  - type: Combined\n    render: browser\n    format: pdf\n    interval: 6h\n"
        "    language: fr\n    tags: [t]\n    select: main\n    remove: [nav, .ad]\n"
        "    combine:\n      - https://x.example/a\n"
        "      - url: https://x.example/b\n"
        "        select: [{start_after: h2, end_before: footer}]\n"
    )
    [document] = load_catalog([path], bundled=False).documents
    task = Task(
        "c1", document, accept_capture=True, claim="policywatch:claim:0123456789ab:x/combined"
    )
    assert decode_task(encode_task(task)) == task


def test_hosts_take_turns_in_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    urls = [
        "https://a.example/1",
        "https://a.example/2",
        "https://a.example/3",
        "https://b.example/1",
    ]
    entries = "".join(f"  - type: D{n}\n    url: {url}\n" for n, url in enumerate(urls))
    path.write_text(f"service: X\ndocuments:\n{entries}")
    documents = load_catalog([path], bundled=False).documents
    order = [document.url for document in interleaved(documents)]
    assert order == [urls[0], urls[3], urls[1], urls[2]]


def test_masked_hides_only_the_password() -> None:
    assert masked("redis://:s3cret@db.internal:6380/2") == "redis://:****@db.internal:6380/2"
    assert masked("redis://user:s3cret@db.internal/0") == "redis://user:****@db.internal/0"
    assert masked("redis://db.internal:6379/0") == "redis://db.internal:6379/0"
    assert masked("redis://db.internal/0?password=s3cret&db=2") == (
        "redis://db.internal/0?password=****&db=2"  # redis-py takes a password here too
    )
    assert masked("redis://:s3cret@db.internal:63a79/0") == "redis://:****@db.internal:63a79/0"


def test_without_the_workers_extra_a_crawl_runs_and_redis_is_asked_for(
    home: Home, site: Site
) -> None:
    """redis-py and scrapy-redis made unimportable, as in an install without `[workers]`."""
    site.html("/terms", "<html><body><main><h1>Terms</h1><p>You may call the API.</p></main>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/terms"), "select": "main"}])
    blocked = "import sys; sys.modules['redis'] = sys.modules['scrapy_redis'] = None; "
    entry = blocked + "from policywatch.cli import main; main()"
    crawl = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", "-q", "--json"]

    local = subprocess.run(
        [sys.executable, "-c", entry, *crawl], capture_output=True, text=True, env=home.env()
    )
    queued = subprocess.run(
        [sys.executable, "-c", entry, *crawl, "--redis", "redis://127.0.0.1:6379/0"],
        capture_output=True,
        text=True,
        env=home.env(),
    )

    assert local.returncode == 0, local.stderr
    assert [row["outcome"] for row in json.loads(local.stdout)] == ["first"]
    assert queued.returncode == 2
    assert "pip install 'policywatch[workers]'" in queued.stderr
