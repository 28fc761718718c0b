"""Which changes a request asks for: one parser shared by the pages, the feeds and the JSON API.

The timeline form submits empty fields for unset filters, so every parameter arrives as text and
an empty value means "any"; a malformed one is a 422 naming the parameter, in FastAPI's own
shape (`invalid`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Annotated

from fastapi import HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Engine

from diffengine import load_rules
from policywatch.deadlines import days_after
from policywatch.wording import counted, did_you_mean, key_meant, untracked, why_no_date
from store.queries import (
    SEVERITIES,
    ChangeRow,
    Comparison,
    Selection,
    Upcoming,
    VersionDetail,
    compare_versions,
    count_changes,
    get_version,
    hidden_noise,
    list_changes,
    list_versions,
    newer_ids,
    tracked_names,
    upcoming_changes,
)


@cache
def categories() -> tuple[str, ...]:
    """The categories the shipped rules assign, in their order: the timeline's filter choices.

    Read on first use, not at import: every `policywatch` command imports the web app.
    """
    return tuple(dict.fromkeys(rule.category for rule in load_rules()))


PAGE_SIZE = 50


@dataclass(frozen=True)
class Filters:
    """The timeline's filters, as typed values."""

    service: str | None = None
    document: str | None = None
    category: str | None = None
    min_severity: str | None = None
    since: date | None = None
    until: date | None = None
    include_noise: bool = False

    def params(self) -> dict[str, str]:
        """The filters as query parameters, for links that keep them (pages, feeds)."""
        params = {
            name: value.isoformat() if isinstance(value, date) else str(value)
            for name, value in asdict(self).items()
            if value and name != "include_noise"
        }
        if self.include_noise:
            params["all"] = "1"
        return params

    def described(self) -> str:
        """The selection in words, "Threads, high and above, from 2025-10-02": what a feed and
        a page are titled by, so that two of them open side by side tell which is which."""
        picked = [
            self.service,
            self.document and self.document.lower(),
            self.category,
            f"{self.min_severity} and above" if self.min_severity else None,
        ]
        words = [part for part in picked if part] or ["all changes"]
        if self.since:
            words.append(f"from {self.since.isoformat()}")
        if self.until:
            words.append(f"to {self.until.isoformat()}")
        if self.include_noise:
            words.append("noise included")
        return ", ".join(words)


LONGEST = 1000  # characters of the path, and of each value of the query: no name is longer


def invalid(where: str, name: str | None, value: str, message: str) -> RequestValidationError:
    """The 422 of a parameter the app's own checks refuse, in the shape FastAPI gives those
    its types refuse (`{"detail": [{"loc": ["query", "since"], "msg": …}]}`), which the API's
    schema declares: its own were `{"detail": "since must be …"}`, so a script reading a 422
    met two shapes, and the one the schema promised failed it. `name` None: the address."""
    loc = (where,) if name is None else (where, name)
    problem = {"type": "value_error", "loc": loc, "msg": message, "input": value}
    return RequestValidationError([problem])


def _date(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        such = f"such as 2026-01-15{why_no_date(error)}"
        raise invalid("query", name, value, f"Input should be an ISO date {such}") from None


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def parse_filters(
    service: Annotated[str | None, Query(description="Service name, any case.")] = None,
    document: Annotated[str | None, Query(description="Document key, e.g. whatsapp/terms.")] = None,
    category: Annotated[str | None, Query(description="A rule category.")] = None,
    min_severity: Annotated[
        str | None, Query(description=f"At least this severe: {', '.join(SEVERITIES)}.")
    ] = None,
    since: Annotated[str | None, Query(description="Detected on or after (ISO date).")] = None,
    until: Annotated[str | None, Query(description="Detected on or before (ISO date).")] = None,
    include_noise: Annotated[
        bool, Query(alias="all", description="Include changes judged not meaningful.")
    ] = False,
) -> Filters:
    """FastAPI dependency: the filters of a request, validated."""
    level = (min_severity or "").lower()  # any case, as the command line takes it
    if level and level not in SEVERITIES:
        one_of = f"Input should be one of {', '.join(SEVERITIES)}"
        raise invalid("query", "min_severity", min_severity or "", one_of)
    return Filters(
        service=service or None,
        document=document or None,
        category=category or None,
        min_severity=level or None,
        since=_date("since", since),
        until=_date("until", until),
        include_noise=include_noise,
    )


def store(request: Request) -> Engine:
    """FastAPI dependency: the store the app was created with."""
    engine: Engine = request.app.state.engine
    return engine


def _where(filters: Filters, after: int | None = None) -> Selection:
    """The filters as the store's queries take them: dates as UTC midnights, `until` made
    exclusive (the day after), so a day typed as the end is included; `after` an API poller's
    cursor."""
    until = _midnight(days_after(filters.until, 1)) if filters.until else None
    return Selection(
        service=filters.service,
        document=filters.document,
        category=filters.category,
        min_severity=filters.min_severity,
        since=_midnight(filters.since),
        until=until,
        after=after,
    )


def changes(
    engine: Engine,
    filters: Filters,
    *,
    limit: int,
    offset: int = 0,
    after: int | None = None,
    before: int | None = None,
) -> list[ChangeRow]:
    """The changes a selection names, newest first (in the order recorded after change
    `after`, for a poller; from the change after `before`, for the timeline's older link): the
    one query behind pages, feeds and API."""
    return list_changes(
        engine,
        **_where(filters, after),
        include_noise=filters.include_noise,
        limit=limit,
        offset=offset,
        before=before,
    )


def newer_than(engine: Engine, filters: Filters, change_id: int, *, limit: int) -> list[int]:
    """The ids of the `limit` changes of the selection just newer than change `change_id`,
    nearest first: where the timeline's "newer" link starts."""
    return newer_ids(
        engine, change_id, **_where(filters), include_noise=filters.include_noise, limit=limit
    )


def count(engine: Engine, filters: Filters, *, after: int | None = None) -> int:
    """How many changes the selection names (after change `after`), all pages together."""
    return count_changes(engine, **_where(filters, after), include_noise=filters.include_noise)


# Each filter of a selection, and what the selection reads as without it.
_DROPPED = {
    "service": "any service",
    "document": "any document",
    "category": "any category",
    "min_severity": "any severity",
    "since": "no From date",
    "until": "no To date",
}


@dataclass(frozen=True)
class Wider:
    """An empty selection with one of its filters dropped, and how many changes that shows."""

    label: str  # "any document"
    filters: Filters
    total: int


def wider(engine: Engine, filters: Filters) -> list[Wider]:
    """The selections one filter wider than `filters` that show something.

    An empty timeline said only "No changes for this selection", and left the reader to guess
    which filter emptied it: a document of another service, a severity none of the category
    reaches, dates typed the wrong way round."""
    found = []
    for name, label in _DROPPED.items():
        if getattr(filters, name) is None:
            continue
        dropped = Filters(**asdict(filters) | {name: None})
        if total := count(engine, dropped):
            found.append(Wider(label, dropped, total))
    return found


def hidden(engine: Engine, filters: Filters) -> dict[str, int]:
    """The noise the selection leaves out, by reason; nothing when it shows noise."""
    return {} if filters.include_noise else hidden_noise(engine, **_where(filters))


From = Annotated[int, Query(alias="from", ge=1, description="One version's number, from 1.")]
To = Annotated[
    int | None, Query(ge=1, description="The other version's number; the latest unless given.")
]

Within = Annotated[
    int, Query(ge=0, description="Taking effect within this many days from today; 0: any time.")
]


def upcoming(engine: Engine, filters: Filters, within: int) -> Upcoming:
    """The meaningful changes of the selection taking effect from today on (within `within`
    days, 0: any time) whose date their page still states, soonest first. Dates of detection
    and noise have no say here."""
    today = datetime.now(UTC).date()
    end = days_after(today, within) if within else None
    selection = Selection(
        service=filters.service,
        document=filters.document,
        category=filters.category,
        min_severity=filters.min_severity,
    )
    return upcoming_changes(engine, start=today, end=end, **selection)


def check_tracked(engine: Engine, filters: Filters) -> None:
    """The 404 of a `service` or `document` filter that names nothing tracked, or a `category`
    that names nothing known, with the closest name, in the words of `history`: typed by hand,
    one letter off, it gave an empty timeline that read as "no change". Asked of an empty
    selection only, as `history` asks: a change found names something tracked. Not of the
    feeds, which may be subscribed to before their service is tracked."""
    if said := untracked(tracked_names(engine), filters.service, filters.document):
        raise HTTPException(404, str(said))
    if filters.category and not _known_category(engine, filters.category):
        known = categories()
        meant = did_you_mean(filters.category, known) or (
            f" (the rules' categories: {', '.join(known)})"
        )
        raise HTTPException(404, f"no category {filters.category}{meant}")


def _known_category(engine: Engine, category: str) -> bool:
    """Whether a rule assigns `category` (in any case), or a change holds it: one judged by a
    rule file of the user's own (`crawl --rules`), which the app does not read. A typo named
    neither, and its empty selection read as "no change of that kind"."""
    if category.lower() in {known.lower() for known in categories()}:
        return True
    return bool(count(engine, Filters(category=category, include_noise=True)))


def no_document(engine: Engine, key: str) -> HTTPException:
    """The 404 of a document key that names nothing tracked, with the closest key, as the
    command line says it: an address typed by hand is most often one letter off. An address
    cut short before its key (`/documents/`) is said to name none: "no document " said nothing."""
    if not key.strip():
        return HTTPException(404, "the address names no document: its key goes after /documents/")
    return HTTPException(404, f"no document {key}{key_meant(tracked_names(engine), key)}")


def version_or_404(engine: Engine, key: str, seq: int) -> VersionDetail:
    """Version `seq` of a document, or the 404 that says which key was meant or how many
    versions there are."""
    detail = get_version(engine, key, seq)
    if detail is not None:
        return detail
    versions = list_versions(engine, key)
    if versions is None:
        raise no_document(engine, key)
    raise _no_version(key, len(versions), seq)


def _no_version(key: str, versions: int, seq: int) -> HTTPException:
    return HTTPException(404, f"{key} has {counted(versions, 'version')}, no version {seq}")


def comparison(engine: Engine, key: str, first: int, to: int | None) -> Comparison:
    """Versions `first` and `to` (the latest unless given) of a document, in either order, or
    the 404 of a key or number that names none (saying which key was meant, or how many
    versions there are) or the 422 of two numbers given that name one version. `from` the
    latest with no `to` is an answer, as with `compare KEY FROM`: nothing changed since.

    The numbers are checked against the list of versions read first, so a number typed past
    the last version (however huge) never reaches a query."""
    versions = list_versions(engine, key)
    if versions is None:
        raise no_document(engine, key)
    older, newer = sorted((first, to or len(versions)))
    if older == newer and to is not None:
        same = f"Input should name another version than from, {older}: compare two"
        raise invalid("query", "to", str(to), same)
    if newer > len(versions):
        raise _no_version(key, len(versions), newer)
    compared = compare_versions(engine, key, older, newer)
    if compared is None:  # the store was emptied between the two reads
        raise no_document(engine, key)
    return compared
