"""The media type and charset of a Content-Type header, as browsers read them.

Some proxies join a header sent twice into one line (`text/html, text/html`), and a server may
send the header twice, which HTTP reads as the two values joined; browsers read such a header by
the WHATWG Fetch standard's "extract a MIME type": each comma-separated value is parsed, those
that are no media type (or `*/*`) are skipped, and the last that is one counts. Its charset is
that value's, or, where it names none, the charset of the values before it of the same type.
"""

from __future__ import annotations

import re

from w3lib.encoding import http_content_type_encoding

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN}/{_TOKEN})\s*(;|$)")


def media_type(content_type: str | None) -> str:
    """The media type a Content-Type names, lower-cased and without its parameters; "" when it
    names none. A joined header names the last valid one, so a page behind a proxy that joins
    headers is read as the page a browser shows, not refused as `not-html`."""
    return _extracted(content_type)[0]


def charset(content_type: str | None) -> str | None:
    """The codec of the charset a Content-Type gives its media type (`media_type`), by the same
    reading: `text/html; charset=utf-8, text/html; charset=windows-1251` is windows-1251, as a
    browser decodes it, where the first charset written was taken; `text/html; charset=latin-1,
    text/html` is windows-1252 (w3lib's reading of a label, as browsers read it); and one of a
    type passed over is none (`text/plain; charset=utf-16, text/html`)."""
    return _extracted(content_type)[1]


def _extracted(content_type: str | None) -> tuple[str, str | None]:
    """Fetch's "extract a MIME type": the essence and the codec of the charset."""
    essence, carried, named = "", None, None
    for value in (content_type or "").split(","):
        found = _MEDIA_TYPE.match(value)
        if not found or found[1] == "*/*":
            continue
        own = http_content_type_encoding(value)
        if found[1].lower() != essence:
            essence, carried, named = found[1].lower(), own, own
        else:
            named = own or carried
    return essence, named
