"""Documents whose key changed: renamed in place, and found again by the keys they had.

A key is spelled from the catalog's names (`service-slug/type-slug`), and names change: a
service rebrands (Twitter to X), a document type is renamed, a typo is fixed. A crawl looks its
documents up by key, so a new key started an empty history beside the old one, and every
address, filter and command naming the old key found nothing. A declaration says the keys its
document had (`formerly`); the crawl renames the document stored under one of them before
anything else reads the store, and the old key is kept in `document_alias`, pointing at the
document whatever it is called later.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, delete, select, update
from sqlmodel import col

from store.db import dialect_insert, writer
from store.models import Delivery, Document, DocumentAlias, Subscription, service_slug, utcnow


@dataclass(frozen=True)
class Renames:
    """What `rename_documents` did: the (old, new) keys renamed, and those it left because the
    store holds a document under each (crawled under the new key before `formerly` said whose
    history it continues): two histories are never merged unasked."""

    renamed: list[tuple[str, str]] = field(default_factory=list)
    clashes: list[tuple[str, str]] = field(default_factory=list)


def rename_documents(engine: Engine, formerly: Mapping[str, Sequence[str]]) -> Renames:
    """Give each document stored under an old key of `formerly` (new key: its old keys) its
    new key, with the subscription filters and queued alerts naming it, in one transaction.
    A document keeps its id, so its versions, changes, fetches and deliveries follow it."""
    renames = Renames()
    with writer(engine).begin() as connection:
        for new, olds in formerly.items():
            for old in olds:
                _rename(connection, old, new, renames)
        if renames.renamed:
            _refilter(connection, dict(renames.renamed))
    return renames


def _rename(connection: Connection, old: str, new: str, renames: Renames) -> None:
    stored = _ids(connection, [old, new])
    if old not in stored:  # renamed already, or never crawled
        return
    if new in stored:
        renames.clashes.append((old, new))
        return
    document_id = stored[old]
    connection.execute(update(Document).where(col(Document.id) == document_id).values(key=new))
    insert = dialect_insert(connection.dialect.name)(DocumentAlias)
    alias = {"old_key": old, "document_id": document_id, "renamed_at": utcnow()}
    connection.execute(
        insert.values(alias).on_conflict_do_update(index_elements=["old_key"], set_=alias)
    )
    # Renamed back to a key it had: that key is its own again, no alias.
    connection.execute(delete(DocumentAlias).where(col(DocumentAlias.old_key) == new))
    _readdress(connection, document_id, old, new)
    renames.renamed.append((old, new))


def _ids(connection: Connection, keys: list[str]) -> dict[str, int]:
    query = select(col(Document.key), col(Document.id)).where(col(Document.key).in_(keys))
    return dict(connection.execute(query).all())  # type: ignore[arg-type]  # stored: an id


def _refilter(connection: Connection, keys: dict[str, str]) -> None:
    """Subscriptions filtering on a renamed document follow it; one filtering on its service
    by an old slug filters on the new slug, and on the old one too while some document of
    the store still begins with it (a service whose other documents are not renamed yet)."""
    slugs = {service_slug(old): service_slug(new) for old, new in keys.items()}
    stored = {service_slug(key) for key in connection.execute(select(col(Document.key))).scalars()}
    query = select(col(Subscription.id), col(Subscription.services), col(Subscription.documents))
    for row in connection.execute(query).all():
        documents = [keys.get(key.lower(), key) for key in row.documents or []]
        services: list[str] = []
        for name in row.services or []:  # as typed: any case
            new = slugs.get(name.lower())
            spelled = [new] if new else []
            spelled += [name] if new is None or name.lower() in stored else []
            services += [each for each in spelled if each not in services]
        if (documents, services) != (row.documents, row.services):
            connection.execute(
                update(Subscription)
                .where(col(Subscription.id) == row.id)
                .values(documents=documents, services=services)
            )


def _readdress(connection: Connection, document_id: int, old: str, new: str) -> None:
    """Alerts of a fetch problem name their document's key (`catalog preview KEY`): those
    still queued of a renamed document name its new one."""
    query = select(col(Delivery.id), col(Delivery.event)).where(
        col(Delivery.document_id) == document_id
    )
    for delivery_id, event in connection.execute(query).all():
        if (event or {}).get("key") == old:
            connection.execute(
                update(Delivery)
                .where(col(Delivery.id) == delivery_id)
                .values(event={**event, "key": new})
            )


def current_key(engine: Engine, key: str) -> str | None:
    """The key now of the document once known as `key` (any case); None when `key` is no old
    key, or is a document's own again (a new document declared under it)."""
    key = key.lower()
    query = (
        select(col(Document.key))
        .join(DocumentAlias, col(DocumentAlias.document_id) == col(Document.id))
        .where(col(DocumentAlias.old_key) == key)
    )
    held = select(col(Document.id)).where(col(Document.key) == key)
    with engine.connect() as connection:
        now = connection.execute(query).scalar_one_or_none()  # mostly none: one query
        return None if now is None or connection.execute(held).first() else now


def renamed_service(slug: str, renames: Mapping[str, str], keys: Iterable[str]) -> str | None:
    """The slug of the one service that the documents keyed `slug/…` became, by `renames` (old
    key: key now); None while some key of `keys` (those of the documents there are) is still of
    `slug`, or when they became several services' (which one `slug` meant is no guess to make).
    The rule for the catalog's `formerly` and for the store's memory of renames alike."""
    if any(service_slug(key) == slug for key in keys):
        return None
    became = {service_slug(now) for old, now in renames.items() if service_slug(old) == slug}
    return became.pop() if len(became) == 1 else None


def current_service(engine: Engine, slug: str) -> str | None:
    """The slug now of the service whose every stored document was renamed from a key
    `slug/…` (`twitter`: `x`), as `renamed_service` says; None when `slug` is no such name."""
    prefix = f"{slug.lower()}/"
    renamed = (
        select(col(DocumentAlias.old_key), col(Document.key))
        .join(Document, col(DocumentAlias.document_id) == col(Document.id))
        .where(col(DocumentAlias.old_key).startswith(prefix, autoescape=True))
    )
    held = select(col(Document.key)).where(col(Document.key).startswith(prefix, autoescape=True))
    with engine.connect() as connection:
        renames = dict(connection.execute(renamed).all())
        if not renames:  # mostly: one query
            return None
        return renamed_service(slug.lower(), renames, connection.execute(held).scalars())
