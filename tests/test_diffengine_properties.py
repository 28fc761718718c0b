"""Properties over arbitrary text: compare never crashes, identical inputs give no change,
normalization is idempotent, shortcuts agree with what they stand for."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from diffengine import assess, classify, compare, normalize
from diffengine.assessment import _holder, _searchable
from diffengine.compare import _SIMILAR, _Likeness
from diffengine.language import _ASCII_WORDS, _NON_LATIN_LETTER, _WORD, _mostly_latin
from diffengine.normalize import comparable
from diffengine.words import _TOKEN as _LINE_TOKEN
from diffengine.words import _spans, token_spans

# Arbitrary Unicode, plus text built from the pieces of Markdown policies are made of.
MARKDOWN_PIECES = st.sampled_from(
    [
        "# ",
        "## ",
        "\n",
        "\n\n",
        "=====",
        "---",
        "* ",
        "- ",
        "1. ",
        "| a | b |",
        "|---|",
        "[link](https://x.test/?ref=1)",
        "![img](i.png)",
        "**",
        "_",
        "\\",
        "> ",
        "“",
        "’",
        "—",
        "\u00a0",
        "\u200b",
        "January 15, 2026",
        "15 January 2026",
        "6 days ago",
        "(a) ",
        "(iv) ",
        "You may not",
        " scrape",
        " AI providers",
        " the API",
        ".",
        ":",
        " ",
        "Terms",
        "é",
    ]
)
MARKDOWNISH = st.lists(MARKDOWN_PIECES, max_size=40).map("".join)
TEXT = st.one_of(st.text(max_size=300), MARKDOWNISH)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT)
def test_compare_and_classify_never_crash(old: str, new: str) -> None:
    report = compare(old, new)
    classify(report)
    assess(old, new)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_identical_inputs_give_no_change(text: str) -> None:
    report = compare(text, "".join(list(text)))
    assert report.identical and not report.sentences
    assert not assess(text, "".join(list(text))).meaningful


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_normalizing_is_cosmetic_to_the_engine(text: str) -> None:
    assert not compare(text, normalize(text)).substantive


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_marked_words_join_back_into_both_lines(old: str, new: str) -> None:
    """The review page draws a line from its spans: kept and deleted runs must give the old
    line back byte for byte, kept and inserted the new, however the shared ends are cut off
    before the search; a kept run cut in two would draw a seam."""
    spans = token_spans(old, new)
    assert "".join(span.text for span in spans if span.op != "insert") == old
    assert "".join(span.text for span in spans if span.op != "delete") == new
    kinds = [span.op for span in spans]
    assert ("equal", "equal") not in pairwise(kinds)
    assert all(span.text for span in spans)


# Lines that share their ends, cut anywhere, even inside a word: "scrape" and "scraped".
LINE_BITS = st.text(alphabet=st.sampled_from("ab_1 \t\u00a0.,é’中—"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(LINE_BITS | TEXT, LINE_BITS, LINE_BITS, LINE_BITS | TEXT)
def test_marked_words_are_those_of_the_whole_lines(
    head: str, old: str, new: str, tail: str
) -> None:
    """The shared ends are found on characters, cut back to where a word ends in both lines;
    the marks are the ones the words of the whole lines give."""
    old, new = head + old + tail, head + new + tail
    whole = _spans(_LINE_TOKEN.findall(old), _LINE_TOKEN.findall(new), key=str, glue="")
    assert token_spans(old, new) == whole


WORDS = st.lists(
    st.sampled_from(["you", "may", "not", "the", "API", "3", "10", ",", "."]), max_size=12
)


@settings(max_examples=300, deadline=None)
@given(WORDS, WORDS, WORDS, WORDS)
def test_two_items_are_paired_as_their_ratio_says(
    head: list[str], old: list[str], new: list[str], tail: list[str]
) -> None:
    """A region of one item each is settled by the words both ends share when they make it
    alike enough, without difflib's search; the verdict is the search's."""
    likeness = _Likeness([head + old + tail], [head + new + tail])
    assert likeness._alike(0, 0) == (likeness._ratio(0, 0, _SIMILAR) is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=300))
def test_ascii_words_are_found_as_the_word_pattern_finds_them(text: str) -> None:
    """The language check splits ASCII samples into words without its pattern, to save time."""
    assert text.translate(_ASCII_WORDS).split() == _WORD.findall(text.casefold())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("abc é’ ไทย中文Ωж\u1e00\u0250"), max_size=120) | TEXT)
def test_a_sample_passed_as_mostly_latin_has_few_letters_of_other_scripts(text: str) -> None:
    """The language check skips its search for other scripts on such a sample."""
    if _mostly_latin(text):
        assert len(_NON_LATIN_LETTER.findall(text)) <= len(text) // 4


LINES = st.lists(
    st.sampled_from(["you", "may", "not", "scrape", "the", "API", ".", "\n", "\n\n", "- ", "# "]),
    max_size=30,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, min_size=1, max_size=4), LINES)
def test_a_sentence_is_held_by_earlier_versions_as_if_each_were_read_whole(
    texts: list[str], sentence: str
) -> None:
    """Earlier versions are searched line by line, each line once, and whole only across a
    seam between two lines; a sentence found so is one found in a version's whole text."""
    earlier = [_searchable(text) for text in texts]
    key = comparable(sentence)
    assert _holder(earlier)(key) == any(f" {key} " in version.text for version in earlier)
