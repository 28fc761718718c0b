"""An HTML page to normalized Markdown: decoding, parsing, selecting and rendering, in turn."""

from __future__ import annotations

import re
from collections.abc import Sequence

from crawlers.declarations import Selector
from crawlers.extraction.decoding import decode
from crawlers.extraction.errors import ExtractionError
from crawlers.extraction.links import base_url
from crawlers.extraction.markdown import Renderer, tidy
from crawlers.extraction.selection import Order, Part, range_parts, roots, split
from crawlers.extraction.tree import Node, parse

_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def extract_markdown(
    body: bytes | str,
    *,
    select: Sequence[Selector] = (),
    remove: Sequence[Selector] = (),
    url: str | None = None,
    encoding: str | None = None,
) -> str:
    """The policy text of an HTML page, as normalized Markdown ending with one newline.

    `select`/`remove` are CSS or range selectors as in an Open Terms Archive declaration; `url`
    resolves relative links; `encoding` is the HTTP charset when the server sent one. Raises
    `ExtractionError` when the page holds no policy text, so that the caller records a fetch issue
    instead of a version. A selector that is invalid, or that cssselect cannot translate to XPath,
    is a catalog bug and raises cssselect's `SelectorError` (the catalog validates selectors when
    it loads).
    """
    document = parse(decode(body, encoding))
    if document is None:  # not "no element matches 'main'": there is nothing to match
        raise ExtractionError("empty-text", "the page is blank: no element, no text")
    css_select, ranges_select = split(select)
    css_remove, ranges_remove = split(remove)
    removed: set[Node] = set(document.select(css_remove))
    order = Order(document) if ranges_select or ranges_remove else None
    if order is not None:
        removed.update(order.contained_in(ranges_remove))
    renderer = Renderer(base_url(document, url), frozenset(removed))
    parts: list[Part]
    if order is not None and ranges_select:
        parts = range_parts(document, css_select, ranges_select, renderer, order)
    else:
        parts = [(root, renderer) for root in roots(document, css_select, renderer)]
    if not parts and (css_select or ranges_select):
        names = [repr(css) for css in css_select] + [str(bounds) for bounds in ranges_select]
        raise ExtractionError("selector-matched-nothing", f"no element matches {', '.join(names)}")
    markdown = tidy("\n\n".join(block.text for root, by in parts for block in by.blocks(root)))
    if not _LETTER_OR_DIGIT.search(markdown):
        raise ExtractionError("empty-text", "the page has no text once markup is removed")
    return markdown
