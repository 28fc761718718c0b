"""Reminders: a change's effective date coming near is recalled to its subscribers, once per
reminder, to real receivers on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from notifier import deliver_owed
from notifier.subscriptions import subscribe
from store.deadlines import reminder_time
from store.subscriptions import NewSubscription, pause_subscription, resume_subscription
from tests.alerting import OPENAI, History
from tests.conftest import Home
from tests.receivers import Webhook

NOW = datetime.now(UTC)
EFFECTIVE = (NOW + timedelta(days=30)).date()
HOUR = timedelta(hours=1)


def stating(day: date) -> str:
    """The page's clause, the date written as the page writes it."""
    return (
        f"AI providers may not use the Business Solution, effective {day:%B} {day.day}, {day.year}."
    )


@pytest.fixture
def history(db_url: str) -> History:
    return History(db_url)


def add(history: History, hook: Webhook, name: str, **filters: Any) -> None:
    subscribe(history.engine, NewSubscription(name=name, url=hook.url(f"/{name}"), **filters))


def ban(history: History, effective: date = EFFECTIVE, **given: Any) -> int:
    found = given.pop("at", NOW - timedelta(days=1))
    return history.change(effective=effective, text=stating(effective), at=found, **given)


def reminders(hook: Webhook) -> list[tuple[str, str]]:
    """(path, title) of each reminder received."""
    return [
        (path, post["title"])
        for path, post in zip(hook.paths, hook.posts, strict=True)
        if post["policywatch"]["kind"] == "reminder"
    ]


def recalled(hook: Webhook) -> list[tuple[str, str]]:
    """(path, summary) of each reminder received, in order."""
    return sorted((path, title.split(" — ")[1].split(":")[0]) for path, title in reminders(hook))


def test_a_coming_date_is_recalled_7_days_and_1_day_before(history: History, hook: Webhook) -> None:
    """Found a month before it applies (before this subscription was even made), the ban is
    recalled a week before and the day before, once each: the alert of October is long
    forgotten in January."""
    change_id = ban(history)
    add(history, hook, "team")
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 7) - HOUR)
    assert hook.posts == []
    week = reminder_time(EFFECTIVE, 7) + HOUR
    deliver_owed(history.engine, now=week)
    deliver_owed(history.engine, now=week + HOUR)  # sent once
    [(_, title)] = reminders(hook)
    assert title == (
        "[REMINDER] WhatsApp · Business Solution Terms — AI providers barred: takes effect"
        f" in 7 days ({EFFECTIVE.isoformat()})"
    )
    [data] = hook.posts
    assert [change["id"] for change in data["policywatch"]["changes"]] == [change_id]
    assert "General-purpose AI providers may not use the API." in data["message"]  # the evidence
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 1) + HOUR)
    deliver_owed(history.engine, now=datetime.combine(EFFECTIVE, datetime.min.time(), UTC) + HOUR)
    assert [title.split(": takes effect ")[1] for _, title in reminders(hook)] == [
        f"in 7 days ({EFFECTIVE.isoformat()})",
        f"tomorrow ({EFFECTIVE.isoformat()})",
    ]


def test_a_reminder_title_says_the_date_once(history: History, hook: Webhook) -> None:
    """The diff engine ends a dated change's summary with its date ("…; effective 2026-01-15"):
    the reminder's title said it twice, "…; effective 2026-01-15: takes effect in 7 days
    (2026-01-15)", where the README shows it once."""
    ban(history, summary=f"AI providers barred; effective {EFFECTIVE.isoformat()}")
    add(history, hook, "team")
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 7) + HOUR)
    [(_, title)] = reminders(hook)
    assert title == (
        "[REMINDER] WhatsApp · Business Solution Terms — AI providers barred: takes effect"
        f" in 7 days ({EFFECTIVE.isoformat()})"
    )
    # The body gives the date, not the summary again: the title gives it whole.
    assert hook.posts[0]["message"].startswith(f"Takes effect in 7 days, on {EFFECTIVE}")
    assert "AI providers barred" not in hook.posts[0]["message"]


def test_a_date_moved_or_withdrawn_since_is_not_recalled(history: History, hook: Webhook) -> None:
    """The page moved the date a fortnight later: a reminder of the first date would send
    people after a deadline that no longer exists; the new date is recalled in its turn."""
    ban(history)
    later = EFFECTIVE + timedelta(days=14)
    moved = ban(history, later, summary="AI providers barred, date moved")
    ban(history, EFFECTIVE, document=OPENAI, summary="Scraping barred")
    history.change(OPENAI, summary="Scraping ban withdrawn", effective=None, text="Scrape away.")
    add(history, hook, "team")
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 7) + HOUR)
    assert reminders(hook) == []
    deliver_owed(history.engine, now=reminder_time(later, 7) + HOUR)
    [(_, title)] = reminders(hook)
    assert "date moved: takes effect in 7 days" in title
    assert hook.posts[0]["policywatch"]["changes"][0]["id"] == moved


def test_reminders_follow_each_subscription(history: History, hook: Webhook) -> None:
    """Its filters as for alerts; none when it asks for none; on the day for a digest, whose
    week would end after the date; and only the reminders still ahead when the change is found
    (found 3 days before: the alert says as much as a 7-day reminder would)."""
    ban(history)
    ban(history, document=OPENAI, summary="Late news", at=reminder_time(EFFECTIVE, 3))
    add(history, hook, "all")
    add(history, hook, "openai", services=["OpenAI"])
    add(history, hook, "quiet", reminders=[])
    add(history, hook, "weekly", digest="weekly")
    add(history, hook, "fortnight", reminders=[14])
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 14) + HOUR)
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 7) + HOUR)
    received = recalled(hook)
    assert received == [
        ("/all", "AI providers barred"),
        ("/fortnight", "AI providers barred"),
        ("/weekly", "AI providers barred"),
    ]
    hook.posts.clear(), hook.paths.clear()
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 1) + HOUR)
    received = recalled(hook)
    assert received == [
        ("/all", "AI providers barred"),
        ("/all", "Late news"),
        ("/openai", "Late news"),
        ("/weekly", "AI providers barred"),
        ("/weekly", "Late news"),
    ]


def reminded(home: Home) -> dict[str, list[int]]:
    listed = home.run("subscriptions", "list", "--json").json()
    return {row["name"]: row["reminders"] for row in listed}


def test_reminders_are_set_on_the_command_line(home: Home) -> None:
    url = "json://127.0.0.1:9/hook"
    made = home.run("subscribe", url, "--name", "team", "--remind", "3", "--remind", "14")
    assert made.code == 0, made.stderr
    home.run("subscribe", url + "/other", "--name", "other")
    assert reminded(home) == {"team": [14, 3], "other": [7, 1]}
    assert "reminded 14 days and 3 days before" in home.run("subscriptions", "list").stdout
    off = home.run("subscriptions", "remind", "other", "--off")
    assert (off.code, off.stdout.strip()) == (0, "other is not reminded a change takes effect.")
    again = home.run("subscriptions", "remind", "team", "1")
    assert again.stdout.strip() == "team is reminded 1 day before a change takes effect."
    assert reminded(home) == {"team": [1], "other": []}
    for wrong in (
        ("subscriptions", "remind", "team"),
        ("subscriptions", "remind", "nobody", "7"),
        ("subscriptions", "remind", "team", "0"),
        ("subscribe", url + "/x", "--remind", "7", "--no-remind"),
    ):
        assert home.run(*wrong).code == 2, wrong
    both = home.run("subscriptions", "remind", "team", "3", "--off")  # said: "give the days"
    assert (both.code, both.stderr.strip()) == (2, "error: give the days or --off, not both")
    assert reminded(home)["team"] == [1]


def test_subscriptions_made_before_reminders_existed_are_reminded(history: History) -> None:
    """A store upgraded from 0009: its subscriptions get the reminders a new one gets."""
    from alembic import command
    from sqlalchemy import text

    from store.db import alembic_config, open_store
    from store.subscriptions import list_subscriptions

    config = alembic_config()
    with history.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    with history.engine.begin() as connection:  # a statement: the model has the new column
        connection.execute(
            text(
                "INSERT INTO subscription (name, url, services, documents, tags, categories,"
                " min_severity, created_at, active) VALUES ('old', 'json://127.0.0.1:9/',"
                " '[]', '[]', '[]', '[]', 'medium', :now, true)"
            ),
            {"now": NOW},
        )
    open_store(str(history.engine.url.render_as_string(hide_password=False)))
    assert [row.reminders for row in list_subscriptions(history.engine)] == [[7, 1]]


def test_subscribing_late_says_that_coming_dates_are_still_recalled(home: Home) -> None:
    """The ban was found before the subscription: its alert is not owed, its reminders are."""
    history = History(home.db)
    history.change(effective=EFFECTIVE, text=stating(EFFECTIVE), summary="AI providers barred")
    history.change(OPENAI, summary="Fees reworded")
    said = home.run("subscribe", "json://127.0.0.1:9/hook", "--name", "team", "--remind", "3")
    assert said.stdout.splitlines()[1:] == [
        "It hears of changes detected from now on, not of the 2 recorded so far (see policywatch"
        " history); 1 of them, still to take effect, is recalled 3 days before its date."
    ]
    quiet = home.run("subscribe", "json://127.0.0.1:9/quiet", "--name", "quiet", "--no-remind")
    assert "recalled" not in quiet.stdout and "not of the 2 recorded so far" in quiet.stdout


def test_a_reminder_a_pause_made_late_is_skipped_on_resuming(
    history: History, hook: Webhook
) -> None:
    """Held while paused, the week's reminder would come after the day-before one was due, or
    after the date itself: as when no run came for days, only the nearest still ahead goes."""
    ban(history)
    ban(history, document=OPENAI, summary="Past by then", effective=EFFECTIVE - timedelta(days=2))
    add(history, hook, "team")
    pause_subscription(history.engine, "team")
    for days in (9, 7, 1):
        deliver_owed(history.engine, now=reminder_time(EFFECTIVE, days) + HOUR)
    assert hook.posts == []
    resumed = resume_subscription(history.engine, "team", reminder_time(EFFECTIVE, 1) + HOUR)
    assert resumed is not None and (resumed.held, resumed.skipped) == (1, 2)
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 1) + 2 * HOUR)
    assert [title.split(": takes effect ")[1] for _, title in reminders(hook)] == [
        f"tomorrow ({EFFECTIVE.isoformat()})"
    ]


def test_a_reminder_retried_past_its_date_says_the_date_is_past(history: History) -> None:
    """The day-before reminder, its channel down until two days after the date, went saying
    "takes effect today": retried, it says how long ago the date was."""
    ban(history)
    hook = Webhook()  # down
    add(history, hook, "team")
    deliver_owed(history.engine, now=reminder_time(EFFECTIVE, 1) + HOUR)
    hook.start()
    try:
        later = reminder_time(EFFECTIVE, -2) + HOUR
        assert deliver_owed(history.engine, now=later, retry_now=True).delivered == 1
    finally:
        hook.stop()
    [(_, title)] = reminders(hook)
    assert title.endswith(f": took effect 2 days ago ({EFFECTIVE.isoformat()})")
    assert hook.posts[0]["message"].startswith(f"Took effect 2 days ago, on {EFFECTIVE}")
