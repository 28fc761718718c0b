"""What of the page to render: the declaration's `select` and `remove`, CSS and range selectors.

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

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from crawlers.declarations import RangeSelector, Selector
from crawlers.extraction.markdown import Renderer
from crawlers.extraction.tree import Document, Node, contents, is_tag, last_content, parents

# What to render (a node, or a page without body whole), and the renderer that knows what to leave
# out of it.
Part = tuple[Node | Document, Renderer]


def split(selectors: Sequence[Selector]) -> tuple[list[str], list[RangeSelector]]:
    """CSS selectors and range selectors apart. A lone string is one selector, as in OTA
    declarations, not a sequence of one-letter ones."""
    if isinstance(selectors, str):
        return [selectors], []
    css = [selector for selector in selectors if isinstance(selector, str)]
    return css, [selector for selector in selectors if isinstance(selector, RangeSelector)]


def roots(document: Document, select: Sequence[str], renderer: Renderer) -> list[Node | Document]:
    """The parts to convert: the outermost visible matches of `select`, or the whole body."""
    if not select:
        body = document.first("body")
        return [document if body is None else body]
    return [*_outermost(document, select, renderer)]


def _outermost(
    document: Document, select: Sequence[str], renderer: Renderer
) -> list[etree._Element]:
    """The visible matches of `select` that are not inside another one, in document order."""
    outermost: list[etree._Element] = []
    kept: set[etree._Element] = set()
    for tag in document.select(select):
        if renderer.visible_in_context(tag, kept):
            outermost.append(tag)
            kept.add(tag)
    return outermost


def range_parts(
    document: Document,
    css: Sequence[str],
    ranges: Sequence[RangeSelector],
    renderer: Renderer,
    order: Order,
) -> list[Part]:
    """The parts to convert when `select` has ranges: each stretch of the page selected, once.

    Every CSS match and every range is a span of document positions; overlapping spans merge, so
    text selected twice comes once, in page order. A span that cuts through an element keeps
    that element (its heading level, its list) but renders only the children inside the span.
    """
    spans = [order.span(tag) for tag in _outermost(document, css, renderer)]
    for bounds in ranges:
        if span := order.range_span(bounds, renderer.kept):
            spans.append(span)
    parts: list[Part] = []
    for span in _merged(spans):
        children, outside = order.between(span)
        clipped = renderer.without(outside)
        parts.extend(
            (child, clipped) for child in children if clipped.visible_in_context(child, set())
        )
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


class Order:
    """Every node's position in document order: what range selectors need to know what lies
    between two elements. Built only for declarations that use ranges."""

    def __init__(self, document: Document) -> None:
        self._document = document
        self._nodes: list[Node] = []
        stack: list[Node] = list(reversed(document.nodes))
        while stack:  # iterative, for pages of any depth
            node = stack.pop()
            self._nodes.append(node)
            stack.extend(reversed(contents(node)))
        self._position = {node: index for index, node in enumerate(self._nodes)}

    def span(self, node: Node) -> _Span:
        """The positions of `node` and its descendants."""
        last = node
        while (content := last_content(last)) is not None:
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

    def contained_in(self, ranges: Iterable[RangeSelector]) -> set[Node]:
        """The nodes wholly inside the ranges (bounds looked up in the whole page, as OTA does
        before removing anything): removing them is removing the ranges."""
        inside: set[Node] = set()
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

    def between(self, span: _Span) -> tuple[list[Node], set[Node]]:
        """What to render for a span: the children of the nodes' common ancestor that overlap
        it, and the nodes to leave out of those that the span cuts through."""
        first, last = self._nodes[span.start], self._nodes[span.end - 1]
        ancestor = _common_ancestor(first, last)
        cut = [
            node
            for edge in (first, last)
            for node in (edge, *_ancestors_below(edge, ancestor))
            if is_tag(node) and not self._within(node, span)
        ]
        outside = {
            child for node in cut for child in contents(node) if not self._overlaps(child, span)
        }
        children = self._document.nodes if ancestor is None else contents(ancestor)
        return [child for child in children if self._overlaps(child, span)], outside

    def _within(self, node: Node, span: _Span) -> bool:
        own = self.span(node)
        return span.start <= own.start and own.end <= span.end

    def _overlaps(self, node: Node, span: _Span) -> bool:
        own = self.span(node)
        return own.start < span.end and span.start < own.end


def _ancestors_below(node: Node, ancestor: etree._Element | None) -> list[etree._Element]:
    """The ancestors of `node` strictly below `ancestor` (all of them below the document)."""
    found: list[etree._Element] = []
    for parent in parents(node):
        if parent is ancestor:
            break
        found.append(parent)
    return found


def _common_ancestor(first: Node, last: Node) -> etree._Element | None:
    """The deepest element holding both nodes, neither of them itself: the container whose
    children a span's rendering starts from (as a DOM Range's common ancestor container). None
    when only the document holds both (one of them is a top-level element, or they are in two)."""
    holders = set(parents(first))
    return next((parent for parent in parents(last) if parent in holders), None)
