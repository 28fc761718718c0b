"""scrapy-playwright's download handler, which fetches what it does not render through Scrapy's
HTTP/1.1 handler, with that handler's closes policed as crawlers/http11.py says. A module of its
own, imported only when a crawl renders pages: the browser is an optional extra."""

from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from crawlers.http11 import ClosePolicing


class BrowserDownloadHandler(ClosePolicing, ScrapyPlaywrightDownloadHandler):
    """Set by crawlers.browser.enable_browser for http and https."""
