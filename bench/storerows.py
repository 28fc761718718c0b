"""Rows of a synthetic store, written in bulk by the benchmarks that time reads over a large
history (`timeline.py`, `notify.py`): what they measure is the reading, not the crawl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from store.repository import text_sha256

T0 = datetime(2020, 1, 1, tzinfo=UTC)
SERVICES = 12  # documents share services, as a real catalog's do


def document_row(d: int) -> dict[str, Any]:
    """Document `d` (its id is `d + 1`)."""
    return {
        "id": d + 1,
        "key": f"service-{d % SERVICES}/document-{d}",
        "service": f"Service {d % SERVICES}",
        "document_type": f"Document {d}",
        "url": f"https://example.com/{d}",
        "declaration": {},
        "tags": [],
        "first_seen": T0,
        "last_seen": T0,
        "issue_streak": 0,
    }


def version_row(version_id: int, d: int, seq: int, wording: int, hour: int) -> dict[str, Any]:
    """Version `seq` of document `d`, reading as its `wording`-th text, seen `hour` hours in: two
    versions of one wording share their fingerprint, as a page that reads again as before."""
    body = f"# Document {d}\n\nVersion {wording}.\n"
    return {
        "id": version_id,
        "document_id": d + 1,
        "seq": seq + 1,
        "seen_at": T0 + timedelta(hours=hour),
        "text_sha256": text_sha256(body),
        "fingerprint": f"{d}-{wording}",
        "text": body,
    }
