"""What the spider hands the pipeline, and what the pipeline reports back to the runner."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FetchedPage:
    """A response worth looking at: a 200 with a body, or a 304 Not Modified."""

    key: str
    url: str
    status: int
    body: bytes
    content_type: str | None
    encoding: str | None
    etag: str | None
    last_modified: str | None
    elapsed_ms: int | None


@dataclass
class FetchFailed:
    """A fetch that produced no usable page, with a short kind and a readable reason."""

    key: str
    url: str
    kind: str
    detail: str
    status: int | None = None
    elapsed_ms: int | None = None


@dataclass
class CrawlOutcome:
    """One document's result: `first`, `changed`, `unchanged`, `not-modified` or `failed`."""

    key: str
    outcome: str
    detail: str = ""
    change_id: int | None = None
