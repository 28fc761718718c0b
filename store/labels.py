"""The names a stored document is shown by (its service, its type, its tags) follow its
declaration at every crawl, whether the crawl fetches it or not.

A fetch writes a document's whole declaration (`Repository.sync_documents`), but a document is
fetched when due, and a change of names alone does not make it due (see crawlers/schedule.py):
a document renamed by `formerly` would be listed under its new key with its old service's name
(`x/terms`, service Twitter) for up to its interval, and `--service X` would miss it. Names
only: the URL and the declaration stay those the document was last read with, as they decide
whether it is `redeclared`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from sqlalchemy import Engine, select, update
from sqlmodel import col

from store.db import writer
from store.models import Document


class Names(NamedTuple):
    """What a declaration says a document is called."""

    service: str
    document_type: str
    tags: Sequence[str]


def relabel_documents(engine: Engine, declared: Mapping[str, Names]) -> list[str]:
    """Give each stored document of `declared` (key: names) the names declared where they
    differ; the keys relabelled. One read, and a write only when some name changed."""
    if not declared:
        return []
    query = select(
        col(Document.key), col(Document.service), col(Document.document_type), col(Document.tags)
    ).where(col(Document.key).in_(list(declared)))
    with engine.connect() as connection:
        stored = {
            key: Names(service, document_type, tags)
            for key, service, document_type, tags in connection.execute(query)
        }
    stale = {
        key: names
        for key, stored_names in stored.items()
        if (names := _listed(declared[key])) != _listed(stored_names)
    }
    if stale:
        with writer(engine).begin() as connection:
            for key, names in stale.items():
                connection.execute(
                    update(Document)
                    .where(col(Document.key) == key)
                    .values(
                        service=names.service,
                        document_type=names.document_type,
                        tags=list(names.tags),
                    )
                )
    return sorted(stale)


def _listed(names: Names) -> Names:
    return names._replace(tags=list(names.tags or []))
