"""Atom feeds of changes: for everything, a service, a document, or a minimum severity.

Feeds are built with ElementTree, which escapes text for XML; characters XML cannot carry at all
(control characters a scraped page may hold) are dropped first, so a hostile page can neither
inject markup nor make the feed unparseable. An entry's content is HTML whose every piece of
fetched text is escaped before ElementTree escapes the whole again, as `type="html"` wants.
Feeds stay readable without the token: feed readers cannot log in, and they show only what the
timeline shows.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime
from html import escape
from typing import Annotated
from urllib.parse import quote, urlencode
from uuid import UUID, uuid5

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import Engine

from policywatch.web.selection import Filters, changes, parse_filters, store
from policywatch.web.templating import is_web
from store.queries import SEVERITIES, ChangeRow, tracked_names

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
# The namespace of the feed and entry ids made without a configured base URL (see `entry_id`).
_IDS = UUID("5f0c2b1e-6d1a-4c47-9a53-0c8f3a1d7e42")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

router = APIRouter(prefix="/feeds", tags=["feeds"])


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: _clean(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _clean(text)
    return element


def _quoted(row: ChangeRow) -> list[tuple[str, str]]:
    """The sentences the rules matched, with their rules; when none did, the first sentences
    that changed, as alerts quote them: a count alone ("1 sentence changed") tells nothing.
    Each with its old wording when it was reworded ("" otherwise): "up to 100 messages per
    second" alone would hide that it was 1,000."""
    matched = [
        (f"[{', '.join(caught.rule_ids)}] {caught.sentence}", caught.before)
        for caught in row.matched_sentences()
    ]
    return matched or [
        (f"{excerpt['side']}: {excerpt['sentence']}", excerpt.get("before", ""))
        for excerpt in row.excerpts
    ]


def _item(line: str, before: str) -> str:
    was = f"<del>was: {escape(before)}</del><br>" if before else ""
    return f"<li>{was}{escape(line)}</li>"


def _entry_html(row: ChangeRow) -> str:
    """An entry's content as HTML (`type="html"`), every piece of fetched text escaped: feed
    readers run the lines of a `type="text"` entry together."""
    facts = [f"Severity: {row.severity}"] if row.severity else []
    if row.categories:
        facts.append(f"Categories: {', '.join(row.categories)}")
    if row.effective_date:
        facts.append(f"Effective: {row.effective_as_given}")
    if row.redeclared:
        facts.append("Read right after the document's declaration changed")
    paragraphs = [*row.summary.strip().splitlines(), " · ".join(facts)]
    html = "".join(f"<p>{escape(text)}</p>" for text in paragraphs if text)
    quoted = _quoted(row)
    if quoted:
        html += "<ul>" + "".join(_item(line, before) for line, before in quoted) + "</ul>"
    return html


def _updated(row: ChangeRow) -> datetime:
    """When an entry last changed: found, or judged anew since (a new summary, a new severity),
    which a reader shows again only when its `updated` moves."""
    return max(row.detected_at, row.rejudged_at or row.detected_at)


def entry_id(row: ChangeRow, configured: str | None) -> str:
    """The permanent id of a change's entry: its address under the configured base URL, else a
    UUID of the change alone (its id and when it was found, so two stores' change 1 differ).
    Made of the address a request named, it changed with the host name a reader used
    (`localhost`, the machine's name, its address), and readers showed each change again."""
    if configured:
        return f"{configured}changes/{row.id}"
    return f"urn:uuid:{uuid5(_IDS, f'{row.id} {row.detected_at.isoformat()}')}"


def feed_id(address: str, configured: str | None) -> str:
    """The permanent id of the feed at `address` (`canonical_address`): that address under the
    configured base URL, else a UUID of the address alone. Under the address a request named,
    a reader that read the feed as `localhost` and as the machine's name held two feeds."""
    if configured:
        return configured + address
    return f"urn:uuid:{uuid5(_IDS, address)}"


def render_feed(
    rows: list[ChangeRow],
    *,
    title: str,
    address: str,
    page_url: str,
    base: str,
    configured: str | None,
) -> bytes:
    """An Atom document of `rows`, the feed at `address` under the site; `page_url` is the HTML
    page of the same selection, `base` the site's absolute URL and `configured` the base URL
    set for it, if any, ending in '/'."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    self_url = base + address
    _add(feed, "id", feed_id(address, configured))
    _add(feed, "title", title)
    updated = max((_updated(row) for row in rows), default=datetime(2000, 1, 1, tzinfo=UTC))
    _add(feed, "updated", updated.isoformat())
    _add(_add(feed, "author"), "name", "policywatch")
    _add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    _add(feed, "link", rel="alternate", href=page_url, type="text/html")
    for row in rows:
        entry = _add(feed, "entry")
        link = f"{base}changes/{row.id}"
        _add(entry, "id", entry_id(row, configured))
        severity = f"[{row.severity}] " if row.severity else ""
        _add(entry, "title", f"{severity}{row.service} · {row.document_type}: {row.summary}")
        _add(entry, "updated", _updated(row).isoformat())
        _add(entry, "published", row.detected_at.isoformat())
        _add(entry, "link", rel="alternate", href=link, type="text/html")
        if is_web(row.url):  # an imported document's `file://` folder is no link
            _add(entry, "link", rel="related", href=row.url)
        for category in row.categories:
            _add(entry, "category", term=category)
        _add(entry, "content", _entry_html(row), type="html")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def configured_base(request: Request) -> str | None:
    """The base URL set for the site (`--base-url`, `base_url`), ending in '/', if any."""
    base: str | None = request.app.state.base_url
    return base and _slashed(base)


def site_base(request: Request) -> str:
    """The absolute URL of the site: the configured base URL, else the one the request used."""
    return configured_base(request) or _slashed(str(request.base_url))


def _slashed(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _service_name(engine: Engine, typed: str) -> str:
    """A service's own name as the catalog writes it ("Threads" for "threads", "Acme
    Messenger" for its slug "acme-messenger"), or the name as typed when nothing by that name
    is tracked (yet)."""
    return tracked_names(engine).service(typed) or typed


def feed_title(filters: Filters) -> str:
    """The selection in words, as in "policywatch: Threads, high and above". A filtered feed
    titled "all changes" read as the whole site."""
    return "policywatch: " + filters.described()


# The filters a feed's address can carry in its path, most specific first, with their folder.
_PATH_FILTERS = (("document", "document"), ("service", "service"), ("min_severity", "severity"))


def canonical_address(filters: Filters) -> str:
    """The one address, under the site, of the feed of `filters`: its id and self link.

    A selection reached as `/feeds/all.atom?service=x`, `/feeds/service/X.atom` or
    `/feeds/service/x.atom?service=y` is one feed, so a reader subscribing twice, as typed
    differently, finds one feed: service and document case-folded (they select in any case),
    the most specific of them carried in the path, the rest as parameters. The path is
    percent-encoded (Starlette hands it decoded), so a key or service name with a space, `<`
    or an accent still makes a valid IRI."""
    params = replace(
        filters,
        service=filters.service and filters.service.lower(),
        document=filters.document and filters.document.lower(),
    ).params()
    path = "feeds/all.atom"
    for name, folder in _PATH_FILTERS:
        if name in params:
            path = f"feeds/{folder}/{params.pop(name)}.atom"
            break
    query = urlencode(params)
    return quote(path) + (f"?{query}" if query else "")


def _feed(request: Request, engine: Engine, filters: Filters) -> Response:
    """The feed of `filters`, under its canonical address; its HTML page is the timeline of the
    same selection."""
    if filters.service:  # one feed, one id, whether named by name or by slug
        filters = replace(filters, service=_service_name(engine, filters.service))
    base, configured = site_base(request), configured_base(request)
    page_query = urlencode(filters.params())
    page_url = base + (f"?{page_query}" if page_query else "")
    title = feed_title(filters)
    rows = changes(engine, filters, limit=FEED_SIZE)
    body = render_feed(
        rows,
        title=title,
        address=canonical_address(filters),
        page_url=page_url,
        base=base,
        configured=configured,
    )
    return _conditional(request, body)


def _conditional(request: Request, body: bytes) -> Response:
    """The feed, tagged with an ETag of its bytes; a 304 without them to a reader that sends
    the tag it holds (`If-None-Match`): most poll every few minutes, and a feed is 50 entries
    of HTML. Weak (`W/`): the same feed is sent gzip-compressed or not. The tag is of the body,
    not of the newest change's date, so a change rejudged (a new summary) is sent anew."""
    etag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
    held = {tag.strip() for tag in request.headers.get("if-none-match", "").split(",")}
    if held & {etag, etag[2:], "*"}:  # a weak comparison, as RFC 9110 says
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, media_type="application/atom+xml; charset=utf-8", headers={"ETag": etag})


Selection = Annotated[Filters, Depends(parse_filters)]
Store = Annotated[Engine, Depends(store)]


@router.get("/all.atom", response_class=Response)
def feed_all(request: Request, engine: Store, filters: Selection) -> Response:
    """Every meaningful change (the timeline's filters apply as query parameters)."""
    return _feed(request, engine, filters)


@router.get("/service/{name}.atom", response_class=Response)
def feed_service(request: Request, engine: Store, filters: Selection, name: str) -> Response:
    """The changes of one service, by name (any case)."""
    return _feed(request, engine, replace(filters, service=name))


@router.get("/severity/{level}.atom", response_class=Response)
def feed_severity(request: Request, engine: Store, filters: Selection, level: str) -> Response:
    """The changes at least as severe as `level` (any case)."""
    level = level.lower()
    if level not in SEVERITIES:
        raise HTTPException(404, f"severity must be one of {', '.join(SEVERITIES)}")
    return _feed(request, engine, replace(filters, min_severity=level))


@router.get("/document/{key:path}.atom", response_class=Response)
def feed_document(request: Request, engine: Store, filters: Selection, key: str) -> Response:
    """The changes of one document, by key (`service/document-type`); no key is no feed (an
    empty key would select every document)."""
    if not key.strip("/"):
        raise HTTPException(404, "a document feed needs a key: /feeds/document/SERVICE/TYPE.atom")
    return _feed(request, engine, replace(filters, document=key))
