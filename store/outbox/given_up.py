"""The deliveries given up after every retry, counted by document: `documents` and
`/api/documents` show the count beside each document, so that alerts lost to a dead channel
are not lost from sight.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from store.models import FAILED, Delivery, Document
from store.queries import DocumentRow, list_documents


def failed_by_document(engine: Engine) -> dict[str, int]:
    """Deliveries given up, counted by document key: for `documents` to show beside each one."""
    query = (
        select(Document.key, func.count())
        .join(Delivery, col(Delivery.document_id) == Document.id)
        .where(col(Delivery.status) == FAILED)
        .group_by(col(Document.key))
    )
    with Session(engine) as session:
        return dict(session.exec(query).all())


def documents_json(engine: Engine) -> list[dict[str, Any]]:
    """What `documents --json` and `/api/documents` give: each document's row and the alerts
    about it given up after every retry."""
    failed = failed_by_document(engine)
    return [document_json(row, failed) for row in list_documents(engine)]


def document_json(row: DocumentRow, failed: Mapping[str, int]) -> dict[str, Any]:
    """One document's object of `documents --json`, given `failed_by_document`'s counts: also
    what `/api/documents/KEY` extends, so the two never drift apart."""
    return {**row.to_json(), "failed_deliveries": failed.get(row.key, 0)}
