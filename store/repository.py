"""Writing what a crawl or an import learns: documents, fetch attempts, versions, changes.

Every outcome of one fetch is written in one transaction that first locks the document, so two
crawls running at once never record the same version twice, and a crash leaves nothing half-done.
The store never judges a change itself: the caller passes the diff engine's `assess`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, wraps
from typing import Any, NamedTuple, ParamSpec, Protocol, TypeVar

from sqlalchemy import Connection, Engine, Row, bindparam, insert, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, col, select

from diffengine import Assessment, text_fingerprint
from store.db import dialect_insert, in_batches, writer
from store.models import Change, Document, Fetch, Snapshot, Version, compress, utcnow

HISTORY_DEPTH = 30  # distinct earlier texts the judge searches for a page's variants
TEXTS_KEPT = HISTORY_DEPTH + 2  # a document's history and baseline, read once for all its versions


class Judge(Protocol):
    """The diff engine's `assess`, with the caller's rules bound: the store gives it what the
    document's history says, so that a crawl and an import judge as bench/detection.py measures.

    `seen`: the fingerprints of every earlier version; `history`: the texts of the last
    `HISTORY_DEPTH` distinct ones, newest first (a page flipping between variants); `baseline`:
    the last version whose change was not an anomaly, when it is not the latest (what comes after
    a broken capture is compared with it); `accepted`: the user accepted the new capture;
    `old_accepted`: the latest version was such a capture; `today`: the day the new text was
    seen, which dates the change (an imported version of 2020 is judged as of 2020: its
    effective date and days left are counted from then, not from the day of the import).
    """

    def __call__(
        self,
        old: str,
        new: str,
        seen: Collection[str],
        /,
        *,
        baseline: str | None = ...,
        history: Sequence[str] = ...,
        accepted: bool = ...,
        old_accepted: bool = ...,
        today: date = ...,
    ) -> Assessment: ...


# Given the latest version's text (None for a first capture) and the new text: the kind and
# description of what makes the capture unsound, or None to record it.
Vet = Callable[[str | None, str], tuple[str, str] | None]


@dataclass(frozen=True)
class DocumentInfo:
    """What the store needs to know of a catalog entry."""

    key: str
    service: str
    document_type: str
    url: str
    declaration: dict[str, Any] = field(default_factory=dict)
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class FetchState:
    """What a crawl needs before fetching: the validators and body hash of the last fetch."""

    etag: str | None
    last_modified: str | None
    body_sha256: str | None


@dataclass(frozen=True)
class Attempt:
    """One fetch attempt as the crawler saw it."""

    url: str
    at: datetime = field(default_factory=utcnow)
    status: int | None = None
    elapsed_ms: int | None = None
    bytes: int | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Check:
    """A fetch that found the document as last recorded: a 304 (`not_modified`), or a 200 with
    the body last recorded."""

    key: str
    attempt: Attempt
    not_modified: bool


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording a text: `first`, `changed`, `unchanged` or `failed` (refused by
    the vetting: `detail` says why), and the change's id."""

    outcome: str
    change_id: int | None = None
    assessment: Assessment | None = None
    detail: str = ""


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def text_sha256(text: str) -> str:
    """The digest a version's text is known by (`Version.text_sha256`)."""
    return body_sha256(text.encode("utf-8"))


def _insert(connection: Connection, table: type[SQLModel]) -> Any:
    """An INSERT of the connection's dialect."""
    return dialect_insert(connection.dialect.name)(table)


def _healthy_values(attempt: Attempt) -> dict[str, Any]:
    """A document's fetch state after a sound fetch: its validators, no open issue, and a text
    read under its current declaration."""
    return {
        "last_checked": attempt.at,
        "redeclared": False,
        "etag": attempt.etag,
        "last_modified": attempt.last_modified,
        "issue": None,
        "issue_detail": None,
        "issue_since": None,
        "issue_streak": 0,
    }


# The statements of the per-page paths, built once (SQLAlchemy then skips rebuilding and
# re-hashing them for every page): the document is named by a bound parameter, and the UPDATE's
# SET clause is made of the parameters' other keys.
_FETCH_STATES = select(
    Document.key, Document.etag, Document.last_modified, Document.body_sha256
).where(col(Document.key).in_(bindparam("keys", expanding=True)))
_MARK_HEALTHY = (
    update(Document)
    .where(col(Document.key) == bindparam("document_key"))
    .returning(col(Document.id))
)
_INSERT_FETCH = insert(Fetch)  # every outcome's log line
# record_text's: a new version is the second commonest write, and ORM objects (loading the
# document, flushing the unit of work) cost it more than its statements do.
_LOCK = (
    select(col(Document.id), col(Document.redeclared))
    .where(col(Document.key) == bindparam("document_key"))
    .with_for_update()
)
_LATEST = (
    select(Version.id, Version.seq, Version.text_sha256, Version.text)
    .where(col(Version.document_id) == bindparam("document_id"))
    .order_by(col(Version.seq).desc())
    .limit(1)
)
_LATEST_TEXT = (
    select(col(Version.text))
    .join(Document, col(Document.id) == col(Version.document_id))
    .where(col(Document.key) == bindparam("key"))
    .order_by(col(Version.seq).desc())
    .limit(1)
)
_UPDATE_DOCUMENT = update(Document).where(col(Document.id) == bindparam("document_id"))
_INSERT_VERSION = insert(Version).returning(col(Version.id))
_SET_FINGERPRINT = update(Version).where(col(Version.id) == bindparam("version_id"))
_INSERT_CHANGE = insert(Change).returning(col(Change.id))
# On PostgreSQL, held from a change's insert to its commit, so that change ids are handed out in
# the order they commit: a poller asking for the changes `after` the last id it was given
# (`/api/changes?after=`) would otherwise see a worker's later id committed first, move past it,
# and never be given the earlier one committed a moment later. Workers record changes seldom
# (most pages are unchanged): they wait on it for an insert and a commit, no longer.
_CHANGE_ORDER_LOCK = sql_text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=0x706F6C6964)
# The judge's view of the history, newest first: each version's fingerprint and its change's
# verdict (none for the first version).
_PAST = (
    select(Version.id, Version.fingerprint, Change.reason, Change.accepted)
    .outerjoin(Change, col(Change.to_version_id) == col(Version.id))
    .where(col(Version.document_id) == bindparam("document_id"))
    .order_by(col(Version.seq).desc())
)
_TEXTS = select(Version.id, Version.text).where(
    col(Version.id).in_(bindparam("ids", expanding=True))
)


@dataclass(frozen=True)
class Past:
    """What the judge is told of a document's earlier versions (see `Judge`)."""

    seen: set[str]
    history: list[str]
    baseline: str | None
    old_accepted: bool


class Earlier(NamedTuple):
    """An earlier version as the judge's view of the history needs it: its fingerprint, and the
    reason and acceptance of the change that made it (None and False for a first version)."""

    id: int
    fingerprint: str
    reason: str | None
    accepted: bool


def past_of(earlier: Sequence[Earlier], texts: Callable[[list[int]], Mapping[int, str]]) -> Past:
    """What the judge of the version after `earlier` (newest first) is told of them; `texts`
    gives the texts of the versions it names. One reckoning for a crawl, which reads the few
    texts it needs from the store, and for `rejudge`, which holds a document's every text."""
    recent: dict[str, int] = {}  # fingerprint -> its newest version's id, newest first
    for version in earlier:
        if len(recent) == HISTORY_DEPTH:
            break
        recent.setdefault(version.fingerprint, version.id)
    sound = next(version.id for version in earlier if version.reason != "anomaly")  # first: sound
    found = texts([*recent.values(), sound])
    return Past(
        seen={version.fingerprint for version in earlier},
        history=[found[version_id] for version_id in recent.values()],
        baseline=found[sound] if sound != earlier[0].id else None,
        old_accepted=earlier[0].accepted,
    )


def _fetch_values(
    document_id: int, attempt: Attempt, outcome: str, detail: str | None = None
) -> dict[str, Any]:
    """The `fetch` row that logs `attempt`."""
    return {
        "document_id": document_id,
        "at": attempt.at,
        "url": attempt.url,
        "status": attempt.status,
        "outcome": outcome,
        "detail": detail,
        "elapsed_ms": attempt.elapsed_ms,
        "bytes": attempt.bytes,
        "etag": attempt.etag,
        "last_modified": attempt.last_modified,
    }


P = ParamSpec("P")
R = TypeVar("R")


def _reconnecting(write: Callable[P, R]) -> Callable[P, R]:
    """`write`, one transaction, run once more on a new connection when its own was lost midway
    (PostgreSQL restarted, a connection cut by a proxy or an administrator): it was rolled back,
    and the pool has replaced the connection, yet the fetch failed its document, and stopped a
    local crawl whole. Lost as it commits, the write may be in already: run again, it finds the
    text as recorded, and logs the fetch twice, nothing worse."""

    @wraps(write)
    def written(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return write(*args, **kwargs)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        return write(*args, **kwargs)

    return written


class Repository:
    """The write side of the store, shared by the crawl pipeline and `import-history`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)
        self._texts: OrderedDict[int, str] = OrderedDict()  # see _texts_of

    def sync_documents(
        self, documents: Sequence[DocumentInfo], at: datetime | None = None, *, refresh: bool = True
    ) -> None:
        """Insert the documents not yet known and, with `refresh`, the declarations of the others.

        One statement for all of them (an executemany), as a crawl syncs its whole selection; a
        key given twice counts once, the last one (PostgreSQL refuses one upsert touching a row
        twice). An import does not refresh: a crawled document keeps the URL it is fetched from.
        """
        if not documents:
            return
        now = at or utcnow()
        latest = {info.key: info for info in documents}
        rows = [
            {
                "key": info.key,
                "service": info.service,
                "document_type": info.document_type,
                "url": info.url,
                "declaration": info.declaration,
                "tags": list(info.tags),
                "first_seen": now,
                "last_seen": now,
                "issue_streak": 0,
            }
            for info in latest.values()
        ]
        declared = ("service", "document_type", "url", "declaration", "tags", "last_seen")
        with Session(self._writer) as session, session.begin():
            insert = _insert(session.connection(), Document)
            upsert = (
                insert.on_conflict_do_update(
                    index_elements=["key"], set_={name: insert.excluded[name] for name in declared}
                )
                if refresh
                else insert.on_conflict_do_nothing(index_elements=["key"])
            )
            session.execute(upsert, rows)

    def mark_redeclared(self, keys: Sequence[str]) -> None:
        """`keys` are read under a declaration (URL, selectors) other than their latest version's.

        Their validators and body hash are dropped, so that their next fetch is a full one whose
        body is read again, and the change that fetch may find is marked `redeclared` (see
        `Change`). Stored, not just remembered by one crawl: an interrupted crawl must not leave
        the next one trusting the validators, nor its change unmarked.
        """
        if not keys:
            return
        marked = {"etag": None, "last_modified": None, "body_sha256": None, "redeclared": True}
        with self._writer.begin() as connection:
            connection.execute(
                update(Document).where(col(Document.key).in_(list(keys))).values(marked)
            )

    def fetch_states(self, keys: Sequence[str]) -> dict[str, FetchState]:
        """The validators to send with the next request of each key (all None when never
        fetched): one query per 500 documents rather than one per document."""
        states = dict.fromkeys(keys, FetchState(None, None, None))
        with self.engine.connect() as connection:
            for batch in in_batches(keys):
                for key, *state in connection.execute(_FETCH_STATES, {"keys": list(batch)}):
                    states[key] = FetchState(*state)
        return states

    @_reconnecting
    def record_checks(self, checks: Sequence[Check]) -> None:
        """Checks that found their documents as last recorded, written in one transaction.

        The commonest write of a crawl (a 304 recrawl is nothing else), so it is two statements
        a check and no ORM objects; the UPDATE locks the document's row as `_lock` does. One
        transaction for many checks because its commit, not the statements, is most of the cost:
        a crawl batches them (crawlers/checks.py). Rows are locked in the order of their keys, so
        that two crawls writing checks of the same documents at once wait for each other on
        PostgreSQL instead of deadlocking.
        """
        with self._writer.begin() as connection:
            for check in sorted(checks, key=lambda check: check.key):
                healthy = {"document_key": check.key, **_healthy_values(check.attempt)}
                document_id = connection.execute(_MARK_HEALTHY, healthy).scalar()
                if document_id is None:
                    raise KeyError(f"unknown document {check.key}: sync_documents first")
                outcome = "not-modified" if check.not_modified else "unchanged"
                fetch = _fetch_values(document_id, check.attempt, outcome)
                connection.execute(_INSERT_FETCH, fetch)

    @_reconnecting
    def record_issue(self, key: str, attempt: Attempt, kind: str, detail: str) -> int:
        """A failed fetch: logged, and the document's issue streak grows. Returns the streak."""
        with Session(self._writer) as session, session.begin():
            document = self._lock(session, key)
            return self._issue(session, document, attempt, kind, detail)

    def latest_text(self, key: str) -> str | None:
        """The text last recorded of `key`, None before its first: what a crawl compares a
        fetch with before it records it (crawlers/steady.py)."""
        with self.engine.connect() as connection:
            return connection.execute(_LATEST_TEXT, {"key": key}).scalar()

    @_reconnecting
    def record_text(
        self,
        key: str,
        attempt: Attempt,
        text: str,
        judge: Judge,
        *,
        vet: Vet | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        imported: bool = False,
        accepted: bool = False,
    ) -> Recorded:
        """A fetched or imported text: a new version (and change) unless it equals the latest.

        `vet` sees the text before anything is written, under the document's lock: a capture it
        refuses becomes a fetch issue and never a version (the body is not remembered either, so
        the same body is vetted again next time and the issue's streak grows). An `imported` text
        leaves the document's fetch state (last check, validators, open issue) as it was: it was
        read from disk, not fetched, and the next crawl must not take it for a fetch. An
        `accepted` text is one the user vouched for (`crawl --accept-capture`): the judge is told,
        and so is the judge of the next version.
        """
        digest = text_sha256(text)
        with Session(self._writer) as session, session.begin():
            connection = session.connection()  # statements, not ORM objects: see _LOCK
            locked = connection.execute(_LOCK, {"document_key": key}).first()
            if locked is None:
                raise KeyError(f"unknown document {key}: sync_documents first")
            document_id = locked.id
            latest = connection.execute(_LATEST, {"document_id": document_id}).first()
            unchanged = latest is not None and latest.text_sha256 == digest
            problem = vet(latest.text if latest else None, text) if vet and not unchanged else None
            if problem:
                kind, detail = problem
                document = session.get_one(Document, document_id)
                self._issue(session, document, attempt, kind, detail)
                return Recorded("failed", detail=f"{kind}: {detail}")
            state = {} if imported else _healthy_values(attempt)
            if body is not None:
                state["body_sha256"] = body_sha256(body)
            if unchanged:
                _update_and_log(connection, document_id, state, attempt, "unchanged")
                return Recorded("unchanged")
            past = self._past(connection, document_id, latest) if latest else None
            if body is not None:
                self._snapshot(connection, body, state["body_sha256"], content_type, attempt.at)
            version = {
                "document_id": document_id,
                "seq": latest.seq + 1 if latest else 1,
                "seen_at": attempt.at,
                "text_sha256": digest,
                "fingerprint": text_fingerprint(text) if latest else "",  # see _fingerprints
                "snapshot_sha256": state.get("body_sha256"),
                "text": text,
            }
            version_id = connection.execute(_INSERT_VERSION, version).scalar_one()
            state["last_changed"] = attempt.at
            _update_and_log(
                connection, document_id, state, attempt, "changed" if latest else "first"
            )
            if latest is None or past is None:
                return Recorded("first")
            assessment = judge(
                latest.text,
                text,
                past.seen,
                baseline=past.baseline,
                history=past.history,
                accepted=accepted,
                old_accepted=past.old_accepted,
                today=attempt.at.date(),
            )
            change = _change_values(document_id, latest.id, version_id, attempt.at, assessment)
            change["accepted"] = accepted
            change["redeclared"] = locked.redeclared and not imported
            if connection.dialect.name == "postgresql":
                connection.execute(_CHANGE_ORDER_LOCK)
            change_id = connection.execute(_INSERT_CHANGE, change).scalar_one()
            return Recorded("changed", change_id, assessment)

    def _past(self, connection: Connection, document_id: int, latest: Row[Any]) -> Past:
        """What the judge of a new version is told of the earlier ones (see `Judge`): read only
        when a text differs from the latest, the rare path of a crawl.

        A first version is recorded without a fingerprint (see `Version`), and fingerprinted
        only now, when a second comes and the judge normalizes it anyway.
        """
        rows = connection.execute(_PAST, {"document_id": document_id}).all()
        earlier = [Earlier(row.id, row.fingerprint, row.reason, bool(row.accepted)) for row in rows]
        if earlier[0].fingerprint == "":  # `latest`'s: only a first version waits for it
            earlier[0] = earlier[0]._replace(fingerprint=text_fingerprint(latest.text))
            values = {"version_id": latest.id, "fingerprint": earlier[0].fingerprint}
            connection.execute(_SET_FINGERPRINT, values)

        return past_of(earlier, lambda ids: self._texts_of(connection, ids))

    def _texts_of(self, connection: Connection, ids: list[int]) -> dict[int, str]:
        """The texts of the versions `ids`, those read lately kept (`TEXTS_KEPT`): a version
        never changes, and an import replaying a document's versions one after another asked
        for each earlier text again at every later one (reading and decompressing them was a
        tenth of an import). Not shared between threads: a crawl records from one."""
        missing = [version_id for version_id in ids if version_id not in self._texts]
        if missing:
            for row in connection.execute(_TEXTS, {"ids": missing}):
                self._texts[row.id] = row.text
        for version_id in ids:
            self._texts.move_to_end(version_id)
        while len(self._texts) > TEXTS_KEPT:
            self._texts.popitem(last=False)
        return {version_id: self._texts[version_id] for version_id in ids}

    @staticmethod
    def _lock(session: Session, key: str) -> Document:
        document = session.exec(
            select(Document).where(Document.key == key).with_for_update()
        ).first()
        if document is None:
            raise KeyError(f"unknown document {key}: sync_documents first")
        return document

    def _issue(
        self, session: Session, document: Document, attempt: Attempt, kind: str, detail: str
    ) -> int:
        self._log(session, document, attempt, f"issue:{kind}", detail)
        document.last_checked = attempt.at
        if document.issue != kind:
            document.issue, document.issue_since, document.issue_streak = kind, attempt.at, 0
        document.issue_detail = detail
        document.issue_streak += 1
        session.add(document)
        return document.issue_streak

    @staticmethod
    def _log(
        session: Session,
        document: Document,
        attempt: Attempt,
        outcome: str,
        detail: str | None = None,
    ) -> None:
        session.add(document)
        session.add(Fetch(**_fetch_values(document.id, attempt, outcome, detail)))  # type: ignore[arg-type]

    @staticmethod
    def _snapshot(
        connection: Connection, body: bytes, digest: str, content_type: str | None, at: datetime
    ) -> None:
        """The raw body, stored once per distinct content, at its address `digest` (sha256)."""
        row = {
            "sha256": digest,
            "content": compress(body),
            "size": len(body),
            "content_type": content_type,
            "created_at": at,
        }
        connection.execute(_insert_snapshot(connection.dialect.name), row)


@cache
def _insert_snapshot(dialect: str) -> Any:
    """Built once per dialect, as the statements above; a body already stored (same sha256) is
    stored once."""
    return dialect_insert(dialect)(Snapshot).on_conflict_do_nothing()


def _change_values(
    document_id: int, before: int, after: int | None, at: datetime, assessment: Assessment
) -> dict[str, Any]:
    """The `change` row from version `before` to version `after` (ids)."""
    return {
        "document_id": document_id,
        "from_version_id": before,
        "to_version_id": after,
        "detected_at": at,
        **verdict_values(assessment),
    }


def verdict_values(assessment: Assessment) -> dict[str, Any]:
    """The columns of a `change` row that hold the judge's verdict."""
    return {
        "meaningful": assessment.meaningful,
        "reason": assessment.reason,
        "severity": assessment.severity,
        "categories": list(assessment.categories),
        "summary": assessment.summary,
        "added": assessment.added,
        "removed": assessment.removed,
        "changed": assessment.changed,
        "matches": [dataclasses.asdict(match) for match in assessment.matches],
        "excerpts": [dataclasses.asdict(excerpt) for excerpt in assessment.excerpts],
        "effective_date": assessment.effective_date,
    }


def _update_and_log(
    connection: Connection, document_id: int, state: dict[str, Any], attempt: Attempt, outcome: str
) -> None:
    """The document's new fetch state, and the `fetch` row that logs the attempt."""
    if state:  # an imported repeat changes nothing of the document
        connection.execute(_UPDATE_DOCUMENT, {"document_id": document_id, **state})
    connection.execute(_INSERT_FETCH, _fetch_values(document_id, attempt, outcome))
