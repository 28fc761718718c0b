"""Per-document intervals (crawlers/schedule.py) and `policywatch run` under its lock.

The CLI tests go through the real command against a loopback site; they age a document by
moving its stored last attempt back in time instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from crawlers.declarations import Page, TrackedDocument
from crawlers.schedule import NOT_DUE, due_at, plan, tolerance
from store.db import open_store
from store.models import Document
from store.queries import LastCheck
from tests.conftest import FAST, Home, Result
from tests.site import Site

TERMS = "<html><body><main><h1>Terms</h1><p>You may call the API{}.</p></main></body></html>"
NOW = datetime(2026, 11, 12, 6, 0, tzinfo=UTC)
EXIT_NOTHING_FETCHED, EXIT_LOCKED = 3, 4


# The pure due function


def tracked(interval: str = "24h", url: str = "https://example.com/terms") -> TrackedDocument:
    return TrackedDocument(
        key="acme/terms",
        service="Acme",
        document_type="Terms",
        pages=(Page(url),),
        tags=(),
        interval=interval,
        language="en",
        source="/catalog/acme.yaml",
    )


def checked(document: TrackedDocument, at: datetime | None) -> LastCheck:
    return LastCheck(at, document.declaration())


def test_tolerance_is_five_percent_of_the_interval_at_most_ten_minutes() -> None:
    assert tolerance(timedelta(minutes=1)) == timedelta(seconds=3)
    assert tolerance(timedelta(minutes=30)) == timedelta(seconds=90)
    assert tolerance(timedelta(hours=6)) == timedelta(minutes=10)
    assert tolerance(timedelta(days=1)) == timedelta(minutes=10)


def test_a_daily_cron_does_not_skip_a_document_checked_seconds_after_it_yesterday() -> None:
    document = tracked("24h")
    yesterday = NOW - timedelta(days=1) + timedelta(seconds=3)
    assert due_at(document, checked(document, yesterday), NOW) is None


def test_due_once_the_interval_less_its_tolerance_has_passed() -> None:
    document = tracked("6h")
    last = NOW - timedelta(hours=5, minutes=49)
    assert due_at(document, checked(document, last), NOW) == last + timedelta(hours=5, minutes=50)
    assert due_at(document, checked(document, last - timedelta(minutes=1)), NOW) is None


def test_never_checked_or_checked_in_the_future_is_due() -> None:
    document = tracked()
    assert due_at(document, None, NOW) is None
    assert due_at(document, checked(document, None), NOW) is None
    assert due_at(document, checked(document, NOW + timedelta(days=30)), NOW) is None


def test_a_changed_declaration_is_due_but_a_new_interval_or_file_is_not() -> None:
    before = tracked("24h")
    an_hour_ago = NOW - timedelta(hours=1)
    moved = tracked("24h", url="https://example.com/legal/terms")
    assert due_at(moved, checked(before, an_hour_ago), NOW) is None
    # A language edited admits captures the old one held back: the next text may be its doing.
    french = dataclasses.replace(before, language="fr")
    assert due_at(french, checked(before, an_hour_ago), NOW) is None
    stored = LastCheck(an_hour_ago, before.declaration() | {"source": "/elsewhere.yaml"})
    assert due_at(tracked("12h"), stored, NOW) == an_hour_ago + timedelta(hours=12, minutes=-10)


def test_a_host_that_could_not_be_reached_is_tried_once_more_an_hour_later() -> None:
    """Once: after a second failure in a row, and for a host that answered with a failure, the
    interval; never later than the interval."""
    daily, last = tracked("24h"), NOW - timedelta(minutes=10)

    def failed(kind: str, streak: int, document: TrackedDocument = daily) -> LastCheck:
        return LastCheck(last, document.declaration(), kind, streak)

    def after(hours: float) -> datetime:
        period = timedelta(hours=hours)
        return last + period - tolerance(period)

    for kind in ("dns-error", "connection-refused", "connection-error", "timeout"):
        assert due_at(daily, failed(kind, 1), NOW) == after(1)
    assert due_at(daily, failed("dns-error", 2), NOW) == after(24)
    assert due_at(daily, failed("http-error", 1), NOW) == after(24)
    assert due_at(daily, failed("bot-wall", 1), NOW) == after(24)
    half_hourly = tracked("30m")
    assert due_at(half_hourly, failed("dns-error", 1, half_hourly), NOW) == after(0.5)


def test_plan_keeps_catalog_order_forces_named_keys_and_gives_the_next_due() -> None:
    daily, hourly = tracked("24h"), tracked("1h")
    hourly = dataclasses.replace(hourly, key="acme/hourly")
    fresh = NOW - timedelta(minutes=5)
    checks = {daily.key: checked(daily, fresh), hourly.key: checked(hourly, fresh)}
    waiting = plan([daily, hourly], checks, NOW)
    assert waiting.due == [] and [item.document for item in waiting.waiting] == [daily, hourly]
    assert waiting.next_due == fresh + timedelta(minutes=57)
    forced = plan([daily, hourly], checks, NOW, forced={daily.key})
    assert forced.due == [daily] and forced.next_due == fresh + timedelta(minutes=57)


# crawl, through the real command


def declare(home: Home, site: Site, **intervals: str) -> Path:
    """One document per path, `/name` with the interval given."""
    for name in intervals:
        site.html(f"/{name}", TERMS.format(""))
    return home.catalog(
        [
            {"type": name, "url": site.url(f"/{name}"), "interval": interval}
            for name, interval in intervals.items()
        ]
    )


def crawl(home: Home, catalog: Path, *args: str, command: str = "crawl") -> Result:
    """`crawl` (or `run`) of the TestSite service, keeping to the schedule."""
    return home.run(command, "--catalog", str(catalog), "--only", "testsite", *FAST, *args)


def outcomes(result: Result) -> dict[str, tuple[str, str]]:
    assert result.code == 0, result.stderr
    return {item["key"]: (item["outcome"], item["detail"]) for item in result.json()}


def age(home: Home, key: str, by: timedelta) -> None:
    """Move a document's last attempt back by `by`, as if that much time had passed."""
    with Session(open_store(home.db)) as session:
        document = session.exec(select(Document).where(Document.key == key)).one()
        assert document.last_checked is not None
        document.last_checked -= by
        session.add(document)
        session.commit()


def test_only_due_documents_are_fetched(home: Home, site: Site) -> None:
    catalog = declare(home, site, minute="1m", hour="1h")
    first = outcomes(crawl(home, catalog, "--json"))
    assert {outcome for outcome, _ in first.values()} == {"first"}

    again = crawl(home, catalog)
    assert again.code == 0, again.stderr
    assert "Nothing is due: 2 documents were checked within their interval" in again.stdout
    assert len(site.hits("/minute")) == len(site.hits("/hour")) == 1

    age(home, "testsite/minute", timedelta(minutes=1))
    seen = outcomes(crawl(home, catalog, "--json"))
    assert seen["testsite/minute"] == ("not-modified", "")
    outcome, due = seen["testsite/hour"]
    assert outcome == NOT_DUE
    assert timedelta(minutes=55) < datetime.fromisoformat(due) - datetime.now(UTC)
    assert datetime.fromisoformat(due) - datetime.now(UTC) <= timedelta(minutes=57)
    assert len(site.hits("/minute")) == 2 and len(site.hits("/hour")) == 1

    summary = crawl(home, catalog, "--all")
    assert "not due" in summary.stdout and len(site.hits("/hour")) == 2


def test_a_crawl_with_nothing_due_does_not_load_scrapy(home: Home, site: Site) -> None:
    """A cron line run every half hour mostly finds nothing due: it must not pay for Scrapy."""
    catalog = declare(home, site, daily="1d")
    assert crawl(home, catalog).code == 0
    command = [sys.executable, "-X", "importtime", "-m", "policywatch", "crawl"]
    command += ["--catalog", str(catalog), "--only", "testsite", *FAST]
    done = subprocess.run(
        command, capture_output=True, text=True, env=home.env(), cwd=home.path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Nothing is due" in done.stdout
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "policywatch.cli.crawl" in imported  # what the command loaded is all there
    assert not {"scrapy", "twisted", "crawlers.runner"} & imported


def test_all_and_a_named_key_override_the_schedule_a_service_does_not(
    home: Home, site: Site
) -> None:
    catalog = declare(home, site, a="1d", b="1d")
    assert crawl(home, catalog).code == 0
    by_service = home.run("crawl", "--catalog", str(catalog), "--only", "TestSite", "--json", *FAST)
    assert {outcome for outcome, _ in outcomes(by_service).values()} == {NOT_DUE}
    by_key = home.run("crawl", "--catalog", str(catalog), "--only", "testsite/a", "--json", *FAST)
    assert outcomes(by_key) == {"testsite/a": ("not-modified", "")}
    everything = outcomes(crawl(home, catalog, "--all", "--json"))
    assert {outcome for outcome, _ in everything.values()} == {"not-modified"}
    assert len(site.hits("/a")) == 3 and len(site.hits("/b")) == 2


def test_a_changed_declaration_is_fetched_at_once(home: Home, site: Site) -> None:
    catalog = declare(home, site, terms="1d")
    assert crawl(home, catalog).code == 0
    site.html("/legal", TERMS.format(" and its data"))
    home.catalog([{"type": "terms", "url": site.url("/legal"), "interval": "1d"}])
    assert outcomes(crawl(home, catalog, "--json"))["testsite/terms"][0] == "changed"


def test_a_changed_declaration_is_read_anew_not_found_not_modified(home: Home, site: Site) -> None:
    """A selector edited on an unchanged page: the crawl sent the old fetch's validators, was
    told 304, and never applied it; a broken selector went unnoticed until the site changed, and
    then the text the new one read was blamed on the site's edit."""
    chrome = "<nav>Home Blog Pricing</nav>"
    site.html("/legal", f"<html><body>{chrome}{TERMS.format('')[12:]}")

    def declared(**selectors: str) -> dict[str, str]:
        return {"type": "terms", "url": site.url("/legal"), "interval": "1d", **selectors}

    catalog = home.catalog([declared(select="main")])
    assert crawl(home, catalog).code == 0
    assert outcomes(crawl(home, catalog, "--all", "--json"))["testsite/terms"][0] == "not-modified"

    home.catalog([declared(select="main.terms-bodyy")])  # a typo
    typo = crawl(home, catalog, "--json")
    [outcome] = typo.json()
    assert (outcome["outcome"], outcome["detail"].split(":")[0]) == (
        "failed",
        "selector-matched-nothing",
    )
    assert "If-None-Match" not in site.hits("/legal")[-1].headers

    home.catalog([declared()])  # no selector: the page's chrome is read too, now
    summary = crawl(home, catalog)
    cells = [line.split("│")[1].strip() for line in summary.stdout.splitlines() if "│" in line]
    assert "testsite/terms" in cells and "(declaration changed)" in cells, summary.stdout
    [change] = home.run("history", "--all", "--json").json()
    assert "Home Blog Pricing" in home.run("show", str(change["id"])).stdout
    # Read once anew, the page is fetched conditionally again.
    assert outcomes(crawl(home, catalog, "--all", "--json"))["testsite/terms"][0] == "not-modified"


def test_a_change_read_after_a_failed_fetch_under_a_new_declaration_is_marked(
    home: Home, site: Site
) -> None:
    """The first fetch under an edited declaration failed (the site down): the change the next
    read found was `redeclared` in the store and in `history`, but the crawl's Changes table,
    which asked the plan rather than the store, gave it no `(declaration changed)`."""
    site.html("/legal", f"<html><body><nav>Home Blog</nav>{TERMS.format('')[12:]}")
    declared = {"type": "terms", "url": site.url("/legal"), "select": "main"}
    catalog = home.catalog([declared])
    assert crawl(home, catalog).code == 0
    home.catalog([{**declared, "select": "body"}])
    site.html("/legal", "<html><body>Down for maintenance</body></html>", status=404)
    assert crawl(home, catalog, "--all").code == EXIT_NOTHING_FETCHED
    site.html("/legal", f"<html><body><nav>Home Blog</nav>{TERMS.format('')[12:]}")
    summary = crawl(home, catalog, "--all")
    cells = [line.split("│")[1].strip() for line in summary.stdout.splitlines() if "│" in line]
    assert "testsite/terms" in cells and "(declaration changed)" in cells, summary.stdout
    [change] = home.run("history", "--all", "--json").json()
    assert change["redeclared"], change


def test_a_failing_site_is_not_hammered_and_nothing_due_is_success(home: Home, site: Site) -> None:
    catalog = declare(home, site, walled="1h")
    site.html("/walled", "<html><body>Access denied</body></html>", status=403)
    assert crawl(home, catalog).code == EXIT_NOTHING_FETCHED
    hits = len(site.hits("/walled"))
    assert outcomes(crawl(home, catalog, "--json"))["testsite/walled"][0] == NOT_DUE
    assert len(site.hits("/walled")) == hits
    age(home, "testsite/walled", timedelta(hours=1))
    assert crawl(home, catalog).code == EXIT_NOTHING_FETCHED  # due again, and still walled


def test_a_host_that_could_not_be_reached_is_tried_again_an_hour_later(home: Home) -> None:
    """Not a day later, as its daily interval would have it; after a second failure in a row, a
    day later."""
    catalog = home.catalog(
        [{"type": "down", "url": f"http://127.0.0.1:{closed_port()}/terms", "interval": "1d"}]
    )

    def due_in() -> timedelta:
        outcome, due = outcomes(crawl(home, catalog, "--json"))["testsite/down"]
        assert outcome == NOT_DUE
        return datetime.fromisoformat(due) - datetime.now(UTC)

    assert crawl(home, catalog).code == EXIT_NOTHING_FETCHED
    assert timedelta(minutes=55) < due_in() <= timedelta(minutes=57)  # an hour, less 5%
    age(home, "testsite/down", timedelta(hours=1))
    assert crawl(home, catalog).code == EXIT_NOTHING_FETCHED  # due again, and still down
    assert timedelta(hours=23, minutes=48) < due_in() <= timedelta(hours=23, minutes=50)


# run: exit codes and the lock


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_exit_codes(home: Home, site: Site) -> None:
    catalog = declare(home, site, terms="1d")
    assert outcomes(crawl(home, catalog, "--json", command="run")) == {
        "testsite/terms": ("first", "")
    }
    assert crawl(home, catalog, command="run").code == 0  # nothing due
    missing = home.run("run", "--catalog", str(home.path / "nope.yaml"), *FAST)
    assert missing.code == 2 and "nope.yaml: no such file or folder" in missing.stderr
    unknown = home.run("run", "--catalog", str(catalog), "--only", "nosuch", *FAST)
    assert unknown.code == 2 and "nosuch" in unknown.stderr
    bad_set = crawl(home, catalog, "--set", "DOWNLOAD_DELAY", command="run")
    assert bad_set.code == 2 and "--set takes NAME=VALUE" in bad_set.stderr
    home.catalog(
        [{"type": "down", "url": f"http://127.0.0.1:{closed_port()}/terms", "interval": "1d"}],
        name="down.yaml",
    )
    down = home.run("run", "--catalog", str(home.path / "down.yaml"), "--only", "testsite", *FAST)
    assert down.code == EXIT_NOTHING_FETCHED and "Nothing could be fetched" in down.stderr


def start_run(home: Home, catalog: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "policywatch", "run", "--catalog", str(catalog)]
    command += ["--only", "testsite", *FAST]
    return subprocess.Popen(
        command,
        env=home.env(),
        cwd=home.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_hit(site: Site, path: str, child: subprocess.Popen[str]) -> None:
    """Until `child` is fetching `path`: from then on it holds the run lock."""
    deadline = time.monotonic() + 60
    while not site.hits(path):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the run never fetched the slow page"
        time.sleep(0.05)


def overlapping_runs_skip(home: Home, site: Site) -> None:
    catalog = declare(home, site, slow="1d")
    release = threading.Event()  # the first run's page is held until the second has ended
    site.html("/slow", TERMS.format(""), held=release)
    first = start_run(home, catalog)
    wait_for_hit(site, "/slow", first)
    second = crawl(home, catalog, "--all", command="run")
    release.set()
    assert second.code == EXIT_LOCKED
    assert f"another policywatch run is in progress (pid {first.pid} since " in second.stderr
    assert "; skipping" in second.stderr
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert len(site.hits("/slow")) == 1
    assert crawl(home, catalog, "--all", command="run").code == 0  # the lock is free again


def test_overlapping_runs_the_second_skips_with_its_own_code(home: Home, site: Site) -> None:
    overlapping_runs_skip(home, site)
    assert (home.path / "store.sqlite3.run.lock").exists()
    assert not (home.path / "store.sqlite3.run.lock.holder").exists()


@pytest.mark.postgres
def test_overlapping_runs_on_postgresql_lock_in_the_state_directory(
    home: Home, site: Site, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    home.db = pg_url
    overlapping_runs_skip(home, site)
    [lock] = (state / "policywatch").glob("run-*.lock")
    assert len(lock.stem) == len("run-") + 16


def test_a_run_killed_mid_crawl_does_not_block_the_next(home: Home, site: Site) -> None:
    catalog = declare(home, site, slow="1d")
    site.html("/slow", TERMS.format(""), delay=20)
    killed = start_run(home, catalog)
    wait_for_hit(site, "/slow", killed)
    killed.kill()  # SIGKILL: no cleanup, the holder note stays behind
    killed.communicate(timeout=30)
    assert (home.path / "store.sqlite3.run.lock.holder").exists()
    site.pages["/slow"].delay = 0
    after = crawl(home, catalog, "--json", command="run")
    assert outcomes(after) == {"testsite/slow": ("first", "")}


def test_a_tag_named_with_only_keeps_the_schedule_and_yields_to_a_key_or_service(
    home: Home, site: Site
) -> None:
    """`--only TAG` narrows the selection as a service does; a name that is a key, or a service,
    too means that first (the bundled `meta` is the service Meta, not the tag of WhatsApp)."""
    for path in ("/a", "/b", "/other"):
        site.html(path, TERMS.format(""))
    catalog = home.catalog(
        [
            {"type": "a", "url": site.url("/a"), "tags": ["Watched", "testsite/b"]},
            {"type": "b", "url": site.url("/b")},
        ]
    )
    other = home.path / "other.yaml"
    declaration = {"service": "Other", "tags": ["testsite"], "documents": [{"type": "c"}]}
    declaration["documents"][0]["url"] = site.url("/other")
    other.write_text(yaml.safe_dump(declaration))
    both = ["--catalog", str(catalog), "--catalog", str(other)]
    assert crawl(home, catalog, "--catalog", str(other), "--all").code == 0  # TestSite's alone
    assert home.run("crawl", *both, "--only", "other", *FAST).code == 0

    by_tag = home.run("crawl", *both, "--only", "watched", "--json", *FAST)
    assert {key: outcome for key, (outcome, _) in outcomes(by_tag).items()} == {
        "testsite/a": NOT_DUE
    }
    assert len(site.hits("/a")) == 1  # the schedule kept
    by_key = home.run("crawl", *both, "--only", "testsite/b", "--json", *FAST)
    assert outcomes(by_key) == {"testsite/b": ("not-modified", "")}  # the key, fetched now
    by_service = home.run("crawl", *both, "--only", "TestSite", "--json", *FAST)
    assert set(outcomes(by_service)) == {"testsite/a", "testsite/b"}  # not Other, tagged so
    typo = home.run("crawl", *both, "--only", "watchd")
    assert typo.code == 2, typo
    assert (
        "--only watchd (did you mean Watched?): no document has that key, service or tag"
        in typo.stderr
    )
