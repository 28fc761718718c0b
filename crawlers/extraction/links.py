"""Link targets as a reader can follow them: resolved against the page, tracking removed."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit, uses_relative

from crawlers.extraction.tree import Document

_TRACKING_PREFIXES = ("utm_", "mtm_")
_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "gclsrc", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc",
        "__hsfp", "hsctatracking", "igshid", "igsh", "ref_src", "ref_url", "mkt_tok", "_ga",
        "_gl", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wickedid", "s_kwcid",
        "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content", "pk_cid",
    }
)  # fmt: skip
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript", "data"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_URL_NOISE = re.compile(r"[\t\n\r]")


def base_url(document: Document, url: str | None) -> str | None:
    """The URL relative links resolve against: the page's `<base href>` if any, as browsers do."""
    head = document.first("head")
    bases = head.iterdescendants("base") if head is not None else iter(())
    href = next((base.get("href") for base in bases if base.get("href") is not None), None)
    if not isinstance(href, str) or not href.strip():
        return url
    try:
        return urljoin(url or "", href.strip())
    except ValueError:
        return url


def clean_url(href: str, base: str | None) -> str | None:
    """An absolute link target without tracking parameters, or None when the link leads nowhere
    a reader could follow (empty, script or data URLs)."""
    if "\t" in href or "\n" in href or "\r" in href:  # rare: spared the regex
        href = _URL_NOISE.sub("", href)
    href = href.strip()
    scheme = _SCHEME.match(href)
    if not href or (scheme and scheme[1].lower() in _UNSAFE_SCHEMES):
        return None
    try:
        target = _without_tracking(_resolved(href, scheme, base) if base else href)
    except ValueError:  # malformed authority, e.g. an unclosed IPv6 bracket
        target = href
    return target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _resolved(href: str, scheme: re.Match[str] | None, base: str) -> str:
    """`urljoin(base, href)`, without its cost for a link of another scheme than the page's
    (`https:` links on an `http:` page, `mailto:`), which `urljoin` returns as it is.

    `scheme` is `_SCHEME` matched on `href`, which starts with it, stripped and without tabs or
    line breaks: `urlsplit` would read the same scheme from it, up to the first colon. Like
    `urljoin`, this raises `ValueError` when `base` cannot be split.
    """
    if scheme is not None:
        name = scheme[1].lower()
        if name != urlsplit(base).scheme or name not in uses_relative:
            return href
    return urljoin(base, href)


def _without_tracking(url: str) -> str:
    """Drop tracking parameters without re-encoding the others, so their bytes stay as published."""
    if "?" not in url:  # most links: no query to split the URL for
        return url
    parts = urlsplit(url)
    params = parts.query.split("&")
    kept = [param for param in params if not _is_tracking(param)]
    if len(kept) == len(params):
        return url
    return urlunsplit(parts._replace(query="&".join(kept)))


def _is_tracking(param: str) -> bool:
    name = unquote_plus(param.partition("=")[0]).lower()
    return name in _TRACKING or name.startswith(_TRACKING_PREFIXES)
