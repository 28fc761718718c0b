"""The HTML pages: timeline, upcoming, change, documents, document, compare, version.

Each page reads through the same functions as the JSON API (`selection.changes`, the `store.queries`
getters) and hands plain rows to Jinja2, whose autoescaping is on for every template: fetched text
is data and is never marked safe.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine

from policywatch.web import diffview
from policywatch.web.addresses import without_empty
from policywatch.web.pace import CatalogLoader, pace_of
from policywatch.web.pagers import listing, version_list
from policywatch.web.selection import (
    Filters,
    From,
    To,
    Within,
    categories,
    check_tracked,
    comparison,
    count,
    hidden,
    no_document,
    parse_filters,
    store,
    upcoming,
    version_or_404,
    wider,
)
from policywatch.web.templating import render
from policywatch.wording import noise_hidden
from store.models import utcnow
from store.queries import (
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
    return render(
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
    return render(
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
    return render(
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
    return render(
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
    return render(
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
    return render(request, "version.html", detail=detail, sections=diffview.outline(detail.text))


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
    return render(
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
