"""What a response to the policy spider says: whether it is the page asked for, and how to read it.

Screening (`screen`) decides whether a response becomes a version or a fetch issue; it composes
`crawlers.screening`'s verdicts, which know nothing of Scrapy, from a Scrapy response. Its
Content-Type and declared charset are read here as browsers read them, for extraction.
"""

from __future__ import annotations

from urllib.parse import urljoin

from scrapy.http import Response, TextResponse
from w3lib.encoding import html_body_declared_encoding, read_bom

from crawlers.browser import rendered_verdict
from crawlers.extraction import charset
from crawlers.middlewares import retry_after
from crawlers.screening import (
    Verdict,
    bot_wall,
    consent_page,
    error_page,
    login_page,
    markup,
    redirect_verdict,
    scanned,
    script_redirect,
    status_verdict,
)


def screen(
    response: Response, requested: str, content_type: str | None, scan_body: bool
) -> Verdict | None:
    """Why this response is not the page asked for, if it is not: see `crawlers.screening`.
    Its status, headers and redirects are always screened, its body when `scan_body` and
    it is markup (`crawlers.screening.markup`: not a text or Markdown file's)."""
    headers = {
        name.decode("latin-1").lower(): values[-1].decode("latin-1")
        for name, values in response.headers.items()
        if values
    }
    body = scanned(response.body)
    scan_body = scan_body and markup(content_type, body)
    vendor = bot_wall(headers, body if scan_body else b"")
    if vendor:
        return Verdict("bot-wall", f"HTTP {response.status}: a bot wall or captcha ({vendor})")
    if response.status >= 400:
        return status_verdict(response.status, retry_after(response.headers.get("Retry-After")))
    if unasked := _unasked(response):
        return Verdict("http-error", unasked)
    redirect = redirect_verdict(requested, response.url, response.meta.get("redirect_urls", ()))
    if redirect is not None or not scan_body or response.status >= 300:
        return redirect
    if said := (
        error_page(body, response.status)
        or login_page(body, response.status)
        or consent_page(body, response.status)
    ):  # a "soft 404", a sign-in form or a cookie wall, with 200
        return said
    if response.meta.get("playwright"):  # Chromium ran its scripts: judged where it arrived
        return rendered_verdict(response)
    return _script_redirect(response, body, requested)


def _unasked(response: Response) -> str | None:
    """A status that answers a question the request did not ask: a 304 to a request that named
    no version was recorded as "not-modified", the document never captured and no issue said;
    a 206, part of the page, as the whole page."""
    asked = response.request.headers if response.request else {}
    if response.status == 304 and not (
        asked.get("If-None-Match") or asked.get("If-Modified-Since")
    ):
        return "HTTP 304 Not Modified, to a request that named no version: there is no page"
    if response.status == 206:
        return "HTTP 206 Partial Content: a part of the page, which was not asked for"
    return None


def _script_redirect(response: Response, body: bytes, requested: str) -> Verdict | None:
    """A short page whose script sends the browser elsewhere is not the policy: "Redirecting…"
    was recorded as the document's text, and every later crawl found it unchanged. `body`: the
    response's, as screening reads it (`crawlers.screening.scanned`)."""
    target = script_redirect(body)
    if target is None:
        return None
    try:
        to = urljoin(response.url, target) if target else ""
    except ValueError:  # an address no URL parser reads: said as written
        to = target
    elsewhere = redirect_verdict(requested, to) if to else None
    if elsewhere is not None:  # a login or home page
        return Verdict(elsewhere.kind, f"by script, {elsewhere.detail}")
    where = f" to {to}" if to else ""
    return Verdict(
        "script-redirect",
        f"HTTP {response.status}: the page only sends the browser on by script{where}: declare"
        " the address it leads to, or `render: browser`",
    )


def content_type_of(response: Response) -> str | None:
    """The Content-Type as browsers take it: a header sent twice is its values joined (RFC 9110
    §5.3), which `crawlers.extraction.media` reads. Scrapy's `get` gave the last line alone, and
    a charset named on the first was lost."""
    values = response.headers.getlist("Content-Type")
    return ", ".join(value.decode("latin-1") for value in values) if values else None


def declared_charset(response: Response, content_type: str | None) -> str | None:
    """The charset a page declares (its byte-order mark, Content-Type or meta tag, in turn, as
    browsers and Scrapy take them; for a rendered page, the one its HTML was re-encoded in),
    never Scrapy's guess from its bytes (`TextResponse.encoding`): a windows-1252 page that
    declared none was read as cp1250 one day and as cp775 the next, once a paragraph was added,
    its "don’t" turned "donÆt" as if changed. The Content-Type's charset is the one browsers
    read (`crawlers.extraction.media.charset`), not the first written in it. Without one,
    extraction reads UTF-8, or windows-1252 as browsers do."""
    if response.meta.get("playwright") and isinstance(response, TextResponse):
        return response.encoding  # as scrapy-playwright encoded Chromium's HTML
    body = response.body
    return read_bom(body)[0] or charset(content_type) or html_body_declared_encoding(body)


def header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
