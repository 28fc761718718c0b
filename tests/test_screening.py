"""Telling a challenge page or a redirect away from the policy itself."""

from __future__ import annotations

import pytest

from crawlers.screening import (
    bot_wall,
    consent_page,
    error_page,
    redirect_verdict,
    script_redirect,
    status_verdict,
)

POLICY = "<main>" + "<p>We collect data to run the service and keep it safe.</p>" * 40 + "</main>"


@pytest.mark.parametrize(
    ("body", "vendor"),
    [
        (
            b'<script src="/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1"></script>',
            "Cloudflare",
        ),
        (b"<title>Attention Required! | Cloudflare</title>", "Cloudflare"),
        (b'<iframe src="/_Incapsula_Resource?CWUDNSAI=9"></iframe>', "Imperva"),
        (b"Reference #18.2f; https://errors.edgesuite.net/18.2f", "Akamai"),
        (b'<script src="https://geo.captcha-delivery.com/captcha/"></script>', "DataDome"),
        (b'<div id="px-captcha"></div><p>Press &amp; Hold to confirm</p>', "PerimeterX"),
        (b'<script src="https://abc.token.awswaf.com/challenge.js"></script>', "AWS WAF"),
        (b'<div class="h-captcha" data-sitekey="k"></div>', "a captcha"),
        (
            b"<p>Our systems have detected unusual traffic from your computer network.</p>",
            "a captcha",
        ),
    ],
)
def test_challenge_pages_are_recognised_by_their_vendor(body: bytes, vendor: str) -> None:
    assert bot_wall({}, b"<html><body>" + body + b"</body></html>") == vendor


def test_cloudflare_says_so_in_a_header() -> None:
    assert bot_wall({"cf-mitigated": "challenge"}, POLICY.encode()) == "Cloudflare"


@pytest.mark.parametrize(
    "extra",
    [
        '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>',
        '<script src="https://www.google.com/recaptcha/api.js"></script>',
        "<p>We use reCAPTCHA to verify you are human and DataDome to stop bots.</p>",
    ],
    ids=["cloudflare-script-on-a-real-page", "recaptcha-on-a-real-page", "policy-about-captchas"],
)
def test_a_real_policy_with_vendor_scripts_or_captcha_words_is_not_a_wall(extra: str) -> None:
    assert bot_wall({}, (POLICY + extra).encode()) is None


def test_error_statuses_become_issue_kinds_with_the_wait_asked() -> None:
    assert status_verdict(429, 120).kind == "rate-limited"
    assert "wait 120 s" in status_verdict(429, 120).detail
    assert status_verdict(403).kind == "forbidden"
    assert status_verdict(410).kind == "not-found"
    assert status_verdict(502).kind == "server-error"
    assert status_verdict(418).detail == "HTTP 418 I'm a Teapot"
    assert status_verdict(999).kind == "http-error"  # LinkedIn's refusal: no server error


@pytest.mark.parametrize(
    ("final", "kind"),
    [
        ("https://example.com/", "home-redirect"),
        ("https://example.com/login?next=/legal/terms", "login-redirect"),
        ("https://accounts.example.com/ServiceLogin", "login-redirect"),
        ("https://example.com/auth/sign-in", "login-redirect"),
        (
            "https://consent.google.com/ml?continue=https://policies.google.com/terms",
            "consent-redirect",
        ),
        ("https://guce.yahoo.com/consent?brandType=nonEu", "consent-redirect"),
        ("https://example.com/cookie-consent/", "consent-redirect"),
        ("https://example.com/legal/terms-of-service", None),
        ("https://example.com/legal/consent-policy", None),  # a page that moved: still the page
        ("https://example.com/legal/terms", None),
    ],
)
def test_redirects_away_from_the_policy(final: str, kind: str | None) -> None:
    verdict = redirect_verdict("https://example.com/legal/terms", final)
    assert (verdict.kind if verdict else None) == kind


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<title>Page not found</title>", "not-found"),
        (b"<title>Error 404 (Not Found)!!1</title>", "not-found"),
        (b"<h1>Oops! That page can&rsquo;t be found.</h1>", "not-found"),
        (b"<h1 class=x>This content isn\xe2\x80\x99t available right now</h1>", "not-found"),
        (b"<title>Site under maintenance</title>", "server-error"),
        (b"<title>404 | Acme</title>", "not-found"),
        (b"<h1>HTTP 500</h1>", "server-error"),
        (b"<title>Terms of Service</title><h1>Terms</h1>", None),
        (b"<title>Terms</title><h1>500 requests a day, at most</h1>", None),
        (b"<title>API Terms</title><h1>404 errors and rate limits</h1>", None),
        (b"<title>Maintenance and Support Terms</title>", None),
        (b"<h2>If a page is not found</h2>", None),  # a section's heading says nothing
        (b"<title>Page Not Found | Acme</title>" + POLICY.encode(), None),  # a policy's length
    ],
)
def test_error_pages_served_with_200_say_so_in_their_title_or_heading(
    body: bytes, kind: str | None
) -> None:
    verdict = error_page(body)
    assert (verdict.kind if verdict else None) == kind


WALL = b"<h1>We value your privacy</h1><p>We and our partners use cookies.</p>"


@pytest.mark.parametrize(
    ("body", "wall"),
    [
        (WALL + b"<button>Accept all</button><button>Reject all</button>", True),
        (WALL + b'<button class="b"><span>I agree</span></button>', True),
        (WALL + b'<form><input type="submit" value="Accept cookies"></form>', True),
        (WALL + b'<a href="/consent?yes" role="button">Allow all</a>', True),
        (b"<p>Accept our terms.</p><button>Accept</button>", False),  # no cookies
        (WALL + b'<a href="/aup">Acceptable use</a>', False),  # no choice
        (POLICY.encode() + WALL + b"<button>Accept all</button>", False),  # a policy's banner
        (  # a short policy's banner: a line of what the page says
            b'<div class="cookie-banner">We use cookies. <button>Accept</button></div><main>'
            + b"<h1>Business Terms</h1><p>You may send messages to people who opted in.</p>" * 4
            + b"</main>",
            False,
        ),
        (  # the wall's words and its choices apart, both in the page's one container
            b"<body><div><h1>Before you continue</h1><p>We use cookies and data to deliver"
            b" our services.</p></div><div><button>Reject all</button></div></body>",
            True,
        ),
    ],
)
def test_a_cookie_wall_is_a_short_page_asking_to_accept_or_reject_cookies(
    body: bytes, wall: bool
) -> None:
    verdict = consent_page(body)
    assert (verdict.kind if verdict else None) == ("consent-wall" if wall else None)


@pytest.mark.parametrize(
    ("body", "target"),
    [
        (b"<script>window.location.href = '/login'</script><p>Redirecting...</p>", "/login"),
        (
            b'<script>location.replace("https://x.example/en/terms")</script>',
            "https://x.example/en/terms",
        ),
        (b'<script>if (a) { top.location = base + "/x" }</script>', ""),
        (b'<script>if (location.href == "x") {}</script><p>Terms</p>', None),
        (b"<script>location.hash = 'top'</script><p>Terms</p>", None),
        (b"<script>var tracking = 1;</script><p>Terms</p>", None),
        (b"<script>location.href = '/x'</script>" + POLICY.encode(), None),
    ],
)
def test_a_short_page_whose_script_sends_the_browser_on_is_told(
    body: bytes, target: str | None
) -> None:
    assert script_redirect(body) == target
