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
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

import soupsieve
from bs4 import (
    BeautifulSoup,
    MarkupResemblesLocatorWarning,
    ParserRejectedMarkup,
    XMLParsedAsHTMLWarning,
)
from bs4.element import NavigableString, PageElement, PreformattedString, Tag

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
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
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
    instead of a version. A syntactically invalid selector is a catalog bug and raises soupsieve's
    `SelectorSyntaxError` (the catalog validates selectors when it loads).
    """
    soup = _parse(_decode(body, encoding))
    css_select, ranges_select = _split(select)
    css_remove, ranges_remove = _split(remove)
    removed = {id(tag) for tag in _matches(soup, css_remove)}
    order = _Order(soup) if ranges_select or ranges_remove else None
    if order is not None:
        removed.update(order.contained_in(ranges_remove))
    renderer = _Renderer(_base_url(soup, url), frozenset(removed))
    if order is not None and ranges_select:
        parts = _range_parts(soup, css_select, ranges_select, renderer, order)
    else:
        parts = [(root, renderer) for root in _roots(soup, css_select, renderer)]
    if not parts:
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


def _parse(text: str) -> BeautifulSoup:
    """Parse with lxml, quietly: policy pages legitimately trip bs4's guessing heuristics.

    Class attributes stay plain strings (soupsieve splits them itself), which spares bs4 work on
    every tag of big pages.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        try:
            return BeautifulSoup(text, "lxml", multi_valued_attributes=None)
        except ParserRejectedMarkup as error:
            raise ExtractionError("not-html", f"the parser rejected the body: {error}") from None


def _split(selectors: Sequence[Selector]) -> tuple[list[str], list[RangeSelector]]:
    """CSS selectors and range selectors apart. A lone string is one selector, as in OTA
    declarations, not a sequence of one-letter ones."""
    if isinstance(selectors, str):
        return [selectors], []
    css = [selector for selector in selectors if isinstance(selector, str)]
    return css, [selector for selector in selectors if isinstance(selector, RangeSelector)]


def _matches(soup: BeautifulSoup, selectors: Sequence[str]) -> list[Tag]:
    """Elements matching any selector, in document order, each once (a selector list does both)."""
    if not selectors:
        return []
    return list(soupsieve.select(", ".join(selectors), soup))


def _roots(soup: BeautifulSoup, select: Sequence[str], renderer: _Renderer) -> list[Tag]:
    """The parts to convert: the outermost visible matches of `select`, or the whole body."""
    if not select:
        return [soup.body or soup]
    roots: list[Tag] = []
    kept: set[int] = set()
    for tag in _matches(soup, select):
        if renderer.visible_in_context(tag, kept):
            roots.append(tag)
            kept.add(id(tag))
    return roots


def _range_parts(
    soup: BeautifulSoup,
    css: Sequence[str],
    ranges: Sequence[RangeSelector],
    renderer: _Renderer,
    order: _Order,
) -> list[tuple[PageElement, _Renderer]]:
    """The parts to convert when `select` has ranges: each stretch of the page selected, once.

    Every CSS match and every range is a span of document positions; overlapping spans merge, so
    text selected twice comes once, in page order. A span that cuts through an element keeps
    that element (its heading level, its list) but renders only the children inside the span.
    """
    spans = [order.span(tag) for tag in _roots(soup, css, renderer)] if css else []
    for bounds in ranges:
        if span := order.range_span(bounds, renderer.kept):
            spans.append(span)
    parts: list[tuple[PageElement, _Renderer]] = []
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


class _Order:
    """Every node's position in document order: what range selectors need to know what lies
    between two elements. Built only for declarations that use ranges."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self._soup = soup
        self._nodes = list(soup.descendants)
        self._position = {id(node): index for index, node in enumerate(self._nodes)}

    def span(self, node: PageElement) -> _Span:
        """The positions of `node` and its descendants."""
        last = node
        while isinstance(last, Tag) and last.contents:
            last = last.contents[-1]
        return _Span(self._position[id(node)], self._position[id(last)] + 1)

    def range_span(self, bounds: RangeSelector, usable: Callable[[Tag], bool]) -> _Span | None:
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

    def _first(self, css: str, usable: Callable[[Tag], bool]) -> Tag | None:
        return next((tag for tag in soupsieve.iselect(css, self._soup) if usable(tag)), None)

    def contained_in(self, ranges: Iterable[RangeSelector]) -> set[int]:
        """The nodes wholly inside the ranges (bounds looked up in the whole page, as OTA does
        before removing anything): removing them is removing the ranges."""
        inside: set[int] = set()
        for bounds in ranges:
            span = self.range_span(bounds, lambda _: True)
            if span is None:
                continue
            index = span.start
            while index < span.end:
                node_span = self.span(self._nodes[index])
                if node_span.end <= span.end:
                    inside.add(id(self._nodes[index]))
                    index = node_span.end
                else:  # an element the range ends inside: look at its children
                    index += 1
        return inside

    def between(self, span: _Span) -> tuple[list[PageElement], set[int]]:
        """What to render for a span: the children of the nodes' common ancestor that overlap
        it, and the nodes to leave out of those that the span cuts through."""
        first, last = self._nodes[span.start], self._nodes[span.end - 1]
        ancestor = _common_ancestor(first, last)
        cut = [
            node
            for edge in (first, last)
            for node in (edge, *_ancestors_below(edge, ancestor))
            if isinstance(node, Tag) and not self._within(node, span)
        ]
        outside = {
            id(child) for node in cut for child in node.contents if not self._overlaps(child, span)
        }
        return [child for child in ancestor.contents if self._overlaps(child, span)], outside

    def _within(self, node: PageElement, span: _Span) -> bool:
        own = self.span(node)
        return span.start <= own.start and own.end <= span.end

    def _overlaps(self, node: PageElement, span: _Span) -> bool:
        own = self.span(node)
        return own.start < span.end and span.start < own.end


def _ancestors_below(node: PageElement, ancestor: Tag) -> list[Tag]:
    """The ancestors of `node` strictly below `ancestor`."""
    found: list[Tag] = []
    for parent in node.parents:
        if parent is ancestor:
            break
        found.append(parent)
    return found


def _common_ancestor(first: PageElement, last: PageElement) -> Tag:
    """The deepest element holding both nodes, neither of them itself: the container whose
    children a span's rendering starts from (as a DOM Range's common ancestor container)."""
    holders = {id(parent) for parent in first.parents}
    return next(parent for parent in last.parents if id(parent) in holders)


def _base_url(soup: BeautifulSoup, url: str | None) -> str | None:
    """The URL relative links resolve against: the page's `<base href>` if any, as browsers do."""
    base = soup.head.find("base", href=True) if soup.head else None
    href = base.get("href") if isinstance(base, Tag) else None
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


@dataclass(frozen=True)
class _Style:
    """Inline context, so that nested emphasis or nested links do not double their markup."""

    bold: bool = False
    italic: bool = False
    link: bool = False


_PLAIN = _Style()
_Handler = Callable[[Tag, _Style, int], Sequence[_Piece]]


class _Renderer:
    """Walks the tree once, turning each element into Markdown pieces."""

    def __init__(self, base_url: str | None, removed: frozenset[int]) -> None:
        self._base_url = base_url
        self._removed = removed
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

    def blocks(self, root: PageElement) -> list[_Block]:
        return _paragraphs(self._node(root, _PLAIN, 0))

    def skipped(self, tag: Tag) -> bool:
        """Dropped by nature (scripts, hidden parts, widgets) or by the declaration's `remove`.

        A button is a widget, unless it opens a section (`aria-expanded`, the accordion pattern):
        then its label is that section's title, and policies put their headings there.
        """
        if tag.name in _DROPPED or id(tag) in self._removed or "hidden" in tag.attrs:
            return True
        if tag.name == "button" and "aria-expanded" not in tag.attrs:
            return True
        aria_hidden = tag.attrs.get("aria-hidden")
        return isinstance(aria_hidden, str) and aria_hidden.strip().lower() == "true"

    def visible_in_context(self, node: PageElement, kept: set[int]) -> bool:
        """Neither dropped itself or through an ancestor, nor inside an already selected part."""
        if isinstance(node, Tag) and self.skipped(node):
            return False
        return not any(id(parent) in kept or self.skipped(parent) for parent in node.parents)

    def kept(self, tag: Tag) -> bool:
        """Not removed by the declaration, itself or through an ancestor: still on the page as
        OTA sees it once `remove` has run (hidden parts are still there)."""
        return id(tag) not in self._removed and not any(
            id(parent) in self._removed for parent in tag.parents
        )

    def without(self, nodes: set[int]) -> _Renderer:
        """A renderer that also leaves out `nodes`: how a range clips the elements it cuts."""
        return _Renderer(self._base_url, self._removed | nodes) if nodes else self

    def _text(self, node: NavigableString) -> bool:
        """Page text: neither a comment or the like, nor text that a range selector removed."""
        return not isinstance(node, PreformattedString) and id(node) not in self._removed

    def _node(self, node: PageElement, style: _Style, depth: int) -> Sequence[_Piece]:
        if isinstance(node, NavigableString):
            return [_HTML_SPACE.sub(" ", node)] if self._text(node) else []
        if not isinstance(node, Tag) or self.skipped(node):
            return []
        handler = self._handlers.get(node.name, self._children)
        return handler(node, style, depth)

    def _children(self, tag: Tag, style: _Style, depth: int) -> list[_Piece]:
        """Inline elements are transparent: their children flow into the surrounding text."""
        if depth > _MAX_DEPTH:
            return [_HTML_SPACE.sub(" ", self._raw_text(tag))]
        pieces: list[_Piece] = []
        for child in tag.children:
            pieces.extend(self._node(child, style, depth + 1))
        return pieces

    def _raw_text(self, tag: Tag) -> str:
        """The text under `tag` as written, line breaks included; iterative, for any depth."""
        parts: list[str] = []
        stack: list[PageElement] = list(reversed(tag.contents))
        while stack:
            node = stack.pop()
            if isinstance(node, Tag):
                if node.name == "br":
                    parts.append("\n")
                elif not self.skipped(node):
                    stack.extend(reversed(node.contents))
            elif isinstance(node, NavigableString) and self._text(node):
                parts.append(node)
        return "".join(parts)

    def _container(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        return _paragraphs(self._children(tag, style, depth))

    def _heading(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        """Rendered as if already emphasized: emphasis inside a heading is decoration."""
        text = _one_line(self._children(tag, replace(style, bold=True, italic=True), depth))
        return [_Block(f"{'#' * int(tag.name[1])} {text}")] if text else []

    def _list(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        entries = self._list_entries(tag, style, depth)
        start = _start_number(tag) if tag.name == "ol" else None
        items = [
            _list_item("- " if start is None else f"{start + index}. ", blocks)
            for index, blocks in enumerate(entries)
        ]
        return [_Block("\n".join(items), is_list=True)] if items else []

    def _list_entries(self, tag: Tag, style: _Style, depth: int) -> list[list[_Block]]:
        """The blocks of each item. Sloppy markup is common: a list nested directly in a list
        belongs to the previous item, and wrappers between a list and its items are looked through.
        """
        entries: list[list[_Block]] = []
        for child in tag.children:
            if isinstance(child, Tag) and self.skipped(child):
                continue
            if isinstance(child, Tag) and child.name in _LISTS and entries:
                entries[-1].extend(self._list(child, style, depth + 1))
            elif isinstance(child, Tag) and child.name != "li" and child.find("li") is not None:
                entries.extend(self._list_entries(child, style, depth + 1))
            elif isinstance(child, Tag) and child.name == "li":
                entries.append(self._container(child, style, depth + 1))
            elif blocks := _paragraphs(self._node(child, style, depth + 1)):
                entries.append(blocks)
        return [blocks for blocks in entries if blocks]

    def _stray_item(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        """An item outside any list (or selected on its own) still reads as a bullet."""
        blocks = self._container(tag, style, depth)
        return [_Block(_list_item("- ", blocks), is_list=True)] if blocks else []

    def _table(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        rows = [self._cells(row) for row in self._rows(tag)]
        cells = [cell for row in rows for cell in row]
        if len(cells) == 1:  # a layout table: its one cell is just a container
            return self._container(cells[0], style, depth)
        texts = [
            [text for cell in row for text in self._cell_texts(cell, style, depth)] for row in rows
        ]
        caption = tag.find("caption", recursive=False)
        title = self._container(caption, style, depth) if isinstance(caption, Tag) else []
        return title + _pipe_table(texts)

    def _cell_texts(self, cell: Tag, style: _Style, depth: int) -> list[str]:
        """A cell's text, then an empty cell per extra column it spans, so that columns line up."""
        text = _one_line(self._children(cell, style, depth + 1)).replace("|", "\\|")
        return [text] + [""] * (_colspan(cell) - 1)

    def _rows(self, table: Tag) -> list[Tag]:
        """The table's own rows, not those of tables nested in its cells; header rows first and
        footer rows last, where browsers draw them whatever their place in the source."""
        groups: dict[str, list[Tag]] = {"thead": [], "tbody": [], "tfoot": []}
        for child in table.children:
            if not isinstance(child, Tag) or self.skipped(child):
                continue
            if child.name == "tr":
                groups["tbody"].append(child)
            elif child.name in groups:
                groups[child.name].extend(self._rows(child))
        return groups["thead"] + groups["tbody"] + groups["tfoot"]

    def _cells(self, row: Tag) -> list[Tag]:
        return [
            cell
            for cell in row.children
            if isinstance(cell, Tag) and cell.name in {"td", "th"} and not self.skipped(cell)
        ]

    def _pre(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        code = self._raw_text(tag).replace("\r\n", "\n").replace("\r", "\n").strip("\n")
        if not code.strip():
            return []
        fence = "`" * max(3, _longest_backtick_run(code) + 1)
        return [_Block(f"{fence}\n{code}\n{fence}")]

    def _quote(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        text = _join_blocks(self._container(tag, style, depth))
        lines = (f"> {line}" if line else ">" for line in text.split("\n"))
        return [_Block("\n".join(lines))] if text else []

    def _rule(self, tag: Tag, style: _Style, depth: int) -> list[_Block]:
        return [_Block("---")]

    def _line_break(self, tag: Tag, style: _Style, depth: int) -> list[str]:
        return ["\n"]

    def _bold(self, tag: Tag, style: _Style, depth: int) -> Sequence[_Piece]:
        pieces = self._children(tag, replace(style, bold=True), depth)
        return _wrapped(pieces, "**") if not style.bold else pieces

    def _italic(self, tag: Tag, style: _Style, depth: int) -> Sequence[_Piece]:
        pieces = self._children(tag, replace(style, italic=True), depth)
        return _wrapped(pieces, "*") if not style.italic else pieces

    def _code(self, tag: Tag, style: _Style, depth: int) -> list[str]:
        lead, code, trail = _edges(_HTML_SPACE.sub(" ", self._raw_text(tag)))
        return [f"{lead}{_code_span(code)}{trail}" if code else lead]

    def _link(self, tag: Tag, style: _Style, depth: int) -> Sequence[_Piece]:
        """`[text](url)`; a link without text vanishes, one without a usable target is its text."""
        pieces = self._children(tag, replace(style, link=True), depth)
        text = _inline_text(pieces)
        href = tag.get("href")
        target = _clean_url(href, self._base_url) if isinstance(href, str) else None
        if text is None or target is None or style.link:
            return pieces
        lead, label, trail = _edges(text.replace("\n", " "))
        return [f"{lead}[{label}]({target}){trail}" if label else lead]


# --- Assembling Markdown ----------------------------------------------------------------------


def _paragraphs(pieces: Iterable[_Piece]) -> list[_Block]:
    """Blocks, with each run of inline pieces turned into one paragraph."""
    blocks: list[_Block] = []
    run: list[str] = []
    for piece in [*pieces, _Block("")]:
        if isinstance(piece, str):
            run.append(piece)
            continue
        if paragraph := _paragraph("".join(run)):
            blocks.append(_Block(paragraph))
        run = []
        if piece.text:
            blocks.append(piece)
    return blocks


def _paragraph(text: str) -> str:
    """Inline Markdown with spaces collapsed and lines trimmed. A line that would read as a
    heading is escaped, because the diff engine splits sections on headings."""
    lines = (line.strip() for line in _SPACES.sub(" ", text).split("\n"))
    return _HEADING_LOOKALIKE.sub(r"\\\1", "\n".join(lines).strip("\n"))


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


def _start_number(tag: Tag) -> int:
    start = tag.get("start")
    match = _START.fullmatch(start) if isinstance(start, str) else None
    return int(match[1]) if match else 1


def _colspan(cell: Tag) -> int:
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
