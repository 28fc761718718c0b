"""`import-history`: dated versions from disk, including the real corpus when it is present."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.importer import file_timestamp
from tests.conftest import SHARED, Home
from tests.site import Site

FIXTURES = Path(__file__).parent / "fixtures" / "history"
POLICY = (Path(__file__).parent / "fixtures" / "diffengine" / "whatsapp_tos.md").read_text()
COLLAPSED = (FIXTURES.parent / "diffengine" / "whatsapp_tos_collapsed.md").read_text()


@pytest.mark.parametrize(
    ("name", "moment"),
    [
        ("2024-05-22.md", datetime(2024, 5, 22, tzinfo=UTC)),
        ("2024-05-22T12-36-09Z.md", datetime(2024, 5, 22, 12, 36, 9, tzinfo=UTC)),
        ("2024-05-22T123609Z_fc4bbd876.md", datetime(2024, 5, 22, 12, 36, 9, tzinfo=UTC)),
        ("2024-05-22T12:36:09Z.md", datetime(2024, 5, 22, 12, 36, 9, tzinfo=UTC)),
        # With an offset (`date -Iseconds` outside UTC): the same moment, in UTC. A negative one
        # was read as a suffix of the name, five hours off for New York; a positive one refused.
        ("2024-05-22T07:36:09-05:00.md", datetime(2024, 5, 22, 12, 36, 9, tzinfo=UTC)),
        ("2024-05-22T14:36:09+02:00.md", datetime(2024, 5, 22, 12, 36, 9, tzinfo=UTC)),
        ("2024-05-22T143609+0200_fc4bbd876.md", datetime(2024, 5, 22, 12, 36, 9, tzinfo=UTC)),
        ("2024-05-22T12:36:09.25Z.md", datetime(2024, 5, 22, 12, 36, 9, 250000, tzinfo=UTC)),
        ("2024-05-22T12:36:09+24:00.md", None),  # no such offset: `misnamed` names it
        ("notes.md", None),
        ("2025-02-30.md", None),  # no such day: `misnamed` names it, for the import to refuse
    ],
)
def test_dated_file_names(name: str, moment: datetime | None) -> None:
    assert file_timestamp(Path(name)) == moment


def test_one_documents_folder_of_real_versions(home: Home) -> None:
    folder = FIXTURES / "Claude.ai__Developer-Terms"
    result = home.run("import-history", str(folder))
    assert result.code == 0, result.stderr
    [document] = home.run("documents", "--json").json()
    assert (document["key"], document["service"]) == ("claude-ai/developer-terms", "Claude.ai")
    assert document["document_type"] == "Developer Terms" and document["versions"] == 3
    changes = home.run("history", "--all", "--json").json()
    assert [change["detected_at"] for change in changes] == [
        "2026-08-14T10:32:15+00:00",
        "2026-04-15T10:30:37+00:00",
    ]
    newest = sorted(folder.iterdir())[-1].read_text(encoding="utf-8")
    shown = home.run("show", str(changes[0]["id"]), "--json").json()
    added = [line[1:] for line in shown["diff"].splitlines() if line.startswith("+")][1:]
    assert added and all(line in newest for line in added)


def test_service_and_type_can_be_named_and_html_is_extracted(home: Home, tmp_path: Path) -> None:
    folder = tmp_path / "versions"
    folder.mkdir()
    page = "<html><body><nav>menu</nav><main><h1>Rules</h1><p>{}</p></main></body></html>"
    (folder / "2025-01-01T000000Z.html").write_text(page.format("Bots are welcome."))
    (folder / "2025-06-01T000000Z.html").write_text(page.format("Bots are banned."))
    (folder / "README.txt").write_text("not a version")
    result = home.run(
        "import-history",
        str(folder),
        "--service",
        "Chatterbox",
        "--type",
        "Bot Rules",
        "--select",
        "main",
    )
    assert result.code == 0, result.stderr
    [change] = home.run("history", "--json").json()
    assert change["key"] == "chatterbox/bot-rules"
    assert change["detected_at"] == "2025-06-01T00:00:00+00:00"
    diff = home.run("show", str(change["id"]), "--json").json()["diff"]
    assert "+" in diff and "Bots are banned." in diff and "menu" not in diff


def test_the_summary_gives_each_key_whole_in_a_narrow_terminal(home: Home, tmp_path: Path) -> None:
    """The table cut a long key at 80 columns ("google-generative-ai-…"), where the keys that
    `text`, `history --document` and `crawl --only` take were to be copied from."""
    folder = tmp_path / "Google-Generative-AI-Services__Terms-of-Service"
    folder.mkdir()
    (folder / "2025-01-01.md").write_text("# Terms\n\nBots are welcome.\n")
    (folder / "2025-02-01.md").write_text("# Terms\n\nBots are banned.\n")
    result = home.run("import-history", str(folder), columns=80)
    assert result.code == 0, result.stderr
    assert "google-generative-ai-services/terms-of-service" in result.stdout
    # Counted as words are ("1 changes" read as a typo).
    assert "2 new versions · 1 change · 0 repeats · 0 skipped · 0 left out" in result.stdout


def test_importing_again_adds_only_the_newer_versions(home: Home, tmp_path: Path) -> None:
    folder = tmp_path / "Chatterbox__Bot-Rules"
    folder.mkdir()
    (folder / "2025-01-01.md").write_text("# Rules\n\nBots are welcome.\n")
    (folder / "2025-06-01.md").write_text("# Rules\n\nBots are banned.\n")
    assert home.run("import-history", str(folder)).code == 0
    again = home.run("import-history", str(folder))
    assert again.code == 0, again.stderr
    assert "2 files already recorded" in again.stdout.replace("\n", " ")
    [document] = home.run("documents", "--json").json()
    assert document["versions"] == 2
    (folder / "2025-09-01.md").write_text("# Rules\n\nBots are banned. Humans too.\n")
    assert home.run("import-history", str(folder)).code == 0
    [document] = home.run("documents", "--json").json()
    assert document["versions"] == 3
    assert len(home.run("history", "--all", "--json").json()) == 2


def test_importing_again_counts_the_trailing_repeats_as_already_recorded(
    home: Home, tmp_path: Path
) -> None:
    """A history that ends with repeats (files whose text is the one before) was read anew at
    every import after its latest version: '0 new versions, 2 repeats' again, where the README
    promises 'already recorded', and each repeat logged once more among the document's checks."""
    folder = tmp_path / "Chatterbox__Bot-Rules"
    write(folder / "2025-01-01.md", "# Rules\n\nBots are welcome.\n")
    for day in ("2025-06-01", "2025-07-01", "2025-08-01"):
        write(folder / f"{day}.md", "# Rules\n\nBots are banned.\n")
    first = home.run("import-history", str(folder))
    assert table_row(first.stdout, "chatterbox/bot-rules")["repeats"] == "2"
    again = home.run("import-history", str(folder))
    assert again.code == 0, again.stderr
    assert table_row(again.stdout, "chatterbox/bot-rules") == {
        "new versions": "0", "changes": "0", "repeats": "0", "skipped": "0", "left out": "0"
    }  # fmt: skip
    assert "4 files already recorded" in again.stdout.replace("\n", " ")
    write(folder / "2025-07-15.md", "# Rules\n\nBots are welcome again.\n")
    later = home.run("import-history", str(folder))  # before the last repeat read: history
    assert table_row(later.stdout, "chatterbox/bot-rules")["left out"] == "1"
    assert "its text is recorded until 2025-08-01 00:00 UTC" in " ".join(later.stderr.split())


def test_the_pages_of_a_combined_document_saved_at_one_moment_make_one_version(
    home: Home, tmp_path: Path
) -> None:
    """Open Terms Archive saves each page of a combined document as its own file named by the
    same moment: imported one by one, each page was the next version of the whole, a fake
    collapse then a fake restoration at every moment."""
    folder = tmp_path / "Chatterbox__Usage-Policy"
    for moment, rule in (("2025-01-01T000000Z", "welcome"), ("2025-06-01T000000Z", "banned")):
        write(folder / f"{moment}_a1.policy.md", f"# Policy\n\nBots are {rule}.\n")
        write(folder / f"{moment}_b2.exceptions.md", "# Exceptions\n\nResearch is allowed.\n")
    assert home.run("import-history", str(folder)).code == 0
    [document] = home.run("documents", "--json").json()
    assert document["versions"] == 2
    [change] = home.run("history", "--all", "--json").json()
    assert change["meaningful"], change
    assert (change["added"], change["removed"], change["changed"]) == (0, 0, 1), change
    text = home.run("show", str(change["id"]), "--json").json()["diff"]
    assert "@@ -4,4 +4,4 @@" in text  # after the 3 lines of "exceptions": pages by their names
    again = home.run("import-history", str(folder))
    assert "4 files already recorded" in again.stdout.replace("\n", " ")


def test_files_of_one_moment_that_are_no_pages_are_versions_of_their_own(
    home: Home, tmp_path: Path
) -> None:
    """Two captures of one day (`2025-06-01.md`, `2025-06-01-evening.md`), or Open Terms
    Archive's change and its re-extraction dated alike, were joined as the pages of a combined
    document: one version holding the policy twice, and a change that 'added' all of it again.
    They are versions of their own, in the order of their names."""
    folder = tmp_path / "Chatterbox__Bot-Rules"
    write(folder / "2025-01-01.md", "# Rules\n\nBots are welcome.\n")
    write(folder / "2025-06-01.md", "# Rules\n\nBots are banned.\n")
    write(folder / "2025-06-01-evening.md", "# Rules\n\nBots are banned. Humans too.\n")
    write(folder / "2025-09-01T00-00-00Z.md", "# Rules\n\nBots are banned.\n")
    write(folder / "2025-09-01T000000Z.html", "<h1>Rules</h1><p>Bots are banned.</p>")
    result = home.run("import-history", str(folder))
    assert result.code == 0, result.stderr
    assert table_row(result.stdout, "chatterbox/bot-rules") == {
        "new versions": "4", "changes": "3", "repeats": "1", "skipped": "0", "left out": "0"
    }  # fmt: skip
    text = home.run("text", "chatterbox/bot-rules").stdout
    assert text.count("Bots are banned.") == 1, text
    changes = home.run("history", "--all", "--json").json()
    assert [change["detected_at"][:10] for change in changes] == [
        "2025-09-01", "2025-06-01", "2025-06-01"
    ]  # fmt: skip
    again = home.run("import-history", str(folder))
    assert "5 files already recorded" in again.stdout.replace("\n", " ")
    # Interrupted between two versions of one moment, the import is finished by a rerun: the
    # second is the next version, not a file older than the history.
    write(folder / "2025-09-01T00-00-00Z_late.md", "# Rules\n\nBots are banned at night.\n")
    rerun = home.run("import-history", str(folder))
    assert table_row(rerun.stdout, "chatterbox/bot-rules")["new versions"] == "1", rerun


def test_an_empty_or_binary_markdown_file_is_skipped_not_a_version(
    home: Home, tmp_path: Path
) -> None:
    """An empty capture was recorded as a version, its change 'Restriction on bots lifted'
    (medium) and the next one a flap back; NULs and terminal escapes were stored as text.
    A crawl makes neither a version: the import skips them, saying why."""
    folder = tmp_path / "Chatterbox__Bot-Rules"
    rules = "# Rules\n\nBots are banned. You must not scrape the service.\n"
    write(folder / "2025-01-01.md", rules)
    write(folder / "2025-02-01.md", "")
    write(folder / "2025-03-01.md", " \n\n")
    write(folder / "2025-04-01.md", rules + "\x00\x00\x00")
    write(folder / "2025-05-01.md", rules + "\nHumans \x1b[2Jtoo.\n")
    result = home.run("import-history", str(folder))
    assert result.code == 0, result.stderr
    said = " ".join(result.stderr.split())
    for name, why in (
        ("2025-02-01.md", "the file holds no text"),
        ("2025-03-01.md", "the file holds no text"),
        ("2025-04-01.md", "the body contains NUL bytes: binary, not Markdown"),
    ):
        assert f"skipped chatterbox/bot-rules: {name}: {why}" in said, said
    [change] = home.run("history", "--all", "--json").json()
    assert change["detected_at"].startswith("2025-05-01")
    assert [excerpt["sentence"] for excerpt in change["excerpts"]] == ["Humans [2Jtoo."]


def test_a_markdown_file_not_in_utf8_is_skipped_saying_how_to_convert_it(
    home: Home, tmp_path: Path
) -> None:
    """A `.md` file saved in Windows-1252 was skipped with Python's own words (`'utf-8' codec
    can't decode byte 0xe9 in position 14: invalid continuation byte`), which named no encoding
    to convert it from, nor how."""
    folder = tmp_path / "Chatterbox__Bot-Rules"
    write(folder / "2025-01-01.md", "# Rules\n\nBots are banned.\n")
    (folder / "2025-02-01.md").write_bytes("# Règles\n\nBots are banned.\n".encode("cp1252"))
    result = home.run("import-history", str(folder))
    assert result.code == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert (
        "skipped chatterbox/bot-rules: 2025-02-01.md: not UTF-8 text (byte 0xe8 at offset 3);"
        " convert it to UTF-8 and import again" in said
    ), said
    assert f"iconv -f windows-1252 -t utf-8 {folder / '2025-02-01.md'}" in said, said
    assert "codec" not in said


def test_a_folder_sharing_nothing_with_the_documents_text_is_imported_with_a_warning(
    home: Home, tmp_path: Path
) -> None:
    """A TikTok folder imported under WhatsApp's key (`--service WhatsApp --type Terms`, a
    slip of the shell's history) was recorded as WhatsApp's next version, a high change,
    and nothing said; the import warns when a folder's first file keeps almost nothing of
    the text the document has recorded. The same document's next version is no warning."""
    whatsapp = [
        f"WhatsApp clause {n}: you must not use our Services to send spam." for n in range(8)
    ]
    tiktok = [f"TikTok section {n}: creators own the videos they post here." for n in range(8)]
    write(tmp_path / "WhatsApp__Terms" / "2025-01-01.md", "\n\n".join(whatsapp))
    write(tmp_path / "later" / "2025-03-01.md", "\n\n".join([*whatsapp, "Bots are banned."]))
    write(tmp_path / "tiktok" / "2025-06-01.md", "\n\n".join(tiktok))
    assert home.run("import-history", str(tmp_path / "WhatsApp__Terms")).code == 0
    named = ("--service", "WhatsApp", "--type", "Terms")
    later = home.run("import-history", str(tmp_path / "later"), *named)
    assert later.code == 0 and "warning" not in later.stderr, later.stderr
    other = home.run("import-history", str(tmp_path / "tiktok"), *named)
    assert other.code == 0, other.stderr
    said = " ".join(other.stderr.split())
    assert (
        "warning: whatsapp/terms: 2025-06-01.md keeps 0% of the paragraphs of the text recorded"
        " before it (2025-03-01 00:00 UTC)" in said
    ), said


def test_a_folder_named_otherwise_than_service_and_type_is_named_by_its_path(
    home: Home, tmp_path: Path
) -> None:
    """`import-history exports/v1` made a document `exports/v1` without a word."""
    write(tmp_path / "exports" / "v1" / "2025-01-01.md", "# Rules\n\nBots are welcome.\n")
    result = home.run("import-history", str(tmp_path / "exports" / "v1"))
    assert result.code == 0, result.stderr
    note = " ".join(result.stderr.split())
    assert "the service 'exports' and the type 'v1' are taken from the folder names" in note
    named = home.run(
        "import-history", str(tmp_path / "exports" / "v1"), "--service", "X", "--type", "Y"
    )
    assert "taken from the folder names" not in named.stderr


@pytest.mark.parametrize("given", ["Terms", "exports/../Terms"])
def test_a_relative_folder_is_named_by_the_folders_it_is_in(home: Home, given: str) -> None:
    """`import-history Terms`, typed beside the folder, took the service from the path as typed:
    '' (or '..' for `exports/../Terms`), and made a document keyed `/terms`."""
    write(home.path / "Terms" / "2025-01-01.md", "# Rules\n\nBots are welcome.\n")
    (home.path / "exports").mkdir()
    result = home.run("import-history", given)  # run in home.path, the folder's parent
    assert result.code == 0, result.stderr
    assert f"the service {home.path.name!r}" in " ".join(result.stderr.split())
    [document] = home.run("documents", "--json").json()
    assert (document["service"], document["document_type"]) == (home.path.name, "Terms")


def test_importing_into_a_crawled_document_keeps_its_url_and_history(
    home: Home, site: Site, tmp_path: Path
) -> None:
    site.html("/t", "<html><body><main><p>Bots are welcome today.</p></main></body></html>")
    catalog = home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}])
    home.crawl(catalog)
    [before] = home.run("documents", "--json").json()
    folder = tmp_path / "versions"
    folder.mkdir()
    for year in (2020, 2021, 2022):
        (folder / f"{year}-01-01.md").write_text(f"Bots were welcome in {year}.\n")
    result = home.run("import-history", str(folder), "--service", "TestSite", "--type", "Terms")
    assert result.code == 0, result.stderr
    said = " ".join(result.stderr.split())
    assert "left out testsite/terms: 3 files older than the history already recorded" in said
    # The table counted them nowhere (skipped 0) while the note said 3 were left out.
    assert table_row(result.stdout, "testsite/terms") == {
        "new versions": "0", "changes": "0", "repeats": "0", "skipped": "0", "left out": "3"
    }  # fmt: skip
    [after] = home.run("documents", "--json").json()
    assert after == before  # same URL, versions, last check: nothing inserted before live history
    home.crawl(catalog)
    assert site.hits("/t")[-1].headers.get("If-None-Match")  # its validators survived too


def test_an_import_that_reads_no_file_makes_no_document_and_fails(
    home: Home, site: Site, tmp_path: Path
) -> None:
    """Every file skipped (a --select that matches nothing, text that is not UTF-8) left an empty
    document listed with 0 versions for good, and the import exited 0."""
    folder = tmp_path / "Delta3__Terms"
    for day in ("2025-01-01", "2025-06-01"):
        write(folder / f"{day}.html", "<html><body><main><p>Bots are welcome.</p></main></body>")
    result = home.run("import-history", str(folder), "--select", "#nothing")
    assert result.code == 3, result
    said = " ".join(result.stderr.split())
    assert (
        "error: nothing was imported: no version could be read (2 files skipped, the first"
        " 2025-01-01.html: no element matches '#nothing')" in said
    ), said
    assert home.run("documents", "--json").json() == []

    write(folder / "2025-09-01.html", "<html><body><main><p>Bots are banned.</p></main></body>")
    assert home.run("import-history", str(folder), "--select", "main").code == 0
    [document] = home.run("documents", "--json").json()
    assert (document["key"], document["versions"]) == ("delta3/terms", 2)  # welcome, banned

    site.html("/t", "<html><body><main><p>Bots are welcome today.</p></main></body></html>")
    home.crawl(home.catalog([{"type": "Terms", "url": site.url("/t"), "select": "main"}]))
    latin = tmp_path / "versions"
    latin.mkdir()
    (latin / "2026-01-01.md").write_bytes("Conditions générales".encode("latin-1"))
    typo = home.run("import-history", str(latin), "--service", "TestSit", "--type", "Terms")
    assert typo.code == 3 and "nothing was imported" in typo.stderr, typo
    note = "no tracked service is named 'TestSit' (did you mean TestSite?)"
    assert note in " ".join(typo.stderr.split())
    keys = {row["key"] for row in home.run("documents", "--json").json()}
    assert keys == {"delta3/terms", "testsite/terms"}  # no testsit/terms


def test_bad_arguments_are_clear_errors(home: Home, tmp_path: Path) -> None:
    empty = home.run("import-history", str(tmp_path))
    assert empty.code == 2 and "no dated" in empty.stderr
    (tmp_path / "2025-01-01.html").write_text("<html><body><p>Terms.</p></body></html>")
    for selector in ("p::before", "div["):
        bad = home.run("import-history", str(tmp_path), "--service", "X", "--type", "T",
                       "--select", selector)  # fmt: skip
        assert bad.code == 2 and "invalid CSS selector" in bad.stderr, bad
        assert "Traceback" not in bad.stderr
    assert not Path(home.db.removeprefix("sqlite:///")).exists()  # no empty document made
    lonely = home.run("import-history", str(FIXTURES), "--service", "X")
    assert lonely.code == 2 and "--service and --type go together" in lonely.stderr


def test_files_dated_in_the_future_are_refused_before_anything_is_recorded(
    home: Home, tmp_path: Path
) -> None:
    """A version from the future is a wrong name. Imported, it stood as the newest version, and
    the file renamed with its true date was then left out as older than the history."""
    tree = tmp_path / "tree"
    for name in ("2024-01-01.md", "2025-01-01.md"):
        write(tree / "Good__Terms" / name, f"Terms of {name}.")
    soon = datetime.now(UTC) + timedelta(hours=2)
    late = tree / "Late__Terms" / f"{soon:%Y-%m-%dT%H-%M-%SZ}.md"
    write(tree / "Late__Terms" / "2024-06-01.md", "Terms.")
    write(late, "Terms, amended.")
    refused = home.run("import-history", str(tree))
    assert refused.code == 2 and len(refused.stderr.splitlines()) == 1, refused
    said = f"1 file dated after now, which no version can be: {late} ({soon:%Y-%m-%d %H:%M} UTC)"
    assert said in refused.stderr
    assert not Path(home.db.removeprefix("sqlite:///")).exists()  # nothing recorded, not one
    late.rename(late.with_name("2025-06-01.md"))
    assert home.run("import-history", str(tree)).code == 0
    versions = {row["key"]: row["versions"] for row in home.run("documents", "--json").json()}
    assert versions == {"good/terms": 2, "late/terms": 2}


def test_impossible_dates_are_refused_before_anything_is_recorded(
    home: Home, tmp_path: Path
) -> None:
    """`2025-13-45.md` crashed the import with a traceback (ValueError: month must be in 1..12).
    A name that starts with a date but gives no moment is a wrong name, as a future one is; a
    name that does not start with a date is no version and is left alone."""
    folder = tmp_path / "Chatterbox__Terms"
    write(folder / "2025-01-01.md", "Terms.")
    write(folder / "notes.md", "not a version")
    wrong = ["2025-13-45.md", "2025-02-30.md", "2025-01-01T25:00:00Z.md", "2025-01-01T1200Z.md"]
    for name in wrong:
        write(folder / name, "Terms, amended.")
    refused = home.run("import-history", str(folder))
    assert refused.code == 2 and "Traceback" not in refused.stderr, refused
    said = " ".join(refused.stderr.split())
    assert said.startswith("error: 4 files named with no valid date or time:"), said
    for reason in (
        f"{folder / '2025-02-30.md'} (day is out of range for month)",
        f"{folder / '2025-13-45.md'} (month must be in 1..12)",
        f"{folder / '2025-01-01T25:00:00Z.md'} (hour must be in 0..23)",
        f"{folder / '2025-01-01T1200Z.md'} (not a date or timestamp this import reads)",
    ):
        assert reason in said, said
    assert "notes.md" not in said and "nothing was imported" in said
    assert not Path(home.db.removeprefix("sqlite:///")).exists()  # nothing recorded, not one
    alone = tmp_path / "Alone__Terms"
    write(alone / "2025-02-30.md", "Terms.")
    only = home.run("import-history", str(alone))  # not "no dated files": it names the file
    assert only.code == 2 and "2025-02-30.md (day is out of range for month)" in only.stderr


def test_variants_and_broken_captures_are_judged_with_the_documents_history(
    home: Home, tmp_path: Path
) -> None:
    """As bench/detection.py measures: a version that only brings back sentences of earlier
    ones is the page flapping between variants, and the version after a broken capture is
    compared with the last sound one (both were alerts, or anomalies, in the product)."""
    banner_a = "\n\nBusiness accounts can reach support from the help centre at any time.\n"
    banner_b = "\n\nCommunity guidelines explain how groups are moderated by their admins.\n"
    both = POLICY + banner_a + banner_b
    reworded = both.replace("WhatsApp receives information", "WhatsApp may receive information")
    for day, text in enumerate([POLICY + banner_a, POLICY + banner_b, both, COLLAPSED, reworded]):
        write(tmp_path / "WhatsApp__Terms" / f"2025-01-0{day + 1}.md", text)
    assert home.run("import-history", str(tmp_path)).code == 0

    changes = list(reversed(home.run("history", "--all", "--json").json()))
    assert [(change["meaningful"], change["reason"]) for change in changes] == [
        (True, None),  # banner b instead of a
        (False, "flapping"),  # both banners: nothing the earlier versions did not hold
        (False, "anomaly"),  # collapsed
        (True, None),  # compared with the version before the collapse
    ]
    assert (changes[-1]["added"], changes[-1]["removed"], changes[-1]["changed"]) == (0, 0, 1)


def table_row(stdout: str, key: str) -> dict[str, str]:
    """The summary table's counts for `key`, by column."""
    header = next(line for line in stdout.splitlines() if "┃" in line)
    row = next(line for line in stdout.splitlines() if line.strip().startswith(f"{key} "))
    names = [cell.strip() for cell in header.split("┃")][1:]
    return dict(zip(names, (cell.strip() for cell in row.split("│")[1:]), strict=True))


def test_an_imported_version_is_judged_as_of_its_own_day(home: Home, tmp_path: Path) -> None:
    """A change of 2020 was dated by the day of the import: "effective 2020-10-01", six years
    before it, read as history, not as the date the change took effect."""
    folder = tmp_path / "LinkedIn__Terms"
    terms = "# Terms\n\nYou may use the Services to connect with professionals.\n"
    write(folder / "2020-09-01.md", terms)
    effective = "These terms are effective 2020-10-01. Bots may not post on the Services.\n"
    write(folder / "2020-10-05.md", terms + "\n" + effective)
    assert home.run("import-history", str(folder)).code == 0
    [change] = home.run("history", "--json").json()
    assert change["effective_date"] == "2020-10-01"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.skipif(not (SHARED / "corpus" / "history").is_dir(), reason="../shared/corpus absent")
def test_the_whole_corpus_imports_without_error(home: Home) -> None:
    corpus = SHARED / "corpus" / "history"
    index = json.loads((corpus / "index.json").read_text())
    result = home.run("import-history", str(corpus), timeout=600)
    assert result.code == 0, result.stderr
    assert "skipped" not in result.stderr
    documents = home.run("documents", "--json").json()
    assert len(documents) == len(index["documents"]) == 25
    distinct = sum(len({v["content_hash"] for v in doc["versions"]}) for doc in index["documents"])
    versions = sum(row["versions"] for row in documents)
    # A content that returns after others (A/B flapping) is a new version each time it returns.
    assert distinct <= versions <= sum(doc["n_versions"] for doc in index["documents"]) == 2259
