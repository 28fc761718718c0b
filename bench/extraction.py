"""Extraction measured against Open Terms Archive on real pages: similarity and speed.

Run on demand: `python bench/extraction.py [--dump DIR]`. It reads `../shared/corpus/html/` (raw
snapshots, with the declaration in force when each was taken) and `../shared/corpus/history/` (the
Markdown Open Terms Archive extracted from them), and skips with a message when they are absent.

Each OTA version is rebuilt from its snapshots, in the order of the declaration's `combine` list,
each part extracted with its own select/remove and the parts joined by a blank line. Our Markdown
and OTA's differ in syntax by design (ATX vs setext headings, `-` vs `*` bullets, `*` vs `_`
emphasis, no backslash escapes, images dropped), so similarity compares what a reader gets:

    similarity = difflib.SequenceMatcher(ratio) over the sequences of words (runs of letters and
    digits, case kept, link targets included) of the two texts;
    recall = share of OTA's words found in the matching blocks; precision = share of ours.

Parts using what we do not support (JavaScript filters) are reported and left
out, as are parts whose selector no longer matches; such versions are marked incomplete (only
their precision says anything) and kept out of the means. Where a declaration selects elements
nested in one another (`select: div`), OTA repeats the inner text and we do not: the version is
also compared with OTA's text stripped of repeated paragraphs.
Timing: 5 runs per snapshot after a warm-up run, raw bytes to Markdown; best and median.
Corpus: Open Terms Archive (ODbL/CC-BY).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from lxml.cssselect import CSSSelector

from crawlers.declarations import RangeSelector, Selector
from crawlers.extraction import ExtractionError, extract_markdown
from crawlers.ota import ota_selector

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
RUNS = 5
_WORDS = re.compile(r"[^\W_]+")


@dataclass
class Part:
    """One snapshot with the declaration that applies to it."""

    path: Path
    url: str
    select: list[Selector]
    remove: list[Selector]
    unsupported: list[str]
    order: int


@dataclass
class Version:
    """An OTA version file and the snapshots it was built from."""

    document: str
    file: Path
    kind: str
    parts: list[Part] = field(default_factory=list)


@dataclass
class Timing:
    size: int
    best: float
    median: float


@dataclass
class Result:
    version: Version
    similarity: float
    recall: float
    precision: float
    notes: list[str]
    complete: bool


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write our Markdown of each version here")
    args = parser.parse_args(argv)
    index = CORPUS / "html" / "index.json"
    if not index.exists():
        print(f"skipped: no corpus at {CORPUS} (needs ../shared/corpus/html/index.json)")
        return 0
    versions = load_versions(json.loads(index.read_text(encoding="utf-8")))
    timings: dict[str, list[Timing]] = {}
    results = [measure(version, timings, args.dump) for version in versions]
    report(results)
    report_timings(timings)
    return 0


def load_versions(index: dict[str, Any]) -> list[Version]:
    versions: dict[Path, Version] = {}
    for document in index["documents"]:
        for snapshot in document["snapshots"]:
            reference = snapshot["referenced_by_version"]
            file = CORPUS / "history" / reference["file"]
            version = versions.setdefault(file, Version(document["id"], file, reference["kind"]))
            version.parts.append(part_for(snapshot))
    for version in versions.values():
        version.parts.sort(key=lambda part: part.order)
    return list(versions.values())


def part_for(snapshot: dict[str, Any]) -> Part:
    """The snapshot's own select/remove: a `combine` entry overrides the shared ones, as in OTA."""
    terms = snapshot["declaration_in_force"]["terms"]
    combine = terms.get("combine", [])
    fetches = [entry["fetch"] for entry in combine]
    url = snapshot["source_location"]
    source = combine[fetches.index(url)] if url in fetches else {}
    merged = {**terms, **source}
    unsupported: list[str] = []
    select = css_selectors(merged.get("select", []))
    remove = css_selectors(merged.get("remove", []))
    if merged.get("filter"):
        unsupported.append(f"JavaScript filters {merged['filter']}")
    return Part(
        path=CORPUS / "html" / snapshot["file"],
        url=url,
        select=select,
        remove=remove,
        unsupported=unsupported,
        order=fetches.index(url) if url in fetches else 0,
    )


def css_selectors(value: Any) -> list[Selector]:
    """OTA's selectors as ours: CSS as is, range selectors converted as `import-ota` does."""
    selectors = [value] if isinstance(value, (str, dict)) else list(value)
    return [
        selector if isinstance(selector, str) else RangeSelector(**ota_selector(selector))
        for selector in selectors
    ]


def measure(version: Version, timings: dict[str, list[Timing]], dump: Path | None) -> Result:
    texts: list[str] = []
    notes: list[str] = []
    complete = True
    nested = 0
    for part in version.parts:
        if part.unsupported:
            notes.append(f"left out {part.path.name}: unsupported {'; '.join(part.unsupported)}")
            complete = False
            continue
        body = part.path.read_bytes()
        try:
            texts.append(extract(body, part))
        except ExtractionError as error:
            notes.append(f"error {part.path.name}: {error.kind}: {error}")
            complete = False
            continue
        timings.setdefault(version.document, []).append(time_extraction(body, part))
        nested += nested_matches(body, part.select)
    ours = "\n\n".join(texts)
    if dump:
        target = dump / version.document / version.file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(ours, encoding="utf-8")
    theirs = version.file.read_text(encoding="utf-8")
    if not complete and version.kind == "technical_upgrade":
        notes.append(
            "technical_upgrade: OTA re-extracted these snapshots with a later declaration than"
            " the one the corpus records as in force"
        )
    if nested:
        ratio, _, _ = similarity(ours, without_repeats(theirs))
        notes.append(
            f"{nested} selected elements are nested in other selected ones: OTA repeats their"
            f" text, we keep it once; against OTA's text without repeated paragraphs: {ratio:.2%}"
        )
    return Result(version, *similarity(ours, theirs), notes, complete)


def extract(body: bytes, part: Part) -> str:
    return extract_markdown(body, select=part.select, remove=part.remove, url=part.url)


def time_extraction(body: bytes, part: Part) -> Timing:
    """Best and median of a few runs: the best is what the code costs, the median what the
    machine (shared with other work) gave it."""
    durations = []
    for _ in range(RUNS):
        start = time.perf_counter()
        extract(body, part)
        durations.append(time.perf_counter() - start)
    return Timing(len(body), min(durations), statistics.median(durations))


def nested_matches(body: bytes, select: list[Selector]) -> int:
    """Matches inside other matches: where OTA's output and ours legitimately part ways."""
    css = [selector for selector in select if isinstance(selector, str)]
    root = etree.fromstring(body, etree.HTMLParser(huge_tree=True)) if css else None
    if root is None:
        return 0
    selector = CSSSelector(", ".join(css), translator="html")
    # Every top-level element: libxml2 starts another `html` for content after `</html>`.
    tops = [*root.itersiblings(preceding=True), root, *root.itersiblings()]
    matches = [tag for top in tops if isinstance(top.tag, str) for tag in selector(top)]
    selected = set(matches)
    return sum(any(parent in selected for parent in tag.iterancestors()) for tag in matches)


def without_repeats(markdown: str) -> str:
    seen: set[str] = set()
    paragraphs = []
    for paragraph in markdown.split("\n\n"):
        if paragraph.strip() not in seen:
            seen.add(paragraph.strip())
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


def similarity(ours: str, theirs: str) -> tuple[float, float, float]:
    """Ratio, recall and precision over the two word sequences."""
    our_words, their_words = _WORDS.findall(ours), _WORDS.findall(theirs)
    matcher = difflib.SequenceMatcher(None, our_words, their_words, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return (
        matcher.ratio(),
        matched / max(len(their_words), 1),
        matched / max(len(our_words), 1),
    )


def report(results: list[Result]) -> None:
    print("Similarity to Open Terms Archive: word-sequence ratio, recall, precision")
    for document in sorted({result.version.document for result in results}):
        print(f"\n{document}")
        mine = [result for result in results if result.version.document == document]
        for result in mine:
            mark = "" if result.complete else "  (incomplete: not in the means)"
            print(
                f"  {result.version.file.name:34} {result.version.kind:17} "
                f"{result.similarity:8.2%} {result.recall:8.2%} {result.precision:8.2%}{mark}"
            )
            for note in result.notes:
                print(f"      {note}")
        print_mean("  mean", [result for result in mine if result.complete])
    print_mean("\nAll documents", [result for result in results if result.complete])


def print_mean(label: str, results: list[Result]) -> None:
    if results:
        print(
            f"{label} over {len(results)} complete versions: "
            f"{statistics.mean(result.similarity for result in results):.2%}"
        )


def report_timings(timings: dict[str, list[Timing]]) -> None:
    print(f"\nExtraction time per page, raw bytes to Markdown ({RUNS} runs after a warm-up)")
    header = ("pages", "mean KB", "best ms", "median ms", "worst median", "best ms/100KB")
    print(f"  {'':48}" + "".join(f"{title:>14}" for title in header))
    every: list[Timing] = []
    for document, pages in sorted(timings.items()):
        every.extend(pages)
        print_timing_row(document, pages)
    print_timing_row("all pages", every)
    near = [timing for timing in every if 250_000 <= timing.size <= 350_000]
    if near:
        print_timing_row("pages of 250-350 KB", near)


def print_timing_row(name: str, pages: list[Timing]) -> None:
    best = [timing.best for timing in pages]
    medians = [timing.median for timing in pages]
    size = sum(timing.size for timing in pages)
    cells = (
        f"{len(pages)}",
        f"{size / len(pages) / 1000:.0f}",
        f"{1000 * statistics.mean(best):.1f}",
        f"{1000 * statistics.mean(medians):.1f}",
        f"{1000 * max(medians):.1f}",
        f"{1000 * sum(best) / size * 100_000:.1f}",
    )
    print(f"  {name:48}" + "".join(f"{cell:>14}" for cell in cells))


if __name__ == "__main__":
    sys.exit(main())
