"""The page parsed into the document model, and the helpers that walk it as nodes.

Pages are parsed by libxml2's HTML parser through lxml, and CSS selectors run as the XPath that
lxml.cssselect translates them to; a selector it cannot translate (a pseudo-element, say) is
refused when the catalog loads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, TypeGuard, cast

from lxml import etree

from crawlers.css import css_xpath
from crawlers.extraction.errors import ExtractionError


def parse(text: str) -> Document | None:
    """The page parsed by libxml2's HTML parser; None when it has no element at all (blank, or
    only comments and a doctype).

    The text goes in as UTF-8 bytes with the encoding stated: lxml refuses a `str` that carries
    an XML encoding declaration, and neither that declaration nor a meta charset may overrule
    the decoding `decode` chose. A parser per call, so that its error log is this page's (see
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
            return Document(builder.trees, builder.trees) if builder.trees else None
    except etree.XMLSyntaxError as error:  # recovering, lxml returns None for an empty page
        if not text.strip():  # (as this lxml does) or raises (as some versions may)
            return None
        raise ExtractionError("not-html", f"the parser rejected the body: {error}") from None
    if root is None:
        return None
    before = list(root.itersiblings(preceding=True))[::-1]
    return Document([*before, root, *root.itersiblings()], [root])


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


class Document:
    """The parsed page: its top-level nodes, in order. Usually one `html` element (with perhaps
    comments around it), but libxml2 starts another one for content after `</html>`, which real
    pages have: selectors, ranges and rendering must see them all."""

    def __init__(self, nodes: list[etree._Element], trees: list[etree._Element]) -> None:
        self.nodes = nodes
        self._trees = trees  # a node of each lxml document the nodes are in (one, but see parse)

    def select(self, selectors: Sequence[str]) -> list[etree._Element]:
        """Elements matching any selector, in document order, each once (a selector list does
        both: it becomes an XPath union)."""
        if not selectors:
            return []
        xpath = css_xpath(", ".join(selectors))
        return [tag for tree in self._trees for tag in cast(list[etree._Element], xpath(tree))]

    def first(self, name: str) -> etree._Element | None:
        """The first element named `name`, in document order."""
        return next((tag for node in self.nodes if is_tag(node) for tag in node.iter(name)), None)


# --- The tree as nodes ------------------------------------------------------------------------
#
# lxml has no text nodes: an element's text up to its first child is its `.text`, and the text
# after it (up to its next sibling) is its `.tail`, which belongs to the parent's flow. Comments,
# processing instructions and entities are elements of a kind (their `.tag` is a factory function,
# not a name): their own text is not page text, their tail is. Ranges, clipping and lists need
# text as nodes of its own, in document order: `Text` names one such run by where lxml keeps it.


class Text(NamedTuple):
    """A run of page text: `owner.tail` if `tail`, else `owner.text`. Equal for the same run, so
    it can stand in sets and dicts (the tuple holds the element, which keeps lxml's proxy for it
    alive, and so its identity)."""

    owner: etree._Element
    tail: bool

    @property
    def value(self) -> str:
        return (self.owner.tail if self.tail else self.owner.text) or ""


# An element (or a comment, processing instruction or entity), or a run of text.
Node = etree._Element | Text


def is_tag(node: Node) -> TypeGuard[etree._Element]:
    """An element proper: neither text nor a comment, processing instruction or entity."""
    return not isinstance(node, Text) and isinstance(node.tag, str)


def contents(node: Node) -> list[Node]:
    """What an element holds, in document order: its text, then each child and the child's tail.
    Text, comments and the like hold nothing."""
    if not is_tag(node):
        return []
    nodes: list[Node] = [Text(node, False)] if node.text else []
    for child in node:
        nodes.append(child)
        if child.tail:
            nodes.append(Text(child, True))
    return nodes


def last_content(node: Node) -> Node | None:
    """The last of `contents(node)`, without listing them all."""
    if not is_tag(node):
        return None
    if len(node):
        child = node[-1]
        return Text(child, True) if child.tail else child
    return Text(node, False) if node.text else None


def parents(node: Node) -> Iterator[etree._Element]:
    """The elements holding `node`, innermost first: a text's first is the element whose text or
    whose parent's flow (for a tail) it is part of."""
    if isinstance(node, Text):
        if not node.tail:
            yield node.owner
        yield from node.owner.iterancestors()
    else:
        yield from node.iterancestors()
