"""The selected parts of a page as Markdown: the renderer, and the assembly of its pieces into
blocks and the final normal form."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from lxml import etree

from crawlers.extraction.links import clean_url
from crawlers.extraction.tree import Document, Node, Text, contents, is_tag, parents

# Elements that never carry policy text: code, invisible parts, widgets and embedded documents.
# Buttons are widgets too, except disclosure buttons (see `Renderer.skipped`).
_DROPPED = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "iframe", "head", "object", "embed",
        "canvas", "audio", "video", "datalist", "input", "select", "textarea",
    }
)  # fmt: skip
# The containers cookie-consent platforms put their banner in, by id: OneTrust, Cookiebot,
# Didomi, Usercentrics, TrustArc, Quantcast, Complianz, iubenda. A script-built page carries the
# banner in its rendered HTML, and without a `select` its text was recorded with the policy's,
# every rewording of the banner a change.
_CONSENT_BANNERS = frozenset(
    {
        "onetrust-consent-sdk", "CybotCookiebotDialog", "didomi-host", "usercentrics-root",
        "truste-consent-track", "consent_blackbar", "qc-cmp2-container",
        "cmplz-cookiebanner-container", "iubenda-cs-banner",
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
_HTML_SPACE_CHARS = " \t\n\r\f"
_HTML_SPACE = re.compile(f"[{_HTML_SPACE_CHARS}]+")
_SPACES = re.compile(" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
_HEADING_LOOKALIKE = re.compile(r"^(#{1,6})(?=\s|$)", re.MULTILINE)
_BACKTICKS = re.compile(r"`+")
_START = re.compile(r"\s*(\d{1,9})\s*")
_INDENT = "    "
# Deeper than any real page (the corpus peaks at 24); past it, text is kept but structure is not,
# so a pathological page cannot exhaust the interpreter's recursion limit.
_MAX_DEPTH = 100


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


@lru_cache(maxsize=64)
def _restyled(style: _Style, **changes: bool) -> _Style:
    """`dataclasses.replace`, remembered: there are eight styles, and many emphasized words."""
    return replace(style, **changes)


class Renderer:
    """Walks the tree once, turning each element into Markdown pieces."""

    def __init__(self, base_url: str | None, removed: frozenset[Node]) -> None:
        self._base_url = base_url
        self._removed = removed
        # Text is removed only by ranges: most pages need not look each run up.
        self._removes_text = any(isinstance(node, Text) for node in removed)

    def blocks(self, root: Node | Document) -> list[_Block]:
        return _paragraphs(self._node(root, _PLAIN, 0))

    def skipped(self, tag: etree._Element) -> bool:
        """Dropped by nature (scripts, hidden parts, widgets, cookie-consent banners) or by the
        declaration's `remove`.

        A button is a widget, unless it opens a section (`aria-expanded`, the accordion pattern):
        then its label is that section's title, and policies put their headings there.
        """
        name = tag.tag
        if name in _DROPPED or tag in self._removed or tag.get("hidden") is not None:
            return True
        if tag.get("id") in _CONSENT_BANNERS:
            return True
        if name == "button" and tag.get("aria-expanded") is None:
            return True
        aria_hidden = tag.get("aria-hidden")
        return aria_hidden is not None and aria_hidden.strip().lower() == "true"

    def visible_in_context(self, node: Node, kept: set[etree._Element]) -> bool:
        """Neither dropped itself or through an ancestor, nor inside an already selected part."""
        if is_tag(node) and self.skipped(node):
            return False
        return not any(parent in kept or self.skipped(parent) for parent in parents(node))

    def kept(self, tag: etree._Element) -> bool:
        """Not removed by the declaration, itself or through an ancestor: still on the page as
        OTA sees it once `remove` has run (hidden parts are still there)."""
        return tag not in self._removed and not any(
            parent in self._removed for parent in tag.iterancestors()
        )

    def without(self, nodes: set[Node]) -> Renderer:
        """A renderer that also leaves out `nodes`: how a range clips the elements it cuts."""
        return Renderer(self._base_url, self._removed | nodes) if nodes else self

    def _kept_text(self, owner: etree._Element, tail: bool) -> bool:
        """Not text that a range selector removed."""
        return not self._removes_text or Text(owner, tail) not in self._removed

    def _text(self, owner: etree._Element, tail: bool) -> str | None:
        """The run of page text at `owner.tail` (or `.text`), whitespace collapsed; None when
        there is none or a range selector removed it."""
        text = owner.tail if tail else owner.text
        return _collapsed(text) if text and self._kept_text(owner, tail) else None

    def _node(self, node: Node | Document, style: _Style, depth: int) -> Sequence[_Piece]:
        if isinstance(node, Text):
            text = self._text(node.owner, node.tail)
            return [text] if text is not None else []
        if isinstance(node, Document):  # a page without a body, whole
            return [piece for top in node.nodes for piece in self._node(top, style, depth + 1)]
        return self._element(node, style, depth)

    def _element(self, node: etree._Element, style: _Style, depth: int) -> Sequence[_Piece]:
        if not isinstance(node.tag, str) or self.skipped(node):  # comments and the like: no text
            return []
        handler = _HANDLERS.get(node.tag, Renderer._children)
        return handler(self, node, style, depth)

    def _children(self, tag: etree._Element, style: _Style, depth: int) -> list[_Piece]:
        """Inline elements are transparent: their children flow into the surrounding text."""
        if depth > _MAX_DEPTH:
            return [_HTML_SPACE.sub(" ", self._raw_text(tag))]
        # `contents`, `_text` and `_element` inlined: this loop sees every element and every text
        # of the page. Most pages remove no text, and then need not look each run up.
        pieces: list[_Piece] = []
        removes_text = self._removes_text
        if (text := tag.text) and (not removes_text or self._kept_text(tag, False)):
            pieces.append(_collapsed(text))
        depth += 1
        for child in tag:
            name = child.tag
            if isinstance(name, str) and not self.skipped(child):  # comments and the like: no text
                pieces.extend(_HANDLERS.get(name, Renderer._children)(self, child, style, depth))
            if (tail := child.tail) and (not removes_text or self._kept_text(child, True)):
                pieces.append(_collapsed(tail))
        return pieces

    def _raw_text(self, tag: etree._Element) -> str:
        """The text under `tag` as written, line breaks included; iterative, for any depth.

        Every element walked is held until the end: lxml, freeing an element's Python proxy,
        walks up its ancestors to the first one that has a proxy too, so proxies freed one by
        one as the walk goes on cost the depth each. A page of 100,000 nested elements took
        17 s to read, one of a million (5 MB) half an hour, holding the crawl's event loop.
        Held, they are freed last first (CPython frees a list's items from its end), each
        with its parent still there."""
        parts: list[str] = []
        held: list[etree._Element] = []
        stack: list[Node] = list(reversed(contents(tag)))
        while stack:
            node = stack.pop()
            if isinstance(node, Text):
                if self._kept_text(node.owner, node.tail):
                    parts.append(node.value)
            elif is_tag(node):
                held.append(node)
                if node.tag == "br":
                    parts.append("\n")
                elif not self.skipped(node):
                    stack.extend(reversed(contents(node)))
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
        # `contents` and `_element` inlined, as in `_children`: every list item passes here.
        entries: list[list[_Block]] = []
        if (text := tag.text) and self._kept_text(tag, False):
            self._loose_text(entries, text)
        depth += 1
        for child in tag:
            name = child.tag
            if not isinstance(name, str) or self.skipped(child):  # comments and the like: no text
                pass
            elif name == "li":
                entries.append(self._container(child, style, depth))
            elif name in _LISTS and entries:
                entries[-1].extend(self._list(child, style, depth))
            elif _has_item(child):
                entries.extend(self._list_entries(child, style, depth))
            elif blocks := _paragraphs(
                _HANDLERS.get(name, Renderer._children)(self, child, style, depth)
            ):
                entries.append(blocks)
            if (tail := child.tail) and self._kept_text(child, True):
                self._loose_text(entries, tail)
        return [blocks for blocks in entries if blocks]

    @staticmethod
    def _loose_text(entries: list[list[_Block]], text: str) -> None:
        """Text between a list's items is an item of its own, unless it is only whitespace."""
        if paragraph := _paragraph(_collapsed(text)):
            entries.append([_Block(paragraph)])

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
            if not is_tag(child) or self.skipped(child):
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
            if is_tag(cell) and cell.tag in {"td", "th"} and not self.skipped(cell)
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
        target = clean_url(href, self._base_url) if isinstance(href, str) else None
        if text is None or target is None or style.link:
            return pieces
        lead, label, trail = _edges(text.replace("\n", " "))
        return [f"{lead}[{label}]({target}){trail}" if label else lead]


_Handler = Callable[[Renderer, etree._Element, _Style, int], Sequence[_Piece]]
# How each element renders, by tag name; any other flows inline (`Renderer._children`). The
# class's functions, not a renderer's bound methods: a table of those, kept by the renderer, made
# each renderer a reference cycle, and its page's whole tree (the elements it removes) lived on
# until the garbage collector's next pass. Collections cost ~5% of a first crawl, and collecting
# less often (crawlers/runner.py) piled the trees up: 190 MB of RSS at 1,000 pages, not 155.
_HANDLERS: dict[str, _Handler] = {
    **dict.fromkeys(_BLOCKS, Renderer._container),
    **dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), Renderer._heading),
    **dict.fromkeys(_LISTS, Renderer._list),
    **dict.fromkeys(("b", "strong"), Renderer._bold),
    **dict.fromkeys(("i", "em"), Renderer._italic),
    **dict.fromkeys(_CODE, Renderer._code),
    "li": Renderer._stray_item,
    "table": Renderer._table,
    "pre": Renderer._pre,
    "blockquote": Renderer._quote,
    "hr": Renderer._rule,
    "br": Renderer._line_break,
    "a": Renderer._link,
}


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
    """Blocks, with each run of inline pieces turned into one paragraph. This sees every block
    element's pieces: the run is joined only when it has more than one piece, and the last run
    is closed after the loop rather than by a sentinel appended to a copy of the pieces."""
    blocks: list[_Block] = []
    run: list[str] = []
    for piece in pieces:
        if isinstance(piece, str):
            run.append(piece)
            continue
        if run:
            if len(run) > 1 or run[0] != " ":  # one space between blocks (most runs): no text
                _add_paragraph(blocks, run)
            run = []
        if piece.text:
            blocks.append(piece)
    if run:
        _add_paragraph(blocks, run)
    return blocks


def _add_paragraph(blocks: list[_Block], run: list[str]) -> None:
    """The run of inline pieces as a paragraph block, unless it holds no text."""
    if paragraph := _paragraph(run[0] if len(run) == 1 else "".join(run)):
        blocks.append(_Block(paragraph))


def _paragraph(text: str) -> str:
    """Inline Markdown with spaces collapsed and lines trimmed. A line that would read as a
    heading is escaped, because the diff engine splits sections on headings."""
    if not text.strip():  # the runs between blocks, mostly: spared the regexes
        return ""
    if "  " in text:
        text = _SPACES.sub(" ", text)
    if "\n" in text:
        paragraph = "\n".join(line.strip() for line in text.split("\n")).strip("\n")
    else:  # one line: trimming it is all the above does
        paragraph = text.strip()
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
    if len(blocks) == 1 and "\n" not in (text := blocks[0].text):  # most items: one line
        return marker + text
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


def tidy(markdown: str) -> str:
    """The final normal form: NFC, no trailing spaces, at most one blank line, one final newline."""
    lines = (line.rstrip() for line in unicodedata.normalize("NFC", markdown).split("\n"))
    text = "\n".join(lines).strip("\n")
    # The pattern's scan of the whole page costs several times this plain search.
    return (_BLANK_LINES.sub("\n\n", text) if "\n\n\n" in text else text) + "\n"
