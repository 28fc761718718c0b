"""Rows of a synthetic store, written in bulk by the benchmarks that time reads over a large
history (`timeline.py`, `notify.py`): what they measure is the reading, not the crawl."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

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


@contextmanager
def store(pg: str | None) -> Iterator[str]:
    """A new, empty store's URL: a SQLite file, or a PostgreSQL database of the admin URL `pg`,
    dropped after it."""
    if pg is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"pw_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{pg.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
