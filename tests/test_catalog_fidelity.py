"""The bundled catalog extracts the policy text and nothing else, as measured on saved pages.

For each document of the shared corpus (`../shared/corpus/html`), our bundled declaration's
extraction of its latest saved snapshots is compared with the Markdown Open Terms Archive made of
them, as `bench/catalog_fidelity.py` does. The thresholds sit a little below the measured figures
(see the README, "How faithful the catalog is"): a selector that starts keeping chrome or losing
text fails here. Skips when the corpus is absent, unless CI is set.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from crawlers.declarations import Catalog, load_catalog
from tests.conftest import ROOT, SHARED, unavailable


def _fidelity() -> ModuleType:
    path = ROOT / "bench" / "catalog_fidelity.py"
    spec = importlib.util.spec_from_file_location("catalog_fidelity", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


FIDELITY = _fidelity()
CORPUS = SHARED / "corpus"
# Measured similarity of the latest version (2026 snapshots), minus a margin for harmless drift.
THRESHOLDS = {
    "ChatGPT__Terms-of-Service": 0.995,  # measured 100.00%
    "ChatGPT__Commercial-Terms": 0.995,  # 99.96%: OTA keeps the "Download PDF" button row
    "Claude.ai__Acceptable-Use-Policy": 0.99,  # 99.63%: OTA keeps breadcrumbs, "Previous Version"
    "Claude.ai__Developer-Terms": 0.99,  # 99.57%: OTA keeps the help centre's breadcrumbs
    "Le-Chat__Terms-of-Service": 0.985,  # 99.16%: OTA appends mistral.ai/legal, not tracked
    "Google-Generative-AI-Services__Terms-of-Service": 0.995,  # 99.99%: OTA keeps "Close" buttons
}


@pytest.fixture(scope="module")
def index() -> dict[str, dict[str, Any]]:
    path = CORPUS / "html" / "index.json"
    if not path.is_file():
        unavailable("the shared corpus", f"{path} is absent")
    return {entry["id"]: entry for entry in FIDELITY.load_index(CORPUS)}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_corpus_document_has_a_bundled_counterpart_and_a_threshold(
    index: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    assert set(index) == set(FIDELITY.CATALOG_FOR) == set(THRESHOLDS)
    for keys in FIDELITY.CATALOG_FOR.values():
        assert all(catalog.get(key) for key in keys), keys


@pytest.mark.parametrize("corpus_id", sorted(THRESHOLDS))
def test_latest_snapshots_extract_like_open_terms_archive(
    corpus_id: str, index: dict[str, dict[str, Any]], catalog: Catalog
) -> None:
    version = FIDELITY.measure_latest(index[corpus_id], catalog, CORPUS)
    similarity = version.similarity
    assert similarity is not None, version.notes
    # The one acceptable note: a page OTA combines that the catalog does not track (Le Chat).
    assert all(note.startswith("OTA fetched") for note in version.notes), version.notes
    detail = f"extra {similarity.extra}, missing {similarity.missing}"
    assert similarity.ratio >= THRESHOLDS[corpus_id], detail


# The comparison itself: formatting is not a difference, chrome and lost text are.

OTA_STYLE = """Usage Policy
============

*   **Scraping:** do not [collect data](https://example.com/x?utm_source=a) at scale.
*   Respect “rate limits”.
"""
OUR_STYLE = """# Usage Policy

- **Scraping:** do not [collect data](https://example.com/x) at scale.
- Respect "rate limits".
"""


def test_markdown_syntax_links_and_typography_do_not_count() -> None:
    similarity = FIDELITY.compare(OUR_STYLE, OTA_STYLE)
    assert (similarity.ratio, similarity.extra, similarity.missing) == (1.0, (), ())


def test_chrome_we_keep_is_extra_and_text_we_lose_is_missing() -> None:
    with_chrome = OUR_STYLE + "\nAccept all cookies Reject all Manage preferences\n"
    similarity = FIDELITY.compare(with_chrome, OTA_STYLE)
    assert similarity.recall == 1.0
    assert similarity.precision < 0.8
    assert similarity.extra == ("[7] accept all cookies reject all manage preferences",)

    truncated = FIDELITY.compare("# Usage Policy\n", OTA_STYLE)
    assert truncated.precision == 1.0
    assert truncated.recall < 0.2
    assert truncated.missing[0].startswith("[")
    assert "scraping" in truncated.missing[0]


def test_repeated_blocks_are_kept_once() -> None:
    twice = OTA_STYLE + "\n" + OTA_STYLE
    assert FIDELITY.compare(OUR_STYLE, FIDELITY.without_repeats(twice)).ratio == 1.0
    assert FIDELITY.compare(OUR_STYLE, twice).recall == pytest.approx(0.5)
