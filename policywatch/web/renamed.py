"""The addresses of a renamed document under a key it had: sent on to its key now.

A bookmark of a document's page, a feed reader's subscription to its feed and a script calling
the API name the document by key; a document renamed (the catalog's `formerly`, or migration
0017's new spelling) keeps its old keys in the store, and an address under one is answered with
a permanent redirect (308: a feed reader updates its subscription) to the same address under
the new key, its query kept.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from store.renames import current_key

# The addresses that name a document by key (`service/type`), and what follows the key.
_KEYED = re.compile(
    r"(?P<before>/(?:api/)?documents/)(?P<key>[^/]+/[^/]+)(?P<after>/compare|/versions/[^/]+)?"
    r"|(?P<feed>/feeds/document/)(?P<feed_key>[^/]+/[^/]+)\.atom"
)


async def redirect_renamed(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: a 308 to the address under the new key, for one under an old key."""
    found = _KEYED.fullmatch(request.url.path)
    if found is None:
        return await call_next(request)
    key = found["key"] or found["feed_key"]
    now = await run_in_threadpool(current_key, request.app.state.engine, key)
    if now is None:
        return await call_next(request)
    if found["feed"]:
        path = f"{found['feed']}{quote(now)}.atom"
    else:
        path = f"{found['before']}{quote(now)}{found['after'] or ''}"
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"{request.app.state.root}{path}{query}", status_code=308)
