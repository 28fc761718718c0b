"""`subscribe`, `subscriptions` and `notify` as a user runs them: errors, masking, deliveries."""

from __future__ import annotations

import base64
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notifier.channel import Channel
from store.repository import Attempt, DocumentInfo
from tests.alerting import OPENAI, WHATSAPP, History, reinstate, withdraw
from tests.conftest import FAST, Home, Result, spawn
from tests.receivers import Webhook, silent_endpoint
from tests.site import Site

PASSWORD = "s3cretpass"
TOKEN = "tok123secret"


def alerts(home: Home, *args: str) -> Result:
    """The alert commands through the real `policywatch` entry point, in a child process."""
    return home.run(*args)


def secret_url(hook: Webhook) -> str:
    return f"json://user:{PASSWORD}@127.0.0.1:{hook.port}/hook?+X-Token={TOKEN}"


def assert_masked(*results: Result) -> None:
    for result in results:
        output = result.stdout + result.stderr
        assert PASSWORD not in output and TOKEN not in output, output


def test_unknown_or_malformed_urls_are_refused_without_echoing_secrets(home: Home) -> None:
    for url in (f"nosuchservice://user:{PASSWORD}@host/x", f"{PASSWORD}", "mailto://"):
        refused = alerts(home, "subscribe", url)
        assert refused.code == 2 and "Apprise does not recognise the URL" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert_masked(refused)
    listed = alerts(home, "subscriptions", "list").stdout
    assert listed.startswith("No subscriptions") and "name" not in listed  # no empty table
    slack = alerts(home, "subscribe", f"slack://{PASSWORD}")
    assert slack.code == 2 and "Apprise does not recognise the URL slack://…: An invalid" in (
        slack.stderr  # Apprise's reason: "An invalid Slack (second) Token (None) was specified."
    )
    assert_masked(slack)
    config = home.path / "alerts.yaml"
    config.write_text(f"urls: [\n  - json://user:{PASSWORD}@host/x\n")
    broken = alerts(home, "subscribe", "--config", str(config))
    assert broken.code == 2 and f"{config}: not valid YAML at line " in broken.stderr
    assert_masked(broken)


def test_a_plain_http_url_is_answered_with_the_webhook_url_to_write(
    home: Home, hook: Webhook
) -> None:
    """Apprise takes `https://host/hook` for no service, and said no more: a webhook is
    `jsons://` (`json://` for http), its own query parameters written `-name=value`."""
    plain = alerts(home, "subscribe", "https://example.org/hook")
    assert plain.code == 2 and plain.stderr.strip().endswith(
        "for a generic webhook (a JSON POST), write jsons://example.org/h...k"
    )
    given = f"http://user:{PASSWORD}@127.0.0.1:{hook.port}/hook?token={TOKEN}&team=ops"
    refused = alerts(home, "subscribe", given)
    assert refused.code == 2 and len(refused.stderr.splitlines()) == 1, refused
    assert (
        f"write json://user:****@127.0.0.1:{hook.port}/h...k?-token=****&-team=ops"
        " (with your own values for ****)"
    ) in refused.stderr
    assert_masked(refused)
    written = (
        f"json://user:{PASSWORD}@127.0.0.1:{hook.port}/hook?-token={TOKEN}&-team=ops&:env=prod"
    )
    assert alerts(home, "subscribe", written, "--name", "hook").code == 0
    assert alerts(home, "subscriptions", "test", "hook").code == 0
    assert hook.paths == [f"/hook?token={TOKEN}&team=ops"]  # the hook's own parameters, kept
    [post] = hook.posts  # the payload's own field kept beside the alert as data
    assert post["env"] == "prod" and post["policywatch"] == {
        "kind": "test",
        "subscription": "hook",
        "deliveries": [],
        "changes": [],
        "documents": [],
    }


def test_bad_options_are_usage_errors(home: Home, hook: Webhook) -> None:
    assert alerts(home, "subscribe", hook.url(), "--min-severity", "dire").code == 2
    assert alerts(home, "subscribe", hook.url(), "--digest", "hourly").code == 2
    assert alerts(home, "subscribe").code == 2
    assert alerts(home, "subscribe", hook.url(), "--name", "a").code == 0
    taken = alerts(home, "subscribe", hook.url(), "--name", "a")
    assert taken.code == 2 and len(taken.stderr.splitlines()) == 1, taken
    assert taken.stderr.startswith("error: a subscription named 'a' exists already: give another")
    assert "--name, or change that one with policywatch subscriptions edit" in taken.stderr
    assert alerts(home, "subscriptions", "remove", "nobody").code == 2


def test_min_severity_is_taken_in_any_case(home: Home, hook: Webhook) -> None:
    """`--min-severity HIGH` was refused. Kept in lower case, it is the level the deliveries
    compare: a `HIGH` stored as given ranked as no level at all, and let everything through."""
    history = History(home.db)
    assert alerts(home, "subscribe", hook.url(), "--min-severity", "HIGH").code == 0
    assert alerts(home, "subscriptions", "list", "--json").json()[0]["min_severity"] == "high"
    history.change(OPENAI, severity="medium", summary="Wording tidied")
    history.change(OPENAI, severity="critical", summary="Scraping banned")
    assert alerts(home, "notify", "--json").json()["delivered"] == 1
    assert [post["title"][:10] for post in hook.posts] == ["[CRITICAL]"]


def test_secrets_are_masked_in_every_output(home: Home, hook: Webhook) -> None:
    history = History(home.db)
    added = alerts(home, "subscribe", secret_url(hook), "--name", "hooky", "--service", "openai")
    assert added.code == 0 and "hooky" in added.stdout and "user:****@" in added.stdout
    listed = alerts(home, "subscriptions", "list")
    as_json = alerts(home, "subscriptions", "list", "--json")
    assert "hooky" in listed.stdout and as_json.json()[0]["url"].startswith("json://user:****@")
    tested = alerts(home, "subscriptions", "test", "hooky")
    assert tested.code == 0 and hook.posts[0]["title"] == "policywatch: test of subscription hooky"

    history.change(OPENAI, severity="high", summary="Scraping banned")
    hook.stop()
    down = alerts(home, "notify")
    failing_test = alerts(home, "subscriptions", "test", "hooky")
    assert failing_test.code == 1 and "hooky" in failing_test.stderr
    after_failure = alerts(home, "subscriptions", "list")
    assert "last error" in after_failure.stdout
    assert_masked(added, listed, as_json, tested, down, failing_test, after_failure)

    hook.start()
    delivered = alerts(home, "notify", "--retry-now", "--json")
    assert delivered.json()["delivered"] == 1 and hook.posts[-1]["title"].startswith("[HIGH]")
    assert alerts(home, "notify", "--retry-now", "--json").json()["delivered"] == 0
    assert_masked(delivered)
    assert alerts(home, "subscriptions", "remove", "hooky").code == 0
    assert alerts(home, "subscriptions", "list", "--json").json() == []


def test_an_endpoint_quoting_the_request_in_its_error_never_shows_the_password(
    home: Home, hook: Webhook
) -> None:
    """An ntfy server (here on loopback) answering 401 with the request's headers in its error:
    Apprise quotes the error, and the password scrubbed from it was still there in base64
    (`Authorization: Basic dXNlcjpzM2NyZXRwYXNz`), in `notify`'s errors and the stored one."""
    basic = base64.b64encode(f"user:{PASSWORD}".encode()).decode().rstrip("=")
    hook.status = 401
    hook.reply = lambda headers: {"code": 40101, "error": f"refused {headers['Authorization']}"}
    history = History(home.db)
    url = f"ntfy://user:{PASSWORD}@127.0.0.1:{hook.port}/alerts"
    assert alerts(home, "subscribe", url, "--name", "phone").code == 0
    history.change()
    runs = [alerts(home, "notify"), alerts(home, "notify", "--retry-now", "--json")]
    runs += [alerts(home, "subscriptions", "list", "--json")]
    assert "refused Basic ****" in runs[0].stderr, runs[0]
    assert runs[2].json()[0]["last_error"].endswith("refused Basic ****, error=40101.")
    assert all(basic not in run.stdout + run.stderr for run in runs)
    assert_masked(*runs)


def test_an_apprise_config_subscribes_each_url_with_its_tags(home: Home, hook: Webhook) -> None:
    history = History(home.db)
    config = home.path / "alerts.yaml"
    config.write_text(f"urls:\n  - {hook.url('/ai')}:\n      tag: ai\n  - {hook.url('/all')}\n")
    added = alerts(home, "subscribe", "--config", str(config), "--min-severity", "low")
    assert added.code == 0, added.stderr
    rows = {row["name"]: row for row in alerts(home, "subscriptions", "list", "--json").json()}
    assert rows["alerts-1"]["tags"] == ["ai"] and rows["alerts-2"]["tags"] == []
    history.change(summary="whatsapp only", severity="low")
    assert alerts(home, "notify", "--json").json()["delivered"] == 1
    assert [post["title"].split(" — ")[1] for post in hook.posts] == ["whatsapp only"]


def test_a_config_with_a_url_apprise_does_not_recognise_subscribes_nothing(
    home: Home, hook: Webhook
) -> None:
    """Apprise's config loader dropped the URL without a word: the others were subscribed, and
    the channel left out (its scheme misspelt, a plain https:// hook) never heard a thing."""
    config = home.path / "alerts.yaml"
    config.write_text(
        f"urls:\n  - {secret_url(hook)}:\n      tag: ai\n"
        f"  - https://user:{PASSWORD}@127.0.0.1:{hook.port}/hook\n"
    )
    refused = alerts(home, "subscribe", "--config", str(config))
    assert refused.code == 2 and len(refused.stderr.splitlines()) == 1, refused
    assert refused.stderr.startswith(f"error: {config}: Apprise does not recognise the URL https")
    assert refused.stderr.endswith("; nothing was subscribed\n"), refused
    assert PASSWORD not in refused.stderr + refused.stdout
    assert alerts(home, "subscriptions", "list", "--json").json() == []


def test_a_config_url_is_shown_without_the_defaults_and_keeps_what_it_sets(
    home: Home, hook: Webhook
) -> None:
    config = home.path / "alerts.yaml"
    config.write_text(f"urls:\n  - {hook.url()}?+X-Token={TOKEN}&retry=0\n")
    added = alerts(home, "subscribe", "--config", str(config), "--name", "team")
    assert (
        added.stdout.strip()
        == f"Subscribed team: json://127.0.0.1:{hook.port}/h...k?%2BX-Token=****"
    ), added.stderr
    assert alerts(home, "subscriptions", "test", "team").code == 0
    assert [headers.get("X-Token") for headers in hook.headers] == [TOKEN]
    assert_masked(added)


def test_chat_services_get_markdown_and_their_tokens_stay_hidden() -> None:
    token = "TIiajkdnlazkcOXrIdevi7FQ"
    slack = Channel(f"slack://T1JJ3T3L2/A1BRTD4JD/{token}")
    assert slack.format == "markdown" and token not in slack.masked
    assert slack.scrub(f"POST https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/{token}") == (
        "POST https://hooks.slack.com/services/****/****/****"
    )


def test_a_url_is_shown_as_written_masked_without_the_defaults_apprise_spells_out() -> None:
    """`json://user:****@host/hook?method=POST&overflow=upstream&retry=0&wait=0.5&optional=no`
    hid the URL the user wrote behind parameters they never gave."""
    assert Channel("json://user:s3cret@127.0.0.1:8799/hook").masked == (
        "json://user:****@127.0.0.1:8799/h...k"
    )
    given = Channel("json://127.0.0.1:8799/hook?+X-Token=abc123&method=PUT")
    assert given.masked == "json://127.0.0.1:8799/h...k?method=PUT&%2BX-Token=****"
    # A channel written `#general`, which Apprise leaves bare in its path: the defaults it
    # spells out after it were the URL's fragment, all shown.
    chat = Channel("rocket://bot:s3cret@chat.example/#general?avatar=yes")
    assert chat.masked == "rocket://bot:****@chat.example/?avatar=yes#general/"


def test_a_token_apprise_reads_as_a_path_is_masked(home: Home, hook: Webhook) -> None:
    """`mmost://host/TOKEN/#channel`: Apprise takes `#channel` for the token and TOKEN for a
    path under which the server lives, which it shows: the token was in clear in `subscribe`,
    `subscriptions list` and any error quoting it."""
    url = f"mmost://127.0.0.1:{hook.port}/{TOKEN}/#alerts"
    added = alerts(home, "subscribe", url, "--name", "mm")
    listed = alerts(home, "subscriptions", "list", "--json")
    tested = alerts(home, "subscriptions", "test", "mm")
    assert added.code == 0 and listed.json()[0]["url"].startswith(f"mmost://127.0.0.1:{hook.port}/")
    assert_masked(added, listed, tested)


def test_mail_addresses_are_shown_as_written_the_password_masked() -> None:
    """Apprise writes `alice%40example.com`: a listing of who is mailed read as noise."""
    mail = Channel("mailtos://bob:pw5ecret@smtp.example.com?to=alice@example.com&from=a@b.example")
    assert mail.masked == "mailtos://bob:****@smtp.example.com/alice@example.com?from=a@b.example"


@pytest.mark.parametrize(
    ("url", "shown", "secrets"),
    [
        ("ntfy://ntfy.sh/alerts-7f3a9c", "ntfy://ntfy.sh/a...c", ["alerts-7f3a9c"]),
        ("ntfys://alerts-7f3a9c", "ntfys://a...c", ["alerts-7f3a9c"]),
        (
            "ntfy://user:pw@ntfy.example:8080/ops",
            "ntfy://user:****@ntfy.example:8080/o...s",
            ["ops"],
        ),
        (
            "jsons://hooks.zapier.com/hooks/catch/1234567/a1b2c3",
            "jsons://hooks.zapier.com/h...s/c...h/1...7/a...3",
            ["1234567", "a1b2c3"],
        ),
        ("form://n8n.example/webhook/5f0c2e4a", "form://n8n.example/w...k/5...a", ["5f0c2e4a"]),
        ("xml://soap.example/in/k3y", "xml://soap.example/in/k...y", ["k3y"]),
    ],
)
def test_an_ntfy_topic_and_a_webhooks_path_are_masked_as_credentials(
    url: str, shown: str, secrets: list[str]
) -> None:
    """Apprise shows both in privacy mode, yet whoever knows a topic on a public ntfy server
    reads its alerts, and webhook services put their token in the path."""
    channel = Channel(url)
    assert channel.masked == shown
    assert all(secret not in channel.scrub(f"failed: {url}") for secret in secrets)


def test_a_new_subscriptions_url_is_printed_whole_in_a_narrow_terminal(
    home: Home, hook: Webhook
) -> None:
    """Whoever copies the URL back (to `subscriptions test`, to a config) gets all of it."""
    done = home.run("subscribe", hook.url(), "--name", "ops[1]", columns=40)
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [f"Subscribed ops[1]: {Channel(hook.url()).masked}"]


def test_subscribing_says_the_changes_already_recorded_are_not_sent(
    home: Home, hook: Webhook
) -> None:
    """Subscribed after a first crawl had found a critical change, `notify` said "0 messages
    sent" and nothing told the user that a subscription only hears of what comes after it."""
    history = History(home.db)
    history.change(summary="AI providers barred")
    history.change(summary="reworded", meaningful=False)  # noise: never sent to anyone anyway
    done = alerts(home, "subscribe", hook.url(), "--name", "bot")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[1:] == [
        "It hears of changes detected from now on, not of the 1 recorded so far (see"
        " policywatch history)."
    ]
    assert alerts(home, "notify", "--json").json()["delivered"] == 0 and hook.posts == []
    history.change(summary="API access restricted")
    assert alerts(home, "notify", "--json").json()["delivered"] == 1
    again = alerts(home, "subscribe", hook.url(), "--name", "bot-2")
    assert "not of the 2 recorded so far" in again.stdout


def test_the_changes_a_new_subscription_did_not_hear_of_are_those_its_filters_select(
    home: Home, hook: Webhook
) -> None:
    """ "Not of the 258 recorded so far" counted every meaningful change: a subscription to one
    service's critical changes was told of hundreds it would never have been sent."""
    history = History(home.db)
    history.change(summary="AI providers barred")  # WhatsApp, critical, ai-restriction
    history.change(severity="low", categories=["pricing"], summary="Fees reworded")
    history.change(OPENAI, severity="high", summary="Scraping banned")  # tagged ai
    for filters, recorded in [
        (("--service", "whatsapp"), 1),  # the low one is under its medium bar
        (("--service", "whatsapp", "--min-severity", "low"), 2),
        (("--tag", "ai"), 1),
        (("--category", "pricing", "--min-severity", "info"), 1),
        (("--min-severity", "critical"), 1),
        ((), 2),
    ]:
        done = alerts(home, "subscribe", hook.url(), *filters)
        assert done.code == 0, done.stderr
        said = " ".join(done.stdout.split())
        assert f"not of the {recorded} recorded so far" in said, filters
        assert alerts(home, "subscriptions", "remove", done.stdout.split()[1][:-1]).code == 0
    # One its filters select none of is not told of the others at all.
    quiet = alerts(home, "subscribe", hook.url(), "--service", "openai", "--tag", "none")
    assert "recorded so far" not in quiet.stdout


def test_a_subscription_to_fetch_issues_alone_is_not_told_of_changes_or_reminders(
    home: Home, hook: Webhook
) -> None:
    """It hears of no change, yet subscribing said it would hear of those detected from now
    on, with those to come "recalled 7 days and 1 day before", and listed those reminders."""
    History(home.db).change(summary="AI providers barred")
    done = alerts(home, "subscribe", hook.url(), "--name", "ops", "--category", "fetch-issue")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines()[1:] == []
    [row] = alerts(home, "subscriptions", "list", "--json").json()
    assert row["categories"] == ["fetch-issue"] and row["reminders"] == []
    # No severity either: it sorts changes, and "medium or worse" said one its alerts never meet.
    listed = home.run("subscriptions", "list", columns=80).stdout
    assert listed.splitlines()[2] == "  categories fetch-issue", listed
    for asked in (
        ("subscribe", hook.url(), "--category", "fetch-issue", "--remind", "3"),
        ("subscriptions", "remind", "ops", "3"),
    ):
        refused = alerts(home, *asked)
        assert refused.code == 2 and "hears of no change to remind of" in refused.stderr
    both = ("--category", "fetch-issue", "--category", "ai-restriction", "--name", "both")
    assert "recorded so far" in alerts(home, "subscribe", hook.url(), *both).stdout
    assert alerts(home, "subscriptions", "remind", "both", "3").code == 0


def test_filters_naming_nothing_known_are_warned_with_the_closest_name(
    home: Home, hook: Webhook
) -> None:
    History(home.db)  # tracks whatsapp/business-solution-terms and openai/usage-policies
    typo = alerts(
        home,
        "subscribe",
        hook.url(),
        "--service",
        "Whatsap",
        "--document",
        "openai/usage-policy",
        "--category",
        "pricng",
        "--tag",
        "mesaging",
    )
    assert typo.code == 0, typo.stderr  # kept: it may name what is declared later
    assert "no service Whatsap is known (did you mean WhatsApp?)" in typo.stderr
    assert "no document openai/usage-policy is known (did you mean openai/usage-policies?)" in (
        typo.stderr
    )
    assert "no category pricng is known (did you mean pricing?)" in typo.stderr
    assert "no tag mesaging is known (did you mean messaging?)" in typo.stderr
    right = alerts(
        home, "subscribe", hook.url(), "--name", "right", "--service", "whatsapp",
        "--category", "fetch-issue", "--tag", "ai",
    )  # fmt: skip
    assert right.code == 0 and "is known" not in right.stderr, right.stderr
    assert "already subscribed as json" in right.stderr  # the same URL twice: both get alerts
    # A category close to none: no command lists them, so the warning does.
    far = alerts(home, "subscribe", hook.url(), "--name", "far", "--category", "spam")
    assert "no category spam is known (the rules' categories: ai-restriction, ai-training," in (
        far.stderr
    ) and "fetch-issue, pricing," in " ".join(far.stderr.split())


def test_a_subscription_names_a_service_by_its_slug(home: Home, hook: Webhook) -> None:
    """As `crawl --only` and the feeds take it: `--service acme-messenger` was warned unknown
    and matched nothing of Acme Messenger."""
    acme = DocumentInfo("acme-messenger/terms", "Acme Messenger", "Terms", "https://acme.test")
    history = History(home.db, [acme, WHATSAPP])
    made = alerts(home, "subscribe", hook.url(), "--service", "acme-messenger")
    assert made.code == 0 and "is known" not in made.stderr, made.stderr
    history.change(WHATSAPP, summary="AI providers barred")
    history.change(acme, summary="Bots barred")
    assert alerts(home, "notify").code == 0
    assert [post["title"] for post in hook.posts] == [
        "[CRITICAL] Acme Messenger · Terms — Bots barred"
    ]


@pytest.mark.parametrize("option", ["--max-attempts", "--issue-streak"])
def test_notify_refuses_a_count_below_one(home: Home, hook: Webhook, option: str) -> None:
    """`--max-attempts 0` gave up every owed delivery unsent, and `--issue-streak 0` alerted at
    a first failure as 1 does, both exiting 0."""
    alerts(home, "subscribe", hook.url(), "--name", "hooky")
    History(home.db).change(summary="Scraping banned")
    hook.status = 500
    for value in ("0", "-3"):
        refused = alerts(home, "notify", option, value)
        assert refused.code == 2 and option in refused.stderr, refused.stderr
    tried = alerts(home, "notify")  # the first try: nothing was given up before it
    assert "0 messages sent; 1 delivery failed and will be retried" in tried.stdout


def test_a_send_trickling_past_its_time_limit_fails_and_notify_goes_on(home: Home) -> None:
    """An endpoint answering a byte every 3 s held `notify` for as long as it went on: past the
    send's time limit (POLICYWATCH_SEND_TIMEOUT here) it fails, and waits for a retry."""
    history = History(home.db)
    trickling = Webhook(dribble=3.0).start()  # 8 bytes: 24 s
    try:
        alerts(home, "subscribe", trickling.url(), "--name", "slow")
        history.change(summary="Scraping banned")
        done = spawn(["notify"], {**home.env(), "POLICYWATCH_SEND_TIMEOUT": "1.5"}, home.path)
    finally:
        trickling.stop()
    assert "0 messages sent; 1 delivery failed and will be retried" in done.stdout, done
    assert "not delivered: slow: no complete answer within 1.5 s" in done.stderr
    refused = alerts(home, "notify", "--send-timeout", "0")
    assert refused.code == 2 and "--send-timeout" in refused.stderr, refused.stderr


def test_a_crawls_own_alerts_are_sent_under_notifys_settings(home: Home, site: Site) -> None:
    """The crawl's delivery at its end ignored POLICYWATCH_SEND_TIMEOUT and
    POLICYWATCH_MAX_ATTEMPTS: it waited 24 s on an endpoint trickling its answer, and retried
    a delivery the user had said to give up after one attempt."""
    terms = "<html><body><main><h1>Terms</h1><p>{}</p></main></body></html>"
    site.html("/t", terms.format("Refunds take 30 days to process."))
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    assert home.crawl(catalog).code == 0
    trickling = Webhook(dribble=3.0).start()  # 8 bytes: 24 s
    try:
        alerts(home, "subscribe", trickling.url(), "--name", "slow", "--min-severity", "info")
        site.html("/t", terms.format("Refunds take 14 days to process."))
        env = {**home.env(), "POLICYWATCH_SEND_TIMEOUT": "1.5", "POLICYWATCH_MAX_ATTEMPTS": "1"}
        args = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", *FAST]
        crawled = spawn(args, env, home.path)
    finally:
        trickling.stop()
    assert crawled.code == 0, crawled
    said = " ".join(crawled.stderr.split())
    assert "alerts: 0 messages sent; 1 delivery given up after every retry." in said, said
    assert "not delivered: slow: no complete answer within 1.5 s" in said


def test_a_crawls_own_fetch_issue_alerts_honour_the_issue_streak(
    home: Home, site: Site, hook: Webhook
) -> None:
    """`notify --issue-streak` had no env var and `crawl` no such option: a crawl's own delivery
    alerted of a failing document after 3 failed fetches, whatever the user had set."""
    site.html("/t", "<html><body><main><h1>Terms</h1><p>Refunds in 30 days.</p></main></body>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    assert home.crawl(catalog).code == 0
    alerts(home, "subscribe", hook.url(), "--name", "ops", "--category", "fetch-issue")
    site.html("/t", "gone", status=404)
    env = {**home.env(), "POLICYWATCH_ISSUE_STREAK": "1"}
    args = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", *FAST]
    crawled = spawn(args, env, home.path)
    assert "alerts: 1 message sent" in crawled.stdout, crawled
    [alert] = hook.posts
    assert alert["title"].endswith("— 1 failed fetch (not-found)"), alert["title"]


def test_a_single_failed_fetch_is_counted_as_one(home: Home, hook: Webhook) -> None:
    """`notify --issue-streak 1` alerted of "1 failed fetches" (alone, and in a list)."""
    history = History(home.db)
    alerts(home, "subscribe", hook.url(), "--name", "hooky", "--category", "fetch-issue")
    for document in (WHATSAPP, OPENAI):
        history.repo.record_issue(document.key, Attempt(document.url), "timeout", "no answer")
    assert alerts(home, "notify", "--issue-streak", "1").code == 0
    history.change(WHATSAPP, severity="low")  # fetched again: resumed, then failing anew
    alerts(home, "notify", "--issue-streak", "1")
    history.repo.record_issue(WHATSAPP.key, Attempt(WHATSAPP.url), "timeout", "no answer")
    alerts(home, "notify", "--issue-streak", "1")
    listed, _, alone = hook.posts
    assert alone["title"].endswith("— 1 failed fetch (timeout)"), alone["title"]
    assert "OpenAI · Usage Policies — 1 failed fetch since" in listed["message"], listed


def test_notify_says_what_waits_for_a_retry(home: Home, hook: Webhook) -> None:
    """`0 messages sent; 0 to retry` read as "nothing owed" while an alert waited out a backoff."""
    history = History(home.db)
    alerts(home, "subscribe", hook.url(), "--name", "hooky")
    history.change(summary="Scraping banned")
    hook.status = 500
    failed = alerts(home, "notify")
    assert "0 messages sent; 1 delivery failed and will be retried" in failed.stdout
    waiting = alerts(home, "notify")  # within the backoff: nothing tried
    assert "0 messages sent; 1 delivery waiting for a retry, the next at " in waiting.stdout
    assert "--retry-now sends it now" in waiting.stdout
    report = alerts(home, "notify", "--json").json()
    assert report["waiting"] == 1 and report["next_attempt"] > datetime.now(UTC).isoformat()
    hook.status = 200
    sent = alerts(home, "notify", "--retry-now")
    assert sent.stdout.strip() == "alerts: 1 message sent (1 delivery)."


def test_notify_says_what_the_page_overtook(home: Home, hook: Webhook) -> None:
    """A withdrawal settled unsent because the page put the change back is said, and listed
    with the subscription's deliveries: unsaid, it would read as an alert lost."""
    history = History(home.db)
    alerts(home, "subscribe", hook.url(), "--name", "hooky")
    ban = history.change(summary="Scraping banned")
    alerts(home, "notify")
    hook.status = 500
    withdraw(history, ban)
    alerts(home, "notify")
    reinstate(history, ban)
    hook.status = 200
    said = alerts(home, "notify", "--retry-now")
    assert said.stdout.strip() == (
        "alerts: 0 messages sent; 1 withdrawal not sent, the page having put the change back since."
    )
    [listed] = alerts(home, "subscriptions", "list", "--json").json()
    assert (listed["sent"], listed["pending"], listed["superseded"]) == (1, 0, 1)
    assert "1 superseded" in alerts(home, "subscriptions", "list").stdout


def test_subscriptions_list_keeps_names_and_urls_whole_in_80_columns(
    home: Home, hook: Webhook
) -> None:
    """Tabled in 80 columns, a name was folded mid-word ("team-ch" / "at"), and `subscriptions
    edit` takes it as copied; eight columns had cut URLs into pieces of nine letters. Narrow,
    each subscription is listed: its name on a line, then its URL, filters and deliveries."""
    alerts(home, "subscribe", hook.url(), "--name", "team-chat", "--service", "WhatsApp")
    alerts(home, "subscribe", hook.url(), "--name", "digest-of-the-day", "--digest", "daily")
    alerts(home, "subscriptions", "pause", "digest-of-the-day")
    listed = home.run("subscriptions", "list", columns=80).stdout
    assert listed.splitlines() == [
        "digest-of-the-day (paused)",
        f"  json://127.0.0.1:{hook.port}/h...k",
        "  medium or worse; daily digest; reminded 7 days and 1 day before",
        "  0 sent · 0 held · 0 failed",
        "team-chat",
        f"  json://127.0.0.1:{hook.port}/h...k",
        "  medium or worse; services WhatsApp; reminded 7 days and 1 day before",
        "  0 sent · 0 pending · 0 failed",
    ], listed
    wide = home.run("subscriptions", "list", columns=120).stdout
    assert "┃ receives" in wide and "team-chat " in wide  # a table from 100 columns on


def test_subscriptions_list_piped_indents_a_line_it_wraps(home: Home, hook: Webhook) -> None:
    """Piped (80 columns), what a subscription receives went on at the left edge of the next
    line ("digest; reminded 7 days and 1 day before"), where subscriptions' names start."""
    filters = ["--service", "OpenAI", "--service", "WhatsApp", "--category", "ai-restriction"]
    alerts(home, "subscribe", hook.url(), "--name", "team", *filters, "--digest", "daily")
    listed = home.run("subscriptions", "list", columns=80).stdout.splitlines()
    assert len(listed) == 5, listed  # the name, the URL, what it receives on two, deliveries
    assert [line for line in listed if not line.startswith("  ")] == ["team"], listed


def test_an_alert_about_a_change_no_rule_recognised_quotes_what_changed(
    home: Home, hook: Webhook, site: Site
) -> None:
    """Such a change is `low`; its summary only counts sentences, so the alert quotes them."""
    terms = "<html><body><main><h1>Terms</h1><h2>Refunds</h2><p>{}</p></main></body></html>"
    site.html("/t", terms.format("Refunds take 30 days to process. Contact support first."))
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    assert home.crawl(catalog).code == 0
    alerts(home, "subscribe", hook.url(), "--name", "hooky", "--min-severity", "low")
    edited = "Refunds take 14 days to process. Contact support first. Gift cards are final."
    site.html("/t", terms.format(edited))
    crawled = home.crawl(catalog)
    assert crawled.code == 0
    # Sent, it is said with the summary: on stderr, cron mailed every alert a second time.
    assert "alerts: 1 message sent" in crawled.stdout and "alerts" not in crawled.stderr
    [post] = hook.posts
    assert post["title"].startswith("[LOW] TestSite · Terms — 1 sentence added, 1 changed")
    assert "~ Refunds take [-30-] {+14+} days to process." in post["message"]  # the edit marked
    assert "Gift cards are final." in post["message"]


def test_a_crawl_whose_changes_a_digest_holds_says_so(
    home: Home, hook: Webhook, site: Site
) -> None:
    """The crawl said nothing of alerts when it sent none: a change held for a digest read as
    heard by no subscription."""
    terms = "<html><body><main><h1>Terms</h1><h2>Refunds</h2><p>{}</p></main></body></html>"
    site.html("/t", terms.format("Refunds take 30 days to process."))
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    assert home.crawl(catalog).code == 0
    alerts(
        home,
        "subscribe",
        hook.url(),
        "--name",
        "daily",
        "--min-severity",
        "low",
        "--digest",
        "daily",
    )
    assert "alerts" not in home.crawl(catalog).stdout  # nothing changed: nothing to say
    site.html("/t", terms.format("Refunds take 14 days to process."))
    crawled = home.crawl(catalog)
    assert crawled.code == 0 and crawled.stderr == "", crawled
    said = " ".join(crawled.stdout.split())
    assert "alerts: 0 messages sent; 1 change held for a digest, the next sent after" in said
    assert hook.posts == []


def test_a_change_read_under_a_new_declaration_is_recorded_but_not_alerted(
    home: Home, hook: Webhook, site: Site
) -> None:
    """Dropping a selector reads the page's chrome too: the text differs because of the catalog,
    not the platform (an upgrade of the bundled catalog that mends a selector would alert every
    user). The next change of the page itself is alerted as any."""
    page = "<html><body><nav>Pricing: 5 USD per message</nav><main>{}</main></body></html>"
    site.html("/t", page.format("<h1>Terms</h1><p>Refunds take 30 days to process.</p>"))
    declared = {"type": "Terms", "url": site.url("/t")}
    catalog = home.catalog([{**declared, "select": "main"}])
    assert home.crawl(catalog).code == 0
    alerts(home, "subscribe", hook.url(), "--name", "hooky", "--min-severity", "info")
    home.catalog([declared])

    redeclared = home.crawl(catalog)
    assert redeclared.code == 0 and "message sent" not in redeclared.stdout, redeclared.stdout
    assert hook.posts == []
    [change] = home.run("history", "--all", "--json").json()
    assert change["redeclared"] is True
    assert "(declaration changed: not alerted)" in home.run("history", "--all").stdout

    site.html("/t", page.format("<h1>Terms</h1><p>Refunds take 14 days to process.</p>"))
    assert "alerts: 1 message sent" in home.crawl(catalog).stdout
    [post] = hook.posts
    assert "Refunds take [-30-] {+14+} days to process." in post["message"]
    latest = home.run("history", "--all", "--json").json()[0]
    assert latest["redeclared"] is False


def test_notify_says_what_it_holds_for_a_digest_and_what_it_gave_up(
    home: Home, hook: Webhook
) -> None:
    """`alerts: 0 messages sent.` read as "nothing owed" while a digest held a change and a
    delivery given up in an earlier run waited for --retry-now."""
    history = History(home.db)
    alerts(home, "subscribe", hook.url("/daily"), "--name", "daily", "--digest", "daily")
    alerts(home, "subscribe", hook.url(), "--name", "now")
    history.change(summary="Scraping banned")
    hook.status = 500
    first = alerts(home, "notify", "--max-attempts", "1")
    assert "1 delivery given up after every retry" in first.stdout
    assert "earlier runs" not in first.stdout  # the same one, not counted twice
    later = alerts(home, "notify")
    assert later.stdout.startswith("alerts: 0 messages sent; 1 change held for a digest, the next")
    assert "1 delivery given up in earlier runs (--retry-now tries it again)." in later.stdout
    report = alerts(home, "notify", "--json").json()
    assert (report["held_for_digest"], report["given_up"]) == (1, 1)
    assert report["digest_due"] > datetime.now(UTC).isoformat()


def test_a_crawls_debug_log_never_shows_a_subscriptions_secret(
    home: Home, hook: Webhook, site: Site
) -> None:
    """Scrapy's log handler, asked for to see each request, caught Apprise's own debug log at
    the crawl's end too: `Loaded JSON URL: json://user:****@…&%2BX-Token=<the token>` (and an
    ntfy token as `Authorization: Bearer …`)."""
    history = History(home.db)
    assert alerts(home, "subscribe", secret_url(hook), "--name", "hooky").code == 0
    history.change(OPENAI, severity="high", summary="Scraping banned")
    site.html("/t", "<html><body><main><h1>Terms</h1><p>Be nice to others.</p></main></body>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    logged = ("--set", "LOG_LEVEL=DEBUG", "--set", "LOG_INSTALL_ROOT_HANDLER=true")
    crawled = home.crawl(catalog, *logged)
    assert crawled.code == 0 and "DEBUG" in crawled.stderr, crawled.stderr[-2000:]
    assert "alerts: 1 message sent" in crawled.stdout
    assert [headers.get("X-Token") for headers in hook.headers] == [TOKEN]
    assert_masked(crawled)


def test_a_store_of_subscriptions_others_can_read_is_warned_of_once(
    home: Home, hook: Webhook
) -> None:
    """Earlier releases made the store 0644: every user of the machine could read the Apprise
    URLs. Such a store is told once, on stderr, with the command that closes it; its mode is
    left to its owner."""
    path = home.path / "old data" / "store.sqlite3"
    db = ["--db", f"sqlite:///{path}"]
    assert alerts(home, "subscriptions", "list", *db).code == 2  # no store: nothing made
    assert alerts(home, "subscribe", secret_url(hook), "--name", "hooky", *db).code == 0
    private = alerts(home, "subscriptions", "list", "--json", *db)
    assert private.stderr == "" and private.json()[0]["name"] == "hooky"

    path.chmod(0o644)
    listed = alerts(home, "subscriptions", "list", "--json", *db)
    assert listed.json()[0]["name"] == "hooky"  # stdout is the JSON alone
    assert listed.stderr.count("note:") == 1, listed.stderr
    assert listed.stderr.rstrip().endswith(f"can read it: run chmod 600 '{path}'")
    assert_masked(listed)
    assert path.stat().st_mode & 0o777 == 0o644

    assert alerts(home, "subscriptions", "remove", "hooky", *db).code == 0
    assert alerts(home, "subscriptions", "list", "--json", *db).stderr == ""  # nothing to read


def test_a_write_the_store_refuses_never_shows_a_subscriptions_secret(
    home: Home, hook: Webhook
) -> None:
    """SQLAlchemy quotes a failed statement's values in its error: a subscription that could
    not be stored (a disk full; here a trigger writing to a table gone) printed its URL, token
    and password, in the traceback."""
    assert alerts(home, "subscribe", "json://127.0.0.1:9/first", "--name", "first").code == 0
    with sqlite3.connect(home.db.removeprefix("sqlite:///")) as connection:
        connection.executescript(
            "CREATE TABLE gone (id INTEGER); CREATE TRIGGER failing BEFORE INSERT ON subscription"
            " BEGIN INSERT INTO gone VALUES (1); END; DROP TABLE gone;"
        )
    refused = alerts(home, "subscribe", secret_url(hook), "--name", "hooky")
    assert refused.code != 0 and "no such table: main.gone" in refused.stderr, refused.stderr
    assert_masked(refused)


@pytest.mark.parametrize("command", ["notify", "crawl"])
def test_ctrl_c_while_alerts_go_out_says_what_becomes_of_them(
    home: Home, site: Site, command: str
) -> None:
    """Ctrl-C during `notify` (a channel slow to answer) ended it with 130 and not a word; during
    a crawl's alerts it was not heard at all: Scrapy's handler, which only asks the crawl to
    stop, outlived the crawl, and the alerts went on."""
    history = History(home.db)
    site.html("/t", "<html><body><main><h1>Terms</h1><p>Be nice to others.</p></main></body>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t")}])
    crawl = ["crawl", "--catalog", str(catalog), "--only", "testsite", "--all", *FAST]
    with silent_endpoint() as silent:
        url = f"json://127.0.0.1:{silent.getsockname()[1]}/hook"
        assert alerts(home, "subscribe", url, "--name", "slow").code == 0
        history.change(OPENAI, severity="high", summary="Scraping banned")
        running = subprocess.Popen(
            [sys.executable, "-m", "policywatch", *(crawl if command == "crawl" else [command])],
            env=home.env(),
            cwd=home.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        silent.settimeout(60)
        connection, _ = silent.accept()  # the alert is being sent
        with connection:
            running.send_signal(signal.SIGINT)
            out, err = running.communicate(timeout=60)
    assert running.returncode == 130, (out, err)
    assert err == (
        "Interrupted: the alerts not sent wait in the outbox for the next crawl or policywatch"
        " notify; one being sent as it stopped is tried again in 30 minutes (twice received, if"
        " its service had taken it).\n"
    )
    assert alerts(home, "subscriptions", "list", "--json").json()[0]["pending"] == 1
    # Claimed, and not sent again before its lease ends: said, not left to read as lost.
    after = " ".join(alerts(home, "notify").stdout.split())
    said = "1 delivery claimed by a run sending now, or stopped while sending (tried again from"
    assert said in after, after
    assert alerts(home, "notify", "--json").json()["in_flight"] == 1


def test_a_send_is_made_in_the_calling_thread() -> None:
    """Sent from Apprise's thread pool, a send went on after Ctrl-C, and an interrupt landing as
    the pool started its thread left the process waiting forever at exit: the test above hung one
    run in seven on a loaded machine. A fresh process, so that no earlier send made the pool."""
    with silent_endpoint() as silent:
        url = f"json://127.0.0.1:{silent.getsockname()[1]}/hook?rto=0.5"
        script = (
            "import threading, sys; from notifier.channel import Channel;"
            "outcome = Channel(sys.argv[1]).send('t', 'b', 'info', time_limit=60);"
            "print(outcome.ok, [t.name for t in threading.enumerate()])"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, url], capture_output=True, text=True, timeout=60
        )
    assert done.stdout.strip() == "False ['MainThread']", done.stdout + done.stderr


@pytest.fixture
def any_home(tmp_path: Path, db_url: str) -> Home:
    """A user whose store is SQLite or the local PostgreSQL."""
    return Home(tmp_path, db_url)


def test_a_paused_subscription_is_sent_what_it_held_once_resumed(
    any_home: Home, hook: Webhook
) -> None:
    home = any_home
    history = History(home.db)
    assert alerts(home, "subscribe", secret_url(hook), "--name", "team").code == 0
    paused = alerts(home, "subscriptions", "pause", "team")
    assert paused.code == 0 and "Paused team" in paused.stdout
    again = alerts(home, "subscriptions", "pause", "team")
    assert again.code == 0 and again.stdout.startswith("team is paused already (0 deliveries")
    history.change(summary="AI providers barred")
    held = alerts(home, "notify", "--json").json()
    assert (held["delivered"], held["held_for_paused"]) == (0, 1) and hook.posts == []
    said = alerts(home, "notify").stdout
    assert "1 delivery held for 1 paused subscription" in said
    [listed] = alerts(home, "subscriptions", "list", "--json").json()
    assert (listed["active"], listed["held"], listed["pending"]) == (False, 1, 1)
    table = alerts(home, "subscriptions", "list")
    assert "paused" in table.stdout and "1 held" in table.stdout
    resumed = alerts(home, "subscriptions", "resume", "team")
    assert resumed.stdout == "Resumed team: 1 delivery held, sent at the next notify or crawl.\n"
    assert alerts(home, "subscriptions", "resume", "team").stdout.strip() == "team is not paused."
    assert alerts(home, "notify", "--json").json()["delivered"] == 1
    assert hook.posts[0]["title"].endswith("AI providers barred")
    assert_masked(paused, again, table, resumed)
    for command in (["pause"], ["resume"], ["edit", "--any-tag"]):
        unknown = alerts(home, "subscriptions", command[0], "nobody", *command[1:])
        assert unknown.code == 2 and "no subscription named 'nobody'" in unknown.stderr
    for command in (["test"], ["remove"], ["remind", "3"], ["pause"], ["edit", "--any-tag"]):
        typo = alerts(home, "subscriptions", command[0], "taem", *command[1:])
        assert typo.code == 2 and typo.stderr == (
            "error: no subscription named 'taem' (did you mean team?): `policywatch subscriptions"
            " list` shows them\n"
        ), typo


def test_resume_skip_held_sends_nothing_and_lists_it_skipped(any_home: Home, hook: Webhook) -> None:
    home = any_home
    history = History(home.db)
    assert alerts(home, "subscribe", hook.url(), "--name", "team").code == 0
    assert alerts(home, "subscriptions", "pause", "team").code == 0
    history.change()
    history.change(OPENAI)
    assert alerts(home, "notify").code == 0
    skipped = alerts(home, "subscriptions", "resume", "team", "--skip-held")
    assert skipped.stdout.strip() == "Resumed team: 2 deliveries held skipped, never to be sent."
    assert alerts(home, "notify", "--retry-now", "--json").json()["delivered"] == 0
    assert hook.posts == []
    [listed] = alerts(home, "subscriptions", "list", "--json").json()
    assert (listed["active"], listed["pending"], listed["skipped"]) == (True, 0, 2)
    assert "2 skipped" in alerts(home, "subscriptions", "list").stdout


def test_edit_changes_what_the_next_change_delivers(any_home: Home, hook: Webhook) -> None:
    home = any_home
    history = History(home.db)
    subscribed = ["subscribe", hook.url("/old"), "--name", "team", "--service", "openai"]
    assert alerts(home, *subscribed, "--min-severity", "critical").code == 0
    edited = alerts(
        home, "subscriptions", "edit", "team", "--service", "WhatsApp", "--url", secret_url(hook)
    )
    assert edited.code == 0 and "services WhatsApp; critical or worse" not in edited.stdout
    assert "critical or worse; services WhatsApp" in edited.stdout and "user:****@" in edited.stdout
    history.change(OPENAI, summary="Scraping banned")
    history.change(summary="AI providers barred", severity="high")
    history.change(summary="AI providers barred for good")
    assert alerts(home, "notify", "--json").json()["delivered"] == 1
    assert hook.paths == ["/hook"]  # the rotated URL
    assert hook.posts[0]["title"].endswith("AI providers barred for good")
    cleared = alerts(
        home, "subscriptions", "edit", "team", "--any-service", "--min-severity", "HIGH"
    )
    [listed] = alerts(home, "subscriptions", "list", "--json").json()
    assert (listed["services"], listed["min_severity"]) == ([], "high")
    history.change(OPENAI, summary="Scraping banned again", severity="high")
    assert alerts(home, "notify", "--json").json()["delivered"] == 1
    warned = alerts(home, "subscriptions", "edit", "team", "--service", "Whatsap")
    assert "no service Whatsap is known (did you mean WhatsApp?)" in warned.stderr
    both = alerts(home, "subscriptions", "edit", "team", "--tag", "ai", "--any-tag")
    assert both.code == 2 and "--tag or --any-tag" in both.stderr
    assert alerts(home, "subscriptions", "edit", "team").code == 2
    assert alerts(home, "subscriptions", "edit", "team", "--digest", "hourly").code == 2
    assert "reminded 7 days and 1 day before" in cleared.stdout
    fetching = alerts(home, "subscriptions", "edit", "team", "--category", "fetch-issue")
    assert "categories fetch-issue" in fetching.stdout and "reminded" not in fetching.stdout
    assert_masked(edited, cleared, warned)
