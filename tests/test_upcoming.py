"""What takes effect from today on, soonest first: `upcoming`, the web page and the API."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from diffengine import Assessment
from policywatch.web import create_app
from store.queries import get_change
from store.repository import Attempt, DocumentInfo
from tests.alerting import OPENAI, WHATSAPP, History
from tests.conftest import Home

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette suggests httpx2; httpx is what it still runs on
    from fastapi.testclient import TestClient

TODAY = datetime.now(UTC).date()


@dataclass
class Deadlines:
    history: History
    ids: dict[str, int]


@pytest.fixture
def deadlines(home: Home) -> Deadlines:
    """Changes with effective dates around today, recorded in the order they were found."""
    history = History(home.db)
    days = timedelta(days=1)
    clauses: dict[str, list[str]] = {}  # each page states every date it gave so far

    def dated(
        name: str,
        offset: int,
        severity: str,
        document: DocumentInfo = WHATSAPP,
        categories: tuple[str, ...] = ("ai-restriction",),
        meaningful: bool = True,
    ) -> tuple[str, int]:
        effective = TODAY + offset * days
        said = clauses.setdefault(document.key, [])
        said.append(
            f"The {name} clause applies from {effective:%B} {effective.day}, {effective.year}."
        )
        return name, history.change(
            document,
            severity=severity,
            categories=categories,
            summary=name,
            effective=effective,
            meaningful=meaningful,
            text=" ".join(said),
        )

    ids = dict(
        [
            dated("fees", 40, "low", document=OPENAI, categories=("pricing",)),
            dated("ban", 40, "critical"),
            dated("limits", 10, "medium", document=OPENAI, categories=("rate-limits",)),
            dated("in effect", -1, "high", document=OPENAI),
            dated("today", 0, "high", document=OPENAI),
            dated("far off", 200, "low", document=OPENAI),
            dated("cosmetic", 5, "low", document=OPENAI, meaningful=False),
        ]
    )
    kept = " ".join(clauses[WHATSAPP.key])  # a later edit with no date keeps the ban's
    ids["undated"] = history.change(effective=None, summary="undated", text=kept)
    return Deadlines(history, ids)


def named(deadlines: Deadlines, rows: list[dict[str, object]]) -> list[str]:
    by_id = {change_id: name for name, change_id in deadlines.ids.items()}
    return [by_id[int(str(row["id"]))] for row in rows]


def test_upcoming_lists_what_takes_effect_soonest_first(home: Home, deadlines: Deadlines) -> None:
    """A ban announced in October for January sank under every change found since; by date,
    the most severe first on the same day, it is what to act on. What is already in effect,
    undated or judged noise is no deadline."""
    assert named(deadlines, home.run("upcoming", "--json").json()) == [
        "today",
        "limits",
        "ban",
        "fees",
    ]
    anytime = home.run("upcoming", "--within", "0", "--json").json()
    assert named(deadlines, anytime) == ["today", "limits", "ban", "fees", "far off"]
    assert anytime[2]["effective_date"] == (TODAY + timedelta(days=40)).isoformat()
    severe = home.run("upcoming", "--min-severity", "HIGH", "--service", "openai", "--json")
    assert named(deadlines, severe.json()) == ["today"]
    table = home.run("upcoming").stdout
    assert table.index("takes effect today") < table.index("10 days left") < table.index("ban")
    assert "in effect" not in table and "far off" not in table


def test_upcoming_says_when_nothing_is_due_and_refuses_an_unknown_service(
    home: Home, deadlines: Deadlines
) -> None:
    empty = home.run("upcoming", "--within", "5", "--document", WHATSAPP.key)
    assert empty.code == 0
    assert "No change takes effect in the next 5 days for this selection" in empty.stdout
    unknown = home.run("upcoming", "--service", "Telegarm")
    assert unknown.code == 2 and "Telegarm" in unknown.stderr


@pytest.mark.parametrize("days", ["3000000", "99999999999999999999"])
def test_a_window_past_the_calendars_end_is_any_time(
    home: Home, deadlines: Deadlines, days: str
) -> None:
    """A window reaching past 9999-12-31 was an OverflowError and its traceback; the web's
    `within` took it for no bound, and so does `--within` now."""
    huge = home.run("upcoming", "--within", days, "--json")
    assert huge.code == 0, huge.stderr
    assert named(deadlines, huge.json()) == ["today", "limits", "ban", "fees", "far off"]


def test_a_deadline_the_page_withdrew_is_left_out_and_said(
    home: Home, deadlines: Deadlines
) -> None:
    """The page reads again as before the ban: its date no longer binds, and the list says it
    left one out rather than leaving the reader who remembers it to wonder."""
    ban = get_change(deadlines.history.engine, deadlines.ids["ban"])
    assert ban is not None
    back = Assessment(False, "reverted", None, (), "back", 0, 0, 0)
    deadlines.history.repo.record_text(
        WHATSAPP.key, Attempt(WHATSAPP.url), ban.old_text, lambda *_, **__: back
    )
    listed = home.run("upcoming", "--json")
    assert named(deadlines, listed.json()) == ["today", "limits", "fees"]
    said = "Left out: 1 change whose date its page no longer states (moved, or withdrawn)."
    assert said in listed.stderr
    shown = home.run("upcoming").stdout
    assert said in shown and " ban " not in shown
    client = TestClient(create_app(deadlines.history.engine))
    assert said in client.get("/upcoming").text
    assert client.get("/api/upcoming").headers["X-Unstated-Count"] == "1"


def test_the_upcoming_page_and_api(deadlines: Deadlines) -> None:
    client = TestClient(create_app(deadlines.history.engine))
    page = client.get("/upcoming")
    assert page.status_code == 200
    listed = page.text[page.text.index('<ol class="timeline upcoming">') :]
    order = [listed.index(f">{name}</a>") for name in ("today", "limits", "ban", "fees")]
    assert order == sorted(order) and ">far off</a>" not in listed
    assert "4 changes taking effect in the next 90 days" in page.text
    assert '<a href="/upcoming">Upcoming</a>' in client.get("/").text  # in the menu
    api = client.get("/api/upcoming", params={"within": 0, "category": "pricing"}).json()
    assert named(deadlines, api) == ["fees"]
    none = client.get("/upcoming", params={"within": 3, "service": "WhatsApp"}).text
    assert "No change takes effect in the next 3 days" in none
    assert 'href="?service=WhatsApp&amp;within=0">Look further' in none
    assert client.get("/api/upcoming", params={"within": -1}).status_code == 422


def test_a_day_its_page_gives_without_a_year_is_still_stated(home: Home) -> None:
    """ "Starting March 1, bots must…" dates the change; the page still saying so, `upcoming`
    and reminders left it out as a date the page no longer states (no year in the text)."""
    history = History(home.db)
    effective = TODAY + timedelta(days=10)
    said = f"Starting {effective:%B} {effective.day}, bots must identify themselves."
    history.change(effective=effective, summary="yearless", text=said)
    listed = home.run("upcoming", "--json")
    assert [row["summary"] for row in listed.json()] == ["yearless"]
    assert "Left out" not in listed.stderr


def test_a_month_alone_or_a_count_of_days_after_posting_is_still_stated(home: Home) -> None:
    """ "take effect in March 2026" is stored as March 1st, "30 days after we post them" as the
    day 30 days after the change was found: the page still saying either states that date."""
    history = History(home.db)
    first = (TODAY.replace(day=1) + timedelta(days=40)).replace(day=1)
    month = f"These changes take effect in {first:%B %Y}."
    history.change(effective=first, summary="month", text=month)
    posted = "These changes take effect 30 days after we post them."
    history.change(OPENAI, effective=TODAY + timedelta(days=30), summary="posted", text=posted)
    listed = home.run("upcoming", "--json")
    assert sorted(row["summary"] for row in listed.json()) == ["month", "posted"]
    assert "Left out" not in listed.stderr


def test_a_month_the_page_gave_without_its_day_is_shown_as_the_month(home: Home) -> None:
    """Stored as its first day (reminders come early rather than late), a month the page gave
    alone is shown as the month wherever the date is: `upcoming`, the web's pages and feeds.
    Shown as the 1st, it claimed a day the page never gave."""
    history = History(home.db)
    first = (TODAY.replace(day=1) + timedelta(days=40)).replace(day=1)
    month = f"{first:%B %Y}"
    change_id = history.change(
        effective=first,
        summary=f"AI providers barred; effective {month}",
        text=f"These changes take effect in {month}.",
    )
    dated_day = history.change(
        OPENAI,
        effective=first,
        summary=f"fees; effective {first.isoformat()}",
        text=f"The new fees apply from {first:%B} 1, {first.year}.",
    )

    listed = home.run("upcoming")
    assert f"{month}  " in listed.stdout and first.isoformat() in listed.stdout  # a day given: ISO

    client = TestClient(create_app(history.engine))
    for page in (
        f"/changes/{change_id}",
        "/",
        "/upcoming",
        "/documents/whatsapp/business-solution-terms",
    ):
        shown = client.get(page).text
        assert f'<time datetime="{first:%Y-%m}">{month}</time>' in shown, page
    assert (
        f'<time datetime="{first.isoformat()}">{first.isoformat()}</time>'
        in client.get(f"/changes/{dated_day}").text
    )
    assert f"Effective: {month}" in client.get("/feeds/all.atom").text
