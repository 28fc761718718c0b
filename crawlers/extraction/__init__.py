"""HTML, PDF and plain text to normalized Markdown: the text policywatch stores, compares and
classifies.

Every later stage (hashing, diffing, classifying, alerting) trusts that the same page gives the same
bytes, and that a difference in the Markdown is a difference on the page. So the conversion is
deterministic and normalizes only what the page author cannot mean: markup, collapsible whitespace,
tracking parameters, Unicode composition. Typography (quotes, dashes, non-breaking spaces) is left
as found; judging it is the diff engine's job.

An HTML page goes through `decoding` (bytes to text), `tree` (the parsed document), `selection`
(what the declaration keeps) and `markdown` (rendering, with `links` cleaning link targets), in
turn by `html.extract_markdown`; `pdf.pdf_markdown` reads a PDF, and `text.text_markdown` a policy
served as plain text or Markdown. Each raises `ExtractionError` for a page without policy text.
"""

from crawlers.extraction.errors import RAISE_THE_CAP, ExtractionError
from crawlers.extraction.html import extract_markdown
from crawlers.extraction.media import charset, media_type
from crawlers.extraction.pdf import pdf_header, pdf_markdown
from crawlers.extraction.text import TEXT_TYPES, html_start, text_markdown

__all__ = [
    "RAISE_THE_CAP",
    "TEXT_TYPES",
    "ExtractionError",
    "charset",
    "extract_markdown",
    "html_start",
    "media_type",
    "pdf_header",
    "pdf_markdown",
    "text_markdown",
]
