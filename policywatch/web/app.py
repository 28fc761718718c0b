"""The review web app: `create_app(engine)` wires pages, feeds and the JSON API over one store.

Safety lives here, in one place: a token guards everything but the feeds, the stylesheet and the
icon when one is configured (the `serve` command insists on it off loopback), and every response
carries a Content-Security-Policy that forbids scripts, so even a templating mistake could not run
a policy page's `<script>`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policywatch.web import addresses, api, errors, feeds, pages
from policywatch.web.pace import CatalogLoader
from policywatch.web.renamed import redirect_renamed
from policywatch.web.selection import LONGEST, invalid

TOKEN_COOKIE = "policywatch_token"
OPEN_PREFIXES = ("/feeds/", "/static/", "/favicon.ico")
STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
TOKEN_HELP = (
    "This page needs the token policywatch serve was started with. Open the address once with "
    "?token=YOUR-TOKEN at its end (for instance /?token=YOUR-TOKEN); the browser then keeps it "
    "in a cookie and drops it from the address."
)
WRONG_TOKEN_HELP = (
    "The token given is not the one policywatch serve was started with. Open the address with "
    "?token=YOUR-TOKEN at its end, with the token the site's keeper gave you."
)
ELSEWHERE = (
    "421: served without a token, this site answers only to this machine's names (localhost,"
    " 127.0.0.1, [::1]) and the host of its --base-url; open it by one of those"
)
NUL = "should hold no NUL character (%00), which no name has"
LONGER = f"should have at most {LONGEST} characters, more than any name or key has"
Next = Callable[[Request], Awaitable[Response]]


def _presented_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)


def _guard(token: str) -> Callable[[Request, Next], Awaitable[Response]]:
    """Middleware: a request without the token gets a 401, except for the feeds, CSS and icon.

    What it guards is answered `Cache-Control: private`, for no shared cache to keep. A
    browser can open `/?token=…` once: the token is then kept in an HttpOnly cookie, and the
    browser is sent on to the same address without it, so the token stays out of the address
    bar, the history and bookmarks.
    """

    async def check(request: Request, call_next: Next) -> Response:
        if request.url.path.startswith(OPEN_PREFIXES):
            return await call_next(request)
        presented = _presented_token(request)
        if not hmac.compare_digest((presented or "").encode(), token.encode()):
            return _refusal(request, wrong=presented is not None)
        if "token" not in request.query_params:
            response = await call_next(request)
            # Opened with the token: a caching proxy or CDN in front must not keep it for
            # others (a cookie, unlike the Authorization header, does not stop it).
            response.headers.setdefault("Cache-Control", "private")
            return response
        response = RedirectResponse(
            addresses.address(request, lambda name, _: name != "token"), status_code=303
        )
        # Lax, not Strict: an alert's "Review this change" link comes from another site (a mail,
        # a chat) and must carry the cookie; every route here is a read-only GET. Its path is
        # the app's: under a proxy's /pw/, `/` sent the token to every other site it serves.
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            path=request.app.state.root or "/",
            httponly=True,
            samesite="lax",
            secure=_over_https(request),
        )
        return response

    return check


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _local_only(base_url: str | None) -> Callable[[Request, Next], Awaitable[Response]]:
    """Middleware of a site served without a token: a 421 for a request whose Host names
    neither this machine nor the base URL's host (a proxy's).

    Bound to loopback, the site is out of other machines' reach, but not of the pages the
    user's browser opens: one whose own name is made to resolve anew to 127.0.0.1 (DNS
    rebinding) is then of one origin with this site, and reads every page and the API. Its
    requests still carry its own name in the Host header. A token, when set, guards instead.
    """
    public = urlsplit(base_url).hostname if base_url else None

    async def check(request: Request, call_next: Next) -> Response:
        named = urlsplit("//" + request.headers.get("host", "")).hostname or ""
        if is_loopback(named) or named == public:
            return await call_next(request)
        return PlainTextResponse(ELSEWHERE, status_code=421)

    return check


def _over_https(request: Request) -> bool:
    """Whether the browser reached the site over https (directly, or through the proxy the
    configured base URL names): the cookie is then `Secure`, never sent in clear text."""
    base: str = request.app.state.base_url or ""
    return request.url.scheme == "https" or base.startswith("https:")


def _refusal(request: Request, *, wrong: bool) -> Response:
    """A 401 that says what to do: a page for a browser, JSON for the API (as its other
    errors: a script's `response.json()` failed on a line of text), else a line of text. A
    token that was given but is wrong is said to be wrong (never echoed), not to be missing."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if "text/html" in request.headers.get("accept", ""):
        response = errors.error_page(request, 401, WRONG_TOKEN_HELP if wrong else TOKEN_HELP)
        response.headers.update(challenge)
        return response
    reason = "the token given is wrong" if wrong else "a token is required"
    said = f"{reason} (Authorization: Bearer, or ?token=)"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": said}, status_code=401, headers=challenge)
    return PlainTextResponse(f"401: {said}", status_code=401, headers=challenge)


async def _headers(request: Request, call_next: Next) -> Response:
    response = await call_next(request)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    # frame-ancestors 'none' says it to browsers that read CSP; this, to those that do not.
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _plausible(request: Request) -> None:
    """A 422 for an address no name, key or filter makes: one holding a NUL character (`%00`),
    which PostgreSQL refuses in a query (each page, feed and API call asked with one answered a
    bare 500: a scanner's probe, a value pasted from a binary), or one longer than `LONGEST`
    characters, path or value (a service or category of 60,000 made a LIKE pattern SQLite
    calls "too complex": a 500 again)."""
    path = request.scope["path"]
    if "\x00" in path:
        raise invalid("path", None, path, f"The address {NUL}")
    if len(path) > LONGEST:
        raise invalid("path", None, path, f"The address {LONGER}")
    for name, value in request.query_params.multi_items():
        if "\x00" in name + value:
            raise invalid("query", name, value, f"Input {NUL}")
        if len(value) > LONGEST:
            raise invalid("query", name, value, f"Input {LONGER}")


class _HeadAsGet:
    """Every GET route answers HEAD too: the GET's status and headers, without its body.

    FastAPI routes answer only the methods they are declared with, so a monitor or a link
    checker, which sends HEAD, was told 405 by `/api/documents`, `/api/changes/ID` or
    `/favicon.ico`. Asked as GET, the headers are the GET's own (its length, compressed or not).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def _favicon() -> FileResponse:
    """The icon at the address browsers and feed readers ask for unprompted (JSON responses
    and feeds link to no icon): the SVG of the pages, so no load ends in a 404."""
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


def create_app(
    engine: Engine,
    *,
    token: str | None = None,
    base_url: str | None = None,
    catalog: CatalogLoader | None = None,
    local: bool = False,
) -> FastAPI:
    """The app over `engine`; `token` guards all but the feeds; `base_url` makes feed links;
    `catalog` gives each document page its pace (none without it); `local` answers only
    requests naming this machine or the base URL's host (`serve` without a token)."""
    app = FastAPI(
        title="policywatch",
        summary="Changes of platform policy pages: timeline, diffs, feeds, JSON API.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # Swagger UI loads its scripts from a CDN: unreachable offline, no CSP
        redoc_url=None,
        dependencies=[Depends(_plausible)],
    )
    app.state.engine = engine
    app.state.base_url = base_url
    app.state.catalog = catalog
    # A proxy may serve the app under the base URL's path (`https://example.org/pw/` proxied to
    # `/`): the pages' links and redirects then start with it.
    app.state.root = urlsplit(base_url).path.rstrip("/") if base_url else ""
    app.middleware("http")(redirect_renamed)  # added first, so it runs after the guard
    if token:
        app.middleware("http")(_guard(token))
    if local:
        app.middleware("http")(_local_only(base_url))
    app.middleware("http")(_headers)  # added last, so it runs first: refusals get headers too
    # A big change page is 800 KB of HTML, 96 KB compressed: seconds less on a phone's network.
    # Level 6 takes 15 ms on it (9, the default, 33 ms for 3% less).
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(_HeadAsGet)  # outermost: the headers are those of the GET, compressed
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.get("/favicon.ico", include_in_schema=False)(_favicon)
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.add_exception_handler(StarletteHTTPException, errors.http_error_page)
    app.add_exception_handler(RequestValidationError, errors.invalid_request_page)
    app.add_exception_handler(Exception, errors.server_error_page)
    return app
