"""The tables of DESIGN.md.

Documents hold their current fetch state (validators, open issue and its streak) so a crawl can
read everything it needs about a document in one row. Texts and raw bodies are stored compressed;
raw bodies once per distinct content (content-addressed by sha256).
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import zstandard
from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, UniqueConstraint, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware now: the store keeps every timestamp in UTC."""
    return datetime.now(UTC)


# Zstandard at its default level: on the crawl benchmark's pages, half the time of zlib's fastest
# level for a seventh fewer bytes, and a third of its time to read back. A crawl compresses every
# new page twice (text and raw body). The module's functions, unlike its (de)compressor objects,
# are safe to share between threads.
_ZSTD_LEVEL = 3
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # how a Zstandard frame begins; a zlib stream cannot


def compress(data: bytes) -> bytes:
    """A text or raw body as the store keeps it."""
    return zstandard.compress(data, _ZSTD_LEVEL)


def decompress(data: bytes) -> bytes:
    """What `compress` kept; stores written before Zstandard hold zlib streams, read as such."""
    return zstandard.decompress(data) if data.startswith(_ZSTD_MAGIC) else zlib.decompress(data)


class CompressedText(TypeDecorator[str]):
    """Text stored compressed: policy versions are long and mostly alike."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else compress(value.encode("utf-8"))

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> str | None:
        return None if value is None else decompress(value).decode("utf-8")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that comes back timezone-aware UTC on every backend, SQLite included."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store keeps timezone-aware UTC timestamps")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kwargs))


def service_slug(key: str) -> str:
    """The service half of a document key (`acme-messenger` of `acme-messenger/terms`): the
    service's slug, which `crawl --only`, the filters and subscriptions take as its name."""
    return key.partition("/")[0]


class Document(SQLModel, table=True):
    """A tracked page: its identity, its declaration, and its current fetch state."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    service: str = Field(index=True)
    document_type: str
    url: str
    declaration: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    first_seen: datetime = _when(nullable=False)
    last_seen: datetime = _when(nullable=False)
    last_checked: datetime | None = _when(nullable=True)
    last_changed: datetime | None = _when(nullable=True)
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    issue: str | None = None
    issue_detail: str | None = None
    issue_streak: int = 0
    issue_since: datetime | None = _when(nullable=True)
    # The declaration (URL, selectors, format, rendering) changed since the latest version was
    # read: the next text that differs from it may differ because of that (see `Change`).
    redeclared: bool = False


class DocumentAlias(SQLModel, table=True):
    """A key a document was known by before it was renamed (a service's rebranding, a type's
    new name, a typo fixed: the catalog's `formerly`; or migration 0017's new spelling): the
    addresses, commands and settings naming it go on finding the document."""

    __tablename__ = "document_alias"

    old_key: str = Field(primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    renamed_at: datetime = _when(nullable=False)


class Fetch(SQLModel, table=True):
    """One attempt to fetch a document, whatever came of it."""

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    at: datetime = _when(nullable=False)
    url: str
    status: int | None = None
    outcome: str  # unchanged | not-modified | changed | first | issue:<kind>
    detail: str | None = None
    elapsed_ms: int | None = None
    bytes: int | None = None
    etag: str | None = None
    last_modified: str | None = None


class Snapshot(SQLModel, table=True):
    """A raw body as fetched, stored once per distinct content."""

    sha256: str = Field(primary_key=True, max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    content_type: str | None = None
    created_at: datetime = _when(nullable=False)


class Version(SQLModel, table=True):
    """One distinct extracted text of a document, numbered in the order it was first seen.

    `text_sha256` says whether two texts are the same version; `fingerprint` is the diff
    engine's hash of the text's normal form, by which it recognises contents seen before. A
    document's first version gets it when a second is compared with it, and until then it is
    empty: a first crawl only checks each page's language, on a sample of its prose.
    """

    __table_args__ = (
        UniqueConstraint("document_id", "seq"),
        # The versions of a document reading as its latest: few, among all its versions.
        Index("ix_version_document_fingerprint", "document_id", "fingerprint"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    seq: int
    seen_at: datetime = _when(nullable=False)
    text_sha256: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    snapshot_sha256: str | None = Field(default=None, foreign_key="snapshot.sha256")
    text: str = Field(sa_column=Column(CompressedText, nullable=False))


class Change(SQLModel, table=True):
    """The step from one version to the next, with the diff engine's verdict on it."""

    __table_args__ = (
        Index("ix_change_detected_at", "detected_at"),
        Index("ix_change_queued", "queued"),  # the few not yet queued, among all ever found
        Index("ix_change_from_version_id", "from_version_id"),  # the change that left a version
        Index("ix_change_effective_date", "effective_date"),  # the few taking effect soon
        # Each document's latest meaningful change (`documents`, every timeline page's filters),
        # read from the index alone, not from every change's row (30,000: 240 -> 30 ms).
        Index("ix_change_document_meaningful", "document_id", "meaningful", "detected_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    from_version_id: int = Field(foreign_key="version.id")
    to_version_id: int = Field(foreign_key="version.id", unique=True)
    detected_at: datetime = _when(nullable=False)
    meaningful: bool = True
    reason: str | None = None
    severity: str | None = None
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    summary: str = ""
    added: int = 0
    removed: int = 0
    changed: int = 0
    matches: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    excerpts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    effective_date: date | None = None
    # The user accepted the new version's capture (`crawl --accept-capture`): judged as a change
    # however it shrank, and the next version is compared with it even if it looks broken.
    accepted: bool = False
    # The new version was the first read after the document's declaration changed: the new
    # selectors or URL, not the platform, may be what changed the text. Recorded and judged as
    # any change, but owed to no subscription (an upgrade of the bundled catalog that mends a
    # selector must not alert every user).
    redeclared: bool = False
    # When `policywatch rejudge` last gave it a verdict other than the one it was found with. A
    # change judged anew is owed to no subscription: it was found long ago, and alerting it
    # now, as news, would mislead; `rejudge` lists it instead.
    rejudged_at: datetime | None = _when(nullable=True)
    # The notifier has recorded the deliveries of it owed to the subscriptions it knew then (one
    # made since catches up on its own: `Subscription.caught_up`). Each `notify` asks only about
    # the changes not yet queued, not about every change ever found.
    queued: bool = False


DEFAULT_REMINDERS = (7, 1)  # days before a change takes effect, unless a subscription says
MAX_REMINDER = (
    3650  # days: ten years ahead; far more ran past the calendar, and every notify failed
)
DIGESTS = {"daily": timedelta(days=1), "weekly": timedelta(weeks=1)}  # a subscription's periods


class Subscription(SQLModel, table=True):
    """Who wants which changes, and where: one Apprise URL (a secret) and its filters.

    Empty filter lists match everything. `url` holds tokens and passwords: never show it as is.
    """

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    url: str
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    documents: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    min_severity: str = "medium"
    digest: str | None = None  # None: one message per change; "daily" or "weekly"
    # Days before a change's effective date to remind of it (empty: never), digest or not.
    reminders: list[int] = Field(
        default_factory=lambda: list(DEFAULT_REMINDERS),
        sa_column=Column(JSON, nullable=False, server_default=text("'[7, 1]'")),
    )
    created_at: datetime = _when(nullable=False)
    active: bool = True
    # The notifier has asked once about every change found since it was made: from then on it
    # hears of the changes not yet `queued`. Until then it may have been made (committed) after
    # a `notify` queued a change detected after its `created_at`, and that change is owed to it.
    caught_up: bool = False


# What a delivery's topic starts with: what it is owed for (see `Delivery`).
FETCH_ISSUE = "fetch-issue"
FETCH_RESUMED = "fetch-resumed"
REMINDER = "reminder"
WITHDRAWN = "withdrawn"
REINSTATED = "reinstated"
FOLLOW_UPS = (WITHDRAWN, REINSTATED)  # what a change's alert is followed up with, as its page flips
# A delivery's status.
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
SUPERSEDED = "superseded"  # a withdrawal or reinstatement the page overtook before it went
SKIPPED = "skipped"  # held for a paused subscription, and let go on resuming it: never sent


class Delivery(SQLModel, table=True):
    """One message owed to one subscription: a change, or a fetch problem and its resolution.

    `topic` names what is owed (`change:<id>`, `reminder:<change>:<days>`, `withdrawn:<change>`,
    `reinstated:<change>`, `fetch-issue:<document>:<since>`, `fetch-resumed:<document>:<since>`);
    it is unique per subscription, so nothing is owed twice.
    Status: `pending` -> `sending` (claimed, committed before the send) -> `sent`, or back to
    `pending` with a later `next_attempt_at`, or `failed` once the attempts are used up; a
    follow-up the page overtook is `superseded`, what a paused subscription let go `skipped`.
    `delivered_to` names the destinations of the subscription's URL (a mail's addresses, the
    URLs of several) that took the message, each as it did: retried, or taken over from a run
    killed while sending, it goes to the others only.
    """

    __table_args__ = (
        UniqueConstraint("change_id", "subscription_id"),
        UniqueConstraint("subscription_id", "topic"),
        Index("ix_delivery_status_next", "status", "next_attempt_at"),
        # A withdrawal looked up by its change's topic, among the follow-ups alone: an index of
        # every alert's topic let PostgreSQL, reckoning each topic owed to every subscription,
        # scan all deliveries ever made instead. Migration 0014 makes it partial on PostgreSQL
        # too: `postgresql_where` here would load PostgreSQL's dialect for every SQLite store.
        Index("ix_delivery_follow_up_topic", "topic", sqlite_where=text("change_id IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: int = Field(foreign_key="subscription.id", index=True)
    topic: str
    change_id: int | None = Field(default=None, foreign_key="change.id")
    document_id: int = Field(foreign_key="document.id")
    event: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _when(nullable=False)
    next_attempt_at: datetime = _when(nullable=False)
    claimed_at: datetime | None = _when(nullable=True)
    sent_at: datetime | None = _when(nullable=True)
    delivered_to: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False, server_default=text("'[]'")),
    )
