"""Normalization: each kind of cosmetic noise seen in real histories normalizes away."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from diffengine import assess, normalize, text_fingerprint
from diffengine.language import _LANGUAGE_OF_WORD
from diffengine.normalize import RELATIVE_DATE, comparable, prose_sample
from tests.test_diffengine_fixtures import FIXTURES, fixture


def test_whitespace_and_line_wrapping_are_cosmetic() -> None:
    assert normalize("We may  update\nthese   Terms.\n\n\n\nRead them.") == normalize(
        "We may update these Terms.\n\nRead them.   "
    )


@pytest.mark.parametrize(
    ("styled", "plain"),
    [
        ("the “Terms” apply", 'the "Terms" apply'),
        ("Meta’s products", "Meta's products"),
        ("Cloud API and On‑Premises API — both", "Cloud API and On-Premises API - both"),
        ("15\u00a0September\u00a02025", "15 September 2025"),
        ("zero\u200bwidth", "zerowidth"),
        (
            "**Welcome to Mistral AI!** We _provide_ technology",
            "Welcome to Mistral AI! We provide technology",
        ),
        ("Section 1\\.2 \\(a\\) applies", "Section 1.2 (a) applies"),
        ("the `Terms` apply", "the 'Terms' apply"),
        ("see ( Section 2 ) and [ ] the rest", "see (Section 2) and the rest"),
    ],
)
def test_typography_and_markup_are_cosmetic(styled: str, plain: str) -> None:
    assert normalize(styled) == normalize(plain)


def test_html_tags_go_but_text_in_angle_brackets_stays() -> None:
    """A placeholder in brackets is what a policy quotes: deleting it as a tag made an edit to
    it cosmetic and left quoted sentences without it."""
    sentence = "Send the header X-Consent: <user-consent-token> with each request."
    assert normalize(sentence) == sentence
    page = f"# API\n\n## Headers\n\n{sentence}\n"
    verdict = assess(page, page.replace("<user-consent-token>", "<none>"))
    assert verdict.meaningful and verdict.reason is None
    markup = 'One<br>two <br/> <span class="x">three</span> <script>run</script> <P>four</P>'
    assert normalize(markup) == "One two three run four"


def test_link_targets_and_tracking_tokens_are_cosmetic() -> None:
    before, after = fixture("facebook_tos_links_before.md"), fixture("facebook_tos_links_after.md")
    assert before != after
    assert normalize(before) == normalize(after)
    assert "l.facebook.com" not in normalize(after)
    verdict = assess(before, after, [text_fingerprint(before)])
    assert (verdict.meaningful, verdict.reason) == (False, "cosmetic")


def test_bare_urls_lose_their_query_strings() -> None:
    assert normalize("see https://example.com/terms?utm_source=mail&fbclid=X1 now") == (
        "see https://example.com/terms now"
    )


def test_relative_dates_are_masked() -> None:
    # Anthropic's help centre, as captured: "Updated over a month ago" then "over 4 months ago".
    before = "Anthropic Software Directory Terms\n\nUpdated over a month ago"
    after = "Anthropic Software Directory Terms\n\nUpdated over 4 months ago"
    assert normalize(before) == normalize(after)
    assert RELATIVE_DATE in normalize(after)


def test_one_date_written_two_ways_is_cosmetic() -> None:
    us, uk = fixture("claude_aup_date_us.md"), fixture("claude_aup_date_uk.md")
    assert "September 15, 2025" in us and "15 September 2025" in uk
    assert normalize(us) == normalize(uk)
    assert "Effective 2025-09-15" in normalize(uk)
    assert assess(us, uk).reason == "cosmetic"


def test_impossible_dates_are_left_alone() -> None:
    assert normalize("February 30, 2024") == "February 30, 2024"


def test_normal_form_is_markdown_with_one_kind_of_each_block() -> None:
    text = (
        "Title\n=====\n\n*   first item\n    continued\n1.  second\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |"
    )
    assert (
        normalize(text) == "# Title\n\n- first item continued\n\n- second\n\n| a | b |\n\n| 1 | 2 |"
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("The Developer Programme Policy", "The Developer Program Policy"),
        ("a personalised experience", "a personalized experience"),
        ("information from LinkedIns websites", "information from LinkedIn's websites"),
        ("build communities, and grow", "build communities and grow"),
        ('h. "IT Systems" means', 'i. "IT Systems" means'),
        ("These terms shall", "These Terms shall"),
    ],
)
def test_comparisons_ignore_case_spelling_punctuation_and_numbering(one: str, other: str) -> None:
    assert comparable(one) == comparable(other)


def test_fingerprint_is_that_of_the_normal_form() -> None:
    assert text_fingerprint("Hello “world”") == text_fingerprint('hello  "World"')
    assert text_fingerprint("Hello world") != text_fingerprint("Hello there")


_LETTERS = re.compile(r"[^\W\d_]+")


def _words(text: str) -> list[str]:
    return _LETTERS.findall(text.casefold())


def test_a_prose_sample_is_spread_over_the_text_without_overlaps() -> None:
    text = "\n\n".join(
        f"Paragraph {n:03d}: *we* may   update [these terms](https://example.com/t?ref={n})."
        for n in range(100)
    )
    stretches = prose_sample(text, 4, 200)
    assert [stretch[:13] for stretch in stretches] == [
        "Paragraph 000",
        "Paragraph 025",
        "Paragraph 050",
        "Paragraph 075",
    ]
    normal_words = " ".join(_words(normalize(text)))
    for stretch in stretches:
        assert len(stretch) <= 200 and "example" not in stretch  # link targets are no prose
        assert " ".join(_words(stretch)[:-1]) in normal_words  # the last may be cut short


def test_a_short_text_is_sampled_whole() -> None:
    text = "# Terms\n\nWe *may* update “these” [terms](https://example.com/t).\n\n- One\n- Two"
    [sample] = prose_sample(text, 4, 3000)
    assert _words(sample) == _words(normalize(text))
    assert prose_sample("", 4, 3000) == []


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.md")), ids=lambda path: path.name)
def test_prose_counts_the_function_words_the_normal_form_counts(path: Path) -> None:
    """The language check reads prose instead of the normal form, which costs three times as
    much: the verdict stays the same only while both hold the same function words."""
    text = path.read_text(encoding="utf-8")
    [whole] = prose_sample(text, 1, 2 * len(text))  # one stretch, never cut

    def function_words(form: str) -> Counter[str]:
        return Counter(word for word in _words(form) if word in _LANGUAGE_OF_WORD)

    assert function_words(whole) == function_words(normalize(text))
