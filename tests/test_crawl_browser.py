"""`render: browser`: script-built pages crawled through scrapy-playwright and Debian's Chromium."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, select

from crawlers.browser import SETTLE_MS
from store.db import open_store
from store.models import Fetch
from tests.conftest import Home
from tests.pdfs import text_pdf
from tests.site import Page, Site
from tests.test_crawl import outcomes

# The policy is written by a script, a moment after load, as single-page apps do.
SHELL = """<html><head><title>Terms</title></head><body><div id="app">Loading…</div>
<script>
setTimeout(function () {
  var main = document.createElement("main");
  main.id = "terms";
  main.innerHTML = "<h1>Usage Policy</h1><p>%s</p>";
  document.getElementById("app").replaceWith(main);
}, 300);
</script></body></html>"""
CLAUSE = "You may not use the API to build a general-purpose AI assistant."


def test_a_script_built_page_is_rendered_before_extraction(
    home: Home, site: Site, chromium: str
) -> None:
    site.html("/usage", SHELL % CLAUSE)
    site.html("/usage-plain", SHELL % CLAUSE)
    catalog = home.catalog(
        [
            {"type": "Usage", "url": site.url("/usage"), "select": "#terms", "render": "browser"},
            {"type": "Usage plain", "url": site.url("/usage-plain"), "select": "#terms"},
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}"))
    assert seen["testsite/usage"] == ("first", "")
    assert seen["testsite/usage-plain"][1].startswith("selector-matched-nothing")
    site.html("/usage", SHELL % (CLAUSE + " Bots are banned from the platform."))
    seen = outcomes(home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}"))
    assert seen["testsite/usage"][0] == "changed"
    [change] = home.run("history", "--all", "--json").json()
    assert "Bots are banned" in home.run("show", str(change["id"])).stdout
    assert "Loading" not in home.run("show", str(change["id"])).stdout


def test_preview_shows_the_rendered_text_and_why_the_plain_fetch_read_none(
    home: Home, site: Site, chromium: str
) -> None:
    site.html("/usage", SHELL % CLAUSE)
    catalog = home.catalog(
        [
            {"type": "Usage", "url": site.url("/usage"), "select": "#terms", "render": "browser"},
            {"type": "Usage plain", "url": site.url("/usage"), "select": "#terms"},
        ]
    )
    browser = ("--set", f"POLICYWATCH_BROWSER={chromium}", "--quiet")
    result = home.run("catalog", "preview", "testsite", "--catalog", str(catalog), *browser)
    assert result.code == 1, result.stderr
    assert result.stdout == f"# Usage Policy\n\n{CLAUSE}\n"
    assert "testsite/usage-plain" in result.stderr
    assert "selector-matched-nothing: no element matches '#terms'" in result.stderr
    assert "read with `render: browser`" in result.stderr


def test_an_unchanged_rendered_page_is_checked_again_not_failed(
    home: Home, site: Site, chromium: str
) -> None:
    """The second crawl sent the validators of the first to Chromium's navigation: the site
    answered 304, which Chromium cannot render (net::ERR_ABORTED), and every script-built page
    of a site that honours If-None-Match failed as a `browser-error` from its second crawl on."""
    site.html("/usage", SHELL % CLAUSE)
    catalog = home.catalog(
        [{"type": "Usage", "url": site.url("/usage"), "select": "#terms", "render": "browser"}]
    )
    browser = ("--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    assert outcomes(home.crawl(catalog, *browser))["testsite/usage"] == ("first", "")
    again = home.crawl(catalog, *browser)
    assert again.code == 0, again.stderr
    assert outcomes(again)["testsite/usage"] == ("unchanged", "")
    assert all("If-None-Match" not in hit.headers for hit in site.hits("/usage"))


def test_without_a_browser_only_the_pages_that_need_one_fail(home: Home, site: Site) -> None:
    site.html("/usage", SHELL % CLAUSE)
    site.html("/static", "<html><body><main id='terms'><p>Plain terms.</p></main></body></html>")
    catalog = home.catalog(
        [
            {"type": "Usage", "url": site.url("/usage"), "select": "#terms", "render": "browser"},
            {"type": "Static", "url": site.url("/static"), "select": "#terms"},
        ]
    )
    result = home.crawl(catalog, "--json", "--set", "POLICYWATCH_BROWSER=/nonexistent/chromium")
    seen = outcomes(result)
    assert seen["testsite/static"] == ("first", "")
    assert seen["testsite/usage"][0] == "failed"
    assert seen["testsite/usage"][1].startswith("browser-unavailable: no Chromium found")
    # The path the user gave is the thing to fix, not a package to install.
    assert "POLICYWATCH_BROWSER names /nonexistent/chromium" in seen["testsite/usage"][1]
    assert "apt-get" not in seen["testsite/usage"][1]
    assert "is no setting" not in result.stderr  # a setting of ours, as the README gives it
    assert site.hits("/usage") == []


def test_an_unreachable_rendered_page_fails_like_any_other(home: Home, chromium: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/terms"
    catalog = home.catalog([{"type": "Terms", "url": closed, "render": "browser"}])
    result = home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    assert result.code == 3
    [(outcome, detail)] = outcomes(result).values()
    assert outcome == "failed"
    assert detail.startswith("connection-refused: ") and "\n" not in detail
    assert "Is this machine offline?" in result.stderr


# A public page whose script takes the browser elsewhere at once, and writes the policy later.
LEAVING = """<html><body><div id="app">Loading…</div><script>
location.href = "%s";
setTimeout(function () {
  document.getElementById("app").outerHTML = "<main id='terms'><p>%s</p></main>";
}, 300);
</script></body></html>"""


# A public page whose script reads an address and writes what it got into the policy.
FETCHING = """<html><body><div id="app">Loading…</div><script>
fetch("%s").then(function (r) { return r.text(); }).catch(function () { return "refused"; })
  .then(function (text) {
    document.getElementById("app").outerHTML = "<main id='terms'><p>" + text + "</p></main>";
  });
</script></body></html>"""


def test_a_rendered_public_page_cannot_lead_chromium_into_this_machine(
    home: Home, site: Site, chromium: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chromium followed any redirect, and a script's navigation, so a public page could have
    the text of the cloud's metadata service or an intranet page recorded as its own. Chromium
    follows redirects on its own: where they led is judged on arrival, and nothing of it read.
    It reaches the public host through the site, as a proxy; the catalog may name a page
    inside."""
    monkeypatch.setenv("http_proxy", site.base)
    inside = f"http://127.0.0.1:{urlsplit(site.base).port}"
    admin = "<html><body><main id='terms'><p>Admin console: the production keys.</p></main></body>"
    for path in ("/admin-moved", "/admin-leaving", "/admin"):
        site.html(path, admin)
    moved = {"Location": f"{inside}/admin-moved"}
    site.html("http://policy.example/moved", "", status=302, headers=moved)
    site.html("http://policy.example/leaving", LEAVING % (f"{inside}/admin-leaving", CLAUSE))
    site.html("/intranet", "", status=302, headers={"Location": "/admin"})
    site.html("/keys", "the production keys", headers={"Access-Control-Allow-Origin": "*"})
    site.html("http://policy.example/fetching", FETCHING % f"{inside}/keys")
    catalog = home.catalog(
        [
            {"type": name, "url": url, "select": "#terms", "render": "browser"}
            for name, url in (
                ("moved", "http://policy.example/moved"),
                ("leaving", "http://policy.example/leaving"),
                ("intranet", site.url("/intranet")),
                ("fetching", "http://policy.example/fetching"),
            )
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}"))
    assert seen == {
        "testsite/moved": (
            "failed",
            f"http-error: the page led to {inside}/admin-moved, which is not read"
            " (it leads from a public address into this machine or its private network)",
        ),
        "testsite/leaving": (
            "failed",
            f"http-error: the page led to {inside}/admin-leaving, which is not read"
            " (it leads from a public address into this machine or its private network)",
        ),
        "testsite/intranet": ("first", ""),
        "testsite/fetching": ("first", ""),
    }
    assert not site.hits("/keys")  # the script's fetch was never made


# A shell that has the selected element from the start, a placeholder in it, and fills it with
# what its script fetches: the way most single-page apps show a spinner in their <main>.
PLACEHOLDER = """<html><body><main><div class="spinner">Loading…</div></main><script>
fetch("/api/terms").then(function (r) { return r.text(); })
  .then(function (text) { document.querySelector("main").innerHTML = text; });
</script></body></html>"""


def test_a_placeholder_in_the_selected_element_is_not_taken_for_the_policy(
    home: Home, site: Site, chromium: str
) -> None:
    """The wait ended as soon as the selector matched: on a shell whose <main> holds a spinner
    until its script's request comes back, "Loading…" was recorded as the policy, crawl after
    crawl. The page's requests now settle first."""
    site.html("/usage", PLACEHOLDER)
    site.html("/api/terms", f"<h1>Usage Policy</h1><p>{CLAUSE}</p>", delay=1.5)
    catalog = home.catalog(
        [{"type": "Usage", "url": site.url("/usage"), "select": "main", "render": "browser"}]
    )
    browser = ("--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    assert outcomes(home.crawl(catalog, *browser))["testsite/usage"] == ("first", "")
    text = home.run("text", "testsite/usage").stdout
    assert CLAUSE in text and "Loading" not in text


def test_a_page_that_never_falls_quiet_is_read_once_its_element_has_had_time_to_fill(
    home: Home, site: Site, chromium: str
) -> None:
    """A chat widget or analytics polling every moment: waiting for the network to settle
    after the element matched held each such page until the timeout (30 s by default)."""
    polling = "setInterval(function () { fetch('/ping'); }, 200);"
    site.html("/usage", f"<html><body><main><p>{CLAUSE}</p></main><script>{polling}</script>")
    site.html("/ping", "ok")
    catalog = home.catalog(
        [{"type": "Usage", "url": site.url("/usage"), "select": "main", "render": "browser"}]
    )
    started = time.monotonic()
    seen = outcomes(
        home.crawl(
            catalog,
            "--json",
            "--set",
            f"POLICYWATCH_BROWSER={chromium}",
            "--set",
            "DOWNLOAD_TIMEOUT=45",
        )
    )
    assert time.monotonic() - started < 45  # not waited for until the timeout
    assert seen["testsite/usage"] == ("first", "")
    assert len(site.hits("/ping")) > 10  # it did poll all along


def test_a_rendered_page_that_is_no_policy_is_not_waited_for_until_the_timeout(
    home: Home, site: Site, chromium: str
) -> None:
    """An error page, a challenge, a login page or a JSON answer never grows the policy's
    element: each was waited for until the timeout (30 s by default), a 503 challenge three
    times over with its retries, so a site walling its pages held the crawl for minutes."""
    site.html("/gone", "<html><body><h1>Not here</h1></body></html>", status=404)
    challenge = "<html><head><title>Just a moment...</title></head><body>Checking…</body></html>"
    site.html("/walled", challenge, status=503)
    site.html("/login", "<html><body><form>Log in to continue</form></body></html>")
    site.html("/members", "<html><body><script>location.href = '/login';</script></body></html>")
    site.html("/api", '{"terms": "none"}', content_type="application/json")
    paths = ("/gone", "/walled", "/members", "/api")
    catalog = home.catalog(
        [
            {"type": path, "url": site.url(path), "select": "#terms", "render": "browser"}
            for path in paths
        ]
    )
    started = time.monotonic()
    result = home.crawl(
        catalog,
        "--json",
        "--set",
        f"POLICYWATCH_BROWSER={chromium}",
        "--set",
        "DOWNLOAD_TIMEOUT=60",
    )
    assert time.monotonic() - started < 45  # not one page waited for its timeout
    kinds = {key: detail.split(":")[0] for key, (_, detail) in outcomes(result).items()}
    assert kinds == {
        "testsite/gone": "not-found",
        "testsite/walled": "bot-wall",
        "testsite/members": "login-redirect",
        "testsite/api": "not-html",
    }
    assert len(site.hits("/walled")) == 3  # retried as ever


# Cloudflare's interstitial, served with 200. Its script, once the browser has passed, puts the
# page in its place (`%s`: the script; none, for a challenge the crawler never passes).
CHALLENGE = """<html><head><title>Just a moment...</title></head><body>
<div id="cf-wrapper">Checking your browser before accessing the site.</div>
<script>%s</script></body></html>"""
SOLVED = """setTimeout(function () {
  document.documentElement.innerHTML = "<head><title>Terms</title></head><body>"
    + "<main id='terms'><h1>Usage Policy</h1><p>%s</p></main></body>";
}, 1000);"""


def test_a_challenge_served_with_200_that_never_clears_fails_long_before_the_timeout(
    home: Home, site: Site, chromium: str
) -> None:
    """A 200 challenge never grows the policy's element: it was waited for until the timeout
    (30 s by default) before being screened as the bot wall it is. It is now given a few
    seconds (`CHALLENGE_GRACE_MS`) to solve itself."""
    site.html("/walled", CHALLENGE % "")
    catalog = home.catalog(
        [{"type": "Walled", "url": site.url("/walled"), "select": "#terms", "render": "browser"}]
    )
    browser = ("--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    started = time.monotonic()
    result = home.crawl(catalog, *browser, "--set", "DOWNLOAD_TIMEOUT=90")
    assert time.monotonic() - started < 45  # the grace and Chromium's start, not the timeout
    assert outcomes(result) == {
        "testsite/walled": ("failed", "bot-wall: HTTP 200: a bot wall or captcha (Cloudflare)")
    }


def test_a_challenge_that_solves_itself_is_waited_for_and_its_page_recorded(
    home: Home, site: Site, chromium: str
) -> None:
    """Without `select`, the wait ended once the challenge's requests had settled, before its
    script put the page in its place: the challenge was screened as a bot wall, crawl after
    crawl. What is on screen is now judged as screening would, and a challenge waited out."""
    site.html("/usage", CHALLENGE % (SOLVED % CLAUSE))
    catalog = home.catalog(
        [
            {"type": "Whole", "url": site.url("/usage"), "render": "browser"},
            {"type": "Picked", "url": site.url("/usage"), "select": "#terms", "render": "browser"},
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}"))
    assert seen == {"testsite/whole": ("first", ""), "testsite/picked": ("first", "")}
    for key in seen:
        text = home.run("text", key).stdout
        assert CLAUSE in text and "Checking your browser" not in text


def test_a_pdf_answer_to_a_rendered_page_is_read_as_the_pdf(
    home: Home, site: Site, chromium: str
) -> None:
    """Chromium shows a PDF in its viewer, whose HTML went to extraction: a `format: pdf`
    document failed with "declared `format: pdf`, but the server sent application/pdf", an
    undeclared one with "the PDF cannot be read". The server's own bytes are read instead."""
    clause = "The developer agrees to use the interface only as documented by the platform."
    site.pages["/terms.pdf"] = Page(text_pdf([clause] * 3), content_type="application/pdf")
    catalog = home.catalog(
        [
            {
                "type": "Declared",
                "url": site.url("/terms.pdf"),
                "render": "browser",
                "format": "pdf",
            },
            {"type": "Served", "url": site.url("/terms.pdf"), "render": "browser"},
        ]
    )
    browser = ("--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    first = outcomes(home.crawl(catalog, *browser))
    assert first == {"testsite/declared": ("first", ""), "testsite/served": ("first", "")}
    assert clause in home.run("text", "testsite/served").stdout
    again = outcomes(home.crawl(catalog, *browser))
    assert again == {"testsite/declared": ("unchanged", ""), "testsite/served": ("unchanged", "")}


def test_a_page_whose_script_or_frame_never_answers_is_read_all_the_same(
    home: Home, site: Site, chromium: str
) -> None:
    """Chromium's navigation waited for the page's `load` event, which an async analytics
    script or a chat widget's frame that never answers holds back for good: a policy on
    screen failed as a `timeout` after the whole timeout (30 s by default), and a crawl of
    such pages said the machine looked offline. The wait starts once the page is parsed."""
    never = threading.Event()
    site.html("/beacon.js", "", content_type="application/javascript", held=never)
    site.html("/chat", "<p>How can we help?</p>", held=never)
    hanging = "<script async src='/beacon.js'></script><iframe src='/chat'></iframe>"
    site.html("/usage", f"<html><body><main><p>{CLAUSE}</p></main>{hanging}</body></html>")
    catalog = home.catalog(
        [{"type": "Usage", "url": site.url("/usage"), "select": "main", "render": "browser"}]
    )
    try:
        result = home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    finally:
        never.set()
    assert outcomes(result) == {"testsite/usage": ("first", "")}
    assert CLAUSE in home.run("text", "testsite/usage").stdout


# A policy drawn by a web component: its text is in the component's shadow tree, the heading
# the page passes it put in place by a <slot>.
SHADOW = """<html><body><policy-view><h1 slot="title">Usage Policy</h1></policy-view><script>
customElements.define("policy-view", class extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({mode: "open"}).innerHTML =
      "<style>p { color: #333 }</style><article id='terms'><slot name='title'></slot>"
      + "<p>%s</p><slot name='missing'><p>Last updated: May 2026.</p></slot></article>";
  }
});
</script></body></html>"""


def test_a_policy_in_a_shadow_tree_is_read_as_it_is_shown(
    home: Home, site: Site, chromium: str
) -> None:
    """Chromium's HTML of a page leaves its shadow trees out: a policy a web component draws
    was waited for (Playwright's selectors see into them), then failed as `selector-matched-
    nothing` with a `select`, as `empty-text` without. Open shadow trees are read in place."""
    site.html("/usage", SHADOW % CLAUSE)
    # A page in a charset without the script's characters (its HTML is read in that charset).
    latin = (SHADOW % "Don\\u2019t send \\u2265 60 requests a minute.").encode("latin-1")
    site.pages["/latin"] = Page(latin, content_type="text/html; charset=iso-8859-1")
    catalog = home.catalog(
        [
            {"type": "Picked", "url": site.url("/usage"), "select": "#terms", "render": "browser"},
            {"type": "Whole", "url": site.url("/usage"), "render": "browser"},
            {"type": "Latin", "url": site.url("/latin"), "select": "#terms", "render": "browser"},
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}"))
    assert set(seen.values()) == {("first", "")}
    for key in ("testsite/picked", "testsite/whole"):
        text = home.run("text", key).stdout
        assert text == f"# Usage Policy\n\n{CLAUSE}\n\nLast updated: May 2026.\n"
    assert "Don’t send ≥ 60 requests a minute." in home.run("text", "testsite/latin").stdout


# A help centre's page that shows the terms in a frame: `%s` is the frame's address.
HELP_CENTRE = """<html><body><header>Help centre</header><iframe src="%s"></iframe>
<footer>Contact us</footer></body></html>"""


def test_a_policy_in_a_frame_fails_at_once_naming_the_frame_to_declare(
    home: Home, site: Site, chromium: str
) -> None:
    """The wait for `select` looked in the page's own document only: a policy in a frame was
    waited for until the timeout (30 s by default), then failed as `selector-matched-nothing`.
    The frame is a page of its own (another site's, often), to be declared as such: found in
    a frame, the element ends the wait, and the issue names the frame's address."""
    port = urlsplit(site.base).port
    same = site.url("/embed/terms")
    cross = f"http://localhost:{port}/embed/terms"  # another origin: another host name
    site.html("/embed/terms", f"<html><body><main id='terms'><p>{CLAUSE}</p></main></body>")
    site.html("/help", HELP_CENTRE % "/embed/terms")
    site.html("/help-cross", HELP_CENTRE % cross)
    catalog = home.catalog(
        [
            {"type": name, "url": site.url(path), "select": "#terms", "render": "browser"}
            for name, path in (("Same", "/help"), ("Cross", "/help-cross"))
        ]
    )
    browser = ("--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    started = time.monotonic()
    seen = outcomes(home.crawl(catalog, *browser, "--set", "DOWNLOAD_TIMEOUT=60"))
    assert time.monotonic() - started < 45  # not waited for until the timeout
    said = "framed: the page shows `#terms` in a frame: declare the frame's address instead"
    assert seen == {
        "testsite/same": ("failed", f"{said} ({same})"),
        "testsite/cross": ("failed", f"{said} ({cross})"),
    }


# A page that shows a skeleton in the selected element from the start and writes the policy
# in its place on a timer, with no request (`%s`: the skeleton; then the clause).
SKELETON = """<html><body><main id="terms">%s</main><script>
setTimeout(function () {
  document.getElementById("terms").innerHTML = "<h1>Usage Policy</h1><p>%s</p>";
}, 2500);
</script></body></html>"""
LOADING = '<p class="skeleton">Loading…</p><div class="skeleton-line"></div>'
BLANK = '<div class="skeleton-line"></div><div class="skeleton-line"></div>'
# A page that writes its policy a part at a time, a heading first, on timers.
IN_PARTS = """<html><body><main id="terms"><h1>Usage Policy</h1></main><script>
function add(text, at) {
  setTimeout(function () {
    var p = document.createElement("p");
    p.textContent = text;
    document.getElementById("terms").appendChild(p);
  }, at);
}
add("%s", 700);
add("Bots are banned from the platform.", 1400);
</script></body></html>"""


def test_a_skeleton_filled_by_a_timer_is_waited_for_not_recorded(
    home: Home, site: Site, chromium: str
) -> None:
    """The selected element was there from the start, a skeleton in it, and the page's
    requests settled at once: the skeleton ("Loading…", or blank lines) was recorded as the
    policy, to read as the whole policy added once the page came whole. Its text is now waited
    for while it is only a placeholder, and until it has stopped changing for a moment."""
    site.html("/loading", SKELETON % (LOADING, CLAUSE))
    site.html("/blank", SKELETON % (BLANK, CLAUSE))
    site.html("/parts", IN_PARTS % CLAUSE)
    catalog = home.catalog(
        [
            {"type": path, "url": site.url(f"/{path}"), "select": "#terms", "render": "browser"}
            for path in ("loading", "blank", "parts")
        ]
    )
    seen = outcomes(home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}"))
    assert set(seen.values()) == {("first", "")}
    for key in ("testsite/loading", "testsite/blank"):
        assert home.run("text", key).stdout == f"# Usage Policy\n\n{CLAUSE}\n"
    assert home.run("text", "testsite/parts").stdout == (
        f"# Usage Policy\n\n{CLAUSE}\n\nBots are banned from the platform.\n"
    )


def test_a_page_stuck_on_its_placeholder_is_no_version(
    home: Home, site: Site, chromium: str
) -> None:
    """A page whose script never writes the policy (its API down) showed "Loading…" in the
    selected element: it was recorded as the policy, rendered or not."""
    site.html("/usage", "<html><body><main id='terms'><p>Loading…</p></main></body></html>")
    catalog = home.catalog(
        [
            {
                "type": "Rendered",
                "url": site.url("/usage"),
                "select": "#terms",
                "render": "browser",
            },
            {"type": "Plain", "url": site.url("/usage"), "select": "#terms"},
        ]
    )
    browser = ("--set", f"POLICYWATCH_BROWSER={chromium}", "--set", "DOWNLOAD_TIMEOUT=4")
    seen = outcomes(home.crawl(catalog, "--json", *browser))
    said = "empty-text: the page shows only a placeholder (“Loading…”), not the policy"
    assert seen == {
        "testsite/rendered": ("failed", f"{said}: its script had not written it in 4 s"),
        "testsite/plain": ("failed", f"{said}: its script writes it; declare `render: browser`"),
    }


def test_a_static_rendered_page_is_read_once_its_text_is_quiet(site: Site, chromium: str) -> None:
    """The wait for the text to fall quiet costs a page whose text is there from the start no
    more than that quiet period; and a page whose text never falls quiet (a clock in the
    selected element) is read once it has had time to fill, not at the timeout."""
    import asyncio

    from crawlers.browser import LAUNCH_ARGS, QUIET_MS, SETTLE_MS, Navigation, wait_for_content

    site.html("/static", f"<html><body><main><p>{CLAUSE}</p></main></body></html>")
    clock = (
        "setInterval(function () { document.getElementById('t').textContent = Date.now(); }, 50);"
    )
    site.html(
        "/clock", f"<html><body><main><p>{CLAUSE}</p><p id='t'></p></main><script>{clock}</script>"
    )

    async def waited(path: str) -> float:
        from playwright.async_api import async_playwright

        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            page = await browser.new_page()
            await page.goto(site.url(path), wait_until="domcontentloaded")
            started = time.monotonic()
            await wait_for_content(page, ["main"], 60_000, Navigation())
            took = time.monotonic() - started
            await browser.close()
            return took

    # The network's 500 ms of quiet (Playwright's `networkidle`), then the text's; with room
    # for a machine under load, far short of the 10 s a text that never falls quiet is given.
    assert asyncio.run(waited("/static")) < 0.5 + QUIET_MS / 1000 + 2.0
    assert asyncio.run(waited("/clock")) < (SETTLE_MS + QUIET_MS) / 1000 + 5.0


def test_a_part_the_declaration_removes_does_not_keep_the_wait_for_quiet_text_going(
    home: Home, site: Site, chromium: str
) -> None:
    """A ticking clock or a rotating banner inside the selected element, which the declaration
    `remove`s, kept the text from ever falling quiet: the page was waited for until the
    timeout, or for the 10 s a text that never falls quiet is given. The wait reads the text
    without the removed parts, as extraction does."""
    ticking = (
        "setInterval(function () {"
        " document.getElementById('clock').textContent = Date.now();"
        " document.querySelector('.banner').textContent = 'Offer ' + Date.now(); }, 50);"
    )
    site.html(
        "/usage",
        f"<html><body><main><h1>Usage Policy</h1><p id='clock'></p><p>{CLAUSE}</p>"
        f"<div><p class='banner'></p></div></main><script>{ticking}</script></body></html>",
    )
    catalog = home.catalog(
        [
            {
                "type": "Usage",
                "url": site.url("/usage"),
                "select": "main",
                "remove": ["#clock", "div > .banner"],
                "render": "browser",
            }
        ]
    )
    result = home.crawl(catalog, "--json", "--set", f"POLICYWATCH_BROWSER={chromium}")
    assert outcomes(result)["testsite/usage"] == ("first", ""), result.stderr
    assert home.run("text", "testsite/usage").stdout == f"# Usage Policy\n\n{CLAUSE}\n"
    with Session(open_store(home.db)) as session:
        [fetch] = session.exec(select(Fetch)).all()
    assert fetch.elapsed_ms is not None
    # Read once its text fell quiet: not after the 10 s a text that never does is given (or the
    # timeout, were it shorter), which was waited out whole.
    assert fetch.elapsed_ms < SETTLE_MS


def test_a_crawl_whose_every_page_was_slow_is_not_said_to_be_offline(
    home: Home, site: Site, chromium: str
) -> None:
    """Every document timed out, and the crawl asked "Is this machine offline?": true of a
    host that could not be reached, not of one that answered and then was slow, sending its
    page (a slow body) or rendering it (a script that holds the page's parsing)."""
    never = threading.Event()
    site.html("/held.js", "", content_type="application/javascript", held=never)
    site.html("/rendered", f"<html><head><script src='/held.js'></script></head><body>{CLAUSE}")
    site.html("/plain", f"<html><body>{CLAUSE}</body></html>", stall=30)
    timeout = ("--set", "DOWNLOAD_TIMEOUT=3", "--set", "RETRY_TIMES=0")
    browser = ("--set", f"POLICYWATCH_BROWSER={chromium}")
    try:
        for path, render in (("/rendered", {"render": "browser"}), ("/plain", {})):
            catalog = home.catalog([{"type": "Terms", "url": site.url(path), **render}])
            result = home.crawl(catalog, "--json", *browser, *timeout)
            assert result.code == 3
            [(outcome, detail)] = outcomes(result).values()
            assert outcome == "failed"
            assert detail.startswith("timeout: the server answered, but "), detail
            assert "offline" not in result.stderr
            assert "every document tried failed (1 timeout)" in result.stderr
    finally:
        never.set()
