"""Real Scrapy crawls, through the real `policywatch` command, against a loopback web site."""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import policywatch
from store.db import open_store
from tests import faults
from tests.conftest import FAST, Home, Result
from tests.receivers import silent_endpoint, unconnectable_endpoint
from tests.site import Site

TERMS = """<html><head><title>Terms</title><script>var tracking = 1;</script></head><body>
<nav>Home · Developers</nav>
<main id="terms"><h1>API Terms</h1><p>You may call the API.</p>{extra}</main>
<footer>© TestSite</footer></body></html>"""


# A timeout's reason (DOWNLOAD_TIMEOUT=1) when the server took the connection and said nothing.
SILENT = (
    "the server took the connection, but sent no answer in 1 s: hung, overloaded or holding"
    " crawlers off (the `timeout` setting, POLICYWATCH_TIMEOUT)"
)


def terms(extra: str = "") -> str:
    return TERMS.format(extra=extra)


def declare(home: Home, site: Site, *paths: str, **fields: object) -> Path:
    documents = [
        {"type": f"Doc {path.strip('/').replace('/', ' ')}", "url": site.url(path), **fields}
        for path in paths
    ]
    return home.catalog(documents)


def outcomes(result: object) -> dict[str, tuple[str, str]]:
    return {item["key"]: (item["outcome"], item["detail"]) for item in result.json()}  # type: ignore[attr-defined]


def test_first_crawl_records_one_version_per_document(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    site.html("/policy", terms("<p>Be nice.</p>"))
    catalog = declare(home, site, "/terms", "/policy", select=["#terms"])
    result = home.crawl(catalog, "--json")
    assert result.code == 0, result.stderr
    assert outcomes(result) == {
        "testsite/doc-terms": ("first", ""),
        "testsite/doc-policy": ("first", ""),
    }
    documents = {row["key"]: row for row in home.run("documents", "--json").json()}
    assert documents["testsite/doc-terms"]["versions"] == 1
    assert documents["testsite/doc-terms"]["last_checked"] is not None
    assert home.run("history", "--json").json() == []


def test_a_crawl_leaves_its_sqlite_store_whole_in_its_file(home: Home, site: Site) -> None:
    """A crawl left what it wrote in the store's `-wal` file, the store itself a 4 KB shell: a
    copy of the file, the way most people back one up, held no history."""
    site.html("/terms", terms())
    assert home.crawl(declare(home, site, "/terms"), "-q").code == 0
    store = home.path / "store.sqlite3"
    assert not store.with_name("store.sqlite3-wal").exists()
    copy = home.path / "backup.sqlite3"
    copy.write_bytes(store.read_bytes())
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT count(*) FROM version").fetchone() == (1,)


def test_unchanged_recrawl_sends_conditional_headers_and_records_nothing(
    home: Home, site: Site
) -> None:
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert home.crawl(catalog).code == 0
    result = home.crawl(catalog, "--json")
    assert outcomes(result)["testsite/doc-terms"] == ("not-modified", "")
    second = site.hits("/terms")[-1]
    assert second.headers.get("If-None-Match") == site.pages["/terms"].etag
    assert "If-Modified-Since" in second.headers
    assert home.run("documents", "--json").json()[0]["versions"] == 1


def test_identical_body_without_validators_skips_parsing(home: Home, site: Site) -> None:
    site.html("/terms", terms(), validators=False)
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert home.crawl(catalog).code == 0
    result = home.crawl(catalog, "--json")
    assert outcomes(result)["testsite/doc-terms"] == ("unchanged", "")
    assert "If-None-Match" not in site.hits("/terms")[-1].headers


def test_changed_page_records_exactly_one_change_with_its_diff(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert home.crawl(catalog).code == 0
    site.html("/terms", terms("<p>AI assistants may not use the API.</p>"))
    result = home.crawl(catalog, "--json")
    assert outcomes(result)["testsite/doc-terms"][0] == "changed"
    assert home.crawl(catalog).code == 0  # a third crawl of the same page adds nothing
    [change] = home.run("history", "--json").json()
    assert change["key"] == "testsite/doc-terms" and change["meaningful"] is True
    shown = home.run("show", str(change["id"]), "--json").json()
    lines = shown["diff"].splitlines()
    added = [line for line in lines if line.startswith("+") and not line.startswith("+++")]
    assert any("AI assistants may not use the API." in line for line in added)
    assert "tracking" not in shown["diff"] and "Home · Developers" not in shown["diff"]


@pytest.mark.parametrize("order", list(itertools.permutations(["/a", "/b", "/private"])))
def test_robots_txt_disallow_is_honoured_for_every_request_order(
    home: Home, site: Site, order: tuple[str, ...]
) -> None:
    site.pages["/robots.txt"] = site.pages.get("/robots.txt") or _robots()
    for path in order:
        site.html(path, terms())
    catalog = declare(home, site, *order)
    result = home.crawl(catalog, "--json")
    assert site.hits("/private") == [], "a disallowed page was fetched"
    assert outcomes(result)["testsite/doc-private"][0] == "failed"
    assert "robots-disallowed" in outcomes(result)["testsite/doc-private"][1]
    assert outcomes(result)["testsite/doc-a"][0] == "first"


def test_a_robots_txt_that_fails_with_a_server_error_disallows_the_site(
    home: Home, site: Site
) -> None:
    """RFC 9309 (2.3.1.4): a robots.txt answering 5xx means the whole site is disallowed. Scrapy
    read the error page as a robots.txt that allows all, and fetched the pages."""
    from tests.site import Page

    site.pages["/robots.txt"] = Page(b"<html><body>oops</body></html>", status=500)
    site.html("/a", terms())
    seen = outcomes(home.crawl(declare(home, site, "/a"), "--json"))
    assert seen["testsite/doc-a"] == (
        "failed",
        "robots-disallowed: robots.txt answered HTTP 500: while it fails, the whole site counts"
        " as disallowed (RFC 9309); the next crawl asks again",
    )
    assert site.hits("/a") == [] and len(site.hits("/robots.txt")) == 3  # retried as a 500 is
    # A robots.txt that is not there (404) or not for us (403) has no rules: all is allowed.
    for status in (404, 403):
        site.pages["/robots.txt"] = Page(b"<html><body>no</body></html>", status=status)
        assert outcomes(home.crawl(declare(home, site, "/a"), "--json"))["testsite/doc-a"][0] in (
            "first",
            "unchanged",
            "not-modified",
        )


def test_a_robots_txt_that_cannot_be_fetched_disallows_the_site_until_it_can(
    home: Home, site: Site
) -> None:
    """RFC 9309 (2.3.1.4): a robots.txt unreachable for a network error means the whole site is
    disallowed. One that timed out, or whose connection broke, was read as allowing all, and
    the pages were fetched. The issue keeps the network's kind, so an unreachable host reads as
    one; the next crawl asks again."""
    from tests.site import Page

    site.html("/a", terms())
    catalog = declare(home, site, "/a")
    site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", delay=2)
    seen = outcomes(home.crawl(catalog, "--json", "--set", "DOWNLOAD_TIMEOUT=1"))
    assert seen["testsite/doc-a"] == (
        "failed",
        f"timeout: robots.txt could not be fetched: {SILENT}; while it cannot be, the whole site"
        " counts as disallowed (RFC 9309); the next crawl asks again",
    )
    assert site.hits("/a") == [] and len(site.hits("/robots.txt")) == 3  # retried as a timeout is
    site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n", cut_at=5)
    detail = outcomes(home.crawl(catalog, "--json"))["testsite/doc-a"][1]
    assert detail.startswith("connection-error: robots.txt could not be fetched: the connection")
    assert site.hits("/a") == [] and home.run("documents", "--json").json()[0]["versions"] == 0
    site.pages["/robots.txt"] = Page(b"User-agent: *\nAllow: /\n")
    assert outcomes(home.crawl(catalog, "--json"))["testsite/doc-a"] == ("first", "")


def test_a_robots_txt_whose_name_failed_to_resolve_is_asked_for_again(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that does not resolve lets the page waiting for robots.txt fail with its own DNS
    error. A lookup that failed for a moment left the host's rules as "allow all" for the
    crawl (for a worker, an hour): the second page of this document, which robots.txt
    disallows, was fetched and recorded. The next request asks for robots.txt again."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    site.pages["/robots.txt"] = _robots()
    site.html("/public", terms())
    site.html("/private", terms("<p>Kept from crawlers.</p>"))
    flaky = site.url("").replace("127.0.0.1", f"policy{faults.FLAKY}")
    catalog = home.catalog([{"type": "Terms", "combine": [flaky + "/public", flaky + "/private"]}])
    resolver = ["--set", "DNS_RESOLVER=tests.faults.FlakyResolver"]
    seen = outcomes(home.crawl(catalog, "--json", *resolver))
    assert seen == {
        "testsite/terms": (
            "failed",
            f"robots-disallowed: page 2 of 2 ({flaky}/private): Forbidden by robots.txt",
        )
    }, seen
    assert [hit.path for hit in site.log] == ["/public", "/robots.txt"]


def test_every_request_names_the_release_and_the_contact_the_user_set(
    home: Home, site: Site
) -> None:
    """A site's owner reads the User-Agent to learn who crawls and whom to ask to stop. With
    `contact_url` set, the release was dropped from it (`policywatch (+URL)`), and every crawl
    set it so, the project's own URL included."""
    site.pages["/robots.txt"] = _robots()
    site.html("/a", terms())
    catalog = declare(home, site, "/a")
    release = f"policywatch/{policywatch.__version__}"
    assert home.crawl(catalog).code == 0
    home.path.joinpath("config.toml").write_text('contact_url = "mailto:crawler@example.com"\n')
    assert home.crawl(catalog).code == 0
    agents = [(hit.path, hit.headers["User-Agent"]) for hit in site.log]
    assert agents == [
        (path, f"{release} (+{contact})")
        for contact in ("https://github.com/policywatch/policywatch", "mailto:crawler@example.com")
        for path in ("/robots.txt", "/a")
    ]


def test_stock_scrapy_robots_middleware_still_has_the_race(home: Home, site: Site) -> None:
    """Why SharedRobotsTxtMiddleware exists: drop it once Scrapy's own passes this order."""
    site.pages["/robots.txt"] = _robots()
    for path in ("/a", "/b", "/private"):
        site.html(path, terms())
    catalog = declare(home, site, "/a", "/b", "/private")
    stock = (
        'DOWNLOADER_MIDDLEWARES={"crawlers.middlewares.SharedRobotsTxtMiddleware": null,'
        '"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": 100,'
        '"scrapy.downloadermiddlewares.retry.RetryMiddleware": null,'
        '"crawlers.middlewares.BackoffRetryMiddleware": 550}'
    )
    home.crawl(catalog, "--set", stock)
    assert len(site.hits("/private")) == 1


def _robots() -> object:
    from tests.site import Page

    return Page(b"User-agent: *\nDisallow: /private\n", content_type="text/plain")


def test_error_pages_oversize_and_binary_bodies_are_failed_fetches(home: Home, site: Site) -> None:
    site.html("/gone", "<html><body>gone</body></html>", status=404)
    site.html("/broken", "<html><body>oops</body></html>", status=500)
    site.html("/huge", "<html><body><p>" + "x" * 300_000 + "</p></body></html>")
    # Sent without a length, it is told as it comes in: Scrapy's words were none, and the issue
    # read "too-large: DownloadCancelledError('')".
    site.html("/streamed", "<html><body><p>" + "x" * 300_000 + "</p></body></html>", sized=False)
    site.pages["/binary"] = _binary()
    site.html("/ok", terms())
    catalog = declare(home, site, "/gone", "/broken", "/huge", "/streamed", "/binary", "/ok")
    result = home.crawl(catalog, "--json", "--set", "DOWNLOAD_MAXSIZE=100000")
    assert result.code == 0, result.stderr
    seen = outcomes(result)
    assert seen["testsite/doc-gone"][0] == "failed"
    assert seen["testsite/doc-gone"][1] == "not-found: HTTP 404: the page is gone (has it moved?)"
    assert seen["testsite/doc-broken"] == ("failed", "server-error: HTTP 500 server error")
    assert seen["testsite/doc-huge"][0] == "failed"
    assert seen["testsite/doc-huge"][1].startswith("too-large: the page is ")
    assert "over the size cap of 100,000; " in seen["testsite/doc-huge"][1]
    assert seen["testsite/doc-huge"][1].endswith("raise max_bytes (POLICYWATCH_MAX_BYTES)")
    assert seen["testsite/doc-streamed"] == (
        "failed",
        "too-large: the page grew past the size cap of 100,000 bytes as it came in (its server"
        " sent no length); a policy this large? raise max_bytes (POLICYWATCH_MAX_BYTES)",
    )
    assert (
        seen["testsite/doc-binary"][0] == "failed" and "not-html" in seen["testsite/doc-binary"][1]
    )
    assert seen["testsite/doc-ok"] == ("first", "")
    assert len(site.hits("/broken")) == 3  # the first try and two retries
    documents = {row["key"]: row for row in home.run("documents", "--json").json()}
    assert documents["testsite/doc-gone"]["versions"] == 0
    assert documents["testsite/doc-gone"]["issue"]["kind"] == "not-found"
    assert documents["testsite/doc-gone"]["issue"]["streak"] == 1
    home.crawl(catalog, "--set", "DOWNLOAD_MAXSIZE=100000")
    documents = {row["key"]: row for row in home.run("documents", "--json").json()}
    assert documents["testsite/doc-gone"]["issue"]["streak"] == 2


def _binary() -> object:
    from tests.site import Page

    return Page(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), content_type="image/png"
    )


def test_a_failed_fetch_loses_nothing_already_stored(home: Home, site: Site) -> None:
    site.html("/terms", terms("<p>Clause one.</p>"))
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert home.crawl(catalog).code == 0
    site.html("/terms", "<html><body>maintenance</body></html>", status=503)
    failed = home.crawl(catalog)
    assert failed.code == 3  # nothing could be fetched this time
    # Said on stderr too: cron discards the summary on stdout, and does not read exit codes.
    assert failed.stderr == (
        "Nothing could be fetched: every document tried failed (1 server-error); policywatch"
        " documents shows each open fetch issue.\n"
    )
    [document] = home.run("documents", "--json").json()
    assert document["versions"] == 1 and document["issue"]["kind"] == "server-error"
    assert home.run("history", "--all", "--json").json() == []


def test_one_request_at_a_time_per_host_even_without_a_delay(home: Home, site: Site) -> None:
    """The tests' FAST settings lift the delay (DOWNLOAD_DELAY=0, no AutoThrottle) but keep one
    request at a time per host: Scrapy 2.19 sent a host's queued requests all at once then."""
    paths = [f"/slow-{n}" for n in range(6)]
    for path in paths:
        site.html(path, terms(), delay=0.2)
    result = home.crawl(declare(home, site, *paths, select=["#terms"]), "--json")
    assert result.code == 0, result.stderr
    assert {outcome for outcome, _ in outcomes(result).values()} == {"first"}
    assert site.busiest == 1


def test_timeout_is_a_failed_fetch(home: Home, site: Site) -> None:
    site.html("/slow", terms(), delay=3)
    site.html("/fast", terms())
    catalog = declare(home, site, "/slow", "/fast")
    result = home.crawl(catalog, "--json", "--set", "DOWNLOAD_TIMEOUT=1", "--set", "RETRY_TIMES=0")
    seen = outcomes(result)
    assert seen["testsite/doc-slow"][0] == "failed" and seen["testsite/doc-slow"][1].startswith(
        "timeout"
    )
    assert seen["testsite/doc-fast"][0] == "first"


def test_unreachable_host_ends_quickly_with_a_clear_message(home: Home) -> None:
    catalog = home.catalog([{"type": "Terms", "url": "http://127.0.0.1:9/terms"}])
    result = home.crawl(catalog)
    assert result.code == 3
    assert "Nothing could be fetched" in result.stderr
    # Scrapy logs each failed robots.txt fetch and each retry given up, with tracebacks: the
    # summary already says what failed, so they are not shown.
    assert "Traceback" not in result.stderr
    detail = outcomes(home.crawl(catalog, "--json"))["testsite/terms"][1]
    assert detail.startswith("connection-refused")


def test_a_server_that_takes_the_connection_and_never_answers_is_no_offline_machine(
    home: Home,
) -> None:
    """A hung backend, or a tarpit, takes the connection and sends nothing: its host was reached.
    Its timeout read as Scrapy's `Getting … took longer than 1.0 seconds`, like a host that
    cannot be reached, and a crawl of only it asked "Is this machine offline?". Its robots.txt
    hangs the same way, and says so too; a host whose connection is never made (its SYNs
    dropped) is still one that cannot be reached."""
    timeout = ("--set", "DOWNLOAD_TIMEOUT=1", "--set", "RETRY_TIMES=0")
    with silent_endpoint() as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/terms"
        catalog = home.catalog([{"type": "Terms", "url": url}])
        said = home.crawl(catalog, *timeout)
        robots = outcomes(home.crawl(catalog, "--json", *timeout))["testsite/terms"]
        page = outcomes(home.crawl(catalog, "--json", *timeout, "--set", "ROBOTSTXT_OBEY=false"))
    assert said.code == 3 and "offline" not in said.stderr
    assert said.stderr.startswith(
        "Nothing could be fetched: every document tried failed (1 timeout)"
    )
    assert robots == (
        "failed",
        f"timeout: robots.txt could not be fetched: {SILENT}; while it cannot be, the whole site"
        " counts as disallowed (RFC 9309); the next crawl asks again",
    )
    assert page["testsite/terms"] == ("failed", f"timeout: {SILENT}")
    with unconnectable_endpoint() as unconnectable:
        url = f"http://127.0.0.1:{unconnectable.getsockname()[1]}/terms"
        unreached = home.crawl(home.catalog([{"type": "Terms", "url": url}]), *timeout)
    assert unreached.code == 3 and "Is this machine offline?" in unreached.stderr


def crawl_beside_a_fault(home: Home, site: Site, path: str, *fault: str) -> Result:
    """Crawl /terms and `path` with a fault of tests/faults.py that breaks on `path`: /terms is
    recorded, `path` fails with the fault as its reason, and the crawl goes on."""
    site.html("/terms", terms())
    site.html(path, terms())
    result = home.crawl(declare(home, site, "/terms", path, select=["#terms"]), "--json", *fault)
    assert result.code == 0, result.stderr
    assert outcomes(result) == {
        "testsite/doc-terms": ("first", ""),
        f"testsite/doc{path.replace('/', '-')}": (
            "failed",
            f"internal-error: RuntimeError: {faults.FAULT}",
        ),
    }
    return result


def test_a_bug_met_reading_a_page_fails_that_document_and_shows_its_traceback(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not "never reached" with nothing to report: the exception is the document's reason, the
    other documents are recorded, and the traceback and the Python warning reach stderr."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    fault = faults.spider_middlewares("CrashOnCrashPage")
    result = crawl_beside_a_fault(home, site, "/crash", *fault)
    assert "Traceback" in result.stderr
    assert f"RuntimeError: {faults.FAULT}" in result.stderr
    assert f"UserWarning: {faults.FAULT}: a warning" in result.stderr
    documents = {row["key"]: row for row in home.run("documents", "--json").json()}
    assert documents["testsite/doc-crash"]["issue"]["kind"] == "internal-error"


def journaled(
    home: Home, *args: str, journal: bool = True, python: tuple[str, ...] = ("-m", "policywatch")
) -> tuple[int, list[str]]:
    """`policywatch ARGS` (or `python` ARGS) in a real process whose stderr is a file, as a
    systemd service's is the journal's socket: with `journal`, JOURNAL_STREAM names that file,
    as systemd names its socket; its exit code and the lines of its stderr."""
    path = home.path / "stderr.log"
    with path.open("w") as stream:
        env = home.env()
        if journal:
            status = os.fstat(stream.fileno())
            env["JOURNAL_STREAM"] = f"{status.st_dev}:{status.st_ino}"
        code = subprocess.run(
            [sys.executable, *python, *args],
            env=env,
            cwd=home.path,
            stdout=subprocess.DEVNULL,
            stderr=stream,
            timeout=120,
        ).returncode
    return code, path.read_text(encoding="utf-8").splitlines()


def test_on_the_journal_each_stderr_line_says_its_priority(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd stores a line at the unit's level (info) unless it starts with `<N>`: a crawl's
    warnings and errors were all information, and `journalctl -p warning` showed none."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    site.html("/terms", terms())
    site.html("/crash", terms())
    catalog = declare(home, site, "/terms", "/crash", select=["#terms"])
    broken = home.catalog([{"type": "Broken", "url": "ftp://example.invalid/"}], "broken.yaml")
    crawl = ["crawl", "--catalog", str(catalog), "--catalog", str(broken), "--only", "testsite"]
    crawl += ["--all", *FAST, *faults.spider_middlewares("CrashOnCrashPage")]

    code, lines = journaled(home, *crawl)

    assert code == 0, lines
    assert all(line[:3] in {"<3>", "<4>", "<6>"} for line in lines), lines
    [skipped] = [line for line in lines if "Broken" in line]
    assert skipped.startswith("<4>skipped: ")
    traceback = lines.index(next(line for line in lines if "Traceback" in line))
    raised = lines.index(f"<3>RuntimeError: {faults.FAULT}", traceback)
    assert all(line.startswith("<3>") for line in lines[traceback - 1 : raised + 1])
    [warned] = [line for line in lines if f"UserWarning: {faults.FAULT}: a warning" in line]
    assert warned.startswith("<4>")
    assert journaled(home, "crawl", "--only", "nope")[1][0].startswith("<3>error: ")
    # Elsewhere nothing changes: no JOURNAL_STREAM, or one naming another stream than stderr
    # (a program the service started with its stderr redirected).
    code, plain = journaled(home, *crawl, journal=False)
    assert code == 0 and "Traceback (most recent call last):" in plain
    assert not any(line.startswith("<") for line in plain)
    monkeypatch.setenv("JOURNAL_STREAM", "{0.st_dev}:{0.st_ino}".format(catalog.stat()))
    code, elsewhere = journaled(home, "crawl", "--only", "nope", journal=False)
    assert code == 2 and elsewhere[0].startswith("error: ")


def test_on_the_journal_a_crash_is_an_error_on_every_line(home: Home) -> None:
    """Python prints an uncaught exception's traceback itself, past the commands' consoles."""
    crash = "from policywatch.cli import common; common.on_journal(); raise RuntimeError('bug')"
    code, lines = journaled(home, crash, python=("-c",))
    assert code == 1
    assert lines[0] == "<3>Traceback (most recent call last):"
    assert lines[-1] == "<3>RuntimeError: bug"
    assert all(line.startswith("<3>") for line in lines)


def test_a_bug_met_wording_a_failed_fetch_fails_that_document_too(
    home: Home, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spider's errback, which words a failed download, is outside the spider middlewares'
    reach: a bug there must fail its document too, not lose it."""
    monkeypatch.setenv("PYTHONPATH", faults.ROOT)
    fault = faults.downloader_middlewares("FailUnprintably")
    assert "Traceback" in crawl_beside_a_fault(home, site, "/unprintable", *fault).stderr


def test_a_crawl_scrapy_cannot_run_says_why(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms", select=["#terms"])
    result = home.crawl(catalog, "--set", 'ITEM_PIPELINES={"no_such_module.Pipeline": 300}')
    assert result.code == 2
    assert "error: the crawl could not run: ModuleNotFoundError" in result.stderr
    assert "no_such_module" in result.stderr and "Traceback" not in result.stderr


def test_a_store_that_fails_as_the_crawl_starts_stops_it_with_the_reason(
    home: Home, site: Site
) -> None:
    """A store whose write fails as the crawl records what it will fetch (a disk full; here a
    trigger writing to a table gone) gave Scrapy's traceback, then every document "not
    reached" and exit 3, "Nothing could be fetched", as if no site had answered."""
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms", select=["#terms"])
    open_store(home.db)
    with sqlite3.connect(home.db.removeprefix("sqlite:///")) as connection:
        connection.executescript(
            "CREATE TABLE gone (id INTEGER); CREATE TRIGGER failing BEFORE INSERT ON document"
            " BEGIN INSERT INTO gone VALUES (1); END; DROP TABLE gone;"
        )
    result = home.crawl(catalog)
    assert result.code == 2, result
    assert result.stderr == (
        f"error: the crawl could not run: the store {home.db} failed: no such table: main.gone\n"
    )
    assert "Nothing could be fetched" not in result.stdout + result.stderr
    assert site.hits("/terms") == []  # what could not be recorded is not fetched


def test_a_store_that_fails_mid_crawl_stops_it_with_the_reason(home: Home, site: Site) -> None:
    """A store whose write fails mid-crawl (a disk full; here a trigger writing to a table gone)
    failed every document after as an `internal-error`, a bug, each with its traceback, while
    the crawl went on fetching pages it could not record."""
    paths = [f"/terms-{number}" for number in range(6)]
    for path in paths:
        site.html(path, terms())
    catalog = declare(home, site, *paths, select=["#terms"])
    open_store(home.db)
    with sqlite3.connect(home.db.removeprefix("sqlite:///")) as connection:
        connection.executescript(
            "CREATE TABLE gone (id INTEGER); CREATE TRIGGER failing BEFORE INSERT ON version"
            " BEGIN INSERT INTO gone VALUES (1); END; DROP TABLE gone;"
        )
    result = home.crawl(catalog, "--set", "DOWNLOAD_DELAY=0.5")
    assert result.code == 2, result
    assert result.stderr == (
        f"error: the crawl stopped: the store {home.db} failed: no such table: main.gone; what"
        " was recorded before stays, and the documents not recorded are still due\n"
    )
    assert len([hit for path in paths for hit in site.hits(path)]) < len(paths)


def test_a_broken_catalog_entry_is_reported_and_skipped(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    catalog = home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms")},
            {"type": "Broken", "url": "not a url"},
            {"type": "Bad selector", "url": site.url("/terms"), "select": ["main["]},
        ]
    )
    result = home.crawl(catalog, "--json")
    assert result.code == 0
    assert outcomes(result) == {"testsite/terms": ("first", "")}
    assert "document Broken · field url" in result.stderr
    assert "document Bad selector · field select" in result.stderr
    # Named with --only, a skipped entry is not taken for a typo of another key.
    named = home.crawl(catalog, "--only", "testsite/bad-selector")
    assert named.code == 2
    assert "or is it declared by one of the 2 entries skipped as broken (above)?" in named.stderr


def test_only_takes_keys_and_services_in_any_case(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms")
    by_key = home.run("crawl", "--catalog", str(catalog), "--only", "TESTSITE/DOC-TERMS", "--json")
    assert list(outcomes(by_key)) == ["testsite/doc-terms"]
    unknown = home.run("crawl", "--catalog", str(catalog), "--only", "nosuchservice")
    assert unknown.code == 2 and "nosuchservice" in unknown.stderr


def test_an_unknown_only_names_the_closest_key_or_service(home: Home, site: Site) -> None:
    """A typo in --only is one line with what was meant, as `history --service` gives it."""
    catalog = declare(home, site, "/terms")
    only = ["--only", "testsite/doc-term", "--only", "TestSit", "--only", "zzzz"]
    result = home.run("crawl", "--catalog", str(catalog), *only)
    assert result.code == 2 and len(result.stderr.splitlines()) == 1, result
    assert (
        "--only testsite/doc-term (did you mean testsite/doc-terms?), TestSit (did you mean"
        " TestSite?), zzzz: no document has that key, service or tag"
    ) in result.stderr


def test_an_only_naming_a_tracked_document_no_catalog_declares_says_so(
    home: Home, site: Site
) -> None:
    """Crawled once with `--catalog`, then named without it (a cron line, a new shell): the error
    said "no document has that key, service or tag" of a document `documents` lists, and did not say
    that its declaration was missing."""
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms")
    assert home.crawl(catalog).code == 0
    for named in ("testsite/doc-terms", "TestSite"):
        result = home.run("crawl", "--only", named)
        assert result.code == 2 and len(result.stderr.splitlines()) == 1, result
        assert (
            f"--only {named}: tracked in the store, but declared in no catalog loaded: give its"
            " declaration with --catalog PATH, or name it in the config file (catalog = [...])"
        ) in result.stderr
    other = home.run("crawl", "--only", "zzzz")  # nothing of that name anywhere: as before
    assert "zzzz: no document has that key, service or tag" in other.stderr


def test_two_crawls_started_at_once_both_finish_correctly(
    home: Home, site: Site, db_url: str
) -> None:
    home.db = db_url  # a fresh database: the two crawls also race to create the schema
    for path in ("/a", "/b", "/c"):
        site.html(path, terms(f"<p>{path}</p>"))
    catalog = declare(home, site, "/a", "/b", "/c")
    command = [sys.executable, "-m", "policywatch", "crawl", "--catalog", str(catalog)]
    command += ["--only", "testsite", "--set", "DOWNLOAD_DELAY=0", "--quiet"]
    command += ["--set", "AUTOTHROTTLE_ENABLED=false"]  # both at full speed: racing the closer
    children = [
        subprocess.Popen(command, env=home.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr.decode()
    documents = home.run("documents", "--json").json()
    assert [row["versions"] for row in documents] == [1, 1, 1]
    assert home.run("history", "--all", "--json").json() == []


def test_the_config_file_names_the_catalog_and_the_database(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms")
    (home.path / "config.toml").write_text(
        f'catalog = ["{catalog}"]\ndb = "sqlite:///{home.path / "configured.sqlite3"}"\n'
    )
    del_db = {k: v for k, v in home.env().items() if k != "POLICYWATCH_DB"}
    done = subprocess.run(
        [sys.executable, "-m", "policywatch", "crawl", "--only", "testsite", "--json", "-q"],
        env=del_db,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (home.path / "configured.sqlite3").exists()
    assert [item["key"] for item in json.loads(done.stdout)] == ["testsite/doc-terms"]


@pytest.mark.parametrize(
    ("config", "env", "said"),
    [
        ("timeout = -5\n", {}, "timeout: Input should be greater than 0"),
        ("max_bytes = 0\n", {}, "max_bytes: Input should be greater than 0"),
        ("", {"POLICYWATCH_TIMEOUT": "0"}, "greater than 0 (in POLICYWATCH_TIMEOUT)"),
        ("", {"POLICYWATCH_MAX_BYTES": "5MB"}, "integer (in POLICYWATCH_MAX_BYTES)"),
        # A JSON variable that is no JSON was a traceback of pydantic-settings, exit 1.
        (
            "",
            {"POLICYWATCH_INTERVALS": '{"openai": "6h"'},
            "intervals: not JSON (Expecting ',' delimiter: line 1 column 16 (char 15)); write an"
            ' object, such as {"openai": "6h"} (in POLICYWATCH_INTERVALS)',
        ),
    ],
)
def test_settings_that_would_break_every_fetch_are_refused(
    home: Home, site: Site, config: str, env: dict[str, str], said: str
) -> None:
    """A negative timeout failed every document (with Twisted tracebacks) and recorded each as a
    fetch issue; `max_bytes = 0` turned the size cap off without a word."""
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms")
    (home.path / "config.toml").write_text(config)
    done = subprocess.run(
        [sys.executable, "-m", "policywatch", "crawl", "--catalog", str(catalog), "--only", "x"],
        env={**home.env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and said in done.stderr and len(done.stderr.splitlines()) == 1
    assert not site.hits("/terms")


def test_user_rules_classify_changes_and_a_broken_rule_file_stops_early(
    home: Home, site: Site
) -> None:
    rules = home.path / "rules.yaml"
    rules.write_text(
        "rules:\n  - id: carrier-pigeons\n    title: Carrier pigeons restricted\n"
        "    category: api-access\n    severity: high\n    side: added\n"
        "    any: [carrier pigeon*]\n"
    )
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms", select=["#terms"])
    assert home.crawl(catalog, "--rules", str(rules)).code == 0
    site.html("/terms", terms("<p>Carrier pigeons may not deliver API requests.</p>"))
    assert home.crawl(catalog, "--rules", str(rules)).code == 0
    [change] = home.run("history", "--json").json()
    assert change["severity"] == "high"
    assert [match["rule_id"] for match in change["matches"]] == ["carrier-pigeons"]
    rules.write_text("rules:\n  - id: broken\n")
    broken = home.crawl(catalog, "--rules", str(rules))
    assert broken.code == 2 and "broken" in broken.stderr and not site.hits("/robots.txt")[2:]
    # A path mistyped is said as a --catalog one is, not as Python's "[Errno 2] …".
    typo = home.crawl(catalog, "--rules", str(home.path / "rulez.yaml"))
    assert typo.code == 2 and typo.stderr == (
        f"error: --rules {home.path / 'rulez.yaml'}: no such file or folder\n"
    ), typo


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_crawl_says_so_and_records_no_false_failure(
    home: Home, site: Site, stop: signal.Signals
) -> None:
    """Ctrl-C (or systemd's SIGTERM): the pages in flight may finish, but a failure the stop
    causes (here the timeout that ends the wait) is no fetch issue; what was not reached stays
    due; the exit code is a shell's for the signal (130, 143)."""
    for path in ("/a", "/b"):
        site.html(path, terms(f"<p>{path}</p>"))
    site.html("/slow", terms(), delay=30)
    catalog = declare(home, site, "/slow", "/a", "/b")
    stderr, signalled = interrupted(home, site, catalog, stop)
    after = [hit.path for path in ("/a", "/b") for hit in site.hits(path) if hit.at > signalled]
    assert after == []  # queued for the host behind /slow: not requested once stopping
    again = "press Ctrl-C again" if stop == signal.SIGINT else "send SIGTERM again"
    assert f"Stopping: waiting for the pages being fetched (at most 3 s); {again}" in stderr
    assert "Interrupted" in stderr and "offline" not in stderr and "still due" in stderr
    documents = {row["key"]: row for row in home.run("documents", "--json").json()}
    slow = documents["testsite/doc-slow"]
    assert slow["issue"] is None and slow["last_checked"] is None and slow["versions"] == 0
    fetched = [row for row in documents.values() if row["versions"] == 1]
    assert f"{len(fetched)} of 3 documents checked" in stderr
    site.html("/slow", terms())
    again = home.run("crawl", "--catalog", str(catalog), "--only", "testsite", *FAST, "--json")
    assert outcomes(again)["testsite/doc-slow"][0] == "first"  # still due: fetched next time


def interrupted(home: Home, site: Site, catalog: Path, stop: signal.Signals) -> tuple[str, float]:
    """Crawl `catalog`, send `stop` once `/slow` is requested, check the exit code is a shell's
    for the signal, and give the crawl's stderr and when the signal went (time.monotonic)."""
    command = [sys.executable, "-m", "policywatch", "crawl", "--catalog", str(catalog)]
    command += ["--only", "testsite", "--set", "DOWNLOAD_DELAY=0", "--set", "DOWNLOAD_TIMEOUT=3"]
    command += ["--set", "RETRY_ENABLED=false"]  # as a browser killed by the same Ctrl-C
    child = subprocess.Popen(command, env=home.env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not site.hits("/slow"):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    signalled = time.monotonic()
    child.send_signal(stop)
    stderr = child.communicate(timeout=30)[1].decode()
    assert child.returncode == 128 + stop, stderr
    return stderr, signalled


def test_an_interrupted_crawl_counts_one_document_not_reached_as_one(
    home: Home, site: Site
) -> None:
    """One document of two not reached was said as many: "the 1 not reached are still due and
    the next crawl fetches them"."""
    site.html("/a", terms("<p>a</p>"))
    site.html("/slow", terms(), delay=30)
    stderr, _ = interrupted(home, site, declare(home, site, "/a", "/slow"), signal.SIGINT)
    stderr = " ".join(stderr.split())
    assert "1 of 2 documents checked; the 1 not reached is still due and the next crawl" in stderr
    assert "fetches it." in stderr


def test_a_stop_cuts_a_retrys_backoff_short(home: Home, site: Site) -> None:
    """A 503 asking to wait 20 s: the stop waited the backoff out, past the download timeout it
    promised, for a retry Scrapy then dropped anyway."""
    site.html("/busy", "<html><body>busy</body></html>", status=503, headers={"Retry-After": "20"})
    catalog = declare(home, site, "/busy")
    command = [sys.executable, "-m", "policywatch", "crawl", "--catalog", str(catalog)]
    command += ["--only", "testsite", "--set", "DOWNLOAD_DELAY=0", "--set", "DOWNLOAD_TIMEOUT=3"]
    child = subprocess.Popen(command, env=home.env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not site.hits("/busy"):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # in the backoff now
    signalled = time.monotonic()
    child.send_signal(signal.SIGTERM)
    stderr = child.communicate(timeout=30)[1].decode()
    assert child.returncode == 128 + signal.SIGTERM, stderr
    assert time.monotonic() - signalled < 3  # not the 20 s asked for
    assert len(site.hits("/busy")) == 1  # and no retry


def test_a_set_of_the_wrong_kind_is_one_line(home: Home, site: Site) -> None:
    """Scrapy read DOWNLOAD_DELAY=abc only once the crawl started, and failed with a traceback
    above the error."""
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms")
    for given, said in [
        ("DOWNLOAD_DELAY=abc", "--set DOWNLOAD_DELAY='abc': DOWNLOAD_DELAY takes a number"),
        ("ROBOTSTXT_OBEY=yes", "--set ROBOTSTXT_OBEY='yes': ROBOTSTXT_OBEY takes true or false"),
    ]:
        result = home.crawl(catalog, "--set", given)
        assert result.code == 2 and result.stderr.splitlines() == [f"error: {said}"], result
    assert not site.hits("/terms")
    fine = home.crawl(catalog, "--set", "DOWNLOAD_DELAY=0.5", "--set", "COOKIES_ENABLED=0")
    assert fine.code == 0, fine.stderr


def test_a_misspelt_set_is_warned_about(home: Home, site: Site) -> None:
    site.html("/terms", terms())
    catalog = declare(home, site, "/terms")
    result = home.crawl(catalog, "--set", "DOWNLOD_DELAY=5", "--set", "PLAYWRIGHT_X=1")
    assert result.code == 0, result.stderr
    assert "--set DOWNLOD_DELAY is no setting (did you mean DOWNLOAD_DELAY?)" in result.stderr
    assert "PLAYWRIGHT_X" not in result.stderr  # an add-on's own name: nothing close to it
