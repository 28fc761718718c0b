"""An HTML page to normalized Markdown: decoding, parsing, selecting and rendering, in turn."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from urllib.parse import urljoin

from lxml import etree

from crawlers.declarations import Selector
from crawlers.extraction.decoding import decode
from crawlers.extraction.errors import ExtractionError
from crawlers.extraction.links import base_url
from crawlers.extraction.markdown import Renderer, tidy
from crawlers.extraction.placeholder import placeholder, quoted
from crawlers.extraction.selection import Order, Part, range_parts, roots, split
from crawlers.extraction.tree import Document, Node, is_tag, parse

_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
# Fewer words than a policy has, around a frame: the page shows its policy in the frame (a
# policy vendor's embed, a frameset), and what is around it (a header, a footer) is not the
# policy. It was recorded as the policy's text, and the policy never tracked.
_FRAMED_WORDS = 150
_NOT_A_PAGE = ("about:", "javascript:", "data:")
# More words than a `<noscript>` notice has ("This site needs JavaScript: enable it…"): a page
# that holds its policy there, for readers without scripts, and shows those with them a script's
# page. A reader without scripts is not what the policy's readers see, and the text dropped with
# the `<noscript>` left a version of the page's header and footer.
_NOTICE_WORDS = 30


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
    base = base_url(document, url)
    renderer = Renderer(base, frozenset(removed))
    parts: list[Part]
    if order is not None and ranges_select:
        parts = range_parts(document, css_select, ranges_select, renderer, order)
    else:
        parts = [(root, renderer) for root in roots(document, css_select, renderer)]
    if not parts and (css_select or ranges_select):
        names = [repr(css) + _meant(document, css) for css in css_select]
        names += [str(bounds) for bounds in ranges_select]
        raise ExtractionError("selector-matched-nothing", f"no element matches {', '.join(names)}")
    markdown = tidy("\n\n".join(block.text for root, by in parts for block in by.blocks(root)))
    if len(markdown.split()) < _FRAMED_WORDS and (frames := _frames(parts, base)):
        raise ExtractionError(
            "framed",
            "the page shows its text in a frame: declare the address of the frame that holds"
            f" the policy instead ({', '.join(frames)})",
        )
    shown = len(markdown.split())
    if shown < _FRAMED_WORDS and (hidden := _noscript_words(parts)) > max(shown, _NOTICE_WORDS):
        raise ExtractionError(
            "noscript",
            f"the page shows its text only to readers without scripts, in a <noscript> element"
            f" ({hidden} words there, {shown} shown): declare `render: browser`",
        )
    if not _LETTER_OR_DIGIT.search(markdown):
        raise ExtractionError("empty-text", "the page has no text once markup is removed")
    if placeholder(markdown):
        raise ExtractionError(
            "empty-text",
            f"the page shows only a placeholder ({quoted(markdown)}), not the policy:"
            " its script writes it; declare `render: browser`",
        )
    return markdown


def _meant(document: Document, selector: str) -> str:
    """` (did you mean '#content'?)` when an id, class or element name of the page is a near miss
    of `selector`, which matches nothing: a typo is its likeliest cause, and a crawl's report
    (or a preview's) does not show the page's HTML, where the one meant was to be looked for."""
    names: set[str] = set()
    for tag in (tag for node in document.nodes if is_tag(node) for tag in node.iter()):
        if isinstance(tag.tag, str):
            names.add(tag.tag)
            names.update("." + name for name in (tag.get("class") or "").split())
            names.update("#" + name for name in [tag.get("id") or ""] if name)
    meant = difflib.get_close_matches(selector, sorted(names), n=1, cutoff=0.8)
    return f" (did you mean {meant[0]!r}?)" if meant else ""


def _frames(parts: Sequence[Part], base: str | None) -> list[str]:
    """The addresses of the frames (`iframe`, `frame`) the parts show that load a page."""
    return [
        urljoin(base or "", source)
        for frame, renderer in _elements(parts, "iframe", "frame")
        if _shown(frame, renderer)
        and not (source := (frame.get("src") or "").strip()).lower().startswith(_NOT_A_PAGE)
    ]


def _noscript_words(parts: Sequence[Part]) -> int:
    """How many words the parts hold in `<noscript>` elements, which rendering drops."""
    return sum(
        len(" ".join(map(str, hidden.itertext())).split())
        for hidden, renderer in _elements(parts, "noscript")
        if renderer.kept(hidden)
    )


def _elements(parts: Sequence[Part], *tags: str) -> Iterator[tuple[etree._Element, Renderer]]:
    """The elements of `tags` in the parts, each with its part's renderer."""
    for root, renderer in parts:
        for node in root.nodes if isinstance(root, Document) else [root]:
            if is_tag(node):
                for element in node.iter(*tags):
                    yield element, renderer


def _shown(frame: etree._Element, renderer: Renderer) -> bool:
    """Whether the page shows the frame: not hidden, not sized 0 (a tag manager's, in most pages'
    `<noscript>`), not in a part dropped or removed."""
    style = (frame.get("style") or "").replace(" ", "").lower()
    return (
        frame.get("src") is not None
        and frame.get("hidden") is None
        and "display:none" not in style
        and "0" not in (frame.get("width"), frame.get("height"))
        and renderer.kept(frame)
        and not any(renderer.skipped(parent) for parent in frame.iterancestors())
    )
