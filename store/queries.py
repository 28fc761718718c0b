"""Reading the history back: the rows behind `documents`, `history` and `show`.

The dataclasses here are the stable shape of `--json` output (and of the web API later): their
field names are documented in the README and must not change lightly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    Engine,
    ScalarSelect,
    Select,
    String,
    and_,
    cast,
    func,
    or_,
)
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from store.db import in_batches
from store.deadlines import dated_changes
from store.latest import newest_versions
from store.models import Change, Document, Fetch, Version, service_slug

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str | None) -> int:
    """Position in SEVERITIES; no severity yet (diff engine pending) counts as `info`."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


_PLAIN = (str, int, float, type(None))


def _jsonable(value: Any) -> Any:
    """`value` as plain JSON data: dates in ISO form, dataclasses (a nested `FetchIssue`) as
    dicts of their fields. Walked once, where `dataclasses.asdict` deep-copied every list and
    dict of the stored JSON first: two thirds of `/api/changes` building 1,000 rows."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: _jsonable(getattr(value, name)) for name in _field_names(type(value))}
    return value


@cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))


class JsonRow:
    """A row that turns into plain JSON data with ISO dates."""

    def to_json(self) -> dict[str, Any]:
        json_data: dict[str, Any] = _jsonable(self)
        return json_data


@dataclass(frozen=True)
class FetchIssue(JsonRow):
    kind: str
    detail: str | None
    streak: int
    since: datetime | None


@dataclass(frozen=True)
class DocumentRow(JsonRow):
    key: str
    service: str
    document_type: str
    url: str
    versions: int
    last_checked: datetime | None
    last_changed: datetime | None  # any change, noise included: a flapping page's latest flap
    issue: FetchIssue | None
    # The latest change judged meaningful: what a reviewer asks "when did it last change?" of.
    last_meaningful_change: datetime | None


@dataclass(frozen=True)
class ChangeRow(JsonRow):
    id: int
    key: str
    service: str
    document_type: str
    url: str
    detected_at: datetime
    from_version: int
    to_version: int
    meaningful: bool
    reason: str | None
    severity: str | None
    categories: list[str]
    summary: str
    added: int
    removed: int
    changed: int
    matches: list[dict[str, Any]]
    excerpts: list[dict[str, Any]]
    effective_date: date | None
    redeclared: bool  # read right after the declaration changed: see `Change.redeclared`
    rejudged_at: datetime | None  # when `rejudge` last gave it another verdict

    def matched_sentences(self) -> list[MatchedSentence]:
        """Each sentence the rules caught, once, most severe first: a clause caught by three
        rules is shown as one clause with three rules, not as the clause three times."""
        caught: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for match in self.matches:
            caught.setdefault(_sentence_key(match), []).append(match)
        sentences = [
            MatchedSentence(text, _side(found), tuple(found), _before(found))
            for (text, _), found in caught.items()
        ]
        return sorted(sentences, key=lambda sentence: -severity_rank(sentence.severity))


def _sentence_key(match: dict[str, Any]) -> tuple[str, str]:
    """One rewording is one sentence, whichever side its rules name: a rule reading the words
    it gained ("at any time and without notice") says `added`, another reading the sentence
    `changed`, and alerts quoted it twice, each time with its old wording."""
    return match["sentence"], match.get("before") or match.get("side", "")


def _side(matches: list[dict[str, Any]]) -> str:
    """A reworded sentence is `changed`, though some of its rules read it as words added."""
    sides = [str(match.get("side", "")) for match in matches]
    return "changed" if "changed" in sides else sides[0]


def _before(matches: list[dict[str, Any]]) -> str:
    """The old wording of a reworded sentence, as its matches keep it (changes recorded before
    matches kept it have none)."""
    return next((str(match["before"]) for match in matches if match.get("before")), "")


@dataclass(frozen=True)
class MatchedSentence:
    """A sentence with every rule match on it (`matches`: the stored match objects), and its
    old wording when it was reworded (`before`; "" for a sentence added or removed)."""

    sentence: str
    side: str
    matches: tuple[dict[str, Any], ...]
    before: str = ""

    @property
    def severity(self) -> str:
        """The worst severity of its matches."""
        return max((match.get("severity") or "info" for match in self.matches), key=severity_rank)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(match["category"] for match in self.matches))

    @property
    def rule_ids(self) -> list[str]:
        return [match["rule_id"] for match in self.matches]


@dataclass(frozen=True)
class LastCheck:
    """A document's last fetch attempt (None: never), the declaration it was made with, and the
    kind of its open fetch issue with the number of failed attempts in a row, if it has one."""

    at: datetime | None
    declaration: dict[str, Any]
    issue: str | None = None
    streak: int = 0


@dataclass(frozen=True)
class Skipped(JsonRow):
    """A version passed over as a broken capture in judging a later change: the change that
    made it (judged an anomaly), its store id and its number in the document's history."""

    change_id: int
    version: int
    seq: int


@dataclass(frozen=True)
class ChangeDetail:
    """A change with the two texts its verdict compared, their numbers in the document's
    history (`seq`, by which the web page links them) and the store's id of the old one, for
    display. After broken captures the old text is the last sound version's, not the change's
    `from_version`: `skipped` lists the captures between, oldest first (usually none)."""

    change: ChangeRow
    old_text: str
    new_text: str
    old_seq: int
    new_seq: int
    old_version: int
    skipped: list[Skipped]


def list_documents(engine: Engine) -> list[DocumentRow]:
    """Every tracked document with its version count and current fetch health, by key."""
    # Versions are numbered from 1 without a gap (`seq`): the last number is the count, read
    # from the index on (document, seq) where counting read every version ever recorded.
    versions = (
        sa_select(func.max(col(Version.seq)))
        .where(col(Version.document_id) == col(Document.id))
        .scalar_subquery()
    )
    query = select(
        Document, func.coalesce(versions, 0), _last_meaningful_of(col(Document.id))
    ).order_by(Document.key)
    with Session(engine) as session:
        return [_document_row(*found) for found in session.exec(query).all()]


def _last_meaningful_of(document_id: Any) -> ScalarSelect[datetime]:
    """When the latest meaningful change of document `document_id` (an id, or a column of
    them) was detected: computed from the changes, so that `rejudge` moves it, where
    `Document.last_changed` counts every flap of the page. One document at a time, from the
    end of its range of the index on (document, meaningful, detected_at): grouping them all
    read the whole index (30,000 changes: 8 ms)."""
    return (
        sa_select(func.max(col(Change.detected_at)))
        .where(col(Change.document_id) == document_id, col(Change.meaningful).is_(True))
        .scalar_subquery()
    )


def last_meaningful_ids(engine: Engine, key: str | None = None) -> dict[str, int]:
    """The id of each document's latest meaningful change (the one `last_meaningful_change`
    dates; of the document `key` alone, when given), by key; a document with none is left
    out. What the web pages link that date to. One document at a time, from the end of its
    range of the index on (document, meaningful, detected_at), as `_last_meaningful_of`."""
    latest = (
        sa_select(col(Change.id))
        .where(col(Change.document_id) == col(Document.id), col(Change.meaningful).is_(True))
        .order_by(col(Change.detected_at).desc(), col(Change.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    query = sa_select(col(Document.key), latest)
    if key is not None:
        query = query.where(col(Document.key) == key.lower())
    with engine.connect() as connection:
        return {found: change for found, change in connection.execute(query) if change}


@dataclass(frozen=True)
class DocumentName:
    """What names a tracked document in a filter's choices."""

    key: str
    service: str
    document_type: str


def document_names(engine: Engine) -> list[DocumentName]:
    """Every tracked document's key, service and type, by key: what the timeline's filters
    offer, without the counts and dates of `list_documents` that every page then paid for."""
    query = sa_select(
        col(Document.key), col(Document.service), col(Document.document_type)
    ).order_by(col(Document.key))
    with engine.connect() as connection:
        return [DocumentName(*row) for row in connection.execute(query)]


def last_checks(engine: Engine, keys: Collection[str]) -> dict[str, LastCheck]:
    """The last attempt of each of `keys` that the store knows, for deciding what is due."""
    # Columns, not documents: building a thousand ORM objects tripled its time (6 -> 17 ms).
    # sqlmodel's `select` is typed for four columns at most; SQLAlchemy's takes any number.
    query = sa_select(
        col(Document.key),
        col(Document.last_checked),
        col(Document.declaration),
        col(Document.issue),
        col(Document.issue_streak),
    ).where(col(Document.key).in_(list(keys)))
    with engine.connect() as connection:
        return {
            key: LastCheck(at, dict(declaration or {}), issue, streak)
            for key, at, declaration, issue, streak in connection.execute(query)
        }


def _document_row(
    document: Document, versions: int, last_meaningful: datetime | None
) -> DocumentRow:
    issue = None
    if document.issue:
        issue = FetchIssue(
            document.issue, document.issue_detail, document.issue_streak, document.issue_since
        )
    return DocumentRow(
        key=document.key,
        service=document.service,
        document_type=document.document_type,
        url=document.url,
        versions=versions,
        last_checked=document.last_checked,
        last_changed=document.last_changed,
        issue=issue,
        last_meaningful_change=last_meaningful,
    )


class Selection(TypedDict, total=False):
    """Which changes: the filters `history`, the web timeline, its feeds and the API share.
    `until` is exclusive; `category` is a rule category; `after` a change id, the changes
    recorded after it (a poller's cursor)."""

    service: str | None
    document: str | None
    since: datetime | None
    until: datetime | None
    min_severity: str | None
    category: str | None
    after: int | None


def list_changes(
    engine: Engine,
    *,
    include_noise: bool = False,
    limit: int | None = None,
    offset: int = 0,
    before: int | None = None,
    **selection: Unpack[Selection],
) -> list[ChangeRow]:
    """Changes newest first, or in the order recorded (by id) when the selection has an `after`
    cursor: a page taken after the last one seen, however many were recorded since, neither
    skips nor repeats one; noise (not meaningful) only when asked for; `offset` serves the web
    timeline's pages. `before`, a change's id, starts newest first right after that change
    instead of `offset` rows in (a change not recorded leaves `offset` to say where): the
    timeline's "older" link, which the changes recorded since do not shift, and which reads
    the page from the index where an offset reads every row it skips."""
    conditions = _filters(selection)
    if not include_noise:
        conditions.append(col(Change.meaningful).is_(True))
    newest_first = selection.get("after") is None
    order: tuple[Any, ...] = (col(Change.id),)
    if newest_first:
        order = (col(Change.detected_at).desc(), col(Change.id).desc())
    with Session(engine) as session:
        older = _older_than(session, before) if newest_first and before is not None else None
        if older is not None:
            conditions, offset = [*conditions, older], 0
        # The page's ids first, from the changes alone: the rows an offset skips are then
        # index entries, not rows joined to their documents (page 600: 38 -> 1 ms on SQLite).
        page = sa_select(col(Change.id)).where(*conditions).order_by(*order)
        query = (
            sa_select(*_ROW_COLUMNS.values())
            .join(Document, col(Change.document_id) == Document.id)
            .where(col(Change.id).in_(page.offset(offset).limit(limit)))
            .order_by(*order)
        )
        rows = session.execute(query).all()
    return [_change_row(row) for row in rows]


def newer_ids(
    engine: Engine,
    change_id: int,
    *,
    limit: int,
    include_noise: bool = False,
    **selection: Unpack[Selection],
) -> list[int]:
    """The ids of the `limit` changes of the selection just newer than change `change_id` in
    the timeline's order (detected later, or at the same moment with a larger id), nearest
    first: where the timeline's "newer" link starts, as `before` says where "older" does; none
    when the change is not recorded. Read from the index on `detected_at`, from the change up."""
    conditions = _filters(selection)
    if not include_noise:
        conditions.append(col(Change.meaningful).is_(True))
    if not 0 < change_id <= MAX_ID:
        return []
    with Session(engine) as session:
        at = session.execute(
            sa_select(col(Change.detected_at)).where(col(Change.id) == change_id)
        ).scalar()
        if at is None:
            return []
        detected = col(Change.detected_at)
        newer = or_(detected > at, and_(detected == at, col(Change.id) > change_id))
        query = (
            sa_select(col(Change.id))
            .where(*conditions, newer)
            .order_by(detected, col(Change.id))
            .limit(limit)
        )
        return list(session.execute(query).scalars())


def _older_than(session: Session, change_id: int) -> ColumnElement[bool] | None:
    """The changes after `change_id` newest first (detected earlier, or at the same moment
    with a smaller id), as a range of the index on `detected_at`; None when there is no such
    change."""
    if not 0 < change_id <= MAX_ID:
        return None
    at = session.execute(
        sa_select(col(Change.detected_at)).where(col(Change.id) == change_id)
    ).scalar()
    if at is None:
        return None
    detected = col(Change.detected_at)
    return and_(detected <= at, or_(detected < at, col(Change.id) < change_id))


@dataclass(frozen=True)
class Upcoming:
    """The changes taking effect in a span, and how many more whose date their page no longer
    states (moved by a later change, or the clause withdrawn): left out, but said."""

    rows: list[ChangeRow]
    unstated: int


def upcoming_changes(
    engine: Engine, *, start: date, end: date | None = None, **selection: Unpack[Selection]
) -> Upcoming:
    """Meaningful changes taking effect from `start` to `end` (inclusive; no end: any time
    later) whose date the page still states, soonest first, the most severe first on the same
    day. What a developer must act on before a date: the detection order of `list_changes`
    buries a ban announced in October and applying in January under everything found since."""
    with Session(engine) as session:
        found, unstated = dated_changes(session, start=start, end=end, where=_filters(selection))
        rows = [change_row(change, document) for change, document in found]
    rows.sort(key=lambda row: (row.effective_date, -severity_rank(row.severity), row.id))
    return Upcoming(rows, unstated)


def hidden_noise(engine: Engine, **selection: Unpack[Selection]) -> dict[str, int]:
    """How many changes of the selection were judged noise, by reason (`cosmetic`, …): what a
    history (or the web timeline) without `--all` leaves out, to be said rather than silently
    missing."""
    query = (
        sa_select(col(Change.reason), func.count())
        .where(*_filters(selection), col(Change.meaningful).is_(False))
        .group_by(col(Change.reason))
    )
    with Session(engine) as session:
        return {str(reason): count for reason, count in session.execute(query).all()}


def count_changes(
    engine: Engine, *, include_noise: bool = False, **selection: Unpack[Selection]
) -> int:
    """How many changes `list_changes` gives for the same selection, all pages together: what
    the web timeline counts its pages by."""
    query = sa_select(func.count()).select_from(Change).where(*_filters(selection))
    if not include_noise:
        query = query.where(col(Change.meaningful).is_(True))
    with Session(engine) as session:
        return int(session.execute(query).scalar_one())


def _filters(selection: Selection) -> list[ColumnElement[bool]]:
    """The conditions on changes (joined to their documents) that `history` and the web
    timeline filter by: one place, so that a count of the noise hidden counts the same rows."""
    service, document = selection.get("service"), selection.get("document")
    since, until = selection.get("since"), selection.get("until")
    min_severity, category = selection.get("min_severity"), selection.get("category")
    conditions: list[ColumnElement[bool]] = []
    if (after := selection.get("after")) is not None:  # past every id: PostgreSQL's integer
        conditions.append(col(Change.id) > min(after, MAX_ID))
    if service:
        conditions.append(_of_documents(_service_is(service)))
    if document:
        conditions.append(_of_documents(col(Document.key) == document.lower()))
    if since:
        conditions.append(col(Change.detected_at) >= since)
    if until:
        conditions.append(col(Change.detected_at) < until)
    if min_severity:
        allowed = SEVERITIES[SEVERITIES.index(min_severity) :]
        conditions.append(col(Change.severity).in_(allowed))
    if category:
        # Categories are a JSON list of slugs: match the quoted slug in its text, on any backend,
        # in any case (SQLite's LIKE ignored case, PostgreSQL's did not).
        quoted = json.dumps(category.lower()).replace("\\", "\\\\").replace("%", "\\%")
        quoted = quoted.replace("_", "\\_")
        listed = _AsciiLower(cast(col(Change.categories), String))
        conditions.append(listed.like(f"%{quoted}%", escape="\\"))
    return conditions


class _AsciiLower(FunctionElement[str]):
    """`lower()` of text known to be ASCII: JSON as the store writes it (`json.dumps` escapes
    every other character). SQLite's LIKE already ignores ASCII case, so there it is the text
    as it is: the store's own `lower()` for SQLite, Python's (which folds names in any
    script), ran once for every change a category filter read (30,000: 18 -> 4 ms)."""

    type = String()
    inherit_cache = True


@compiles(_AsciiLower)
def _lowered(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_AsciiLower, "sqlite")
def _as_it_is(element: _AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


def _of_documents(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """The changes of the documents meeting `condition`, found first among the documents: the
    changes are then read by the index on their document, not each joined to its document and
    tested (a service's page of 30,000 changes ran its case folding 60,000 times)."""
    return col(Change.document_id).in_(sa_select(col(Document.id)).where(condition))


def _service_is(name: str) -> ColumnElement[bool]:
    """The documents of a service named as the catalog writes it, in any case, or by its slug,
    the first half of its documents' keys, as `crawl --only` takes it ("acme-messenger" for
    "Acme Messenger"): a feed subscribed by the slug was empty. The keys' start is compared,
    not matched as a LIKE pattern, which SQLite refuses as "too complex" past 50,000 bytes."""
    prefix = name.lower() + "/"
    by_slug = func.substr(col(Document.key), 1, len(prefix)) == prefix
    return or_(func.lower(Document.service) == name.lower(), by_slug)


def redeclared_changes(engine: Engine, change_ids: Collection[int]) -> set[int]:
    """Those of `change_ids` read right after their document's declaration changed: the
    store's word (`Change.redeclared`), which outlives a first fetch under the new declaration
    that failed, where the crawl's plan saw the declaration as already fetched."""
    if not change_ids:
        return set()
    query = select(Change.id).where(col(Change.id).in_(change_ids), col(Change.redeclared))
    with Session(engine) as session:
        return {change_id for change_id in session.exec(query).all() if change_id is not None}


# The largest id a change can have: PostgreSQL's INTEGER key (SQLite's reaches further, but a
# store never gets there). An id typed beyond it names no change; asked for, it made the
# database driver overflow (a 500 on the web, a traceback on the command line).
MAX_ID = 2**31 - 1


def get_change(engine: Engine, change_id: int) -> ChangeDetail | None:
    """One change with the texts its verdict compared; None when there is no such change.

    After a capture judged an anomaly (Le Chat's terms read once as "Redirecting to
    legal.mistral.ai"), the engine compares the next version with the last version whose
    change was not one (`store.repository.past_of`): its counts and matches are of that
    comparison. Diffed with the broken text, the page, `show` and the API showed the whole
    policy inserted under "234 removed", none of the removed sentences it quoted in it."""
    if not 0 < change_id <= MAX_ID:
        return None
    with Session(engine) as session:
        change = session.get(Change, change_id)
        if change is None:
            return None
        document = session.get_one(Document, change.document_id)
        old_version, broken = _judged_from(session, change)
        texts = _texts(session, [old_version, change.to_version_id])
        (old_seq, old_text), (new_seq, new_text) = texts[old_version], texts[change.to_version_id]
        row = change_row(change, document)
        return ChangeDetail(row, old_text, new_text, old_seq, new_seq, old_version, broken)


def change_detail_json(engine: Engine, detail: ChangeDetail) -> dict[str, Any]:
    """What `show --json` and `/api/changes/ID` give, but the diff of the texts (the command
    line's and the web's to make): the object of `history --json`, the store's id of the version
    the verdict compared with (`compared_with`: `from_version` unless broken captures were
    passed over) and those captures (`skipped`), so a script knows which texts the diff is of."""
    [entry] = changes_json(engine, [detail.change])
    skipped = [broken.to_json() for broken in detail.skipped]
    return {**entry, "compared_with": detail.old_version, "skipped": skipped}


_ANOMALY = "anomaly"  # the reason of a change judged a broken capture (the diff engine's)


def _judged_from(session: Session, change: Change) -> tuple[int, list[Skipped]]:
    """The id of the version `change` was judged from, and the broken captures passed over
    since, from one query however many they are: the document's versions from its last sound
    one (the first, or one made by a change not judged an anomaly) to `from_version`."""
    same = col(Version.document_id) == change.document_id
    made_by = col(Change.to_version_id) == col(Version.id)
    last = sa_select(col(Version.seq)).where(col(Version.id) == change.from_version_id)
    last_seq = last.scalar_subquery()
    sound = (
        sa_select(col(Version.seq))
        .outerjoin(Change, made_by)
        .where(same, col(Version.seq) <= last_seq)
        .where(func.coalesce(col(Change.reason), "") != _ANOMALY)
        .order_by(col(Version.seq).desc())
        .limit(1)
    )
    rows = session.execute(
        sa_select(col(Change.id), col(Version.id), col(Version.seq))
        .outerjoin(Change, made_by)
        .where(same, col(Version.seq).between(sound.scalar_subquery(), last_seq))
        .order_by(col(Version.seq))
    ).all()
    (_, sound_version, _), *broken = rows
    return sound_version, [Skipped(made, version, seq) for made, version, seq in broken]


def _texts(session: Session, version_ids: Sequence[int]) -> dict[int, tuple[int, str]]:
    """The number and text of each of `version_ids`, by id, from one query."""
    rows = session.execute(
        sa_select(col(Version.id), col(Version.seq), col(Version.text)).where(
            col(Version.id).in_(version_ids)
        )
    ).all()
    return {version_id: (seq, text) for version_id, seq, text in rows}


@dataclass(frozen=True)
class Revert(JsonRow):
    """The change that took a page back to its wording before an earlier change."""

    change_id: int
    detected_at: datetime


def reverts(engine: Engine, change_ids: Sequence[int]) -> dict[int, Revert]:
    """Of `change_ids`, those whose page reads today as it did before them (its latest version
    has the fingerprint of the change's old version: the same text, cosmetics aside), each with
    the latest change that took it back. A restriction a page withdrew a week later (YouTube's,
    among others) read on the timeline as the page's last word."""
    if not change_ids:
        return {}
    with Session(engine) as session:
        return reverts_in(session, change_ids)


def reverts_in(session: Session, change_ids: Collection[int]) -> dict[int, Revert]:
    """`reverts` within `session` (the outbox asks within its write transaction), any number
    of ids: they are asked `IN_LIST_SIZE` at a time."""
    return _batched(session, change_ids, col(Change.from_version_id))


def restores_in(session: Session, change_ids: Collection[int]) -> dict[int, Revert]:
    """Of `change_ids`, those whose page reads today as it did *after* them again, a later
    change having brought that wording back, each with the latest such change: a withdrawn
    clause put back (the outbox tells whoever it told of the withdrawal)."""
    return _batched(session, change_ids, col(Change.to_version_id))


@cache  # built once per side: building it (aliases, subqueries) cost more than running it
def reads_as(side: Mapped[int]) -> Select[int | None]:
    """The ids of the changes whose document's latest version has the fingerprint of their
    version on `side`, as a query: those `reverts_in` (before) or `restores_in` (after) may
    find, and every document's latest change on the after side. A caller asking about each of
    a growing number of rows (every alert ever sent) narrows them to these in SQL first: few
    read so, and no page can have changed without its latest version changing. It starts from
    the latest versions (one per document) and finds the versions sharing their fingerprint by
    index, then the changes on their `side`: not every change ever found joined with its
    version."""
    newest = newest_versions(None, col(Version.document_id), col(Version.fingerprint))
    latest = newest.where(col(Version.fingerprint) != "").subquery()
    version = aliased(Version)
    same = (col(version.document_id) == latest.c.document_id) & (
        col(version.fingerprint) == latest.c.fingerprint
    )
    return (
        sa_select(col(Change.id))
        .select_from(latest)
        .join(version, same)
        .join(Change, side == col(version.id))
    )


def _batched(session: Session, change_ids: Collection[int], side: Mapped[int]) -> dict[int, Revert]:
    found: dict[int, Revert] = {}
    for batch in in_batches(sorted(set(change_ids))):
        found |= _back_to(session, batch, side)
    return found


def _back_to(session: Session, change_ids: Sequence[int], side: Mapped[int]) -> dict[int, Revert]:
    """Of `change_ids`, those whose document's latest version has the fingerprint of their
    version on `side` (before: undone; after: brought back), each with the latest later change
    that arrived at that wording."""
    version = aliased(Version)
    changes = session.execute(
        sa_select(col(Change.id), col(Change.document_id), col(version.fingerprint))
        .join(version, col(version.id) == side)
        .where(col(Change.id).in_(change_ids))
    ).all()
    documents = {document_id for _, document_id, _ in changes}
    latest = _latest_fingerprints(session, documents)
    back = {
        (document_id, fingerprint)
        for _, document_id, fingerprint in changes
        if fingerprint and latest.get(document_id) == fingerprint
    }
    if not back:
        return {}
    takers = session.execute(
        sa_select(
            col(Change.id),
            col(Change.document_id),
            col(Change.detected_at),
            col(Version.fingerprint),
        )
        .join(Version, col(Version.id) == col(Change.to_version_id))
        .where(
            col(Change.document_id).in_({document_id for document_id, _ in back}),
            col(Version.fingerprint).in_({fingerprint for _, fingerprint in back}),
        )
        .order_by(col(Change.id))
    ).all()
    found: dict[int, Revert] = {}
    for change_id, document_id, fingerprint in changes:
        if (document_id, fingerprint) not in back:
            continue
        later = [
            Revert(taker, at)
            for taker, taker_document, at, taken_to in takers
            if taker_document == document_id and taker > change_id and taken_to == fingerprint
        ]
        if later:
            found[change_id] = later[-1]
    return found


def changes_json(engine: Engine, rows: Sequence[ChangeRow]) -> list[dict[str, Any]]:
    """What `history --json` and `/api/changes` give: each row and, for a meaningful change
    the page has since undone, the change that undid it (`reverted`, else null), as the
    timeline marks it. A script acting on a restriction should know it was withdrawn."""
    undone = reverts(engine, [row.id for row in rows if row.meaningful])
    return [
        {**row.to_json(), "reverted": undone[row.id].to_json() if row.id in undone else None}
        for row in rows
    ]


def _latest_fingerprints(session: Session, documents: Collection[int]) -> dict[int, str]:
    """The fingerprint of each document's latest version."""
    latest = newest_versions(documents, col(Version.document_id), col(Version.fingerprint))
    return dict(session.execute(latest).all())


# The columns of a `ChangeRow`, by its fields: a listing reads these alone, not every column
# of two ORM objects (a document's declaration decoded once for each of its changes).
_ROW_COLUMNS: dict[str, Any] = {
    "id": col(Change.id),
    "key": col(Document.key),
    "service": col(Document.service),
    "document_type": col(Document.document_type),
    "url": col(Document.url),
    "detected_at": col(Change.detected_at),
    "from_version": col(Change.from_version_id),
    "to_version": col(Change.to_version_id),
    "meaningful": col(Change.meaningful),
    "reason": col(Change.reason),
    "severity": col(Change.severity),
    "categories": col(Change.categories),
    "summary": col(Change.summary),
    "added": col(Change.added),
    "removed": col(Change.removed),
    "changed": col(Change.changed),
    "matches": col(Change.matches),
    "excerpts": col(Change.excerpts),
    "effective_date": col(Change.effective_date),
    "redeclared": col(Change.redeclared),
    "rejudged_at": col(Change.rejudged_at),
}
_LISTS = ("categories", "matches", "excerpts")  # JSON lists, which an old row may hold as null


def _change_row(values: Sequence[Any]) -> ChangeRow:
    """A row of `_ROW_COLUMNS`' values, in their order."""
    fields = dict(zip(_ROW_COLUMNS, values, strict=True))
    for name in _LISTS:
        fields[name] = list(fields[name] or [])
    return ChangeRow(**fields)


def change_row(change: Change, document: Document) -> ChangeRow:
    return _change_row(
        [
            getattr(change if column.class_ is Change else document, column.key)
            for column in _ROW_COLUMNS.values()
        ]
    )


@dataclass(frozen=True)
class VersionRow(JsonRow):
    """A version of a document: its number in the document's history (`seq`, from 1), when it
    was first seen, and its `id` in the store, by which changes name it (`from_version`)."""

    seq: int
    seen_at: datetime
    id: int


@dataclass(frozen=True)
class DocumentDetail:
    """A document with its versions (oldest first) and its latest text, for the web page."""

    document: DocumentRow
    versions: list[VersionRow]
    latest_text: str | None
    changes: int  # all of them, noise included: its changes are listed a page at a time


def get_document(engine: Engine, key: str) -> DocumentDetail | None:
    """One document by key with its versions and latest text; None when it is not tracked."""
    with Session(engine) as session:
        document = _document(session, key)
        if document is None:
            return None
        versions = _versions(session, document.id)  # type: ignore[arg-type]
        latest = latest_version(session, document.id)  # type: ignore[arg-type]
        changes = session.exec(
            select(func.count()).select_from(Change).where(Change.document_id == document.id)
        ).one()
        last_meaningful = session.execute(sa_select(_last_meaningful_of(document.id))).scalar()
        return DocumentDetail(
            _document_row(document, len(versions), last_meaningful),
            versions,
            latest.text if latest else None,
            changes,
        )


def _document(session: Session, key: str) -> Document | None:
    return session.exec(select(Document).where(Document.key == key.lower())).first()


def list_versions(engine: Engine, key: str) -> list[VersionRow] | None:
    """A document's versions, oldest first; None when it is not tracked."""
    with Session(engine) as session:
        document = _document(session, key)
        return None if document is None else _versions(session, document.id)  # type: ignore[arg-type]


def _versions(session: Session, document_id: int) -> list[VersionRow]:
    rows = session.exec(
        select(Version.seq, Version.seen_at, Version.id)
        .where(Version.document_id == document_id)
        .order_by(col(Version.seq))
    ).all()
    return [VersionRow(seq, seen_at, id_) for seq, seen_at, id_ in rows]  # type: ignore[arg-type]


@dataclass(frozen=True)
class VersionInfo(JsonRow):
    """One version of a document (`seq` of `versions`, from 1), without its text: when the page
    said it, from when it was first seen (`seen_at`) until the next version was (`replaced_at`,
    None for the latest). The changes that led to it and away from it are named by id
    (`came_by` is None for the first version, `left_by` for the latest)."""

    key: str
    service: str
    document_type: str
    url: str
    seq: int
    seen_at: datetime
    id: int
    versions: int
    replaced_at: datetime | None
    came_by: int | None
    left_by: int | None


@dataclass(frozen=True)
class VersionDetail(VersionInfo):
    """One version of a document with its whole text: what the page said (`text --json`)."""

    text: str


def get_version(engine: Engine, key: str, seq: int) -> VersionDetail | None:
    """Version `seq` (from 1) of a document; None when the document is not tracked or has no
    such version."""
    found = get_versions(engine, key, (seq,))
    return found[0] if found else None


def get_versions(engine: Engine, key: str, seqs: Sequence[int]) -> list[VersionDetail] | None:
    """Versions `seqs` of a document, in that order, read at once: its versions counted once,
    not once for each (a comparison reads two). None when the document is not tracked or lacks
    one of them."""
    if not all(0 < seq < MAX_ID for seq in seqs):  # one past it is asked for: when replaced
        return None
    with Session(engine) as session:
        document = _document(session, key)
        if document is None:
            return None
        versions = session.exec(
            select(func.count()).select_from(Version).where(Version.document_id == document.id)
        ).one()
        found = [_version_detail(session, document, seq, versions) for seq in seqs]
        details = [detail for detail in found if detail is not None]
        return details if len(details) == len(seqs) else None


def _version_detail(
    session: Session, document: Document, seq: int, versions: int
) -> VersionDetail | None:
    """Version `seq` of `document`, which has `versions` in all; None when it has no such one."""
    version = session.exec(
        select(Version).where(Version.document_id == document.id, Version.seq == seq)
    ).first()
    if version is None:
        return None
    replaced_at = session.exec(
        select(Version.seen_at).where(Version.document_id == document.id, Version.seq == seq + 1)
    ).first()
    changes = select(Change.id).where(Change.document_id == document.id)
    came_by = session.exec(changes.where(Change.to_version_id == version.id)).first()
    left_by = session.exec(changes.where(Change.from_version_id == version.id)).first()
    return VersionDetail(
        document.key,
        document.service,
        document.document_type,
        document.url,
        version.seq,
        version.seen_at,
        version.id,  # type: ignore[arg-type]
        versions,
        replaced_at,
        came_by,
        left_by,
        version.text,
    )


def changes_between(engine: Engine, key: str, first: int, last: int) -> list[ChangeRow]:
    """The changes that led a document from version `first` to version `last`, oldest first,
    noise included."""
    with Session(engine) as session:
        document = _document(session, key)
        if document is None:
            return []
        changes = session.exec(
            select(Change)
            .join(Version, col(Version.id) == col(Change.to_version_id))
            .where(Change.document_id == document.id, Version.seq > first, Version.seq <= last)
            .order_by(col(Version.seq))
        ).all()
        return [change_row(change, document) for change in changes]


@dataclass(frozen=True)
class Comparison:
    """Two versions of a document, the older `before`, and the changes that led from one to
    the other (`between`, oldest first, noise included): what the compare page and `compare`
    show and their JSON gives."""

    before: VersionDetail
    after: VersionDetail
    between: list[ChangeRow]

    @property
    def meaningful(self) -> list[ChangeRow]:
        """The changes between that are listed, oldest first."""
        return [change for change in self.between if change.meaningful]

    @property
    def noise(self) -> int:
        """How many changes between were judged noise: counted, not listed."""
        return sum(not change.meaningful for change in self.between)


def compare_versions(engine: Engine, key: str, first: int, second: int) -> Comparison | None:
    """Versions `first` and `second` of a document, in either order; None when the document is
    not tracked or lacks one of them."""
    older, newer = sorted((first, second))
    found = get_versions(engine, key, (older, newer))
    if found is None:
        return None
    before, after = found
    return Comparison(before, after, changes_between(engine, key, older, newer))


def comparison_json(engine: Engine, compared: Comparison) -> dict[str, Any]:
    """What `compare --json` and `/api/documents/KEY/compare` give, but the diff of the texts
    (the command line's and the web's to make): each side the object of `text --json` without
    its text, the meaningful changes between as `history --json` gives them, the noise
    counted."""

    def side(version: VersionDetail) -> dict[str, Any]:
        return {name: value for name, value in version.to_json().items() if name != "text"}

    return {
        "key": compared.after.key,
        "before": side(compared.before),
        "after": side(compared.after),
        "changes": changes_json(engine, compared.meaningful),
        "noise": compared.noise,
    }


def version_on(versions: Sequence[VersionRow], moment: datetime) -> VersionRow | None:
    """The version a page showed at `moment`: the newest first seen by then (versions oldest
    first); None before the first."""
    return next((version for version in reversed(versions) if version.seen_at <= moment), None)


def neighbour_changes(
    engine: Engine, change_id: int, *, include_noise: bool = False
) -> tuple[int | None, int | None]:
    """The ids of the previous and next change of the same document; noise (not meaningful)
    only when asked for, as in `list_changes`."""
    with Session(engine) as session:
        change = session.get(Change, change_id)
        if change is None:
            return None, None
        same = select(Change.id).where(Change.document_id == change.document_id)
        if not include_noise:
            same = same.where(col(Change.meaningful).is_(True))
        before = session.exec(
            same.where(col(Change.id) < change_id).order_by(col(Change.id).desc()).limit(1)
        ).first()
        after = session.exec(
            same.where(col(Change.id) > change_id).order_by(col(Change.id)).limit(1)
        ).first()
        return before, after


def latest_version(session: Session, document_id: int) -> Version | None:
    """The newest version of a document, or None before its first."""
    return session.exec(
        select(Version)
        .where(Version.document_id == document_id)
        .order_by(col(Version.seq).desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class FetchRow(JsonRow):
    """A fetch attempt as the preview of a declaration tells it: its status, the bytes of the
    body fetched (None when it failed before one came) and how long it took."""

    status: int | None
    bytes: int | None
    elapsed_ms: int | None


def last_fetch(engine: Engine, key: str) -> FetchRow | None:
    """A document's latest fetch attempt; None when it has none."""
    with Session(engine) as session:
        row = session.exec(
            select(Fetch.status, Fetch.bytes, Fetch.elapsed_ms)
            .join(Document, col(Document.id) == Fetch.document_id)
            .where(Document.key == key.lower())
            .order_by(col(Fetch.id).desc())
            .limit(1)
        ).first()
        return None if row is None else FetchRow(*row)


def recorded_versions(engine: Engine, key: str) -> tuple[datetime | None, set[str]]:
    """Until when a document's text is recorded (None before its first version), and the sha256
    of every version's text: what an import needs to add only what the history lacks.

    Recorded until its latest version, or a later check that found that text again: a repeat an
    import read (a file whose text is the one before), or a crawl's. Up to its latest version
    only, importing a folder again read its trailing repeats anew, counted them as repeats, not
    as already recorded, and logged each once more; and a file dated between a crawl's version
    and its later checks was recorded as the newest wording, though those checks saw another.
    """
    query = (
        select(Version.seen_at, Version.text_sha256)
        .join(Document, col(Document.id) == col(Version.document_id))
        .where(Document.key == key)
    )
    checked = (
        select(func.max(Fetch.at))
        .join(Document, col(Document.id) == col(Fetch.document_id))
        .where(Document.key == key, col(Fetch.outcome).in_(("unchanged", "not-modified")))
    )
    with Session(engine) as session:
        rows = session.exec(query).all()
        last_check = session.exec(checked).one()
    until = max((seen for seen, _ in rows), default=None)
    if until is not None and last_check is not None:
        until = max(until, last_check)
    return until, {digest for _, digest in rows}


@dataclass(frozen=True)
class TrackedNames:
    """What a subscription's filters may name, as far as the tracked documents tell."""

    keys_of: dict[str, set[str]]  # each tracked service's document keys
    tags: set[str]

    @property
    def services(self) -> set[str]:
        return set(self.keys_of)

    @property
    def keys(self) -> set[str]:
        return set().union(*self.keys_of.values())

    def service(self, typed: str) -> str | None:
        """The tracked service `typed` names, in any case or by its slug (as `_service_is`
        selects), written as the catalog writes it; None when it names none."""
        wanted = typed.lower()
        for service, keys in sorted(self.keys_of.items()):
            if wanted == service.lower() or wanted in {service_slug(key) for key in keys}:
                return service
        return None


def tracked_names(engine: Engine) -> TrackedNames:
    query = sa_select(col(Document.service), col(Document.key), col(Document.tags))
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    keys_of: dict[str, set[str]] = {}
    for service, key, _ in rows:
        keys_of.setdefault(service, set()).add(key)
    return TrackedNames(keys_of, {tag for _, _, tags in rows for tag in tags or []})
