"""How faithful the bundled catalog is: our declarations' extraction of saved pages against OTA's.

Run on demand: `python bench/catalog_fidelity.py [--corpus DIR] [--references DIR] [--json]`.

For every document of `../shared/corpus/html/index.json` (raw snapshots as Open Terms Archive
fetched them, each mapped to the Markdown version OTA extracted from it), the bundled catalog
documents that make the same text (`CATALOG_FOR`, stated explicitly: names differ) extract the
snapshots with *their own* declarations, page by page in the catalog's order, and the result is
compared with OTA's version. `bench/extraction.py` asks whether our extractor reproduces OTA
with OTA's selectors; this asks whether our catalog selects the policy text and nothing else.

Similarity, "modulo formatting": both texts go through `diffengine.normalize` (Markdown markup,
link targets, typography and whitespace out), then become word sequences (casefolded, list and
section numbering out: `comparable_text`). Then

    similarity = difflib.SequenceMatcher ratio of the two word sequences (2·matched / total),
    recall     = share of OTA's words we have (1 - what is *missing*),
    precision  = share of our words OTA has  (1 - what is *extra*: chrome we kept).

A ratio rather than a bag-of-words F1 because order matters: a page whose sections came out
shuffled, or twice, is not faithful even when every word is there. The longest extra and missing
runs are printed, so a low figure says at once whether chrome was kept or text lost.

Second, when the folder is there (`--references DIR`): every bundled page whose URL one of OTA's
current declarations (`../shared/reference/ota-declarations/*.json`) also fetches, with the
differences in selectors, in browser rendering (`executeClientScripts`) and in PDF handling.
Corpus and references: Open Terms Archive (ODbL/CC-BY).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crawlers.declarations import Catalog, Page, Selector, TrackedDocument, load_catalog
from crawlers.extraction import ExtractionError, extract_markdown
from diffengine import normalize
from diffengine.normalize import comparable_text

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
REFERENCES = SHARED / "reference" / "ota-declarations"

# OTA document (corpus id) -> the bundled documents whose pages, in order, hold the same text.
# Where OTA combines pages that are documents in their own right (OpenAI's Service Terms, the
# Google Terms of Service), the catalog tracks each once, and they are joined here in OTA's order.
CATALOG_FOR: dict[str, tuple[str, ...]] = {
    "ChatGPT__Terms-of-Service": ("openai/europe-terms-of-use", "openai/service-terms"),
    "ChatGPT__Commercial-Terms": ("openai/services-agreement",),
    "Claude.ai__Acceptable-Use-Policy": ("anthropic/usage-policy",),
    "Claude.ai__Developer-Terms": ("anthropic/software-directory-terms",),
    "Le-Chat__Terms-of-Service": ("mistral-ai/consumer-terms-of-service-eea",),
    "Google-Generative-AI-Services__Terms-of-Service": (
        "google/terms-of-service",
        "google/generative-ai-additional-terms-of-service",
    ),
}
# Host names of the same pages: the help centre's old and new names (OTA fetched the old one, the
# catalog names the canonical one); Facebook's locale hosts.
HOST_ALIASES = {
    "support.anthropic.com": "support.claude.com",
    "fr-fr.facebook.com": "www.facebook.com",
    "en-gb.facebook.com": "www.facebook.com",
}
# Where OTA's own version is not the page's text as a reader sees it, and how it is compared.
OTA_REPEATS = {
    # `select: div` matches nested elements, and OTA writes the text of each match: the whole
    # terms come twice. Compared with OTA's text with repeated blocks kept once.
    "Le-Chat__Terms-of-Service",
}
_TOP_LEVEL_COMMA = re.compile(r",(?![^()\[\]]*[)\]])")
_QUOTES = re.compile("[\"']")
SNIPPETS = 3
SNIPPET_WORDS = 14


# --- The comparison (importable: tests/test_catalog_fidelity.py uses it) ---------------------


@dataclass(frozen=True)
class Similarity:
    """How close our text is to OTA's, and the longest stretches where they part."""

    ratio: float
    recall: float
    precision: float
    extra: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def words(markdown: str) -> list[str]:
    """The words a reader gets, block by block, formatting and numbering aside."""
    return [
        word
        for block in normalize(markdown).split("\n\n")
        for word in comparable_text(block).split()
    ]


def compare(ours: str, theirs: str) -> Similarity:
    """Our extraction against OTA's version of the same snapshot(s)."""
    our_words, their_words = words(ours), words(theirs)
    matcher = difflib.SequenceMatcher(None, our_words, their_words, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    extra: list[list[str]] = []
    missing: list[list[str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("delete", "replace"):
            extra.append(our_words[i1:i2])
        if tag in ("insert", "replace"):
            missing.append(their_words[j1:j2])
    return Similarity(
        ratio=matcher.ratio() if our_words or their_words else 1.0,
        recall=matched / len(their_words) if their_words else 1.0,
        precision=matched / len(our_words) if our_words else 1.0,
        extra=_longest(extra),
        missing=_longest(missing),
    )


def without_repeats(markdown: str) -> str:
    """The text with every block after its first occurrence left out."""
    return "\n\n".join(dict.fromkeys(normalize(markdown).split("\n\n")))


def _longest(runs: list[list[str]]) -> tuple[str, ...]:
    """The longest runs, shortened for display, with their length in words."""
    runs = sorted(runs, key=len, reverse=True)[:SNIPPETS]
    return tuple(
        f"[{len(run)}] "
        + " ".join(run[:SNIPPET_WORDS])
        + (" …" if len(run) > SNIPPET_WORDS else "")
        for run in runs
        if run
    )


# --- Rebuilding OTA's versions with our declarations --------------------------------------------


def same_page(url: str, other: str) -> bool:
    """Two URLs of one page: host aliases, letter case of the host and a trailing slash aside."""
    return _page_key(url) == _page_key(other)


def _page_key(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    host = parts.netloc.lower()
    return HOST_ALIASES.get(host, host), parts.path.rstrip("/"), parts.query


@dataclass
class VersionResult:
    """One OTA version (the snapshots of one date) against our extraction of those snapshots."""

    date: str
    version: str
    kind: str
    snapshots: list[str]
    similarity: Similarity | None
    notes: list[str] = field(default_factory=list)


@dataclass
class DocumentResult:
    corpus_id: str
    keys: tuple[str, ...]
    versions: list[VersionResult]
    notes: list[str] = field(default_factory=list)

    @property
    def latest(self) -> VersionResult | None:
        return self.versions[-1] if self.versions else None

    def mean_ratio(self) -> float | None:
        ratios = [version.similarity.ratio for version in self.versions if version.similarity]
        return statistics.mean(ratios) if ratios else None


def load_index(corpus: Path) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads(
        (corpus / "html" / "index.json").read_text(encoding="utf-8")
    )["documents"]
    return documents


def catalog_pages(catalog: Catalog, keys: Iterable[str]) -> list[Page]:
    """The pages of the bundled documents named, in order; a key that is gone is an error."""
    pages: list[Page] = []
    for key in keys:
        document = catalog.get(key)
        if document is None:
            raise KeyError(f"{key} is not in the bundled catalog: update CATALOG_FOR")
        pages.extend(document.pages)
    return pages


def versions_of(entry: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The document's snapshots grouped by the OTA version they made, oldest first."""
    by_version: dict[str, list[dict[str, Any]]] = {}
    for snapshot in entry["snapshots"]:
        by_version.setdefault(snapshot["referenced_by_version"]["file"], []).append(snapshot)
    return sorted(by_version.values(), key=lambda snapshots: snapshots[0]["snapshot_date"])


def measure_document(entry: dict[str, Any], catalog: Catalog, corpus: Path) -> DocumentResult:
    keys = CATALOG_FOR.get(entry["id"], ())
    if not keys:
        return DocumentResult(
            entry["id"], (), [], ["no bundled counterpart: map it in CATALOG_FOR"]
        )
    pages = catalog_pages(catalog, keys)
    versions = [
        measure_version(entry["id"], snapshots, pages, corpus) for snapshots in versions_of(entry)
    ]
    return DocumentResult(entry["id"], keys, versions)


def measure_latest(entry: dict[str, Any], catalog: Catalog, corpus: Path) -> VersionResult:
    """The document's newest OTA version against our extraction of its snapshots."""
    pages = catalog_pages(catalog, CATALOG_FOR[entry["id"]])
    return measure_version(entry["id"], versions_of(entry)[-1], pages, corpus)


def measure_version(
    corpus_id: str, snapshots: list[dict[str, Any]], pages: list[Page], corpus: Path
) -> VersionResult:
    """Each of our pages extracted from its snapshot, joined in our order, against OTA's text."""
    reference = snapshots[0]["referenced_by_version"]
    result = VersionResult(
        date=snapshots[0]["snapshot_date"][:10],
        version=reference["file"],
        kind=reference["kind"],
        snapshots=[snapshot["file"] for snapshot in snapshots],
        similarity=None,
    )
    texts: list[str] = []
    for page in pages:
        snapshot = next((s for s in snapshots if same_page(s["source_location"], page.url)), None)
        if snapshot is None:
            continue  # a page OTA did not combine yet on that date: absent on both sides
        try:
            texts.append(extract_page((corpus / "html" / snapshot["file"]).read_bytes(), page))
        except ExtractionError as error:
            result.notes.append(f"{page.url}: {error.kind}: {error}")
    for snapshot in snapshots:
        if not any(same_page(snapshot["source_location"], page.url) for page in pages):
            result.notes.append(f"OTA fetched {snapshot['source_location']}, not a page of ours")
    if texts:
        theirs = (corpus / "history" / reference["file"]).read_text(encoding="utf-8")
        if corpus_id in OTA_REPEATS:
            theirs = without_repeats(theirs)
        result.similarity = compare("\n\n".join(texts), theirs)
    return result


def extract_page(body: bytes, page: Page) -> str:
    return extract_markdown(body, select=page.select, remove=page.remove, url=page.url)


# --- Our declarations against OTA's current ones ------------------------------------------------


@dataclass(frozen=True)
class ReferencePage:
    """One page as an OTA declaration fetches it."""

    service: str
    terms: str
    url: str
    select: tuple[str, ...]
    remove: tuple[str, ...]
    browser: bool
    pdf: bool


@dataclass(frozen=True)
class Mismatch:
    key: str
    url: str
    reference: str
    differences: tuple[str, ...]


def reference_pages(folder: Path) -> list[ReferencePage]:
    """Every page OTA's declarations fetch, with the selectors that apply to it."""
    found: list[ReferencePage] = []
    for path in sorted(folder.glob("*.json")):
        declaration = json.loads(path.read_text(encoding="utf-8"))
        for terms, body in declaration.get("terms", {}).items():
            parts = body.get("combine") or [{"fetch": body.get("fetch")}]
            for part in parts:
                merged = {**body, **part}
                url = merged.get("fetch")
                if not url:
                    continue
                found.append(
                    ReferencePage(
                        service=declaration.get("name", path.stem),
                        terms=terms,
                        url=url,
                        select=_selector_texts(merged.get("select")),
                        remove=_selector_texts(merged.get("remove")),
                        browser=bool(merged.get("executeClientScripts")),
                        pdf=urlsplit(url).path.lower().endswith(".pdf"),
                    )
                )
    return found


def _selector_texts(value: Any) -> tuple[str, ...]:
    """OTA's `select`/`remove` as comparable texts: one string or a list, CSS or ranges."""
    values = [] if value is None else [value] if isinstance(value, str | dict) else value
    return _comparable(values)


def _our_selector_texts(selectors: Iterable[Selector]) -> tuple[str, ...]:
    """Ours, spelt as OTA's: range bounds in camel case (`start_before` is `startBefore`)."""
    return _comparable(
        selector if isinstance(selector, str) else _camel(selector.data()) for selector in selectors
    )


def _camel(data: dict[str, str]) -> dict[str, str]:
    return {re.sub(r"_(\w)", lambda m: m[1].upper(), name): css for name, css in data.items()}


def _comparable(selectors: Iterable[str | dict[str, str]]) -> tuple[str, ...]:
    """Each selector of a comma-separated list on its own, quotes and spacing aside, sorted:
    `[role="main"]` and `[role=main]` are one selector written two ways."""
    found: set[str] = set()
    for selector in selectors:
        if isinstance(selector, dict):
            bounds = ", ".join(f"{name}: {_css(css)}" for name, css in sorted(selector.items()))
            found.add(f"{{{bounds}}}")
        else:
            found.update(_css(part) for part in _TOP_LEVEL_COMMA.split(selector))
    return tuple(sorted(found))


def _css(selector: str) -> str:
    return " ".join(_QUOTES.sub("", selector).split())


def reference_mismatches(catalog: Catalog, folder: Path) -> tuple[list[Mismatch], int]:
    """Differences between each bundled page and OTA's page at the same URL; and how many of our
    pages OTA does not fetch at all (nothing to compare them with)."""
    references = reference_pages(folder)
    mismatches: list[Mismatch] = []
    unmatched = 0
    for document in catalog.documents:
        for page in document.pages:
            theirs = [ref for ref in references if same_page(ref.url, page.url)]
            if not theirs:
                unmatched += 1
            for reference in theirs:
                differences = page_differences(document, page, reference)
                if differences:
                    label = f"{reference.service} / {reference.terms}"
                    mismatches.append(Mismatch(document.key, page.url, label, differences))
    return mismatches, unmatched


def page_differences(
    document: TrackedDocument, page: Page, reference: ReferencePage
) -> tuple[str, ...]:
    """What our declaration of the page does otherwise than OTA's, in words."""
    differences = []
    ours = {"select": _our_selector_texts(page.select), "remove": _our_selector_texts(page.remove)}
    theirs = {"select": reference.select, "remove": reference.remove}
    for field_name in ("select", "remove"):
        only_ours = sorted(set(ours[field_name]) - set(theirs[field_name]))
        only_theirs = sorted(set(theirs[field_name]) - set(ours[field_name]))
        if only_ours:
            differences.append(f"{field_name}: ours only {only_ours}")
        if only_theirs:
            differences.append(f"{field_name}: OTA only {only_theirs}")
    if reference.browser != (document.render == "browser"):
        differences.append(
            f"render: ours {document.render}, OTA executeClientScripts {reference.browser}"
        )
    if reference.pdf != (document.format == "pdf"):
        differences.append(f"format: ours {document.format or 'html'}, OTA's URL is a PDF")
    return tuple(differences)


# --- Reports ------------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def _figures(similarity: Similarity | None) -> tuple[str, str, str]:
    """Similarity, recall and precision as percentages, or dashes when nothing was compared."""
    if similarity is None:
        return ("—", "—", "—")
    return (
        _percent(similarity.ratio),
        _percent(similarity.recall),
        _percent(similarity.precision),
    )


def print_results(console: Console, results: list[DocumentResult]) -> None:
    summary = Table(
        title="Bundled catalog vs Open Terms Archive: the latest version of each document"
    )
    summary.add_column("OTA document / bundled documents")
    for column in ("versions", "similarity", "recall", "precision", "mean"):
        summary.add_column(column, justify="right", no_wrap=True)
    for result in results:
        figures = result.latest.similarity if result.latest else None
        summary.add_row(
            "\n".join([f"[bold]{result.corpus_id}[/bold]", *map(escape, result.keys)]),
            str(len(result.versions)),
            *_figures(figures),
            _percent(result.mean_ratio()),
        )
    console.print(summary)
    console.print(
        "\nEvery version: similarity, recall, precision; the longest runs of words only we have"
        " (extra) and only OTA has (missing)"
    )
    for result in results:
        console.print(f"\n[bold]{result.corpus_id}[/bold]")
        for note in result.notes:
            console.print(f"  note: {note}", highlight=False, markup=False)
        for version in result.versions:
            figures = version.similarity
            cells = " ".join(f"{cell:>8}" for cell in _figures(figures))
            console.print(f"  {version.date} {version.kind:17} {cells}", highlight=False)
            lines = [
                *(f"extra:   {run}" for run in (figures.extra if figures else ())),
                *(f"missing: {run}" for run in (figures.missing if figures else ())),
                *(f"note:    {note}" for note in version.notes),
            ]
            for line in lines:
                console.print(f"      {line}", highlight=False, markup=False)


def print_mismatches(
    console: Console, mismatches: list[Mismatch], unmatched: int, total: int
) -> None:
    table = Table(
        title=f"Bundled pages vs OTA's current declarations: {len(mismatches)} differences"
        f" ({total - unmatched} of {total} bundled pages are fetched by OTA too)",
        show_lines=True,
    )
    for column in ("bundled document", "OTA declaration", "differences"):
        table.add_column(column, overflow="fold")
    for mismatch in mismatches:
        table.add_row(mismatch.key, mismatch.reference, escape("\n".join(mismatch.differences)))
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="the shared corpus folder")
    parser.add_argument(
        "--references", type=Path, default=REFERENCES, help="OTA declarations (*.json) to check"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not (args.corpus / "html" / "index.json").is_file():
        print(f"skipped: no corpus at {args.corpus} (needs html/index.json)")
        return 0
    catalog = load_catalog()
    results = [measure_document(entry, catalog, args.corpus) for entry in load_index(args.corpus)]
    has_references = args.references.is_dir()
    mismatches, unmatched = (
        reference_mismatches(catalog, args.references) if has_references else ([], 0)
    )
    total = sum(len(document.pages) for document in catalog.documents)
    if args.json:
        data = {
            "documents": [asdict(result) for result in results],
            "reference_mismatches": [asdict(mismatch) for mismatch in mismatches],
        }
        print(json.dumps(data, indent=2))
        return 0
    console = Console()
    print_results(console, results)
    if has_references:
        print_mismatches(console, mismatches, unmatched, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
