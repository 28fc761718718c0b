"""A task: one document to fetch for one crawl, as `crawl` queues it and a worker reads it.

A task carries the document's whole declaration, so that workers need no catalog of their own,
and names its layout (`PROTOCOL`), so that a worker of another release refuses it rather than
misreads it. It imports neither redis nor Scrapy: it is plain data on the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from crawlers.declarations import Format, Page, PartDeclaration, Render, TrackedDocument


class TaskError(ValueError):
    """A task this worker cannot read: another release's format, or not a task at all."""

    def __init__(self, message: str, crawl: str | None = None, key: str | None = None) -> None:
        super().__init__(message)
        self.crawl = crawl
        self.key = key


@dataclass(frozen=True)
class Task:
    """One document to fetch for one crawl. `claim` is the Redis key of the crawl's claim on the
    document (see `claims.Claims`); None in a task of the previous format, which named none."""

    crawl: str
    document: TrackedDocument
    accept_capture: bool = False
    claim: str | None = None


PROTOCOL = "policywatch-task-2"  # the layout of the tasks this release queues


class _TaskData(BaseModel):
    """A task on the wire. `protocol` names this layout: a worker of another release refuses a
    layout it does not know by name, rather than misreading it."""

    model_config = ConfigDict(extra="forbid")

    # Task 1, the previous release's layout, names no claim: its tasks are fetched unchecked, as
    # that release's workers did, so that workers can be upgraded before the crawls. A worker of
    # that release refuses a task 2 by its protocol, and the crawl reports it failed, saying so.
    protocol: Literal["policywatch-task-2", "policywatch-task-1"]
    crawl: str
    claim: str | None = None
    key: str
    service: str
    type: str
    tags: list[str]
    pages: list[PartDeclaration]
    render: Render = "http"
    format: Format | None = None
    interval: str
    language: str | None = None
    source: str
    accept_capture: bool = False


def encode_task(task: Task) -> str:
    document = task.document
    data = _TaskData(
        protocol=PROTOCOL,
        crawl=task.crawl,
        claim=task.claim,
        key=document.key,
        service=document.service,
        type=document.document_type,
        tags=list(document.tags),
        pages=[
            PartDeclaration(url=page.url, select=list(page.select), remove=list(page.remove))
            for page in document.pages
        ],
        render=document.render,
        format=document.format,
        interval=document.interval,
        language=document.language,
        source=document.source,
        accept_capture=task.accept_capture,
    )
    return data.model_dump_json(exclude_defaults=True, exclude_none=True)


def decode_task(raw: bytes | str) -> Task:
    """The task in `raw`; its selectors are validated again, as a catalog entry's are."""
    try:
        data = _TaskData.model_validate_json(raw)
    except ValidationError as error:
        crawl, key = task_ids(raw)
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise TaskError(f"unreadable task ({where}: {problem['msg']})", crawl, key) from None
    document = TrackedDocument(
        key=data.key,
        service=data.service,
        document_type=data.type,
        pages=tuple(_page(part) for part in data.pages),
        tags=tuple(data.tags),
        interval=data.interval,
        language=data.language,
        source=data.source,
        render=data.render,
        format=data.format,
    )
    return Task(data.crawl, document, data.accept_capture, data.claim)


def _page(part: PartDeclaration) -> Page:
    return Page(part.url, tuple(part.select or ()), tuple(part.remove or ()))


def task_ids(raw: bytes | str) -> tuple[str | None, str | None]:
    """The crawl and document of a task that does not validate, if they can be read at all, so
    that its crawl hears of the failure instead of waiting for it."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    crawl, key = data.get("crawl"), data.get("key")
    return (crawl if isinstance(crawl, str) else None, key if isinstance(key, str) else None)
