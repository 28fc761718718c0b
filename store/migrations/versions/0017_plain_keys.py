"""document keys spelled without accents

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:00:00.000000

Keys took each accented letter of a name for a word break (`Société Générale` made
`soci-t-g-n-rale/...`); they now drop the accents (`societe-generale/...`). A crawl looks its
documents up by key, so a store keeping the old keys would have started every such document
anew beside its history. This revision renames them, and the subscription filters and the
queued fetch-problem alerts naming them, with copies of both spellings as they stand at this
revision (a migration must not change when the catalog's does). A key the new spelling gives
another document already is kept, and said: the two documents' histories stay apart. The
schema is unchanged.
"""

import re
import unicodedata
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LETTERS = str.maketrans(
    {"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def _accented(text: str) -> str:
    """A name's slug before this revision."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _plain(text: str) -> str:
    """A name's slug from this revision on (`crawlers.declarations.slugify`)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


_document = sa.table(
    "document",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("service", sa.String),
    sa.column("document_type", sa.String),
)
_subscription = sa.table(
    "subscription",
    sa.column("id", sa.Integer),
    sa.column("services", sa.JSON),
    sa.column("documents", sa.JSON),
)
_delivery = sa.table(
    "delivery",
    sa.column("id", sa.Integer),
    sa.column("document_id", sa.Integer),
    sa.column("event", sa.JSON),
)


def _rekey(before: Callable[[str], str], after: Callable[[str], str]) -> list[str]:
    """Give each document keyed as `before` spells its names the key `after` spells, where the
    two differ, and the filters and queued alerts naming it too. Returns what was kept: a key
    whose new spelling another document holds already."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_document.c.id, _document.c.key, _document.c.service, _document.c.document_type)
    ).all()
    taken = {row.key for row in rows}
    renamed: dict[int, tuple[str, str]] = {}  # document id: its key before, and after
    kept: list[str] = []
    for row in rows:
        new = f"{after(row.service)}/{after(row.document_type)}"
        if row.key != f"{before(row.service)}/{before(row.document_type)}" or new == row.key:
            continue
        if new in taken:
            kept.append(
                f"kept the document key {row.key} of {row.service} ({row.document_type}) as it"
                f" was: its key in this release, {new}, is another document's already; their"
                " histories stay apart"
            )
            continue
        taken = (taken - {row.key}) | {new}
        renamed[row.id] = (row.key, new)
        connection.execute(_document.update().where(_document.c.id == row.id).values(key=new))
    if renamed:
        _refilter(dict(renamed.values()), {_service(key) for key in taken})
        _readdress(renamed)
    return kept


def _service(key: str) -> str:
    return key.partition("/")[0]


def _refilter(keys: dict[str, str], slugs: set[str]) -> None:
    """Subscriptions filtering on a renamed document, or on its service by slug, filter on the
    new spelling; an old slug some document still begins with (kept) stays beside it."""
    renamed_slugs = {_service(old): _service(new) for old, new in keys.items()}
    connection = op.get_bind()
    subscriptions = sa.select(
        _subscription.c.id, _subscription.c.services, _subscription.c.documents
    )
    for row in connection.execute(subscriptions).all():
        documents = [keys.get(key, key) for key in row.documents or []]
        services: list[str] = []
        for name in row.services or []:  # as typed: any case
            new = renamed_slugs.get(name.lower())
            spelled = [new] if new else []
            spelled += [name] if new is None or name.lower() in slugs else []
            services += [each for each in spelled if each not in services]
        if (documents, services) != (row.documents, row.services):
            connection.execute(
                _subscription.update()
                .where(_subscription.c.id == row.id)
                .values(documents=documents, services=services)
            )


def _readdress(renamed: dict[int, tuple[str, str]]) -> None:
    """Alerts of a fetch problem name their document's key (`catalog preview KEY`): those of a
    renamed document name its new one."""
    connection = op.get_bind()
    events = sa.select(_delivery.c.id, _delivery.c.document_id, _delivery.c.event).where(
        _delivery.c.document_id.in_(list(renamed))
    )
    for row in connection.execute(events).all():
        old, new = renamed[row.document_id]
        if (row.event or {}).get("key") == old:
            event = {**row.event, "key": new}
            connection.execute(
                _delivery.update().where(_delivery.c.id == row.id).values(event=event)
            )


def upgrade() -> None:
    context.config.attributes.setdefault("notes", []).extend(_rekey(_accented, _plain))


def downgrade() -> None:
    _rekey(_plain, _accented)
