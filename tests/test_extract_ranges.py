"""Range selectors in extract_markdown: the content between two elements, kept or removed.

The semantics are Open Terms Archive's (a DOM Range): the first match of each bound, document
order, the bound element itself in or out as `*_before`/`*_after` say. The last test holds our
output to OTA's own on a saved page, when ../shared/corpus is present.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from crawlers.declarations import RangeSelector
from crawlers.extraction import ExtractionError, extract_markdown
from tests.conftest import SHARED, Home
from tests.site import Site

PAGE = """<html><body>
<nav>Menu</nav>
<main>
  <h2 id="a">Alpha</h2>
  <p>one</p>
  <ol start="3"><li>x</li><li id="mid">y</li><li>z</li></ol>
  <h2 id="b">Beta</h2>
  <p>two</p>
  loose text
  <h2 id="c">Gamma</h2>
  <p>three</p>
</main>
<footer>Foot</footer>
</body></html>"""


def between(**bounds: str) -> RangeSelector:
    return RangeSelector(**bounds)


def md(**options: Any) -> str:
    return extract_markdown(PAGE, **options)


def test_start_before_end_before_keeps_the_start_and_stops_at_the_end() -> None:
    assert md(select=[between(start_before="#a", end_before="#b")]) == (
        "## Alpha\n\none\n\n3. x\n4. y\n5. z\n"
    )


def test_start_after_end_after_leaves_the_start_out_and_keeps_the_end() -> None:
    assert md(select=[between(start_after="#a", end_after="#b")]) == (
        "one\n\n3. x\n4. y\n5. z\n\n## Beta\n"
    )


def test_loose_text_between_the_bounds_is_kept() -> None:
    assert md(select=[between(start_after="#b", end_before="#c")]) == "two\n\nloose text\n"


def test_a_range_starting_inside_a_list_keeps_that_part_of_the_list() -> None:
    """Elements a range cuts through keep their markup for the part inside: here the list,
    numbered from its `start` as OTA's copy of the cut list is."""
    assert md(select=[between(start_before="#mid", end_before="#c")]) == (
        "3. y\n4. z\n\n## Beta\n\ntwo\n\nloose text\n"
    )


def test_a_range_may_end_outside_the_element_it_started_in() -> None:
    assert md(select=[between(start_before="#c", end_after="footer")]) == (
        "## Gamma\n\nthree\n\nFoot\n"
    )


def test_the_first_match_of_each_bound_is_used() -> None:
    assert md(select=[between(start_after="h2", end_before="h2 ~ h2")]) == (
        "one\n\n3. x\n4. y\n5. z\n"
    )


def test_a_range_and_css_selectors_come_in_page_order_each_once() -> None:
    select = ["footer", "#b + p", between(start_before="#a", end_after="#b"), "#mid"]
    assert md(select=select) == "## Alpha\n\none\n\n3. x\n4. y\n5. z\n\n## Beta\n\ntwo\n\nFoot\n"


def test_remove_drops_what_lies_between() -> None:
    assert md(remove=[between(start_before="#a", end_before="#c")]) == (
        "Menu\n\n## Gamma\n\nthree\n\nFoot\n"
    )


def test_remove_a_range_from_inside_a_list_to_a_heading() -> None:
    assert md(select=["main"], remove=[between(start_after="#mid", end_after="#b")]) == (
        "## Alpha\n\none\n\n3. x\n4. y\n\ntwo\n\nloose text\n\n## Gamma\n\nthree\n"
    )


def test_removal_bounds_are_found_before_anything_is_removed() -> None:
    """As in OTA, ranges to remove are located on the whole page, even on elements that CSS
    `remove` selectors drop too."""
    remove = ["#a", between(start_before="#a", end_before="#b")]
    assert (
        md(select=["main"], remove=remove) == "## Beta\n\ntwo\n\nloose text\n\n## Gamma\n\nthree\n"
    )


def test_selection_bounds_are_found_after_removal() -> None:
    """A bound inside removed content is not on the page OTA selects from: the next match is."""
    select = [between(start_before="h2", end_before="#c")]
    assert md(select=select, remove=["#a"]) == "## Beta\n\ntwo\n\nloose text\n"


def test_hidden_and_removed_parts_inside_a_range_stay_out() -> None:
    html = (
        "<h1>T</h1><p hidden>secret</p><script>x()</script><p class=ad>ad</p><p>kept</p><hr id=e>"
    )
    select = [between(start_after="h1", end_before="#e")]
    assert extract_markdown(html, select=select, remove=[".ad"]) == "kept\n"


def test_a_missing_bound_or_an_end_before_the_start_selects_nothing() -> None:
    for bounds in (
        between(start_before="#missing", end_before="#b"),
        between(start_before="#a", end_before="#missing"),
        between(start_before="#c", end_before="#a"),
        between(start_after="#b", end_before="#b"),  # ends where it starts
    ):
        with pytest.raises(ExtractionError) as caught:
            md(select=["#missing-too", bounds])
        assert caught.value.kind == "selector-matched-nothing"
        assert str(caught.value) == f"no element matches '#missing-too', {bounds}"


def test_a_range_with_a_missing_bound_removes_nothing() -> None:
    assert md(remove=[between(start_before="#a", end_before="#missing")]) == md()


def test_one_range_of_several_may_match_nothing() -> None:
    select = [
        between(start_before="#missing", end_before="#b"),
        between(start_after="#b", end_before="#c"),
    ]
    assert md(select=select) == "two\n\nloose text\n"


def test_overlapping_ranges_give_their_text_once() -> None:
    select = [
        between(start_before="#a", end_after="#mid"),
        between(start_before="#mid", end_before="#c"),
    ]
    assert md(select=select) == md(select=[between(start_before="#a", end_before="#c")])


FAQ = """<html><body><h1>FAQ</h1>
<h3 id="who">Who are you?</h3><p>{inside}</p>
<h3 id="ads">Any ads?</h3><p>{outside}</p></body></html>"""


def test_a_crawl_tracks_the_range_and_nothing_else(home: Home, site: Site) -> None:
    """End to end: a catalog range selector reaches extraction through the real crawl."""
    site.html("/faq", FAQ.format(inside="We are a small team.", outside="No ads."))
    imprint = {"start_before": "#who", "end_before": "#ads"}
    catalog = home.catalog([{"type": "Imprint", "url": site.url("/faq"), "select": [imprint]}])
    assert home.crawl(catalog).code == 0

    site.html("/faq", FAQ.format(inside="We are a small team.", outside="Ads, soon."))
    result = home.crawl(catalog, "--json")
    assert [row["outcome"] for row in result.json()] == ["unchanged"]

    site.html("/faq", FAQ.format(inside="We are a large company now.", outside="Ads, soon."))
    result = home.crawl(catalog, "--json")
    assert [row["outcome"] for row in result.json()] == ["changed"]
    [change] = home.run("history", "--json").json()
    diff = home.run("show", str(change["id"]), "--json").json()["diff"]
    assert "We are a large company now." in diff and "Ads" not in diff and "FAQ" not in diff


GEMINI = SHARED / "corpus" / "html" / "Google-Generative-AI-Services__Terms-of-Service"
OTA_VERSIONS = SHARED / "corpus" / "history" / "Google-Generative-AI-Services__Terms-of-Service"


@pytest.mark.skipif(not GEMINI.is_dir(), reason="../shared/corpus absent")
def test_same_words_as_open_terms_archive_on_a_saved_page() -> None:
    """OTA's declaration for this page is `{startBefore: h1, endAfter: [role='toolbar']}`; its
    version ends with this part of the combined document. Words compared: Markdown flavours
    differ (setext headings, `_` emphasis)."""
    page = GEMINI / "2026-08-03T223205Z_8440caa99.terms-gemini-enterprise-business.html"
    theirs = (OTA_VERSIONS / "2026-08-03T223205Z_760d84a51.md").read_text(encoding="utf-8")
    bounds = between(start_before="h1", end_after="[role='toolbar']")
    ours = extract_markdown(page.read_bytes(), select=[bounds])
    assert ours.startswith("# Gemini Enterprise – Business Edition Additional Terms of Service\n")
    words = re.compile(r"[^\W_]+")
    our_words = words.findall(ours)
    assert len(our_words) > 2000
    assert words.findall(theirs)[-len(our_words) :] == our_words
