"""Renamed documents on the command line: a crawl renames what the catalog says was renamed,
and a key a document had still names it, with a note of the key it has now; so does the name of
a service all of whose documents were renamed, of the service they became."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import Engine

from crawlers.declarations import Catalog, TrackedDocument, slugify
from policywatch.cli.common import db_url, note, warn
from store.db import StoreError, open_store
from store.labels import Names, relabel_documents
from store.queries import tracked_names
from store.renames import current_key, current_service, rename_documents, renamed_service
from store.subscriptions import NewSubscription


def follow_renames(store: Engine, catalog: Catalog) -> None:
    """Rename the documents stored under a key their declaration names as `formerly`, before
    the crawl plans from the store: said on stderr, and so is each rename left undone because
    the store holds both keys (a cron job's log shows it until the user decides). Then every
    stored document of the catalog takes the service, type and tags it declares, fetched now
    or not (store/labels.py): a renamed one is not shown under its old service's name."""
    olds: dict[str, list[str]] = {}
    for old, new in catalog.formerly().items():
        olds.setdefault(new, []).append(old)
    if olds:
        _renamed(store, olds)
    relabel_documents(
        store,
        {
            document.key: Names(document.service, document.document_type, document.tags)
            for document in catalog.documents
        },
    )


def _renamed(store: Engine, olds: dict[str, list[str]]) -> None:
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


def resolved_service(store: Engine, name: str) -> str:
    """`name`, or the slug now of the service every document of which was renamed from a key
    `name/…` (`twitter`: `x`), with a note saying so."""
    return _said(name, current_service(store, slugify(name))) or name


def resolved_filters(
    store: Engine, request: NewSubscription, catalog: Callable[[], Catalog]
) -> NewSubscription:
    """A subscription asked for by a key a document had, or by a service's old name, filters
    on its key or service now: the old one would match no change again. A service's old name
    the store knows nothing of (nothing crawled since `formerly` was written) is looked up in
    the catalog's `formerly`, loaded only then."""
    documents = [resolved_key(store, key) for key in request.documents]
    services = [resolved_service(store, name) for name in request.services]
    tracked = tracked_names(store) if services else None
    if tracked is not None and (
        untracked := [name for name in services if tracked.service(name) is None]
    ):
        loaded = catalog()
        formerly, keys = loaded.formerly(), [document.key for document in loaded.documents]
        now = {name: renamed_service(slugify(name), formerly, keys) for name in untracked}
        services = [_said(name, now.get(name)) or name for name in services]
    return replace(request, documents=documents, services=services)


def renamed_declaration(catalog: Catalog, key: str) -> TrackedDocument | None:
    """The document whose declaration names `key` as `formerly`, with a note saying so."""
    now = _said(key, catalog.formerly().get(key.lower()))
    return None if now is None else catalog.get(now)


def resolved_only(catalog: Catalog, names: list[str], db: str | None) -> list[str]:
    """`--only` names, a key a document had read as its key now, and a service's old name as
    the service's slug now (with a note): by the catalog's `formerly`, else by the store's
    memory of renames (0017's new spellings, a `formerly` since dropped), when there is a
    store to ask."""
    unknown = set(catalog.unknown(names))
    if not unknown:
        return names
    formerly = catalog.formerly()
    keys = [document.key for document in catalog.documents]
    store = _existing(db)
    resolved = []
    for name in names:
        now = None
        if name in unknown:
            now = formerly.get(name.lower()) or renamed_service(slugify(name), formerly, keys)
        if name in unknown and now is None and store is not None:
            now = current_key(store, name) or current_service(store, slugify(name))
        resolved.append(_said(name, now) or name)
    return resolved


def _said(old: str, now: str | None) -> str | None:
    """`now`, the key of the document (or slug of the service) once known as `old`, once said
    on stderr."""
    if now is not None:
        note(f"{old.lower()} is now {now} (renamed)")
    return now


def _existing(db: str | None) -> Engine | None:
    """The store named, or None when there is none yet: a lookup never creates one."""
    try:
        return open_store(db_url(db), create=False, writes=False, notice=note)
    except StoreError:
        return None
