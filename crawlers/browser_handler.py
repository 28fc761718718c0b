"""scrapy-playwright's download handler, which fetches what it does not render through Scrapy's
HTTP/1.1 handler, with that handler's closes policed and its unanswered connections told as
crawlers/http11.py says. A module of its own, imported only when a crawl renders pages: the
browser is an optional extra."""

from typing import Any

from scrapy import Request
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.http11 import ClosePolicing, ReachNoting


class BrowserDownloadHandler(ReachNoting, ClosePolicing, ScrapyPlaywrightDownloadHandler):
    """Set by crawlers.browser.enable_browser for http and https."""

    async def _apply_page_methods(self, page: Any, request: Request, spider: Any) -> None:
        """Run the page's waits (`crawlers.browser.render_meta`), and nothing more.

        scrapy-playwright waits for the page's `load` event after each, which waits for every
        script and frame: an async analytics script or a chat widget's frame that never
        answers held it back for good, and a policy on screen failed as a `timeout`. What
        the policy needs is what our waits wait for."""
        for method in request.meta.get("playwright_page_methods", ()):
            method.result = await method.method(page, *method.args, **method.kwargs)
