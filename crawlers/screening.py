"""Responses that are not the policy page: bot walls, refusals, and redirects away from it.

A tracker that records a captcha page as "the terms were deleted" is worse than none. Each
response is screened before extraction; what fails screening becomes a fetch issue with a kind
(`bot-wall`, `forbidden`, `rate-limited`, `not-found`, `server-error`, `http-error`,
`login-redirect`, `login-wall`, `consent-redirect`, `consent-wall`, `home-redirect`,
`script-redirect`) and never a version.

Bot walls are told by the markers their vendors put in every challenge page (script paths,
element ids, headers), not by words a policy could contain: Google's privacy policy talks about
reCAPTCHA, and must not be mistaken for a captcha. Generic phrases ("verify you are human")
count only on pages too short to be a policy.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import lxml.html
from lxml import etree
from w3lib.encoding import read_bom

from crawlers.extraction.media import media_type
from crawlers.extraction.pdf import pdf_header
from crawlers.extraction.text import TEXT_TYPES, mislabelled_html

# (vendor, markers of its challenge pages in the lower-cased body). Every page is screened, so
# markers are plain bytes where they can be: a scan for one is a C loop over the raw body, where
# a regex alternation costs several times as much and decoding the body would cost more again.
_WALL_MARKERS: list[tuple[str, tuple[bytes, ...]]] = [
    (
        "Cloudflare",
        (
            b"/cdn-cgi/challenge-platform/", b"cf-chl-", b"cf_chl_", b'id="cf-wrapper"',
            b"<title>just a moment...", b"<title>attention required! | cloudflare",
        ),
    ),
    ("Imperva", (b"_incapsula_resource", b"incapsula incident id")),
    ("Akamai", (b"errors.edgesuite.net", b"/_sec/cp_challenge/")),
    ("DataDome", (b"captcha-delivery.com",)),
    ("PerimeterX", (b"px-captcha", b"captcha.px-cdn.net")),
    ("AWS WAF", (b"token.awswaf.com", b"aws-waf-token")),
    ("Sucuri", (b"sucuri website firewall",)),
]  # fmt: skip
# Captcha widgets and the phrases of challenge pages.
_CAPTCHA_MARKERS = (
    b"hcaptcha.com/1/api.js", b"recaptcha/api.js", b"challenges.cloudflare.com/turnstile",
    b"are you a robot", b"unusual traffic from your", b"enable javascript and cookies to continue",
    b"checking your browser before accessing", b"press &amp; hold", b"press & hold",
    b"access to this page has been denied",
)  # fmt: skip
_CAPTCHA_PATTERNS = (
    re.compile(rb"class=\"[^\"]*\b(g-recaptcha|h-captcha|cf-turnstile|frc-captcha)\b"),
    re.compile(rb"verify (that )?you are (a )?human"),
)
_MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]+>", re.DOTALL)
# A challenge page says a sentence or two; the shortest policy says far more. Vendors also put
# their scripts into the pages they let through, so a marker counts only on a page this short.
_WALL_WORDS = 150
_SCANNED = 200_000  # bytes of the body looked at: markers sit in a challenge page's first screen
_PEEK = 1024  # bytes of a body looked at for the start of an HTML page
# An identity provider's pages too: OAuth's `/oauth2/…/authorize` (Okta's, on a company's own
# host), SAML's `…/SSO`.
_LOGIN_PATH = re.compile(
    r"(^|/)(log-?in|sign-?in|signin|auth|sso|accounts?|session|oauth2?|authorize)(/|$|\?)"
)
_LOGIN_HOST = re.compile(r"^(login|signin|auth|accounts|sso|id)\.")
# Cookie-consent interstitials a site sends visitors to before the page: Google's and YouTube's
# (consent.google.com), Yahoo's (guce.yahoo.com/consent), a site's own `/consent`.
_CONSENT_PATH = re.compile(r"(^|/)(cookie-?)?consent(/|$)")
_CONSENT_HOST = re.compile(r"^consent\.")


def scanned(body: bytes) -> bytes:
    """A body as the checks below read it: bytes in which an ASCII tag or phrase is its ASCII
    bytes. A UTF-16 or UTF-32 page (its byte-order mark says so, and browsers obey it) holds
    each letter in two or four bytes, so no marker, title or password field was ever found in
    it: a UTF-16 "Page not found" was recorded as the policy. Such a body is read as UTF-8;
    any other is as it came (one look at its first bytes)."""
    codec, bom = read_bom(body[:4])
    if codec is None or bom is None or not codec.startswith(("utf-16", "utf-32")):
        return body
    return body[len(bom) :].decode(codec, "replace").encode("utf-8")


def markup(content_type: str | None, body: bytes) -> bool:
    """Whether a body's tags and phrases are a page's, which the checks of its body read: not
    those of a plain-text or Markdown policy, whose `<script>` or `<title>` is a code sample it
    shows, never run nor shown as a title, and whose words about bots are no captcha's. A short
    TERMS.md quoting `location.href = "…"` was a script-redirect; unless it is an HTML page
    labelled `text/plain`, read as the HTML it is. Nor a PDF's, told by its header whatever it
    is labelled (a challenge page is HTML, even at a `.pdf` address): a short PDF notice whose
    text stream says "verify you are human" was a bot wall."""
    if pdf_header(body):  # as extraction tells a PDF
        return False
    sent = media_type(content_type)
    if sent not in TEXT_TYPES:
        return True
    return mislabelled_html(body[:_PEEK].decode("utf-8-sig", "replace"), sent)


@dataclass(frozen=True)
class Verdict:
    """Why a response is not the page: a short kind for machines, a sentence for people."""

    kind: str
    detail: str


def bot_wall(headers: Mapping[str, str], body: bytes) -> str | None:
    """The vendor of the bot wall or captcha this response is, if it is one."""
    if "challenge" in headers.get("cf-mitigated", ""):
        return "Cloudflare"
    page = body[:_SCANNED].lower()  # ASCII letters only: every marker is ASCII
    vendor = next(
        (vendor for vendor, markers in _WALL_MARKERS if any(marker in page for marker in markers)),
        None,
    )
    if vendor is None and _captcha(page):
        vendor = "a captcha"
    # Counting words strips the markup of the whole page: done only when a marker was found.
    if vendor and _short(page, _WALL_WORDS):
        return vendor
    return None


# A page that says, in its title or main heading, that it is not there, or that the site is
# down: a "soft 404" or a maintenance page served with 200 (a CMS's error template, a page taken
# down, a maintenance mode). Told only on a page too short to be a policy, as a wall is; error
# templates carry a site's menus, so the bound is wider than a wall's.
_HEADINGS = re.compile(rb"<(title|h1)\b[^>]*>(.{0,300}?)</\1\s*>", re.DOTALL | re.IGNORECASE)
_NOT_THERE = re.compile(
    r"\b(not found|(cannot|can['’]t|could not|couldn['’]t) (be found|find)"
    r"|(does not|doesn['’]t) exist|(not|isn['’]t) available|no longer (exists|available))\b",
    re.IGNORECASE,
)
_DOWN = re.compile(
    r"\b((under|down for|scheduled) maintenance|maintenance mode|(be|are) (right )?back soon"
    r"|be right back|temporarily unavailable|internal server error|service unavailable"
    r"|something went wrong)\b",
    re.IGNORECASE,
)
# A heading that is an error status itself ("404", "404 | Site", "Error 500"), as error
# templates are titled; not one that starts a sentence with it ("404 errors and rate limits").
_STATUS_HEADING = re.compile(
    r"\s*((http|error)\s*)?(?P<code>404|410|50[0-4])\s*($|[-|:·•–—!.(])", re.IGNORECASE
)
_ERROR_PAGE_WORDS = 300


def error_page(body: bytes, status: int = 200) -> Verdict | None:
    """A 2xx page that says of itself that it is an error page ("Page not found", "Down for
    maintenance"): `not-found` or `server-error`, with what it says."""
    page = body[:_SCANNED]
    for match in _HEADINGS.finditer(page):
        said = html.unescape(_MARKUP.sub(" ", match[2].decode("utf-8", "replace")))
        kind = _heading_kind(said)
        if kind is None:
            continue
        if not _short(page, _ERROR_PAGE_WORDS):
            return None
        said = " ".join(said.split())
        what = "not the policy (has it moved?)" if kind == "not-found" else "the site is down"
        return Verdict(kind, f"HTTP {status}, but the page says {said!r}: an error page, {what}")
    return None


def _heading_kind(said: str) -> str | None:
    """What a title or main heading says the page is: `not-found`, `server-error`, or none."""
    if _NOT_THERE.search(said):
        return "not-found"
    if _DOWN.search(said):
        return "server-error"
    if status := _STATUS_HEADING.match(said):
        return "not-found" if status["code"].startswith("4") else "server-error"
    return None


# A password field: a sign-in form. Told only on a page too short to be a policy, as a wall is:
# a site's header may hold a sign-in box beside the policy.
_PASSWORD_FIELD = re.compile(rb"<input\b[^>]*?\btype\s*=\s*[\"']?password\b", re.IGNORECASE)


def login_page(body: bytes, status: int = 200) -> Verdict | None:
    """A page that asks to sign in, served where the policy was asked for without a redirect to
    say so (a site's sign-in template, even at a `.pdf` address): `login-wall`."""
    page = body[:_SCANNED]
    # Plain searches first: the pattern's scan of a whole page costs several times theirs, and
    # most pages say no "password" at all.
    if b"assword" not in page and b"ASSWORD" not in page:
        return None
    if _PASSWORD_FIELD.search(page) is None or not _short(page, _WALL_WORDS):
        return None
    return Verdict(
        "login-wall",
        f"HTTP {status}: a sign-in page (a password form), not the policy: it is behind a login",
    )


# A choice to accept or reject, on a button or link (its label maybe wrapped in a <span>), or a
# submit input: what a cookie wall asks for.
_CONSENT_CHOICE = re.compile(
    rb"<(?:button|a)\b[^>]*>(?:\s|<[^>]*>)*(?:i\s+)?(?:accept|allow|agree|reject|decline|refuse)\b"
    rb"|<input\b[^>]*\bvalue\s*=\s*[\"']?\s*(?:i\s+)?(?:accept|allow|agree|reject|decline|refuse)\b",
    re.IGNORECASE,
)
_CHOICE_LABEL = re.compile(r"\s*(?:i\s+)?(?:accept|allow|agree|reject|decline|refuse)\b", re.I)


def consent_page(body: bytes, status: int = 200) -> Verdict | None:
    """A cookie wall served in the policy's place (as sites show visitors from the EU, at the
    policy's own address, without a redirect to a consent page to tell it by): a page that
    speaks of cookies and offers to accept or reject them, too short to be a policy, as a
    policy's own cookie banner holds the same buttons. `consent-wall`: it was recorded as the
    policy's first version, and the policy's return read as its whole text changed."""
    page = body[:_SCANNED]
    if (b"ookie" not in page and b"OOKIE" not in page) or _CONSENT_CHOICE.search(page) is None:
        return None
    if not _short(page, _WALL_WORDS) or not _mostly_cookie_choices(page):
        return None
    return Verdict(
        "consent-wall",
        f"HTTP {status}: a page of cookie choices (accept or reject), not the policy: the site"
        " asks for consent before it shows the page",
    )


def _mostly_cookie_choices(page: bytes) -> bool:
    """Whether the cookie choices, with what says they are about cookies around them, hold
    at least half of what a short page says: the whole of a wall, a line of a short policy
    (the demo's "We use cookies. [Accept]" above its clauses was taken for a wall). Each
    choice's container is its nearest ancestor that speaks of cookies. Parsed only for a short
    page that has the markers already, so it costs a crawl nothing."""
    root = lxml.html.document_fromstring(page)
    etree.strip_elements(root, "script", "style", etree.Comment, with_tail=False)
    said = len(_text(root).split())
    for choice in root.iter("button", "a", "input"):
        label = choice.get("value", "") if choice.tag == "input" else _text(choice)
        if not _CHOICE_LABEL.match(label):
            continue
        banner = next((up for up in choice.iterancestors() if "cookie" in _text(up).lower()), None)
        if banner is not None and 2 * len(_text(banner).split()) >= said:
            return True
    return False


def _text(element: etree._Element) -> str:
    return " ".join(map(str, element.itertext()))  # text, never bytes, from an HTML parse


# A script that sends the browser elsewhere: `location = "…"`, `location.href = "…"`,
# `location.replace("…")`, `location.assign("…")` (on `window`, `document`, `top` or `self`).
_SCRIPTS = re.compile(rb"<script\b[^>]*>(.*?)</script\s*>", re.DOTALL | re.IGNORECASE)
_GOES = re.compile(
    rb"\blocation(?:\.href)?\s*=(?!=)\s*(?:(['\"])(.*?)\1)?"
    rb"|\blocation\.(?:replace|assign)\(\s*(?:(['\"])(.*?)\3)?",
    re.DOTALL,
)


# What `_GOES` starts with, looked for where a plain search finds "location" (half of the pages
# say it, in their text or their scripts): reading every script of every page cost 0.9 ms a page
# of the corpus, this 0.1 ms.
_SETS_LOCATION = re.compile(rb"location(?:\.href)?\s*=(?!=)|location\.(?:replace|assign)\(")


def _sets_location(page: bytes) -> bool:
    at = page.find(b"location")
    while at >= 0:
        if _SETS_LOCATION.match(page, at):
            return True
        at = page.find(b"location", at + len(b"location"))
    return False


def script_redirect(body: bytes) -> str | None:
    """Where a page sends the browser by script, when that is all it does: a short page whose
    script sets `location`. The address as written ('' when the script computes it)."""
    page = body[:_SCANNED]
    if not _sets_location(page):
        return None
    for script in _SCRIPTS.finditer(page):
        goes = _GOES.search(script[1])
        if goes is None:
            continue
        if not _short(page, _WALL_WORDS):
            return None
        target = goes[2] if goes[2] is not None else goes[4]
        return (target or b"").decode("utf-8", "replace").strip()
    return None


def _short(page: bytes, words: int) -> bool:
    """Whether `page` shows fewer than `words` words, its markup, scripts and styles left out:
    whether it is too short to be a policy. Counted only once a marker was found, and only
    until there are that many: counting the whole of a policy page cost 10 ms (a cookie
    banner's buttons are markers too), where its first few hundred words are enough to tell."""
    text = page.decode("utf-8", "replace")
    shown, at = 0, 0
    for markup in _MARKUP.finditer(text):  # each one parts words, as a space would
        shown += len(text[at : markup.start()].split())
        if shown >= words:
            return False
        at = markup.end()
    return shown + len(text[at:].split()) < words


def _captcha(page: bytes) -> bool:
    return any(marker in page for marker in _CAPTCHA_MARKERS) or any(
        pattern.search(page) for pattern in _CAPTCHA_PATTERNS
    )


def status_verdict(status: int, retry_after: float = 0) -> Verdict:
    """The issue an HTTP error status is, with the server's Retry-After (seconds) when given."""
    if status == 429:
        detail = _with_retry_after("HTTP 429 Too Many Requests", retry_after)
        return Verdict("rate-limited", detail)
    if status == 403:
        return Verdict("forbidden", "HTTP 403 Forbidden: the site refuses this crawler")
    if status in (404, 410):
        return Verdict("not-found", f"HTTP {status}: the page is gone (has it moved?)")
    if 500 <= status < 600:
        detail = _with_retry_after(f"HTTP {status} server error", retry_after)
        return Verdict("server-error", detail)
    if status >= 600:  # LinkedIn's 999 says "Request denied"
        detail = f"HTTP {status}, a status HTTP does not define: the site refuses this crawler?"
        return Verdict("http-error", detail)
    return Verdict("http-error", f"HTTP {status} {_phrase(status)}".strip())


def redirect_verdict(requested: str, final: str, chain: Sequence[str] = ()) -> Verdict | None:
    """A redirect that lands on a login page, a cookie-consent page, or the site's home page,
    is not the policy."""
    if final == requested:
        return None
    target = urlsplit(final)
    path = target.path.lower()
    if _LOGIN_HOST.match(target.hostname or "") or _LOGIN_PATH.search(path):
        return Verdict("login-redirect", f"redirected to a login page: {final}")
    if _CONSENT_HOST.match(target.hostname or "") or _CONSENT_PATH.search(path):
        return Verdict("consent-redirect", f"redirected to a cookie-consent page: {final}")
    if path in ("", "/") and urlsplit(requested).path not in ("", "/"):
        hops = len(chain) or 1
        return Verdict("home-redirect", f"redirected to the home page {final} ({hops} hop(s))")
    return None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _with_retry_after(detail: str, retry_after: float) -> str:
    return f"{detail}; the server asks to wait {retry_after:.0f} s" if retry_after else detail
