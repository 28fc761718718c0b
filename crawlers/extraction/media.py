"""The media type of a Content-Type header, as browsers read it.

Some proxies join a header sent twice into one line (`text/html, text/html`); browsers read such a
header by the WHATWG Fetch standard's "extract a MIME type": each comma-separated value is parsed,
those that are no media type (or `*/*`) are skipped, and the last that is one counts.
"""

from __future__ import annotations

import re

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN}/{_TOKEN})\s*(;|$)")


def media_type(content_type: str | None) -> str:
    """The media type a Content-Type names, lower-cased and without its parameters; "" when it
    names none. A joined header names the last valid one, so a page behind a proxy that joins
    headers is read as the page a browser shows, not refused as `not-html`."""
    named = ""
    for value in (content_type or "").split(","):
        found = _MEDIA_TYPE.match(value)
        if found and found[1] != "*/*":
            named = found[1].lower()
    return named
