"""What changes on every fetch of a page, told by two fetches a moment apart."""

from __future__ import annotations

from crawlers.steady import steady_text

POLICY = "# Terms\n\n" + "".join(
    f"Clause {n}: use the interface only as documented, within the published limits.\n\n"
    for n in range(1, 6)
)


def page(token: str, extra: str = "") -> str:
    return f"{POLICY}{extra}Request id {token}, generated for you.\n"


def test_a_difference_only_in_per_fetch_words_keeps_the_words_last_recorded() -> None:
    assert steady_text(page("a1"), page("b2"), page("z9")) == page("z9")


def test_a_clause_changed_between_crawls_is_kept_and_the_tokens_around_it_are_not() -> None:
    ban = "You may not train AI models on the output.\n\n"
    assert steady_text(page("a1", ban), page("b2", ban), page("z9")) == page("z9", ban)
    dropped = page("a1").replace("Clause 3: use the interface", "Clause 3:")
    again = page("b2").replace("Clause 3: use the interface", "Clause 3:")
    assert steady_text(dropped, again, page("z9")) == page("z9").replace(
        "Clause 3: use the interface", "Clause 3:"
    )


def test_a_change_that_the_second_fetch_shares_is_no_per_fetch_word() -> None:
    """A token that did not change between the two fetches (a stamp to the minute) is not
    told apart: the text is a change, as without a second fetch."""
    assert steady_text(page("a1"), page("a1"), page("z9")) == page("a1")


def test_a_second_fetch_unlike_the_first_masks_nothing() -> None:
    """A wall, an A/B variant or an error page on the second fetch would make most of the page
    look per-fetch, and a real change vanish into it: two fetches that share less than nine
    words in ten are not taken to tell anything."""
    wall = "Just a moment... Checking your browser before accessing the site.\n"
    ban = "You may not train AI models on the output.\n\n"
    assert steady_text(page("a1", ban), wall, page("z9")) == page("a1", ban)
