"""robots.txt in a long-lived `policywatch worker`: asked again once it is old."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.site import Page, Site
from tests.test_workers import Workers, crawl, outcomes

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def pg_home(tmp_path: Path, pg_url: str) -> Home:
    return Home(tmp_path, pg_url)


@pytest.fixture
def workers(pg_home: Home, redis_url: str) -> Iterator[Workers]:
    pool = Workers(pg_home, redis_url)
    yield pool
    pool.stop_all()


def test_a_worker_asks_for_robots_txt_again_once_it_is_old(
    pg_home: Home, site: Site, workers: Workers, redis_url: str
) -> None:
    """A worker runs for weeks, and kept the first robots.txt it read of a host for its life:
    a site that came to disallow the crawler was still crawled, and one whose robots.txt
    failed once (now: the whole site disallowed) stayed refused, whatever the next crawl found.
    RFC 9309 (2.4): a robots.txt is not to be kept more than 24 hours."""
    site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    site.html("/terms", "<html><body><main><p>You may call the API.</p></main></body></html>")
    catalog = pg_home.catalog([{"type": "Terms", "url": site.url("/terms"), "select": "main"}])
    workers.start("--set", "POLICYWATCH_ROBOTS_MAX_AGE=1")
    assert outcomes(crawl(pg_home, catalog, redis_url, "--json")) == {"testsite/terms": "first"}
    site.pages["/robots.txt"] = Page(b"User-agent: *\nDisallow: /\n", content_type="text/plain")
    time.sleep(1.5)
    result = crawl(pg_home, catalog, redis_url, "--json")
    assert outcomes(result) == {"testsite/terms": "failed"}
    assert "robots-disallowed" in result.stdout
    assert len(site.hits("/robots.txt")) == 2 and len(site.hits("/terms")) == 1
