"""The changes: what `history`, `show`, `upcoming`, the web timeline, its feeds and the API
select, count and read.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypedDict, Unpack

from sqlalchemy import (
    ColumnElement,
    Engine,
    String,
    and_,
    cast,
    func,
    or_,
)
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col, select

from store.deadlines import dated_changes
from store.models import Change, Document, Version
from store.queries.reverts import reverts
from store.queries.rows import (
    MAX_ID,
    ROW_COLUMNS,
    SEVERITIES,
    ChangeRow,
    Skipped,
    change_row,
    change_row_of,
    severity_rank,
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
            sa_select(*ROW_COLUMNS.values())
            .join(Document, col(Change.document_id) == Document.id)
            .where(col(Change.id).in_(page.offset(offset).limit(limit)))
            .order_by(*order)
        )
        rows = session.execute(query).all()
    return [change_row_of(row) for row in rows]


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


def changes_json(engine: Engine, rows: Sequence[ChangeRow]) -> list[dict[str, Any]]:
    """What `history --json` and `/api/changes` give: each row and, for a meaningful change
    the page has since undone, the change that undid it (`reverted`, else null), as the
    timeline marks it. A script acting on a restriction should know it was withdrawn."""
    undone = reverts(engine, [row.id for row in rows if row.meaningful])
    return [
        {**row.to_json(), "reverted": undone[row.id].to_json() if row.id in undone else None}
        for row in rows
    ]


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
