"""Policy text out of a PDF, in the same normalized Markdown as an HTML page's.

Some terms exist only as PDFs (Apple's developer agreement). pypdf gives the text line by line as
laid out on the page; this module turns it back into paragraphs: it drops the running headers,
footers and page numbers that repeat on every page, mends words hyphenated across lines, and
joins the lines of a paragraph, so that a re-flowed PDF is not a "change".

A PDF that yields no text (scanned pages, an image-only export) or that is encrypted is a fetch
issue, never an empty version.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from crawlers.extraction.decoding import without_junk
from crawlers.extraction.errors import RAISE_THE_CAP, ExtractionError

_PDF_HEADER = b"%PDF-"
_HEADER_WITHIN = 1024  # PDF readers allow junk before the header, up to its first KB
_PAGE_NUMBER = re.compile(r"^(page\s+)?\d+(\s*(/|of)\s*\d+)?$", re.IGNORECASE)
_HEADING = re.compile(r"^(\d+(\.\d+)*\.?|[A-Z]\.|article\s+\d+|section\s+\d+)\s+\S", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.:;!?)\"”]$")
_MIN_WORDS = 20  # less text than this in a whole PDF: scanned, or an image export
_REPEATED_SHARE = 0.5  # a line on at least half the pages (of 3 or more) is a running header
_RUNNING_WORDS = 12  # ...if it is short: a clause repeated on many pages is still text


def pdf_markdown(body: bytes, *, max_bytes: int) -> str:
    """The PDF's text as Markdown paragraphs, or an `ExtractionError` saying why there is none.

    `max_bytes` (the crawl's size cap) bounds the pages' content as it inflates, as it bounds a
    compressed HTML body: a few hundred KB of PDF can hold a hundred MB of text operators, and
    reading them would hold the crawl for minutes.
    """
    pages = _page_lines(body, max_bytes)
    running = _running_lines(pages)
    lines = [line for page in pages for line in page if line not in running]
    text = "\n\n".join(_paragraphs(lines))
    if len(text.split()) < _MIN_WORDS:
        raise ExtractionError(
            "pdf-no-text",
            "the PDF has no extractable text (scanned or image-only pages?)",
        )
    return text + "\n"


def pdf_header(body: bytes) -> bool:
    """Whether a body says it is a PDF, where PDF readers look: it, not its label, tells a PDF
    from the HTML page a site sends at a `.pdf` address."""
    return _PDF_HEADER in body[:_HEADER_WITHIN]


def _page_lines(body: bytes, max_bytes: int) -> list[list[str]]:
    # Imported on first use: pypdf takes a tenth of a second to import, on every crawl, and
    # most catalogs hold no PDF.
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

    # pypdf logs every malformed object it recovers from: noise for a crawl summary.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("pdf-protected", "the PDF is password-protected")
        pages, inflated = [], 0
        for page in reader.pages:
            contents = page.get_contents()
            inflated += len(contents.get_data()) if contents is not None else 0
            if inflated > max_bytes:
                raise ExtractionError(
                    "too-large",
                    f"the PDF's pages inflate past the size cap of {max_bytes:,} bytes; "
                    + RAISE_THE_CAP,
                )
            pages.append(_clean_lines(page.extract_text() or ""))
        return pages
    except FileNotDecryptedError:
        raise ExtractionError("pdf-protected", "the PDF is password-protected") from None
    except LimitReachedError:  # pypdf's own bound on one stream (75 MB), whatever the cap
        raise ExtractionError(
            "too-large", "a page of the PDF inflates past the most pypdf will read"
        ) from None
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise ExtractionError("not-pdf", f"the PDF cannot be read: {error}") from None


def _clean_lines(text: str) -> list[str]:
    lines = (" ".join(line.split()) for line in without_junk(text).splitlines())
    return [line for line in lines if line and not _PAGE_NUMBER.match(line)]


def _running_lines(pages: list[list[str]]) -> set[str]:
    """Lines repeated on most pages: running headers and footers, not policy text."""
    if len(pages) < 3:
        return set()
    counts = Counter(line for page in pages for line in set(page))
    return {
        line
        for line, count in counts.items()
        if count >= _REPEATED_SHARE * len(pages) and len(line.split()) <= _RUNNING_WORDS
    }


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines joined into paragraphs: a new one starts at a numbered clause or heading, after a
    short heading, and after a sentence's end."""
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        starts = _HEADING.match(line) or _is_heading(current) or _SENTENCE_END.search(current)
        if current and starts:
            paragraphs.append(current)
            current = ""
        if current.endswith("-") and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current} {line}".strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def _is_heading(line: str) -> bool:
    return bool(_HEADING.match(line)) and len(line.split()) <= _RUNNING_WORDS
