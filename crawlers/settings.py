"""Scrapy settings of the policy spider: polite by default.

These are the product's settings, not a benchmark's: one request at a time per host, robots.txt
obeyed (with the race fixed, see middlewares.py), AutoThrottle, an honest User-Agent, retries with
backoff, a timeout and a size cap. `crawlers.runner.crawl_settings` puts the user's choices on
top.
"""

from scrapy.settings import default_settings

from policywatch import __version__


def _without(components: dict[str, int], unused: set[str]) -> dict[str, int]:
    return {name: order for name, order in components.items() if name not in unused}


BOT_NAME = "policywatch"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"


def user_agent(contact_url: str) -> str:
    """Who is crawling, which release, and where a site's owner can reach whoever runs it."""
    return f"policywatch/{__version__} (+{contact_url})"


CONTACT_URL = "https://github.com/policywatch/policywatch"  # until the user sets their own
USER_AGENT = user_agent(CONTACT_URL)
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "policywatch"
# Seconds a host's robots.txt is kept before it is asked for again (crawlers/middlewares.py): a
# local crawl never keeps it that long, a worker runs for weeks. RFC 9309 (2.4) allows 24 hours.
POLICYWATCH_ROBOTS_MAX_AGE = 3600.0

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# Scrapy's own, with the per-host limit kept when a user sets DOWNLOAD_DELAY to 0.
DOWNLOADER = "crawlers.downloader.PerHostDownloader"
DOWNLOAD_DELAY = 1.0
# Scrapy's HTTP/1.1 handler, with a page broken off mid-body failed rather than recorded.
DOWNLOAD_HANDLERS_BASE = {
    **default_settings.DOWNLOAD_HANDLERS_BASE,
    "http": "crawlers.http11.HTTPDownloadHandler",
    "https": "crawlers.http11.HTTPDownloadHandler",
}
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 5 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# A host that does not resolve will not resolve a second later: failing at once keeps a crawl
# without network short, and the next scheduled crawl is the retry.
RETRY_EXCEPTIONS = [
    "scrapy.exceptions.DownloadConnectionRefusedError",
    "scrapy.exceptions.DownloadFailedError",
    "scrapy.exceptions.DownloadTimeoutError",
    "scrapy.exceptions.ResponseDataLossError",
    "twisted.internet.error.ConnectionDone",
    "twisted.internet.error.ConnectError",
    "twisted.internet.error.ConnectionLost",
]
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0

# Each response yields one item, and the pipeline is synchronous: Scrapy's default (100) starts
# 100 worker tasks per response to process that one item, ~200 event-loop callbacks per page.
CONCURRENT_ITEMS = 1
# Scrapy checks every callback for a generator that returns a value, by reading its source with
# `ast`; its cache is keyed by the bound method, new for each request, so it parsed the spider's
# source once per page (~6% of a crawl's CPU). The spider's callbacks are ours and tested.
WARN_ON_GENERATOR_RETURN_VALUE = False
TELNETCONSOLE_ENABLED = False
# Components policywatch has no use for are taken out of Scrapy's base lists, so that they are
# neither imported nor run for every request (disabling one with `None` still imports it, to
# resolve the name). Cookies (policy pages are public; the browser keeps its own; the middleware
# loads tldextract and requests), HTTP authentication (public pages again), remote control
# (loads aiohttp), feed exports and job state (results go to the store), periodic log lines,
# and the link-following spider middlewares (the spider follows no links).
_unused = {
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.httpauth.HttpAuthMiddleware",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.extensions.feedexport.FeedExporter",
    "scrapy.extensions.spiderstate.SpiderState",
    "scrapy.extensions.memdebug.MemoryDebugger",
    "scrapy.extensions.logstats.LogStats",
    "scrapy.spidermiddlewares.referer.RefererMiddleware",
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware",
    "scrapy.spidermiddlewares.depth.DepthMiddleware",
}
EXTENSIONS_BASE = _without(default_settings.EXTENSIONS_BASE, _unused)
# Scrapy's downloader middlewares that policywatch replaces by its own, in their place in the base
# list, so that a user's `--set DOWNLOADER_MIDDLEWARES=...` keeps them: a compressed page cut short
# fails (compression.py); a page's meta refresh to itself is not followed (middlewares.py).
_REPLACED = {
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": (
        "crawlers.compression.WholeBodyCompressionMiddleware"
    ),
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": (
        "crawlers.middlewares.MetaRefreshElsewhereMiddleware"
    ),
}
DOWNLOADER_MIDDLEWARES_BASE = {
    _REPLACED.get(name, name): order
    for name, order in _without(default_settings.DOWNLOADER_MIDDLEWARES_BASE, _unused).items()
}
# In the base list, so that a user's `--set SPIDER_MIDDLEWARES=...` keeps it.
SPIDER_MIDDLEWARES_BASE = {
    **_without(default_settings.SPIDER_MIDDLEWARES_BASE, _unused),
    "crawlers.middlewares.InternalErrorMiddleware": 10,
}
LOG_LEVEL = "WARNING"
LOG_INSTALL_ROOT_HANDLER = False

DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.BrowserRequiredMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.SharedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    "crawlers.middlewares.RedirectCookiesMiddleware": 605,  # after RedirectMiddleware (600)
    "crawlers.middlewares.InsideRedirectMiddleware": 610,  # after RedirectMiddleware (600)
    "crawlers.middlewares.SharedHostDelayMiddleware": 950,  # workers only (REDIS_URL)
    "crawlers.middlewares.FetchClock": 990,  # last: when a request goes to the downloader
}
ITEM_PIPELINES = {"crawlers.pipelines.RecordPipeline": 300}

# Where the pipeline records what it fetched; the CLI sets it from --db / POLICYWATCH_DB.
POLICYWATCH_DB = ""
# Workers: how long one page may hold a worker's event loop (seconds) while the worker still
# counts as alive; past it, its tasks go back to the queue for the others (crawlers/worker.py).
POLICYWATCH_WORKER_HUNG = 60.0
# The Chromium that renders `render: browser` pages (else env POLICYWATCH_BROWSER, else the
# PATH: crawlers/browser.py); named here so that `--set POLICYWATCH_BROWSER=…` is a known setting.
POLICYWATCH_BROWSER = ""
# The user's extra rule files or folders (`--rules`), on top of diffengine's shipped rules.
POLICYWATCH_RULES: list[str] = []
