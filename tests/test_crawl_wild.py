"""Crawling in the wild: bot walls, refusals, redirects away, broken captures, PDFs, combined pages.

Each case is served for real by the loopback site and crawled by the real command; the
assertion that matters in each is that nothing but a sound capture becomes a version.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import gzip
import socket
import sqlite3
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import brotli
import pytest
import trustme
import zstandard

from crawlers import inside
from crawlers.inside import is_inside, leads_inside
from store.models import decompress
from tests import faults
from tests.conftest import FAST, Home
from tests.pdfs import image_only_pdf, inflating_pdf, text_pdf
from tests.site import Page, Site
from tests.test_crawl import declare, outcomes, terms

CLAUSES = "".join(
    f"<p>Clause {n}: the developer agrees to use the interface only as documented and to "
    f"respect the limits published for each endpoint of the platform.</p>"
    for n in range(1, 9)
)
CLOUDFLARE = """<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>
<div id="cf-wrapper"><h1>Checking your browser before accessing the site.</h1></div>
<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>"""
IMPERVA = """<html><head><META NAME="robots" CONTENT="noindex,nofollow">
<script src="/_Incapsula_Resource?SWJIYLWA=5074a744e2e3d891814e9a2dace20bd4"></script></head>
<body>Request unsuccessful. Incapsula incident ID: 1234-5678</body></html>"""
CAPTCHA = """<html><head><title>Verification</title>
<script src="https://www.google.com/recaptcha/api.js"></script></head><body>
<form><p>Please verify you are a human.</p><div class="g-recaptcha" data-sitekey="x"></div>
</form></body></html>"""
PRIVACY_ABOUT_RECAPTCHA = terms(
    CLAUSES + "<p>We use reCAPTCHA to verify you are human; see the g-recaptcha notice.</p>"
)
FRENCH = terms(
    "".join(
        f"<p>Article {n} : le développeur accepte les conditions de la plateforme et les "
        f"limites publiées pour chaque service, que nous pouvons modifier à tout moment.</p>"
        for n in range(1, 9)
    )
)


def issues(home: Home) -> dict[str, Any]:
    return {row["key"]: row["issue"] for row in home.run("documents", "--json").json()}


def versions(home: Home) -> dict[str, int]:
    return {row["key"]: row["versions"] for row in home.run("documents", "--json").json()}


def test_bot_walls_and_captchas_are_fetch_issues_never_versions(home: Home, site: Site) -> None:
    site.html("/cloudflare", CLOUDFLARE, status=403, headers={"cf-mitigated": "challenge"})
    site.html("/imperva", IMPERVA)  # served with 200, as Imperva does
    site.html("/captcha", CAPTCHA)
    site.html("/privacy", PRIVACY_ABOUT_RECAPTCHA)
    catalog = declare(home, site, "/cloudflare", "/imperva", "/captcha", "/privacy")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/doc-cloudflare"][1].startswith("bot-wall: HTTP 403")
    assert "Cloudflare" in seen["testsite/doc-cloudflare"][1]
    assert "Imperva" in seen["testsite/doc-imperva"][1]
    assert seen["testsite/doc-captcha"][1].startswith("bot-wall: HTTP 200")
    assert seen["testsite/doc-privacy"] == ("first", "")  # a policy that talks about captchas
    home.crawl(catalog)
    streaks = {
        key: issue and (issue["kind"], issue["streak"]) for key, issue in issues(home).items()
    }
    assert streaks == {
        "testsite/doc-cloudflare": ("bot-wall", 2),
        "testsite/doc-imperva": ("bot-wall", 2),
        "testsite/doc-captcha": ("bot-wall", 2),
        "testsite/doc-privacy": None,
    }
    assert versions(home)["testsite/doc-imperva"] == 0


def test_a_wall_after_a_sound_version_is_not_a_change(home: Home, site: Site) -> None:
    site.html("/terms", terms(CLAUSES))
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert home.crawl(catalog).code == 0
    site.html("/terms", CAPTCHA)
    assert home.crawl(catalog).code == 3  # the only document could not be fetched
    site.html("/terms", terms(CLAUSES))
    assert home.crawl(catalog).code == 0
    assert home.run("history", "--all", "--json").json() == []
    assert versions(home) == {"testsite/doc-terms": 1}
    assert issues(home) == {"testsite/doc-terms": None}


SOFT_404 = """<html><head><title>Page Not Found | TestSite</title></head><body>
<nav>Home · Products · Developers</nav><main id="terms"><h1>Oops! That page can&rsquo;t be
found.</h1><p>It looks like nothing was found at this location.</p></main></body></html>"""


def test_an_error_page_served_with_200_is_an_issue_never_a_version(home: Home, site: Site) -> None:
    """A "soft 404" (a CMS's error template, served with 200), or a maintenance page, was
    recorded as the document's first version, reported as new; the policy's first sound capture
    then read as a change."""
    site.html("/terms", SOFT_404)
    site.html("/moved", terms(CLAUSES))
    site.html("/faq", terms("<h2>What if a page is not found?</h2>" + CLAUSES))
    down = '<main id="terms"><h1>Down for maintenance</h1><p>Please check back later.</p></main>'
    site.html("/down", f"<html><head><title>We&#39;ll be back soon!</title></head>{down}</html>")
    catalog = declare(home, site, "/terms", "/moved", "/faq", "/down", select=["#terms"])
    crawled = home.crawl(catalog, "--json")
    seen = outcomes(crawled)
    assert seen["testsite/doc-down"] == (
        "failed",
        'server-error: HTTP 200, but the page says "We\'ll be back soon!": an error page, the'
        " site is down",
    )
    assert seen["testsite/doc-terms"] == (
        "failed",
        "not-found: HTTP 200, but the page says 'Page Not Found | TestSite': an error page, not"
        " the policy (has it moved?)",
    )
    assert seen["testsite/doc-faq"] == ("first", "")  # "not found" in a sound page's heading
    site.html("/moved", SOFT_404)  # after a sound version: said as what it is
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-moved"][1].startswith(
        "not-found: HTTP 200, but the page says"
    )
    site.html("/terms", terms(CLAUSES))
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"] == ("first", "")
    assert versions(home) == {
        "testsite/doc-terms": 1,
        "testsite/doc-moved": 1,
        "testsite/doc-faq": 1,
        "testsite/doc-down": 0,
    }
    assert home.run("history", "--all", "--json").json() == []


def test_an_error_page_served_with_200_is_told_by_its_usual_words(home: Home, site: Site) -> None:
    """The commonest words of error templates served with 200 were not told: a page titled
    "404", "500 Internal Server Error" or "Something went wrong" was recorded as the policy's
    first version (after a sound one, a `text-collapsed` that did not say why)."""
    said = {
        "<title>404 | TestSite</title>": "not-found",
        "<h1>Error 404</h1>": "not-found",
        "<h1>Sorry, we couldn&rsquo;t find that page</h1>": "not-found",
        "<title>Page not available</title>": "not-found",
        "<title>500 Internal Server Error</title>": "server-error",
        "<h1>Oops! Something went wrong.</h1>": "server-error",
        "<title>503 Service Unavailable</title>": "server-error",
    }
    for number, heading in enumerate(said):
        site.html(f"/{number}", f"<html><head>{heading}</head><body><p>Back home.</p></body>")
    seen = outcomes(home.crawl(declare(home, site, *(f"/{n}" for n in range(len(said)))), "--json"))
    kinds = {heading: seen[f"testsite/doc-{n}"][1].split(":")[0] for n, heading in enumerate(said)}
    assert kinds == said
    assert seen["testsite/doc-0"][1] == (
        "not-found: HTTP 200, but the page says '404 | TestSite': an error page, not the policy"
        " (has it moved?)"
    )


def test_a_page_that_only_sends_the_browser_on_by_script_is_not_the_policy(
    home: Home, site: Site
) -> None:
    """Its "Redirecting…" was recorded as the document's first version, and every later crawl
    found it unchanged: the policy itself was never tracked, and nothing said so."""
    site.html(
        "/members-terms",
        "<html><head><script>window.location.href = '/accounts/login?next=/terms';</script>"
        "</head><body><p>Redirecting...</p></body></html>",
    )
    site.html(
        "/terms",
        '<html><head><script>location.replace("/en/terms")</script></head><body>'
        "<noscript>Please enable JavaScript.</noscript></body></html>",
    )
    script = "<script>document.querySelector('a').onclick = () => { location.href = '/x' }</script>"
    site.html("/policy", terms(CLAUSES + script))  # a policy with such a script is the policy
    catalog = declare(home, site, "/members-terms", "/terms", "/policy")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/doc-members-terms": (
            "failed",
            "login-redirect: by script, redirected to a login page:"
            f" {site.url('/accounts/login?next=/terms')}",
        ),
        "testsite/doc-terms": (
            "failed",
            f"script-redirect: HTTP 200: the page only sends the browser on by script to"
            f" {site.url('/en/terms')}: declare the address it leads to, or `render: browser`",
        ),
        "testsite/doc-policy": ("first", ""),
    }
    assert versions(home)["testsite/doc-terms"] == 0


def test_the_body_last_recorded_is_still_screened_by_its_status_and_headers(
    home: Home, site: Site
) -> None:
    """Served again without a 304, the body last recorded skips the bot-wall scan (it passed
    screening when it was recorded), never the checks of the response around it."""
    site.html("/terms", terms(CLAUSES), validators=False)
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][0] == "first"
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][0] == "unchanged"
    site.html("/terms", terms(CLAUSES), validators=False, headers={"cf-mitigated": "challenge"})
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][1].startswith(
        "bot-wall: HTTP 200"
    )
    assert versions(home) == {"testsite/doc-terms": 1}


def test_refusals_are_classified_and_a_long_retry_after_is_not_retried_now(
    home: Home, site: Site
) -> None:
    site.html("/limited", "<html><body>slow down</body></html>", status=429)
    site.pages["/limited"].headers["Retry-After"] = "3600"
    site.html("/busy", "<html><body>busy</body></html>", status=503)
    site.pages["/busy"].headers["Retry-After"] = "0"
    site.html("/forbidden", "<html><body>no</body></html>", status=403)
    # LinkedIn's answer to crawlers: it read "HTTP 999: a redirect without a Location is not
    # followed (only http and https are)".
    site.html("/denied", "<html><body>Request denied</body></html>", status=999)
    catalog = declare(home, site, "/limited", "/busy", "/forbidden", "/denied")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/doc-limited"] == (
        "failed",
        "rate-limited: HTTP 429 Too Many Requests; the server asks to wait 3600 s",
    )
    assert len(site.hits("/limited")) == 1  # asked for an hour: not hammered within the crawl
    assert len(site.hits("/busy")) == 3  # a short wait: retried twice
    assert seen["testsite/doc-busy"][1].startswith("server-error: HTTP 503")
    assert seen["testsite/doc-forbidden"][1].startswith("forbidden: HTTP 403")
    assert seen["testsite/doc-denied"] == (
        "failed",
        "http-error: HTTP 999, a status HTTP does not define: the site refuses this crawler?",
    )
    assert len(site.hits("/denied")) == 1


def test_a_304_or_206_to_a_request_that_asked_for_neither_is_no_page(
    home: Home, site: Site
) -> None:
    """A 304 answering a first request (no validators sent) was recorded as "not-modified": the
    document never captured, and no issue said so. A 206 was recorded as the whole page."""
    site.pages["/confused"] = Page(b"", status=304, validators=False)
    site.pages["/part"] = Page(terms(CLAUSES).encode()[:300], status=206, validators=False)
    site.html("/terms", terms(CLAUSES))
    catalog = declare(home, site, "/confused", "/part", "/terms")
    assert outcomes(home.crawl(catalog, "--json")) == {
        "testsite/doc-confused": (
            "failed",
            "http-error: HTTP 304 Not Modified, to a request that named no version: there is no"
            " page",
        ),
        "testsite/doc-part": (
            "failed",
            "http-error: HTTP 206 Partial Content: a part of the page, which was not asked for",
        ),
        "testsite/doc-terms": ("first", ""),
    }
    # Asked with the validators of the version recorded, a 304 is what it says.
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"] == ("not-modified", "")
    assert versions(home) == {
        "testsite/doc-confused": 0,
        "testsite/doc-part": 0,
        "testsite/doc-terms": 1,
    }


def test_redirects_to_a_login_or_home_page_are_fetch_issues(home: Home, site: Site) -> None:
    site.html("/", terms("<p>Welcome to our home page and our products.</p>"))
    site.html("/accounts/login", terms("<form><p>Sign in to continue.</p></form>"))
    site.html("/old-terms", "", status=301, headers={"Location": site.url("/")})
    site.html("/members-terms", "", status=302, headers={"Location": site.url("/accounts/login")})
    site.html("/moved", "", status=301, headers={"Location": site.url("/new-terms")})
    site.html("/new-terms", terms(CLAUSES))
    catalog = declare(home, site, "/old-terms", "/members-terms", "/moved")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/doc-old-terms"][1].startswith("home-redirect: redirected to the home")
    assert seen["testsite/doc-members-terms"][1].startswith("login-redirect:")
    assert seen["testsite/doc-moved"] == ("first", "")  # a page that moved is still the page


def test_a_redirect_to_a_sign_in_or_consent_page_that_robots_txt_disallows_says_so(
    home: Home, site: Site
) -> None:
    """Most sites' robots.txt disallow their sign-in page: a policy that redirected there was
    `robots-disallowed: Forbidden by robots.txt`, which reads as the policy itself being kept
    from crawlers. A page a redirect took away from the policy (to a login, cookie-consent or
    home page) is said as that redirect, however its own fetch failed."""
    site.pages["/robots.txt"] = Page(
        b"User-agent: *\nDisallow: /login\nDisallow: /consent\nDisallow: /private\n",
        content_type="text/plain",
    )
    site.html("/login", terms("<form><p>Sign in.</p></form>"))
    site.html("/consent", CONSENT)
    site.html("/members", "", status=302, headers={"Location": "/login?next=/members"})
    site.html("/terms", "", status=302, headers={"Location": "/consent?continue=/terms"})
    site.html("/moved", "", status=301, headers={"Location": "/private/terms"})
    seen = outcomes(home.crawl(declare(home, site, "/members", "/terms", "/moved"), "--json"))
    assert seen == {
        "testsite/doc-members": (
            "failed",
            f"login-redirect: redirected to a login page: {site.url('/login?next=/members')}",
        ),
        "testsite/doc-terms": (
            "failed",
            "consent-redirect: redirected to a cookie-consent page:"
            f" {site.url('/consent?continue=/terms')}",
        ),
        "testsite/doc-moved": ("failed", "robots-disallowed: Forbidden by robots.txt"),
    }, seen


def test_a_redirect_to_another_hosts_sign_in_is_a_login_redirect(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A policy behind a single sign-on sent the crawler to the identity provider's OAuth page
    (Okta's `/oauth2/v1/authorize`, on the company's own host), whose script-built sign-in was
    recorded as the policy. Here the site plays both hosts through a proxy."""
    monkeypatch.setenv("http_proxy", site.base)
    authorize = "http://example.okta.example/oauth2/v1/authorize?client_id=x&state=terms"
    shell = (
        '<html><body><div id="okta-sign-in"></div><script src="/okta.js"></script>{}</body></html>'
    )
    site.html(authorize, shell.format("<p>Sign in with your company account.</p>"))
    site.html("http://policy.example/terms", "", status=302, headers={"Location": authorize})
    site.html("http://policy.example/saml", "", status=302, headers={"Location": SAML})
    site.html(SAML, shell.format("<p>Continue to your organisation's sign-in.</p>"))
    catalog = home.catalog(
        [
            {"type": "Terms", "url": "http://policy.example/terms"},
            {"type": "Saml", "url": "http://policy.example/saml"},
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/terms": ("failed", f"login-redirect: redirected to a login page: {authorize}"),
        "testsite/saml": ("failed", f"login-redirect: redirected to a login page: {SAML}"),
    }, seen


SAML = "http://idp.example.org/idp/profile/SAML2/Redirect/SSO?SAMLRequest=fZJNT8Mw"


# Google's consent interstitial, where consent.google.com sends a visitor from the EU.
CONSENT = terms(
    "<h1>Before you continue to Google</h1><p>We use cookies and data to deliver and maintain"
    " Google services, track outages and protect against spam, fraud and abuse, measure audience"
    " engagement and site statistics to understand how our services are used and enhance the"
    " quality of those services.</p><p>If you choose to Accept all, we will also use cookies and"
    " data to develop and improve new services, deliver and measure the effectiveness of ads and"
    " show personalised content. If you choose to Reject all, we will not use cookies for these"
    " additional purposes.</p><button>Reject all</button><button>Accept all</button>"
)


def test_a_redirect_to_a_cookie_consent_page_is_a_fetch_issue(home: Home, site: Site) -> None:
    """Google sends a crawler from the EU to its consent page first: the page of cookie choices
    was recorded as the policy's first version, and each crawl found it unchanged."""
    consent = site.url("/consent?continue=" + site.url("/terms"))
    site.html(consent.removeprefix(site.base), CONSENT)
    site.html("/terms", "", status=302, headers={"Location": consent})
    seen = outcomes(home.crawl(declare(home, site, "/terms"), "--json"))
    assert seen["testsite/doc-terms"] == (
        "failed",
        f"consent-redirect: redirected to a cookie-consent page: {consent}",
    )
    assert versions(home)["testsite/doc-terms"] == 0


CONSENT_WALL = (
    "consent-wall: HTTP 200: a page of cookie choices (accept or reject), not the policy: the"
    " site asks for consent before it shows the page"
)


def test_a_cookie_wall_served_in_the_policys_place_is_a_fetch_issue(home: Home, site: Site) -> None:
    """A site that shows visitors from the EU its cookie wall at the policy's own address, with
    200 and no redirect to tell it by, had the wall recorded as the policy's first version, and
    the policy's first sound capture then read as the whole text changed (after a sound
    version, a `text-collapsed` that did not say why). A policy whose page carries a cookie
    banner with the same buttons is still the policy."""
    banner = '<div class="cookies"><p>We use cookies.</p><button>Accept all</button></div>'
    site.html("/terms", CONSENT)
    site.html("/privacy", terms(banner + CLAUSES))
    catalog = declare(home, site, "/terms", "/privacy")
    assert outcomes(home.crawl(catalog, "--json")) == {
        "testsite/doc-terms": ("failed", CONSENT_WALL),
        "testsite/doc-privacy": ("first", ""),
    }
    site.html("/terms", terms(CLAUSES))
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"] == ("first", "")
    spans = CONSENT.replace("<button>", '<button class="choice"><span>')
    site.html("/terms", spans.replace("</button>", "</span></button>"))
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"] == ("failed", CONSENT_WALL)
    assert versions(home) == {"testsite/doc-terms": 1, "testsite/doc-privacy": 1}
    assert home.run("history", "--all", "--json").json() == []


def test_a_page_that_refreshes_itself_is_the_page_and_a_refresh_elsewhere_is_followed(
    home: Home, site: Site
) -> None:
    """A meta refresh to the page itself was followed until Scrapy gave up: the policy was
    never recorded, "too-many-redirects: the page redirects in a loop"."""
    refresh = '<meta http-equiv="refresh" content="{delay}; url={to}">'
    site.html("/terms", terms(refresh.format(delay=30, to="/terms#top") + CLAUSES))
    site.html("/old", f"<html><head>{refresh.format(delay=0, to='/new')}</head></html>")
    site.html("/new", terms(CLAUSES))
    site.html("/to-login", f"<html><head>{refresh.format(delay=1, to='/login')}</head></html>")
    site.html("/login", terms("<form><p>Sign in to continue.</p></form>"))
    seen = outcomes(home.crawl(declare(home, site, "/terms", "/old", "/to-login"), "--json"))
    assert seen == {
        "testsite/doc-terms": ("first", ""),
        "testsite/doc-old": ("first", ""),
        "testsite/doc-to-login": (
            "failed",
            f"login-redirect: redirected to a login page: {site.url('/login')}",
        ),
    }
    assert len(site.hits("/terms")) == 1


def test_a_redirect_loop_is_its_own_issue(home: Home, site: Site) -> None:
    """Scrapy gives up on a loop with the exception robots.txt raises: it read as a robots.txt
    refusal ("robots-disallowed: max redirections reached")."""
    site.html("/loop", "", status=302, headers={"Location": site.url("/loop-back")})
    site.html("/loop-back", "", status=302, headers={"Location": site.url("/loop")})
    seen = outcomes(home.crawl(declare(home, site, "/loop"), "--json"))
    assert seen["testsite/doc-loop"] == (
        "failed",
        "too-many-redirects: the page redirects in a loop (or through too many pages)",
    )


def test_a_page_that_first_sets_a_cookie_and_redirects_to_itself_is_read(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site that first gives a new visitor a cookie (a session, a check that cookies are kept)
    and sends it back to the same address, with a 302, shows the page to a browser, which sends
    the cookie back. The crawler kept no cookie, was sent back again and again, and recorded
    `too-many-redirects: the page redirects in a loop`, never the policy. A redirect's cookies
    are sent along its own chain, as a browser's first visit does; nothing else is kept: each
    fetch comes as a new visitor, and no page's cookie reaches another."""
    site.html("/terms", terms(CLAUSES), needs_cookie="visited=1")
    site.html("/plain", terms(CLAUSES))
    catalog = declare(home, site, "/terms", "/plain")
    seen = outcomes(home.crawl(catalog, "--json", "--set", "ROBOTSTXT_OBEY=false"))
    assert seen == {"testsite/doc-terms": ("first", ""), "testsite/doc-plain": ("first", "")}
    cookies = [(hit.path, hit.headers.get("Cookie", "")) for hit in site.log]
    assert sorted(cookies) == [("/plain", ""), ("/terms", ""), ("/terms", "visited=1")]
    # Each redirect's cookies are added to those of the redirects before it.
    site.html("/one", "", status=302, headers={"Location": "/two", "Set-Cookie": "one=1"})
    site.html("/two", "", status=302, headers={"Location": "/three", "Set-Cookie": "two=2"})
    site.html("/three", terms(CLAUSES))
    catalog = declare(home, site, "/one")
    assert home.crawl(catalog, "--set", "ROBOTSTXT_OBEY=false").code == 0
    assert [hit.headers.get("Cookie") for hit in site.hits("/three")] == ["one=1; two=2"]
    # A cookie goes only where a browser would send it: not to another host the chain reaches.
    monkeypatch.setenv("http_proxy", site.base)
    moved = {"Location": "http://policies.example/terms", "Set-Cookie": "session=1; Path=/"}
    site.html("http://www.example/terms", "", status=302, headers=moved)
    site.html("http://policies.example/terms", terms(CLAUSES))
    catalog = home.catalog([{"type": "Moved", "url": "http://www.example/terms"}])
    assert outcomes(home.crawl(catalog, "--json", "--set", "ROBOTSTXT_OBEY=false")) == {
        "testsite/moved": ("first", "")
    }
    assert "Cookie" not in site.hits("http://policies.example/terms")[0].headers


def test_a_redirect_to_a_local_file_is_not_followed_and_a_decompression_bomb_is_capped(
    home: Home, site: Site, tmp_path: Path
) -> None:
    """A public page must not make the crawler read this machine's files, nor inflate a small
    gzip body past the size cap; both read as robots.txt refusals ("robots-disallowed: Ignoring
    non-200 response"), which sent the user to the wrong cause."""
    secret = tmp_path / "secret.html"
    secret.write_text(terms("<p>" + "This machine's private file. " * 20 + "</p>"))
    site.html("/to-file", "", status=302, headers={"Location": secret.as_uri()})
    site.html("/to-nowhere", "", status=302, headers={"Location": "http://[::1/terms"})
    inflated = b"<html><body><p>" + b"policy " * 200_000 + b"</p></body></html>"
    site.pages["/bomb"] = Page(gzip.compress(inflated), headers={"Content-Encoding": "gzip"})
    site.pages["/br"] = Page(brotli.compress(inflated), headers={"Content-Encoding": "br"})
    zstd = zstandard.compress(inflated)
    site.pages["/zstd"] = Page(zstd, headers={"Content-Encoding": "zstd"})
    catalog = declare(home, site, "/to-file", "/to-nowhere", "/bomb", "/br", "/zstd")
    seen = outcomes(home.crawl(catalog, "--json", "--set", "DOWNLOAD_MAXSIZE=100000"))
    assert seen["testsite/doc-to-file"] == (
        "failed",
        f"http-error: HTTP 302: a redirect to {secret.as_uri()} is not followed"
        " (only http and https are)",
    )
    assert seen["testsite/doc-to-nowhere"] == (  # it read "fetch-error: Invalid IPv6 URL"
        "failed",
        "http-error: HTTP 302: a redirect to http://[::1/terms is not followed (its Location is"
        " no URL that can be read)",
    )
    for bomb in ("testsite/doc-bomb", "testsite/doc-br", "testsite/doc-zstd"):
        assert seen[bomb][0] == "failed" and seen[bomb][1].startswith("too-large: "), seen
    assert set(versions(home).values()) == {0}
    # Said as a page too large is, not in Scrapy's words ("Ignored response <200 …> because its
    # body (… B compressed, … B decompressed so far) exceeded DOWNLOAD_MAXSIZE (100000 B) …").
    compressed = len(site.pages["/bomb"].body)
    assert seen["testsite/doc-bomb"][1] == (
        f"too-large: the page inflates past the size cap of 100,000 bytes ({compressed:,} bytes"
        " compressed); a policy this large? raise max_bytes (POLICYWATCH_MAX_BYTES)"
    )


def test_a_compressed_page_cut_short_is_never_a_version(home: Home, site: Site) -> None:
    """Scrapy decodes a compressed body "as much as possible": a gzip, deflate, brotli or zstd
    stream cut before its end marker (its length announced honestly, as a cache that stored a
    truncated object sends it) was recorded as the page, its lost end read as clauses removed."""
    page = terms(CLAUSES).encode()
    whole_gzip = gzip.compress(page)
    bad_crc = whole_gzip[:-8] + bytes(4) + whole_gzip[-4:]  # data whole, trailer wrong
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    encoded = {
        "gzip": whole_gzip,
        "deflate": zlib.compress(page),
        "br": brotli.compress(page),
        "zstd": zstandard.compress(page),
    }
    for encoding, body in encoded.items():
        site.pages[f"/{encoding}"] = Page(body, headers={"Content-Encoding": encoding})
        site.pages[f"/{encoding}-cut"] = Page(
            body[: len(body) * 2 // 3], headers={"Content-Encoding": encoding}
        )
    site.pages["/raw-deflate"] = Page(
        raw.compress(page) + raw.flush(), headers={"Content-Encoding": "deflate"}
    )
    site.pages["/two-members"] = Page(
        gzip.compress(page[:500]) + gzip.compress(page[500:]), headers={"Content-Encoding": "gzip"}
    )
    site.pages["/bad-crc"] = Page(bad_crc, headers={"Content-Encoding": "gzip"})
    site.pages["/not-gzip"] = Page(page, headers={"Content-Encoding": "gzip"})
    # An error page is screened by its status: its body is read as it came.
    site.pages["/gone"] = Page(whole_gzip[:-40], status=404, headers={"Content-Encoding": "gzip"})
    paths = [*(f"/{e}" for e in encoded), *(f"/{e}-cut" for e in encoded)]
    catalog = declare(home, site, *paths, "/raw-deflate", "/two-members", "/bad-crc", "/not-gzip",
                      "/gone", select=["#terms"])  # fmt: skip
    seen = outcomes(home.crawl(catalog, "--json"))
    for encoding in encoded:
        assert seen[f"testsite/doc-{encoding}"] == ("first", ""), seen
        kind, detail = seen[f"testsite/doc-{encoding}-cut"]
        assert kind == "failed", seen
        name = {"br": "brotli"}.get(encoding, encoding)
        assert detail.startswith(f"connection-error: the page's {name} data stops before its end")
        assert detail.endswith("it was cut short on the way, so it is not recorded")
    for whole in ("raw-deflate", "two-members", "bad-crc"):
        assert seen[f"testsite/doc-{whole}"] == ("first", ""), seen
    assert seen["testsite/doc-not-gzip"] == (
        "failed",
        "fetch-error: the page is sent as gzip-compressed (Content-Encoding), but its data is"
        " not valid gzip (no gzip header)",
    )
    assert seen["testsite/doc-gone"][1].startswith("not-found: HTTP 404")
    texts = {home.run("text", f"testsite/doc-{path}").stdout for path in ("gzip", "two-members")}
    assert len(texts) == 1 and "Clause 8" in texts.pop()
    assert home.run("text", "testsite/doc-gzip-cut").code == 2  # no version of it


@contextlib.contextmanager
def hanging_up(
    answer: bytes,
    end: Literal["reset", "close", "close_notify"] = "reset",
    tls: ssl.SSLContext | None = None,
) -> Iterator[str]:
    """The base URL of a server on loopback that reads each request, sends `answer` (no HTTP,
    nothing, or part of a page) and resets the connection: a server crashing, a middlebox
    dropping us. Or it closes the connection cleanly (`close`), with `tls` sending TLS's
    closure alert first (`close_notify`) or not."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(5)
            # Wrapping takes the connection over: closing the TLS socket is closing it.
            talk = tls.wrap_socket(connection, server_side=True) if tls else connection
            with talk:
                talk.recv(65536)
                talk.sendall(answer)
                time.sleep(0.2)  # what was sent is read before the connection ends
                if end == "reset":
                    talk.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif end == "close_notify":
                    talk.unwrap()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join()
        listener.close()


def test_a_long_header_line_is_read_as_browsers_read_it(home: Home, site: Site) -> None:
    """Twisted's limit of 16 KiB a header line dropped the connection on a page with a long
    Content-Security-Policy: "connection-error: … (Connection was closed cleanly.)"."""
    policy = "default-src 'self' " + "https://cdn.example.com/assets/ " * 1_500  # ~48 KB
    site.html("/terms", terms(CLAUSES), headers={"Content-Security-Policy": policy})
    site.html("/absurd", terms(CLAUSES), headers={"X-Padding": "x" * 300_000})
    seen = outcomes(home.crawl(declare(home, site, "/terms", "/absurd"), "--json"))
    assert seen == {
        "testsite/doc-terms": ("first", ""),
        "testsite/doc-absurd": (
            "failed",
            "fetch-error: the server's answer is not HTTP that can be read (a header line is"
            " longer than 262,144 bytes)",
        ),
    }


def test_a_page_nested_150_000_deep_is_read_in_moments(home: Home, site: Site) -> None:
    """Its text, past the depth rendered as Markdown, is read by an iterative walk whose lxml
    proxies, freed one by one, each walked up the page's depth: 40 s for this page, half an
    hour for a million nested elements (5 MB), the crawl's event loop held all along."""
    depth = 150_000
    site.html("/deep", terms("<div>" * depth + CLAUSES + "</div>" * depth))
    started = time.monotonic()
    seen = outcomes(home.crawl(declare(home, site, "/deep", select=["#terms"]), "--json"))
    assert seen == {"testsite/doc-deep": ("first", "")}
    assert time.monotonic() - started < 25  # was 40 s
    assert "Clause 8: the developer agrees" in home.run("text", "testsite/doc-deep").stdout


def test_a_connection_reset_or_an_answer_that_is_no_http_is_said_in_words(home: Home) -> None:
    """Both read `fetch-error: [<twisted.python.failure.Failure twisted.internet.error.
    ConnectionLost: Connection to the other side was lost in a non-clean fashion.>]`, Twisted's
    representation of the failures it gathered."""
    with hanging_up(b"") as reset, hanging_up(b"\x00 not http\r\n\r\n") as garbled:
        catalog = home.catalog(
            [{"type": "Reset", "url": f"{reset}/t"}, {"type": "Garbled", "url": f"{garbled}/t"}]
        )
        seen = outcomes(home.crawl(catalog, "--json", "--set", "ROBOTSTXT_OBEY=false"))
    assert seen == {
        "testsite/reset": (
            "failed",
            "connection-error: the connection was lost before the answer came in whole"
            " (Connection to the other side was lost in a non-clean fashion.)",
        ),
        "testsite/garbled": (
            "failed",
            "fetch-error: the server's answer is not HTTP that can be read (non-integer status"
            " code)",
        ),
    }


def test_a_connection_lost_mid_page_is_a_connection_error_said_in_words(
    home: Home, site: Site
) -> None:
    """A body cut short of its Content-Length read `fetch-error: ResponseDataLossError()`."""
    body = terms("<p>" + "A clause of the terms. " * 200 + "</p>").encode()
    site.pages["/cut"] = Page(body, cut_at=len(body) // 2)
    seen = outcomes(home.crawl(declare(home, site, "/cut"), "--json"))
    assert seen["testsite/doc-cut"] == (
        "failed",
        "connection-error: the connection closed before the whole page arrived (the server sent"
        " less than the length it announced)",
    )
    assert len(site.hits("/cut")) == 3  # retried, as a connection lost is


def test_a_page_sent_without_a_length_is_whole_only_once_the_server_closes_cleanly(
    home: Home,
) -> None:
    """Such a body ends where the connection does. One broken off by a reset was recorded as
    the page, flagged partial by Scrapy: a new version, its lost end read as clauses removed."""
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    page = terms(CLAUSES).encode()
    with hanging_up(head + page, "close") as whole, hanging_up(head + page[:-600]) as cut:
        catalog = home.catalog(
            [{"type": "Whole", "url": f"{whole}/t"}, {"type": "Cut", "url": f"{cut}/t"}]
        )
        seen = outcomes(home.crawl(catalog, "--json", "--set", "ROBOTSTXT_OBEY=false"))
    assert seen == {
        "testsite/whole": ("first", ""),
        "testsite/cut": (
            "failed",
            "connection-error: the connection was broken off before the page ended (the server"
            " sent no length, so only its closing the connection cleanly ends the page)",
        ),
    }
    assert home.run("text", "testsite/cut").code == 2  # no version of it


def test_a_page_longer_than_its_content_length_is_not_cut_to_it(home: Home) -> None:
    """Twisted reads a body to its Content-Length and drops what follows: a page whose server
    announced too short a length (one computed for an older page, say) was recorded cut short
    there, its lost end read as clauses removed. A stray CRLF after the body is no more page."""
    page = terms(CLAUSES).encode()

    def answer(length: int, after: bytes = b"") -> bytes:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {length}\r\n"
        return head.encode() + b"Connection: close\r\n\r\n" + page + after

    with (
        hanging_up(answer(len(page) * 2 // 3), "close") as overrun,
        hanging_up(answer(len(page), b"\r\n"), "close") as crlf,
    ):
        catalog = home.catalog(
            [{"type": "Overrun", "url": f"{overrun}/t"}, {"type": "Crlf", "url": f"{crlf}/t"}]
        )
        seen = outcomes(home.crawl(catalog, "--json", "--set", "ROBOTSTXT_OBEY=false"))
    assert seen == {
        "testsite/overrun": (
            "failed",
            "connection-error: the server sent more than the length it announced"
            " (Content-Length), so where the page ends is not known: read to that length, its"
            " text would be cut short",
        ),
        "testsite/crlf": ("first", ""),
    }
    assert home.run("text", "testsite/overrun").code == 2  # no version of it


def test_over_tls_a_page_without_a_length_ends_only_with_close_notify(home: Home) -> None:
    """RFC 9112 (9.8): without TLS's closure alert, a truncation attack could have cut it."""
    authority = trustme.CA()
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1").configure_cert(tls)
    answer = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + terms(CLAUSES).encode()
    with (
        hanging_up(answer, "close_notify", tls) as notified,
        hanging_up(answer, "close", tls) as unnotified,
    ):
        catalog = home.catalog(
            [
                {"type": "Notified", "url": f"{notified}/t".replace("http:", "https:")},
                {"type": "Unnotified", "url": f"{unnotified}/t".replace("http:", "https:")},
            ]
        )
        seen = outcomes(home.crawl(catalog, "--json", "--set", "ROBOTSTXT_OBEY=false"))
    assert seen["testsite/notified"] == ("first", "")
    assert seen["testsite/unnotified"][1].startswith("connection-error: the connection was broken")


def test_a_collapsed_or_foreign_capture_is_an_issue_and_the_sound_one_comes_back_quietly(
    home: Home, site: Site
) -> None:
    site.html("/terms", terms(CLAUSES))
    site.html("/conditions", terms(CLAUSES))
    catalog = declare(home, site, "/terms", "/conditions", select=["#terms"])
    assert home.crawl(catalog).code == 0
    site.html("/terms", terms("<p>Clause 1: the developer agrees to use the interface.</p>"))
    site.html("/conditions", FRENCH)
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/doc-terms"][1].startswith("text-collapsed: the text collapsed to")
    assert seen["testsite/doc-conditions"] == (
        "failed",
        "wrong-language: the page switched language from en to fr",
    )
    home.crawl(catalog)  # the same broken captures again: the streak grows
    assert {key: issue["streak"] for key, issue in issues(home).items()} == {
        "testsite/doc-terms": 2,
        "testsite/doc-conditions": 2,
    }
    site.html("/terms", terms(CLAUSES))
    site.html("/conditions", terms(CLAUSES))
    back = outcomes(home.crawl(catalog, "--json"))
    assert {outcome for outcome, _ in back.values()} == {"not-modified"}  # as first fetched
    assert versions(home) == {"testsite/doc-terms": 1, "testsite/doc-conditions": 1}
    assert home.run("history", "--all", "--json").json() == []


def test_a_first_capture_in_another_language_than_declared_is_refused(
    home: Home, site: Site
) -> None:
    site.html("/conditions", FRENCH)
    site.html("/conditions-fr", FRENCH)
    site.html("/terms", terms(CLAUSES))
    catalog = home.catalog(
        [
            {"type": "Conditions", "url": site.url("/conditions"), "select": "#terms"},
            {"type": "Conditions FR", "url": site.url("/conditions-fr"), "language": "fr"},
            # Any case: `EN` was kept as written and never matched the detected `en`.
            {"type": "Terms", "url": site.url("/terms"), "language": "EN"},
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/conditions"] == (
        "failed",
        "wrong-language: the page is in fr, the catalog expects en",  # no earlier version
    )
    assert seen["testsite/conditions-fr"] == ("first", "")
    assert seen["testsite/terms"] == ("first", "")


def test_a_page_redirected_to_another_regions_page_in_another_language_says_where(
    home: Home, site: Site
) -> None:
    """A site that sends a visitor from elsewhere to its own region's page (`/en-us/` to
    `/de-de/`, by where the request comes from) gave `wrong-language: the page is in fr, the
    catalog expects en` for an English address, with nothing to say why: the issue names the
    page the crawler was sent to."""
    site.html("/en-us/terms", "", status=302, headers={"Location": "/fr-fr/terms"})
    site.html("/fr-fr/terms", FRENCH)
    site.html("/conditions", FRENCH)
    seen = outcomes(home.crawl(declare(home, site, "/en-us/terms", "/conditions"), "--json"))
    assert seen == {
        "testsite/doc-en-us-terms": (
            "failed",
            "wrong-language: the page is in fr, the catalog expects en; the site sent the crawler"
            f" to {site.url('/fr-fr/terms')}: its page for another region or language?",
        ),
        "testsite/doc-conditions": (
            "failed",
            "wrong-language: the page is in fr, the catalog expects en",
        ),
    }, seen


def test_a_page_is_asked_for_in_the_language_declared(home: Home, site: Site) -> None:
    """A site that serves its terms in the language the request asks for (Accept-Language)
    was always asked for English, so a document declared `language: fr` failed every crawl,
    `wrong-language: the page is in en, the catalog expects fr`."""
    english = terms(CLAUSES).encode()
    site.pages["/conditions"] = Page(english, languages={"fr": FRENCH.encode()})
    site.pages["/terms"] = Page(english, languages={"fr": FRENCH.encode()})
    catalog = home.catalog(
        [
            {"type": "Conditions", "url": site.url("/conditions"), "language": "fr"},
            {"type": "Terms", "url": site.url("/terms")},
        ]
    )
    assert outcomes(home.crawl(catalog, "--json")) == {
        "testsite/conditions": ("first", ""),
        "testsite/terms": ("first", ""),
    }
    assert "Article 1 : le développeur" in home.run("text", "testsite/conditions").stdout
    assert "Clause 1: the developer" in home.run("text", "testsite/terms").stdout


def test_a_page_that_shows_its_policy_in_a_frame_is_no_version(home: Home, site: Site) -> None:
    """A policy vendor's embed: the page's header and footer were recorded as the policy."""
    footer = "<footer>© Acme 2025 · Privacy · Terms · Contact us</footer>"
    site.html(
        "/privacy", f'<body><header>Acme</header><iframe src="/embed"></iframe>{footer}</body>'
    )
    site.html("/embed", terms(CLAUSES))
    seen = outcomes(home.crawl(declare(home, site, "/privacy"), "--json"))
    assert seen["testsite/doc-privacy"] == (
        "failed",
        "framed: the page shows its text in a frame: declare the address of the frame that holds"
        f" the policy instead ({site.url('/embed')})",
    )
    assert versions(home)["testsite/doc-privacy"] == 0


def test_a_pdf_document_is_extracted_and_its_change_judged(home: Home, site: Site) -> None:
    clauses = [f"{n}. Clause {n}" for n in range(1, 4)]
    body = [
        f"The developer shall comply with section {n} of this agreement when distributing "
        "applications through the store, including its review guidelines."
        for n in range(1, 4)
    ]
    site.pages["/agreement.pdf"] = Page(text_pdf([*clauses, *body]), content_type="application/pdf")
    catalog = declare(home, site, "/agreement.pdf")
    assert outcomes(home.crawl(catalog, "--json")) == {"testsite/doc-agreement-pdf": ("first", "")}
    ban = (
        "4. You may not use the program to offer a general-purpose AI assistant or chatbot "
        "to users of the platform."
    )
    site.pages["/agreement.pdf"] = Page(
        text_pdf([*clauses, *body, ban]), content_type="application/pdf"
    )
    [(outcome, _)] = outcomes(home.crawl(catalog, "--json")).values()
    assert outcome == "changed"
    [change] = home.run("history", "--json").json()
    assert change["severity"] in ("critical", "high")
    assert "general-purpose AI assistant" in home.run("show", str(change["id"])).stdout


def test_a_page_that_declares_no_charset_reads_alike_whatever_its_words(
    home: Home, site: Site
) -> None:
    """A windows-1252 page sent as `text/html` with no charset: Scrapy's guess from its bytes
    read it as windows-1252, then as cp1250 once a paragraph was added, and the change showed
    its French notice rewritten, "données ŕ caractčre personnel", where it had not changed."""
    notice = "Conditions générales d’utilisation, données à caractère personnel."
    first = terms(f"<p>{notice}</p>{CLAUSES}")
    site.pages["/terms"] = Page(first.encode("cp1252"), content_type="text/html")
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert outcomes(home.crawl(catalog, "--json")) == {"testsite/doc-terms": ("first", "")}
    more = "<p>" + "You may use the API within the limits of your plan. " * 40 + "</p>"
    second = terms(f"<p>{notice}</p>{CLAUSES}{more}")
    site.pages["/terms"] = Page(second.encode("cp1252"), content_type="text/html")
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][0] == "changed"
    [change] = home.run("history", "--json").json()
    shown = home.run("show", str(change["id"])).stdout
    assert notice in home.run("text", "testsite/doc-terms").stdout
    assert "ŕ" not in shown and "caractčre" not in shown


TERMS_MD = "# Developer Terms\n\n" + "".join(
    f"## Clause {n}\n\nThe developer agrees to use the interface only as documented and\nto"
    f" respect the limits published for each endpoint of the platform.\n\n"
    for n in range(1, 9)
)


def test_a_content_type_joined_by_a_proxy_is_read_as_browsers_read_it(
    home: Home, site: Site
) -> None:
    """Some proxies join a repeated header into one line (`text/html, text/html`): the page was
    `not-html: the server sent text/html, text/html, not HTML or text`, never tracked. Its type
    is the last valid one it names (`*/*` is none), as browsers read it."""
    site.pages["/terms"] = Page(terms(CLAUSES).encode(), content_type="text/html, text/html")
    site.pages["/any"] = Page(terms(CLAUSES).encode(), content_type="text/html;charset=utf-8, */*")
    site.pages["/TERMS.md"] = Page(TERMS_MD.encode(), content_type="text/markdown, text/markdown")
    catalog = declare(home, site, "/terms", "/any", "/TERMS.md")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/doc-terms": ("first", ""),
        "testsite/doc-any": ("first", ""),
        "testsite/doc-terms-md": ("first", ""),
    }, seen
    text = home.run("text", "testsite/doc-terms-md").stdout
    assert text.startswith("# Developer Terms\n\n## Clause 1\n\nThe developer agrees to use")


def test_an_html_page_sent_as_a_file_of_no_known_type_is_read_as_html(
    home: Home, site: Site
) -> None:
    """A policy kept in a storage bucket is sent with the type the bucket gives a file whose type
    it was not told (`binary/octet-stream`, `application/octet-stream`): such a page was
    `not-html: the server sent binary/octet-stream, not HTML or text`, never tracked, and no
    declaration could say otherwise. One that starts as an HTML page is read as one (and
    screened as one); any other such body is still not HTML."""
    page = terms(CLAUSES).encode()
    site.pages["/s3"] = Page(b"<!DOCTYPE html>\n" + page, content_type="binary/octet-stream")
    site.pages["/octet"] = Page(page, content_type="application/octet-stream")
    site.pages["/wall"] = Page(CONSENT.encode(), content_type="application/octet-stream")
    site.pages["/zip"] = Page(b"PK\x03\x04" + bytes(200), content_type="application/octet-stream")
    seen = outcomes(home.crawl(declare(home, site, "/s3", "/octet", "/wall", "/zip"), "--json"))
    assert seen == {
        "testsite/doc-s3": ("first", ""),
        "testsite/doc-octet": ("first", ""),
        "testsite/doc-wall": ("failed", CONSENT_WALL),
        "testsite/doc-zip": (
            "failed",
            "not-html: the server sent application/octet-stream, not HTML or text",
        ),
    }, seen
    assert "Clause 8:" in home.run("text", "testsite/doc-s3").stdout


OPERATOR = "<p>The platform is operated by ООО «Яндекс», Москва, for every developer.</p>"


def test_the_charset_of_a_joined_or_repeated_content_type_is_read_as_browsers_read_it(
    home: Home, site: Site
) -> None:
    """A page's type was read by the Fetch standard, its charset still as the first `charset=`
    written in the whole header: `text/html; charset=utf-8, text/html; charset=windows-1251`
    was decoded as UTF-8, its Cyrillic turned to U+FFFD; and of a header sent twice only the
    last line was read, the first's charset lost, `ООО` read as `ÎÎÎ`. Its charset now follows
    the reading of its type: the last value's, or the one carried from a value of the same
    type before it."""
    body = terms(CLAUSES + OPERATOR).encode("cp1251")
    cp1251 = "text/html; charset=windows-1251"
    site.pages["/joined"] = Page(body, content_type="text/html; charset=utf-8, " + cp1251)
    site.pages["/twice"] = Page(body, content_type=cp1251, headers={"Content-Type": "text/html"})
    site.pages["/carried"] = Page(body, content_type=cp1251 + ", text/html")
    catalog = declare(home, site, "/joined", "/twice", "/carried")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert set(seen.values()) == {("first", "")}, seen
    for key in seen:
        assert "operated by ООО «Яндекс», Москва," in home.run("text", key).stdout, key


def test_a_policy_served_as_plain_text_or_markdown_is_tracked(home: Home, site: Site) -> None:
    """Raw files on GitHub (a TERMS.md is sent as text/plain) and .txt notices were refused,
    `not-html: the server sent text/plain, not HTML`, and never tracked."""
    site.pages["/TERMS.md"] = Page(TERMS_MD.encode(), content_type="text/plain; charset=utf-8")
    site.pages["/notice"] = Page(b"Notice\x00\x00\x00", content_type="text/markdown")
    catalog = declare(home, site, "/TERMS.md", "/notice")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/doc-terms-md": ("first", ""),
        "testsite/doc-notice": (
            "failed",
            "not-html: the body contains NUL bytes: binary, not text",
        ),
    }
    text = home.run("text", "testsite/doc-terms-md").stdout
    assert text.startswith("# Developer Terms\n\n## Clause 1\n\nThe developer agrees to use")
    assert "documented and to respect" in text  # its lines joined, as an HTML paragraph's
    rewrapped = TERMS_MD.replace("documented and\nto respect", "documented\nand to respect")
    site.pages["/TERMS.md"] = Page(rewrapped.encode(), content_type="text/plain; charset=utf-8")
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms-md"][0] == "unchanged"
    ban = "## Clause 9\n\nYou may not use the API to build a general-purpose AI assistant.\n"
    site.pages["/TERMS.md"] = Page((rewrapped + ban).encode(), content_type="text/markdown")
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms-md"][0] == "changed"
    [change] = home.run("history", "--json").json()
    assert "general-purpose AI assistant" in home.run("show", str(change["id"])).stdout
    # CSS selectors have nothing to match in plain text: said, and nothing recorded.
    selected = declare(home, site, "/TERMS.md", select=["main"])
    assert outcomes(home.crawl(selected, "--json"))["testsite/doc-terms-md"] == (
        "failed",
        "selector-matched-nothing: the server sent text/markdown, plain text with no elements for"
        " `select` or `remove` to match: declare the document without them",
    )
    assert versions(home)["testsite/doc-terms-md"] == 2


def test_a_text_or_markdown_policy_is_not_screened_as_a_page(home: Home, site: Site) -> None:
    """A short TERMS.md quoting `location.href = "…"` in a code sample was a script-redirect, a
    .txt quoting `<title>Page not found</title>` a not-found, one asking "are you a robot?" a
    bot wall: a text file's tags and words are its text. An HTML page sent as text/plain is
    still screened as the page it is."""
    sample = '<script>location.href = "https://elsewhere.example/";</script>'
    redirect = f"# Terms\n\nNever ship this:\n\n```html\n{sample}\n```\n"
    site.pages["/redirect.md"] = Page(redirect.encode(), content_type="text/markdown")
    title = b"Error pages\n\nName the error: <title>Page not found</title>\n"
    site.pages["/title.txt"] = Page(title, content_type="text/plain")
    bots = b'# Bots\n\nAsked "are you a robot?", a bot says it is one.\n'
    site.pages["/bots.md"] = Page(bots, content_type="text/markdown")
    page = "<html><head><script>location.replace('/en/terms')</script></head><body></body></html>"
    site.pages["/page.txt"] = Page(page.encode(), content_type="text/plain")
    catalog = declare(home, site, "/redirect.md", "/title.txt", "/bots.md", "/page.txt")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/doc-redirect-md": ("first", ""),
        "testsite/doc-title-txt": ("first", ""),
        "testsite/doc-bots-md": ("first", ""),
        "testsite/doc-page-txt": (
            "failed",
            f"script-redirect: HTTP 200: the page only sends the browser on by script to"
            f" {site.url('/en/terms')}: declare the address it leads to, or `render: browser`",
        ),
    }, seen


def test_a_pdf_is_not_screened_as_a_page_but_a_wall_at_a_pdf_address_is(
    home: Home, site: Site
) -> None:
    """A PDF guide to error pages whose text stream, left uncompressed, quotes
    `<title>Page not found</title>` was a not-found error page, never tracked: a PDF's bytes are
    its text, not a page's tags (nor are its words a captcha's). What a `.pdf` address serves as
    HTML, a challenge page, is still screened."""
    quoted = (
        "Error pages. Name the error in the title, as in <title>Page not found</title>, for all."
    )
    pdf = text_pdf([quoted, quoted], compress=False)
    assert b"<title>Page not found</title>" in pdf
    site.pages["/errors.pdf"] = Page(pdf, content_type="application/pdf")
    site.html("/wall.pdf", CLOUDFLARE)
    catalog = declare(home, site, "/errors.pdf", "/wall.pdf", format="pdf")
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/doc-errors-pdf": ("first", ""),
        "testsite/doc-wall-pdf": (
            "failed",
            "bot-wall: HTTP 200: a bot wall or captcha (Cloudflare)",
        ),
    }, seen


def test_an_html_page_labelled_a_pdf_is_screened_as_html_and_said_to_be_no_pdf(
    home: Home, site: Site
) -> None:
    """A login or error page at a `.pdf` address, sent as `application/pdf` (a site's template
    given the address's type), failed in pypdf's own words ("Stream has ended unexpectedly"),
    which do not say what came instead; then a sign-in form was `not-pdf … sent an HTML page`,
    not the login wall it is. It is screened as the HTML page it is; a page that passes is said
    not to be a PDF, and nothing is recorded."""
    for path, body in [
        ("/login.pdf", SIGN_IN.encode()),
        ("/missing.pdf", SOFT_404.encode()),
        ("/wall.pdf", CAPTCHA.encode()),
        ("/page.pdf", terms(CLAUSES).encode()),
        ("/junk.pdf", b"\x89PNG\r\n\x1a\n not a document"),
    ]:
        site.pages[path] = Page(body, content_type="application/pdf")
    site.html("/declared.pdf", SIGN_IN)  # declared `format: pdf`, sent as the HTML it is
    paths = ["/login.pdf", "/missing.pdf", "/wall.pdf", "/page.pdf", "/junk.pdf"]
    catalog = home.catalog(
        [
            *({"type": f"Doc {path.strip('/')}", "url": site.url(path)} for path in paths),
            {"type": "Declared", "url": site.url("/declared.pdf"), "format": "pdf"},
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen == {
        "testsite/doc-login-pdf": ("failed", LOGIN_WALL),
        "testsite/doc-missing-pdf": (
            "failed",
            "not-found: HTTP 200, but the page says 'Page Not Found | TestSite': an error page,"
            " not the policy (has it moved?)",
        ),
        "testsite/doc-wall-pdf": (
            "failed",
            "bot-wall: HTTP 200: a bot wall or captcha (a captcha)",
        ),
        "testsite/doc-page-pdf": (
            "failed",
            "not-pdf: the server labelled it application/pdf, but sent an HTML page",
        ),
        "testsite/doc-junk-pdf": (
            "failed",
            "not-pdf: the server labelled it application/pdf, but sent a body that is not a PDF",
        ),
        "testsite/declared": ("failed", LOGIN_WALL),
    }, seen
    assert set(versions(home).values()) == {0}


SIGN_IN = (
    "<!DOCTYPE html><html><head><title>Sign in</title></head><body><h1>Welcome back</h1>"
    "<form method=post><input name=user><INPUT name=secret TYPE='Password'>"
    "<button>Continue</button></form></body></html>"
)
LOGIN_WALL = (
    "login-wall: HTTP 200: a sign-in page (a password form), not the policy: it is behind a login"
)


def test_a_sign_in_page_served_in_the_policys_place_is_a_login_wall(home: Home, site: Site) -> None:
    """A site that answers the policy's own address with its sign-in form (no redirect to a
    login page to tell it by) had the form recorded as the policy, and its return read as the
    terms rewritten. A policy whose header holds a sign-in box is still the policy."""
    header_box = '<form><input name=user><input type="password" name=pw></form>'
    site.html("/terms", terms(header_box + CLAUSES))
    catalog = declare(home, site, "/terms", "/members")
    site.html("/members", SIGN_IN)
    assert outcomes(home.crawl(catalog, "--json")) == {
        "testsite/doc-terms": ("first", ""),
        "testsite/doc-members": ("failed", LOGIN_WALL),
    }
    site.html("/terms", SIGN_IN)
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"] == ("failed", LOGIN_WALL)
    assert versions(home) == {"testsite/doc-terms": 1, "testsite/doc-members": 0}
    assert home.run("history", "--all", "--json").json() == []


def test_hostile_pages_each_give_a_clear_outcome_never_a_version_of_what_is_no_policy(
    home: Home, site: Site
) -> None:
    """Pages a hostile or broken site serves: each is a plain outcome. A UTF-16 page (with its
    byte-order mark, which browsers obey over any charset named) is read as such, and screened
    as any page is: a UTF-16 "Page not found" or sign-in page was recorded as the policy, as no
    marker written in ASCII was found in its two-byte letters. A page that holds its policy in
    a `<noscript>` (shown to readers without scripts) had its header and footer recorded as the
    policy: it is said, with what to declare."""
    operator = "<p>Données à caractère personnel — “quoted”.</p>"
    site.pages["/utf16"] = Page(
        terms(CLAUSES + operator).encode("utf-16"), content_type="text/html"
    )
    utf16be = b"\xfe\xff" + terms(CLAUSES + operator).encode("utf-16-be")
    site.pages["/utf16be"] = Page(utf16be, content_type="text/html; charset=utf-8")
    site.pages["/missing"] = Page(SOFT_404.encode("utf-16"), content_type="text/html")
    site.pages["/sign-in"] = Page(SIGN_IN.encode("utf-16"), content_type="text/html")
    site.html("/empty", "")
    refresh = '<html><head><meta http-equiv="refresh" content="0; url={}"></head></html>'
    site.html("/ping", refresh.format("/pong"))
    site.html("/pong", refresh.format("/ping"))
    inflated = b"<html><body><p>" + b"policy " * 200_000 + b"</p></body></html>"
    twice = gzip.compress(gzip.compress(inflated))
    site.pages["/gzip-gzip"] = Page(twice, headers={"Content-Encoding": "gzip, gzip"})
    site.html("/noscript", terms(f'<div id="app"></div><noscript>{CLAUSES}</noscript>'))
    site.html("/twice", terms("<p>Cookie notice.</p>").replace("</body>", terms(CLAUSES)[6:]))
    paths = ["/utf16", "/utf16be", "/missing", "/sign-in", "/empty", "/ping", "/gzip-gzip"]
    catalog = declare(home, site, *paths, "/noscript", "/twice")
    seen = outcomes(home.crawl(catalog, "--json", "--set", "DOWNLOAD_MAXSIZE=1000000"))
    assert seen == {
        "testsite/doc-utf16": ("first", ""),
        "testsite/doc-utf16be": ("first", ""),
        "testsite/doc-missing": (
            "failed",
            "not-found: HTTP 200, but the page says 'Page Not Found | TestSite': an error page,"
            " not the policy (has it moved?)",
        ),
        "testsite/doc-sign-in": ("failed", LOGIN_WALL),
        "testsite/doc-empty": ("failed", "empty-text: the page is blank: no element, no text"),
        "testsite/doc-ping": (
            "failed",
            "too-many-redirects: the page redirects in a loop (or through too many pages)",
        ),
        "testsite/doc-gzip-gzip": (
            "failed",
            f"too-large: the page inflates past the size cap of 1,000,000 bytes ({len(twice):,}"
            " bytes compressed); a policy this large? raise max_bytes (POLICYWATCH_MAX_BYTES)",
        ),
        "testsite/doc-noscript": (  # its header and footer were recorded as the policy
            "failed",
            "noscript: the page shows its text only to readers without scripts, in a <noscript>"
            " element (192 words there, 13 shown): declare `render: browser`",
        ),
        "testsite/doc-twice": ("first", ""),
    }, seen
    for key in ("testsite/doc-utf16", "testsite/doc-utf16be"):
        assert "Données à caractère personnel — “quoted”." in home.run("text", key).stdout
    both = home.run("text", "testsite/doc-twice").stdout  # both elements, in the page's order
    assert both.index("Cookie notice.") < both.index("Clause 1:") and both.count("Clause 1:") == 1


def test_terminal_controls_in_fetched_text_never_reach_the_terminal(home: Home, site: Site) -> None:
    """A PDF's text may hold escape sequences that would clear the screen, recolour the diff or
    plant a hyperlink in the user's terminal: they are dropped when the text is read, and `show`
    and `history` print the words."""
    body = [
        f"The developer shall comply with section {n} of this agreement when distributing "
        "applications through the store, including its review guidelines."
        for n in range(1, 4)
    ]
    site.pages["/agreement.pdf"] = Page(text_pdf(body), content_type="application/pdf")
    catalog = declare(home, site, "/agreement.pdf")
    assert outcomes(home.crawl(catalog, "--json")) == {"testsite/doc-agreement-pdf": ("first", "")}
    hostile = (
        "4. Fees \x1b[2J\x1b[31mapply\x1b[0m from now, see "
        "\x1b]8;;https://evil.example/\x1b\\the fee schedule\x1b]8;;\x1b\\ for every developer."
    )
    site.pages["/agreement.pdf"] = Page(text_pdf([*body, hostile]), content_type="application/pdf")
    [(outcome, _)] = outcomes(home.crawl(catalog, "--json")).values()
    assert outcome == "changed"
    [change] = home.run("history", "--json").json()
    stored = home.run("show", str(change["id"]), "--json").json()["diff"]
    assert "[31mapply" in stored and "\x1b" not in stored
    shown = home.run("show", str(change["id"]))
    listed = home.run("history", "--document", "testsite/doc-agreement-pdf")
    assert "apply" in shown.stdout and "the fee schedule" in shown.stdout
    for output in (shown.stdout, listed.stdout):
        assert "\x1b" not in output, output


def test_a_public_page_cannot_redirect_the_crawler_into_this_machine_or_its_network(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tracked site (or whoever took it over) could send the crawler to the cloud's metadata
    service or an internal admin page by a redirect, and its text became a version, shown on
    the web page, in the feeds (public even with a token) and in alerts. Here the site plays a
    public host through a proxy; the catalog may still name private addresses itself."""
    monkeypatch.setenv("http_proxy", site.base)  # every request goes through the site
    port = urlsplit(site.base).port
    inside = terms("<p>" + "Internal admin console: the keys of production. " * 20 + "</p>")
    for host in ("127.1", "169.254.169.254", "localhost", "10.0.0.7", "[::1]"):
        site.html(f"http://{host}:{port}/admin", inside)
    for name, host in (("short", "127.1"), ("metadata", "169.254.169.254"), ("v6", "[::1]")):
        target = {"Location": f"http://{host}:{port}/admin"}
        site.html(f"http://policy.example/{name}", "", status=302, headers=target)
    site.html("http://policy.example/hop", "", status=301, headers={"Location": "/localhost"})
    site.html(
        "http://policy.example/localhost",
        "",
        status=302,
        headers={"Location": f"http://localhost:{port}/admin"},
    )
    documents = [
        {"type": name, "url": f"http://policy.example/{name}"}
        for name in ("short", "metadata", "v6", "hop")
    ]
    catalog = home.catalog([*documents, {"type": "local", "url": f"http://10.0.0.7:{port}/admin"}])
    seen = outcomes(home.crawl(catalog, "--json"))
    for name, host in (("short", "127.1"), ("metadata", "169.254.169.254"), ("v6", "[::1]")):
        assert seen[f"testsite/{name}"] == (
            "failed",
            f"http-error: HTTP 302: a redirect to http://{host}:{port}/admin is not followed"
            " (it leads from a public address into this machine or its private network)",
        )
    assert seen["testsite/hop"][1].startswith(
        "http-error: HTTP 302: a redirect to http://localhost"
    )
    assert seen["testsite/local"] == ("first", "")  # named by the catalog itself
    fetched = [hit.path for hit in site.log if hit.path.endswith("/admin")]
    assert fetched == [f"http://10.0.0.7:{port}/admin"]


def _a_name_inside() -> str:
    """A name (not an address, not `localhost`) that resolves to this machine or its network:
    the machine's own name, on most; skipped where none does."""
    for name in (socket.gethostname(), "localhost.localdomain", "ip6-localhost"):
        with contextlib.suppress(OSError):
            found = {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
            if found and all(is_inside(address) for address in found) and not is_inside(name):
                return name
    pytest.skip("no name on this machine but localhost resolves to a private address")


def test_a_public_page_cannot_redirect_the_crawler_to_a_name_that_resolves_inside(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only addresses written as such were refused: a redirect to a name pointing inside (the
    cloud's `metadata.google.internal`) was followed, and its text recorded. A name the catalog
    itself gives, resolving inside, still redirects within."""
    name = _a_name_inside()
    monkeypatch.setenv("http_proxy", site.base)  # the public host is played through the site
    port = urlsplit(site.base).port
    inside = terms("<p>" + "Internal admin console: the keys of production. " * 20 + "</p>")
    site.html(f"http://{name}:{port}/admin", inside)
    target = {"Location": f"http://{name}:{port}/admin"}
    site.html("http://policy.example/moved", "", status=302, headers=target)
    site.html(f"http://{name}:{port}/old", "", status=301, headers={"Location": "/admin"})
    documents = [
        {"type": "moved", "url": "http://policy.example/moved"},
        {"type": "intranet", "url": f"http://{name}:{port}/old"},
    ]
    seen = outcomes(home.crawl(home.catalog(documents), "--json"))
    assert seen == {
        "testsite/moved": (
            "failed",
            f"http-error: HTTP 302: a redirect to http://{name}:{port}/admin is not followed"
            " (it leads from a public address into this machine or its private network)",
        ),
        "testsite/intranet": ("first", ""),
    }
    assert [hit.path for hit in site.log if hit.path.endswith("/admin")] == [
        f"http://{name}:{port}/admin"
    ]


def test_a_name_that_does_not_resolve_is_looked_up_once_a_while_not_for_every_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only names that resolved were remembered: a page whose scripts come from a host that
    does not resolve had it looked up again for each of them, each failure taking as long as
    the resolver's own timeout. A failure is remembered for a while (`UNRESOLVED_TTL`)."""
    lookups: list[str] = []
    resolve = socket.getaddrinfo

    def counted(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counted)
    monkeypatch.setattr(inside, "UNRESOLVED_TTL", 1.0)
    name = f"nowhere-{time.time_ns()}.invalid"  # RFC 2606: never resolves; new to this process

    async def ask(times: int) -> list[bool]:
        return [await leads_inside(name) for _ in range(times)]

    assert asyncio.run(ask(3)) == [False] * 3
    assert lookups == [name]
    time.sleep(1.0)  # a while later, it is asked again
    assert asyncio.run(ask(2)) == [False] * 2
    assert lookups == [name] * 2


def test_a_redirect_to_a_name_that_resolves_inside_only_at_the_connection_is_not_recorded(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redirect's target is looked up before it is followed, and looked up again by the
    connection: a DNS server that answers a public address to the first and this machine to
    the second (rebinding) led the crawler inside, and the text was recorded. The page is now
    judged by the address it was read from. Here Scrapy's resolver plays that server, for
    names the system's resolver does not know."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    port = urlsplit(site.base).port
    inside = terms("<p>" + "Internal admin console: the keys of production. " * 20 + "</p>")
    site.html("/admin", inside)
    target = {"Location": f"http://admin{faults.REBOUND}:{port}/admin"}
    site.html("/moved", "", status=302, headers=target)
    catalog = home.catalog(
        [{"type": "moved", "url": f"http://policy{faults.REBOUND}:{port}/moved"}]
    )
    resolver = ["--set", "DNS_RESOLVER=tests.faults.RebindingResolver"]
    seen = outcomes(home.crawl(catalog, "--json", *resolver))
    assert seen == {
        "testsite/moved": (
            "failed",
            f"http-error: the page led to http://admin{faults.REBOUND}:{port}/admin (127.0.0.1),"
            " which is not read (it leads from a public address into this machine or its"
            " private network)",
        )
    }
    assert home.run("history", "--json").json() == []


def test_a_pdf_whose_pages_inflate_past_the_size_cap_is_too_large(home: Home, site: Site) -> None:
    """A PDF's pages are compressed: one of 360 KB held 118 MB of text operators, which pypdf
    refused with an error taken for policywatch's own bug (internal-error, with a traceback);
    one under pypdf's limit of 75 MB held the crawl for minutes while its text was read
    (20,000 lines: 2 s). Their pages now count against the size cap as they inflate."""
    site.pages["/bomb.pdf"] = Page(inflating_pdf(2_000_000), content_type="application/pdf")
    site.pages["/long.pdf"] = Page(inflating_pdf(20_000), content_type="application/pdf")
    catalog = declare(home, site, "/bomb.pdf", "/long.pdf")
    crawled = home.crawl(catalog, "--json", "--set", "DOWNLOAD_MAXSIZE=1000000")
    assert outcomes(crawled) == {
        "testsite/doc-bomb-pdf": (
            "failed",
            "too-large: a page of the PDF inflates past the most pypdf will read",
        ),
        "testsite/doc-long-pdf": (
            "failed",
            "too-large: the PDF's pages inflate past the size cap of 1,000,000 bytes;"
            " a policy this large? raise max_bytes (POLICYWATCH_MAX_BYTES)",
        ),
    }
    assert "Traceback" not in crawled.stderr


def test_an_image_only_or_protected_pdf_is_a_fetch_issue(home: Home, site: Site) -> None:
    site.pages["/scan.pdf"] = Page(image_only_pdf(), content_type="application/pdf")
    site.pages["/locked"] = Page(
        text_pdf(["Terms of the locked agreement. " * 20], password="secret"),
        content_type="application/octet-stream",
    )
    catalog = home.catalog(
        [
            {"type": "Scan", "url": site.url("/scan.pdf")},
            {"type": "Locked", "url": site.url("/locked"), "format": "pdf"},
            {"type": "Moved", "url": site.url("/moved"), "format": "pdf"},
        ]
    )
    site.html("/moved", terms())  # the PDF became a web page
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/scan"][1].startswith("pdf-no-text:")
    assert seen["testsite/locked"][1].startswith("pdf-protected:")
    assert seen["testsite/moved"][1] == (
        "not-pdf: declared `format: pdf`, but the server sent text/html"
    )
    assert versions(home) == {"testsite/scan": 0, "testsite/locked": 0, "testsite/moved": 0}


def test_a_combined_document_is_its_pages_in_order(home: Home, site: Site) -> None:
    site.html("/eu-terms", terms("<p>The European terms apply to users in the EU.</p>"))
    site.html(
        "/service-terms", "<html><body><article>Service terms: be kind.</article></body></html>"
    )
    catalog = home.catalog(
        [
            {
                "type": "Terms",
                "select": "#terms",
                "combine": [
                    site.url("/eu-terms"),
                    {"url": site.url("/service-terms"), "select": "article"},
                ],
            }
        ]
    )
    assert outcomes(home.crawl(catalog, "--json")) == {"testsite/terms": ("first", "")}
    site.html(
        "/service-terms",
        "<html><body><article>Service terms: be very kind.</article></body></html>",
    )
    assert outcomes(home.crawl(catalog, "--json"))["testsite/terms"][0] == "changed"
    [change] = home.run("history", "--all", "--json").json()
    diff = home.run("show", str(change["id"])).stdout
    assert "very" in diff and "Navigation" not in diff
    site.html("/service-terms", "", status=404)
    seen = outcomes(home.crawl(catalog, "--json"))
    assert seen["testsite/terms"][1].startswith("not-found: page 2 of 2")
    assert versions(home) == {"testsite/terms": 2}


def test_a_combined_snapshot_types_each_page_as_it_was_read(home: Home, site: Site) -> None:
    """A combined document's snapshot copied each page's Content-Type as sent: a joined one
    made a part typed `text/html, text/html`, which no reader knows, and every part lost its
    charset, a windows-1251 page's bytes left to be read as ASCII. Each part is now typed as
    the page was read, with the charset it declared, so the snapshot reads back as the text
    that was recorded."""
    cp1251 = "text/html; charset=utf-8, text/html; charset=windows-1251"
    site.pages["/a"] = Page(terms(CLAUSES + OPERATOR).encode("cp1251"), content_type=cp1251)
    joined = "text/html, text/html;charset=utf-8"
    site.pages["/b"] = Page(terms("<p>Part B: «fair use».</p>").encode(), content_type=joined)
    site.pages["/c"] = Page(TERMS_MD.encode("utf-16"), content_type="text/markdown")
    pages = [site.url(path) for path in ("/a", "/b", "/c")]
    catalog = home.catalog([{"type": "Terms", "combine": pages}])
    assert outcomes(home.crawl(catalog, "--json")) == {"testsite/terms": ("first", "")}
    with sqlite3.connect(home.path / "store.sqlite3") as connection:
        [(content, content_type)] = connection.execute("SELECT content, content_type FROM snapshot")
    assert content_type == "multipart/mixed"
    snapshot = email.message_from_bytes(decompress(content), policy=email.policy.default)
    assert isinstance(snapshot, EmailMessage)
    read = [
        (part["Content-Location"], part.get_content_type(), part.get_param("charset"))
        for part in snapshot.iter_parts()
    ]
    assert read == [
        (pages[0], "text/html", "cp1251"),
        (pages[1], "text/html", "utf-8"),
        (pages[2], "text/markdown", "utf-16-le"),
    ]
    texts = [part.get_content() for part in snapshot.iter_parts()]  # decoded by their charsets
    assert "ООО «Яндекс»" in texts[0] and "«fair use»" in texts[1]
    assert texts[2].lstrip("\ufeff").startswith("# Developer Terms")


def test_identical_combined_pages_are_recognised_as_unchanged(home: Home, site: Site) -> None:
    site.html("/a", terms("<p>Part A of the terms.</p>"))
    site.html("/b", terms("<p>Part B of the terms.</p>"))
    catalog = home.catalog(
        [{"type": "Terms", "select": "#terms", "combine": [site.url("/a"), site.url("/b")]}]
    )
    home.crawl(catalog)
    assert outcomes(home.crawl(catalog, "--json")) == {"testsite/terms": ("unchanged", "")}
    assert "If-None-Match" not in site.hits("/a")[-1].headers


def per_fetch(extra: str = "") -> Callable[[int], bytes]:
    """A policy page whose element shows a stamp, a request id and a session token made anew
    for each request, as some servers render them."""

    def body(number: int) -> bytes:
        stamp = f"2026-12-07T12:{number % 60:02d}:{number * 7 % 60:02d}.{number * 7919:06d}Z"
        volatile = (
            f"<p>Page generated {stamp}, request id {number * 104729:x}a9.</p>"
            f'<form><input type="hidden" name="csrf" value="{number}x"><button>OK</button></form>'
            f"<p>Session token: {number * 1299709:x}f1c2e</p>"
        )
        return terms(CLAUSES + extra + volatile).encode()

    return body


def test_a_page_that_changes_on_every_fetch_only_in_its_tokens_is_no_change(
    home: Home, site: Site
) -> None:
    """A page whose policy element shows a generation stamp, a request id or a session token,
    made anew for every request, gave a new version judged a meaningful change ("2 sentences
    changed") on every crawl. A text that is not the one last recorded is checked against a
    second fetch at once: where it differs only in words the two fetches do not share, the
    words last recorded are kept, so the page reads as unchanged, and a clause that did change
    is a change, without the tokens around it."""
    site.pages["/terms"] = Page(b"", each=per_fetch())
    site.html("/plain", terms(CLAUSES))
    catalog = declare(home, site, "/terms", "/plain", select=["#terms"])
    assert set(outcomes(home.crawl(catalog, "--json")).values()) == {("first", "")}
    first = home.run("text", "testsite/doc-terms").stdout
    for _ in range(2):
        seen = outcomes(home.crawl(catalog, "--json"))
        assert seen["testsite/doc-terms"] == ("unchanged", ""), seen
    ban = "<p>You may not use the API to train artificial intelligence models.</p>"
    site.pages["/terms"] = Page(b"", each=per_fetch(ban))
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][0] == "changed"
    [change] = home.run("history", "--json").json()
    diff = home.run("show", str(change["id"]), "--json").json()["diff"]
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in "+++---"]
    assert changed == ["+You may not use the API to train artificial intelligence models."]
    tokens = first.split("platform.\n\n")[-1]  # "Page generated …": as first recorded
    assert tokens.startswith("Page generated 2026-12-07T")
    assert home.run("text", "testsite/doc-terms").stdout.endswith("models.\n\n" + tokens)
    # Fetched again only when its text was not the one last recorded, never a plain page.
    assert len(site.hits("/terms")) == 1 + 2 * 3
    assert len(site.hits("/plain")) == 4


def test_a_page_that_really_shrank_is_recorded_once_accepted(home: Home, site: Site) -> None:
    site.html("/terms", terms(CLAUSES))
    catalog = declare(home, site, "/terms", select=["#terms"])
    home.crawl(catalog)
    short = terms("<p>Clause 1: the developer agrees to use the interface as documented.</p>")
    site.html("/terms", short)
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][0] == "failed"
    refused = home.crawl(catalog, "--accept-capture")
    assert refused.code == 2 and "--only" in refused.stderr  # home.crawl names the service
    accepted = home.run(
        "crawl",
        "--catalog",
        str(catalog),
        "--only",
        "testsite/doc-terms",
        "--accept-capture",
        "--json",
        "--set",
        "DOWNLOAD_DELAY=0",
        "-q",
    )
    assert outcomes(accepted) == {"testsite/doc-terms": ("changed", accepted.json()[0]["detail"])}
    assert versions(home) == {"testsite/doc-terms": 2}
    assert issues(home) == {"testsite/doc-terms": None}


def test_an_accepted_capture_is_judged_as_a_change_and_so_is_the_next(
    home: Home, site: Site
) -> None:
    """Accepting a shrunken page vouches for it: the clauses it lost are a change that alerts
    (it was recorded as a capture anomaly, so a dropped AI clause never alerted), and the page
    coming back is compared with it, not dismissed as restored after a broken capture."""
    sections = [
        "Use the interface only as documented, within the limits published for each endpoint.",
        "Keep your credentials secret and tell us at once when you think they leaked.",
        "You may not use the Services or any output to train artificial intelligence models.",
        "Fees are billed monthly in arrears and are due within thirty days of each invoice.",
        "Either party may end these terms with ninety days of written notice to the other.",
    ]
    page = "".join(f"<h2>Section {n}</h2><p>{text}</p>" for n, text in enumerate(sections, 1))
    site.html("/terms", terms(page))
    catalog = declare(home, site, "/terms", select=["#terms"])
    home.crawl(catalog)
    site.html("/terms", terms(page.split("<h2>Section 2")[0]))
    accept = ("--only", "testsite/doc-terms", "--accept-capture", "--json", *FAST)
    accepted = home.run("crawl", "--catalog", str(catalog), *accept)
    assert outcomes(accepted)["testsite/doc-terms"][0] == "changed"
    site.html("/terms", terms(page))
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-terms"][0] == "changed"

    restored, shrunk = home.run("history", "--all", "--json").json()
    assert (shrunk["meaningful"], shrunk["reason"], shrunk["removed"]) == (True, None, 8)
    assert "ai-training" in shrunk["categories"]
    assert restored["reason"] == "flapping"  # back to the first version: not an anomaly
