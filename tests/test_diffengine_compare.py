"""The structured diff: sections by heading path, blocks, moves, sentences, word spans."""

from __future__ import annotations

import subprocess
import sys

from diffengine import compare, normalize
from diffengine.blocks import Block, locate_blocks, parse_blocks
from diffengine.compare import Span, word_spans

OLD = """# Terms

Welcome to the Service.

## 1. Data

We collect your data. We keep it for 30 days.

We share it with partners.

## 2. Fees

You pay a fee per message.

## 3. Ending

Either party may end these Terms.
"""


def test_identical_texts_give_an_empty_report() -> None:
    report = compare(OLD, str(OLD))
    assert report.identical and not report.sentences and not report.hunks


def test_sections_added_removed_and_changed_by_heading_path() -> None:
    new = (
        OLD.replace("## 2. Fees\n\nYou pay a fee per message.\n\n", "").replace(
            "We keep it for 30 days.", "We keep it for 90 days."
        )
        + "\n## 4. AI\n\nAI providers may not use the API.\n"
    )
    report = compare(OLD, new)
    assert report.sections_added == (("Terms", "4. AI"),)
    assert report.sections_removed == (("Terms", "2. Fees"),)
    assert report.sections_changed == (("Terms", "1. Data"),)


def test_a_reworded_sentence_is_changed_with_word_spans() -> None:
    report = compare(OLD, OLD.replace("for 30 days", "for 90 days"))
    (paragraph,) = report.paragraphs
    assert paragraph.kind == "changed"
    assert paragraph.section == ("Terms", "1. Data")
    assert Span("delete", "30") in paragraph.spans and Span("insert", "90") in paragraph.spans
    (sentence,) = report.sentences
    assert (sentence.kind, sentence.old, sentence.new) == (
        "changed",
        "We keep it for 30 days.",
        "We keep it for 90 days.",
    )
    assert (report.count("added"), report.count("removed"), report.count("changed")) == (0, 0, 1)


def test_a_moved_paragraph_is_a_move_not_a_removal_and_an_addition() -> None:
    moved = "We share it with partners.\n\n"
    new = OLD.replace(moved, "").replace("## 3. Ending\n\n", "## 3. Ending\n\n" + moved)
    report = compare(OLD, new)
    (paragraph,) = report.paragraphs
    assert paragraph.kind == "moved"
    assert paragraph.from_section == ("Terms", "1. Data")
    assert paragraph.section == ("Terms", "3. Ending")
    assert not report.sentences and report.moved == 1


def test_a_sentence_moved_to_another_paragraph_is_no_sentence_change() -> None:
    new = OLD.replace("We keep it for 30 days.", "").replace(
        "We share it with partners.", "We share it with partners. We keep it for 30 days."
    )
    assert not compare(OLD, new).sentences


def test_merged_or_rewrapped_paragraphs_change_no_sentence() -> None:
    new = OLD.replace(
        "We collect your data. We keep it for 30 days.\n\nWe share",
        "We collect\nyour data. We keep it for 30 days. We share",
    )
    report = compare(OLD, new)
    assert report.paragraphs and not report.sentences


def test_a_bold_title_on_a_line_of_its_own_is_a_sentence_of_its_own() -> None:
    """YouTube sets "Terminations by You" in bold over its paragraph, with a line break: read
    with the sentence below it, "Terminations by You You may stop using…" was a termination."""
    body = "You may stop using the Service at any time."
    new = OLD + f"\n**Terminations by You  \n**{body}\n\n**You may not**\nuse any robot.\n"
    assert [sentence.new for sentence in compare(OLD, new).sentences] == [
        "Terminations by You",
        body,
        "You may not use any robot.",
    ]


def test_hunks_carry_context_and_their_section() -> None:
    report = compare(OLD, OLD.replace("a fee per message", "two fees per message"), context=1)
    (hunk,) = report.hunks
    assert hunk.section == ("Terms", "2. Fees")
    assert hunk.before == ("2. Fees",)
    assert hunk.after == ("3. Ending",)


# LinkedIn Service Terms, 2022-11-11: a heading in escaped brackets, a link inside.
NOTE = (
    "#### **\\[Note: Talent Media Services migrated to the** [**LinkedIn Marketing Solutions "
    "(LMS) Program**](https://www.linkedin.com/legal/l/lmsprogramterms) **effective October 1, "
    "2020\\]**"
)


def test_a_section_title_is_plain_text_whatever_markup_it_had() -> None:
    """Alerts and pages name a change's section by its title: this one was shown as "\\Note: …
    the [LinkedIn Marketing Solutions (LMS) Program effective 2020-10-01]", its escaped "[" taken
    for a link's."""
    old = f"### 5. TALENT MEDIA SERVICES\n\n{NOTE}\n\nAds are billed monthly."
    report = compare(old, old.replace("monthly", "weekly"))
    [sentence] = report.sentences
    assert sentence.section == (
        "5. TALENT MEDIA SERVICES",
        "[Note: Talent Media Services migrated to the LinkedIn Marketing Solutions (LMS) "
        "Program effective 2020-10-01]",
    )
    assert normalize("please \\[[contact us](https://about.google/)\\].") == "please [contact us]."


def test_a_heading_change_is_placed_in_its_parent_section() -> None:
    report = compare(OLD, OLD.replace("## 3. Ending", "## 3. Termination"))
    (paragraph,) = report.paragraphs
    assert (paragraph.kind, paragraph.level, paragraph.section) == ("changed", 2, ("Terms",))


def test_list_items_carry_the_text_that_introduces_them() -> None:
    old = "You agree you will not:\n\n*   spam people\n"
    new = old + "*   scrape the Service\n"
    (sentence,) = compare(old, new).sentences
    assert (sentence.kind, sentence.new, sentence.new_intro) == (
        "added",
        "scrape the Service",
        "You agree you will not:",
    )


def test_a_nested_item_is_introduced_by_its_own_parent_not_an_earlier_list() -> None:
    """Walking back from a nested item passes its parent; what introduced an earlier item of the
    outer list introduces nothing here: Google Play's "Adult action …" bullet was read under
    the previous item's "The warning should contain the following:"."""
    old = (
        "Apps must:\n\n"
        "1.  Show a warning. The warning should contain the following:\n"
        "    *   the rating\n"
        "2.  Offer an adult action\n"
        "    *   a check that the user is an adult\n"
    )
    new = old + "    *   a way back for children\n"
    (sentence,) = compare(old, new).sentences
    assert (sentence.new, sentence.new_intro) == ("a way back for children", "Apps must:")


def test_word_spans_mark_deleted_and_inserted_runs() -> None:
    assert word_spans("subscribed to Le Chat Pro", "subscribed to Vibe Pro") == (
        Span("equal", "subscribed to"),
        Span("delete", "Le Chat"),
        Span("insert", "Vibe"),
        Span("equal", "Pro"),
    )


def test_deepdiff_loads_only_when_sections_are_compared() -> None:
    """Every crawl imports the diff engine, and most compare nothing: deepdiff (~15 ms of
    start-up) waits for the first comparison."""
    loaded = "print('deepdiff' in sys.modules)"
    probe = f"import sys, diffengine; {loaded}; diffengine.compare('A', 'B'); {loaded}"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert (run.returncode, run.stdout.split()) == (0, ["False", "True"]), run.stderr


# As Open Terms Archive extracts Google's API Services User Data Policy: setext headings, a
# quoted note whose paragraphs are parted by `>` lines, a thematic break, a table.
SETEXT = """Google API Services User Data Policy
====================================

Last updated September 8, 2022

Additional Requirements for Specific API Scopes
-----------------------------------------------

> **_For Gmail Restricted Scopes:_**
>
> _All other apps must first be verified prior to being granted access to Gmail Restricted \
Scopes._

---

| Scope | Who may use it |
| --- | --- |
| Gmail | Verified apps |

Enforcement
-----------

Apps that break this policy may lose access.
"""


def test_setext_headings_cut_sections_and_breaks_tables_and_quotes_do_not() -> None:
    blocks = parse_blocks(SETEXT)
    assert [(block.level, block.raw) for block in blocks if block.kind == "heading"] == [
        (1, "Google API Services User Data Policy"),
        (2, "Additional Requirements for Specific API Scopes"),
        (2, "Enforcement"),
    ]  # a quote's `>` line is no underline, a rule or a table's `---` after a break no heading
    new = SETEXT.replace("must first be verified", "must first be verified and assessed")
    (sentence,) = compare(SETEXT, new).sentences
    assert sentence.section == (
        "Google API Services User Data Policy",
        "Additional Requirements for Specific API Scopes",
    )
    enforcement = compare(SETEXT, SETEXT.replace("may lose access", "will lose access"))
    assert enforcement.sections_changed == ((SETEXT.split("\n")[0], "Enforcement"),)


def test_a_dashed_line_after_a_paragraph_underlines_it_unless_spaced_out() -> None:
    assert parse_blocks("Fees\n---\n")[0] == Block("heading", "Fees", 2)
    assert [block.kind for block in parse_blocks("Fees apply.\n- - -\n")] == ["paragraph"]


def test_blocks_are_located_on_the_lines_they_start_on() -> None:
    lines = SETEXT.splitlines()
    located = {found.line: found.block for found in locate_blocks(lines)}
    assert located[0] == Block("heading", "Google API Services User Data Policy", 1)
    assert located[5].level == 2 and lines[5].startswith("Additional")
    assert located[10].raw.startswith("_All other apps") and lines[10].startswith("> _All")
    assert located[16].kind == "row" and lines[16] == "| Gmail | Verified apps |"
    assert parse_blocks(SETEXT) == [found.block for found in locate_blocks(lines)]
