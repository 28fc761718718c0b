"""Delivery through the outbox, to real receivers on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.infobip import NotifyInfobip
from apprise.plugins.slack import NotifySlack
from apprise.plugins.zulip import NotifyZulip
from markdown_it import MarkdownIt
from sqlalchemy import update
from sqlmodel import Session, col, select

import notifier.delivery
from notifier import deliver_owed
from notifier.channel import Channel
from notifier.delivery import BURST
from notifier.subscriptions import subscribe
from store.models import Delivery, Document
from store.outbox import owed
from store.outbox.given_up import failed_by_document
from store.queries import changes_json, get_change
from store.repository import Attempt
from store.subscriptions import (
    NewSubscription,
    Switched,
    add_subscription,
    edit_subscription,
    list_subscriptions,
    pause_subscription,
    remove_subscription,
    resume_subscription,
)
from tests.alerting import OPENAI, WHATSAPP, History, reinstate, withdraw
from tests.receivers import (
    Mailbox,
    Webhook,
    free_port,
    silent_endpoint,
    unconnectable_endpoint,
)


@pytest.fixture
def history(db_url: str) -> History:
    return History(db_url)


def add(history: History, url: str, name: str = "", **filters: object) -> None:
    subscribe(history.engine, NewSubscription(name=name, url=url, **filters))  # type: ignore[arg-type]


def statuses(history: History) -> list[str]:
    with Session(history.engine) as session:
        return list(session.exec(select(Delivery.status).order_by(col(Delivery.id))).all())


def delivery_ids(history: History) -> list[int]:
    with Session(history.engine) as session:
        return [id_ for id_ in session.exec(select(Delivery.id).order_by(col(Delivery.id))) if id_]


def test_a_webhook_carries_the_change_as_data(history: History, hook: Webhook) -> None:
    """A program receiving an alert reads which change it is, of which document, how severe,
    effective when and where to review it from the `policywatch` field, with the fields of
    `history --json`, rather than from the title meant for people; a form webhook carries the
    same object as JSON text."""
    add(history, hook.url("/json"), "json")
    add(history, hook.url("/form", scheme="form"), "form")
    change_id = history.change(effective=date(2027, 1, 15))
    deliver_owed(history.engine, base_url="https://review.example/")
    posts = dict(zip(hook.paths, hook.posts, strict=True))
    as_json = posts["/json"]["policywatch"]
    as_form = json.loads(posts["/form"]["policywatch"])
    detail = get_change(history.engine, change_id)
    assert detail is not None
    [listed] = changes_json(history.engine, [detail.change])
    del listed["reverted"]
    [change] = as_json["changes"]
    assert change == {**listed, "review_url": f"https://review.example/changes/{change_id}"}
    assert (change["key"], change["severity"], change["effective_date"]) == (
        WHATSAPP.key,
        "critical",
        "2027-01-15",
    )
    assert as_json["kind"] == "change" and as_json["documents"] == []
    assert [as_json["subscription"], as_form["subscription"]] == ["json", "form"]
    assert sorted([as_json["deliveries"], as_form["deliveries"]]) == [
        [n] for n in delivery_ids(history)
    ]
    assert as_form["changes"] == as_json["changes"]
    assert posts["/json"]["title"].startswith("[CRITICAL] WhatsApp")  # Apprise's fields kept


def test_each_owed_change_is_posted_exactly_once(history: History, hook: Webhook) -> None:
    history.change()  # before the subscription: not owed
    add(history, hook.url())
    first = history.change(summary="AI providers barred")
    second = history.change(OPENAI, severity="high", summary="Scraping banned")
    report = deliver_owed(history.engine, base_url="https://review.example/")
    assert (report.messages, report.delivered, report.errors) == (2, 2, [])
    assert [post["title"].split(" — ")[1] for post in hook.posts] == [
        "AI providers barred",
        "Scraping banned",
    ]
    assert f"https://review.example/changes/{first}" in hook.posts[0]["message"]
    assert f"https://review.example/changes/{second}" in hook.posts[1]["message"]
    assert deliver_owed(history.engine).messages == 0
    assert len(hook.posts) == 2


def test_nothing_is_lost_while_the_receiver_is_down(history: History) -> None:
    hook = Webhook()  # not started: its port is closed
    add(history, hook.url())
    history.change()
    history.change(OPENAI)
    refused = deliver_owed(history.engine)
    assert (refused.delivered, refused.retrying) == (0, 2) and refused.errors
    assert statuses(history) == ["pending", "pending"]

    hook.status = 500
    hook.start()
    try:
        broken = deliver_owed(history.engine, retry_now=True)
        assert (broken.delivered, broken.retrying) == (0, 2) and hook.posts == []
        [row] = list_subscriptions(history.engine)
        assert row.pending == 2 and row.last_error

        hook.status = 200
        back = deliver_owed(history.engine, retry_now=True)
        assert back.delivered == 2 and len(hook.posts) == 2
        assert deliver_owed(history.engine, retry_now=True).messages == 0
        assert len(hook.posts) == 2 and statuses(history) == ["sent", "sent"]
    finally:
        hook.stop()


def test_a_subscription_stored_after_a_run_queued_a_later_change_still_hears_of_it(
    history: History, hook: Webhook
) -> None:
    """Made before the change was detected, but stored only after a run had queued the change
    to the subscriptions it knew (the insert waited for the database): it is owed the change,
    and its first run asks about every change detected since it was made."""
    made = datetime.now(UTC)
    history.change(at=made + timedelta(seconds=1))
    assert deliver_owed(history.engine).messages == 0  # queued to no one
    add_subscription(history.engine, NewSubscription("late", hook.url()), made)
    assert deliver_owed(history.engine).delivered == 1
    assert deliver_owed(history.engine).messages == 0 and len(hook.posts) == 1


def test_what_a_store_owed_before_its_upgrade_it_still_owes(db_url: str, hook: Webhook) -> None:
    """Changes found before 0012 (`crawl --no-notify`, say) are marked queued by the upgrade:
    the subscriptions, left to catch up, are owed them still, and only once."""
    from alembic import command

    from store.db import alembic_config, open_store

    history = History(db_url)
    add(history, hook.url())
    history.change()
    config = alembic_config()
    with history.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    engine = open_store(history.engine.url.render_as_string(hide_password=False))
    assert deliver_owed(engine).delivered == 1
    assert deliver_owed(engine).messages == 0 and len(hook.posts) == 1


def test_concurrent_runs_send_each_change_once(history: History, hook: Webhook) -> None:
    add(history, hook.url())
    for n in range(6):
        history.change(summary=f"change {n}")
    with ThreadPoolExecutor(3) as pool:
        reports = list(pool.map(lambda _: deliver_owed(history.engine), range(3)))
    assert sum(report.delivered for report in reports) == 6
    assert (
        sorted(post["title"] for post in hook.posts)
        == sorted({post["title"] for post in hook.posts})
        and len(hook.posts) == 6
    )


def test_a_message_too_long_for_the_service_is_cut_cleanly(history: History, hook: Webhook) -> None:
    add(history, hook.url())
    history.change(sentences=[f"Clause {n} restricts automated access." for n in range(3000)])
    assert deliver_owed(history.engine).delivered == 1
    [post] = hook.posts
    assert len(post["message"]) <= 32768 and "Clause 0 restricts" in post["message"]
    assert re.search(r"… \d+ more\n", post["message"])
    assert post["message"].endswith("Source: " + WHATSAPP.url)


def test_failures_back_off_then_give_up_visibly(history: History) -> None:
    add(history, Webhook().url())
    history.change()
    deliver_owed(history.engine)
    assert deliver_owed(history.engine).retrying == 0  # still within its backoff
    later = datetime.now(UTC) + timedelta(minutes=2)
    assert deliver_owed(history.engine, now=later, max_attempts=2).failed == 1
    [row] = list_subscriptions(history.engine)
    assert (row.failed, row.pending, row.sent) == (1, 0, 0)
    assert failed_by_document(history.engine) == {WHATSAPP.key: 1}
    # Given up, it is tried again now and then, alone, to see whether the channel is back.
    probe = deliver_owed(history.engine, now=later + timedelta(days=1), max_attempts=2)
    assert (probe.retrying, probe.failed) == (0, 1)


def test_alerts_given_up_while_a_channel_was_down_go_once_it_is_back(history: History) -> None:
    """A channel down for a day (a mail server, a revoked token replaced) had its alerts given
    up after 10 attempts (about 16 hours of hourly runs), and they were never sent once it came
    back, a critical change among them, unless someone ran --retry-now. The oldest given up is
    tried again every 6 hours, alone; once one goes through, the rest follow in the same run."""
    hook = Webhook(status=503).start()
    try:
        add(history, hook.url(), "team")
        first = history.change(summary="first")
        history.change(summary="second", document=OPENAI)
        start = datetime.now(UTC)
        deliver_owed(history.engine, now=start, max_attempts=2)
        down = deliver_owed(history.engine, now=start + timedelta(hours=1), max_attempts=2)
        assert (down.failed, down.held.given_up) == (2, 2)
        # Still down 6 hours on: one probe, not every alert given up.
        probed = deliver_owed(history.engine, now=start + timedelta(hours=7), max_attempts=2)
        assert (probed.messages, probed.failed, len(probed.errors)) == (0, 1, 1)
        assert deliver_owed(history.engine, now=start + timedelta(hours=8)).errors == []
        hook.status = 200
        back = deliver_owed(history.engine, now=start + timedelta(hours=13), max_attempts=2)
    finally:
        hook.stop()
    assert (back.delivered, back.failed, back.held.given_up) == (2, 0, 0)
    assert [post["title"].rpartition(" — ")[2] for post in hook.posts] == ["first", "second"]
    assert hook.posts[0]["policywatch"]["changes"][0]["id"] == first
    [row] = list_subscriptions(history.engine)
    assert (row.sent, row.failed, row.last_error) == (2, 0, None)


def test_an_alert_sent_days_late_says_when_its_change_was_found(history: History) -> None:
    """An alert that waited out a channel down for days read as news of the day: nothing in it
    said the change was found two days before."""
    hook = Webhook(status=503).start()
    try:
        add(history, hook.url(), "team")
        history.change()
        found = datetime.now(UTC)
        deliver_owed(history.engine, now=found)
        hook.status = 200
        assert deliver_owed(history.engine, now=found + timedelta(days=2)).delivered == 1
        history.change(summary="on time", document=OPENAI)
        deliver_owed(history.engine)
    finally:
        hook.stop()
    late, on_time = (post["message"].splitlines()[0] for post in hook.posts)
    assert late == f"Found {found:%Y-%m-%d}, 2 days before this alert."
    assert not on_time.startswith("Found")


def test_an_alert_given_up_again_is_not_revived_in_the_same_run(history: History) -> None:
    """An alert the service refuses whatever the channel's state (too long for it, say) is not
    sent twice a run: failing as the probe, it was revived by the next alert going through,
    and failed again at once."""
    hook = Webhook(status=503).start()
    answers: list[int] = []

    def refuse_every_other() -> None:  # the probe first (the oldest), then the new alert
        hook.status = 503 if len(answers) % 2 == 0 else 200
        answers.append(hook.status)

    try:
        add(history, hook.url(), "team")
        history.change(summary="refused")
        start = datetime.now(UTC)
        assert deliver_owed(history.engine, now=start, max_attempts=1).failed == 1
        hook.on_post = refuse_every_other
        history.change(summary="new", document=OPENAI)
        run = deliver_owed(history.engine, now=start + timedelta(hours=7), max_attempts=1)
    finally:
        hook.stop()
    assert (run.delivered, run.failed, answers) == (1, 1, [503, 200])


def test_a_fetch_problem_given_up_is_not_sent_once_the_page_is_fetched_again(
    history: History,
) -> None:
    """The alert of a fetch problem given up is not tried again once its end is owed: sent
    after "[RESUMED] … tracked again", it would say the page fails."""
    hook = Webhook(status=503).start()
    try:
        add(history, hook.url(), categories=["fetch-issue"])
        for _ in range(3):
            history.repo.record_issue(WHATSAPP.key, Attempt(WHATSAPP.url), "timeout", "30 s")
        start = datetime.now(UTC)
        assert deliver_owed(history.engine, now=start, max_attempts=1).failed == 1
        history.change(severity="low")  # fetched again
        hook.status = 200
        later = start + timedelta(days=1)
        assert deliver_owed(history.engine, now=later, max_attempts=1).held.given_up == 1
    finally:
        hook.stop()
    assert [post["title"].split(" ")[0] for post in hook.posts] == ["[RESUMED]"]


def test_a_claimed_delivery_is_not_resent_until_its_lease_expires(
    history: History, hook: Webhook
) -> None:
    add(history, hook.url())
    history.change()
    deliver_owed(history.engine)
    # As if a run crashed after sending, before recording it: the row stays `sending`.
    with Session(history.engine) as session, session.begin():
        crashed = {"status": "sending", "claimed_at": datetime.now(UTC), "delivered_to": []}
        session.execute(update(Delivery).values(**crashed))
    assert deliver_owed(history.engine).messages == 0
    assert deliver_owed(history.engine, now=datetime.now(UTC) + timedelta(hours=1)).messages == 1
    assert len(hook.posts) == 2 and statuses(history) == ["sent"]
    # The resend names the same delivery: a receiver that has seen it can drop it.
    first, again = (post["policywatch"]["deliveries"] for post in hook.posts)
    assert first == again == [delivery_ids(history)[0]]


def test_a_delivery_sent_past_its_lease_is_not_sent_again(
    history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An endpoint that dribbles its answer (a byte a second: Apprise's 4 s without a byte never
    comes) held the send past the lease (30 minutes; 1.5 s here), and the next run, taking the
    delivery for a crashed one's, sent the alert a second time."""
    monkeypatch.setattr(notifier.delivery, "LEASE", timedelta(seconds=1.5))
    hook = Webhook(dribble=1.0).start()  # 8 bytes: 8 s
    try:
        add(history, hook.url())
        history.change()
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(deliver_owed, history.engine)
            while not hook.posts:
                time.sleep(0.05)
            time.sleep(3)  # twice the lease, the answer still coming
            assert deliver_owed(history.engine).messages == 0
            assert slow.result().delivered == 1
    finally:
        hook.stop()
    assert len(hook.posts) == 1 and statuses(history) == ["sent"]


def test_a_webhook_that_moved_is_an_error_not_an_alert_lost(history: History) -> None:
    """A webhook answering 301 (moved, or http:// sent on to https://) had its POST turned into
    a GET without the alert by the redirect followed: answered 200, the delivery was recorded
    sent, and nothing arrived. Now it fails, saying what to do."""
    hook = Webhook(moved_to="/new").start()
    try:
        add(history, hook.url("/old"), "moved")
        history.change()
        report = deliver_owed(history.engine)
    finally:
        hook.stop()
    assert report.delivered == 0 and report.retrying == 1
    [error] = report.errors
    assert error.startswith("moved: Failed to send JSON POST notification: ")
    assert "error=301. (a redirect, not followed: give the subscription the address" in error
    assert hook.gets == [] and hook.posts == []


@pytest.mark.parametrize(
    ("endpoint", "waited", "parameter"),
    [(silent_endpoint, "no answer", "rto"), (unconnectable_endpoint, "no connection", "cto")],
)
def test_a_webhook_that_times_out_is_said_to(
    history: History,
    endpoint: Callable[[], AbstractContextManager[socket.socket]],
    waited: str,
    parameter: str,
) -> None:
    """A webhook that took the connection and never answered, or never took it, failed with
    Apprise's 'A Connection error occurred', as one refusing it would: nothing said it was too
    slow, nor after how long, nor which URL parameter waits longer."""
    with endpoint() as server:
        add(history, f"json://127.0.0.1:{server.getsockname()[1]}/hook?cto=0.5&rto=0.5", "slow")
        history.change()
        report = deliver_owed(history.engine)
    assert report.retrying == 1
    assert report.errors == [
        f"slow: Timed out ({waited} within 0.5 s) sending JSON notification to 127.0.0.1"
        f" (to wait longer, add ?{parameter}=SECONDS to its URL)"
    ]


@pytest.mark.parametrize(
    ("where", "cause"),
    [
        ("json://user:s3cretPW@no-such-host.invalid/TOKENabc123", "the host name does not resolve"),
        ("json://user:s3cretPW@127.0.0.1:{free}/TOKENabc123", "connection refused"),
        (
            "jsons://user:s3cretPW@127.0.0.1:{tls}/TOKENabc123",
            "TLS certificate not trusted: self-signed certificate (?verify=no skips the check)",
        ),
        ("jsons://user:s3cretPW@127.0.0.1:{plain}/TOKENabc123", "TLS failed: wrong version number"),
        (
            "mailto://user:s3cretPW@127.0.0.1:{free}?mode=insecure&from=a@example.invalid&to=b@example.invalid",
            "connection refused",
        ),
    ],
)
def test_a_channel_that_cannot_be_reached_says_why(
    history: History, hook: Webhook, where: str, cause: str
) -> None:
    """A host name that does not resolve, a port nothing listens on and a certificate the
    sender does not trust all failed with Apprise's bare 'A Connection error occurred', which
    said neither what to fix nor where: the cause is said after it, the secrets still hidden."""
    receiver = Webhook(tls=True).start()
    try:
        url = where.format(free=free_port(), tls=receiver.port, plain=hook.port)
        add(history, url, "down")
        history.change()
        report = deliver_owed(history.engine)
    finally:
        receiver.stop()
    assert report.retrying == 1
    [error] = report.errors
    assert error.endswith(f": {cause}"), error
    assert "s3cretPW" not in error and "TOKENabc123" not in error
    assert list_subscriptions(history.engine)[0].last_error == error.removeprefix("down: ")


def test_a_burst_of_changes_is_one_alert_not_a_flood(history: History, hook: Webhook) -> None:
    """A crawl finding hundreds of pages changed at once (a site redesigned) sent one alert per
    change: a flood, most of it refused by the service's rate limit. Past BURST (10) owed at
    once, a subscription gets one alert listing them, most severe first."""
    add(history, hook.url(), "team")
    for n in range(BURST):
        history.change(summary=f"change {n}", severity="medium")
    history.change(summary="AI providers barred", severity="critical")
    report = deliver_owed(history.engine, base_url="https://review.example/")
    assert (report.messages, report.delivered) == (1, BURST + 1)
    [post] = hook.posts
    assert post["title"] == f"[CRITICAL] policywatch: {BURST + 1} changes at once"
    assert post["message"].splitlines()[1].startswith("[CRITICAL] WhatsApp")
    assert "Every change since " in post["message"]  # the rest, on the review page
    data = post["policywatch"]
    assert len(data["changes"]) == len(data["deliveries"]) == BURST + 1
    assert statuses(history) == ["sent"] * (BURST + 1)
    history.change(summary="one more")
    deliver_owed(history.engine)  # alone again: its own alert
    assert hook.posts[-1]["title"].endswith("— one more")


def test_filters_and_minimum_severity(history: History, hook: Webhook) -> None:
    add(history, hook.url("/whatsapp"), "whatsapp", services=["whatsapp"])
    add(history, hook.url("/ai"), "ai", tags=["ai"])
    add(history, hook.url("/doc"), "doc", documents=["OpenAI/Usage-Policies"])
    add(history, hook.url("/pricing"), "pricing", categories=["pricing"])
    add(history, hook.url("/low"), "low", min_severity="low")
    history.change(WHATSAPP, severity="high", summary="whatsapp high")
    history.change(OPENAI, severity="low", categories=["pricing"], summary="openai low pricing")
    history.change(OPENAI, severity="medium", summary="openai medium")
    history.change(WHATSAPP, severity=None, summary="whatsapp unrated")  # counts as info
    history.change(WHATSAPP, severity="critical", summary="noise", meaningful=False)
    deliver_owed(history.engine)
    received = {
        name: sorted(post["title"].split(" — ")[1] for post in hook.posts if name in post["title"])
        for name in ("whatsapp high", "openai low pricing", "openai medium", "unrated", "noise")
    }
    assert received == {
        "whatsapp high": ["whatsapp high", "whatsapp high"],  # whatsapp, low
        "openai low pricing": ["openai low pricing"],  # low only: pricing wants medium
        "openai medium": ["openai medium"] * 3,  # ai, doc, low
        "unrated": [],
        "noise": [],
    }


def test_a_digest_lists_a_periods_changes_most_severe_first(
    history: History, hook: Webhook
) -> None:
    add(history, hook.url(), digest="daily")
    day = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0)
    history.change(severity="medium", summary="medium one", at=day)
    history.change(OPENAI, severity="critical", summary="critical one", at=day + timedelta(hours=2))
    history.change(severity="high", summary="next day", at=day + timedelta(days=1))
    early = day + timedelta(hours=12)
    assert deliver_owed(history.engine, now=early, retry_now=True).messages == 0
    report = deliver_owed(history.engine, now=day + timedelta(days=1, hours=12))
    assert (report.messages, report.delivered) == (1, 2)
    [post] = hook.posts
    assert post["title"].startswith("[CRITICAL] policywatch daily digest")
    lines = post["message"]
    assert lines.index("critical one") < lines.index("medium one") and "next day" not in lines
    data = post["policywatch"]
    assert data["kind"] == "digest" and len(data["deliveries"]) == 2
    assert [change["summary"] for change in data["changes"]] == ["critical one", "medium one"]
    assert [change["review_url"] for change in data["changes"]] == [None, None]  # no base URL
    assert deliver_owed(history.engine, now=day + timedelta(days=2, hours=1)).delivered == 1


def test_the_periods_a_digest_owes_at_once_go_in_one_message(
    history: History, hook: Webhook
) -> None:
    """Days without a run (or a pause) leave several periods owed: a daily digest resumed after
    three weeks is one message listing them, from the first period's day, not 21 messages."""
    add(history, hook.url(), digest="daily")
    day = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0)
    for n in range(3):
        history.change(severity="medium", summary=f"day {n}", at=day + timedelta(days=n))
    report = deliver_owed(history.engine, now=day + timedelta(days=3, hours=12))
    assert (report.messages, report.delivered) == (1, 3)
    [post] = hook.posts
    last = (day + timedelta(days=2)).date().isoformat()
    assert f"daily digest, {day.date().isoformat()} to {last}: 3 changes" in post["title"]
    assert all(f"day {n}" in post["message"] for n in range(3))


def test_fetch_problems_alert_once_and_once_more_when_resolved(
    history: History, hook: Webhook
) -> None:
    add(history, hook.url(), categories=["fetch-issue"])
    with Session(history.engine) as session, session.begin():
        session.execute(
            update(Document)
            .where(col(Document.key) == WHATSAPP.key)
            .values(
                issue="timeout",
                issue_detail="no answer in 30 s",
                issue_streak=3,
                issue_since=datetime.now(UTC),
            )
        )
    history.change(OPENAI)  # a change, not a fetch issue: not for this subscription
    deliver_owed(history.engine)
    deliver_owed(history.engine)
    [alert] = hook.posts
    assert alert["title"].startswith("[FETCH ISSUE] WhatsApp · Business Solution Terms")
    assert re.search(
        r"Failing since \d{4}-\d\d-\d\d \d\d:\d\d UTC: no answer in 30 s", alert["message"]
    )
    assert "catalog preview" not in alert["message"]  # a timeout is the site's, not the page's
    history.change(severity="low")  # a good fetch clears the issue
    deliver_owed(history.engine)
    deliver_owed(history.engine)
    assert [post["title"].split(" ")[0] for post in hook.posts] == ["[FETCH", "[RESUMED]"]


def test_a_selector_that_matches_nothing_is_alerted_with_how_to_fix_it(
    history: History, hook: Webhook
) -> None:
    add(history, hook.url(), categories=["fetch-issue"])
    for _ in range(3):
        history.repo.record_issue(
            WHATSAPP.key,
            Attempt(WHATSAPP.url),
            "selector-matched-nothing",
            "no element matches main",
        )
    deliver_owed(history.engine)
    [alert] = hook.posts
    assert (
        f"The page may have been redesigned: policywatch catalog preview {WHATSAPP.key} shows what"
        " its selectors keep now; a bundled declaration is fixed in a file of yours with"
        " replaces_bundled: true."
    ) in alert["message"]


def test_fetch_problems_owed_together_arrive_in_one_alert(history: History, hook: Webhook) -> None:
    """A machine offline for days fails every document: one alert lists them, then one more
    when they are back, rather than one per document each way."""
    add(history, hook.url(), categories=["fetch-issue"])
    failures = [(WHATSAPP, "dns-error", "no such host"), (OPENAI, "timeout", "no answer in 30 s")]
    for document, kind, detail in failures:
        for _ in range(3):
            history.repo.record_issue(document.key, Attempt(document.url), kind, detail)
    deliver_owed(history.engine)
    [alert] = hook.posts
    assert alert["title"] == "[FETCH ISSUE] 2 documents failing to fetch (timeout ×1, dns-error ×1)"
    lines = alert["message"].splitlines()
    [openai] = [line for line in lines if line.startswith("OpenAI · Usage Policies — 3 failed")]
    [whatsapp] = [line for line in lines if line.startswith("WhatsApp · Business Solution Terms")]
    assert re.search(r"fetches since \d{4}-\d\d-\d\d \d\d:\d\d UTC: no answer in 30 s", openai)
    assert "no such host" in whatsapp and "Each has failed 3 or more fetches in a row." in lines
    assert lines.index(openai) < lines.index(whatsapp)
    assert statuses(history) == ["sent", "sent"]
    data = alert["policywatch"]
    assert (data["kind"], data["changes"]) == ("fetch-issue", [])
    assert [(d["key"], d["issue"], d["streak"]) for d in data["documents"]] == [
        (OPENAI.key, "timeout", 3),
        (WHATSAPP.key, "dns-error", 3),
    ]

    history.change(WHATSAPP, severity="low")  # good fetches clear the issues
    history.change(OPENAI, severity="low")
    deliver_owed(history.engine)
    assert len(hook.posts) == 2
    assert hook.posts[1]["title"] == "[RESUMED] 2 documents — tracked again"
    assert "OpenAI · Usage Policies (failing since" in hook.posts[1]["message"]
    resumed = hook.posts[1]["policywatch"]
    assert resumed["kind"] == "fetch-resumed"
    assert [(d["key"], d["issue"], d["since"]) for d in resumed["documents"]] == [
        (d["key"], None, d["since"]) for d in data["documents"]
    ]
    assert deliver_owed(history.engine).messages == 0


def test_email_arrives_with_subject_and_html_body(history: History) -> None:
    mailbox = Mailbox().start()
    try:
        add(history, mailbox.url(), "mail")
        history.change(summary="AI providers barred", sentences=["AI providers & bots: barred."])
        assert deliver_owed(history.engine, base_url="https://review.example").delivered == 1
    finally:
        mailbox.stop()
    [mail] = mailbox.messages
    parsed = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert (
        parsed["Subject"]
        .strip()
        .startswith("[CRITICAL] WhatsApp · Business Solution Terms — AI providers barred")
    )
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<ins>AI providers &amp; bots: barred." in html
    # Mail clients that show the plain-text part see what was added as the text form marks it.
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "+ AI providers & bots: barred." in text
    assert 'href="https://review.example/changes/' in html


def test_a_mail_refused_by_one_recipient_is_retried_to_that_one_only(history: History) -> None:
    """Apprise mails each recipient of `to=a,b,c` a message of its own; the server refusing one
    failed the whole send, and each retry mailed the two who had it again. The refused one is
    named in the error, and retried alone."""
    mailbox = Mailbox().start()
    mailbox.refused.add("bob@example.invalid")
    try:
        add(history, mailbox.url("alice@example.invalid,bob@example.invalid,carol@example.invalid"))
        history.change()
        for retry_now in (False, True):
            report = deliver_owed(history.engine, retry_now=retry_now)
            assert (report.delivered, report.retrying) == (0, 1)
            [error] = report.errors
            assert (
                'Sending email to "bob@example.invalid" failed: the server answered 550 ' in error
            )
            assert error.endswith("(2 of 3 destinations have it, and are not sent it again)")
        assert sorted(mail["To"] for mail in mailbox.messages) == [
            "alice@example.invalid",
            "carol@example.invalid",
        ]
        [row] = list_subscriptions(history.engine)
        assert row.pending == 1 and row.last_error and "bob@example.invalid" in row.last_error

        mailbox.refused.clear()  # the address fixed on the server's side
        assert deliver_owed(history.engine, retry_now=True).delivered == 1
        assert deliver_owed(history.engine, retry_now=True).messages == 0
    finally:
        mailbox.stop()
    assert sorted(mail["To"] for mail in mailbox.messages) == [
        "alice@example.invalid",
        "bob@example.invalid",
        "carol@example.invalid",
    ]
    assert statuses(history) == ["sent"]


def test_a_mail_to_one_refused_recipient_says_the_servers_reply(history: History) -> None:
    """Apprise logs the reply of a server refusing a lone recipient at DEBUG only: the error
    was 'Sending email to "bob@…" failed.', with no word of why (a mistyped address)."""
    mailbox = Mailbox().start()
    mailbox.refused.add("bob@example.invalid")
    try:
        add(history, mailbox.url("bob@example.invalid"))
        history.change()
        [error] = deliver_owed(history.engine).errors
    finally:
        mailbox.stop()
    assert error == (
        'mailto: Sending email to "bob@example.invalid" failed: the server answered 550 5.1.1'
        " <bob@example.invalid>: Recipient address rejected: User unknown"
    ), error


def test_a_mail_whose_cc_is_refused_names_the_cc(history: History) -> None:
    """The error was Apprise's last warning alone, 'Sending email to "alice@…" failed.', of a
    mail Alice had: the server had refused its cc, as the warning before it said."""
    mailbox = Mailbox().start()
    mailbox.refused.add("bob@example.invalid")
    try:
        add(history, mailbox.url("alice@example.invalid") + "&cc=bob@example.invalid")
        history.change()
        [error] = deliver_owed(history.engine).errors
    finally:
        mailbox.stop()
    assert 'Sending email to "bob@example.invalid" failed: the server answered 550 ' in error
    assert "Recipient address rejected: User unknown" in error


def test_each_cc_and_bcc_is_mailed_once_and_a_refused_one_fails_alone(history: History) -> None:
    """Apprise copies the cc and bcc addresses onto each recipient's mail: a cc was mailed
    once per recipient, and one refused failed every recipient's send though the server had
    taken it for them, so each retry mailed them all again. Each address is sent its own mail,
    once; a refused one is retried alone."""
    mailbox = Mailbox().start()
    mailbox.refused.add("bob@example.invalid")
    to = "alice@example.invalid,carol@example.invalid"
    try:
        add(
            history,
            f"{mailbox.url(to)}&cc=bob@example.invalid,dan@example.invalid&bcc=eve@x.invalid",
        )
        history.change()
        for retry_now in (False, True):
            report = deliver_owed(history.engine, retry_now=retry_now)
            assert (report.delivered, report.retrying) == (0, 1)
            [error] = report.errors
            assert 'Sending email to "bob@example.invalid" failed: the server answered 550' in error
            assert error.endswith("(4 of 5 destinations have it, and are not sent it again)")
        mailbox.refused.clear()
        assert deliver_owed(history.engine, retry_now=True).delivered == 1
    finally:
        mailbox.stop()
    assert sorted(mailbox.recipients) == [
        "alice@example.invalid",
        "bob@example.invalid",
        "carol@example.invalid",
        "dan@example.invalid",
        "eve@x.invalid",
    ]
    assert statuses(history) == ["sent"]


def test_a_recipient_who_has_the_mail_keeps_it_when_the_url_is_edited(
    history: History,
) -> None:
    """Told that bob@… refuses the mail, the user takes him off the URL: left with one
    address, the mail URL was a destination named otherwise, and Alice, who had the alert,
    was mailed it again."""
    mailbox = Mailbox().start()
    mailbox.refused.add("bob@example.invalid")
    try:
        add(history, mailbox.url("alice@example.invalid,bob@example.invalid"), "team")
        history.change()
        assert deliver_owed(history.engine).retrying == 1
        edit_subscription(history.engine, "team", {"url": mailbox.url("alice@example.invalid")})
        report = deliver_owed(history.engine, retry_now=True)
    finally:
        mailbox.stop()
    assert mailbox.recipients == ["alice@example.invalid"]
    assert (report.messages, report.delivered) == (0, 1) and statuses(history) == ["sent"]


def test_a_delivery_recorded_before_mail_destinations_were_named_by_address_is_not_resent(
    history: History, hook: Webhook
) -> None:
    """A mail URL of one address beside another URL was named by the URL, masked: a delivery
    pending across the upgrade that had reached it is not mailed there again."""
    mailbox = Mailbox().start()
    try:
        mail = mailbox.url("alice@example.invalid")
        add(history, f"{mail} {hook.url()}")
        history.change()
        hook.status = 500
        assert deliver_owed(history.engine).retrying == 1
        with Session(history.engine) as session, session.begin():
            session.execute(update(Delivery).values(delivered_to=[Channel(mail).masked]))
        hook.status = 200
        assert deliver_owed(history.engine, retry_now=True).delivered == 1
    finally:
        mailbox.stop()
    assert mailbox.recipients == ["alice@example.invalid"] and len(hook.posts) == 1


def test_a_subscription_of_several_urls_retries_only_those_that_failed(
    history: History, hook: Webhook
) -> None:
    down = Webhook()  # not started: its port is closed
    add(history, f"{hook.url('/up')} {down.url('/down')}")
    history.change()
    report = deliver_owed(history.engine)
    assert report.retrying == 1 and f"{down.url('/d...n')}: " in report.errors[0]
    down.start()
    try:
        assert deliver_owed(history.engine, retry_now=True).delivered == 1
    finally:
        down.stop()
    assert (hook.paths, down.paths) == (["/up"], ["/down"])


def test_a_retried_alert_joining_a_digest_goes_only_where_it_failed(
    history: History, hook: Webhook
) -> None:
    """Day one's digest reached /up and not /down; day two's change joined its retry in one
    digest, which went to both, so /up was sent day one's change a second time. Each
    destination is sent the changes it lacks: /up day two's alone, /down both."""
    down = Webhook()  # not started: its port is closed
    add(history, f"{hook.url('/up')} {down.url('/down')}", digest="daily")
    day = (datetime.now(UTC) + timedelta(days=2)).replace(hour=8, minute=0)
    first = history.change(summary="day one", at=day)
    assert deliver_owed(history.engine, now=day + timedelta(days=1)).retrying == 1
    second = history.change(summary="day two", at=day + timedelta(days=1, hours=1))
    down.start()
    try:
        report = deliver_owed(history.engine, now=day + timedelta(days=2, hours=1))
    finally:
        down.stop()
    ids = delivery_ids(history)
    sent = [
        (path, post["policywatch"]["deliveries"])
        for path, post in zip([*hook.paths, *down.paths], [*hook.posts, *down.posts], strict=True)
    ]
    assert sent == [("/up", [ids[0]]), ("/up", [ids[1]]), ("/down", ids)]
    assert (report.messages, report.delivered, report.errors) == (2, 2, [])
    assert [c["id"] for c in down.posts[0]["policywatch"]["changes"]] == [first, second]
    assert statuses(history) == ["sent", "sent"]


def test_a_run_killed_mid_send_does_not_resend_where_it_was_taken(
    history: History, hook: Webhook
) -> None:
    """A run killed (SIGKILL, a cron timeout) while sending to the second of two URLs had
    recorded nothing: after its lease the alert went to both again, the first included. Each
    destination that takes a message is on record at once."""
    hanging = Webhook().start()
    add(history, f"{hook.url('/first')} {hanging.url('/second')}")
    history.change()
    script = "import sys; from notifier import deliver_owed; from store.db import open_store;"
    script += "deliver_owed(open_store(sys.argv[1]))"
    url = history.engine.url.render_as_string(hide_password=False)
    run = subprocess.Popen([sys.executable, "-c", script, url])
    hanging.on_post = lambda: os.kill(run.pid, signal.SIGKILL)
    try:
        assert run.wait(timeout=60) == -signal.SIGKILL
        hanging.on_post = None
        assert statuses(history) == ["sending"]
        later = datetime.now(UTC) + timedelta(hours=1)  # its lease over
        assert deliver_owed(history.engine, now=later).delivered == 1
    finally:
        hanging.stop()
    assert (hook.paths, hanging.paths) == (["/first"], ["/second", "/second"])
    assert statuses(history) == ["sent"]


def test_an_overlapping_run_does_not_resend_what_the_other_delivered(
    history: History, hook: Webhook
) -> None:
    """Cron's `notify` and a `notify --retry-now` overlap: the second lists an alert, sends
    another subscription's first, and meanwhile the first run sends the alert to /up (/down
    refusing it). The second then claims it with what it had listed, nothing delivered, and
    sent /up the alert again."""
    add(history, hook.url("/slow"), "slow")
    add(history, f"{hook.url('/up')} {Webhook().url('/down')}", "split")
    history.change()
    overlapping: list[object] = []
    hook.on_post = lambda: overlapping or overlapping.append(deliver_owed(history.engine))
    report = deliver_owed(history.engine, retry_now=True)
    assert hook.paths == ["/slow", "/up"]
    assert (report.delivered, report.retrying) == (1, 1) and statuses(history) == [
        "sent",
        "pending",
    ]


def test_a_url_edited_while_a_run_sends_is_the_one_sent_to(history: History, hook: Webhook) -> None:
    """The run listed both alerts, then the user replaced the subscription's URL while it sent
    the first: the second went to the URL just replaced (a recipient taken off, a leaked
    token)."""
    add(history, hook.url("/old"), "team")
    history.change(summary="AI providers barred")
    history.change(OPENAI, summary="Scraping banned")
    edited: list[bool] = []
    hook.on_post = lambda: (
        edited
        or edited.append(edit_subscription(history.engine, "team", {"url": hook.url("/new")}))
    )
    assert deliver_owed(history.engine).delivered == 2
    assert hook.paths == ["/old", "/new"]


def test_a_subscription_removed_while_a_run_queues_its_alerts(
    history: History, hook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`subscriptions remove` landing while `notify` records what is owed: on PostgreSQL the
    run then inserted alerts of a subscription gone (a foreign key error, the run ended with
    nothing sent), or the removal left them. The removal waits for the run to record them,
    then removes them with it; the other subscriptions' alerts go."""
    add(history, hook.url("/kept"), "kept")
    add(history, hook.url("/removed"), "removed")
    history.change()
    read, removed = threading.Event(), threading.Event()
    coming = owed._coming_deadlines

    def reading(*args: object) -> object:
        read.set()
        removed.wait(timeout=5)  # the removal, unless it waits for this run
        return coming(*args)

    monkeypatch.setattr(owed, "_coming_deadlines", reading)
    with ThreadPoolExecutor(2) as pool:
        run = pool.submit(deliver_owed, history.engine)
        read.wait(timeout=60)
        removal = pool.submit(remove_subscription, history.engine, "removed")
        removal.add_done_callback(lambda _: removed.set())
        assert removal.result() is True
        assert run.result().errors == []
    assert hook.paths in (["/kept"], ["/kept", "/removed"])
    assert [row.name for row in list_subscriptions(history.engine)] == ["kept"]
    assert statuses(history) == ["sent"]


def test_a_send_trickling_past_its_time_limit_fails_and_is_retried(history: History) -> None:
    """An endpoint answering a byte every second never trips Apprise's 4 s without a byte:
    it held the run as long as it went on. Past `send_timeout` the send fails, the run goes on
    to the next subscription, and the delivery is retried as any failure."""
    trickling = Webhook(dribble=3.0).start()  # 8 bytes: 24 s
    try:
        add(history, trickling.url(), "slow")
        add(history, Webhook().url(), "down")  # after it: reached all the same
        history.change()
        started = time.monotonic()
        report = deliver_owed(history.engine, send_timeout=1.5)
        assert time.monotonic() - started < 15  # not the 24 s of the answer
    finally:
        trickling.stop()
    assert (report.delivered, report.retrying) == (0, 2)
    assert report.errors[0] == "slow: no complete answer within 1.5 s"
    assert report.errors[1].startswith("down: ")
    with Session(history.engine) as session:
        rows = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
    assert [(row.status, row.attempts) for row in rows] == [("pending", 1), ("pending", 1)]


def test_a_change_the_page_withdrew_is_taken_back_once(history: History, hook: Webhook) -> None:
    """Alerted that AI providers are barred, a developer starts shutting down their bot; a week
    later the page reads as before. The undoing change is noise (its text was seen before), so
    no one was told: the subscription that got the alert is now told it was withdrawn, once;
    those that never got it (filtered out, or their channel down) are not."""
    add(history, hook.url("/alerted"), "alerted")
    add(history, hook.url("/openai"), "openai", services=["OpenAI"])
    add(history, Webhook().url(), "down")  # nothing listens: its alert stays pending
    summary = "AI providers barred from the WhatsApp Business Solution"
    ban = history.change(summary=summary, effective=date(2027, 1, 15))
    deliver_owed(history.engine, base_url="https://review.example/")
    [alert] = hook.posts
    assert alert["policywatch"]["kind"] == "change"

    undone = withdraw(history, ban)
    add(history, hook.url("/late"), "late")  # made after the ban: never alerted of it
    report = deliver_owed(history.engine, base_url="https://review.example/")
    assert (report.messages, report.delivered) == (1, 1)
    [(path, post)] = list(zip(hook.paths, hook.posts, strict=True))[1:]
    since = datetime.now(UTC).date().isoformat()
    assert path == "/alerted"
    assert post["title"] == (
        f"[WITHDRAWN] WhatsApp · Business Solution Terms — {summary}: the page reads again as"
        f" before this change (since {since})"
    )
    assert f"Alerted {since} (change {ban}, found {since}, critical)" in post["message"]
    assert f"since {since} (change {undone})" in post["message"]
    assert f"https://review.example/changes/{ban}" in post["message"]
    data = post["policywatch"]
    assert (data["kind"], data["subscription"], data["documents"]) == ("withdrawn", "alerted", [])
    [change] = data["changes"]
    assert (change["id"], change["reverted"]["change_id"]) == (ban, undone)
    assert change["review_url"] == f"https://review.example/changes/{ban}"

    assert deliver_owed(history.engine).messages == 0  # never twice
    assert len(hook.posts) == 2


def test_a_digest_subscription_hears_of_a_withdrawal_at_once(
    history: History, hook: Webhook
) -> None:
    """A reminder goes on its day, not in the week's digest; a withdrawal goes at once, on its
    own, after the digest that listed the change."""
    add(history, hook.url(), digest="weekly")
    monday = datetime.now(UTC).replace(hour=8, minute=0) + timedelta(days=7)
    monday -= timedelta(days=monday.weekday())
    ban = history.change(at=monday)
    history.change(OPENAI, severity="high", summary="Scraping banned", at=monday)
    next_week = monday + timedelta(days=7, hours=1)
    assert deliver_owed(history.engine, now=next_week).delivered == 2
    undone = withdraw(history, ban, at=next_week + timedelta(hours=1))
    report = deliver_owed(history.engine, now=next_week + timedelta(hours=2))
    assert (report.messages, report.delivered, report.held.for_digest) == (1, 1, 0)
    digest, withdrawal = hook.posts
    assert digest["policywatch"]["kind"] == "digest"
    assert withdrawal["title"].startswith("[WITHDRAWN] WhatsApp · Business Solution Terms")
    [change] = withdrawal["policywatch"]["changes"]
    assert (change["id"], change["reverted"]["change_id"]) == (ban, undone)


def test_a_withdrawn_change_put_back_is_told_as_standing_again(
    history: History, hook: Webhook
) -> None:
    """Told the ban no longer stands, a developer keeps their bot; the page then puts it back,
    and that flapping is noise too: without this, they would never hear it."""
    add(history, hook.url("/told"), "told")
    summary = "AI providers barred from the WhatsApp Business Solution"
    ban = history.change(summary=summary)
    deliver_owed(history.engine)
    withdraw(history, ban)
    deliver_owed(history.engine)
    add(history, hook.url("/late"), "late")  # never told of the withdrawal
    back = reinstate(history, ban)
    report = deliver_owed(history.engine)
    assert (report.messages, report.delivered) == (1, 1)
    assert hook.paths == ["/told"] * 3
    post = hook.posts[-1]
    since = datetime.now(UTC).date().isoformat()
    assert post["title"] == (
        f"[REINSTATED] WhatsApp · Business Solution Terms — {summary}: the page reads again as"
        f" after this change (since {since})"
    )
    assert (
        f"since {since} (change {back}) the page reads again as after change {ban}"
        in (post["message"])
    )
    data = post["policywatch"]
    [change] = data["changes"]
    assert (data["kind"], change["id"], change["reinstated"]["change_id"]) == (
        "reinstated",
        ban,
        back,
    )
    withdraw(history, ban)  # flipping on is flapping: told once each way
    assert deliver_owed(history.engine).messages == 0


def test_a_withdrawal_is_retried_like_any_alert(history: History) -> None:
    """A change pending when the page took it back is no news to withdraw; once its alert is
    sent, the withdrawal is owed, and a channel down for it retries it as any alert."""
    hook = Webhook()
    add(history, hook.url())
    ban = history.change()
    withdraw(history, ban)
    assert deliver_owed(history.engine).retrying == 1  # the alert alone: it was never sent
    hook.start()
    try:
        assert deliver_owed(history.engine, retry_now=True).delivered == 1
        hook.stop()
        assert deliver_owed(history.engine).retrying == 1  # the withdrawal, owed now
        hook.start()
        assert deliver_owed(history.engine, retry_now=True).delivered == 1
        assert [post["policywatch"]["kind"] for post in hook.posts] == ["change", "withdrawn"]
        assert statuses(history) == ["sent", "sent"]
    finally:
        hook.stop()


def kinds(hook: Webhook) -> list[str]:
    return [post["policywatch"]["kind"] for post in hook.posts]


def test_a_withdrawal_the_page_overtook_is_settled_unsent(history: History) -> None:
    """The page undid the ban while the channel was down, then put it back before the channel
    recovered: sent then, the withdrawal would say "no longer stands" of a clause that stands.
    It is settled unsent and counted; never told of a withdrawal, no one is owed its
    reinstatement."""
    hook = Webhook().start()
    try:
        add(history, hook.url(), "told")
        ban = history.change()
        deliver_owed(history.engine)
        hook.stop()
        withdraw(history, ban)
        assert deliver_owed(history.engine).retrying == 1  # the withdrawal, its channel down
        reinstate(history, ban)
        hook.start()
        report = deliver_owed(history.engine, retry_now=True)
        assert (report.messages, report.retrying, report.superseded) == (0, 0, {"withdrawn": 1})
        assert statuses(history) == ["sent", "superseded"]
        assert deliver_owed(history.engine, retry_now=True).messages == 0
        assert kinds(hook) == ["change"] and statuses(history) == ["sent", "superseded"]
        [row] = list_subscriptions(history.engine)
        assert (row.sent, row.pending, row.failed, row.superseded) == (1, 0, 0, 1)
        withdraw(history, ban)  # undone again: this time the subscriber hears of it
        assert deliver_owed(history.engine).messages == 1
        assert kinds(hook) == ["change", "withdrawn"]
        assert statuses(history) == ["sent", "superseded", "sent"]
    finally:
        hook.stop()


def test_a_withdrawal_the_page_overtakes_during_the_run_is_settled_unsent(
    history: History, hook: Webhook
) -> None:
    """The page puts the ban back while the run sends the first of two withdrawals: the
    second, asked about as it is claimed, is settled unsent, as one found overtaken before the
    run began would be; the page's state was read too early when it was asked before `due`."""
    add(history, hook.url("/first"), "first")
    add(history, hook.url("/second"), "second")
    ban = history.change()
    deliver_owed(history.engine)
    withdraw(history, ban)
    reinstated: list[int] = []
    hook.on_post = lambda: reinstated or reinstated.append(reinstate(history, ban))
    report = deliver_owed(history.engine)
    assert (report.messages, report.superseded) == (1, {"withdrawn": 1})
    assert kinds(hook) == ["change", "change", "withdrawn"] and hook.paths[-1] == "/first"
    assert statuses(history) == ["sent", "sent", "sent", "superseded"]
    assert deliver_owed(history.engine).messages == 1  # the first is told it stands again
    assert kinds(hook)[-1] == "reinstated" and hook.paths[-1] == "/first"


def test_a_reinstatement_the_page_overtook_is_settled_unsent(history: History) -> None:
    """Told of the withdrawal; the page puts the ban back while the channel is down, then undoes
    it again: the withdrawal the subscriber heard of stands, and the reinstatement goes
    unsent."""
    hook = Webhook().start()
    try:
        add(history, hook.url())
        ban = history.change()
        deliver_owed(history.engine)
        withdraw(history, ban)
        deliver_owed(history.engine)
        hook.stop()
        reinstate(history, ban)
        assert deliver_owed(history.engine).retrying == 1  # the reinstatement
        withdraw(history, ban)
        hook.start()
        report = deliver_owed(history.engine, retry_now=True)
        assert (report.messages, report.superseded) == (0, {"reinstated": 1})
        assert kinds(hook) == ["change", "withdrawn"]
        assert statuses(history) == ["sent", "sent", "superseded"]
    finally:
        hook.stop()


def test_a_paused_subscription_holds_what_it_is_owed_until_resumed(
    history: History, hook: Webhook
) -> None:
    """Paused, a subscription is still queued for what it is owed, and caught up: nothing of it
    is sent until it is resumed, and then all of it is."""
    add(history, hook.url(), "team")
    assert pause_subscription(history.engine, "team") == Switched(was_active=True)
    history.change(summary="AI providers barred")
    report = deliver_owed(history.engine)
    assert (report.messages, report.held.for_paused, report.held.paused) == (0, 1, 1)
    assert hook.posts == [] and statuses(history) == ["pending"]
    history.change(OPENAI, summary="Scraping banned")  # after a run marked the first queued
    deliver_owed(history.engine)
    [row] = list_subscriptions(history.engine)
    assert (row.active, row.pending, row.held, row.to_json()["held"]) == (False, 2, 2, 2)
    resumed = resume_subscription(history.engine, "team", datetime.now(UTC))
    assert resumed == Switched(was_active=False, held=2)
    assert deliver_owed(history.engine).delivered == 2
    assert [post["title"].split(" — ")[1] for post in hook.posts] == [
        "AI providers barred",
        "Scraping banned",
    ]


def test_a_pause_landing_while_a_run_sends_holds_what_it_has_not_sent(
    history: History, hook: Webhook
) -> None:
    """The run listed both alerts before the pause; the one it had not claimed yet waits."""
    add(history, hook.url(), "team")
    history.change(summary="AI providers barred")
    history.change(OPENAI, summary="Scraping banned")

    def pause() -> None:
        pause_subscription(history.engine, "team")

    hook.on_post = pause
    report = deliver_owed(history.engine)
    assert (report.delivered, report.held.for_paused) == (1, 1)
    assert len(hook.posts) == 1 and statuses(history) == ["sent", "pending"]
    hook.on_post = None
    resume_subscription(history.engine, "team", datetime.now(UTC))
    assert deliver_owed(history.engine).delivered == 1 and len(hook.posts) == 2


def test_resuming_with_skip_held_settles_what_was_held_unsent(
    history: History, hook: Webhook
) -> None:
    add(history, hook.url(), "team")
    pause_subscription(history.engine, "team")
    history.change()
    deliver_owed(history.engine)
    resumed = resume_subscription(history.engine, "team", datetime.now(UTC), skip_held=True)
    assert resumed == Switched(was_active=False, held=0, skipped=1)
    assert deliver_owed(history.engine, retry_now=True).messages == 0
    assert hook.posts == [] and statuses(history) == ["skipped"]
    [row] = list_subscriptions(history.engine)
    assert (row.active, row.pending, row.skipped) == (True, 0, 1)
    history.change(OPENAI)  # what comes after the resumption is sent
    assert deliver_owed(history.engine).delivered == 1 and len(hook.posts) == 1


def test_the_end_of_a_fetch_problem_skipped_on_resuming_is_not_told(
    history: History, hook: Webhook
) -> None:
    """A subscriber who let a held fetch problem go (`--skip-held`) never heard of it: "fetched
    again" about it, sent once the site came back, told the end of news never told."""
    add(history, hook.url(), "ops", categories=["fetch-issue"])
    pause_subscription(history.engine, "ops")
    for _ in range(3):
        history.repo.record_issue(WHATSAPP.key, Attempt(WHATSAPP.url), "timeout", "no answer")
    deliver_owed(history.engine)
    resume_subscription(history.engine, "ops", datetime.now(UTC), skip_held=True)
    history.change(severity="low")  # a good fetch clears the issue
    deliver_owed(history.engine)
    assert hook.posts == [] and statuses(history) == ["skipped"]


def test_a_withdrawal_is_held_for_a_subscription_paused_after_its_alert(
    history: History, hook: Webhook
) -> None:
    add(history, hook.url(), "team")
    change_id = history.change()
    deliver_owed(history.engine)
    pause_subscription(history.engine, "team")
    withdraw(history, change_id)
    deliver_owed(history.engine)
    assert kinds(hook) == ["change"] and statuses(history) == ["sent", "pending"]
    resume_subscription(history.engine, "team", datetime.now(UTC))
    deliver_owed(history.engine)
    assert kinds(hook) == ["change", "withdrawn"]


def test_a_title_sent_within_the_body_limit_leaves_the_body_room_for_it(
    history: History, hook: Webhook
) -> None:
    """Discord (and Fluxer, its self-hosted kin, here on loopback) sends `title\\r\\nbody` as one
    message of at most 2,000 characters and refuses a longer one: the body was cut to 2,000 and
    the title came on top, so every long alert was refused, retried and given up."""
    add(history, f"fluxer://127.0.0.1:{hook.port}/1234567890/abcdefghijTOKENxyz123", "chat")
    history.change(sentences=[f"Clause {n} restricts automated access." for n in range(300)])
    assert deliver_owed(history.engine).delivered == 1
    [post] = hook.posts
    assert len(post["content"]) <= 2000
    assert post["content"].startswith("[CRITICAL] WhatsApp")
    assert re.search(r"… \d+ more\n", post["content"])
    assert post["content"].endswith("Source: " + WHATSAPP.url)


@pytest.mark.parametrize("overflow", ["split", "truncate"])
def test_an_alert_fitted_to_the_limit_is_neither_split_nor_cut_by_apprise(
    history: History, hook: Webhook, overflow: str
) -> None:
    """With Apprise's `?overflow=split` or `truncate` (the usual advice for Discord's 2,000
    characters), Apprise keeps room beside the title for a part counter (` [1/2]`): the alert,
    fitted to the 2,000 less the title, went in two messages, the review link alone in the
    second, or was cut in the middle of the review link."""
    url = f"fluxer://127.0.0.1:{hook.port}/1234567890/abcdefghijTOKENxyz123?overflow={overflow}"
    add(history, url, "chat")
    change_id = history.change(sentences=[f"Clause {n} restricts access." for n in range(300)])
    assert deliver_owed(history.engine, base_url="https://review.example/").delivered == 1
    [post] = hook.posts
    assert len(post["content"]) <= 2000
    assert post["content"].endswith(
        f"Review this change: https://review.example/changes/{change_id}"
    )


def test_a_title_put_into_the_body_is_escaped_as_the_body_is(
    history: History, hook: Webhook
) -> None:
    """A service with no title field (Rocket.Chat, Telegram) gets the title as the body's first
    line, in the body's markup: a summary's `*` and `[…](…)` were Markdown there, where the
    same words in the body are escaped."""
    webhook = "WebhookTOKENabcdef123"
    add(history, f"rocket://{webhook}@127.0.0.1:{hook.port}/?mode=webhook&webhook={webhook}")
    history.change(summary="Bots *must* not use_the [API](x)", sentences=["Bots *must* stop."])
    assert deliver_owed(history.engine).delivered == 1
    [post] = hook.posts
    heading, _, body = post["text"].partition("\n")
    assert heading.endswith(r"Bots \*must\* not use\_the \[API\](x)")
    assert r"Bots \*must\* stop." in body
    assert len(post["text"]) <= 1000


def test_an_ntfy_alert_stays_within_ntfys_message_size(history: History, hook: Webhook) -> None:
    """An ntfy server turns a message over 4,096 bytes into a file (`attachment.txt`), shown
    on the phone in place of the alert; Apprise let 7,800 characters through, and a digest's
    `·` and `—` weigh more than a byte each."""
    add(history, f"ntfy://127.0.0.1:{hook.port}/alerts", "phone")
    history.change(sentences=[f"Clause {n} · restricts — automated access." for n in range(300)])
    assert deliver_owed(history.engine).delivered == 1
    [post] = hook.posts
    assert post["topic"] == "alerts"
    assert 3500 < len(post["message"].encode()) <= 4096
    assert re.search(r"… \d+ more\n", post["message"])
    assert post["message"].endswith("Source: " + WHATSAPP.url)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("base_url", ["https://watch.example.org/", None])
def test_an_sms_keeps_severity_date_and_link_whatever_the_title(
    history: History, monkeypatch: pytest.MonkeyPatch, base_url: str | None
) -> None:
    """An SMS (Infobip's, 160 characters, no title field: Apprise puts the title into the body)
    given a title over 160 characters got no body at all, and Apprise refused to send it; the
    summary between the document and the date is what is cut, not the link nor the date."""
    receiver = Webhook(tls=True).start()
    # Infobip's host is the account's own; its port is always 443, here the receiver's.
    monkeypatch.setattr(NotifyInfobip, "notify_url", f"https://{{host}}:{receiver.port}/sms/3/m")
    try:
        add(history, "infobip://KEYabc123@127.0.0.1/+15551234567?verify=no", "sms")
        change_id = history.change(summary="Bots barred " * 14, effective=date(2027, 1, 15))
        assert deliver_owed(history.engine, base_url=base_url).delivered == 1
    finally:
        receiver.stop()
    [post] = receiver.posts
    text = post["messages"][0]["content"]["text"]
    assert len(text) <= 160
    title = text.splitlines()[0]
    assert title.startswith("[CRITICAL] WhatsApp · Business Solution Terms — Bots")
    assert re.search(r"Bots… \(effective 2027-01-15, in \d+ days\)$", title)
    link = f"https://watch.example.org/changes/{change_id}" if base_url else WHATSAPP.url
    assert text.endswith(link)


@pytest.mark.parametrize("service", ["mattermost", "discord"])
def test_a_chat_that_shows_text_as_markdown_gets_the_policys_markup_escaped(
    history: History, hook: Webhook, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    """Mattermost and Discord show a message's plain text as Markdown, and Apprise sends them
    plain text as it is: a policy's `[here](https://…)` was a link hiding where it went, its
    `*` and `_` emphasis, and the `+` of a clause added and the `-` of one removed the same
    list bullet. They get the body (and Discord the title, posted with it) in Markdown,
    escaped, as Slack and Rocket.Chat do."""
    if service == "discord":  # Discord's host is its own: its webhook API, here the receiver's
        monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://127.0.0.1:{hook.port}/api")
        url = "discord://1234567890/WebhookTOKENabcdef123"
    else:
        url = f"mmost://127.0.0.1:{hook.port}/WebhookTOKENabcdef123"
    add(history, url)
    history.change(
        summary="Bots *must* not use_the [API](https://evil.example)",
        sentences=["Scrapers must stop; see [our terms](https://evil.example/x) *now*."],
    )
    assert deliver_owed(history.engine).delivered == 1
    [post] = hook.posts
    shown = MarkdownIt("commonmark").render(post["text" if service == "mattermost" else "content"])
    assert 'href="https://evil.example' not in shown and "<em>" not in shown
    assert f'<a href="{WHATSAPP.url}">Source</a>' in shown
    assert "<strong>Scrapers must stop; see [our terms](https://evil.example/x) *now*." in shown
    assert "Bots *must* not use_the [API](https://evil.example)" in shown


MENTIONS = ["@everyone", "@here", "@channel", "@all", "<@123456789012345678>", "<!channel>"]


@pytest.mark.parametrize(
    "service", ["discord", "discord-embeds", "mattermost", "slack", "zulip", "rocket"]
)
def test_a_policy_quoting_a_mention_pings_no_one(
    history: History, hook: Webhook, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    """A policy quoting `@everyone`, `@here`, `<@id>` (an example in a bot policy) was posted
    as it is, and the chat pinged the whole channel, or the user; with Discord's embeds
    Apprise even asked Discord to (`allow_mentions`). The chats get each `@` of a mention
    followed by a zero-width space, which no chat reads as a mention; a mail address is kept."""
    monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://127.0.0.1:{hook.port}/api")
    monkeypatch.setattr(NotifySlack, "api_url", f"http://127.0.0.1:{hook.port}/slack/{{}}")
    monkeypatch.setattr(NotifyZulip, "notify_url", f"http://127.0.0.1:{hook.port}/zulip/{{org}}")
    hook.reply = lambda headers: {"ok": True}  # Slack's API's answer to a post it took
    token = "WebhookTOKENabcdef123"
    add(
        history,
        {
            "discord": f"discord://1234567890/{token}",
            "discord-embeds": f"discord://1234567890/{token}?format=markdown",
            "mattermost": f"mmost://127.0.0.1:{hook.port}/{token}",
            "slack": "slack://xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d/#general",
            "zulip": "zulip://bot@org/abcdefghijklmnopqrstuvwxyz123456/general",
            "rocket": f"rocket://{token}@127.0.0.1:{hook.port}/?mode=webhook&webhook={token}",
        }[service],
    )
    quoted = " ".join(MENTIONS) + " @**all** (write to privacy@example.com)"
    history.change(summary="Bots may not ping @everyone", sentences=[quoted])
    assert deliver_owed(history.engine).delivered == 1
    [post] = hook.posts
    post.pop("topic", None)  # a title in a field of its own (Zulip's topic, Slack's attachment
    for part in [*post.get("attachments", []), *post.get("embeds", [])]:  # or Discord's embed
        part.pop("title")  # title) is shown apart from the message, where no mention pings
    sent = json.dumps(post, ensure_ascii=False)
    # Apprise's Discord embeds take a mail address's `@example` for a mention: it pings no one.
    pinged = post.get("allow_mentions", {})
    assert not (
        pinged.get("users")
        or pinged.get("roles")
        or {"everyone", "here"} & {*pinged.get("parse", [])}
    )
    mention = (
        r"@(everyone|here|channel|all|\d|\\\\\*)|(?<!\\)<!channel"  # escaped: \<, Slack's &lt;
    )
    assert not re.search(mention, sent)
    assert "privacy@example.com" in sent and "everyone" in sent
