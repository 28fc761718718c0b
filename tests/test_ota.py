"""Open Terms Archive declarations into catalog files: crawlers/ota.py and `catalog import-ota`.

The converter is checked on the real declarations copied in tests/fixtures/ota (from
../shared/reference/ota-declarations): every one that declares a document must give a catalog
file that the loader and `policywatch catalog validate` accept, with the mapping the README
promises. The command runs as users run it, through the installed entry point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from crawlers.declarations import RangeSelector, load_catalog
from crawlers.ota import Conversion, OtaError, convert
from tests.conftest import Home

OTA = Path(__file__).parent / "fixtures" / "ota"
DECLARATIONS = sorted(OTA.glob("*.json"))
EMPTY = OTA / "Le Chat.json"  # `"terms": {}`: nothing to track


def reference(name: str) -> Any:
    return json.loads((OTA / f"{name}.json").read_text(encoding="utf-8"))


def documents_of(conversion: Conversion) -> dict[str, dict[str, Any]]:
    """The written documents by type, as the YAML reads."""
    data = yaml.safe_load(conversion.yaml_text)
    return {entry["type"]: entry for entry in data["documents"]}


def loaded(conversion: Conversion, folder: Path) -> Any:
    """The conversion written to `folder` and loaded by the catalog loader, without errors."""
    (folder / conversion.file_name).write_text(conversion.yaml_text, encoding="utf-8")
    catalog = load_catalog([folder], bundled=False)
    assert not catalog.errors, [str(error) for error in catalog.errors]
    return catalog


# --- The mapping ------------------------------------------------------------------------------


def test_fetch_select_remove_become_url_select_remove() -> None:
    conversion = convert(reference("WhatsApp"))
    assert conversion.file_name == "whatsapp.yaml"
    data = yaml.safe_load(conversion.yaml_text)
    assert list(data) == ["service", "documents"]
    assert data["service"] == "WhatsApp"
    assert data["documents"][0] == {
        "type": "Terms of Service",
        "url": "https://www.whatsapp.com/legal/updates/terms-of-service-eea?lang=en",
        "select": ["#content-wrapper"],
        "remove": ["[href='#top-of-page']"],
    }
    assert conversion.documents == 3 and not conversion.omissions


def test_output_reads_like_the_bundled_catalog() -> None:
    text = convert(reference("WhatsApp"), source="WhatsApp.json").yaml_text
    assert text.startswith("# WhatsApp: converted from an Open Terms Archive declaration")
    assert "\n  - type: Terms of Service\n" in text  # indented list items
    assert "\n    select: ['#content-wrapper']\n" in text  # selectors on one line


def test_a_plain_string_selector_becomes_a_list() -> None:
    developer = documents_of(convert(reference("Telegram")))["Developer Terms"]
    assert developer["select"] == ["#dev_page_content_wrap"]
    assert developer["remove"] == [".breadcrumb"]


def test_execute_client_scripts_means_browser_rendering() -> None:
    documents = documents_of(convert(reference("ChatGPT")))
    assert documents["Developer Terms"]["render"] == "browser"
    # On a combined document's parts only: the whole document renders in the browser.
    claude = documents_of(convert(reference("Claude.ai")))
    parts = reference("Claude.ai")["terms"]
    scripted = [name for name, terms in parts.items() if _scripted(terms)]
    assert scripted
    assert {name for name, entry in claude.items() if entry.get("render") == "browser"} == set(
        scripted
    )
    assert "render" not in documents_of(convert(reference("WhatsApp")))["Terms of Service"]


def _scripted(terms: dict[str, Any]) -> bool:
    pages = [terms, *terms.get("combine", [])]
    return any(page.get("executeClientScripts") is True for page in pages)


def test_a_pdf_url_means_pdf_format() -> None:
    apple = documents_of(convert(reference("Apple")))
    assert apple["Human Rights Policy"]["format"] == "pdf"
    assert "format" not in apple["Privacy Policy"]


def test_combined_pdfs_are_pdf_and_mixed_pages_are_left_to_detection() -> None:
    pdf = "https://example.com/terms.PDF"
    both = {"combine": [{"fetch": pdf}, {"fetch": "https://example.com/b.pdf?v=2"}]}
    mixed = {"combine": [{"fetch": pdf}, {"fetch": "https://example.com/terms"}]}
    documents = documents_of(convert({"name": "Acme", "terms": {"Both": both, "Mixed": mixed}}))
    assert documents["Both"]["format"] == "pdf"
    assert "format" not in documents["Mixed"]


def test_combine_keeps_each_part_and_the_shared_selectors(tmp_path: Path) -> None:
    conversion = convert(reference("ChatGPT"))
    terms = documents_of(conversion)["Terms of Service"]
    assert terms["combine"] == [
        "https://openai.com/policies/eu-terms-of-use/",
        "https://openai.com/policies/service-terms/",
    ]
    assert terms["select"] == ["main"]
    tracked = loaded(conversion, tmp_path).get("chatgpt/terms-of-service")
    assert [page.url for page in tracked.pages] == terms["combine"]
    assert all(page.select == ("main",) for page in tracked.pages)
    assert tracked.render == "browser"


def test_combined_parts_keep_their_own_selectors(tmp_path: Path) -> None:
    conversion = convert(reference("Telegram"))
    parts = documents_of(conversion)["Terms of Service"]["combine"]
    assert parts == [
        {"url": "https://telegram.org/tos", "select": [".tl_page_container"]},
        {
            "url": "https://telegram.org/faq?setln=en",
            "select": [".tl_page_container"],
            "remove": ["img", "video"],
        },
    ]
    tracked = loaded(conversion, tmp_path).get("telegram/terms-of-service")
    assert [page.remove for page in tracked.pages] == [(), ("img", "video")]


def test_javascript_filters_are_reported_and_the_document_still_written() -> None:
    conversion = convert(reference("Llama API"))
    reported = {(omission.document, omission.what) for omission in conversion.omissions}
    assert reported == {
        (
            "Terms of Service",
            "JavaScript filters of part "
            "https://www.facebook.com/legal/terms/Meta-Global-Processor-Terms/Europe: "
            "removeTrackingIDs",
        ),
        ("Privacy Policy", "JavaScript filters: removeTrackingIDs"),
        ("Trackers Policy", "JavaScript filters: removeTrackingIDs"),
    }
    assert set(documents_of(conversion)) == set(reference("Llama API")["terms"])
    assert "filter" not in conversion.yaml_text


def test_filters_with_arguments_are_named_with_them() -> None:
    conversion = convert(reference("Google"))
    terms = next(o for o in conversion.omissions if o.document == "Terms of Service")
    assert str(terms) == (
        "Google · Terms of Service: JavaScript filters: "
        '{"removeQueryParams": ["utm_source", "utm_medium", "utm_campaign"]}, removeCountryVersion'
    )


def test_the_older_documents_key_converts_like_terms() -> None:
    older = {"name": "WhatsApp", "documents": reference("WhatsApp")["terms"]}
    assert convert(older).yaml_text == convert(reference("WhatsApp")).yaml_text


def test_range_selectors_take_our_key_names_and_load(tmp_path: Path) -> None:
    conversion = convert(reference("Telegram"))
    imprint = documents_of(conversion)["Imprint"]
    assert imprint["select"] == [
        {
            "start_before": "[name=q-who-are-the-people-behind-telegram]",
            "end_before": "[name=q-will-you-have-ads-in-my-private-chats-and-groups-or-sell-my-da]",
        }
    ]
    tracked = loaded(conversion, tmp_path).get("telegram/imprint")
    assert tracked.select == (RangeSelector(**imprint["select"][0]),)


def test_a_single_range_object_and_ranges_in_remove(tmp_path: Path) -> None:
    terms = {
        "fetch": "https://example.com/terms",
        "select": {"startAfter": "h1", "endAfter": "#end"},
        "remove": [".ad", {"startBefore": "#faq", "endBefore": "footer"}],
    }
    conversion = convert({"name": "Acme", "terms": {"Terms": terms}})
    tracked = loaded(conversion, tmp_path).get("acme/terms")
    assert tracked.select == (RangeSelector(start_after="h1", end_after="#end"),)
    assert tracked.remove == (".ad", RangeSelector(start_before="#faq", end_before="footer"))


def test_a_document_that_would_not_load_is_left_out_and_said_why(tmp_path: Path) -> None:
    terms = {
        "Good": {"fetch": "https://example.com/good", "select": "main"},
        "Bad CSS": {"fetch": "https://example.com/bad", "select": "div["},
        "Bad Range": {"fetch": "https://example.com/r", "select": {"startBefore": "h1"}},
        "No URL": {"select": "main"},
        "Not An Object": "https://example.com/x",
    }
    conversion = convert({"name": "Acme", "terms": terms})
    assert set(documents_of(conversion)) == {"Good"}
    why = {omission.document: omission.what for omission in conversion.omissions}
    assert why["Bad CSS"].startswith("left out: select: invalid CSS selector 'div['")
    assert why["Bad Range"] == (
        "left out: select.0.range: a range needs exactly one of `end_before` and `end_after`"
    )
    assert why["No URL"] == "left out: url: needs a `url`, or the pages to `combine`"
    assert why["Not An Object"] == "left out: its declaration is not an object"
    loaded(conversion, tmp_path)


def test_unknown_fields_are_reported_and_provenance_kept_as_a_comment() -> None:
    alexa = reference("Alexa")
    conversion = convert({**alexa, "tags": ["x"]}, source="Alexa.json")
    assert f"# which OTA imported from {alexa['importedFrom']}\n" in conversion.yaml_text
    assert [str(omission) for omission in conversion.omissions] == ["Alexa: unknown field `tags`"]


def test_documents_whose_names_make_one_key_keep_the_first() -> None:
    terms = {
        "Terms of Service": {"fetch": "https://example.com/a"},
        "Terms-of-Service": {"fetch": "https://example.com/b"},
    }
    conversion = convert({"name": "Acme", "terms": terms})
    assert list(documents_of(conversion)) == ["Terms of Service"]
    assert [omission.document for omission in conversion.omissions] == ["Terms-of-Service"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({"terms": {}}, "needs a `name`"),
        ({"name": "…", "terms": {}}, "needs a `name`"),
        ({"name": "Acme"}, "has neither `terms` nor `documents`"),
        ({"name": "Acme", "terms": []}, "`terms` should map each document's name"),
        ({"name": "Acme", "terms": {}}, "declares no documents in `terms`"),
        ({"name": "Acme", "terms": {"T": {"select": "x"}}}, "no document could be converted"),
        # A history file: document names mapped to past declarations, no service name.
        ({"Terms of Service": [{"fetch": "https://a.example", "validUntil": "2024"}]}, "`name`"),
    ],
)
def test_what_is_not_a_usable_declaration_is_refused(data: Any, message: str) -> None:
    with pytest.raises(OtaError, match=message):
        convert(data)


def test_every_reference_declaration_converts_and_loads(tmp_path: Path) -> None:
    declared = 0
    for path in DECLARATIONS:
        data = json.loads(path.read_text(encoding="utf-8"))
        if path == EMPTY:
            with pytest.raises(OtaError):
                convert(data)
            continue
        conversion = convert(data, source=path.name)
        assert conversion.documents == len(data["terms"]), path.name
        assert all(
            omission.what.startswith("JavaScript filters") for omission in conversion.omissions
        )
        (tmp_path / conversion.file_name).write_text(conversion.yaml_text, encoding="utf-8")
        declared += conversion.documents
    catalog = load_catalog([tmp_path], bundled=False)
    assert not catalog.errors, [str(error) for error in catalog.errors]
    assert len(catalog.documents) == declared == 142
    assert catalog.get("llama-api/acceptable-use-policy") is not None


# --- The command ------------------------------------------------------------------------------


def test_import_the_reference_declarations_then_validate(home: Home) -> None:
    output = home.path / "ota"
    result = home.run("catalog", "import-ota", *map(str, DECLARATIONS), "--output", str(output))
    assert result.code == 0, result.stderr
    assert len(list(output.glob("*.yaml"))) == len(DECLARATIONS) - 1
    assert f"{EMPTY}: not converted: declares no documents in `terms`" in result.stderr
    assert "35 services (142 documents) converted" in result.stdout
    assert "1 file not converted" in result.stdout
    assert "  Zoom · Terms of Service: JavaScript filters: removeAmpDeviceId\n" in result.stdout
    assert f"wrote {output / 'telegram.yaml'}: Telegram, 9 documents" in result.stdout

    # Services the bundled catalog tracks too: crawl would skip their keys. Written all the same,
    # with a warning; validate (which loads the bundled catalog first, as crawl) reports them.
    assert (
        f"warning: {output / 'discord.yaml'}: 2 keys the bundled catalog already has"
        " (discord/terms-of-service, discord/community-guidelines), which crawl skips: it keeps the"
        " bundled entries, so nothing is replaced. Drop these documents to use the bundled ones,"
        " give them another `type:` to track both, or add `replaces_bundled: true` to one to"
        " track it instead of the bundled one."
    ) in result.stderr
    assert result.stderr.count("warning: ") == 14
    validated = home.run("catalog", "validate", str(output))
    assert validated.code == 2, validated.stdout
    assert (
        f"✗ {output / 'discord.yaml'} · document Terms of Service · field type: duplicate key"
        " discord/terms-of-service (first declared in"
    ) in validated.stdout
    assert "124 documents in 35 files are valid\n18 errors" in validated.stdout


def test_existing_files_are_kept_unless_forced(home: Home) -> None:
    output = home.path / "ota"
    output.mkdir()
    mine = output / "telegram.yaml"
    mine.write_text("# my own edits\n", encoding="utf-8")
    source = str(OTA / "Telegram.json")

    refused = home.run("catalog", "import-ota", source, "--output", str(output))
    assert refused.code == 2
    assert f"{mine} exists; use --force to overwrite it" in refused.stderr
    assert mine.read_text(encoding="utf-8") == "# my own edits\n"

    forced = home.run("catalog", "import-ota", source, "--output", str(output), "--force")
    assert forced.code == 0, forced.stderr
    assert (
        mine.read_text(encoding="utf-8")
        == convert(reference("Telegram"), source="Telegram.json").yaml_text
    )


def test_bad_files_are_named_and_the_good_ones_still_converted(home: Home) -> None:
    broken = home.path / "Broken.json"
    broken.write_text('{"name": "Broken", "terms": {', encoding="utf-8")
    history = home.path / "Telegram.history.json"
    history.write_text("{}", encoding="utf-8")
    output = home.path / "out"

    result = home.run(
        "catalog",
        "import-ota",
        str(broken),
        str(history),
        str(OTA / "Signal.json"),
        "-o",
        str(output),
    )
    assert result.code == 0, result.stderr
    assert f"{broken}: invalid JSON at line 1, column 30:" in result.stderr
    assert f"{history}: a history file (past declarations of a service)" in result.stderr
    assert sorted(path.name for path in output.iterdir()) == ["signal.yaml"]  # no leftovers
    assert "2 files not converted" in result.stdout


def test_nothing_converted_exits_2(home: Home) -> None:
    missing = home.path / "Missing.json"
    result = home.run("catalog", "import-ota", str(missing), str(EMPTY), "-o", str(home.path / "o"))
    assert result.code == 2
    assert f"{missing}: cannot read:" in result.stderr
    assert "0 services (0 documents) converted" in result.stdout
    assert not list((home.path / "o").iterdir())


def test_two_declarations_of_one_service_do_not_overwrite_each_other(home: Home) -> None:
    again = home.path / "Telegram copy.json"
    again.write_text(json.dumps({"name": "telegram", "terms": {"X": {"fetch": "https://t.me"}}}))
    output = home.path / "out"
    result = home.run(
        "catalog", "import-ota", str(OTA / "Telegram.json"), str(again), "-o", str(output)
    )
    assert result.code == 0
    assert f"{output / 'telegram.yaml'} was already written from {OTA / 'Telegram.json'}" in (
        result.stderr
    )
    assert "service: Telegram\n" in (output / "telegram.yaml").read_text(encoding="utf-8")
