"""What `policywatch subscribe` tells a new subscriber of the changes recorded before it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from notifier.subscriptions import subscribe
from store.db import open_store
from store.subscriptions import NewSubscription, set_reminders
from tests.alerting import OPENAI, History
from tests.conftest import Home
from tests.receivers import Webhook

TODAY = datetime.now(UTC).date()


def stating(day: date) -> str:
    return f"AI providers may not use the API, effective {day:%B} {day.day}, {day.year}."


def said(home: Home, *filters: str) -> str:
    done = home.run("subscribe", "json://127.0.0.1:9/hook", *filters)
    assert done.code == 0, done.stderr
    return " ".join(done.stdout.split()[3:])  # after "Subscribed NAME: URL"


def test_the_dates_a_new_subscription_is_reminded_of_are_those_its_filters_select(
    home: Home,
) -> None:
    """Its note counted every date to come ("policywatch upcoming lists 2"), another service's
    and those under its severity too, and said they were recalled when its filters selected
    none of them: a subscriber to OpenAI's was promised WhatsApp's reminders."""
    history = History(home.db)
    soon, later = TODAY + timedelta(days=30), TODAY + timedelta(days=60)
    history.change(effective=soon, text=stating(soon), summary="AI providers barred")
    history.change(OPENAI, severity="high", summary="Scraping banned")  # undated
    history.change(OPENAI, severity="low", effective=later, text=stating(later))
    assert said(home, "--name", "all", "--min-severity", "low") == (
        "It hears of changes detected from now on, not of the 3 recorded so far (see policywatch"
        " history); 2 of them, still to take effect, are recalled 7 days and 1 day before their"
        " date."
    )
    assert said(home, "--name", "whatsapp", "--service", "whatsapp", "--remind", "3") == (
        "It hears of changes detected from now on, not of the 1 recorded so far (see policywatch"
        " history); 1 of them, still to take effect, is recalled 3 days before its date."
    )
    # OpenAI's dated change is under its bar; its undated one is no date to recall.
    assert said(home, "--name", "openai", "--service", "openai") == (
        "It hears of changes detected from now on, not of the 1 recorded so far (see policywatch"
        " history)."
    )


def test_a_date_too_near_for_any_reminder_is_not_said_to_be_recalled(home: Home) -> None:
    """A reminder that falls before the subscription was made is never sent."""
    history = History(home.db)
    near = TODAY + timedelta(days=3)
    history.change(effective=near, text=stating(near), summary="AI providers barred")
    assert said(home, "--name", "week", "--remind", "7") == (
        "It hears of changes detected from now on, not of the 1 recorded so far (see policywatch"
        " history)."
    )
    assert "1 of them, still to take effect, is recalled" in said(
        home, "--name", "day", "--remind", "7", "--remind", "1"
    )


def test_a_blank_name_is_refused_and_one_stored_breaks_no_lookup(home: Home) -> None:
    """`subscribe --name ' '` made a subscription no command could name, and every lookup of a
    name after it (`subscriptions remove hok`) failed with a traceback, as the closest name to
    suggest was sought among them."""
    History(home.db)
    for blank in ("", "   "):
        refused = home.run("subscribe", "json://127.0.0.1:9/hook", "--name", blank)
        assert refused.code == 2 and refused.stderr.startswith("error: --name is blank"), blank
    subscribe(open_store(home.db), NewSubscription(name="  ", url="json://127.0.0.1:9/"))
    missing = home.run("subscriptions", "remove", "hok")
    assert missing.code == 2 and "Traceback" not in missing.stderr, missing.stderr
    assert missing.stderr.startswith("error: no subscription named 'hok'")


def test_a_blank_filter_is_refused_as_it_would_select_nothing(home: Home) -> None:
    """`--service "$SERVICE"`, the variable unset, made a subscription that matched nothing:
    a warning scrolled by, and it never sent a word."""
    History(home.db)
    assert home.run("subscribe", "json://127.0.0.1:9/hook", "--name", "team").code == 0
    for command in (("subscribe", "json://127.0.0.1:9/other"), ("subscriptions", "edit", "team")):
        for option in ("--service", "--document", "--tag", "--category"):
            refused = home.run(*command, option, "whatsapp", option, " ")
            assert refused.code == 2, (command, option)
            assert refused.stderr.startswith(f"error: {option}: a blank value names nothing")
    assert [row["name"] for row in home.run("subscriptions", "list", "--json").json()] == ["team"]


def test_reminders_beyond_the_calendar_are_refused_and_those_stored_break_no_notify(
    home: Home, hook: Webhook
) -> None:
    """`subscriptions remind team 99999999999` was taken, and from then on every notify (and
    every crawl's delivery) failed with an OverflowError traceback: no one was alerted."""
    history = History(home.db)
    for asked in (
        ("subscribe", hook.url("/far"), "--name", "far", "--remind", "3651"),
        ("subscriptions", "remind", "team", "99999999999"),
    ):
        refused = home.run(*asked)
        assert refused.code == 2 and "is not in the range 1 to 3650" in refused.stderr, asked
    assert home.run("subscribe", hook.url("/team"), "--name", "team", "--remind", "3650").code == 0
    set_reminders(open_store(home.db), "team", [99999999999, 1000000, 7])  # stored before
    soon = TODAY + timedelta(days=30)
    history.change(effective=soon, text=stating(soon), summary="AI providers barred")
    sent = home.run("notify", "--json")
    assert sent.code == 0 and sent.json()["delivered"] == 1, sent.stderr
    assert [post["title"][:10] for post in hook.posts] == ["[CRITICAL]"]


def test_a_document_of_another_service_than_the_one_named_is_refused(home: Home) -> None:
    """`subscribe --service openai --document whatsapp/…` was taken without a word (with a
    service unknown, a warning about the service alone), and the subscription, whose filters
    must both pass, never heard of anything; `history` refuses the same pair. So do subscribe
    and `subscriptions edit`, naming the document's service."""
    history = History(home.db)
    history.change()
    history.change(OPENAI)
    key = "whatsapp/business-solution-terms"
    crossed = f"error: {key} is a document of WhatsApp, not of openai: the subscription would"
    refused = home.run(
        "subscribe", "json://127.0.0.1:9/hook", "--service", "openai", "--document", key
    )
    assert refused.code == 2 and refused.stderr.startswith(crossed), refused.stderr
    assert home.run("subscriptions", "list", "--json").json() == []
    # Its own service, by name or slug, among others: taken.
    for service in ("WhatsApp", "whatsapp"):
        both = ["--service", "openai", "--service", service, "--document", key, "--name", service]
        assert home.run("subscribe", "json://127.0.0.1:9/hook", *both).code == 0
    edited = home.run("subscriptions", "edit", "whatsapp", "--service", "openai")
    assert edited.code == 2 and edited.stderr.startswith(crossed), edited.stderr
    [kept] = [
        row
        for row in home.run("subscriptions", "list", "--json").json()
        if row["name"] == "whatsapp"
    ]
    assert kept["services"] == ["openai", "whatsapp"]
