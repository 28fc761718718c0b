"""`policywatch rejudge`: stored changes judged again by the rules as they are now."""

from __future__ import annotations

import sqlite3
import time
from functools import partial

import pytest

from diffengine import assess, load_rules
from store.db import open_store
from store.rejudging import rejudge
from store.repository import DocumentInfo
from tests.alerting import History
from tests.conftest import SHARED, Home
from tests.receivers import Webhook
from tests.site import Site

PAGE = "<html><body><main><h1>Terms</h1><p>You may call the API.</p>{}</main></body></html>"
PIGEONS = (
    "rules:\n  - id: carrier-pigeons\n    title: Carrier pigeons restricted\n"
    "    category: api-access\n    severity: high\n    side: added\n"
    "    any: [carrier pigeon*]\n"
)


def test_the_count_names_the_documents_whose_changes_were_judged(home: Home, site: Site) -> None:
    """Every tracked document was counted, changed or not: "1 change of 2 documents"."""
    for path in ("/terms", "/privacy"):
        site.html(path, PAGE.format(""))
    catalog = home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms")},
            {"type": "Privacy", "url": site.url("/privacy")},
        ]
    )
    assert home.crawl(catalog).code == 0
    site.html("/terms", PAGE.format("<p>Carrier pigeons may not deliver API requests.</p>"))
    assert home.crawl(catalog).code == 0
    judged = home.run("rejudge", "--dry-run")
    assert "1 change of 1 document judged again" in judged.stdout, judged.stdout


def test_a_verdict_given_anew_replaces_the_old_and_alerts_no_one(
    home: Home, site: Site, hook: Webhook
) -> None:
    """A rule written after the change was found: the timeline should say what it says now,
    but a change found days ago is not news to send."""
    site.html("/terms", PAGE.format(""))
    catalog = home.catalog([{"type": "Terms", "url": site.url("/terms")}])
    assert home.crawl(catalog).code == 0
    assert home.run("subscribe", hook.url(), "--name", "hooky", "--min-severity", "high").code == 0
    site.html("/terms", PAGE.format("<p>Carrier pigeons may not deliver API requests.</p>"))
    assert home.crawl(catalog).code == 0
    [found] = home.run("history", "--json").json()
    assert (found["severity"], found["rejudged_at"], hook.posts) == ("low", None, [])
    rules = home.path / "rules.yaml"
    rules.write_text(PIGEONS)

    dry = home.run("rejudge", "--rules", str(rules), "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "Would be judged otherwise" in dry.stdout and "nothing was written" in dry.stdout
    assert "high: Carrier pigeons restricted" in dry.stdout, dry.stdout
    assert home.run("history", "--json").json() == [found]

    done = home.run("rejudge", "--rules", str(rules))
    assert "1 change of 1 document judged again: 1 verdict changed" in done.stdout, done.stdout
    [now] = home.run("history", "--json").json()
    assert (now["id"], now["severity"]) == (found["id"], "high") and now["rejudged_at"]
    assert "(judged again 20" in home.run("show", str(now["id"])).stdout
    assert [match["rule_id"] for match in now["matches"]] == ["carrier-pigeons"]
    assert home.run("notify").code == 0 and hook.posts == []
    # Judged by the same rules again, nothing differs.
    assert home.run("rejudge", "--rules", str(rules), "--json").json() == []
    back = home.run("rejudge", "--document", "testsite/terms", "--json").json()
    assert [(one["id"], one["moved"], one["after"]["severity"]) for one in back] == [
        (found["id"], True, "low")
    ]


def test_a_dry_run_reads_while_a_crawl_writes(home: Home, site: Site) -> None:
    """A dry run took the store's write lock for each document it judged (seconds each, on the
    corpus), so a crawl recording meanwhile waited; and it waited for a crawl's lock itself,
    up to the 30 s timeout, to write nothing."""
    site.html("/terms", PAGE.format(""))
    catalog = home.catalog([{"type": "Terms", "url": site.url("/terms")}])
    assert home.crawl(catalog).code == 0
    site.html("/terms", PAGE.format("<p>Carrier pigeons may not deliver API requests.</p>"))
    assert home.crawl(catalog).code == 0
    path = home.db.removeprefix("sqlite:///")
    crawl = sqlite3.connect(path, isolation_level=None)
    crawl.execute("BEGIN IMMEDIATE")  # a crawl recording a version holds the write lock
    try:
        started = time.monotonic()
        dry = home.run("rejudge", "--dry-run")
        waited = time.monotonic() - started
    finally:
        crawl.execute("ROLLBACK")
    assert dry.code == 0, dry.stderr
    assert "1 change of 1 document judged again" in dry.stdout
    assert waited < 15, waited


def test_a_filter_naming_nothing_tracked_is_an_error(home: Home, site: Site) -> None:
    site.html("/terms", PAGE.format(""))
    assert home.crawl(home.catalog([{"type": "Terms", "url": site.url("/terms")}])).code == 0
    wrong = home.run("rejudge", "--service", "TestSit")
    assert wrong.code == 2 and "did you mean TestSite" in wrong.stderr, wrong.stderr


def test_a_service_is_taken_by_its_slug_as_history_takes_it(home: Home) -> None:
    """`--service google-play` passed the check (the slug names a tracked service) and then
    matched no document by its name, Google Play: "0 changes of 0 documents judged again"."""
    acme = DocumentInfo("acme-messenger/terms", "Acme Messenger", "Terms", "https://acme.test")
    History(home.db, [acme]).change(acme)
    for given in ("acme-messenger", "ACME MESSENGER"):
        judged = home.run("rejudge", "--dry-run", "--service", given)
        assert judged.code == 0, judged.stderr
        assert "1 change of 1 document judged again" in judged.stdout, judged.stdout


@pytest.mark.skipif(not (SHARED / "corpus" / "history").is_dir(), reason="../shared/corpus absent")
def test_by_the_same_rules_a_real_history_is_judged_as_it_was_recorded(home: Home) -> None:
    """YouTube's terms flip between regional variants and hold broken captures: judging a change
    again tells it of the history before it (its variants, the last sound version) as the crawl
    did, or verdicts would move with no rule changed."""
    folder = SHARED / "corpus" / "history" / "YouTube__Terms-of-Service"
    assert home.run("import-history", str(folder), timeout=300).code == 0
    judge = partial(assess, rules=load_rules([]))
    judged = rejudge(open_store(home.db), "youtube/terms-of-service", judge, write=False)
    listed = home.run("history", "--all", "--limit", "0", "--json").json()
    reasons = {change["reason"] for change in listed}
    assert judged.judged > 50 and {"flapping", "anomaly"} <= reasons
    assert judged.differing == []
