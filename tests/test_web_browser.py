"""The review web app in a real browser: Debian's headless Chromium, driven by Playwright.

The app runs on uvicorn on a free loopback port in a thread, as `policywatch serve` runs it. With
`POLICYWATCH_SCREENSHOT=1` the test also refreshes the README's screenshot, `docs/change-page.png`.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
import uvicorn
from fastapi import FastAPI
from pypdf import PdfReader
from sqlalchemy import Engine

from crawlers.declarations import load_catalog
from crawlers.pacing import Pacing
from policywatch.web import create_app
from policywatch.web.templating import when
from store.models import utcnow
from store.repository import Attempt, DocumentInfo, Repository
from tests.conftest import ROOT, unavailable
from tests.test_web_data import (
    ACME_FOLDER,
    RESTRICTION,
    WHATSAPP_V3,
    google_store,
    imported_store,
    judge_with,
    retitled_store,
    verdict,
    web_store,
)

# the fixtures, imported for pytest to find
__all__ = ["google_store", "retitled_store", "web_store"]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = ROOT / "docs" / "change-page.png"
OPEN_HEADINGS = "section.diff-section:has(> details[open]) > h3"
FOLDED_HEADINGS = "section.diff-section:has(> p.unchanged) > h3"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """`app` on uvicorn on 127.0.0.1, in a thread, as `policywatch serve` runs it; its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def served(web_store: Engine) -> Iterator[str]:
    """The app without a token; yields its base URL."""
    with running(create_app(web_store)) as base:
        yield base


@pytest.fixture
def served_google(google_store: Engine) -> Iterator[str]:
    """The app over an imported document's store, as `served`."""
    with running(create_app(google_store)) as base:
        yield base


@pytest.fixture
def served_retitled(retitled_store: Engine) -> Iterator[str]:
    """The app over a store whose change lengthened a heading's underline, as `served`."""
    with running(create_app(retitled_store)) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable("Chromium", f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.browser
def test_review_a_change_in_the_browser(served: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    alerts: list[str] = []

    def record(dialog: Any) -> None:  # a script that ran would open an alert
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)

    page.goto(served + "/")
    assert page.locator("ol.timeline > li").count() == 3
    page.select_option("select[name=min_severity]", "critical")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**min_severity=critical**")
    assert page.url == served + "/?min_severity=critical"  # not `?service=&document=&…`
    entries = page.locator("ol.timeline > li")
    assert entries.count() == 1
    assert "WhatsApp" in entries.first.inner_text()
    assert "days" in entries.first.inner_text() or "in effect" in entries.first.inner_text()

    entries.first.locator("p.summary a").click()
    page.wait_for_url("**/changes/*")
    mark = page.locator("mark.match")
    assert mark.first.inner_text() == RESTRICTION
    assert mark.first.is_visible()
    background = mark.first.evaluate("node => getComputedStyle(node).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    assert page.locator("tr.flagged ins").first.is_visible()
    expanded = page.locator(OPEN_HEADINGS).all_inner_texts()
    assert expanded == ["WhatsApp Business Solution Terms", "Acceptable use"]  # not Fees
    if os.environ.get("POLICYWATCH_SCREENSHOT"):
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Chromium hands Atom to a feed reader (a download), so follow the link as a reader would.
    href = page.get_by_role("link", name="Atom feed of this document").get_attribute("href")
    assert href == "/feeds/document/whatsapp/business-solution-terms.atom"
    feed = feedparser.parse(page.request.get(served + href).body())
    assert feed.bozo == 0 and feed.entries[0].title.startswith("[critical] WhatsApp")

    page.goto(served + "/?all=1")  # the hostile entry: its <script> never runs
    assert "<script>" in page.locator("ol.timeline").inner_text()
    page.goto(served + "/documents/evil/terms")
    assert not alerts


@pytest.mark.browser
def test_an_imported_documents_change_reads_by_its_headings(
    served_google: str, browser: Any
) -> None:
    """Setext headings are the landmarks; the sentence a rule matched, its date and link
    rewritten in the rule's quote, is flagged on its row, which faces an empty cell."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served_google + "/")
    page.locator("ol.timeline > li p.summary a").first.click()
    page.wait_for_url("**/changes/*")
    assert page.locator(OPEN_HEADINGS).all_inner_texts() == [
        "Additional Requirements for Specific API Scopes"
    ]
    assert page.locator(FOLDED_HEADINGS).all_inner_texts() == [
        "Google API Services User Data Policy",
        "Enforcement",
    ]
    flagged = page.locator("tr.flagged")
    assert flagged.count() == 1 and flagged.locator("ins").is_visible()
    assert "From January 15, 2026" in flagged.locator("td.new").inner_text()
    assert flagged.locator("td.old").inner_text() == ""


@pytest.mark.browser
def test_an_alerts_reader_finds_the_matched_section_and_what_was_counted(
    served: str, browser: Any
) -> None:
    """Opened from an alert: the list of changed sections says which holds the sentence a
    rule matched (a rewrite changes dozens; the one that raised the alert is what was looked
    for), and the counts say what they count, as the alert does ("1 sentence added")."""
    page = browser.new_page()
    page.goto(served + "/?min_severity=critical")
    page.locator("p.summary a").first.click()
    page.wait_for_url("**/changes/*")
    assert "1 sentence added, 0 removed, 0 changed" in page.locator("p.meta").inner_text()
    jumps = page.locator("nav.changed-sections li")
    assert jumps.all_inner_texts() == [
        "WhatsApp Business Solution Terms",
        "Acceptable use matched by a rule",
    ]
    marker = jumps.nth(1).locator(".holds-match")
    assert marker.is_visible()
    assert marker.evaluate("node => getComputedStyle(node).borderLeftStyle") == "solid"
    jumps.nth(1).locator("a").click()
    assert page.url.endswith(
        "#" + page.locator("h3", has_text="Acceptable use").get_attribute("id")
    )
    assert page.locator("tr.flagged").first.is_visible()


@pytest.mark.browser
def test_a_matched_sentences_place_link_brings_its_flagged_line_into_view(
    served: str, browser: Any
) -> None:
    """On a phone the diff lay screens below the matched sentences; each now leads to its
    section, where the line holding it is flagged."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(served + "/?min_severity=critical")
    page.locator("p.summary a").first.click()
    page.wait_for_url("**/changes/*")
    below = "document.querySelector('tr.flagged').getBoundingClientRect().top > innerHeight"
    assert page.evaluate(below)  # screens down, past the matches
    page.locator("section.matches a.place").first.click()
    assert page.url.endswith(
        "#" + page.locator("h3", has_text="Acceptable use").get_attribute("id")
    )
    assert page.evaluate(
        "(() => { const box = document.querySelector('tr.flagged').getBoundingClientRect();"
        " return box.top >= 0 && box.bottom <= innerHeight; })()"
    )


@pytest.mark.browser
def test_a_dead_link_leads_back_to_the_timeline(served: str, browser: Any) -> None:
    """An alert's link to a change the store no longer holds: a styled page, then the way back."""
    page = browser.new_page()
    answer = page.goto(served + "/changes/9999")
    assert answer is not None and answer.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    reason = page.locator("p.error")
    assert reason.inner_text() == "no change with id 9999"
    assert reason.evaluate("node => getComputedStyle(node).color") == "rgb(138, 28, 28)"
    page.get_by_role("link", name="Back to the timeline").click()
    page.wait_for_url(served + "/")
    assert page.locator("ol.timeline > li").count() == 3


@pytest.mark.browser
def test_a_documents_form_compares_two_of_its_versions(served: str, browser: Any) -> None:
    page = browser.new_page()
    page.goto(served + "/documents/whatsapp/business-solution-terms")
    form = page.locator("form.compare")
    assert form.get_by_label("Compare version").input_value() == "2"  # the last change's
    form.get_by_label("Compare version").fill("1")
    form.get_by_role("button", name="Compare").click()
    page.wait_for_url("**/compare?from=1&to=3")
    assert page.locator("h1").inner_text().endswith("version 1 to version 3")
    added = page.locator("section.diff ins").all_inner_texts()
    assert any(RESTRICTION in text for text in added), added


PACED_CATALOG = {
    "whatsapp.yaml": """service: WhatsApp
documents:
  - type: Business Solution Terms
    url: https://www.whatsapp.com/legal/business-solution-terms
    interval: 6h
""",
    "openai.yaml": """service: OpenAI
documents:
  - type: Usage Policies
    url: https://openai.com/policies
""",
}


@pytest.mark.browser
def test_a_documents_page_says_its_pace_and_when_it_is_next_checked(
    web_store: Engine, tmp_path: Path, browser: Any
) -> None:
    """How often a document is checked, what set that, and when the next run fetches it, as
    `catalog show` and the schedule say; a document the catalog dropped is checked no more."""
    for name, declarations in PACED_CATALOG.items():
        (tmp_path / name).write_text(declarations)
    catalog = load_catalog([tmp_path], bundled=False, pacing=Pacing("12h"))
    assert not catalog.errors and len(catalog.documents) == 2
    repository = Repository(web_store)
    repository.sync_documents(
        [
            DocumentInfo(doc.key, doc.service, doc.document_type, doc.url, doc.declaration())
            for doc in catalog.documents
        ]
    )
    checked = utcnow() - timedelta(hours=1)
    whatsapp = catalog.get("whatsapp/business-solution-terms")
    assert whatsapp is not None
    repository.record_text(
        whatsapp.key, Attempt(whatsapp.url, at=checked), WHATSAPP_V3, judge_with(verdict(None, ""))
    )
    page = browser.new_page()
    with running(create_app(web_store, catalog=lambda: catalog)) as base:
        page.goto(f"{base}/documents/{whatsapp.key}")
        health = page.locator("section.health")
        assert health.locator("dd.pace").inner_text() == "6h, set by its declaration"
        due = checked + timedelta(hours=6) - timedelta(minutes=10)  # 10 min early at most
        assert health.locator("dd.due").inner_text() == (
            f"due {when(due)}, by the first policywatch run after"
        )
        page.goto(f"{base}/documents/openai/usage-policies")
        assert health.locator("dd.pace").inner_text() == "12h, set by the interval setting"
        page.goto(f"{base}/documents/evil/terms")
        assert health.locator("dd.pace").inner_text() == (
            "never again: it is no longer in the catalog"
        )
        assert health.locator("dd.due").count() == 0


@pytest.mark.browser
def test_on_a_phone_every_page_fits_its_width(served: str, browser: Any) -> None:
    """At 390 px the menu's last links and the documents' fetch health were off the screen,
    the whole page sliding sideways; a wide table now scrolls in its own box."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    whatsapp = "/documents/whatsapp/business-solution-terms"
    for path in (
        "/",
        "/documents",
        "/documents/openai/usage-policies",
        "/changes/1",
        f"{whatsapp}/versions/2",
        f"{whatsapp}/compare?from=1",
    ):
        answer = page.goto(served + path)
        assert answer is not None and answer.status == 200, path
        _assert_fits_the_phone(page, path)
        api = page.get_by_role("link", name="API", exact=True)
        assert api.evaluate("link => link.getBoundingClientRect().right") <= 390, path


@pytest.mark.browser
def test_the_skip_link_shows_on_the_first_tab_and_leads_to_the_page(
    served: str, browser: Any
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(served + "/")
    skip = page.get_by_role("link", name="Skip to content")
    assert skip.evaluate("link => link.getBoundingClientRect().bottom") <= 0  # out of sight
    page.keyboard.press("Tab")
    assert skip.evaluate("link => link === document.activeElement")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["width"] > 1 and box["height"] > 1
    page.keyboard.press("Enter")
    assert page.url.endswith("#content")
    assert page.evaluate("document.querySelector(':target').tagName") == "MAIN"


# The first character of each line a node's text is laid out on (a character lower than the one
# before it begins a line).
LINE_STARTS = """node => {
  const starts = [];
  let last = null;
  const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    for (let at = 0; at < text.length; at++) {
      if (!text.data[at].trim()) continue;
      const range = document.createRange();
      range.setStart(text, at);
      range.setEnd(text, at + 1);
      const box = range.getBoundingClientRect();
      if (!box.height) continue;
      if (!last || box.top >= last.bottom) starts.push(text.data[at]);
      last = box;
    }
  }
  return starts;
}"""


def line_starts_on_a_phone(browser: Any, address: str, selector: str) -> list[list[str]]:
    """For each node `selector` finds on the page at `address`, 390 px wide, the first
    character of each line its text is laid out on."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(address)
    return [node.evaluate(LINE_STARTS) for node in page.locator(selector).all()]


@pytest.mark.browser
def test_on_a_phone_a_change_pages_header_lines_start_with_no_separator(
    served: str, browser: Any
) -> None:
    """At 390 px the header's line of facts wrapped into lines that began with its "·"."""
    header = "article.change > header p.meta"
    [starts] = line_starts_on_a_phone(browser, served + "/changes/1", header)
    assert len(starts) > 2, "the line no longer wraps at 390 px: the test tests nothing"
    assert "·" not in starts, starts


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/compare?from=1", "/versions/2"])
def test_on_a_phone_compare_and_version_headers_start_no_line_with_a_separator(
    served: str, browser: Any, path: str
) -> None:
    """Their facts were joined by a bare "·", a box of its own in the wrapping line: on a phone
    a compare page's stood alone on a line between its two versions (Google Play's 400 to 437,
    at 390 px). Every phone width from 320 to 430 px is tried, as the dates' widths vary."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{served}/documents/whatsapp/business-solution-terms{path}")
    wrapped = False
    for width in range(320, 431, 5):
        page.set_viewport_size({"width": width, "height": 844})
        for starts in (node.evaluate(LINE_STARTS) for node in page.locator("main p.meta").all()):
            wrapped = wrapped or len(starts) > 1
            assert "·" not in starts, (width, starts)
    assert wrapped, "no line wraps on a phone: nothing tested"


@pytest.mark.browser
def test_on_a_phone_the_timelines_entry_lines_start_with_no_separator(
    served: str, browser: Any
) -> None:
    """At 390 px an entry's `service · document` wrapped into a line that began with its "·"."""
    lines = line_starts_on_a_phone(browser, served + "/", "li.entry .meta")
    assert any(len(starts) > 1 for starts in lines), "no entry wraps at 390 px: nothing tested"
    assert not any("·" in starts for starts in lines), lines


@pytest.mark.browser
def test_the_page_icon_loads_with_the_page(served: str, browser: Any) -> None:
    """Browsers asked for /favicon.ico on every page load and got a 404; the page now names an
    icon, which Chromium fetches with the page, and nothing the page asks for is missing."""
    page = browser.new_page()
    answers: dict[str, int] = {}
    page.on("response", lambda answer: answers.update({answer.url: answer.status}))
    page.goto(served + "/")
    page.wait_for_load_state("networkidle")
    assert answers[served + "/static/favicon.svg"] == 200
    assert all(status < 400 for status in answers.values()), answers


@pytest.mark.browser
def test_the_token_opens_the_page_once_and_leaves_the_address(
    web_store: Engine, browser: Any
) -> None:
    """The token in the address stayed in the address bar, the history and bookmarks; a
    browser without it got one line of plain text, no word of how to get in."""
    with running(create_app(web_store, token="s3cret")) as base:
        page = browser.new_page()
        refused = page.goto(base + "/documents")
        assert refused is not None and refused.status == 401
        assert page.locator("h1").inner_text() == "Token required"
        assert "?token=YOUR-TOKEN" in page.locator("p.error").inner_text()
        page.goto(base + "/?token=s3cret&all=1")
        assert page.url == base + "/?all=1"
        assert page.locator("ol.timeline > li").count() == 4  # noise included, as asked
        page.get_by_role("link", name="Documents", exact=True).click()
        page.wait_for_url(base + "/documents")
        assert page.locator("table.docs tbody tr").count() == 3  # the cookie carries the token
        # A link in an alert (a mail, a chat: another site) arrives with the cookie too; with
        # SameSite=Strict it did not, and "Review this change" opened the 401 page.
        page.goto(f'data:text/html,<a href="{base}/changes/1">Review this change</a>')
        page.get_by_role("link", name="Review this change").click()
        page.wait_for_url(base + "/changes/1")
        assert page.locator("h1").inner_text() != "Token required"


@pytest.mark.browser
def test_on_a_phone_the_documents_table_fits_without_scrolling(served: str, browser: Any) -> None:
    """At 390 px the table was 583 px wide: its fetch health lay past the edge of its box,
    reached only by scrolling it sideways; it now keeps its three main columns and wraps."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(served + "/documents")
    box = page.locator("div.scroll")
    assert box.evaluate("box => box.scrollWidth - box.clientWidth") <= 0
    assert page.locator("table.docs th:visible").all_inner_texts() == [
        "Document",
        "Last meaningful change",
        "Fetch health",
    ]
    health = page.get_by_text("timeout ×1")
    assert health.evaluate("cell => cell.getBoundingClientRect().right") <= 390
    wide = browser.new_page(viewport={"width": 1280, "height": 900})
    wide.goto(served + "/documents")
    assert wide.locator("table.docs th:visible").count() == 5  # a wide screen keeps them all


def _luminance(css: str) -> float:
    """The relative luminance (WCAG 2) of a computed `rgb(r, g, b)` colour."""
    channels = [int(part) / 255 for part in css[css.index("(") + 1 : -1].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.browser
def test_diff_line_numbers_pass_wcag_aa_contrast(served: str, browser: Any) -> None:
    """The line numbers were #9aa2b1 on white, 2.6:1; small text needs 4.5:1."""
    page = browser.new_page()
    page.goto(served + "/changes/1")
    number = page.locator("details[open] td.no").first
    ink = number.evaluate("cell => getComputedStyle(cell).color")
    paper = number.evaluate(
        """cell => {  // the first opaque background behind the cell
            for (let node = cell; node; node = node.parentElement) {
                const colour = getComputedStyle(node).backgroundColor;
                if (colour !== "rgba(0, 0, 0, 0)") return colour;
            }
            return "rgb(255, 255, 255)";
        }"""
    )
    lighter, darker = sorted((_luminance(ink), _luminance(paper)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 4.5, (ink, paper)


def _overflow(page: Any) -> int:
    """How many pixels the page is wider than its window: what a phone scrolls sideways."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def _assert_fits_the_phone(page: Any, what: str) -> None:
    overflow = _overflow(page)
    assert overflow <= 0, f"{what} is {overflow} px wider than the phone"


def _contrast(node: Any) -> float:
    """The WCAG contrast of `node`'s text with the first opaque background behind it."""
    ink = node.evaluate("node => getComputedStyle(node).color")
    return _ratio(ink, node.evaluate(GROUND))


# The first opaque background behind a node: its ground.
GROUND = """node => {
    for (; node; node = node.parentElement) {
        const colour = getComputedStyle(node).backgroundColor;
        if (colour !== "rgba(0, 0, 0, 0)") return colour;
    }
    return "rgb(255, 255, 255)";
}"""


# Text a reviewer reads, page by page: the first node each selector finds is measured against
# the first opaque background behind it.
READ = {
    "/?all=1": [
        "main h1", "p.count", ".meta time", ".meta a", ".sev-critical", ".sev-high", ".sev-low",
        ".sev-info", "li.noise p.summary a", "li.noise .reason", ".cat", ".eff",
        "form.filters label", "form.filters select", "form.filters button", "a.feed",
        "header.site a.brand", "header.site nav a",
    ],
    "/changes/1": [
        "nav.crumbs a", "mark.match", "section.matches .sev-medium", "section.matches .side",
        "td.no", "tr.replace td.old", "td.old del", "tr.replace td.new", "td.new ins",
    ],
    "/documents": [".issue", ".ok"],
    "/changes/999": [".error"],
}  # fmt: skip


def _ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _focus_rings(page: Any, stops: int) -> dict[str, str]:
    """The first `stops` places Tab reaches whose ring is thin, or under 3:1 on its ground."""
    faint: dict[str, str] = {}
    for _ in range(stops):
        page.keyboard.press("Tab")
        focused = page.locator(":focus")
        style, width, colour = focused.evaluate(
            "node => { const s = getComputedStyle(node);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }"
        )
        ground = focused.evaluate(f"node => ({GROUND})(node.parentElement)")
        if style != "solid" or width < 2 or _ratio(colour, ground) < 3:
            place = focused.evaluate("node => node.outerHTML.slice(0, 50)")
            faint[place] = f"{style} {width}px {colour} on {ground}"
    return faint


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_pages_follow_the_systems_scheme_and_read_in_both(
    served: str, browser: Any, scheme: str
) -> None:
    """There was one palette: a reader whose system is dark got a white page. Each scheme now
    keeps its text, links, badges, diff words and marks at 4.5:1 or more, the bar of a matched
    line and the ring of the focused control (the browser's own, in colours no page chose, was
    measured at 1.2:1 on the menu) at 3:1."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    unreadable = {}
    for path, selectors in READ.items():
        page.goto(served + path)
        for selector in selectors:
            ratio = _contrast(page.locator(selector).first)
            if ratio < 4.5:
                unreadable[f"{path} {selector}"] = round(ratio, 2)
    assert not unreadable
    page.goto(served + "/changes/1")
    wash = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (_luminance(wash) < 0.05) == (scheme == "dark"), wash
    flagged = page.locator("tr.flagged td.new")
    bar = flagged.evaluate("cell => getComputedStyle(cell).boxShadow")
    cell = flagged.evaluate("cell => getComputedStyle(cell).backgroundColor")
    assert _ratio(bar[: bar.index(")") + 1], cell) >= 3, (bar, cell)
    page.goto(served + "/")
    assert not _focus_rings(page, 12)


@pytest.mark.browser
def test_noise_and_flags_read_without_colour_or_fading(served: str, browser: Any) -> None:
    """Noise rows were faded to 2.5-3.2:1; a matched line was marked by a 2.1:1 yellow bar only,
    and added or removed words by colour only; the section headings sat inside <summary>, where
    some screen readers drop their role."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served + "/?all=1")
    noise = page.locator("ol.timeline > li.noise")
    faded = noise.evaluate(
        """entry => { let opacity = 1;
            for (let node = entry; node; node = node.parentElement)
                opacity *= Number(getComputedStyle(node).opacity);
            return opacity; }"""
    )
    assert faded == 1 and "not meaningful: cosmetic" in noise.inner_text()
    assert _contrast(noise.locator("p.summary a")) >= 4.5

    page.locator("ol.timeline > li p.summary a", has_text="AI providers barred").click()
    page.wait_for_url("**/changes/*")
    flagged = page.locator("tr.flagged td.new")
    words = " ".join(flagged.inner_text().split())
    assert words.startswith("matched by a rule: added: AI Providers")
    hidden = flagged.locator(".vh").first
    assert hidden.bounding_box()["width"] <= 1  # words for screen readers, not on the screen
    bar = flagged.evaluate("cell => getComputedStyle(cell).boxShadow")
    cell = flagged.evaluate("cell => getComputedStyle(cell).backgroundColor")
    colour = bar[: bar.index(")") + 1]
    lighter, darker = sorted((_luminance(colour), _luminance(cell)), reverse=True)
    assert (lighter + 0.05) / (darker + 0.05) >= 3, (colour, cell)
    assert page.locator("summary h3, summary [role=heading]").count() == 0
    headings = page.get_by_role("heading", level=3).all_inner_texts()
    assert headings == ["WhatsApp Business Solution Terms", "Definitions", "Acceptable use", "Fees"]


@pytest.mark.browser
def test_on_a_phone_side_by_side_lines_stack(served_google: str, browser: Any) -> None:
    """At 390 px each side of a side-by-side row had ~110 px."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(served_google + "/")
    page.locator("ol.timeline > li p.summary a").first.click()
    page.wait_for_url("**/changes/*")
    new = page.locator("tr.flagged td.new")
    assert new.bounding_box()["width"] >= 300
    assert not page.locator("tr.flagged td.old").is_visible()  # the empty side is not shown
    overflow = _overflow(page)
    assert overflow <= 0


@pytest.mark.browser
@pytest.mark.parametrize("view", ["side", "inline"])
def test_on_a_phone_a_lengthened_underline_is_cut_at_the_edge_with_its_words(
    served_retitled: str, browser: Any, view: str
) -> None:
    """The words for screen readers (`added:`) are positioned out of the flow, so the cut of an
    underline's cell did not hold them: starting past the edge, they slid the whole page
    sideways (447 px wide at 390 on a Google Play change); a `====` underline wrapped onto line
    after line of `=`."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{served_retitled}/changes/1?view={view}&all=1")
    added = page.locator(".underline ins .vh")
    assert added.count() == 1 and added.inner_text() == "added:"
    underline = page.locator(".underline:visible").last  # side by side: the new one
    assert "====" in underline.inner_text()
    height = underline.evaluate("cell => cell.getBoundingClientRect().height")
    line = underline.evaluate("cell => parseFloat(getComputedStyle(cell).lineHeight)")
    assert height < 2 * line, (height, line)
    _assert_fits_the_phone(page, f"the {view} diff")


@pytest.mark.browser
def test_on_a_phone_a_long_source_address_wraps(served_retitled: str, browser: Any) -> None:
    """An imported document's source is its folder, `file:///…/Facebook__Developer-Terms`:
    with nowhere to wrap, it pushed the change page 27 px past a phone's edge."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    for path in ("/changes/1?all=1", "/documents/acme/terms"):
        page.goto(served_retitled + path)
        assert ACME_FOLDER in page.locator("main").inner_text()
        _assert_fits_the_phone(page, path)


@pytest.mark.browser
def test_a_change_page_has_a_few_landmarks_and_its_sections_by_their_headings(
    served: str, browser: Any
) -> None:
    """Each diff section was a named region: 194 landmarks on a Google Play change, 22 of them
    named alike, which made a screen reader's list of landmarks useless. The sections are
    reached by their headings; the landmarks are the page's parts."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(served + "/changes/1")
    regions = page.get_by_role("region")
    names = [region.get_attribute("aria-labelledby") for region in regions.all()]
    assert names == ["matches-title", "diff-title"]
    headings = page.get_by_role("heading", level=3).all_inner_texts()
    assert headings == ["WhatsApp Business Solution Terms", "Definitions", "Acceptable use", "Fees"]


@pytest.fixture
def served_long(tmp_path: Path) -> Iterator[str]:
    """The app over a document whose text is 200 paragraphs long, as `served`."""
    paragraphs = [f"Section {n}. You may use the API for purpose {n}." for n in range(200)]
    versions = ("\n\n".join(paragraphs), "\n\n".join([*paragraphs, "You may not resell it."]))
    acme = DocumentInfo("acme/terms", "Acme", "Terms", "https://acme.test/terms")
    with running(create_app(imported_store(tmp_path / "long.sqlite3", acme, versions))) as base:
        yield base


@pytest.mark.browser
def test_a_long_text_scrolls_in_its_box_by_the_keyboard(served_long: str, browser: Any) -> None:
    """A document's latest text, and a version's, scroll in a box 40rem tall that holds no link:
    where a browser does not make such a box focusable (Safari), Tab passed it by, and a keyboard
    read no further than its first screen (axe: scrollable-region-focusable)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    for path in ("/documents/acme/terms", "/documents/acme/terms/versions/2"):
        page.goto(served_long + path)
        box = page.locator("pre.text")
        assert box.evaluate("box => box.scrollHeight > box.clientHeight")
        # in the order of Tab in every browser, not only where scrollers are focusable (Safari's
        # are not): Chromium's would not say 0
        assert box.evaluate("box => box.tabIndex") == 0
        for _ in range(40):
            page.keyboard.press("Tab")
            if box.evaluate("box => box === document.activeElement"):
                break
        else:
            raise AssertionError(f"Tab does not reach the text of {path}")
        page.keyboard.press("PageDown")
        page.wait_for_function("() => document.querySelector('pre.text').scrollTop > 0")


@pytest.mark.browser
def test_a_printed_text_is_whole_and_prints_no_menu(served_long: str, browser: Any) -> None:
    """Printed, a version's text (a record of what a contract referred to) stopped where its box
    stopped on screen, at the 15th of 201 paragraphs, and the menu's white links printed as a
    blank band; a document's latest text, likewise."""
    page = browser.new_page()
    for path in ("/documents/acme/terms/versions/2", "/documents/acme/terms"):
        page.goto(served_long + path)
        printed = PdfReader(io.BytesIO(page.pdf())).pages
        words = " ".join(" ".join(sheet.extract_text() for sheet in printed).split())
        assert "Section 199. You may use the API for purpose 199." in words, path
        assert "You may not resell it." in words, path
        assert "Upcoming" not in words, path


# A heading that is an address, as some developer terms title a section, and a document named
# in one word: neither has a space or hyphen to wrap at before a phone's edge.
ADDRESS_HEADING = "https://developers.acme.test/terms/platform-data-and-privacy-requirements"
ONE_WORD = "Datenschutzgrundverordnungsdurchführungsbestimmungen"


@pytest.fixture
def served_long_words(tmp_path: Path) -> Iterator[str]:
    """The app over a document whose one change is in a section headed by an address."""
    before = (
        f"Terms\n=====\n\nYou may use the API.\n\n{ADDRESS_HEADING}\n{'-' * 20}\n\nShare data.\n"
    )
    after = before.replace("Share data.", "You may not share data with anyone.")
    acme = DocumentInfo("acme/dsgvo", "Acme", ONE_WORD, "https://acme.test/dsgvo")
    store = imported_store(tmp_path / "words.sqlite3", acme, (before, after))
    with running(create_app(store)) as base:
        yield base


@pytest.mark.browser
def test_on_a_phone_a_word_longer_than_the_screen_breaks(
    served_long_words: str, browser: Any
) -> None:
    """The summary quotes the section's heading (`1 sentence changed in “https://…”`): on the
    timeline, a document's page and the compare page it pushed the page past a phone's edge (by
    49 px for an address of 75 characters); the heading of the diff's section, the
    page's title and its crumbs, by up to 535 px."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    for path in (
        "/?all=1",
        "/changes/1?all=1",
        "/changes/1?all=1&view=inline",
        "/documents/acme/dsgvo",
        "/documents/acme/dsgvo/versions/2",
        "/documents/acme/dsgvo/compare?from=1",
    ):
        page.goto(served_long_words + path)
        assert ADDRESS_HEADING in page.locator("main").inner_text()
        _assert_fits_the_phone(page, path)


@pytest.mark.browser
def test_on_a_phone_a_texts_underline_is_cut_at_the_edge(
    served_retitled: str, browser: Any
) -> None:
    """A version's text, and a document's latest, wrapped a heading's 70 `=` onto two lines of
    `=` on a phone, where a change page cuts it at the edge."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    for path in ("/documents/acme/terms/versions/2", "/documents/acme/terms"):
        page.goto(served_retitled + path)
        underline = page.locator("pre.text .underline")
        assert underline.count() == 1, path
        assert underline.inner_text() == "=" * 70  # the text whole, as copied
        height = underline.evaluate("line => line.getBoundingClientRect().height")
        line = underline.evaluate("line => parseFloat(getComputedStyle(line).lineHeight)")
        assert height < 2 * line, (path, height, line)
        box = page.locator("pre.text")
        assert box.evaluate("box => box.scrollWidth - box.clientWidth") <= 0


@pytest.mark.browser
def test_on_a_phone_an_error_or_empty_note_quoting_a_long_value_wraps(
    served: str, browser: Any
) -> None:
    """The notes of an error page and of an empty list quote the value typed (a number pasted
    whole, a name): with nowhere to wrap, they pushed the page past a 360 px phone's edge (by
    73 px for an unknown change's 41 digits)."""
    page = browser.new_page(viewport={"width": 360, "height": 740})
    digits, name = "9" * 41, "a" * 50
    for path, status, quoted in (
        (f"/changes/{digits}", 404, digits),
        (f"/documents/whatsapp/business-solution-terms/versions/{digits}", 404, digits),
        (f"/?service={name}", 404, name),
        (f"/?page={digits}", 200, digits),
        (f"/upcoming?within={digits}", 200, digits),
    ):
        answer = page.goto(served + path)
        assert answer is not None and answer.status == status, path
        assert quoted in page.locator("main").inner_text(), path
        _assert_fits_the_phone(page, path)


@pytest.mark.browser
def test_a_timeline_entrys_document_link_is_named_with_its_service(
    served: str, browser: Any
) -> None:
    """An entry's link to its document was named by the document's type alone: a screen
    reader's list of links read "Terms of Service" for TikTok's, Google Play's and Le Chat's,
    each leading elsewhere. It is named with its service, as it reads on the screen."""
    page = browser.new_page()
    page.goto(served + "/?all=1")
    link = page.get_by_role("link", name="WhatsApp · Business Solution Terms", exact=True)
    assert link.count() == 2  # the ban and the noise after it
    assert link.first.get_attribute("href") == "/documents/whatsapp/business-solution-terms"
    assert link.first.inner_text() == "Business Solution Terms"  # the service stands beside it
    names = page.locator("li.entry .meta a[href^='/documents/']").evaluate_all(
        "links => links.map(link => link.getAttribute('aria-label'))"
    )
    assert len(names) == 4 and all(" · " in name for name in names), names
