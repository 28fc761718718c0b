"""The diff engine's fixtures: small real excerpts, each accounted for in SOURCES.md.

Other diff engine tests load their fixtures through `fixture` from here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "diffengine"
MAX_BYTES = 6_000  # excerpts, not copies: the full corpus feeds bench/


def fixture(name: str) -> str:
    """The text of fixture `name` from tests/fixtures/diffengine/."""
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.md")), ids=lambda path: path.name)
def test_fixtures_are_small_and_accounted_for(path: Path) -> None:
    assert path.stat().st_size <= MAX_BYTES
    if path.name != "SOURCES.md":
        assert f"`{path.name}`" in fixture("SOURCES.md")
