"""A policy served as plain text or Markdown to the normalized Markdown of an HTML page's.

Developer terms are often served so: raw files on GitHub (a TERMS.md comes as `text/plain`), `.txt`
legal notices. The text is read as CommonMark (with GitHub's tables) and rendered to HTML, which
the HTML path turns into its Markdown: a paragraph re-wrapped is no change, headings split sections
as an HTML page's do, links lose their tracking parameters, and the text is normalized alike.

A `text/plain` body is read without raw HTML and without indented code blocks, which a notice
means as neither: `<YOUR NAME>` stays text, and an indented clause is a paragraph. A `text/plain`
body that is an HTML page (`<!DOCTYPE html>`, `<html>`: a server that labels its pages wrongly) is
read as the HTML it is, with the declaration's selectors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from crawlers.declarations import Selector
from crawlers.extraction.decoding import decode
from crawlers.extraction.errors import ExtractionError
from crawlers.extraction.html import extract_markdown

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

PLAIN_TYPE = "text/plain"
TEXT_TYPES = (PLAIN_TYPE, "text/markdown", "text/x-markdown")
_HTML_START = re.compile(r"\s*<(!doctype\s+html|html)[\s>]", re.IGNORECASE)


def text_markdown(
    body: bytes,
    media_type: str,
    *,
    select: Sequence[Selector] = (),
    remove: Sequence[Selector] = (),
    url: str | None = None,
    encoding: str | None = None,
) -> str:
    """The policy text of a `TEXT_TYPES` body (of `media_type`), as normalized Markdown ending
    with one newline. `encoding`: the HTTP charset when the server sent one. Raises
    `ExtractionError` for a binary body, a blank one, or selectors given for plain text, which
    has no elements for them to match: recording the whole text instead would keep what
    `remove` was to drop."""
    text = decode(body, encoding, what="text")
    if mislabelled_html(text, media_type):
        return extract_markdown(text, select=select, remove=remove, url=url)
    if select or remove:
        raise ExtractionError(
            "selector-matched-nothing",
            f"the server sent {media_type}, plain text with no elements for `select` or `remove`"
            " to match: declare the document without them",
        )
    return extract_markdown(_reader(media_type != PLAIN_TYPE).render(text), url=url)


def mislabelled_html(text: str, media_type: str) -> bool:
    """Whether a `text/plain` body is an HTML page (a server that labels its pages wrongly)."""
    return media_type == PLAIN_TYPE and html_start(text)


def html_start(text: str) -> bool:
    """Whether a text starts as an HTML page does (`<!DOCTYPE html>`, `<html>`), to say what a
    server sent under another page's label."""
    return _HTML_START.match(text) is not None


@cache
def _reader(markdown: bool) -> MarkdownIt:
    """CommonMark with tables; for plain text, without raw HTML and indented code. Imported on
    first use, as pypdf is: it takes 80 ms, on every crawl, and most catalogs hold no text file."""
    from markdown_it import MarkdownIt

    reader = MarkdownIt("commonmark", {"html": markdown}).enable("table")
    return reader if markdown else reader.disable("code")
