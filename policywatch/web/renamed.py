"""The addresses of a renamed document under a key it had: sent on to its key now.

A bookmark of a document's page, a feed reader's subscription to its feed and a script calling
the API name the document by key; a document renamed (the catalog's `formerly`, or migration
0017's new spelling) keeps its old keys in the store, and an address under one is answered with
a permanent redirect (308: a feed reader updates its subscription) to the same address under
the new key, its query kept. So is a filter by an old name (`?service=twitter`,
`/feeds/service/twitter.atom`, `?document=twitter/terms`): sent on to the service every document
of which was renamed to one other service's keys, or to the document's key now; an old name some
document still bears filters as it did.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from crawlers.declarations import slugify
from policywatch.web.selection import LONGEST
from store.renames import current_key, current_service

# The addresses that name a document by key (`service/type`), and what follows the key.
_KEYED = re.compile(
    r"(?P<before>/(?:api/)?documents/)(?P<key>[^/]+/[^/]+)(?P<after>/compare|/versions/[^/]+)?"
    r"|(?P<feed>/feeds/document/)(?P<feed_key>[^/]+/[^/]+)\.atom"
)
_FILTERED = re.compile(r"(?:^|&)(?:service|document)=[^&]")
_SERVICE_FEED = re.compile(r"/feeds/service/(?P<name>[^/]+)\.atom")


async def redirect_renamed(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: a 308 to the address under the new key, for one under an old key, and to
    the address filtering by the new name, for one filtering by an old one."""
    found = _KEYED.fullmatch(request.url.path)
    if found is None:
        if not _FILTERED.search(request.url.query) and not _SERVICE_FEED.fullmatch(
            request.url.path
        ):
            return await call_next(request)  # most requests: no filter by name, no thread
        sent_on = await run_in_threadpool(_refiltered, request)
        return (
            await call_next(request)
            if sent_on is None
            else RedirectResponse(f"{request.app.state.root}{sent_on}", status_code=308)
        )
    key = found["key"] or found["feed_key"]
    now = (
        await run_in_threadpool(current_key, request.app.state.engine, key) if _named(key) else None
    )
    if now is None:
        return await call_next(request)
    if found["feed"]:
        path = f"{found['feed']}{quote(now)}.atom"
    else:
        path = f"{found['before']}{quote(now)}{found['after'] or ''}"
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.app.state.root}{path}{query}", status_code=308)


def _refiltered(request: Request) -> str | None:
    """The address (path and query) filtering by the names now of an old service name or key
    that `request` filters by, or None when it names none; a query without such a filter costs
    no query of the store."""
    engine = request.app.state.engine
    path, renamed = request.url.path, False
    if feed := _SERVICE_FEED.fullmatch(path) if _named(path) else None:
        now = current_service(engine, slugify(feed["name"]))
        if now is not None:
            path, renamed = f"/feeds/service/{quote(now)}.atom", True
    params = parse_qsl(request.url.query, keep_blank_values=True)
    for index, (name, value) in enumerate(params):
        now = None
        if name == "service" and _named(value):
            now = current_service(engine, slugify(value))
        elif name == "document" and _named(value):
            now = current_key(engine, value)
        if now is not None:
            params[index], renamed = (name, now), True
    if not renamed:
        return None
    query = urlencode(params, safe="/")
    return f"{path}?{query}" if query else path


def _named(value: str) -> bool:
    """Whether `value` may be a name to look up: the app's guard answers the others with a 422
    after this middleware (PostgreSQL refuses a NUL in a query)."""
    return bool(value) and "\x00" not in value and len(value) <= LONGEST
