"""PDF text into paragraphs: running headers, page numbers and line wraps are not the policy."""

from __future__ import annotations

import pytest

from crawlers.extraction import ExtractionError, pdf_markdown
from crawlers.settings import DOWNLOAD_MAXSIZE as CAP
from tests.pdfs import HEADER, image_only_pdf, text_pdf

CLAUSE = (
    "The developer shall comply with the review guidelines when distributing applications "
    "through the store, and shall keep the documentation of each application up to date."
)


def sections(count: int) -> list[str]:
    return [item for n in range(1, count + 1) for item in (f"{n}. Section {n}", clause(n))]


def clause(n: int) -> str:
    return f"{n}: {CLAUSE} This applies to section {n}."


def test_paragraphs_come_back_whole_without_headers_or_page_numbers() -> None:
    text = pdf_markdown(text_pdf(sections(6)), max_bytes=CAP)
    paragraphs = text.strip().split("\n\n")
    assert paragraphs[:2] == ["1. Section 1", clause(1)]
    assert len(paragraphs) == 12
    assert HEADER not in text and "Page 1 of" not in text


def test_the_same_text_laid_out_differently_extracts_the_same() -> None:
    assert pdf_markdown(text_pdf(sections(6), per_page=2), max_bytes=CAP) == pdf_markdown(
        text_pdf(sections(6), per_page=4), max_bytes=CAP
    )


def test_control_characters_in_the_text_layer_are_not_kept() -> None:
    """A PDF's text may hold terminal escapes or NULs: stored, they would reach diffs, feeds and
    terminals (an HTML page loses them when it is decoded)."""
    planted = clause(1).replace("applies", "\x1b[2J\x00applies\x07")
    text = pdf_markdown(text_pdf([planted, *sections(3)]), max_bytes=CAP)
    assert clause(1).replace("applies", "[2Japplies") in text
    assert not any(ord(char) < 0x20 and char != "\n" for char in text)


def test_words_hyphenated_across_lines_are_mended() -> None:
    words = " ".join(["agreement"] * 11) + " interoper-"
    text = pdf_markdown(
        text_pdf([f"{words}\nability of the services is required. {CLAUSE}"]), max_bytes=CAP
    )
    assert "interoperability" in text


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (image_only_pdf(), "pdf-no-text"),
        (text_pdf(sections(2), password="secret"), "pdf-protected"),
        (b"%PDF-1.7\n%broken beyond repair", "not-pdf"),
    ],
    ids=["scanned", "password", "truncated"],
)
def test_a_pdf_without_readable_text_says_why(body: bytes, kind: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        pdf_markdown(body, max_bytes=CAP)
    assert caught.value.kind == kind
