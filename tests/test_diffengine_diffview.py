"""`policywatch show`'s diff: landmarks, only what changed, word-level marks."""

from __future__ import annotations

from rich.console import Console

from policywatch.cli.diffview import render_change
from tests.test_diffengine_compare import SETEXT
from tests.test_diffengine_fixtures import fixture


def draw(old: str, new: str, *, colour: bool = False, **options: object) -> str:
    console = Console(
        width=100, record=True, color_system="truecolor" if colour else None, force_terminal=colour
    )
    console.print(render_change(old, new, **options))  # type: ignore[arg-type]
    return console.export_text()


def test_only_the_changed_parts_with_their_section_as_landmark() -> None:
    before, after = fixture("lechat_tos_before.md"), fixture("lechat_tos_after.md")
    text = draw(before, after)
    assert "4. Your Data" in text.splitlines()[0]
    assert "[-Le Chat-] {+Vibe+} Pro" in text
    assert "Fine-Tuned Model" not in text  # two paragraphs from any edit
    assert "Output restrictions" in text and "Similarity of Output" in text  # context
    assert "…" in text  # long unchanged runs elided


def test_added_sections_and_flagged_sentences() -> None:
    before = fixture("whatsapp_business_terms_before.md")
    after = fixture("whatsapp_business_terms_after.md")
    clause = "Providers and developers of artificial intelligence or machine learning"
    lines = draw(before, after, flagged=[clause]).splitlines()
    assert any(line.startswith(" + ## 2. AI Providers") for line in lines)
    assert any(line.startswith("⚑+ " + clause) for line in lines)
    assert any("[-2025-07-01-] {+2025-10-15+}" in line for line in lines)


def test_colour_marks_words_without_brackets() -> None:
    text = draw("You keep it for 30 days.", "You keep it for 90 days.", colour=True)
    assert "[-" not in text and "90" in text


def test_chrome_and_moves_are_labelled() -> None:
    base = "# Terms\n\nFirst rule applies.\n\n## Other\n\nSecond rule applies.\n"
    moved = "# Terms\n\n## Other\n\nSecond rule applies.\n\nFirst rule applies.\n"
    assert "(moved from Terms)" in draw(base, moved)
    menu = base + "\n[Products](https://x.test/p)[Pricing](https://x.test/q)\n"
    assert "(page chrome)" in draw(base, menu)


def test_no_change() -> None:
    assert "No change" in draw("Same text.", "Same  text.")


def test_a_long_paragraph_wraps_under_its_first_line_not_under_the_margin() -> None:
    """The margin (flag, mark) stands alone on the left, so a reader scans the marks."""
    clause = " ".join(["AI providers may not use the Business API to distribute an assistant."] * 4)
    lines = draw("# Terms\n\nWelcome.\n", f"# Terms\n\nWelcome.\n\n{clause}\n").splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith(" + AI providers"))
    wrapped = lines[start + 1 : start + 3]
    assert wrapped and all(line.startswith("   ") and line[3] != " " for line in wrapped), lines


def test_an_imported_setext_page_is_drawn_under_its_heading_path() -> None:
    """A matched sentence is quoted in its normal form: its date ISO, its link's target gone."""
    added = "From [January 15, 2026](https://g.test/dates), all other apps must be assessed."
    new = SETEXT.replace("> _All other apps", f"> {added}\n>\n> _All other apps")
    lines = draw(SETEXT, new, flagged=["From 2026-01-15, all other apps must be assessed."])
    landmark, context, change = lines.splitlines()[:3]
    assert landmark == " › ".join(SETEXT.splitlines()[i] for i in (0, 5))
    assert context == "  For Gmail Restricted Scopes:"  # quoted text, not a heading
    assert change == "⚑+ From 2026-01-15, all other apps must be assessed."
