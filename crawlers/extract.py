"""HTML to normalized Markdown: the text policywatch stores, compares and classifies.

Every later stage (hashing, diffing, classifying, alerting) trusts that the same page gives the same
bytes, and that a difference in the Markdown is a difference on the page. So the conversion is
deterministic and normalizes only what the page author cannot mean: markup, collapsible whitespace,
tracking parameters, Unicode composition. Typography (quotes, dashes, non-breaking spaces) is left
as found; judging it is the diff engine's job.

Selection follows Open Terms Archive declarations: `remove` selectors are matched against the whole
page first, then the `select` selectors pick what remains, so a declaration written for Open Terms
Archive works here unchanged (except JavaScript filters, which are not supported). Range selectors
keep or drop the content between two elements, as a DOM Range does: the first match of each bound
(for `select`, the first one not removed), in document order, the bound elements themselves kept
or not as `*_before`/`*_after` say. One deliberate difference: the selected parts come in
document order and each only once, where OTA goes selector by selector and repeats an element
nested in another match; repeated text would be noise in every diff. Likewise a range whose bound
is missing selects or removes nothing, as a CSS selector that matches nothing does, where OTA
fails the whole page.

Pages are parsed by libxml2's HTML parser through lxml, and CSS selectors run as the XPath that
lxml.cssselect translates them to; a selector it cannot translate (a pseudo-element, say) is
refused when the catalog loads.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple, TypeGuard, cast
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from lxml import etree
from lxml.cssselect import LxmlHTMLTranslator

from crawlers.declarations import RangeSelector, Selector

__all__ = ["ExtractionError", "extract_markdown"]

# Elements that never carry policy text: code, invisible parts, widgets and embedded documents.
# Buttons are widgets too, except disclosure buttons (see `_Renderer.skipped`).
_DROPPED = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "iframe", "head", "object", "embed",
        "canvas", "audio", "video", "datalist", "input", "select", "textarea",
    }
)  # fmt: skip
# Elements that start a block of their own, so their text never runs into their neighbours'.
_BLOCKS = frozenset(
    {
        "address", "article", "aside", "body", "button", "caption", "center", "dd", "details",
        "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
        "header", "hgroup", "html", "legend", "main", "nav", "p", "search", "section", "summary",
        "tbody", "td", "tfoot", "th", "thead", "tr",
    }
)  # fmt: skip
_LISTS = frozenset({"ul", "ol", "menu", "dir"})
_CODE = frozenset({"code", "kbd", "samp", "tt"})
_TRACKING_PREFIXES = ("utm_", "mtm_")
_TRACKING = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "gclsrc", "msclkid", "yclid", "twclid",
        "ttclid", "li_fat_id", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc",
        "__hsfp", "hsctatracking", "igshid", "igsh", "ref_src", "ref_url", "mkt_tok", "_ga",
        "_gl", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wickedid", "s_kwcid",
        "pk_campaign", "pk_kwd", "pk_keyword", "pk_source", "pk_medium", "pk_content", "pk_cid",
    }
)  # fmt: skip
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript", "data"})
# Signatures of the binary bodies a policy URL serves by mistake (PDF, images, archives, gzip).
_BINARY_MAGIC = (
    b"%PDF-",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"\xd0\xcf\x11\xe0",
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_CHARSET_PRESCAN = 4096
# Control characters, lone surrogates and non-characters: never text, and some break the parser.
_JUNK = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_HTML_SPACE_CHARS = " \t\n\r\f"
_HTML_SPACE = re.compile(f"[{_HTML_SPACE_CHARS}]+")
_SPACES = re.compile(" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
_HEADING_LOOKALIKE = re.compile(r"^(#{1,6})(?=\s|$)", re.MULTILINE)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_URL_NOISE = re.compile(r"[\t\n\r]")
_BACKTICKS = re.compile(r"`+")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_START = re.compile(r"\s*(\d{1,9})\s*")
_INDENT = "    "
# Deeper than any real page (the corpus peaks at 24); past it, text is kept but structure is not,
# so a pathological page cannot exhaust the interpreter's recursion limit.
_MAX_DEPTH = 100


class ExtractionError(Exception):
    """A page that yields no policy text. `kind` is a short machine-readable reason."""

    kind: str  # "selector-matched-nothing" | "empty-text" | "not-html"

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


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
    document = _parse(_decode(body, encoding))
    css_select, ranges_select = _split(select)
    css_remove, ranges_remove = _split(remove)
    parts: list[_Part] = []
    if document is not None:  # None: a blank page, or only comments; nothing to select or render
        removed: set[_Node] = set(document.select(css_remove))
        order = _Order(document) if ranges_select or ranges_remove else None
        if order is not None:
            removed.update(order.contained_in(ranges_remove))
        renderer = _Renderer(_base_url(document, url), frozenset(removed))
        if order is not None and ranges_select:
            parts = _range_parts(document, css_select, ranges_select, renderer, order)
        else:
            parts = [(root, renderer) for root in _roots(document, css_select, renderer)]
    if not parts and (css_select or ranges_select):
        names = [repr(css) for css in css_select] + [str(bounds) for bounds in ranges_select]
        raise ExtractionError("selector-matched-nothing", f"no element matches {', '.join(names)}")
    markdown = _tidy("\n\n".join(block.text for root, by in parts for block in by.blocks(root)))
    if not _LETTER_OR_DIGIT.search(markdown):
        raise ExtractionError("empty-text", "the page has no text once markup is removed")
    return markdown


# --- Decoding and parsing ---------------------------------------------------------------------


def _decode(body: bytes | str, declared: str | None) -> str:
    """Text with the junk removed, or `not-html` for bodies that are plainly binary."""
    head = body[:8].encode("latin-1", "ignore") if isinstance(body, str) else body[:8]
    if head.startswith(_BINARY_MAGIC):
        raise ExtractionError("not-html", "the body is a binary file (PDF, image or archive)")
    text = body if isinstance(body, str) else _decode_bytes(body, declared)
    if "\x00" in text:
        raise ExtractionError("not-html", "the body contains NUL bytes: binary, not HTML")
    return _JUNK.sub("", text)


def _decode_bytes(body: bytes, declared: str | None) -> str:
    """Decode as a browser would: byte-order mark, then HTTP charset, then meta charset, then
    UTF-8. Undecodable bytes become U+FFFD rather than failing the page."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body.decode(codec, errors="replace")
    codecs = [_codec_for(declared)] if declared else []
    if meta := _META_CHARSET.search(body[:_CHARSET_PRESCAN]):
        codecs.append(_meta_codec_for(meta[1].decode("ascii")))
    for codec in codecs:
        try:
            return body.decode(codec, errors="replace")
        except LookupError:  # an unknown label, or a codec that is not a text encoding
            continue
    return body.decode("utf-8", errors="replace")


def _codec_for(label: str) -> str:
    """Browsers read latin-1 and ASCII labels as windows-1252; so do we, so that pages decode as
    their authors saw them (curly quotes in 0x80-0x9F, not control characters)."""
    label = label.strip().lower()
    if label in {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "ascii", "us-ascii"}:
        return "cp1252"
    return label


def _meta_codec_for(label: str) -> str:
    """A meta tag readable as ASCII cannot be UTF-16 or UTF-32: browsers take UTF-8 then."""
    if label.lower().startswith(("utf-16", "utf16", "utf-32", "utf32")):
        return "utf-8"
    return _codec_for(label)


def _parse(text: str) -> _Document | None:
    """The page parsed by libxml2's HTML parser; None when it has no element at all (blank, or
    only comments and a doctype).

    The text goes in as UTF-8 bytes with the encoding stated: lxml refuses a `str` that carries
    an XML encoding declaration, and neither that declaration nor a meta charset may overrule
    the decoding `_decode` chose. A parser per call, so that its error log is this page's (see
    `_too_deep`); making one costs microseconds.
    """
    data = text.encode("utf-8")
    # `huge_tree`: libxml2's limits on text and depth guard against XML entity bombs; an HTML
    # page has no entities to expand, and its text must not be cut off.
    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True)
    try:
        root = etree.fromstring(data, parser)
        if _too_deep(parser):
            # libxml2 stops building its tree 2,048 levels down, dropping the rest of the page;
            # lxml's own tree builder, fed the same parser's events, has no such limit.
            builder = _TreesBuilder()
            etree.fromstring(data, etree.HTMLParser(encoding="utf-8", target=builder))
            return _Document(builder.trees, builder.trees) if builder.trees else None
    except etree.XMLSyntaxError as error:  # recovering, lxml returns None for an empty page
        if not text.strip():  # (as this lxml does) or raises (as some versions may)
            return None
        raise ExtractionError("not-html", f"the parser rejected the body: {error}") from None
    if root is None:
        return None
    before = list(root.itersiblings(preceding=True))[::-1]
    return _Document([*before, root, *root.itersiblings()], [root])


def _too_deep(parser: etree.HTMLParser) -> bool:
    """Whether the parser stopped at one of its limits, which with `huge_tree` only the depth
    limit can be on a page. That error is the last: the parser stops right there."""
    error = parser.error_log.last_error
    return error is not None and error.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT


class _TreesBuilder:
    """A parser target building a tree per top-level element with lxml's `TreeBuilder`, which by
    itself returns only the last one. Between them there is only whitespace, and comments."""

    def __init__(self) -> None:
        # Given an HTML parser, the builder takes the names libxml2's HTML parser takes (`@click`).
        self._builder = etree.TreeBuilder(parser=etree.HTMLParser())
        self._depth = 0
        self.trees: list[etree._Element] = []

    def start(self, tag: str | bytes, attrib: dict[str | bytes, str | bytes]) -> None:
        self._depth += 1
        self._builder.start(tag, attrib)

    def end(self, tag: str | bytes) -> None:
        self._builder.end(tag)
        self._depth -= 1
        if not self._depth:  # `close` returns the top-level element just ended, and builds on
            self.trees.append(self._builder.close())

    def data(self, data: str | bytes) -> None:
        if self._depth:
            self._builder.data(data)

    def comment(self, text: str | bytes) -> None:
        if self._depth:
            self._builder.comment(text)

    def pi(self, target: str | bytes, data: str | bytes | None = None) -> None:
        if self._depth:
            self._builder.pi(target, data)

    def close(self) -> None:
        return None


class _Document:
    """The parsed page: its top-level nodes, in order. Usually one `html` element (with perhaps
    comments around it), but libxml2 starts another one for content after `</html>`, which real
    pages have: selectors, ranges and rendering must see them all."""

    def __init__(self, nodes: list[etree._Element], trees: list[etree._Element]) -> None:
        self.nodes = nodes
        self._trees = trees  # a node of each lxml document the nodes are in (one, but see _parse)

    def select(self, selectors: Sequence[str]) -> list[etree._Element]:
        """Elements matching any selector, in document order, each once (a selector list does
        both: it becomes an XPath union)."""
        if not selectors:
            return []
        xpath = _css(", ".join(selectors))
        return [tag for tree in self._trees for tag in cast(list[etree._Element], xpath(tree))]

    def first(self, name: str) -> etree._Element | None:
        """The first element named `name`, in document order."""
        return next((tag for node in self.nodes if _is_tag(node) for tag in node.iter(name)), None)


def _split(selectors: Sequence[Selector]) -> tuple[list[str], list[RangeSelector]]:
    """CSS selectors and range selectors apart. A lone string is one selector, as in OTA
    declarations, not a sequence of one-letter ones."""
    if isinstance(selectors, str):
        return [selectors], []
    css = [selector for selector in selectors if isinstance(selector, str)]
    return css, [selector for selector in selectors if isinstance(selector, RangeSelector)]


_TRANSLATOR = LxmlHTMLTranslator()


@lru_cache(maxsize=512)
def _css(selector: str) -> etree.XPath:
    """The selector compiled once (a catalog uses the same few on every page) by the translator
    of `lxml.cssselect.CSSSelector(selector, translator="html")`, so element and attribute names
    match whatever their case; but to an absolute path, so that it searches the whole document,
    every top-level element included, not only the tree below the element it is given."""
    return etree.XPath(_TRANSLATOR.css_to_xpath(selector, prefix="/descendant-or-self::"))


def _roots(
    document: _Document, select: Sequence[str], renderer: _Renderer
) -> list[_Node | _Document]:
    """The parts to convert: the outermost visible matches of `select`, or the whole body."""
    if not select:
        body = document.first("body")
        return [document if body is None else body]
    return [*_outermost(document, select, renderer)]


def _outermost(
    document: _Document, select: Sequence[str], renderer: _Renderer
) -> list[etree._Element]:
    """The visible matches of `select` that are not inside another one, in document order."""
    roots: list[etree._Element] = []
    kept: set[etree._Element] = set()
    for tag in document.select(select):
        if renderer.visible_in_context(tag, kept):
            roots.append(tag)
            kept.add(tag)
    return roots


def _range_parts(
    document: _Document,
    css: Sequence[str],
    ranges: Sequence[RangeSelector],
    renderer: _Renderer,
    order: _Order,
) -> list[_Part]:
    """The parts to convert when `select` has ranges: each stretch of the page selected, once.

    Every CSS match and every range is a span of document positions; overlapping spans merge, so
    text selected twice comes once, in page order. A span that cuts through an element keeps
    that element (its heading level, its list) but renders only the children inside the span.
    """
    spans = [order.span(tag) for tag in _outermost(document, css, renderer)]
    for bounds in ranges:
        if span := order.range_span(bounds, renderer.kept):
            spans.append(span)
    parts: list[_Part] = []
    for span in _merged(spans):
        roots, outside = order.between(span)
        clipped = renderer.without(outside)
        parts.extend((root, clipped) for root in roots if clipped.visible_in_context(root, set()))
    return parts


@dataclass(frozen=True, order=True)
class _Span:
    """Document positions from `start` to `end` (excluded)."""

    start: int
    end: int


def _merged(spans: Iterable[_Span]) -> list[_Span]:
    merged: list[_Span] = []
    for span in sorted(spans):
        if merged and span.start < merged[-1].end:
            merged[-1] = _Span(merged[-1].start, max(merged[-1].end, span.end))
        else:
            merged.append(span)
    return merged


# --- The tree as nodes ------------------------------------------------------------------------
#
# lxml has no text nodes: an element's text up to its first child is its `.text`, and the text
# after it (up to its next sibling) is its `.tail`, which belongs to the parent's flow. Comments,
# processing instructions and entities are elements of a kind (their `.tag` is a factory function,
# not a name): their own text is not page text, their tail is. Ranges, clipping and lists need
# text as nodes of its own, in document order: `_Text` names one such run by where lxml keeps it.


class _Text(NamedTuple):
    """A run of page text: `owner.tail` if `tail`, else `owner.text`. Equal for the same run, so
    it can stand in sets and dicts (the tuple holds the element, which keeps lxml's proxy for it
    alive, and so its identity)."""

    owner: etree._Element
    tail: bool

    @property
    def value(self) -> str:
        return (self.owner.tail if self.tail else self.owner.text) or ""


# An element (or a comment, processing instruction or entity), or a run of text.
_Node = etree._Element | _Text
# What to render (a node, or a page without body whole), and the renderer that knows what to leave
# out of it.
_Part = tuple[_Node | _Document, "_Renderer"]


def _is_tag(node: _Node) -> TypeGuard[etree._Element]:
    """An element proper: neither text nor a comment, processing instruction or entity."""
    return not isinstance(node, _Text) and isinstance(node.tag, str)


def _contents(node: _Node) -> list[_Node]:
    """What an element holds, in document order: its text, then each child and the child's tail.
    Text, comments and the like hold nothing."""
    if not _is_tag(node):
        return []
    nodes: list[_Node] = [_Text(node, False)] if node.text else []
    for child in node:
        nodes.append(child)
        if child.tail:
            nodes.append(_Text(child, True))
    return nodes


def _last_content(node: _Node) -> _Node | None:
    """The last of `_contents(node)`, without listing them all."""
    if not _is_tag(node):
        return None
    if len(node):
        child = node[-1]
        return _Text(child, True) if child.tail else child
    return _Text(node, False) if node.text else None


def _parents(node: _Node) -> Iterator[etree._Element]:
    """The elements holding `node`, innermost first: a text's first is the element whose text or
    whose parent's flow (for a tail) it is part of."""
    if isinstance(node, _Text):
        if not node.tail:
            yield node.owner
        yield from node.owner.iterancestors()
    else:
        yield from node.iterancestors()


class _Order:
    """Every node's position in document order: what range selectors need to know what lies
    between two elements. Built only for declarations that use ranges."""

    def __init__(self, document: _Document) -> None:
        self._document = document
        self._nodes: list[_Node] = []
        stack: list[_Node] = list(reversed(document.nodes))
        while stack:  # iterative, for pages of any depth
            node = stack.pop()
            self._nodes.append(node)
            stack.extend(reversed(_contents(node)))
        self._position = {node: index for index, node in enumerate(self._nodes)}

    def span(self, node: _Node) -> _Span:
        """The positions of `node` and its descendants."""
        last = node
        while (content := _last_content(last)) is not None:
            last = content
        return _Span(self._position[node], self._position[last] + 1)

    def range_span(
        self, bounds: RangeSelector, usable: Callable[[etree._Element], bool]
    ) -> _Span | None:
        """The positions a range covers, from the first usable match of each bound; None when a
        bound matches nothing or the end comes before the start."""
        start = self._first(bounds.start, usable)
        end = self._first(bounds.end, usable)
        if start is None or end is None:
            return None
        start_span, end_span = self.span(start), self.span(end)
        first = start_span.start if bounds.start_before is not None else start_span.end
        stop = end_span.start if bounds.end_before is not None else end_span.end
        return _Span(first, stop) if first < stop else None

    def _first(self, css: str, usable: Callable[[etree._Element], bool]) -> etree._Element | None:
        return next((tag for tag in self._document.select([css]) if usable(tag)), None)

    def contained_in(self, ranges: Iterable[RangeSelector]) -> set[_Node]:
        """The nodes wholly inside the ranges (bounds looked up in the whole page, as OTA does
        before removing anything): removing them is removing the ranges."""
        inside: set[_Node] = set()
        for bounds in ranges:
            span = self.range_span(bounds, lambda _: True)
            if span is None:
                continue
            index = span.start
            while index < span.end:
                node_span = self.span(self._nodes[index])
                if node_span.end <= span.end:
                    inside.add(self._nodes[index])
                    index = node_span.end
                else:  # an element the range ends inside: look at its children
                    index += 1
        return inside

    def between(self, span: _Span) -> tuple[list[_Node], set[_Node]]:
        """What to render for a span: the children of the nodes' common ancestor that overlap
        it, and the nodes to leave out of those that the span cuts through."""
        first, last = self._nodes[span.start], self._nodes[span.end - 1]
        ancestor = _common_ancestor(first, last)
        cut = [
            node
            for edge in (first, last)
            for node in (edge, *_ancestors_below(edge, ancestor))
            if _is_tag(node) and not self._within(node, span)
        ]
        outside = {
            child for node in cut for child in _contents(node) if not self._overlaps(child, span)
        }
        children = self._document.nodes if ancestor is None else _contents(ancestor)
        return [child for child in children if self._overlaps(child, span)], outside

    def _within(self, node: _Node, span: _Span) -> bool:
        own = self.span(node)
        return span.start <= own.start and own.end <= span.end

    def _overlaps(self, node: _Node, span: _Span) -> bool:
        own = self.span(node)
        return own.start < span.end and span.start < own.end


def _ancestors_below(node: _Node, ancestor: etree._Element | None) -> list[etree._Element]:
    """The ancestors of `node` strictly below `ancestor` (all of them below the document)."""
    found: list[etree._Element] = []
    for parent in _parents(node):
        if parent is ancestor:
            break
        found.append(parent)
    return found


def _common_ancestor(first: _Node, last: _Node) -> etree._Element | None:
    """The deepest element holding both nodes, neither of them itself: the container whose
    children a span's rendering starts from (as a DOM Range's common ancestor container). None
    when only the document holds both (one of them is a top-level element, or they are in two)."""
    holders = set(_parents(first))
    return next((parent for parent in _parents(last) if parent in holders), None)


def _base_url(document: _Document, url: str | None) -> str | None:
    """The URL relative links resolve against: the page's `<base href>` if any, as browsers do."""
    head = document.first("head")
    bases = head.iterdescendants("base") if head is not None else iter(())
    href = next((base.get("href") for base in bases if base.get("href") is not None), None)
    if not isinstance(href, str) or not href.strip():
        return url
    try:
        return urljoin(url or "", href.strip())
    except ValueError:
        return url


# --- Links ------------------------------------------------------------------------------------


def _clean_url(href: str, base: str | None) -> str | None:
    """An absolute link target without tracking parameters, or None when the link leads nowhere
    a reader could follow (empty, script or data URLs)."""
    href = _URL_NOISE.sub("", href).strip()
    scheme = _SCHEME.match(href)
    if not href or (scheme and scheme[1].lower() in _UNSAFE_SCHEMES):
        return None
    try:
        target = _without_tracking(urljoin(base, href) if base else href)
    except ValueError:  # malformed authority, e.g. an unclosed IPv6 bracket
        target = href
    return target.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _without_tracking(url: str) -> str:
    """Drop tracking parameters without re-encoding the others, so their bytes stay as published."""
    parts = urlsplit(url)
    params = parts.query.split("&")
    kept = [param for param in params if not _is_tracking(param)]
    if len(kept) == len(params):
        return url
    return urlunsplit(parts._replace(query="&".join(kept)))


def _is_tracking(param: str) -> bool:
    name = unquote_plus(param.partition("=")[0]).lower()
    return name in _TRACKING or name.startswith(_TRACKING_PREFIXES)


# --- Rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """Finished Markdown for one block; lists are told apart because they hug their lead-in."""

    text: str
    is_list: bool = False


# Inline Markdown (joined into paragraphs later) or a finished block.
_Piece = str | _Block
_END = _Block("")  # closes the last run of inline pieces


@dataclass(frozen=True)
class _Style:
    """Inline context, so that nested emphasis or nested links do not double their markup."""

    bold: bool = False
    italic: bool = False
    link: bool = False


_PLAIN = _Style()


@lru_cache(maxsize=64)
def _restyled(style: _Style, **changes: bool) -> _Style:
    """`dataclasses.replace`, remembered: there are eight styles, and many emphasized words."""
    return replace(style, **changes)


_Handler = Callable[[etree._Element, _Style, int], Sequence[_Piece]]


class _Renderer:
    """Walks the tree once, turning each element into Markdown pieces."""

    def __init__(self, base_url: str | None, removed: frozenset[_Node]) -> None:
        self._base_url = base_url
        self._removed = removed
        # Text is removed only by ranges: most pages need not look each run up.
        self._removes_text = any(isinstance(node, _Text) for node in removed)
        self._handlers: dict[str, _Handler] = {
            **dict.fromkeys(_BLOCKS, self._container),
            **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), self._heading),
            **dict.fromkeys(_LISTS, self._list),
            **dict.fromkeys(("b", "strong"), self._bold),
            **dict.fromkeys(("i", "em"), self._italic),
            **dict.fromkeys(_CODE, self._code),
            "li": self._stray_item,
            "table": self._table,
            "pre": self._pre,
            "blockquote": self._quote,
            "hr": self._rule,
            "br": self._line_break,
            "a": self._link,
        }

    def blocks(self, root: _Node | _Document) -> list[_Block]:
        return _paragraphs(self._node(root, _PLAIN, 0))

    def skipped(self, tag: etree._Element) -> bool:
        """Dropped by nature (scripts, hidden parts, widgets) or by the declaration's `remove`.

        A button is a widget, unless it opens a section (`aria-expanded`, the accordion pattern):
        then its label is that section's title, and policies put their headings there.
        """
        name = tag.tag
        if name in _DROPPED or tag in self._removed or tag.get("hidden") is not None:
            return True
        if name == "button" and tag.get("aria-expanded") is None:
            return True
        aria_hidden = tag.get("aria-hidden")
        return aria_hidden is not None and aria_hidden.strip().lower() == "true"

    def visible_in_context(self, node: _Node, kept: set[etree._Element]) -> bool:
        """Neither dropped itself or through an ancestor, nor inside an already selected part."""
        if _is_tag(node) and self.skipped(node):
            return False
        return not any(parent in kept or self.skipped(parent) for parent in _parents(node))

    def kept(self, tag: etree._Element) -> bool:
        """Not removed by the declaration, itself or through an ancestor: still on the page as
        OTA sees it once `remove` has run (hidden parts are still there)."""
        return tag not in self._removed and not any(
            parent in self._removed for parent in tag.iterancestors()
        )

    def without(self, nodes: set[_Node]) -> _Renderer:
        """A renderer that also leaves out `nodes`: how a range clips the elements it cuts."""
        return _Renderer(self._base_url, self._removed | nodes) if nodes else self

    def _kept_text(self, owner: etree._Element, tail: bool) -> bool:
        """Not text that a range selector removed."""
        return not self._removes_text or _Text(owner, tail) not in self._removed

    def _text(self, owner: etree._Element, tail: bool) -> str | None:
        """The run of page text at `owner.tail` (or `.text`), whitespace collapsed; None when
        there is none or a range selector removed it."""
        text = owner.tail if tail else owner.text
        return _collapsed(text) if text and self._kept_text(owner, tail) else None

    def _node(self, node: _Node | _Document, style: _Style, depth: int) -> Sequence[_Piece]:
        if isinstance(node, _Text):
            text = self._text(node.owner, node.tail)
            return [text] if text is not None else []
        if isinstance(node, _Document):  # a page without a body, whole
            return [piece for top in node.nodes for piece in self._node(top, style, depth + 1)]
        return self._element(node, style, depth)

    def _element(self, node: etree._Element, style: _Style, depth: int) -> Sequence[_Piece]:
        if not isinstance(node.tag, str) or self.skipped(node):  # comments and the like: no text
            return []
        handler = self._handlers.get(node.tag, self._children)
        return handler(node, style, depth)

    def _children(self, tag: etree._Element, style: _Style, depth: int) -> list[_Piece]:
        """Inline elements are transparent: their children flow into the surrounding text."""
        if depth > _MAX_DEPTH:
            return [_HTML_SPACE.sub(" ", self._raw_text(tag))]
        # `_contents` and `_text` inlined: this loop sees every element and every text of the page.
        pieces: list[_Piece] = []
        if (text := tag.text) and self._kept_text(tag, False):
            pieces.append(_collapsed(text))
        for child in tag:
            pieces.extend(self._element(child, style, depth + 1))
            if (tail := child.tail) and self._kept_text(child, True):
                pieces.append(_collapsed(tail))
        return pieces

    def _raw_text(self, tag: etree._Element) -> str:
        """The text under `tag` as written, line breaks included; iterative, for any depth."""
        parts: list[str] = []
        stack: list[_Node] = list(reversed(_contents(tag)))
        while stack:
            node = stack.pop()
            if isinstance(node, _Text):
                if self._kept_text(node.owner, node.tail):
                    parts.append(node.value)
            elif _is_tag(node):
                if node.tag == "br":
                    parts.append("\n")
                elif not self.skipped(node):
                    stack.extend(reversed(_contents(node)))
        return "".join(parts)

    def _container(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        return _paragraphs(self._children(tag, style, depth))

    def _heading(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        """Rendered as if already emphasized: emphasis inside a heading is decoration."""
        text = _one_line(self._children(tag, _restyled(style, bold=True, italic=True), depth))
        return [_Block(f"{'#' * int(tag.tag[1])} {text}")] if text else []

    def _list(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        entries = self._list_entries(tag, style, depth)
        start = _start_number(tag) if tag.tag == "ol" else None
        items = [
            _list_item("- " if start is None else f"{start + index}. ", blocks)
            for index, blocks in enumerate(entries)
        ]
        return [_Block("\n".join(items), is_list=True)] if items else []

    def _list_entries(self, tag: etree._Element, style: _Style, depth: int) -> list[list[_Block]]:
        """The blocks of each item. Sloppy markup is common: a list nested directly in a list
        belongs to the previous item, and wrappers between a list and its items are looked through.
        """
        entries: list[list[_Block]] = []
        for child in _contents(tag):
            if _is_tag(child) and self.skipped(child):
                continue
            if _is_tag(child) and child.tag in _LISTS and entries:
                entries[-1].extend(self._list(child, style, depth + 1))
            elif _is_tag(child) and child.tag != "li" and _has_item(child):
                entries.extend(self._list_entries(child, style, depth + 1))
            elif _is_tag(child) and child.tag == "li":
                entries.append(self._container(child, style, depth + 1))
            elif blocks := _paragraphs(self._node(child, style, depth + 1)):
                entries.append(blocks)
        return [blocks for blocks in entries if blocks]

    def _stray_item(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        """An item outside any list (or selected on its own) still reads as a bullet."""
        blocks = self._container(tag, style, depth)
        return [_Block(_list_item("- ", blocks), is_list=True)] if blocks else []

    def _table(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        rows = [self._cells(row) for row in self._rows(tag)]
        cells = [cell for row in rows for cell in row]
        if len(cells) == 1:  # a layout table: its one cell is just a container
            return self._container(cells[0], style, depth)
        texts = [
            [text for cell in row for text in self._cell_texts(cell, style, depth)] for row in rows
        ]
        caption = tag.find("caption")  # a child, not a nested table's
        title = self._container(caption, style, depth) if caption is not None else []
        return title + _pipe_table(texts)

    def _cell_texts(self, cell: etree._Element, style: _Style, depth: int) -> list[str]:
        """A cell's text, then an empty cell per extra column it spans, so that columns line up."""
        text = _one_line(self._children(cell, style, depth + 1)).replace("|", "\\|")
        return [text] + [""] * (_colspan(cell) - 1)

    def _rows(self, table: etree._Element) -> list[etree._Element]:
        """The table's own rows, not those of tables nested in its cells; header rows first and
        footer rows last, where browsers draw them whatever their place in the source."""
        groups: dict[str, list[etree._Element]] = {"thead": [], "tbody": [], "tfoot": []}
        for child in table:
            if not _is_tag(child) or self.skipped(child):
                continue
            if child.tag == "tr":
                groups["tbody"].append(child)
            elif child.tag in groups:
                groups[child.tag].extend(self._rows(child))
        return groups["thead"] + groups["tbody"] + groups["tfoot"]

    def _cells(self, row: etree._Element) -> list[etree._Element]:
        return [
            cell
            for cell in row
            if _is_tag(cell) and cell.tag in {"td", "th"} and not self.skipped(cell)
        ]

    def _pre(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        code = self._raw_text(tag).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if not code.strip():
            return []
        fence = "`" * max(3, _longest_backtick_run(code) + 1)
        return [_Block(f"{fence}\n{code}\n{fence}")]

    def _quote(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        text = _join_blocks(self._container(tag, style, depth))
        lines = (f"> {line}" if line else ">" for line in text.split("\n"))
        return [_Block("\n".join(lines))] if text else []

    def _rule(self, tag: etree._Element, style: _Style, depth: int) -> list[_Block]:
        return [_Block("---")]

    def _line_break(self, tag: etree._Element, style: _Style, depth: int) -> list[str]:
        return ["\n"]

    def _bold(self, tag: etree._Element, style: _Style, depth: int) -> Sequence[_Piece]:
        pieces = self._children(tag, _restyled(style, bold=True), depth)
        return _wrapped(pieces, "**") if not style.bold else pieces

    def _italic(self, tag: etree._Element, style: _Style, depth: int) -> Sequence[_Piece]:
        pieces = self._children(tag, _restyled(style, italic=True), depth)
        return _wrapped(pieces, "*") if not style.italic else pieces

    def _code(self, tag: etree._Element, style: _Style, depth: int) -> list[str]:
        lead, code, trail = _edges(_HTML_SPACE.sub(" ", self._raw_text(tag)))
        return [f"{lead}{_code_span(code)}{trail}" if code else lead]

    def _link(self, tag: etree._Element, style: _Style, depth: int) -> Sequence[_Piece]:
        """`[text](url)`; a link without text vanishes, one without a usable target is its text."""
        pieces = self._children(tag, _restyled(style, link=True), depth)
        text = _inline_text(pieces)
        href = tag.get("href")
        target = _clean_url(href, self._base_url) if isinstance(href, str) else None
        if text is None or target is None or style.link:
            return pieces
        lead, label, trail = _edges(text.replace("\n", " "))
        return [f"{lead}[{label}]({target}){trail}" if label else lead]


def _has_item(tag: etree._Element) -> bool:
    """Whether a list item lies anywhere below `tag`."""
    return next(tag.iterdescendants("li"), None) is not None


# --- Assembling Markdown ----------------------------------------------------------------------


def _collapsed(text: str) -> str:
    """Each run of HTML whitespace as one space (`_HTML_SPACE`). This sees every run of text on
    the page, and most need no regex: the whitespace between tags, and text already collapsed."""
    if not text.strip(_HTML_SPACE_CHARS):
        return " "
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\f" in text:
        return _HTML_SPACE.sub(" ", text)
    return text


def _paragraphs(pieces: Iterable[_Piece]) -> list[_Block]:
    """Blocks, with each run of inline pieces turned into one paragraph."""
    blocks: list[_Block] = []
    run: list[str] = []
    for piece in [*pieces, _END]:
        if isinstance(piece, str):
            run.append(piece)
            continue
        if run and (paragraph := _paragraph("".join(run))):
            blocks.append(_Block(paragraph))
        run = []
        if piece.text:
            blocks.append(piece)
    return blocks


def _paragraph(text: str) -> str:
    """Inline Markdown with spaces collapsed and lines trimmed. A line that would read as a
    heading is escaped, because the diff engine splits sections on headings."""
    if not text.strip():  # the runs between blocks, mostly: spared the regexes
        return ""
    if "  " in text:
        text = _SPACES.sub(" ", text)
    paragraph = "\n".join(line.strip() for line in text.split("\n")).strip("\n")
    return _HEADING_LOOKALIKE.sub(r"\\\1", paragraph) if "#" in paragraph else paragraph


def _one_line(pieces: Iterable[_Piece]) -> str:
    """Everything as a single line, for the places Markdown allows no more (headings, cells)."""
    text = "".join(piece if isinstance(piece, str) else f" {piece.text} " for piece in pieces)
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def _inline_text(pieces: Sequence[_Piece]) -> str | None:
    """The pieces joined, if they are all inline; None when a block sits inside."""
    texts = [piece for piece in pieces if isinstance(piece, str)]
    return "".join(texts) if len(texts) == len(pieces) else None


def _wrapped(pieces: Sequence[_Piece], marker: str) -> Sequence[_Piece]:
    """Emphasis around inline text, kept off the surrounding spaces (`** a **` is not bold).
    Around blocks emphasis is dropped: Markdown cannot express it across paragraphs."""
    text = _inline_text(pieces)
    if text is None:
        return pieces
    lead, core, trail = _edges(text)
    return [f"{lead}{marker}{core}{marker}{trail}" if core else text]


def _edges(text: str) -> tuple[str, str, str]:
    """Leading whitespace, the rest stripped, trailing whitespace."""
    core = text.strip()
    if not core:
        return text, "", ""
    start = len(text) - len(text.lstrip())
    return text[:start], core, text[start + len(core) :]


def _join_blocks(blocks: Sequence[_Block]) -> str:
    """Blank lines between blocks, except that a list follows its lead-in directly (as nested
    lists do in items)."""
    parts: list[str] = []
    for index, block in enumerate(blocks):
        if index:
            parts.append("\n" if block.is_list else "\n\n")
        parts.append(block.text)
    return "".join(parts)


def _list_item(marker: str, blocks: Sequence[_Block]) -> str:
    first, *rest = _join_blocks(blocks).split("\n")
    return "\n".join([marker + first, *(_INDENT + line if line else "" for line in rest)])


def _start_number(tag: etree._Element) -> int:
    start = tag.get("start")
    match = _START.fullmatch(start) if isinstance(start, str) else None
    return int(match[1]) if match else 1


def _colspan(cell: etree._Element) -> int:
    span = cell.get("colspan")
    match = _START.fullmatch(span) if isinstance(span, str) else None
    return min(int(match[1]), 1000) if match else 1


def _pipe_table(rows: list[list[str]]) -> list[_Block]:
    """A GitHub pipe table; the first row is the header, as GitHub requires one."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return []
    width = max(len(row) for row in rows)
    padded = [row + [""] * (width - len(row)) for row in rows]
    lines = [padded[0], ["---"] * width, *padded[1:]]
    return [_Block("\n".join(_table_row(row) for row in lines))]


def _table_row(cells: list[str]) -> str:
    return "|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in _BACKTICKS.findall(text)), default=0)


def _code_span(code: str) -> str:
    """Backticks outnumbering any run inside, padded when the code starts or ends with one."""
    ticks = "`" * (_longest_backtick_run(code) + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{ticks}{pad}{code}{pad}{ticks}"


def _tidy(markdown: str) -> str:
    """The final normal form: NFC, no trailing spaces, at most one blank line, one final newline."""
    lines = (line.rstrip() for line in unicodedata.normalize("NFC", markdown).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines).strip("\n")) + "\n"
