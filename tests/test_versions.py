"""`text`: the whole text of any version of a document, by its number or by a date; `compare`:
what changed between any two of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from store.db import open_store
from store.repository import DocumentInfo, Repository
from tests.conftest import Home

KEY = "acme/rules"
TEXTS = {  # file name (when the version was seen) -> text
    "2025-01-01T000000Z.md": "# Rules\n\nBots are welcome on every channel.\n",
    "2025-06-01T120000Z.md": "# Rules\n\nBots are banned from every channel.\n",
    "2025-09-01T000000Z.md": "# Rules\n\nBots are banned. Fees \x1b[31mapply\x1b[0m to all.\n",
}


@pytest.fixture
def imported(home: Home, tmp_path: Path) -> Home:
    folder = tmp_path / "versions"
    folder.mkdir()
    for name, text in TEXTS.items():
        (folder / name).write_text(text)
    result = home.run("import-history", str(folder), "--service", "Acme", "--type", "Rules")
    assert result.code == 0, result.stderr
    return home


def test_any_version_is_read_whole_by_its_number_or_a_date(imported: Home) -> None:
    """Every version was kept, but only the latest text could be read: what a page said on the
    day a contract was signed had to be pieced together from diffs."""
    first, second, third = TEXTS.values()
    by_number = imported.run("text", KEY, "--version", "2")
    assert (by_number.code, by_number.stdout) == (0, second)  # the text alone, for a file
    assert by_number.stderr.strip() == (
        f"{KEY} · version 2 of 3, first seen 2025-06-01 12:00 UTC, replaced 2025-09-01 00:00 UTC"
    )
    assert imported.run("text", KEY, "--on", "2025-05-31").stdout == first
    assert imported.run("text", KEY, "--on", "2025-06-01").stdout == second  # the day's end
    assert imported.run("text", KEY, "--on", "2025-06-01T11:59").stdout == first
    assert imported.run("text", KEY, "--on", "2025-06-01T12:00:00+00:00").stdout == second
    latest = imported.run("text", KEY)
    # The import drops a file's escape characters, as a crawl drops a page's: never obeyed.
    assert latest.stdout == third.replace("\x1b", "")
    assert "version 3 of 3 (the latest)" in latest.stderr


def test_the_json_object_names_the_changes_on_either_side(imported: Home) -> None:
    changes = imported.run("history", "--all", "--json").json()
    by_version = {change["to_version"]: change["id"] for change in changes}
    middle = imported.run("text", KEY, "--version", "2", "--json").json()
    assert middle["text"] == TEXTS["2025-06-01T120000Z.md"]
    assert (middle["seq"], middle["versions"], middle["key"]) == (2, 3, KEY)
    assert middle["seen_at"] == "2025-06-01T12:00:00+00:00"
    assert middle["replaced_at"] == "2025-09-01T00:00:00+00:00"
    assert middle["came_by"] == by_version[middle["id"]]
    latest = imported.run("text", KEY, "--json").json()
    assert middle["left_by"] == by_version[latest["id"]]
    assert (latest["replaced_at"], latest["left_by"]) == (None, None)
    first = imported.run("text", KEY, "--version", "1", "--json").json()
    assert first["came_by"] is None


def test_a_version_that_is_not_there_is_said_so(imported: Home) -> None:
    for args, message in [
        (("acme/rule",), "no tracked document acme/rule (did you mean acme/rules?)"),
        ((KEY, "--version", "4"), f"{KEY} has 3 versions: give --version 1 to 3"),
        (
            (KEY, "--on", "2024-12-31"),
            f"no version of {KEY} is known on 2024-12-31: it was first seen 2025-01-01 00:00 UTC",
        ),
        ((KEY, "--on", "June"), "--on 'June' is not an ISO date or time such as 2026-01-15"),
        ((KEY, "--on", "2025-02-30"), "2026-01-15T09:30 (day is out of range for month)"),
        ((KEY, "--on", "2025-06-01T25:00"), "2026-01-15T09:30 (hour must be in 0..23)"),
        ((KEY, "--on", "2025-06-01", "--version", "1"), "give --version or --on, not both"),
    ]:
        result = imported.run("text", *args)
        assert (result.code, result.stdout) == (2, ""), args
        assert message in result.stderr, args


def test_a_key_guessed_for_a_tracked_service_is_told_its_documents(imported: Home) -> None:
    """`text whatsapp/business-solution-terms`, the README's example, said only "no tracked
    document" where WhatsApp was tracked under other keys: a key guessed from a document's type
    is close to none, and its service names them."""
    for typed in ("acme/privacy-policy", "Acme", "acme"):
        for command in (("text", typed), ("compare", typed, "1")):
            result = imported.run(*command)
            assert (result.code, result.stdout) == (2, ""), command
            assert result.stderr == (
                f"error: no tracked document {typed} (the documents of Acme: {KEY})\n"
            ), command


def test_an_empty_key_is_said_to_be_one(imported: Home) -> None:
    """`text "$KEY"` with KEY unset said "error:  has no version yet: no fetch of it has
    succeeded", of a document that is not there."""
    for command in (("text", ""), ("compare", " ", "1")):
        result = imported.run(*command)
        assert (result.code, result.stdout) == (2, ""), command
        assert result.stderr.startswith("error: KEY must name a document, not "), result.stderr


def test_a_document_not_yet_fetched_has_no_version_to_show(home: Home) -> None:
    unread = DocumentInfo("acme/terms", "Acme", "Terms", "https://acme.test/terms")
    Repository(open_store(home.db)).sync_documents([unread])
    result = home.run("text", "acme/terms")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: acme/terms has no version yet: no fetch of it has succeeded (`documents` says"
        " why)\n"
    )


def test_two_versions_however_far_apart_are_compared_in_one_diff(imported: Home) -> None:
    """What changed since a review or a date had to be read change by change, each diff against
    the version before it, when what matters is the text then against the text now."""
    shown = imported.run("compare", KEY, "2025-05-31")  # a date: the version current then
    assert shown.code == 0, shown.stderr
    head, listing = shown.stdout.split("2 meaningful changes between them.\n")
    assert head.splitlines()[1:] == [
        "from version 1 of 3, first seen 2025-01-01 00:00 UTC",
        "  to version 3 of 3 (the latest), first seen 2025-09-01 00:00 UTC",
    ]
    ids = [str(change["id"]) for change in imported.run("history", "--json").json()]
    listed = re.findall(r"^ *(\d+) +(?:│ +)?2025-", listing, re.MULTILINE)  # table or list
    assert listed == ids[::-1]  # oldest first
    # One diff, from the first text to the last; the middle one's wording is not in it.
    assert "Bots are [-welcome on every channel.-] {+banned. Fees [31mapply[0m to all.+}" in listing
    assert "\x1b" not in shown.stdout  # shown, never obeyed
    assert "from every channel" not in listing
    either_way = imported.run("compare", KEY, "3", "1")
    assert either_way.stdout == imported.run("compare", KEY, "1").stdout


def test_a_comparison_counts_the_noise_between_and_lists_the_rest(
    home: Home, tmp_path: Path
) -> None:
    for name, text in {
        "2025-01-01.md": "# Rules\n\nBots are 'welcome' here.\n",
        "2025-02-01.md": "# Rules\n\nBots are \u2018welcome\u2019 here.\n",  # quotes only
        "2025-02-15.md": "# Rules\n\nBots are \u2018welcome\u2019  here.\n",  # spacing only
        "2025-03-01.md": "# Rules\n\nBots are banned here.\n",
    }.items():
        (tmp_path / name).write_text(text)
    home.run("import-history", str(tmp_path), "--service", "Acme", "--type", "Rules")
    shown = home.run("compare", KEY, "1")
    assert "1 meaningful change between them (2 more judged noise)." in shown.stdout
    # The meaningful one listed (bots banned: medium), not the noise.
    assert shown.stdout.count(" medium ") == 1 and "cosmetic" not in shown.stdout, shown.stdout


def test_a_comparisons_json_is_the_apis(imported: Home) -> None:
    compared = imported.run("compare", KEY, "2", "--json").json()
    middle = imported.run("text", KEY, "--version", "2", "--json").json()
    assert compared["before"] == {name: value for name, value in middle.items() if name != "text"}
    assert compared["after"]["seq"] == 3
    assert compared["changes"] == imported.run("history", "--json").json()[:1]
    assert compared["noise"] == 0
    assert compared["diff"].splitlines()[-2:] == [
        "-Bots are banned from every channel.",
        "+Bots are banned. Fees [31mapply[0m to all.",  # the escape characters not stored
    ]


def test_a_comparison_since_the_latest_version_says_nothing_changed(imported: Home) -> None:
    """`compare KEY 2025-12-01` (the README's "all that changed since") of a page unchanged
    since was an error, exit 2, "FROM and TO name one version …: compare two": a script asking
    what changed since its last review failed where the answer is "nothing"."""
    for since in ("2025-12-01", "3"):
        shown = imported.run("compare", KEY, since)
        assert (shown.code, shown.stderr) == (0, ""), since
        assert shown.stdout.splitlines()[1] == (
            f"No change since {since}: version 3 of 3 (the latest),"
            " first seen 2025-09-01 00:00 UTC."
        )
    compared = imported.run("compare", KEY, "2025-12-01", "--json").json()
    assert compared["before"] == compared["after"] and compared["after"]["seq"] == 3
    assert (compared["changes"], compared["noise"], compared["diff"]) == ([], 0, "")


def test_a_comparison_that_names_no_two_versions_is_said_so(imported: Home) -> None:
    for args, message in [
        (("acme/rule", "1"), "no tracked document acme/rule (did you mean acme/rules?)"),
        ((KEY, "4"), f"{KEY} has 3 versions: give FROM a number from 1 to 3"),
        ((KEY, "1", "9"), f"{KEY} has 3 versions: give TO a number from 1 to 3"),
        ((KEY, "0"), f"{KEY} has 3 versions: give FROM a number from 1 to 3"),
        ((KEY, "0", "2"), f"{KEY} has 3 versions: give FROM a number from 1 to 3"),
        ((KEY, "2", "2025-06-01"), f"FROM and TO name one version of {KEY}, version 2"),
        (
            (KEY, "2024-12-31"),
            f"no version of {KEY} is known on 2024-12-31: it was first seen 2025-01-01 00:00 UTC",
        ),
        ((KEY, "June"), "FROM 'June' is not a version's number, nor an ISO date or time"),
    ]:
        result = imported.run("compare", *args)
        assert (result.code, result.stdout) == (2, ""), args
        assert message in result.stderr, args
