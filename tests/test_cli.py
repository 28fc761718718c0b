"""The command line as a user meets it: outputs, errors, and the offline demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from policywatch.wording import close_names
from store.db import open_store
from store.repository import Attempt, DocumentInfo
from tests.alerting import OPENAI, WHATSAPP, History
from tests.conftest import FAST, Home, spawn
from tests.receivers import Webhook, free_port
from tests.site import Site

CHANGE_FIELDS = {
    "id",
    "key",
    "service",
    "document_type",
    "url",
    "detected_at",
    "from_version",
    "to_version",
    "meaningful",
    "reason",
    "severity",
    "categories",
    "summary",
    "added",
    "removed",
    "changed",
    "matches",
    "excerpts",
    "effective_date",
    "redeclared",
    "rejudged_at",
    "reverted",
}
SHOW_FIELDS = {"compared_with", "skipped", "diff"}  # `show --json`'s, beside CHANGE_FIELDS
DOCUMENT_FIELDS = {
    "key",
    "service",
    "document_type",
    "url",
    "versions",
    "last_checked",
    "last_changed",
    "issue",
    "last_meaningful_change",
    "failed_deliveries",
}


def test_a_crawl_outside_a_terminal_leaves_stderr_empty(home: Home, site: Site) -> None:
    """The progress bar, shown to no one in cron or a journal, left an empty line on stderr at
    its end: cron mailed every run, which was to mail only errors."""
    site.html("/t", "<html><body><main><p>One.</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    fast = [arg for arg in FAST if arg != "--quiet"]
    crawled = home.run("crawl", "--catalog", str(catalog), "--only", "testsite", *fast)
    assert crawled.code == 0 and crawled.stderr == "", crawled
    assert "Crawl summary" in crawled.stdout
    previewed = home.run("catalog", "preview", "testsite/terms", "--catalog", str(catalog), *fast)
    assert previewed.code == 0 and not previewed.stderr.startswith("\n"), previewed


def test_the_crawl_summary_reads_whole_on_a_narrow_terminal(home: Home, site: Site) -> None:
    """Below about 55 columns the counts' headers were cut (`che… unc… cha…`), and beside a
    long key a change's summary or a fetch's failure was not shown at all: each table that
    does not fit is now laid out one row (or count) a line, keys whole."""
    long_type = "Developer Program License Agreement for Apps"
    site.html("/t", "<html><body><main><p>One.</p></main></body></html>")
    catalog = home.catalog(
        [
            {"type": long_type, "url": site.url("/t"), "select": "main"},
            {"type": f"Retired {long_type}", "url": site.url("/gone"), "select": "main"},
        ]
    )
    home.crawl(catalog)
    ban = "We may terminate your account at any time without notice."
    site.html("/t", f"<html><body><main><p>One.</p><p>{ban}</p></main></body></html>")
    fast = [arg for arg in FAST if arg != "--quiet"]  # the summary, as a terminal shows it
    crawl = ("crawl", "--catalog", str(catalog), "--only", "testsite", "--all", *fast)

    narrow = home.run(*crawl, columns=40)

    [change] = home.run("history", "--json").json()
    lines = narrow.stdout.splitlines()
    assert "…" not in narrow.stdout, narrow.stdout
    for count in ("checked", "unchanged", "changed", "new", "failed", "not due"):
        assert any(line.split("│")[0].strip() == count for line in lines), narrow.stdout
    assert f"{change['id']}  testsite/developer-program-license-agreement-for-apps" in lines
    assert "testsite/retired-developer-program-license-agreement-for-apps" in lines
    assert change["summary"] in " ".join(narrow.stdout.split())
    assert "HTTP 404" in " ".join(narrow.stdout.split())
    wide = home.run(*crawl, columns=120)  # as it was: tables
    assert "checked ┃ unchanged ┃ changed" in wide.stdout, wide.stdout


def test_json_outputs_keep_their_documented_fields(home: Home, site: Site) -> None:
    site.html("/t", "<html><body><main><p>One.</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    site.html("/t", "<html><body><main><p>One.</p><p>Two.</p></main></body></html>")
    home.crawl(catalog)
    [document] = home.run("documents", "--json").json()
    assert set(document) == DOCUMENT_FIELDS
    [change] = home.run("history", "--json").json()
    assert set(change) == CHANGE_FIELDS
    assert set(home.run("show", str(change["id"]), "--json").json()) == CHANGE_FIELDS | SHOW_FIELDS
    table = home.run("history")
    assert "testsite/terms" in table.stdout and str(change["id"]) in table.stdout


def test_history_and_show_give_a_match_its_title_filled(home: Home, site: Site) -> None:
    """The stored match names the product, as the summary does, not "{target}"."""
    site.html("/t", "<html><body><main><p>One.</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    ban = "AI Providers are prohibited from accessing or using the WhatsApp Business Solution."
    site.html("/t", f"<html><body><main><p>One.</p><p>{ban}</p></main></body></html>")
    home.crawl(catalog)
    [change] = home.run("history", "--json").json()
    shown = home.run("show", str(change["id"]), "--json").json()
    title = "AI providers barred from the WhatsApp Business Solution"
    assert {match["title"] for match in change["matches"]} >= {title}
    assert not any("{" in match["title"] for match in change["matches"] + shown["matches"])


def test_show_and_history_give_a_reworded_sentence_its_old_wording(home: Home, site: Site) -> None:
    """A lowered limit quoted in its new wording only hid the old value."""
    old = "Each business account may send up to 1,000 messages per second."
    new = old.replace("1,000", "100")
    site.html("/t", f"<html><body><main><p>One.</p><p>{old}</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    site.html("/t", f"<html><body><main><p>One.</p><p>{new}</p></main></body></html>")
    home.crawl(catalog)
    [change] = home.run("history", "--json").json()
    [match] = change["matches"]
    assert (match["side"], match["sentence"], match["before"]) == ("changed", new, old)
    assert f"was: {old}" in home.run("show", str(change["id"]), columns=200).stdout


def test_history_and_show_say_when_the_page_has_since_undone_a_change(
    home: Home, site: Site
) -> None:
    """The timeline and the API marked it; the command line gave a clause withdrawn a week
    later as the page's last word."""
    before = "<html><body><main><p>One.</p><p>Be kind.</p></main></body></html>"
    ban = "<p>We may terminate your account at any time without notice.</p>"
    site.html("/t", before)
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    site.html("/t", before.replace("</main>", f"{ban}</main>"))
    home.crawl(catalog)
    site.html("/t", before)
    home.crawl(catalog)
    undo, change = home.run("history", "--all", "--json").json()
    assert change["reverted"]["change_id"] == undo["id"]
    day = undo["detected_at"][:10]
    listed = home.run("history", columns=200).stdout
    assert f"(reverted {day} by change {undo['id']})" in listed
    shown = home.run("show", str(change["id"]), columns=200).stdout
    assert f"Reverted: since change {undo['id']}, {day}" in shown
    assert "Reverted" not in home.run("show", str(undo["id"]), columns=200).stdout  # noise


def test_show_diffs_a_change_after_a_broken_capture_from_the_text_it_was_judged_on(
    home: Home,
) -> None:
    """After a capture judged an anomaly, the next version is judged against the last sound
    one, as the web page shows it; `show` diffed it from the broken text and did not say so."""
    history = History(home.db)
    broken = history.change(meaningful=False, noise="anomaly", text="Redirecting to whatsapp.com")
    restored = history.change()
    shown = home.run("show", str(restored), columns=200).stdout
    said = (
        "Compared with version 1, the last capture that read right: version 2 (change"
        f" {broken}) was a broken capture, passed over in judging this change."
    )
    assert said in " ".join(shown.split()), shown
    assert "Redirecting" not in shown
    data = home.run("show", str(restored), "--json").json()
    [version] = [
        row for row in home.run("history", "--all", "--json").json() if row["id"] == broken
    ]
    assert data["skipped"] == [{"change_id": broken, "version": version["to_version"], "seq": 2}]
    assert data["compared_with"] == version["from_version"]
    assert "Redirecting" not in data["diff"] and "-Version 0 of whatsapp" in data["diff"]
    sound = home.run("show", str(broken), "--json").json()  # judged against its from_version
    assert sound["skipped"] == [] and sound["compared_with"] == sound["from_version"]
    assert "Compared with" not in home.run("show", str(broken), columns=200).stdout


def test_a_reworded_sentence_two_rules_read_apart_is_quoted_once(
    home: Home, site: Site, hook: Webhook
) -> None:
    """One rule read "without notice" as words added, another the sentence as reworded: the
    alert and `show` quoted the sentence twice, each time with its old wording."""
    old = "We may suspend or terminate your access if you breach these terms."
    new = old.replace("access if", "access at any time and without notice if")
    site.html("/t", f"<html><body><main><p>One.</p><p>{old}</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    home.run("subscribe", hook.url(), "--name", "hooky")
    site.html("/t", f"<html><body><main><p>One.</p><p>{new}</p></main></body></html>")
    home.crawl(catalog)
    [change] = home.run("history", "--json").json()
    assert len({match["rule_id"] for match in change["matches"]}) > 1, change["matches"]
    [alert] = hook.posts
    quoted = "your access {+at any time and without notice+} if"  # marked in place
    assert alert["message"].count(quoted) == 1, alert["message"]
    assert home.run("show", str(change["id"]), columns=300).stdout.count(f"was: {old}") == 1


def test_a_worker_without_redis_names_every_way_to_give_it(home: Home) -> None:
    """The error named --redis and POLICYWATCH_REDIS, not the config file's `redis`, the way
    the README's worker service is set up."""
    refused = home.run("worker")
    assert refused.code == 2
    said = " ".join(refused.stderr.split())
    assert "--redis URL" in said and "POLICYWATCH_REDIS" in said and "redis = " in said, said


def test_history_filters(home: Home, site: Site) -> None:
    site.html("/t", "<html><body><p>One.</p></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    home.crawl(catalog)
    site.html("/t", "<html><body><p>Two.</p></body></html>")
    home.crawl(catalog)
    assert len(home.run("history", "--service", "TESTSITE", "--json").json()) == 1
    assert home.run("history", "--service", "other", "--json").code == 2  # nothing tracked
    assert home.run("history", "--since", "2999-01-01", "--json").json() == []
    assert home.run("history", "--document", "testsite/terms", "--json").json()[0]["id"] == 1
    bad = home.run("history", "--min-severity", "apocalyptic")
    assert bad.code == 2 and "--min-severity must be one of" in bad.stderr
    assert home.run("history", "--since", "yesterday").code == 2


def test_history_takes_min_severity_in_any_case(home: Home) -> None:
    history = History(home.db)
    history.change(severity="low", summary="Wording tidied")
    history.change(severity="critical", summary="AI providers barred")
    [change] = home.run("history", "--min-severity", "HIGH", "--json").json()
    assert change["summary"] == "AI providers barred"
    assert len(home.run("history", "--min-severity", "Low", "--json").json()) == 2


def test_unknown_change_and_unusable_database_are_clear_errors(home: Home) -> None:
    open_store(home.db).dispose()
    missing = home.run("show", "42")
    assert missing.code == 2 and "no change with id 42" in missing.stderr
    bad = home.run("documents", "--db", "postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert bad.code == 2 and "cannot open the store" in bad.stderr
    assert "secret" not in bad.stderr and "Traceback" not in bad.stderr
    # The driver's words, not SQLAlchemy's wrapping of them in a class name and a link.
    assert "port 1 failed" in bad.stderr and "sqlalche.me" not in bad.stderr
    assert "OperationalError" not in bad.stderr
    # One line, though libpq words a refused connection on two ("Is the server running …").
    assert len(bad.stderr.splitlines()) == 1 and "Is the server running" in bad.stderr, bad


def test_empty_store_says_what_to_do(home: Home) -> None:
    """A sentence, not the head of an empty table."""
    open_store(home.db).dispose()
    documents = home.run("documents")
    assert documents.stdout.strip() == "Nothing tracked yet: run policywatch crawl.", documents
    changes = home.run("history")
    assert changes.stdout.strip() == "No changes recorded (yet) for this selection.", changes


def test_demo_shows_the_whole_loop_offline(home: Home) -> None:
    result = home.run("demo", timeout=180)
    assert result.code == 0, result.stderr
    assert "policywatch crawl" in result.stdout
    assert "AI Providers" in result.stdout
    assert "chatterbox/business-solution-terms" in result.stdout
    # The alert, as the demo's webhook received it: once, with the clause once, and its date ahead.
    title = "[CRITICAL] Chatterbox · Business Solution Terms — AI providers barred"
    assert result.stdout.count(title) == 1
    assert "(in 60 days)" in result.stdout
    assert result.stdout.count("(ai-restriction, api-access; critical)") == 1
    # What comes next: the clause, 60 days ahead, as `upcoming` lists it.
    upcoming = result.stdout.split("6. What takes effect next")[1]
    assert "60 days left" in upcoming and "chatterbox/business-solution-terms" in upcoming


def test_demo_keeps_its_store_to_review_when_asked(home: Home) -> None:
    """The demo deleted everything, so whoever tried it never saw the review web page; with
    `--keep DIR` its store is there to serve, and the command that does it is printed whole."""
    kept = home.path / "demo"
    (kept / "notes.txt").parent.mkdir()
    (kept / "notes.txt").write_text("mine")
    refused = home.run("demo", "--keep", str(kept))
    assert refused.code == 2 and "not an empty folder" in refused.stderr
    assert [path.name for path in kept.iterdir()] == ["notes.txt"]
    a_file = home.run("demo", "--keep", str(kept / "notes.txt"))  # the store's name, say
    assert a_file.code == 2 and a_file.stderr == (
        f"error: {kept / 'notes.txt'} is a file: the demo keeps its files in a folder, new or"
        " empty\n"
    ), a_file
    kept = home.path / "new" / "demo"
    result = home.run("demo", "--keep", str(kept), timeout=180, columns=60)
    assert result.code == 0, result.stderr
    db = f"sqlite:///{kept / 'demo.sqlite3'}"
    assert f"policywatch serve --db {db}\n" in result.stdout
    # The store's migration lock was left there: demo.sqlite3.migrate.lock
    assert sorted(path.name for path in kept.iterdir()) == [
        "chatterbox.yaml",
        "demo.sqlite3",
        "site",
    ]
    [change] = home.run("history", "--db", db, "--json").json()
    assert (
        change["key"] == "chatterbox/business-solution-terms" and change["severity"] == "critical"
    )


def test_commands_that_do_not_crawl_start_without_scrapy_or_the_diff_engine() -> None:
    """`policywatch --help`, `history` or `documents` must not pay for Scrapy and Twisted, the
    diff engine, Apprise, Alembic or the demo (about half a second of start-up): they load with
    the commands that use them."""
    heavy = [
        "scrapy",
        "twisted",
        "diffengine",
        "deepdiff",
        "apprise",
        "alembic",
        "crawlers.runner",
        "policywatch.demo",
    ]
    probe = "import json, sys, policywatch.cli; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert [module for module in heavy if module in json.loads(run.stdout)] == []


def test_the_command_list_gives_each_command_its_one_line_summary(home: Home) -> None:
    """The notes after a docstring's `\\f` are for the source's reader: the command list shows the
    first paragraph, so a summary line not followed by a blank line took them along."""
    result = home.run("--help")
    assert result.code == 0, result.stderr
    panel = result.stdout.split("Commands")[1].splitlines()[1:]
    rows = [line.strip("│ ") for line in panel if line.startswith("│")]
    names = [row.split()[0] for row in rows]
    assert len(rows) == len(set(names)) > 10, rows
    assert not any("crawlers/" in row for row in rows)
    # Each subcommand of `subscriptions` is named in its summary (`remind` was left out).
    said = " ".join(" ".join(panel).split("│ subscriptions", 1)[1].replace("│", " ").split())
    for verb in ("list", "remove", "pause", "resume", "edit", "reminders", "test"):
        assert verb in said, said


def test_text_in_brackets_is_printed_as_it_is(home: Home) -> None:
    """Summaries quote policy text, where Markdown links abound; names and inputs are the user's.
    Read as rich markup, `[here]` vanished and `[b]` turned bold, or a stray `[/x]` crashed."""
    summary = "Links the [Privacy Policy](https://example.com/p) from [here]; [b]no[/b] [/x]"
    History(home.db).change(summary=summary)
    assert summary in home.run("history").stdout
    assert summary in home.run("show", "1").stdout

    bad = home.run("history", "--since", "[b]soon[/b]")
    assert bad.code == 2 and "--since '[b]soon[/b]' is not an ISO date" in bad.stderr

    hook = Webhook()  # its URL only: nothing is sent
    assert home.run("subscribe", hook.url(), "--name", "ops[x]").code == 0
    listed = home.run("subscriptions", "list").stdout
    assert "ops[x]" in listed
    assert home.run("subscriptions", "remove", "ops[x]").stdout.strip() == "Removed ops[x]."


def test_history_in_a_terminal_of_80_columns_keeps_every_word(home: Home) -> None:
    """The summary wraps to the width; it was cropped, and words went missing. The key stays
    whole: a table folded it mid-word."""
    summary = "AI providers barred from the platform; API access restricted; effective 2027-01-15"
    History(home.db).change(summary=summary)
    table = home.run("history", columns=80)
    assert table.code == 0, table.stderr
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    printed = table.stdout.split()
    assert [word for word in summary.split() if word not in printed] == []
    assert "whatsapp/business-solution-terms" in printed


@pytest.mark.parametrize("columns", [80, 200])
def test_output_written_to_a_pipe_ends_no_line_with_spaces(home: Home, columns: int) -> None:
    """Rich pads each line of a table, and of text wrapped in one, to the table's width: a file
    or a pipe kept those spaces, which `diff`, `grep ' $'` and a reviewer's editor all show."""
    History(home.db).change(summary="AI providers barred from the platform; API access restricted")
    for command in (["documents"], ["history"], ["catalog", "list"], ["show", "1"]):
        result = home.run(*command, columns=columns)
        assert result.code == 0, result.stderr
        padded = [line for line in result.stdout.splitlines() if line != line.rstrip()]
        assert padded == [], (command, padded)


def test_history_in_80_columns_writes_lines_a_file_keeps_as_they_are(home: Home) -> None:
    """Listed as a grid, every line was padded with spaces to the grid's width, in a file and
    through `less` too; and the grid measured each of its cells before drawing one, which made
    `history --limit 0` of 2,000 changes take twice as long as it does as lines."""
    history = History(home.db)
    history.change(summary="AI providers barred")
    history.change(OPENAI, summary="Scraping banned")
    listed = home.run("history", columns=80)
    assert listed.code == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "2 " + _today() + "  critical  openai/usage-policies",
        "  Scraping banned",
        "1 " + _today() + "  critical  whatsapp/business-solution-terms",
        "  AI providers barred",
    ]


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def test_history_and_show_count_the_days_left_when_they_are_shown(home: Home) -> None:
    """The stored summary holds the date; the days left are counted today, not the day it was
    found."""
    soon = datetime.now(UTC).date() + timedelta(days=12)
    summary = f"AI providers barred; effective {soon.isoformat()}"
    History(home.db).change(summary=summary, effective=soon)
    assert f"{summary} (12 days left)" in home.run("history", columns=200).stdout
    assert f"{summary} (12 days left)" in home.run("show", "1").stdout
    assert home.run("history", "--json").json()[0]["summary"] == summary


def test_crawl_counts_the_days_left_of_the_changes_it_found(home: Home, site: Site) -> None:
    """Right after a crawl is when a reviewer most needs the deadline, in its Changes table."""
    site.html("/t", "<html><body><main><p>You may use the API.</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    soon = datetime.now(UTC).date() + timedelta(days=30)
    clause = f"AI providers may not use the API. This section takes effect on {soon:%B %d, %Y}."
    site.html(
        "/t", f"<html><body><main><p>You may use the API.</p><p>{clause}</p></main></body></html>"
    )
    crawled = home.crawl(catalog)
    assert crawled.code == 0, crawled.stderr
    assert f"effective {soon.isoformat()} (30 days left)" in crawled.stdout
    site.html("/t", "<html><body><main><p>You may use the API.</p></main></body></html>")
    [outcome] = home.crawl(catalog, "--json").json()
    assert set(outcome) == {"key", "outcome", "detail", "change_id", "effective_date"}
    assert outcome["outcome"] == "changed" and outcome["effective_date"] is None


def test_crawl_tables_in_80_columns_never_cut_a_key_short(home: Home, site: Site) -> None:
    """The Changes and Failed fetches tables folded a key mid-word at 80 columns
    (`chatterbox/business-solution-term` / `s`, in the demo itself): what `show`, `--only` and
    the web's addresses take could not be copied."""
    page = "<html><body><main><p>You may use the API.{}</p></main></body></html>"
    site.html("/t", page.format(""))
    catalog = home.catalog(
        [
            {"type": "Business Solution Terms of Service", "url": site.url("/t"), "select": "main"},
            {"type": "Developer Services Agreement Addendum", "url": site.url("/gone")},
        ]
    )
    home.crawl(catalog)
    clause = (
        " Providers of general-purpose AI assistants and large language models are prohibited"
        " from using the Business API. This section is effective January 15, 2027."
    )
    site.html("/t", page.format(clause))
    crawled = home.run(
        "crawl", "--catalog", str(catalog), "--only", "testsite", "--all", *FAST, columns=80
    )
    assert crawled.code == 0, crawled.stderr
    words = crawled.stdout.split()
    assert "testsite/business-solution-terms-of-service" in words
    assert "testsite/developer-services-agreement-addendum" in words
    assert max(len(line) for line in crawled.stdout.splitlines()) <= 80


def test_documents_gives_each_document_one_line_however_long_its_fetch_issue(home: Home) -> None:
    """A narrow terminal cut the reason into a column a word wide: seven lines a document."""
    short = DocumentInfo("x/terms", "X", "Terms", "https://x.example/terms")
    history = History(home.db, documents=[short])
    reason = "DNS lookup failed: no results for hostname lookup: developer.amazon.com."
    history.repo.record_issue(short.key, Attempt(short.url), "dns-error", reason)
    table = home.run("documents", columns=80)
    assert table.code == 0, table.stderr
    key, details = table.stdout.splitlines()[:2]
    assert key.strip() == "x/terms" and "dns-error ×1: DNS" in details
    assert details.rstrip().endswith("…") and len(details) <= 80  # one line, cut
    assert "1 of 1 documents cannot be fetched" in table.stdout
    assert home.run("documents", "--json").json()[0]["issue"]["detail"] == reason
    assert reason in home.run("documents", columns=200).stdout


def test_documents_in_a_terminal_of_80_columns_never_cut_a_key_short(home: Home) -> None:
    """A key is what `crawl --only` and the web's addresses take: whole on a line of its own; a
    table folded it mid-word (`amazon-appstore/d` / `eveloper-services` / `-agreement`)."""
    long = DocumentInfo(
        "amazon-appstore/developer-services-agreement",
        "Amazon Appstore",
        "Developer Services Agreement",
        "https://developer.amazon.com/support/legal/da",
    )
    history = History(home.db, documents=[long])
    history.repo.record_issue(long.key, Attempt(long.url), "dns-error", "no such host " * 8)
    table = home.run("documents", columns=80)
    assert table.code == 0, table.stderr
    assert long.key in [line.strip() for line in table.stdout.splitlines()]
    # Lines as they are, in a file or through `less`: a grid padded each to its width.
    listing = table.stdout.partition("1 of 1 documents cannot be fetched")[0].splitlines()
    assert [line for line in listing if line != line.rstrip()] == []
    wide = home.run("documents", columns=120).stdout
    assert f" {long.key} " in wide and "│" in wide  # a table again, the key whole


def test_documents_show_the_last_meaningful_change_not_the_latest_flap(home: Home) -> None:
    """Instagram's terms flapped on to 2026-08-21, judged noise: that stood as their last
    change, not 2026-07-28, when they last changed in earnest."""
    history = History(home.db, documents=[WHATSAPP])
    history.change(at=datetime(2026, 7, 28, 9, 30, tzinfo=UTC))
    history.change(at=datetime(2026, 8, 21, 9, 30, tzinfo=UTC), meaningful=False)
    listed = home.run("documents", columns=80).stdout
    assert "checked 2026-08-21 · meaningful change 2026-07-28" in listed  # the flap was checked
    assert max(len(line) for line in listed.splitlines()) <= 80
    wide = home.run("documents", columns=200).stdout
    assert "┃ last meaningful change ┃" in wide
    assert "│ 2026-08-21 09:30 │ 2026-07-28 09:30 " in wide
    [row] = home.run("documents", "--json").json()
    assert row["last_changed"].startswith("2026-08-21")  # --json keeps the latest flap apart


@pytest.mark.parametrize(
    "command", [["documents"], ["history"], ["show", "1"], ["serve"], ["notify"]]
)
def test_reading_a_store_that_does_not_exist_creates_nothing(
    home: Home, tmp_path: Path, command: list[str]
) -> None:
    """A mistyped --db is said to be missing, not silently made (with its folders)."""
    missing = tmp_path / "typo" / "store.sqlite3"
    result = home.run(*command, "--db", f"sqlite:///{missing}")
    assert result.code == 2 and f"no store at {missing}" in result.stderr, result
    assert "policywatch crawl" in result.stderr and "Traceback" not in result.stderr
    assert not missing.parent.exists()


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("store.sqlite3", "write sqlite:///"),
        # Not `sqlite:////CWD/sqlite:/srv/…`: the scheme is no part of the path.
        ("sqlite:/srv/pw/store.sqlite3", "for a SQLite file write sqlite:////srv/pw/store.sqlite3"),
        ("not a url at all", "not a database URL"),
        ("mysql://root@127.0.0.1/db", "SQLite or PostgreSQL, not mysql"),
    ],
)
def test_a_bad_store_url_is_a_clear_error(home: Home, given: str, said: str) -> None:
    for result in (home.run("documents", "--db", given), Home(home.path, given).run("documents")):
        assert result.code == 2 and said in result.stderr, result
        assert "Traceback" not in result.stderr


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` (a file, or a folder: nothing made in it) unwritable, even to root, who writes
    any file whatever its mode: it is then made immutable, as on read-only media."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:  # a file system without the flag (tmpfs), chattr missing
        pytest.skip(f"cannot make {path} read-only to root: {made.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_store_that_cannot_be_written_is_refused_before_any_work(home: Home) -> None:
    """A read-only store (another user's, a backup's) failed at its first write: `subscribe`
    with a traceback, `crawl` with every document "not reached" and exit 3, as if no site
    answered. A command that writes is refused at once, saying why; one that reads reads it."""
    history = History(home.db)
    history.change(OPENAI, summary="Scraping banned")
    store = Path(home.db.removeprefix("sqlite:///"))
    catalog = home.catalog([{"type": "Terms", "url": "http://127.0.0.1:9/terms"}])
    writers = [
        ["subscribe", "json://127.0.0.1:9/hook", "--name", "hook"],
        ["crawl", "--catalog", str(catalog), "--all", *FAST],
        ["run", "--catalog", str(catalog), "--all", *FAST],
        ["notify"],
        ["rejudge"],
    ]
    with read_only(store):
        for command in writers:
            refused = home.run(*command)
            assert refused.code == 2, (command, refused)
            assert refused.stderr == (
                f"error: cannot write the store {home.db}: the file {store} is read-only to this"
                " user\n"
            ), (command, refused.stderr)
        read = home.run("history", "--json")
        assert read.code == 0 and read.json()[0]["summary"] == "Scraping banned", read
        text = home.run("text", read.json()[0]["key"])
        assert text.code == 0 and text.stdout, text
        assert home.run("rejudge", "--dry-run").code == 0
    with read_only(store.parent):
        refused = home.run("subscribe", "json://127.0.0.1:9/hook", "--name", "hook")
        assert refused.code == 2 and f"its folder {store.parent} is read-only" in refused.stderr
        assert "Traceback" not in refused.stderr, refused.stderr


def test_a_store_url_naming_a_folder_says_so(home: Home, tmp_path: Path) -> None:
    """SQLite says only "unable to open database file" of a folder."""
    for command in (["documents"], ["subscribe", "json://127.0.0.1:9/hook"]):
        result = home.run(*command, "--db", f"sqlite:///{tmp_path}")
        assert result.code == 2 and result.stderr == (
            f"error: {tmp_path} is a folder, not a store: name a file in it, such as"
            f" sqlite:///{tmp_path}/policywatch.sqlite3\n"
        ), result


@pytest.mark.parametrize("given", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_a_store_in_memory_is_refused(home: Home, given: str) -> None:
    """SQLite keeps a store named by no file in memory: `subscribe` said "Subscribed", a crawl
    its summary, and all was gone as the command ended. `sqlite:///$DIR/…` with `DIR` unset in
    a unit file or a script is `sqlite:///`, one such."""
    for command in (["subscribe", "json://127.0.0.1:9/hook"], ["documents"]):
        result = home.run(*command, "--db", given)
        assert result.code == 2 and result.stderr == (
            f"error: {given} names no file: SQLite would keep the store in memory, lost as the"
            " command ends; write sqlite:///PATH\n"
        ), result


def test_a_missing_store_of_the_settings_says_where_it_is_named(home: Home) -> None:
    """`no store at PATH … name another store with --db or POLICYWATCH_DB`, of a path the
    config file named, sent its user to crawl into that new, empty store, a mistyped path."""
    missing = home.path / "polcywatch.sqlite3"
    config = home.path / "config.toml"
    config.write_text(f'db = "sqlite:///{missing}"\n')
    env = {k: v for k, v in home.env().items() if k != "POLICYWATCH_DB"}
    elsewhere = home.path / "elsewhere.sqlite3"
    for environment, path, where in (
        (env, missing, str(config)),
        ({**env, "POLICYWATCH_DB": f"sqlite:///{elsewhere}"}, elsewhere, "POLICYWATCH_DB"),
    ):
        done = spawn(["history"], environment, home.path)
        assert done.code == 2, done
        assert done.stderr == (
            f"error: no store at {path} (in {where}): nothing has been crawled or imported there"
            " yet (run policywatch crawl, or name another store with --db, POLICYWATCH_DB or the"
            " config file's db)\n"
        )
    given = spawn(["history", "--db", f"sqlite:///{missing}"], env, home.path)
    assert given.stderr.startswith(f"error: no store at {missing}: "), given.stderr


def test_a_sqlite_store_under_a_tilde_is_in_the_home_folder(home: Home) -> None:
    """`db = "sqlite:///~/policywatch.sqlite3"` (the config file's `catalog` takes `~` as the
    home folder) made a folder named `~` wherever the command ran, cron's one in the home
    folder: `~/~/policywatch.sqlite3`, a store each working folder had its own of."""
    user = home.path / "user"
    user.mkdir()
    (home.path / "config.toml").write_text('db = "sqlite:///~/policywatch.sqlite3"\n')
    env = {k: v for k, v in home.env().items() if k != "POLICYWATCH_DB"} | {"HOME": str(user)}
    made = spawn(["subscribe", "json://127.0.0.1:9/hook", "--name", "hook"], env, home.path)
    assert made.code == 0, made
    assert (user / "policywatch.sqlite3").is_file() and not (home.path / "~").exists()
    given = {**env, "POLICYWATCH_CONFIG": str(home.path / "none.toml")}
    listed = spawn(
        ["subscriptions", "list", "--db", "sqlite:///~/policywatch.sqlite3"], given, user
    )
    assert listed.code == 0 and "hook" in listed.stdout, listed


def test_postgres_scheme_is_taken_as_postgresql(home: Home) -> None:
    result = home.run("documents", "--db", "postgres://nobody:secret@127.0.0.1:1/none")
    assert result.code == 2 and "postgresql+psycopg://nobody:***@127.0.0.1:1/none" in result.stderr
    assert "secret" not in result.stderr


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://nobody@127.0.0.1:1/none?password=hunter2",  # as libpq takes it too
        "postgresql://nobody:hunter2@127.0.0.1:port/none",  # a port that is no number
        "postgresql://nobody:hunter2@[::1/none",
        "postgresql ://nobody:hunter2@127.0.0.1/none",
    ],
)
def test_a_store_password_is_never_printed(home: Home, given: str) -> None:
    result = home.run("documents", "--db", given)
    assert result.code == 2 and "Traceback" not in result.stderr, result
    assert "hunter2" not in result.stdout + result.stderr, result
    if "?password=" in given:
        assert "postgresql+psycopg://nobody@127.0.0.1:1/none?password=***" in result.stderr


def test_a_broken_store_url_of_the_config_file_says_where_it_is(home: Home) -> None:
    """A command given no --db said "the URL given is not a database URL": given where?"""
    config = home.path / "config.toml"
    config.write_text('db = "postgresql://nobody:hunter2@127.0.0.1:port/none"\n')
    env = {k: v for k, v in home.env().items() if k != "POLICYWATCH_DB"}
    done = spawn(["documents"], env, home.path, timeout=60)
    assert done.code == 2 and "hunter2" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: the URL given is not a database URL")
    assert done.stderr.endswith(f"(in {config})\n"), done.stderr
    elsewhere = {**env, "POLICYWATCH_DB": str(home.path / "x.sqlite3")}
    done = spawn(["documents"], elsewhere, home.path, timeout=60)
    assert done.code == 2 and done.stderr.endswith(" (in POLICYWATCH_DB)\n"), done.stderr


def test_a_bad_value_of_an_options_variable_names_the_variable(home: Home) -> None:
    """POLICYWATCH_MAX_ATTEMPTS=abc was said as "--max-attempts: 'abc' is not a whole number"
    to a command given no --max-attempts: the user looked for an option never typed."""
    open_store(home.db).dispose()
    bad = {**home.env(), "POLICYWATCH_MAX_ATTEMPTS": "abc"}
    done = spawn(["notify"], bad, home.path, timeout=60)
    assert done.code == 2, done.stderr
    assert done.stderr.splitlines()[0] == (
        "error: POLICYWATCH_MAX_ATTEMPTS (for --max-attempts): 'abc' is not a whole number"
    )


def test_a_catalog_path_of_the_settings_that_is_not_there_says_where_it_is_set(
    home: Home,
) -> None:
    """A crawl from cron said "catalog /srv/policies: no such file or folder" of a path on no
    command line: the config file or POLICYWATCH_CATALOG was where to look."""
    (home.path / "config.toml").write_text(f'catalog = ["{home.path / "gone"}"]\n')
    result = home.run("catalog", "list")
    assert result.code == 2 and result.stderr == (
        f"error: catalog {home.path / 'gone'}: no such file or folder"
        f" (in {home.path / 'config.toml'})\n"
    ), result
    given = home.run("crawl", "--catalog", str(home.path / "typo"))
    assert given.code == 2 and given.stderr.startswith(
        f"error: catalog {home.path / 'typo'}: no such file or folder; catalog"
    ), given


def test_an_empty_catalog_says_why_and_how_to_fill_it(home: Home) -> None:
    """With the bundled catalog off and no file of one's own, `catalog list` printed a table
    titled "0 documents tracked" above a hint about its columns, and `crawl` offered a choice
    of causes ("the catalog is empty … or every entry is broken") and no way out."""
    (home.path / "config.toml").write_text("bundled_catalog = false\n")
    why = (
        "the bundled catalog is off (bundled_catalog = false) and no declaration of yours"
        " loaded; give yours with --catalog PATH, or catalog = [...] in the config file"
    )
    listed = home.run("catalog", "list")
    assert listed.code == 0 and " ".join(listed.stdout.split()) == f"No document is tracked: {why}."
    crawled = home.run("crawl")
    assert crawled.code == 2 and crawled.stderr == f"error: no document to crawl: {why}\n"


def test_a_name_of_intervals_that_paces_nothing_is_a_warning_not_a_skip(home: Home) -> None:
    """It was said as "skipped: …", the word of a broken entry left out of the crawl, where
    nothing was left out: the setting's name paces nothing, and every document is crawled."""
    (home.path / "config.toml").write_text('[intervals]\nwhatsap = "1h"\n')
    listed = home.run("catalog", "list", "--json")
    assert listed.code == 0 and len(listed.json()) > 100
    assert listed.stderr.startswith(
        f"warning: {home.path / 'config.toml'} · field intervals.whatsap: names no document key,"
    ), listed
    assert "skipped" not in listed.stderr


def test_an_empty_history_counts_the_noise_it_hides(home: Home) -> None:
    """A document whose every change was noise said "No changes", as if nothing had been seen."""
    history = History(home.db)
    for _ in range(2):
        history.change(WHATSAPP, meaningful=False, summary="Whitespace")
    history.change(OPENAI, meaningful=False, summary="Whitespace")
    both = home.run("history", "--document", "whatsapp/business-solution-terms")
    assert " ".join(both.stdout.split()) == (
        "No meaningful changes for this selection: 2 changes were judged noise (cosmetic) and"
        " hidden; --all shows them."
    ), both
    one = " ".join(home.run("history", "--service", "OpenAI").stdout.split())
    assert one.endswith(": 1 change was judged noise (cosmetic) and hidden; --all shows it.")
    history.change(OPENAI, meaningful=False, noise="flapping")
    mixed = " ".join(home.run("history").stdout.split())
    assert "4 changes were judged noise (3 cosmetic, 1 flapping) and hidden" in mixed
    assert len(home.run("history", "--all", "--json").json()) == 4
    assert home.run("history", "--since", "2999-01-01").stdout.strip() == (
        "No changes recorded (yet) for this selection."
    )


def test_history_says_when_it_shows_only_the_newest(home: Home) -> None:
    store = History(home.db)
    for n in range(3):
        store.change(summary=f"change {n}")
    store.change(meaningful=False, noise="cosmetic")  # counted with --all only
    two = home.run("history", "--limit", "2")
    assert "change 2" in two.stdout and "change 0" not in two.stdout
    assert "The 2 newest changes of 3; --limit 0 shows them all." in two.stdout
    with_noise = home.run("history", "--limit", "1", "--all").stdout
    assert "The newest change of 4; --limit 0 shows them all." in with_noise
    assert "newest" not in home.run("history", "--limit", "3").stdout
    every = home.run("history", "--limit", "0")
    assert all(f"change {n}" in every.stdout for n in range(3)) and "newest" not in every.stdout
    assert len(home.run("history", "--limit", "0", "--json").json()) == 3
    # A script reading --json is told on stderr, its stdout kept for the data: the default limit
    # of 50 silently cut what `history --json --since …` gave.
    cut = home.run("history", "--limit", "2", "--json")
    assert len(cut.json()) == 2 and cut.code == 0
    assert cut.stderr.strip() == "The 2 newest changes of 3; --limit 0 shows them all."
    assert home.run("history", "--limit", "3", "--json").stderr == ""
    assert home.run("history", "--limit", "-1").code == 2
    huge = home.run("history", "--limit", "99999999999999999999")
    assert huge.code == 2 and "not in the range 0 to 1000000000" in huge.stderr, huge.stderr


def test_a_name_of_several_words_is_meant_by_its_first() -> None:
    """`--service Acme` found nothing, and suggested nothing, with "Acme Messenger" tracked."""
    assert close_names("acme", ["Acme Messenger", "Zoom"]) == ["Acme Messenger"]
    assert close_names("Google", ["Google Play", "Gemini API"]) == ["Google Play"]
    assert close_names("messenger", ["Acme Messenger"]) == []  # the first word only
    assert close_names("acme", ["Acmecorp Messenger"]) == []  # a word, not the start of one


def test_history_filters_naming_nothing_tracked_are_errors(home: Home) -> None:
    History(home.db).change()
    service = home.run("history", "--service", "Whatsap")
    assert service.code == 2 and "no tracked document of service Whatsap" in service.stderr
    assert "(did you mean WhatsApp?)" in service.stderr
    document = home.run("history", "--document", "whatsapp/business-terms")
    assert document.code == 2 and "(did you mean whatsapp/business-solution-terms?)" in (
        document.stderr
    )
    # A word that shares letters with a tracked name ("nope", "openai") is no typo of it.
    nonsense = home.run("history", "--service", "nope")
    # Then where to look: the error said what was wrong, not what there is.
    assert nonsense.stderr == (
        "error: no tracked document of service nope: policywatch documents lists what is tracked\n"
    ), nonsense
    misspelt = home.run("history", "--document", "whatsap/terms")  # the service, misspelt
    assert "(the documents of WhatsApp: whatsapp/business-solution-terms)" in misspelt.stderr
    known = home.run("history", "--service", "openai", "--json")  # tracked, no change yet
    assert known.code == 0 and known.json() == []


@pytest.mark.parametrize(
    ("option", "typed"),
    [("--service", "nope (did you mean it?)"), ("--document", "x (the documents of y)")],
)
def test_a_filter_quoting_a_suggestions_words_is_still_told_where_to_look(
    home: Home, option: str, typed: str
) -> None:
    """Whether a name was offered was read from the words of the error, the user's included:
    a filter typed with "(did you mean" in it was told neither a name nor where to look."""
    History(home.db).change()
    result = home.run("history", option, typed)
    assert result.code == 2
    assert result.stderr.endswith(f" {typed}: policywatch documents lists what is tracked\n")


@pytest.mark.parametrize("command", ["history", "upcoming", "rejudge"])
def test_a_document_of_another_service_than_the_one_given_is_an_error(
    home: Home, command: str
) -> None:
    """Both filters together select nothing: that was an empty history, "No changes recorded
    (yet)", as if the document had never changed."""
    History(home.db).change()
    result = home.run(command, "--service", "openai", "--document", WHATSAPP.key)
    assert (result.code, result.stdout) == (2, ""), result
    assert result.stderr == (
        f"error: {WHATSAPP.key} is not a document of OpenAI (the documents of OpenAI:"
        f" {OPENAI.key})\n"
    )
    both = home.run(command, "--service", "WhatsApp", "--document", WHATSAPP.key)
    assert both.code == 0, both


def test_a_date_written_right_that_names_no_day_says_why(home: Home) -> None:
    """`--since 2025-02-30` was "not an ISO date such as 2026-01-15", of a date written just
    so: the day it names is what does not exist."""
    History(home.db).change()
    result = home.run("history", "--since", "2025-02-30")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: --since '2025-02-30' is not an ISO date such as 2026-01-15 (day is out of range"
        " for month)\n"
    )


def test_history_takes_a_service_by_its_slug(home: Home) -> None:
    acme = DocumentInfo("acme-messenger/terms", "Acme Messenger", "Terms", "https://acme.test")
    History(home.db, [acme, WHATSAPP]).change(acme, summary="Bots barred")
    result = home.run("history", "--service", "acme-messenger")
    assert result.code == 0 and "Bots barred" in result.stdout


def test_help_texts_read_as_sentences() -> None:
    """typer keeps a help paragraph's single line breaks: `policywatch --help` broke rejudge's line
    after "an edit of", `catalog validate`'s after "exit code 2 when"; and `notify --help` offered
    a `--no-retry-now` no other flag has, with its default spelt `[default: no-retry-now]`."""
    import inspect

    import typer.main

    from policywatch.cli import app

    def commands(group: Any, path: str) -> Iterator[tuple[str, Any]]:
        for name, command in getattr(group, "commands", {}).items():
            yield f"{path} {name}", command
            yield from commands(command, f"{path} {name}")

    broken = [
        name
        for name, command in commands(typer.main.get_command(app), "policywatch")
        for paragraph in inspect.cleandoc(command.help or "").partition("\f")[0].split("\n\n")
        if "\n" in paragraph.strip()
    ]
    assert broken == []
    assert "--no-retry-now" not in CliRunner().invoke(app, ["notify", "--help"]).output


def test_help_says_how_worker_crawl_and_run_stop_and_their_exit_codes() -> None:
    """An operator writing the unit files reads `--help`: the worker's said neither how it stops
    nor its exit codes, which `Restart=on-failure` acts on; crawl's and run's left out 143, a
    SIGTERM's, which `systemctl stop` sends."""
    from policywatch.cli import app

    def helped(command: str) -> str:
        """The command's help, its lines (wrapped at 80 columns whatever the width) joined."""
        return " ".join(CliRunner().invoke(app, [command, "--help"]).output.split())

    shown = helped("worker")
    assert "SIGTERM or Ctrl-C stops it" in shown
    assert "Exit codes: 0 stopped, 2 bad configuration, Redis or the store unusable" in shown
    for command in ("crawl", "run"):  # as systemd stops them: 143, which they left out
        stopped = "Stopped by Ctrl-C or SIGTERM, it records what was fetched and exits 130 or 143"
        assert stopped in helped(command)


def test_help_gives_flags_no_value_placeholder() -> None:
    """typer 0.29 labelled every flag with a value type, `--all <bool>`, `--help <bool>`, as if
    each wanted a value after it; the pin keeps the typer that shows a flag bare."""
    import typer.main

    from policywatch.cli import app

    def paths(group: Any, path: list[str]) -> Iterator[list[str]]:
        yield path
        for name, command in getattr(group, "commands", {}).items():
            yield from paths(command, [*path, name])

    runner = CliRunner()
    labelled = [
        " ".join(path)
        for path in paths(typer.main.get_command(app), [])
        if "<bool>" in runner.invoke(app, [*path, "--help"], terminal_width=100).output
    ]
    assert labelled == []


def test_version_is_the_installed_one(home: Home) -> None:
    from importlib.metadata import version

    result = home.run("--version")
    assert result.code == 0 and result.stdout.strip() == f"policywatch {version('policywatch')}"


@pytest.mark.parametrize("command", ["history", "documents"])
def test_tables_in_80_columns_give_the_day_alone(home: Home, command: str) -> None:
    at = datetime(2026, 3, 4, 5, 6, tzinfo=UTC)
    History(home.db).change(summary="narrow", at=at)
    assert "2026-03-04 05:06" in home.run(command).stdout
    narrow = home.run(command, columns=80).stdout
    assert "2026-03-04" in narrow and "05:06" not in narrow


def test_show_wants_a_number(home: Home) -> None:
    result = home.run("show", "abc")
    assert result.code == 2 and result.stderr.splitlines() == [
        "error: CHANGE_ID must be a number, not 'abc': `policywatch history` lists them"
    ]


@pytest.mark.parametrize(
    ("args", "said", "command"),
    [
        (
            ["history", "--limit", "-1"],
            "--limit: -1 is not in the range 0 to 1000000000",
            "policywatch history",
        ),
        (["upcoming", "--within", "-1"], "--within: -1 is not 0 or more", "policywatch upcoming"),
        (["history", "--bogus"], "no such option: --bogus", "policywatch history"),
        (
            ["history", "--limti", "3"],
            "no such option: --limti (did you mean --limit?)",
            "policywatch history",
        ),
        (["catalog", "nosuch"], "no such command 'nosuch'", "policywatch catalog"),
        (["histroy"], "no such command 'histroy' (did you mean history?)", "policywatch"),
        (["show"], "missing argument 'CHANGE_ID'", "policywatch show"),
        # An argument is named as its help and usage line name it, not by its name in the code.
        (
            ["subscriptions", "remind", "ops", "0"],
            "DAYS: 0 is not in the range 1 to 3650",
            "policywatch subscriptions remind",
        ),
        (
            ["subscriptions", "remind", "ops", "7", "x"],
            "DAYS: 'x' is not a whole number",
            "policywatch subscriptions remind",
        ),
        (
            ["history", "--limit", "abc"],
            "--limit: 'abc' is not a whole number",
            "policywatch history",
        ),
        # Click's parser says these of no command: the hint was left out.
        (["crawl", "--only"], "option '--only' requires an argument", "policywatch crawl"),
        (
            ["catalog", "preview", "x", "--set"],
            "option '--set' requires an argument",
            "policywatch catalog preview",
        ),
        (["history", "--all=yes"], "option '--all' does not take a value", "policywatch history"),
    ],
)
def test_usage_errors_are_one_line_as_every_other_error(
    home: Home, args: list[str], said: str, command: str
) -> None:
    """Click's own usage errors came under a usage line, in a box drawn across the terminal,
    where every other error is one `error:` line a script can grep."""
    result = home.run(*args)
    assert result.code == 2 and result.stdout == ""
    # The tests run `python -m policywatch`, which Click names the command as it was run.
    [error, hint] = result.stderr.replace("python -m policywatch", "policywatch").splitlines()
    assert error == f"error: {said}"
    assert hint == f"Try '{command} --help' for help."
    assert not set("╭│╰─") & set(result.stderr)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["import-history"], "{DIR}"),
        (["catalog", "show"], "{KEY}"),
        (["catalog", "import-ota"], "{FILE.json...}"),
        (["catalog", "validate"], "[PATH...]"),
        (["subscribe"], "[URL]"),
        (["subscriptions", "remind"], "{NAME} [DAYS...]"),
        *[
            (["subscriptions", verb], "{NAME}")
            for verb in ("remove", "pause", "resume", "edit", "test")
        ],
    ],
)
def test_arguments_are_named_as_the_readme_names_them(args: list[str], named: str) -> None:
    """`import-history` alone said "missing argument 'folder'", and its help `{folder}`, where
    the README (and `show`, `text`, `compare`) write its argument `DIR`; so did `catalog show`
    (`key`), `import-ota` (`files`) and `validate` (`[paths]...`); `subscribe` (`[url]`) and
    the `subscriptions` commands (`{name} [days]...`) too."""
    from policywatch.cli import app

    runner = CliRunner()
    usage = runner.invoke(app, [*args, "--help"], terminal_width=200).output.splitlines()[1]
    assert usage == f" Usage: policywatch {' '.join(args)} [OPTIONS] {named}"
    if required := re.match(r"{(\S+)}", named):
        missing = runner.invoke(app, args)
        assert f"error: missing argument '{required[1]}'" in missing.output


def test_import_history_of_a_folder_that_is_not_there_says_so(home: Home) -> None:
    """A mistyped folder was "snapshots is not a folder", as if it were a file."""
    (home.path / "notes.md").write_text("# notes\n")
    missing = home.run("import-history", "snapshots")
    assert (missing.code, missing.stderr) == (2, "error: snapshots: no such folder\n")
    a_file = home.run("import-history", "notes.md")
    assert (a_file.code, a_file.stderr) == (2, "error: notes.md is not a folder\n")


def test_a_url_click_quotes_back_is_said_by_its_scheme_alone(home: Home) -> None:
    """A second URL given to `subscribe` came back whole in Click's "unexpected extra argument",
    a Telegram bot's token with it."""
    result = home.run("subscribe", "json://127.0.0.1/hook", "tgram://123456789:AAH-s3cr3t/42")
    assert result.code == 2
    assert "got unexpected extra argument(s) (tgram://…)" in result.stderr, result.stderr
    assert "s3cr3t" not in result.stderr and "123456789" not in result.stderr
    wrong_kind = home.run("history", "--limit", "json://user:pa55word@example.com/hook")
    assert wrong_kind.code == 2 and "'json://…' is not" in wrong_kind.stderr, wrong_kind.stderr
    assert "pa55word" not in wrong_kind.stderr


def test_a_command_group_alone_still_prints_its_help(home: Home) -> None:
    result = home.run("catalog")
    assert result.code == 2 and "Usage:" in result.stdout and " catalog " in result.stdout
    assert "error:" not in result.stderr


def test_serve_refuses_a_port_out_of_range(home: Home) -> None:
    result = home.run("serve", "--port", "99999")
    assert result.code == 2 and "Traceback" not in result.stderr and "--port" in result.stderr


@pytest.mark.parametrize(
    "given",
    [
        "policywatch.example.org",
        "/reviews",
        "ftp://x.org/",
        "https://x.org/?a=1",
        "https://x.org/#top",
        "https://x.org/?",
        "http://[::1",
    ],
)
@pytest.mark.parametrize("command", ["serve", "notify"])
def test_a_base_url_must_be_an_absolute_http_url(home: Home, command: str, given: str) -> None:
    """Every link of the feeds and alerts starts with it: a bare host name made links that led
    nowhere, a query or fragment put itself in their middle (`https://x.org/?a=1/changes/42`)."""
    open_store(home.db).dispose()
    result = home.run(command, "--base-url", given)
    assert result.code == 2 and len(result.stderr.splitlines()) == 1, result
    assert f"--base-url {given!r} is not an absolute http(s) URL" in result.stderr
    assert "https://policywatch.example.org/" in result.stderr


def test_serve_takes_the_base_url_setting(home: Home) -> None:
    """Set once for alerts' links (`POLICYWATCH_BASE_URL`, the config file), it was ignored by
    `serve`: behind a proxy, its feeds linked to the address the proxy asked for."""
    History(home.db).change()
    port = free_port()
    env = {**home.env(), "POLICYWATCH_BASE_URL": "https://watch.example.org/pw/"}
    server = subprocess.Popen(
        [sys.executable, "-m", "policywatch", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        feed = _get_when_up(f"http://127.0.0.1:{port}/feeds/all.atom")
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert '<link rel="self" href="https://watch.example.org/pw/feeds/all.atom"' in feed
    assert 'href="https://watch.example.org/pw/changes/1"' in feed


def _get_when_up(url: str, wait: float = 30) -> str:
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode("utf-8"))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_notify_takes_a_base_url_with_a_path(home: Home) -> None:
    open_store(home.db).dispose()
    assert home.run("notify", "--base-url", "https://example.org/policywatch").code == 0


def test_serve_probes_an_ipv6_host_on_ipv6_and_says_why_it_cannot_listen(home: Home) -> None:
    """`serve --host ::1` was refused, "cannot listen on ::1:8000: Address family for hostname
    not supported": its port was probed on an IPv4 socket. A host that does not resolve was
    "Unknown error -2", and the address is written as a URL writes it, `[::1]:PORT`."""
    import socket

    open_store(home.db).dispose()
    try:
        taken = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with taken:
        port = taken.getsockname()[1]
        busy = home.run("serve", "--host", "::1", "--port", str(port))
    assert busy.code == 2 and busy.stderr.startswith(
        f"error: cannot listen on [::1]:{port}: another program is serving there"
    ), busy.stderr
    token = "t" * 32
    unknown = home.run("serve", "--host", "nosuch.invalid", "--port", "8000", "--token", token)
    [error] = [line for line in unknown.stderr.splitlines() if line.startswith("error:")]
    assert unknown.code == 2 and error.startswith("error: cannot listen on nosuch.invalid:8000: ")
    assert "Unknown error" not in error and "while attempting" not in error, error


def test_an_unknown_key_is_sent_to_the_users_catalog_only_where_none_of_it_loaded(
    home: Home,
) -> None:
    """With the user's catalog set in the config file, `catalog show nope` told them to give
    --catalog or set the config's catalog setting, set already; and a name of `intervals` that
    paces nothing was counted as "1 entry skipped as broken (above)" that might declare it."""
    own = home.catalog([{"type": "Terms", "url": "https://testsite.example/terms"}])
    (home.path / "config.toml").write_text(f'catalog = ["{own}"]\n[intervals]\ntestsit = "1h"\n')
    for args in (
        ["catalog", "show", "nope"],
        ["catalog", "preview", "nope"],
        ["crawl", "--only", "nope"],
    ):
        result = home.run(*args)
        [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert result.code == 2 and "nope" in error, result.stderr
        assert "--catalog PATH" not in error and "skipped as broken" not in error, error


INTERRUPTED_WHILE_LOADING = """
import sys

class Interrupt:  # Ctrl-C as the command line's modules load
    def find_spec(self, name, path=None, target=None):
        if name == "policywatch.cli":
            raise KeyboardInterrupt

sys.meta_path.insert(0, Interrupt())
sys.argv = ["policywatch", "history"]
from policywatch.__main__ import main

main()
"""


def test_ctrl_c_while_the_command_loads_exits_130_without_a_traceback() -> None:
    """Its libraries take a second or two to import: a Ctrl-C then printed thirty lines of
    SQLAlchemy internals where a Ctrl-C a moment later exits 130, nothing said."""
    import tomllib

    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"][
        "scripts"
    ]
    assert scripts["policywatch"] == "policywatch.__main__:main"  # the console script loads it
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WHILE_LOADING], capture_output=True, text=True
    )
    assert (done.returncode, done.stderr) == (130, "")


def test_nothing_typed_is_no_typo_of_a_one_letter_name(home: Home) -> None:
    """A blank `--service` or `--only` (a shell variable left empty) was "did you mean X?", X's
    one letter being one slip from none."""
    assert close_names("", ["X", "x/terms-of-service"]) == []
    assert close_names("  ", ["X"]) == []
    History(home.db, [WHATSAPP, DocumentInfo("x/terms", "X", "Terms", "https://x.test/")])
    for filters in (("--service", " "), ("--document", " ")):
        said = home.run("history", *filters)
        assert said.code == 2 and "did you mean" not in said.stderr, said.stderr
        assert "(the documents of X" not in said.stderr, said.stderr


def test_ctrl_c_mid_import_keeps_what_was_imported_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted, an import ended with 130 and not a word: whether anything was kept, and
    what to do, the user could only guess. The documents done are summed up, and importing the
    folder again adds the rest."""
    import crawlers.importer
    from policywatch.cli import app
    from store.queries import list_documents

    for service in ("Acme", "Zeta"):
        folder = tmp_path / "tree" / f"{service}__Terms"
        folder.mkdir(parents=True)
        for day, clause in (("2025-01-01", "may"), ("2025-02-01", "must not")):
            (folder / f"{day}.md").write_text(f"# Terms\n\nYou {clause} use it to train AI.\n")
    real = crawlers.importer.import_folder

    def interrupted_at_the_second(repository: Any, folder: Path, *args: Any) -> Any:
        if folder.name.startswith("Zeta"):
            raise KeyboardInterrupt
        return real(repository, folder, *args)

    db = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    command = ["import-history", str(tmp_path / "tree"), "--db", db]
    monkeypatch.setattr(crawlers.importer, "import_folder", interrupted_at_the_second)
    stopped = CliRunner().invoke(app, command, terminal_width=100)
    assert stopped.exit_code == 130
    assert "acme/terms │            2 │       1" in stopped.stdout
    assert "Interrupted: the versions imported so far are kept; import the same folder" in (
        stopped.stderr
    )
    assert [row.key for row in list_documents(open_store(db))] == ["acme/terms"]
    monkeypatch.setattr(crawlers.importer, "import_folder", real)
    again = CliRunner().invoke(app, command, terminal_width=100)
    assert again.exit_code == 0 and "2 files already recorded" in again.stdout
    assert [row.key for row in list_documents(open_store(db))] == ["acme/terms", "zeta/terms"]


def test_an_interval_past_ten_years_is_refused_where_it_crashed_every_crawl(home: Home) -> None:
    """`interval: 99999999999d` passed `catalog validate`; then every crawl of the service
    failed with an OverflowError traceback, its next check past the calendar."""
    import yaml

    from crawlers.pacing import interval_seconds

    assert interval_seconds("3650d") == 3650 * 86400
    declared = {"type": "Terms", "url": "http://127.0.0.1:9/terms", "interval": "99999999999d"}
    catalog = home.path / "huge.yaml"
    catalog.write_text(yaml.safe_dump({"service": "Huge", "documents": [declared]}))
    refused = home.run("catalog", "validate", str(catalog))
    assert refused.code == 2 and "interval '99999999999d' is longer than 3650d" in refused.stdout
    (home.path / "config.toml").write_text('interval = "87601h"\n')
    unread = home.run("history")
    assert unread.code == 2 and "interval '87601h' is longer than 3650d" in unread.stderr


def test_a_send_timeout_the_timer_cannot_hold_is_refused(home: Home, hook: Webhook) -> None:
    """`--send-timeout 1e10` (or `inf`, `nan`, or in POLICYWATCH_SEND_TIMEOUT) was taken, and
    each send then failed with a traceback from the timer that enforces it."""
    history = History(home.db)
    assert home.run("subscribe", hook.url(), "--name", "team").code == 0
    history.change(summary="AI providers barred")
    for given, said in (("1e10", "is not in the range 1 to 86400"), ("nan", "nan is no number")):
        refused = home.run("notify", "--send-timeout", given)
        assert refused.code == 2 and said in refused.stderr, refused.stderr
    assert hook.posts == []
    sent = home.run("notify", "--send-timeout", "86400", "--json")
    assert sent.code == 0 and sent.json()["delivered"] == 1, sent.stderr


def test_ctrl_c_mid_rejudge_lists_the_verdicts_already_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted, rejudge ended with 130 and not a word, its list unprinted: the documents
    judged kept their new verdicts, and the next run, finding them agreed, listed them no more.
    What changed was never said."""
    import store.rejudging
    from policywatch.cli import app

    db = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    history = History(db)
    history.change(WHATSAPP, summary="Made up", severity="low")  # the rules judge it otherwise
    history.change(OPENAI, summary="Made up too", severity="low")
    real = store.rejudging.rejudge
    calls: list[str] = []

    def interrupted_at_the_second(engine: Any, key: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(key)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(engine, key, *args, **kwargs)

    monkeypatch.setattr(store.rejudging, "rejudge", interrupted_at_the_second)
    stopped = CliRunner().invoke(app, ["rejudge", "--db", db], terminal_width=200)
    assert stopped.exit_code == 130
    assert "Judged otherwise" in stopped.stdout
    assert "1 change of 1 document judged again: 1 verdict changed" in stopped.stdout
    assert stopped.stderr.startswith("Interrupted: 1 of 2 documents judged again, their verdicts")


def test_a_blank_only_is_quoted_in_its_error(home: Home) -> None:
    """`--only ''` (a variable left empty) read `error: --only : no document has that key`."""
    for args in (("crawl", "--only", ""), ("catalog", "preview", "")):
        said = home.run(*args)
        assert said.code == 2, said.stderr
        assert "'': no document has that key, service or tag" in said.stderr, said.stderr


def test_a_blank_store_variable_is_unset(home: Home) -> None:
    """POLICYWATCH_DB exported blank (`POLICYWATCH_DB=` in a unit file, `"$DB"` unset) was an
    error ("'' is not a database URL"), where most tools, and policywatch's other variables
    read by its options, take a blank variable for an unset one: the config file's store, or
    the default, was meant. A blank variable does not hide where a bad value was set either."""
    open_store(home.db).dispose()
    config = home.path / "config.toml"
    config.write_text(f'db = "{home.db}"\n')
    blank = {**home.env(), "POLICYWATCH_DB": ""}
    done = spawn(["documents", "--json"], blank, home.path, timeout=60)
    assert done.code == 0 and done.stdout.strip() == "[]", done.stderr
    config.write_text('db = "postgresql://nobody@127.0.0.1:port/none"\n')
    done = spawn(["documents"], blank, home.path, timeout=60)
    assert done.code == 2 and done.stderr.endswith(f"(in {config})\n"), done.stderr


def test_every_option_says_what_it_is_and_whether_it_repeats() -> None:
    """`--help` of `subscribe` said `--name`: "Default: the URL's scheme." (of what?), and
    `--category` of `subscribe`, `--select` and `--remove` of `import-history` did not say they
    could be given again, where their siblings did: each parameter of every command has help
    that starts by saying what it is, and one that repeats says so."""
    import typer

    from policywatch.cli import app

    def commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
        yield path, command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from commands(sub, f"{path} {name}")

    params = {
        f"{path} {'/'.join(param.opts)}": param
        for path, command in commands(typer.main.get_command(app), "policywatch")
        for param in command.params
    }
    assert not [name for name, param in params.items() if not param.help]
    assert not [name for name, param in params.items() if param.help.startswith("Default")]
    repeats = [name for name, param in params.items() if getattr(param, "multiple", False)]
    assert not [name for name in repeats if "repeatable" not in params[name].help]
