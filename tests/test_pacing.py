"""How often each document is fetched (crawlers/pacing.py): declared, or set by the settings."""

from __future__ import annotations

from datetime import timedelta

from crawlers.pacing import Paced, Pacing
from tests.conftest import Home
from tests.site import Site
from tests.test_schedule import TERMS, age, crawl, outcomes

NAMES = ("WhatsApp", "whatsapp")
KEY = "whatsapp/business-solution-terms"
TAGS = ("messaging", "business")


def test_the_most_precise_name_wins_a_key_over_a_service_over_a_tag() -> None:
    pacing = Pacing(named={KEY: "1h", "whatsapp": "2h", "messaging": "6h"})
    assert pacing.pace(KEY, NAMES, TAGS, "30m") == Paced("1h", f"intervals {KEY}")
    assert pacing.pace("whatsapp/privacy", NAMES, TAGS, "30m") == Paced("2h", "intervals whatsapp")
    assert pacing.pace("acme/terms", ("Acme", "acme"), TAGS, "30m") == Paced(
        "6h", "intervals messaging"
    )


def test_names_are_read_in_any_case_and_of_several_tags_the_shortest_interval_wins() -> None:
    pacing = Pacing(
        named={"Business": "1d", "MESSAGING": "45m", "WHATSAPP/Business-Solution-Terms": "2h"}
    )
    assert pacing.pace("acme/terms", ("Acme", "acme"), TAGS, None) == Paced(
        "45m", "intervals MESSAGING"
    )
    assert pacing.pace(KEY, NAMES, (), None).interval == "2h"


def test_a_declared_interval_stands_over_the_default_setting_and_the_default_is_daily() -> None:
    assert Pacing("12h").pace(KEY, NAMES, TAGS, "30m") == Paced("30m", "declaration")
    assert Pacing("12h").pace(KEY, NAMES, TAGS, None) == Paced("12h", "interval")
    assert Pacing().pace(KEY, NAMES, TAGS, None) == Paced("24h", "default")


def test_the_names_that_name_nothing_known() -> None:
    pacing = Pacing(named={"WhatsApp": "1h", "whatsap": "1h", "Messaging": "6h"})
    assert pacing.unmatched({KEY, *NAMES, *TAGS}) == ["whatsap"]


def test_a_crawl_keeps_to_the_pace_the_settings_give(home: Home, site: Site) -> None:
    """Neither document declares an interval: the settings make one hourly, the other every
    minute, and only that one is fetched again a minute later."""
    for name in ("often", "seldom"):
        site.html(f"/{name}", TERMS.format(""))
    catalog = home.catalog(
        [{"type": name, "url": site.url(f"/{name}")} for name in ("often", "seldom")]
    )
    (home.path / "config.toml").write_text(
        'interval = "1h"\n[intervals]\n"testsite/often" = "1m"\n', encoding="utf-8"
    )
    assert {outcome for outcome, _ in outcomes(crawl(home, catalog, "--json")).values()} == {
        "first"
    }

    for key in ("testsite/often", "testsite/seldom"):
        age(home, key, timedelta(minutes=1))
    seen = outcomes(crawl(home, catalog, "--json"))
    assert seen["testsite/often"] == ("not-modified", "")
    assert seen["testsite/seldom"][0] == "not-due"
    assert len(site.hits("/often")) == 2 and len(site.hits("/seldom")) == 1
