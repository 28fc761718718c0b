"""Renamed documents on the command line: a crawl renames what the catalog says was renamed,
and a key a document had still names it, with a note of the key it has now."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine

from crawlers.declarations import Catalog, TrackedDocument
from policywatch.cli.common import db_url, note, warn
from store.db import StoreError, open_store
from store.renames import current_key, rename_documents
from store.subscriptions import NewSubscription


def follow_renames(store: Engine, catalog: Catalog) -> None:
    """Rename the documents stored under a key their declaration names as `formerly`, before
    the crawl plans from the store: said on stderr, and so is each rename left undone because
    the store holds both keys (a cron job's log shows it until the user decides)."""
    olds: dict[str, list[str]] = {}
    for old, new in catalog.formerly().items():
        olds.setdefault(new, []).append(old)
    if not olds:
        return
    renames = rename_documents(store, olds)
    for old, new in renames.renamed:
        note(f"renamed {old} to {new}, as its declaration says (formerly): its history follows")
    for old, new in renames.clashes:
        warn(
            f"not renamed {old} to {new}, as its declaration says (formerly): the store has a"
            f" document under each key already ({new} was crawled before `formerly` was"
            f" written), and two histories are not merged; {old} keeps its own. Remove the"
            " `formerly` to keep both apart."
        )


def resolved_key(store: Engine, key: str) -> str:
    """`key`, or the key now of the document renamed from it, with a note saying so."""
    return _said(key, current_key(store, key)) or key


def resolved_filters(store: Engine, request: NewSubscription) -> NewSubscription:
    """A subscription asked for by a key a document had filters on its key now: the old key
    would match no change again."""
    documents = [resolved_key(store, key) for key in request.documents]
    return replace(request, documents=documents)


def renamed_declaration(catalog: Catalog, key: str) -> TrackedDocument | None:
    """The document whose declaration names `key` as `formerly`, with a note saying so."""
    now = _said(key, catalog.formerly().get(key.lower()))
    return None if now is None else catalog.get(now)


def resolved_only(catalog: Catalog, names: list[str], db: str | None) -> list[str]:
    """`--only` names, a key a document had read as its key now (with a note): the catalog's
    `formerly`, else the store's memory of renames (0017's new spellings, a `formerly` since
    dropped), when there is a store to ask."""
    unknown = set(catalog.unknown(names))
    if not unknown:
        return names
    formerly = catalog.formerly()
    store = _existing(db)
    resolved = []
    for name in names:
        now = formerly.get(name.lower()) if name in unknown else None
        if name in unknown and now is None and store is not None:
            now = current_key(store, name)
        resolved.append(_said(name, now) or name)
    return resolved


def _said(old: str, now: str | None) -> str | None:
    """`now`, the key of the document once known as `old`, once said on stderr."""
    if now is not None:
        note(f"{old.lower()} is now {now} (renamed)")
    return now


def _existing(db: str | None) -> Engine | None:
    """The store named, or None when there is none yet: a lookup never creates one."""
    try:
        return open_store(db_url(db), create=False, writes=False, notice=note)
    except StoreError:
        return None
