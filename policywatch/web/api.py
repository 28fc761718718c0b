"""The JSON API under `/api/`: the objects of `--json` on the command line, byte for byte.

Rows are serialised by their own `to_json()` (as the CLI does) rather than re-encoded by
FastAPI, so a script can switch between `policywatch history --json` and `/api/changes` without
noticing; the dataclasses still describe the responses in the OpenAPI schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from policywatch.web.selection import (
    Filters,
    From,
    To,
    Within,
    changes,
    check_tracked,
    comparison,
    count,
    no_document,
    parse_filters,
    store,
    upcoming,
    version_or_404,
)
from policywatch.wording import unified_diff
from store.outbox.given_up import document_json, documents_json, failed_by_document
from store.queries import (
    ChangeRow,
    DocumentRow,
    Revert,
    Skipped,
    VersionDetail,
    VersionInfo,
    VersionRow,
    change_detail_json,
    changes_json,
    comparison_json,
    get_change,
    get_document,
)

router = APIRouter(prefix="/api", tags=["api"])
AFTER = (
    "Only changes recorded after the change of this id, oldest first: a poller's cursor, the"
    " last id it was given."
)
Store = Annotated[Engine, Depends(store)]


@dataclass(frozen=True)
class ChangeEntry(ChangeRow):
    """A change of `history --json`: its row and the change that undid it, if one did."""

    reverted: Revert | None


@dataclass(frozen=True)
class ChangeWithDiff(ChangeEntry):
    """`show --json`: a change plus the version its verdict compared with (`from_version`
    unless broken captures were passed over: `skipped`), and the unified diff of the two."""

    compared_with: int
    skipped: list[Skipped]
    diff: str


@dataclass(frozen=True)
class ComparedVersion(VersionInfo):
    """A side of a comparison: the object of `/api/documents/KEY/versions/N` without its text,
    and `href`, that address, to ask for the text. The two whole texts are left out: of a long
    policy they would be most of the answer, and the diff already says how they differ."""

    href: str


@dataclass(frozen=True)
class VersionsCompared:
    """Two versions of a document, the older `before` (in either order asked), the meaningful
    changes that led from one to the other, oldest first, as `history --json` gives them, how
    many more were judged noise (counted, not listed), and the unified diff of the two texts."""

    key: str
    before: ComparedVersion
    after: ComparedVersion
    changes: list[ChangeEntry]
    noise: int
    diff: str


@dataclass(frozen=True)
class DocumentEntry(DocumentRow):
    """A document of `documents --json`: its row and the alerts about it given up. A dataclass,
    as its base is, or the schema would leave `failed_deliveries` out."""

    failed_deliveries: int


@dataclass(frozen=True)
class DocumentWithVersions(DocumentEntry):
    """A document of `documents --json` plus its versions, oldest first."""

    version_list: list[VersionRow]


@router.get("/changes", response_model=list[ChangeEntry])
def api_changes(
    engine: Store,
    filters: Annotated[Filters, Depends(parse_filters)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    after: Annotated[int | None, Query(ge=0, description=AFTER)] = None,
) -> JSONResponse:
    """Changes newest first, filtered as on the timeline (the fields of `history --json`); the
    `X-Total-Count` header says how many the selection holds, so that a client paging with
    `offset` knows when it has them all, and one that did not page knows it was cut.

    Paging by `offset` repeats a change when others are recorded between two pages; a poller
    asks `after` the last id it was given instead, the changes then in the order recorded."""
    total = count(engine, filters, after=after)
    if not total:
        check_tracked(engine, filters)
    # Nothing to ask the store for past the end: an offset too large for its driver was a 500.
    found = offset < total
    rows = changes(engine, filters, limit=limit, offset=offset, after=after) if found else []
    return JSONResponse(changes_json(engine, rows), headers={"X-Total-Count": str(total)})


@router.get("/upcoming", response_model=list[ChangeEntry])
def api_upcoming(
    engine: Store, filters: Annotated[Filters, Depends(parse_filters)], within: Within = 90
) -> JSONResponse:
    """Meaningful changes taking effect from today on whose date their page still states,
    soonest first (the fields and order of `upcoming --json`); `service`, `document`,
    `category` and `min_severity` filter them. The `X-Unstated-Count` header says how many more
    the selection holds whose date their page no longer states (moved, or withdrawn)."""
    coming = upcoming(engine, filters, within)
    if not coming.rows:
        check_tracked(engine, filters)
    unstated = {"X-Unstated-Count": str(coming.unstated)}
    return JSONResponse(changes_json(engine, coming.rows), headers=unstated)


@router.get("/changes/{change_id}", response_model=ChangeWithDiff)
def api_change(engine: Store, change_id: int) -> JSONResponse:
    """One change with the unified diff of the texts its verdict compared, and the broken
    captures it passed over, if any (the object of `show --json`)."""
    detail = get_change(engine, change_id)
    if detail is None:
        raise HTTPException(404, f"no change with id {change_id}")
    diff = "\n".join(unified_diff(detail.old_text, detail.new_text))
    return JSONResponse({**change_detail_json(engine, detail), "diff": diff})


@router.get("/documents", response_model=list[DocumentEntry])
def api_documents(engine: Store) -> JSONResponse:
    """Every tracked document and its fetch health (the fields of `documents --json`)."""
    return JSONResponse(documents_json(engine))


# Before `/documents/{key:path}`, whose path would take `KEY/versions/N` for a key.
@router.get("/documents/{key:path}/versions/{seq}", response_model=VersionDetail)
def api_version(engine: Store, key: str, seq: Annotated[int, Path(ge=1)]) -> JSONResponse:
    """One version of a document with its whole text (the object of `text --json`)."""
    return JSONResponse(version_or_404(engine, key, seq).to_json())


# Before `/documents/{key:path}`, whose path would take `KEY/compare` for a key.
@router.get("/documents/{key:path}/compare", response_model=VersionsCompared)
def api_compare(
    request: Request, engine: Store, key: str, first: From, to: To = None
) -> JSONResponse:
    """Versions `from` and `to` (the latest unless given) of a document, as the compare page
    shows them. The diff is one string, as in `show --json`: `jq -r .diff` hands it as a patch
    to `less`, `delta` or `diffstat`, where a list of lines would need a loop to rejoin."""
    compared = comparison(engine, key, first, to)
    address = f"{request.app.state.root}/api/documents/{quote(compared.after.key)}/versions/"
    shown = comparison_json(engine, compared)
    for side in (shown["before"], shown["after"]):
        side["href"] = f"{address}{side['seq']}"
    diff = unified_diff(compared.before.text, compared.after.text)
    return JSONResponse({**shown, "diff": "\n".join(diff)})


@router.get("/documents/{key:path}", response_model=DocumentWithVersions)
def api_document(engine: Store, key: str) -> JSONResponse:
    """One document, as in `documents --json`, with the dates of its versions."""
    detail = get_document(engine, key)
    if detail is None:
        raise no_document(engine, key)
    entry = document_json(detail.document, failed_by_document(engine))
    versions = [version.to_json() for version in detail.versions]
    return JSONResponse({**entry, "version_list": versions})
