"""CSS selectors as the extractor runs them, compiled once.

The catalog checks every selector at load time with this same compiler, so that a typo or a
selector cssselect cannot translate (`p::before`) is reported before a crawl, and a selector
that loads is one the extractor can run. Both sides share the cache: a catalog of a thousand
documents uses a handful of distinct selectors.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree
from lxml.cssselect import LxmlHTMLTranslator

_TRANSLATOR = LxmlHTMLTranslator()


@lru_cache(maxsize=512)
def css_xpath(selector: str) -> etree.XPath:
    """The selector compiled by the translator of `lxml.cssselect.CSSSelector(selector,
    translator="html")`, so element and attribute names match whatever their case; but to an
    absolute path, so that it searches the whole document, every top-level element included, not
    only the tree below the element it is given. Raises cssselect's errors for what it cannot
    translate."""
    return etree.XPath(_TRANSLATOR.css_to_xpath(selector, prefix="/descendant-or-self::"))
