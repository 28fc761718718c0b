"""The HTML pages: timeline, change, documents, document.

Each page reads through the same functions as the JSON API (`selection.changes`, the `store.queries`
getters) and hands plain rows to Jinja2, whose autoescaping is on for every template: fetched text
is data and is never marked safe.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from policywatch.deadlines import days_left
from policywatch.web import diffview
from policywatch.web.pace import CatalogLoader, pace_of
from policywatch.web.selection import (
    PAGE_SIZE,
    Filters,
    From,
    To,
    Within,
    categories,
    changes,
    check_tracked,
    comparison,
    count,
    hidden,
    newer_than,
    no_document,
    parse_filters,
    store,
    upcoming,
    version_or_404,
    wider,
)
from policywatch.wording import noise_hidden
from store.models import utcnow
from store.queries import (
    SEVERITIES,
    ChangeRow,
    Revert,
    VersionRow,
    document_names,
    get_change,
    get_document,
    last_meaningful_ids,
    list_documents,
    neighbour_changes,
    reverts,
)

router = APIRouter(include_in_schema=False)
Store = Annotated[Engine, Depends(store)]


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def is_web(url: str) -> bool:
    """Whether a document's URL may be a link: http(s) only, never `javascript:` or `data:`;
    an imported document's `file://` folder is shown as text, not as a dead link."""
    return urlsplit(url).scheme in {"http", "https"}


def is_underline(line: str | Sequence[diffview.Span]) -> bool:
    """Whether a line of text, or of a diff, is one character repeated (`=====`, `-----`, a
    heading's underline or a rule): such a line is clipped to its cell, not wrapped onto many
    lines of `=`."""
    text = (line if isinstance(line, str) else "".join(span.text for span in line)).strip()
    return len(text) >= 3 and len(set(text)) == 1


def reworded(before: str, sentence: str) -> tuple[diffview.Span, ...]:
    """A matched sentence in its new wording with the words it lost and gained marked: the
    engine gives an old wording only to a sentence it paired as reworded, so the two share
    most of their words, and the few that differ are what the rule was about."""
    return diffview.word_spans(before, sentence)[2]


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        days_left=days_left, when=when, severities=SEVERITIES, reworded=reworded
    )
    environment.tests["web"] = is_web
    environment.tests["underline"] = is_underline
    return environment


def _root(request: Request) -> dict[str, str]:
    """The path the app is served under (`--base-url`'s): every page's links start with it, so
    the pages work behind a proxy that serves them at `/pw/`."""
    return {"root": request.app.state.root}


templates = Jinja2Templates(env=_environment(), context_processors=[_root])


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


def address(request: Request, keep: Callable[[str, str], bool]) -> str:
    """The address asked for with only the query parameters `keep` takes (by name and value):
    a path on this site, never `//host`, under the path the app is served at."""
    path = request.app.state.root + "/" + quote(request.url.path).lstrip("/")
    query = urlencode([(k, v) for k, v in request.query_params.multi_items() if keep(k, v)])
    return f"{path}?{query}" if query else path


def without_empty(request: Request) -> RedirectResponse | None:
    """A redirect to the same selection minus its empty parameters, if it has any: the filter
    form sends every field, "any" as `service=`, and without a script to drop them, the
    address (and the links, feeds and bookmarks made from it) read `?service=&document=&…`."""
    if all(value for _, value in request.query_params.multi_items()):
        return None
    return RedirectResponse(address(request, lambda _, value: bool(value)), status_code=303)


@dataclass(frozen=True)
class Pager:
    """Where a list paged newest first stands, and the links to the pages either side."""

    page: int
    pages: int  # the pages the list fills; an empty list still has its one page
    previous_page: int  # the number the newer link leads to (1 when it leads to the top)
    previous_url: str | None
    next_url: str | None
    # The first and last pages, when neither newer nor older leads there: the oldest change of
    # a real history (45 pages of it, noise included) lay 44 "older" clicks away.
    newest_url: str | None
    oldest_url: str | None


def page_count(total: int) -> int:
    """How many pages `total` items fill: one at least, the page that says there are none."""
    return max(1, -(-total // PAGE_SIZE))


def pager(
    page: int,
    total: int,
    params: dict[str, str],
    name: str = "page",
    anchor: str = "",
    older: dict[str, str] | None = None,
    newer: dict[str, str] | None = None,
) -> Pager:
    """Page `page` of `total` items; the links set query parameter `name` and keep `params`,
    the rest of the page's query, so two lists paged on one page each keep the other's place;
    `anchor` brings the reader back to the list rather than to the top of the page. `older`,
    given when the list knows an older page follows, is added to the older link's query: where
    the next page starts (`before`, a cursor). `newer`, given when the list knows what lies
    above the page, is the newer link's cursor: empty when that is the top, page 1."""
    last = page_count(total)

    def page_url(number: int, cursor: dict[str, str] | None = None) -> str:
        query = urlencode({**params, name: str(number), **(cursor or {})})
        return "?" + query + (anchor and "#" + anchor)

    # Above a page whose newer changes fill more than a page, the newer one is never page 1:
    # changes recorded since lie above it.
    previous = min(page - 1, last) if newer is None else max(page - 1, 2) if newer else 1
    return Pager(
        page=page,
        pages=last,
        previous_page=previous,
        previous_url=page_url(previous, newer) if page > 1 else None,
        next_url=page_url(page + 1, older) if older or page < last else None,
        newest_url=page_url(1) if page > 1 and previous > 1 else None,
        oldest_url=page_url(last) if page < last - 1 else None,
    )


@dataclass(frozen=True)
class Listing(Pager):
    """One page of the changes a selection names, and how many there are in all. Past the last
    page, the newer link leads to the last page."""

    rows: list[ChangeRow]
    total: int
    reverted: dict[int, Revert]  # of the meaningful rows, those the page has since undone


def listing(
    engine: Engine, filters: Filters, page: int, params: dict[str, str], before: int | None = None
) -> Listing:
    """Page `page` of `filters`' changes, or, given `before` (the last change of the page
    before it, which its older link names), the changes after that one: a reader paging back
    through the history is not shown again the changes that newer ones pushed onto this page,
    and the store reads the page from its index rather than skipping every change before it.
    The page links keep `params`, the page's own query."""
    total = count(engine, filters)
    last = page_count(total)
    # Past the last page nothing is asked of the store: a page number typed huge made an
    # offset its driver could not take (a 500 where the page says where the pages end).
    offset = (page - 1) * PAGE_SIZE
    found = (
        changes(engine, filters, limit=PAGE_SIZE + 1, offset=offset, before=before)
        if page <= last
        else []
    )
    rows = found[:PAGE_SIZE]  # one more was read to know whether an older page follows
    older = {"before": str(rows[-1].id)} if len(found) > PAGE_SIZE else None
    pages = pager(page, total, params, older=older, newer=_newer(engine, filters, page, rows))
    return Listing(
        **asdict(pages),
        rows=rows,
        total=total,
        reverted=reverts(engine, [row.id for row in rows if row.meaningful]),
    )


def _newer(
    engine: Engine, filters: Filters, page: int, rows: list[ChangeRow]
) -> dict[str, str] | None:
    """The newer link's cursor: the page of changes just newer than the first shown starts
    right after the one a page above it (`before`), or is the top (empty: page 1, when fewer
    than a page lie above). Led to by number, the newer page was read by its offset, which
    changes recorded since had shifted: the changes pushed between the two pages were never
    shown. None on page 1, or past the last page."""
    if page == 1 or not rows:
        return None
    above = newer_than(engine, filters, rows[0].id, limit=PAGE_SIZE + 1)
    return {"before": str(above[PAGE_SIZE])} if len(above) > PAGE_SIZE else {}


@dataclass(frozen=True)
class VersionList(Pager):
    """One page of a document's versions, newest first."""

    rows: list[VersionRow]


def version_list(versions: list[VersionRow], page: int, params: dict[str, str]) -> VersionList:
    """The versions of page `page` (the last page past it: a fold of one list, not a selection
    that may empty). Listed whole, Instagram's 757 made its page 42,000 px tall on a phone."""
    shown = min(page, page_count(len(versions)))
    newest = versions[::-1][(shown - 1) * PAGE_SIZE : shown * PAGE_SIZE]
    pages = pager(shown, len(versions), params, "versions_page", "versions-title")
    return VersionList(**asdict(pages), rows=newest)


Page = Annotated[int, Query(ge=1)]
Noise = Annotated[bool, Query(alias="all")]
# Where a page of changes starts: after this change, newest first (the older link's cursor).
Before = Annotated[int | None, Query(ge=1)]


@router.get("/", response_class=HTMLResponse)
def timeline(
    request: Request,
    engine: Store,
    filters: Annotated[Filters, Depends(parse_filters)],
    page: Page = 1,
    before: Before = None,
) -> Response:
    """The changes, newest first, one page at a time, with the filter form."""
    if redirect := without_empty(request):
        return redirect
    params = filters.params()
    documents = document_names(engine)
    shown = listing(engine, filters, page, params, before)
    if not shown.total:
        check_tracked(engine, filters)
    # an empty history is said as such, whatever the filters: there is no selection to blame
    recorded = bool(shown.total) or bool(count(engine, Filters(include_noise=True)))
    noise = {} if shown.total else hidden(engine, filters)  # said when it leaves nothing shown
    widened = [] if shown.total or noise else wider(engine, filters)
    return _page(
        request,
        "timeline.html",
        listing=shown,
        recorded=recorded,
        filters=filters,
        feed_query=urlencode(params),
        hidden_note=noise_hidden(noise) if noise else "",
        noise_query=urlencode({**params, "all": "1"}),
        wider=[(way.label, urlencode(way.filters.params()), way.total) for way in widened],
        services=sorted({row.service for row in documents}, key=str.lower),
        documents=documents,
        categories=categories(),
    )


# The timeline's filters that apply to what takes effect: dates of detection and noise do not.
_UPCOMING_FILTERS = ("service", "document", "category", "min_severity")


@router.get("/upcoming", response_class=HTMLResponse)
def upcoming_page(
    request: Request,
    engine: Store,
    filters: Annotated[Filters, Depends(parse_filters)],
    within: Within = 90,
) -> Response:
    """The changes taking effect from today on, soonest first: what to act on, and by when.
    Nothing recorded yet is said as the timeline says it: "No change takes effect in the next
    90 days for this selection", and its "Look further", told an empty store nothing."""
    if redirect := without_empty(request):
        return redirect
    coming = upcoming(engine, filters, within)
    if not coming.rows:
        check_tracked(engine, filters)
    recorded = bool(coming.rows) or bool(count(engine, Filters(include_noise=True)))
    documents = document_names(engine)
    kept = {name: value for name, value in filters.params().items() if name in _UPCOMING_FILTERS}
    # the selection in words, for the title, of the filters the page takes (not `since`, `all`)
    shown = replace(filters, since=None, until=None, include_noise=False)
    return _page(
        request,
        "upcoming.html",
        selection=shown.described() if kept else "",
        rows=coming.rows,
        recorded=recorded,
        documents=documents,
        unstated=coming.unstated,
        filters=filters,
        kept=kept,
        further_query=urlencode({**kept, "within": "0"}),
        within=within,
        windows=[*sorted({30, 90, 365, within} - {0}), 0],
        services=sorted({row.service for row in documents}, key=str.lower),
    )


@router.get("/changes/{change_id}", response_class=HTMLResponse)
def change(
    request: Request,
    engine: Store,
    change_id: int,
    view: Literal["side", "inline"] = "side",
    include_noise: Noise = False,
) -> HTMLResponse:
    """One change: the verdict, the matched sentences, and the diff by section.

    Previous and next step over noise, as the timeline hides it, unless the page was opened
    from a list that shows noise (`?all=1`, which the links then keep)."""
    detail = get_change(engine, change_id)
    if detail is None:
        raise HTTPException(404, f"no change with id {change_id}")
    caught = detail.change.matched_sentences()
    found = diffview.sections(
        detail.old_text, detail.new_text, [sentence.sentence for sentence in caught]
    )
    previous_id, next_id = neighbour_changes(engine, change_id, include_noise=include_noise)
    return _page(
        request,
        "change.html",
        row=detail.change,
        reverted=reverts(engine, [change_id]).get(change_id) if detail.change.meaningful else None,
        matched=caught,
        holders=diffview.holders(found, len(caught)),
        sections=found,
        view=view,
        old_seq=detail.old_seq,
        new_seq=detail.new_seq,
        skipped=detail.skipped,
        previous_id=previous_id,
        next_id=next_id,
        noise_query="?all=1" if include_noise else "",
    )


@router.get("/documents", response_class=HTMLResponse)
def documents(request: Request, engine: Store) -> HTMLResponse:
    """What is tracked and how its fetching goes; each one's last meaningful change, a link
    to it."""
    return _page(
        request,
        "documents.html",
        documents=list_documents(engine),
        latest=last_meaningful_ids(engine),
    )


# Before `/documents/{key:path}`, whose path would take `KEY/compare` for a key.
@router.get("/documents/{key:path}/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    engine: Store,
    key: str,
    first: From,
    to: To = None,
    view: Literal["side", "inline"] = "side",
) -> HTMLResponse:
    """Two versions of a document however far apart (`to`: the latest unless given): all that
    changed since a version was read (a contract signed, a review done), with the changes that
    led from one to the other."""
    compared = comparison(engine, key, first, to)
    before, after = compared.before, compared.after
    return _page(
        request,
        "compare.html",
        before=before,
        after=after,
        meaningful=compared.meaningful,
        noise=compared.noise,
        sections=diffview.sections(before.text, after.text),
        view=view,
        keep=f"&from={before.seq}&to={after.seq}",
    )


# Before `/documents/{key:path}`, whose path would take `KEY/versions/N` for a key.
@router.get("/documents/{key:path}/versions/{seq}", response_class=HTMLResponse)
def version(
    request: Request, engine: Store, key: str, seq: Annotated[int, PathParam(ge=1)]
) -> HTMLResponse:
    """One version's whole text: what the page said from when it was first seen until the
    next version, with the changes that led to it and away from it."""
    detail = version_or_404(engine, key, seq)
    return _page(request, "version.html", detail=detail, sections=diffview.outline(detail.text))


@router.get("/documents/{key:path}", response_class=HTMLResponse)
def document(
    request: Request,
    engine: Store,
    key: str,
    page: Page = 1,
    versions_page: Page = 1,
    before: Before = None,
) -> HTMLResponse:
    """One document: fetch health, its changes (noise included, a page at a time) and versions
    over time, its latest text.

    A page that flaps buries its few meaningful changes under pages of noise (Instagram's
    terms: 31 in 756), so how many are meaningful is said, with the timeline that shows them.
    Its changes and its versions are paged apart, each pager keeping the other's page."""
    detail = get_document(engine, key)
    if detail is None:
        raise no_document(engine, key)
    changes_at = {"page": str(page)} if page > 1 else {}
    if before is not None:
        changes_at["before"] = str(before)
    versions_at = {"versions_page": str(versions_page)} if versions_page > 1 else {}
    history = listing(engine, Filters(document=key, include_noise=True), page, versions_at, before)
    versions = version_list(detail.versions, versions_page, changes_at)
    meaningful = count(engine, Filters(document=key))
    return _page(
        request,
        "document.html",
        detail=detail,
        listing=history,
        versions=versions,
        meaningful=meaningful,
        latest=last_meaningful_ids(engine, detail.document.key),
        **_pace(request, engine, detail.document.key),
    )


def _pace(request: Request, engine: Engine, key: str) -> dict[str, Any]:
    """The document's pace for its page: `paced` is false for an app given no catalog,
    `pace` None when the catalog no longer holds the document, `unread` when the catalog (or
    the settings that pace it) could not be read."""
    loader: CatalogLoader | None = request.app.state.catalog
    if loader is None:
        return {"paced": False}
    catalog = loader()
    if catalog is None:
        return {"paced": True, "unread": True}
    return {"paced": True, "pace": pace_of(engine, catalog, key, utcnow())}


MACHINE_PREFIXES = ("/api/", "/feeds/", "/static/")
TITLES = {401: "Token required", 404: "Not found", 422: "Not a valid request", 500: "Server error"}
SERVER_ERROR = (
    "Something went wrong on the server's side: this page could not be made. What, the output of "
    "policywatch serve says; the other pages may still work."
)


async def http_error_page(request: Request, error: Exception) -> Response:
    """A page's 404 (an old link from an alert, a mistyped address) as a page with a way back;
    the API and the feeds keep FastAPI's JSON, which their clients parse."""
    assert isinstance(error, StarletteHTTPException), "the handler of HTTP errors only"
    if request.url.path.startswith(MACHINE_PREFIXES):
        return await http_exception_handler(request, error)
    message = error.detail
    if error.status_code == 404 and message == "Not Found":  # no route: Starlette's own words
        message = "There is no page at this address."
    return error_page(request, error.status_code, message)


async def invalid_request_page(request: Request, error: Exception) -> Response:
    """A page's bad parameter (a filter typed by hand) as a page; JSON for the API and feeds."""
    assert isinstance(error, RequestValidationError), "the handler of invalid requests only"
    if request.url.path.startswith(MACHINE_PREFIXES):
        return await request_validation_exception_handler(request, error)
    return error_page(request, 422, _invalid(error))


async def server_error_page(request: Request, error: Exception) -> Response:
    """An unforeseen failure (a store gone, a bug) as a page with a way back, not a bare
    "Internal Server Error"; the API and the feeds answer in JSON, as for their other errors.
    The reason stays in the server's log: it may name the database and its address."""
    if request.url.path.startswith(MACHINE_PREFIXES):
        return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    return error_page(request, 500, SERVER_ERROR)


def error_page(request: Request, status: int, message: str) -> Response:
    """The error page: its reason in words, and links back to the timeline and documents."""
    context = {"status": status, "title": TITLES.get(status, f"Error {status}"), "message": message}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def _invalid(error: RequestValidationError) -> str:
    """`page: Input should be greater than or equal to 1`, one clause per bad parameter (the
    address's own, which names none, without a name)."""
    clauses = []
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"][1:])
        clauses.append(f"{name}: {problem['msg']}" if name else problem["msg"])
    return "; ".join(clauses)
