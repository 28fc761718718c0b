"""The addresses of this site's pages as links give them: under the path the app is served at,
with the query a page keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse


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
