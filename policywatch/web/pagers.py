"""Lists shown a page at a time, newest first: where a page stands and the links either side.

A history grows at its top while it is read: the older and newer links carry a cursor (the
change a page starts after), not only a page number, so that neither skips nor repeats a change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from sqlalchemy import Engine

from policywatch.web.selection import (
    PAGE_SIZE,
    Filters,
    changes,
    count,
    newer_than,
)
from store.queries import (
    ChangeRow,
    Revert,
    VersionRow,
    reverts,
)


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
