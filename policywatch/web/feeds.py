"""Atom feeds of changes: for everything, a service, a document, or a minimum severity.

Feeds are built with ElementTree, which escapes text for XML; characters XML cannot carry at all
(control characters a scraped page may hold) are dropped first, so a hostile page can neither
inject markup nor make the feed unparseable. Feeds stay readable without the token: feed
readers cannot log in, and they show only what the timeline shows.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import Engine

from policywatch.web.selection import Filters, changes, parse_filters, store
from store.queries import SEVERITIES, ChangeRow

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

router = APIRouter(prefix="/feeds", tags=["feeds"])


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _entry_text(row: ChangeRow) -> str:
    lines = [row.summary]
    if row.severity:
        lines.append(f"Severity: {row.severity}")
    if row.categories:
        lines.append(f"Categories: {', '.join(row.categories)}")
    if row.effective_date:
        lines.append(f"Effective: {row.effective_date.isoformat()}")
    lines += [
        f"[{', '.join(caught.rule_ids)}] {caught.sentence}" for caught in row.matched_sentences()
    ]
    return "\n".join(lines)


def render_feed(
    rows: list[ChangeRow], *, title: str, self_url: str, page_url: str, base: str
) -> bytes:
    """An Atom document of `rows`; `page_url` is the HTML page of the same selection and `base`
    the site's absolute URL, ending in '/'."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", self_url)
    _add(feed, "title", title)
    updated = rows[0].detected_at if rows else datetime(2000, 1, 1, tzinfo=UTC)
    _add(feed, "updated", updated.isoformat())
    _add(_add(feed, "author"), "name", "policywatch")
    _add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=page_url, type="text/html")
    for row in rows:
        entry = _add(feed, "entry")
        link = f"{base}changes/{row.id}"
        _add(entry, "id", link)
        severity = f"[{row.severity}] " if row.severity else ""
        _add(entry, "title", f"{severity}{row.service} · {row.document_type}: {row.summary}")
        _add(entry, "updated", row.detected_at.isoformat())
        _add(entry, "link", rel="alternate", href=link, type="text/html")
        _add(entry, "link", rel="related", href=row.url)
        for category in row.categories:
            _add(entry, "category", term=category)
        _add(entry, "content", _entry_text(row), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def site_base(request: Request) -> str:
    """The absolute URL of the site: the configured base URL, else the one the request used."""
    base: str = request.app.state.base_url or str(request.base_url)
    return base if base.endswith("/") else base + "/"


def _feed(request: Request, engine: Engine, filters: Filters, title: str) -> Response:
    """The feed of `filters`. Its path is percent-encoded again (Starlette hands it decoded), so
    a key or service name with a space, `<` or an accent still makes a valid IRI for its id;
    its HTML page is the timeline of the same selection."""
    base = site_base(request)
    query = urlencode(filters.params())
    suffix = f"?{query}" if query else ""
    self_url = base + quote(request.url.path.lstrip("/")) + suffix
    rows = changes(engine, filters, limit=FEED_SIZE)
    body = render_feed(rows, title=title, self_url=self_url, page_url=base + suffix, base=base)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


Selection = Annotated[Filters, Depends(parse_filters)]
Store = Annotated[Engine, Depends(store)]


@router.get("/all.atom", response_class=Response)
@router.head("/all.atom", include_in_schema=False)  # readers probe with HEAD
def feed_all(request: Request, engine: Store, filters: Selection) -> Response:
    """Every meaningful change (the timeline's filters apply as query parameters)."""
    return _feed(request, engine, filters, "policywatch: all changes")


@router.get("/service/{name}.atom", response_class=Response)
@router.head("/service/{name}.atom", include_in_schema=False)  # readers probe with HEAD
def feed_service(request: Request, engine: Store, filters: Selection, name: str) -> Response:
    """The changes of one service, by name (any case)."""
    selection = replace(filters, service=name)
    return _feed(request, engine, selection, f"policywatch: {name}")


@router.get("/severity/{level}.atom", response_class=Response)
@router.head("/severity/{level}.atom", include_in_schema=False)  # readers probe with HEAD
def feed_severity(request: Request, engine: Store, filters: Selection, level: str) -> Response:
    """The changes at least as severe as `level` (any case)."""
    level = level.lower()
    if level not in SEVERITIES:
        raise HTTPException(404, f"severity must be one of {', '.join(SEVERITIES)}")
    selection = replace(filters, min_severity=level)
    return _feed(request, engine, selection, f"policywatch: {level} and above")


@router.get("/document/{key:path}.atom", response_class=Response)
@router.head("/document/{key:path}.atom", include_in_schema=False)  # readers probe with HEAD
def feed_document(request: Request, engine: Store, filters: Selection, key: str) -> Response:
    """The changes of one document, by key (`service/document-type`)."""
    selection = replace(filters, document=key)
    return _feed(request, engine, selection, f"policywatch: {key}")
