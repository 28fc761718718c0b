"""`policywatch catalog preview`: what a crawl would record of some documents, recording nothing.

A declaration's first crawl writes its first version into the history, so a wrong selector
made a wrong first version. The preview is that crawl, for real (the spider, the browser, PDF
extraction, the screening of bot walls and error pages, the vetting of the capture), into a
throwaway store in a temporary folder, which is read back and deleted: the user's store and
data folder are never opened. Nothing is alerted, and no lock is taken: nothing shared is written.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from policywatch.cli.common import (
    EXIT_NOTHING_FETCHED,
    CatalogOption,
    JsonOption,
    check_overrides,
    err_console,
    fail,
    fetch_settings,
    own_catalog_hint,
    print_json,
    settings,
)
from policywatch.cli.crawl import (
    QuietOption,
    SetOption,
    crawl_here,
    fetched,
    loaded_catalog,
    no_such_document,
    parse_overrides,
)
from policywatch.cli.renames import resolved_only
from policywatch.cli.terminal import inert_text
from policywatch.wording import counted
from store.db import open_store
from store.queries import FetchRow, get_version, last_fetch, version_snapshot

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawlers.declarations import Page, TrackedDocument
    from crawlers.items import CrawlOutcome, CrawlResult, PageBody

EXIT_SOME_FAILED = 1  # some documents gave a text, others not
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_LEFT_OUT_SHOWN = 12  # blocks left out listed on stderr; --json gives them all
_BLOCK_SHOWN = 100  # characters of each

NamesArgument = Annotated[
    list[str],
    typer.Argument(
        metavar="KEY-SERVICE-or-TAG...",
        help="Document keys, service names or catalog tags (all their documents), a name that"
        " is several taken as a key, then a service; any case.",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class Preview:
    """One document as a crawl would record it: its text, or the fetch issue it would open."""

    document: TrackedDocument
    text: str | None
    kind: str | None  # the issue's, when there is no text
    detail: str | None
    fetch: FetchRow | None
    # The page's blocks (paragraphs, headings, lists) that `select` and `remove` left out, in
    # page order (a combined document's page by page).
    left_out: tuple[str, ...] = ()
    whole_page: bool = False  # an HTML page kept whole: no `select` or `remove` declared

    @property
    def hint(self) -> str | None:
        """What to try, where the issue's own words leave the user guessing."""
        plain = self.document.render != "browser"  # a page's scripts did not run
        if self.kind == "selector-matched-nothing":
            hint = "check the selectors against the page's HTML as fetched"
            if plain:
                hint += "; a page whose text its scripts write is read with `render: browser`"
            return hint
        if self.kind == "empty-text" and plain:
            return "a page whose text its scripts write reads empty without `render: browser`"
        if self.kind == "not-found":  # a declaration being written: its URL mistyped, most often
            return "check the `url` for a typo, or find where the page moved"
        if self.kind == "dns-error":
            return "check the `url`'s host name for a typo"
        return None

    def figures(self) -> dict[str, int | None]:
        """The text's words and headings (None without a text), the fetch's status, bytes, time."""
        text, fetch = self.text, self.fetch or FetchRow(None, None, None)
        return {
            "words": None if text is None else _words(text),
            "headings": None if text is None else _headings(text),
            "status": fetch.status,
            "bytes": fetch.bytes,
            "elapsed_ms": fetch.elapsed_ms,
        }

    def to_json(self) -> dict[str, Any]:
        issue = {"kind": self.kind, "detail": self.detail, "hint": self.hint}
        return {
            "key": self.document.key,
            "url": self.document.url,
            "ok": self.text is not None,
            "text": self.text,
            "issue": None if self.text is not None else issue,
            **self.figures(),
            "left_out": None if self.text is None else list(self.left_out),
        }


def _words(markdown: str) -> int:
    """Words as a reader counts them: Markdown's `#`, `-` and `>` are none."""
    return sum(1 for token in markdown.split() if _LETTER_OR_DIGIT.search(token))


def _headings(markdown: str) -> int:
    return sum(1 for line in markdown.splitlines() if line.startswith("#"))


def preview(
    names: NamesArgument,
    catalog: CatalogOption = None,
    set_: SetOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Fetch documents as a crawl would and show the text it would record, recording nothing.

    A real crawl (robots.txt, browser, PDFs, screening) into a throwaway store: yours is untouched.

    The text goes to stdout; each document's key, URL and figures, or its issue, to stderr.

    Exit code 0: every document gave a text; 1: some did not; 3: none did.
    """
    loaded = loaded_catalog(catalog)
    names = resolved_only(loaded, names, None)  # an old key or service name, as crawl takes it
    if unknown := loaded.unknown(names):
        fail(no_such_document(loaded, unknown) + own_catalog_hint(catalog))
    documents = loaded.select(names)
    overrides = parse_overrides(set_ or [])
    with tempfile.TemporaryDirectory(prefix="policywatch-preview-") as folder:
        store_url = f"sqlite:///{Path(folder) / 'preview.sqlite3'}"
        result = _crawled(documents, store_url, overrides, quiet=quiet or as_json)
        store = open_store(store_url)
        try:
            previews = [_read_back(store, doc, item) for doc, item in _pairs(documents, result)]
        finally:
            store.dispose()
    if as_json:
        print_json([item.to_json() for item in previews])
    else:
        for item in previews:
            _show(item)
    if result.interrupted:
        raise typer.Exit(128 + (result.stopped_by or 0))  # as a shell reports a signal
    if result.nothing_fetched:
        raise typer.Exit(EXIT_NOTHING_FETCHED)
    if result.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _crawled(
    documents: list[TrackedDocument], store_url: str, overrides: dict[str, Any], *, quiet: bool
) -> CrawlResult:
    """The crawl `crawl` runs, with the settings it takes (config, `--set`), into `store_url`."""
    check_overrides(overrides)
    scrapy_settings = fetch_settings(store_url, settings(), [], overrides)
    return fetched(
        documents,
        lambda due, advance: crawl_here(due, scrapy_settings, advance),
        quiet=quiet,
    )


def _pairs(
    documents: list[TrackedDocument], result: CrawlResult
) -> list[tuple[TrackedDocument, CrawlOutcome]]:
    return list(zip(documents, result.outcomes, strict=True))  # both in catalog order


def _read_back(store: Engine, document: TrackedDocument, outcome: CrawlOutcome) -> Preview:
    """What the crawl recorded of `document`: its first version, or the issue it failed with."""
    fetch = last_fetch(store, document.key)
    if outcome.outcome == "failed":
        kind, _, detail = outcome.detail.partition(": ")
        return Preview(document, None, kind, detail, fetch)
    version = get_version(store, document.key, 1)
    assert version is not None, f"a fresh store's crawl recorded {outcome.outcome}"
    snapshot = version_snapshot(store, document.key, 1)
    if snapshot is None:  # not kept: nothing to tell what was left out by
        return Preview(document, version.text, None, None, fetch)
    from crawlers.extraction.media import media_type  # Scrapy's side: only for a preview
    from crawlers.items import snapshot_pages
    from crawlers.pipelines import HTML_TYPES

    pages = snapshot_pages(*snapshot, [page.url for page in document.pages])
    html = any(media_type(page.content_type) in HTML_TYPES for page in pages)
    whole_page = html and not any(page.select or page.remove for page in document.pages)
    texts = [
        _texts(page, declared, document.format)
        for page, declared in zip(pages, document.pages, strict=True)
    ]
    left_out = tuple(block for whole, kept in texts for block in _left_out(whole, kept))
    return Preview(document, version.text, None, None, fetch, left_out, whole_page)


def _texts(page: PageBody, declared: Page, format: str | None) -> tuple[str, str]:
    """A page's whole text, without `select` and `remove`, and the text they keep of it; both
    "" where they leave nothing out: none declared, a PDF (they do not apply)."""
    from crawlers.extraction import ExtractionError, extract_markdown

    pdf = format == "pdf" or page.body.startswith(b"%PDF-")
    if pdf or not (declared.select or declared.remove):
        return "", ""
    try:  # a page whose text was recorded: its extraction fails only as a whole (blank, framed)
        return extract_markdown(page.body, url=page.url, encoding=page.encoding), extract_markdown(
            page.body,
            select=declared.select,
            remove=declared.remove,
            url=page.url,
            encoding=page.encoding,
        )
    except ExtractionError:
        return "", ""


def _left_out(whole: str, kept: str) -> list[str]:
    """The blocks of `whole` missing from `kept`, in page order: those its selection dropped
    (a block rendered otherwise once selected, a list renumbered, is no block dropped)."""
    wholes, kepts = whole.strip().split("\n\n"), kept.strip().split("\n\n")
    matcher = difflib.SequenceMatcher(None, wholes, kepts, autojunk=False)
    return [
        block.strip()
        for tag, start, end, _, _ in matcher.get_opcodes()
        if tag in ("delete", "replace")
        for block in wholes[start:end]
        if tag == "delete" or block not in kepts
    ]


def _show(item: Preview) -> None:
    """The key and URL, then the text on stdout with its figures on stderr, or the issue."""
    document = item.document
    err_console.print(Text(f"{document.key}  {document.url}", style="bold"), highlight=False)
    if item.text is None:
        err_console.print(
            Text.assemble(("✗ ", "red"), (f"{item.kind}: ", "bold red"), item.detail or ""),
            highlight=False,
        )
        if item.hint:
            err_console.print(f"  hint: {escape(item.hint)}", highlight=False)
        return
    err_console.print(f"  {_summary(item)}", style="dim", highlight=False)
    _show_left_out(item)
    typer.echo(inert_text(item.text), nl=not item.text.endswith("\n"))


def _show_left_out(item: Preview) -> None:
    """The blocks `select` and `remove` left out, one line each, the first few: tuning them,
    what they dropped (a menu, as meant; a clause, by mistake) is what needs checking. Without
    a `select`, that the whole page is kept: its menus and footer, read as the policy's text."""
    if item.whole_page:
        err_console.print(
            "  no `select`: the page's whole <body> is kept, its menus and footer too",
            highlight=False,
            markup=False,
        )
    if not item.left_out:
        return
    dropped = sum(_words(block) for block in item.left_out)
    whole = dropped + _words(item.text or "")
    pages = "pages'" if item.document.combined else "page's"
    err_console.print(
        f"  left out by select and remove: {counted(dropped, 'word')} of the {pages} {whole:,}",
        highlight=False,
    )
    for block in item.left_out[:_LEFT_OUT_SHOWN]:
        line = " ".join(block.split())
        shown = line if len(line) <= _BLOCK_SHOWN else line[: _BLOCK_SHOWN - 1] + "…"
        err_console.print(Text(f"  - {inert_text(shown)}"), highlight=False, soft_wrap=True)
    if (more := len(item.left_out) - _LEFT_OUT_SHOWN) > 0:
        err_console.print(f"  … and {counted(more, 'block')} more (--json lists them all)")


def _summary(item: Preview) -> str:
    """e.g. `1204 words, 9 headings; 48,310 bytes fetched in 0.4 s`."""
    text, fetch = item.text or "", item.fetch
    said = f"{counted(_words(text), 'word')}, {counted(_headings(text), 'heading')}"
    if fetch and fetch.bytes is not None:
        said += f"; {fetch.bytes:,} bytes fetched"
    if fetch and fetch.elapsed_ms is not None:
        said += f" in {fetch.elapsed_ms / 1000:.1f} s"
    return said
