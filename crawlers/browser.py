"""Rendering script-built pages in headless Chromium, through scrapy-playwright.

Some policy pages (OpenAI's, Meta's) are empty shells until their scripts run. A declaration
with `render: browser` is fetched by Chromium instead of Scrapy's HTTP client; every other
request, robots.txt included, still goes through Scrapy as usual.

The browser is the system's Chromium (Debian's `chromium` package), found on the PATH or named
by the `POLICYWATCH_BROWSER` setting or environment variable: Playwright's own browser download
is never used. The Python side is the optional extra `policywatch[browser]`. When either is
missing, only the documents that need a browser fail, with a fetch issue saying what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.settings import Settings

from crawlers.declarations import Page
from crawlers.extraction import media_type
from crawlers.extraction.placeholder import placeholder, quoted
from crawlers.extraction.selection import split
from crawlers.inside import leads_inside
from crawlers.screening import Verdict, bot_wall, redirect_verdict

if TYPE_CHECKING:
    from playwright.async_api import Page as BrowserPage
    from playwright.async_api import Request as BrowserRequest
    from playwright.async_api import Response as BrowserResponse

CANDIDATES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
HANDLER = "crawlers.browser_handler.BrowserDownloadHandler"
# Flags for a quiet headless run as root in a container, with no calls home.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Chromium's network errors, as the spider's failure kinds (net::ERR_… in Playwright's message).
_NETWORK_ERRORS = [
    ("ERR_NAME_NOT_RESOLVED", "dns-error"),
    ("ERR_NAME_RESOLUTION_FAILED", "dns-error"),
    ("ERR_CONNECTION_REFUSED", "connection-refused"),
    ("ERR_TIMED_OUT", "timeout"),
    ("ERR_CONNECTION_TIMED_OUT", "timeout"),
    ("ERR_CONNECTION_", "connection-error"),
    ("ERR_ADDRESS_UNREACHABLE", "connection-error"),
    ("ERR_INTERNET_DISCONNECTED", "connection-error"),
]
# What a policy's text never needs: skipping them makes a render several times faster.
SKIPPED_RESOURCES = frozenset({"image", "media", "font"})
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss"})
HTML_TYPES = frozenset({"", "text/html", "application/xhtml+xml"})  # "": Chromium sniffs it
NAVIGATION = "policywatch_navigation"  # request meta: the page's `Navigation`
SETTLE_MS = 10_000  # at most, for a page's requests to settle once its element is there
# At most, for a challenge on screen to solve itself (its script reloads the page, or writes it).
CHALLENGE_GRACE_MS = 5_000
LOOK_MS = 500  # how often the screen is looked at for a challenge while the page is waited for
# At most, for the policy's element to show in the page itself once it shows in one of its frames.
FRAME_GRACE_MS = 2_000
# The policy's text, unchanged this long, is taken as written; how often it is read meanwhile.
QUIET_MS = 1_000
READ_MS = 100
# The page's HTML as it is shown, its open shadow trees in place of their hosts' children and
# what their slots show in place of the slots; null when it has none. Copied into a document
# of no window, where a web component's class is not run again for its copy.
COMPOSED_HTML = """() => {
  if (![...document.querySelectorAll("*")].some((element) => element.shadowRoot)) return null;
  const inert = document.implementation.createHTMLDocument("");
  const fill = (into, nodes) => {
    for (const node of nodes) {
      if (node.localName === "slot") {
        const shown = node.assignedNodes();
        fill(into, shown.length ? shown : node.childNodes);
      } else {
        const copy = into.appendChild(inert.importNode(node, false));
        fill(copy, (node.shadowRoot || node).childNodes);
      }
    }
  };
  const root = inert.importNode(document.documentElement, false);
  fill(root, document.documentElement.childNodes);
  const doctype = document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "";
  return doctype + root.outerHTML;
}"""


# The text on screen of the elements given (found by Playwright's selectors, into shadow trees)
# without what the declaration's `remove` selectors pick, in them or as them, as extraction
# drops it: a clock or a rotating banner it removes kept the text from ever falling quiet. An
# element that holds none of them is read whole, as shown (`innerText`); one that holds some,
# part by part around them. A selector the browser cannot run (cssselect's `:contains()`) picks
# nothing here.
SHOWN_TEXT = """(elements, removed) => {
  const runnable = removed.filter((css) => {
    try { document.querySelector(css); return true; } catch { return false; }
  });
  const picked = (element) => runnable.some((css) => element.matches(css));
  const holds = (element) => runnable.some((css) => element.querySelector(css));
  const whole = (element) => element.innerText ?? element.textContent ?? "";
  const part = (node) => {
    if (node.nodeType === Node.TEXT_NODE) return node.data;
    if (node.nodeType !== Node.ELEMENT_NODE || picked(node)) return "";
    const display = getComputedStyle(node).display;
    if (display === "none") return "";
    const text = holds(node) ? [...node.childNodes].map(part).join("") : whole(node);
    return display.startsWith("inline") ? text : `\\n${text}\\n`;
  };
  const gone = (element) => runnable.some((css) => element.closest(css));
  return elements
    .map((element) => (gone(element) ? "" : holds(element) ? part(element) : whole(element)))
    .join("\\n");
}"""


def _configured(settings: Settings) -> str | None:
    return settings.get("POLICYWATCH_BROWSER") or os.environ.get("POLICYWATCH_BROWSER")


def find_browser(settings: Settings) -> str | None:
    """The Chromium to drive: the configured path, else the first one on the PATH."""
    configured = _configured(settings)
    if configured:
        return shutil.which(configured) or (configured if os.access(configured, os.X_OK) else None)
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def enable_browser(settings: Settings) -> str | None:
    """Route `playwright` requests to Chromium; returns why it cannot, if it cannot."""
    try:
        import scrapy_playwright  # noqa: F401
    except ImportError:
        return (
            "rendering needs the browser extra: pip install 'policywatch[browser]'"
            " (in a checkout: pip install -e '.[browser]')"
        )
    executable = find_browser(settings)
    if executable is None:
        return _no_browser(_configured(settings))
    timeout_ms = settings.getfloat("DOWNLOAD_TIMEOUT") * 1000
    settings.set("DOWNLOAD_HANDLERS", {"http": HANDLER, "https": HANDLER}, priority="cmdline")
    settings.set("PLAYWRIGHT_BROWSER_TYPE", "chromium", priority="cmdline")
    settings.set(
        "PLAYWRIGHT_LAUNCH_OPTIONS",
        {"executable_path": executable, "headless": True, "args": LAUNCH_ARGS},
        priority="cmdline",
    )
    settings.set("PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT", timeout_ms, priority="cmdline")
    settings.set("PLAYWRIGHT_MAX_CONTEXTS", 1, priority="cmdline")
    settings.set("PLAYWRIGHT_MAX_PAGES_PER_CONTEXT", 2, priority="cmdline")
    settings.set("PLAYWRIGHT_ABORT_REQUEST", abort_request, priority="cmdline")
    return None


def _no_browser(configured: str | None) -> str:
    """Why there is no Chromium to drive. A POLICYWATCH_BROWSER naming no executable is the
    user's to fix: told to install a package and set the variable, they had set it."""
    if configured:
        return (
            f"no Chromium found: POLICYWATCH_BROWSER names {configured}, which is no executable;"
            " set it to Chromium's path, or unset it to find chromium on the PATH"
        )
    return (
        "no Chromium found: install Debian's chromium package (apt-get install chromium) "
        "or set POLICYWATCH_BROWSER to its path"
    )


async def abort_request(request: BrowserRequest) -> bool:
    """Whether Chromium should not make `request`: a resource a policy's text never needs, or a
    script's fetch or a frame that would go from a public page into this machine or its network
    (`crawlers.inside`). The page's own navigations pass: Chromium follows its redirects on its
    own (Playwright cannot stop them), and an aborted navigation leaves an error page in place
    of the policy; where the page arrived is judged when it has
    (`crawlers.middlewares.InsideRedirectMiddleware`)."""
    from playwright.async_api import Error as BrowserError

    if request.resource_type in SKIPPED_RESOURCES:
        return True
    target = urlsplit(request.url)
    # Chromium's own pages and extensions (its PDF viewer's scripts: chrome-extension://<id>/…),
    # data: and blob: URLs reach no host. Looking their "hosts" up in the DNS held a PDF's
    # viewer past the timeout, each name failing after the resolver's own.
    if target.scheme not in NETWORK_SCHEMES or not await leads_inside(target.hostname):
        return False
    try:
        page = request.frame.page.main_frame
    except BrowserError:  # a service worker's request has no frame: no page vouches for it
        return True
    if request.is_navigation_request() and request.frame == page:
        return False
    return not await leads_inside(urlsplit(page.url).hostname)


def render_meta(page: Page, timeout_ms: float) -> dict[str, Any]:
    """Request meta that renders `page` in Chromium and waits for what its selectors pick.

    The navigation ends once the page is parsed (`domcontentloaded`), not at its `load`
    event, which waits for every script, stylesheet and frame: an async analytics script or
    a chat widget's frame that never answers held it back for good, and a policy on screen
    failed as a `timeout`. What the policy needs is waited for after (`wait_for_content`)."""
    from scrapy_playwright.page import PageMethod

    # A range's content begins at its start element: wait for that. A range removed is not
    # left out of the text waited for, only the elements the CSS selectors remove.
    css = [selector if isinstance(selector, str) else selector.start for selector in page.select]
    removed, _ = split(page.remove)
    navigation = Navigation()
    wait = PageMethod(wait_for_content, css, timeout_ms, navigation, removed)
    return {
        "playwright": True,
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded"},
        "playwright_page_init_callback": navigation.watch,
        "playwright_page_methods": [wait],
        NAVIGATION: navigation,
    }


class Navigation:
    """What answered the page's navigations, watched from before the first: an answer that is
    no policy page (an error status, a body that is not HTML, a login or home page the page
    went to) ends the wait for the policy's element at once, where it was waited for until the
    timeout; and a body that is not HTML (a PDF) is read as the server sent it, not as the
    viewer Chromium shows it in; and a page that draws its text in shadow trees is read with
    them in place. It also keeps what the waits found instead of a policy (`verdict`: the
    element in a frame, a placeholder still in it), for screening to say."""

    def __init__(self) -> None:
        self.requested = ""
        self.answer: BrowserResponse | None = None  # the main frame's last, redirects aside
        self.body: bytes | None = None  # the server's own bytes, when they are no HTML
        self.composed: str | None = None  # the page's HTML with its shadow trees, if it has any
        self.elsewhere = asyncio.Event()
        self.verdict: Verdict | None = None  # why the waits found no policy on the page, if so

    async def watch(self, page: BrowserPage, request: Request) -> None:
        """scrapy-playwright's page init callback: called before each attempt's navigation."""
        self.requested, self.answer, self.body, self.composed = request.url, None, None, None
        self.elsewhere, self.verdict = asyncio.Event(), None
        page.on("response", self._answered)

    def _answered(self, response: BrowserResponse) -> None:
        # A service worker's answers have no frame: only a navigation's is sure to have one.
        if not response.request.is_navigation_request() or response.frame.parent_frame:
            return
        if 300 <= response.status < 400:  # Chromium follows it: its target answers next
            return
        self.answer = response
        no_policy = response.status >= 400 or not _is_html(response)
        if no_policy or redirect_verdict(self.requested, response.url) is not None:
            self.elsewhere.set()

    async def read_body(self, page: BrowserPage, timeout_ms: float) -> None:
        """Keep the answer's own bytes, if they are no HTML. Chromium gives its viewer's page
        for a PDF's body, even from the answer itself: they are asked again, in the page's
        context (its cookies), outside the viewer."""
        from playwright.async_api import Error as BrowserError

        answer = self.answer
        if answer is None or answer.status >= 300 or _is_html(answer):
            return
        with contextlib.suppress(BrowserError):  # the viewer's page goes on to extraction
            again = await page.request.get(answer.url, timeout=timeout_ms)
            if again.ok:
                self.body = await again.body()

    async def compose(self, page: BrowserPage) -> None:
        """Keep the page's HTML with its open shadow trees in place, if it has any: Chromium's
        HTML of a page (`page.content()`) leaves them out, and a policy a web component draws
        (its text in the component's shadow tree) was waited for, Playwright's selectors
        seeing into them, then read as missing. A closed shadow tree cannot be read."""
        from playwright.async_api import Error as BrowserError

        with contextlib.suppress(BrowserError):  # a navigation replacing it: read as it is
            self.composed = await page.evaluate(COMPOSED_HTML)


def _is_html(response: BrowserResponse) -> bool:
    return media_type(response.headers.get("content-type")) in HTML_TYPES


def own_body(response: Response) -> Response:
    """A rendered response with the server's own bytes in place of Chromium's rendering of
    them, when they are no HTML (a PDF, in its viewer), or with the page's HTML with its shadow
    trees in place of Chromium's without them (in the response's encoding, which extraction
    reads it in: a character it lacks as a character reference); any other response as it is."""
    navigation = response.meta.get(NAVIGATION)
    if navigation is None:
        return response
    if navigation.body is not None:
        return response.replace(body=navigation.body)
    if navigation.composed is not None and isinstance(response, TextResponse):
        return response.replace(
            body=navigation.composed.encode(response.encoding, "xmlcharrefreplace")
        )
    return response


def rendered_verdict(response: Response) -> Verdict | None:
    """Why the waits for a rendered page found no policy on it, if they did: the policy's
    element in a frame, or a placeholder in it still (`wait_for_content`)."""
    navigation = response.meta.get(NAVIGATION)
    return None if navigation is None else navigation.verdict


async def wait_for_content(
    page: BrowserPage,
    selectors: list[str],
    timeout_ms: float,
    navigation: Navigation,
    removed: Sequence[str] = (),
) -> None:
    """Wait until the policy's element is in the page, the page's requests have settled and
    its text has been written, or the timeout (one for all), or an answer that is no policy
    page (`Navigation`), or a challenge that stays on screen (`_walled`), or the element shown
    in one of the page's frames and not in the page (`_framed`).

    The element alone is not enough: a single-page app's shell often has it from the start,
    a spinner or a skeleton in it, and fills it with what its script fetches ("Loading…" was
    recorded as the policy), or on a timer, with no request (`_written`). Without selectors,
    the page's body is waited for so, and its text read without what the declaration removes
    (`removed`: its CSS selectors). A timeout is not an error here: the page as rendered so
    far goes to extraction, which says plainly that the selector matched nothing, a challenge
    still on screen is screened as the bot wall it is, and a placeholder still in the element
    as no policy (`Navigation.verdict`).
    """
    waits = [
        _content(page, selectors, timeout_ms, navigation, removed),
        navigation.elsewhere.wait(),
        _walled(page, navigation),
    ]
    if selectors:
        waits.append(_framed(page, ", ".join(selectors), navigation))
    await _first(*waits)
    await navigation.read_body(page, timeout_ms)
    await navigation.compose(page)


async def _first(*waits: Awaitable[object]) -> None:
    """Wait for the first of `waits` to end, and stop the others."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _content(
    page: BrowserPage,
    selectors: list[str],
    timeout_ms: float,
    navigation: Navigation,
    removed: Sequence[str],
) -> None:
    """The policy rendered: a challenge that solves itself (its script reloads the page, or
    writes it) is no policy while it is on screen, even with the element in it or its requests
    settled; its page is waited for, as long as `_walled` allows."""
    from playwright.async_api import TimeoutError as BrowserTimeout

    deadline = time.monotonic() + timeout_ms / 1000
    try:
        shown = await _rendered(page, selectors, deadline, removed)
        while await _challenged(page, navigation) is not False:
            await asyncio.sleep(LOOK_MS / 1000)
            shown = await _rendered(page, selectors, deadline, removed)
    except BrowserTimeout:
        return
    if shown and placeholder(shown):
        navigation.verdict = Verdict(
            "empty-text",
            f"the page shows only a placeholder ({quoted(shown)}), not the policy:"
            f" its script had not written it in {timeout_ms / 1000:g} s",
        )


async def _rendered(
    page: BrowserPage, selectors: list[str], deadline: float, removed: Sequence[str]
) -> str | None:
    """The text of the policy's element, or the page's body, once it has been written
    (`_written`)."""
    if selectors:
        css = ", ".join(selectors)
        await page.wait_for_selector(css, state="attached", timeout=_left_ms(deadline))
    # Once the element is there, its filling is waited for a while, not for as long as a
    # page whose chat widget or analytics keep polling never falls quiet.
    settle_ms = min(_left_ms(deadline), SETTLE_MS) if selectors else _left_ms(deadline)
    await page.wait_for_load_state("networkidle", timeout=settle_ms)
    return await _written(page, ", ".join(selectors) or "body", deadline, removed)


async def _written(
    page: BrowserPage, css: str, deadline: float, removed: Sequence[str]
) -> str | None:
    """The text of what `css` picks, less what `removed` picks, once it has been written: it
    shows more than a placeholder (`crawlers.extraction.placeholder`) and has not changed for
    `QUIET_MS`.

    A page's script may write the policy on a timer, with no request to wait for, in place
    of a skeleton that was there from the start, or a part at a time: read as soon as the
    requests had settled, the skeleton was recorded as the policy. Nothing tells such a timer
    from a clock's or a carousel's but patching the page's own functions, which bot walls look
    for: the text itself is watched. A placeholder is waited out until the timeout, and is no
    policy then; a text that never stops changing (a clock in it) is read after `SETTLE_MS`,
    unless the declaration removes the part that changes (`SHOWN_TEXT`).
    """
    bound = min(deadline, time.monotonic() + SETTLE_MS / 1000)
    shown, since = await _text(page, css, removed), time.monotonic()
    while (waiting := shown is None or placeholder(shown)) or time.monotonic() - since < (
        QUIET_MS / 1000
    ):
        if time.monotonic() >= (deadline if waiting else bound):
            break
        await asyncio.sleep(READ_MS / 1000)
        if (text := await _text(page, css, removed)) != shown:
            shown, since = text, time.monotonic()
    return shown


async def _text(page: BrowserPage, css: str, removed: Sequence[str]) -> str | None:
    """The text on screen of what `css` picks (Playwright's selectors see into shadow trees),
    less what `removed` picks (`SHOWN_TEXT`); None while it cannot be read (a navigation is
    replacing the page)."""
    from playwright.async_api import Error as BrowserError

    try:
        if not removed:  # read as Playwright reads it, with no script of our own in the page
            return "\n".join(await page.locator(css).all_inner_texts())
        text: str = await page.locator(css).evaluate_all(SHOWN_TEXT, list(removed))
        return text
    except BrowserError:
        return None


def _left_ms(deadline: float) -> float:
    return max(1.0, (deadline - time.monotonic()) * 1000)


async def _held(look: Callable[[], Awaitable[bool | None]], grace_ms: float) -> None:
    """Return once `look` has said True at every look for `grace_ms` (None: it cannot tell
    now, which neither starts nor ends the count)."""
    since: float | None = None
    while since is None or time.monotonic() - since < grace_ms / 1000:
        await asyncio.sleep(LOOK_MS / 1000)
        seen = await look()
        if seen is False:
            since = None
        elif seen and since is None:
            since = time.monotonic()


async def _walled(page: BrowserPage, navigation: Navigation) -> None:
    """Return once a challenge has been on screen at every look for `CHALLENGE_GRACE_MS`.

    A challenge served with an error status ends the wait at once (`Navigation`); one served
    with 200 (Cloudflare's "Just a moment...", a captcha's interstitial) never grows the
    policy's element, and was waited for until the timeout (30 s by default). Some solve
    themselves in a few seconds: only one still there after the grace is given up on."""
    await _held(partial(_challenged, page, navigation), CHALLENGE_GRACE_MS)


async def _framed(page: BrowserPage, css: str, navigation: Navigation) -> None:
    """Return once the policy's element has been in one of the page's frames, and not in the
    page itself, for `FRAME_GRACE_MS`; its verdict names the frame's address.

    A help centre's page that shows the terms in an `<iframe>` was waited for until the
    timeout (Playwright's selectors look in one frame only), then failed as `selector-matched-
    nothing`. The frame is a page of its own, another site's as often as not: read as part of
    this one, it would escape that site's robots.txt and the per-host delay (Chromium fetches
    frames itself), and a change to it would be read as this page's. It is to be declared
    instead, as a plain page's frame is (`framed`). The grace lets the page's own script write
    the element after a frame that has one (a chat widget's `<main>`) has loaded."""
    while navigation.verdict is None:
        await _held(partial(_in_a_frame, page, css), FRAME_GRACE_MS)
        if framed := await _frame_showing(page, css):
            navigation.verdict = Verdict(
                "framed",
                f"the page shows `{css}` in a frame: declare the frame's address instead"
                f" ({framed})",
            )


async def _in_a_frame(page: BrowserPage, css: str) -> bool:
    return await _frame_showing(page, css) is not None


async def _frame_showing(page: BrowserPage, css: str) -> str | None:
    """The address of a frame of the page that has an element `css` picks, when the page
    itself has none (any origin's: Chromium's frames are all Playwright's to look in)."""
    from playwright.async_api import Error as BrowserError

    try:
        if await page.main_frame.locator(css).count():
            return None
        for frame in page.frames:
            if frame.parent_frame is not None and await frame.locator(css).count():
                return frame.url
    except BrowserError:  # a frame going, or a navigation replacing the page
        return None
    return None


async def _challenged(page: BrowserPage, navigation: Navigation) -> bool | None:
    """Whether what is on screen is a bot wall or captcha, as screening judges the response
    (`bot_wall`); None while it cannot be looked at (a navigation is replacing it)."""
    from playwright.async_api import Error as BrowserError

    try:
        html = await page.content()
    except BrowserError:
        return None
    answer = navigation.answer
    return bot_wall(answer.headers if answer else {}, html.encode()) is not None


def browser_failure(error: BaseException | None) -> tuple[str, str] | None:
    """The failure kind and a one-line reason for an error Chromium raised, or None if not one.

    Playwright's messages carry a multi-line call log; the first line says it all, and the
    `net::ERR_…` code tells an unreachable host from a refusing one, as for plain HTTP fetches.
    Playwright is not imported to find out: if no page was rendered, it is not loaded, and the
    error cannot be its own (importing it at the first failed fetch of a crawl cost 75 ms).
    """
    playwright = sys.modules.get("playwright.async_api")
    if playwright is None or not isinstance(error, playwright.Error):
        return None
    reason = (error.message or str(error)).strip().splitlines()[0]
    if isinstance(error, playwright.TimeoutError):
        return "timeout", reason
    kind = next((kind for code, kind in _NETWORK_ERRORS if code in reason), "browser-error")
    return kind, reason
