"""The task format and queue order of crawls spread over workers (no Redis needed)."""

from __future__ import annotations

from pathlib import Path

from crawlers.declarations import load_catalog
from crawlers.queue import Task, decode_task, encode_task, interleaved, masked


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
    task = Task("c1", document, accept_capture=True)
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
