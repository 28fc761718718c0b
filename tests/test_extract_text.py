"""text_markdown: policies served as plain text or Markdown (crawlers/extraction/text.py)."""

from __future__ import annotations

import pytest

from crawlers.extraction import ExtractionError, extract_markdown, text_markdown

RAW = "https://raw.githubusercontent.com/example/sdk/main/TERMS.md"
# A TERMS.md as GitHub's raw files serve it (text/plain), hard-wrapped as such files are.
TERMS_MD = """Developer Terms
===============

Last updated: 1 May 2025

## 1. Use of the API

You may call the API from your own
applications, within the limits of your
plan. See [the limits](https://example.com/limits?utm_source=gh&plan=free).

* Do not resell access.
* Keep your key secret.

| Plan | Requests |
|------|----------|
| Free | 10 a minute |
"""
NORMALIZED = """# Developer Terms

Last updated: 1 May 2025

## 1. Use of the API

You may call the API from your own applications, within the limits of your plan. See [the limits](https://example.com/limits?plan=free).

- Do not resell access.
- Keep your key secret.

| Plan | Requests |
| --- | --- |
| Free | 10 a minute |
"""


def html_of(markdown: str) -> str:
    """The HTML page a site would serve for the same terms."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").render(markdown)


@pytest.mark.parametrize("media_type", ["text/plain", "text/markdown"])
def test_a_markdown_file_reads_as_the_html_page_of_the_same_terms(media_type: str) -> None:
    text = text_markdown(TERMS_MD.encode(), media_type, url=RAW)
    assert text == NORMALIZED == extract_markdown(html_of(TERMS_MD), url=RAW)


def test_rewrapping_a_paragraph_or_ending_lines_with_crlf_is_no_change() -> None:
    rewrapped = TERMS_MD.replace("your own\napplications, within", "your own applications,\nwithin")
    assert rewrapped != TERMS_MD
    for body in (rewrapped, TERMS_MD.replace("\n", "\r\n")):
        assert text_markdown(body.encode(), "text/plain", url=RAW) == NORMALIZED


def test_a_plain_text_notice_keeps_its_angle_brackets_and_indented_clauses() -> None:
    """A `.txt` notice means neither raw HTML nor code: read as CommonMark, `<YOUR NAME>` was
    a tag, and its words lost; an indented clause was a code block, kept verbatim."""
    notice = (
        b"LEGAL NOTICE\n\nReplace <YOUR NAME> with yours.\n\n    (a) An indented\n    clause.\n"
    )
    assert text_markdown(notice, "text/plain") == (
        "LEGAL NOTICE\n\nReplace <YOUR NAME> with yours.\n\n(a) An indented clause.\n"
    )
    # Markdown proper may hold HTML, which is read as the HTML path reads it.
    markdown = b"# Terms\n\n<details><summary>Scope</summary>\n\nAll users.\n\n</details>\n"
    assert text_markdown(markdown, "text/markdown") == "# Terms\n\nScope\n\nAll users.\n"


def test_the_charset_the_server_sent_is_honoured() -> None:
    body = "Conditions générales d’utilisation".encode("cp1252")
    assert text_markdown(body, "text/plain", encoding="iso-8859-1") == (
        "Conditions générales d’utilisation\n"
    )
    assert text_markdown("Условия".encode("koi8-r"), "text/plain", encoding="koi8-r") == (
        "Условия\n"
    )
    utf16 = "\ufeffTerms of use".encode("utf-16-le")  # a byte-order mark wins, as in browsers
    assert text_markdown(utf16, "text/plain", encoding="utf-8") == "Terms of use\n"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"Terms\x00\x00\x00of use", "the body contains NUL bytes: binary, not text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the body is a binary file"),
        (b"", "the page is blank"),
        (b" \n\n\t\n", "the page is blank"),
    ],
)
def test_binary_or_blank_bodies_are_refused(body: bytes, said: str) -> None:
    with pytest.raises(ExtractionError) as caught:
        text_markdown(body, "text/plain")
    assert caught.value.kind in ("not-html", "empty-text")
    assert str(caught.value).startswith(said)


def test_selectors_cannot_apply_to_plain_text_and_say_so() -> None:
    """Recording the whole text would keep what `remove` was to drop."""
    for selectors in ({"select": ["main"]}, {"remove": [".banner"]}):
        with pytest.raises(ExtractionError) as caught:
            text_markdown(TERMS_MD.encode(), "text/markdown", **selectors)  # type: ignore[arg-type]
        assert (caught.value.kind, str(caught.value)) == (
            "selector-matched-nothing",
            "the server sent text/markdown, plain text with no elements for `select` or `remove`"
            " to match: declare the document without them",
        )


def test_an_html_page_served_as_text_plain_is_read_as_html() -> None:
    """A server that labels its pages wrongly: read as text, the page's markup was the policy."""
    page = b"\n<!DOCTYPE html><html><body><nav>Menu</nav><main><p>Terms.</p></main></body></html>"
    assert text_markdown(page, "text/plain", select=["main"]) == "Terms.\n"
