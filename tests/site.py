"""A real HTTP server on loopback whose pages a test can change between crawls.

It answers conditional requests like a well-behaved web server (ETag, Last-Modified, 304), and
keeps a log of every request so tests can assert what the crawler actually sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Seconds a loopback server's loop sleeps between its looks for a shutdown: at the default, 0.5,
# stopping the server at each test's end waited a quarter of a second on average.
SHUTDOWN_POLL = 0.05
HELD_MAX = 120.0  # seconds a held page waits at most: a test that never releases it still ends


def serve(server: ThreadingHTTPServer) -> None:
    """A server's loop, quick to stop (for a thread's target)."""
    server.serve_forever(poll_interval=SHUTDOWN_POLL)


@dataclass
class Page:
    body: bytes
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    validators: bool = True
    delay: float = 0.0
    held: threading.Event | None = None  # the answer waits until it is set (at most HELD_MAX)
    headers: dict[str, str] = field(default_factory=dict)
    modified: float = field(default_factory=time.time)
    cut_at: int | None = None  # bytes of the body sent before hanging up: a connection lost
    stall: float = 0.0  # seconds between the answer's headers and its body: a slow answer
    # Without a Content-Length, the body ends as the server closes the connection: a page
    # streamed by a server that does not know its length beforehand.
    sized: bool = True
    # Bodies by the first language the request's Accept-Language names, as a site that
    # negotiates it serves them; `body` for any other (or none).
    languages: dict[str, bytes] = field(default_factory=dict)
    # A body made anew for every request (given the number of requests so far), as a page with
    # a nonce or a request id in it is: `body` is then ignored.
    each: Callable[[int], bytes] | None = None
    # A cookie (`name=value`) a visitor must bring to see the page: one who brings none is sent
    # back to the page's address with it set (a 302 with Set-Cookie), as a site does that checks
    # that its visitor keeps cookies, or sets a session before anything else.
    needs_cookie: str | None = None

    def for_language(self, accept_language: str | None) -> Page:
        """The page as served to a request that sent `accept_language`."""
        first = (accept_language or "").split(",")[0].split(";")[0].strip().lower()
        body = self.languages.get(first.split("-")[0], self.body)
        return self if body is self.body else replace(self, body=body)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when the request came in


class Site:
    """Pages by path, a request log, and the server's base URL."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.log: list[Hit] = []
        self.busiest = 0  # the most requests it was answering at once, slow pages' delays
        self._answering = 0
        self._count = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=serve, args=(self._server,), daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def html(self, path: str, body: str, **options: object) -> None:
        """Publish (or replace) an HTML page."""
        self.pages[path] = Page(body.encode("utf-8"), **options)  # type: ignore[arg-type]

    def hits(self, path: str) -> list[Hit]:
        return [hit for hit in self.log if hit.path == path]

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Tests read `site.log`, not stderr."""

            def do_GET(self) -> None:
                site.log.append(Hit(self.path, dict(self.headers.items())))
                page = site.pages.get(self.path)
                if page is None:
                    self._send(404, b"<html><body><h1>Not found</h1></body></html>", "text/html")
                    return
                page = page.for_language(self.headers.get("Accept-Language"))
                if page.needs_cookie and page.needs_cookie not in self.headers.get("Cookie", ""):
                    cookie = {"Set-Cookie": f"{page.needs_cookie}; Path=/", "Location": self.path}
                    self._send(302, b"", "text/html", cookie)
                    return
                if page.each is not None:
                    page = replace(page, body=page.each(len(site.log)), each=None)
                self._wait(page)
                if page.validators and page.status == 200 and self._fresh(page):
                    self.send_response(304)
                    self.send_header("ETag", page.etag)
                    self.end_headers()
                    return
                extra = dict(page.headers)
                if page.validators:
                    extra["ETag"] = page.etag
                    extra["Last-Modified"] = formatdate(page.modified, usegmt=True)
                self._send(
                    page.status,
                    page.body,
                    page.content_type,
                    extra,
                    page.cut_at,
                    page.sized,
                    page.stall,
                )

            def _wait(self, page: Page) -> None:
                """A slow or held page's wait, counted while it lasts: the answer itself is sent
                after, so a client may ask again at once without being counted twice."""
                with site._count:
                    site._answering += 1
                    site.busiest = max(site.busiest, site._answering)
                time.sleep(page.delay)
                if page.held is not None:
                    page.held.wait(HELD_MAX)
                with site._count:
                    site._answering -= 1

            def _fresh(self, page: Page) -> bool:
                return self.headers.get("If-None-Match") == page.etag

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                extra: dict[str, str] | None = None,
                cut_at: int | None = None,
                sized: bool = True,
                stall: float = 0.0,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if sized:
                    self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if stall:
                    self.wfile.flush()
                    time.sleep(stall)
                # The crawler may hang up first, as it should on a page over its size limit.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body[:cut_at])
                self.close_connection = cut_at is not None or not sized

        return Handler
