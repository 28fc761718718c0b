"""The catalog: the bundled declarations, the loader's error reports, and `policywatch catalog`.

The bundled catalog is product data: a broken or duplicated entry there silently stops tracking a
document, so it is checked as strictly as code. The loader must name file, document and field for
every problem while still loading the good entries of the same file. The commands are exercised
through the real typer app (and once through the installed entry point).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner, Result

import policywatch.cli.catalog as catalog_cli
from crawlers.declarations import (
    BUNDLED_CATALOG,
    LANGUAGES,
    CatalogError,
    RangeSelector,
    load_catalog,
    slugify,
)
from crawlers.pacing import interval_seconds
from diffengine import language as detection
from policywatch.cli import app
from tests.conftest import FAST, Home, spawn
from tests.conftest import Result as RunResult
from tests.site import Page, Site

FIXTURES = Path(__file__).parent / "fixtures" / "catalog"
GOOD = FIXTURES / "good"
MIXED = FIXTURES / "broken" / "mixed.yaml"
JSON_FIELDS = {
    "key",
    "service",
    "document_type",
    "url",
    "urls",
    "tags",
    "select",
    "remove",
    "combine",
    "render",
    "format",
    "interval",
    "interval_from",
    "language",
    "source",
    "formerly",
}
# Documents the product is about: losing any of them from the catalog is a regression.
ESSENTIAL_KEYS = {
    "whatsapp/business-solution-terms",
    "whatsapp/business-messaging-policy",
    "whatsapp/terms-of-service",
    "meta/platform-terms",
    "meta/developer-policies",
    "meta/messenger-platform-policy",
    "instagram/terms-of-use",
    "threads/terms-of-use",
    "telegram/api-terms-of-service",
    "telegram/bot-platform-developer-terms",
    "discord/developer-terms-of-service",
    "discord/developer-policy",
    "slack/api-terms-of-service",
    "slack/app-developer-policy",
    "x/developer-agreement",
    "x/developer-policy",
    "reddit/data-api-terms",
    "reddit/developer-terms",
    "linkedin/api-terms-of-use",
    "youtube/api-services-terms-of-service",
    "youtube/api-services-developer-policies",
    "apple/app-review-guidelines",
    "apple/developer-program-license-agreement",
    "google-play/developer-program-policy",
    "google-play/developer-distribution-agreement",
    "openai/usage-policies",
    "openai/terms-of-use",
    "openai/services-agreement",
    "anthropic/usage-policy",
    "anthropic/commercial-terms-of-service",
    "google/generative-ai-prohibited-use-policy",
    "google/apis-terms-of-service",
    "gemini-api/additional-terms-of-service",
    "mistral-ai/usage-policy",
    "llama/acceptable-use-policy",
    "xai/acceptable-use-policy",
}

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config or catalog leaks in, and output is wide enough not to fold keys."""
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("POLICYWATCH_CATALOG", raising=False)
    monkeypatch.setattr(catalog_cli, "console", Console(width=240))
    monkeypatch.setattr(catalog_cli, "err_console", Console(stderr=True, width=240))


def invoke(*args: str) -> Result:
    return runner.invoke(app, ["catalog", *args])


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def located(errors: list[CatalogError]) -> set[tuple[str | None, str | None]]:
    return {(error.document, error.field) for error in errors}


# The bundled catalog


def test_bundled_catalog_loads_without_errors() -> None:
    catalog = load_catalog()
    assert catalog.errors == []
    assert len(catalog.documents) >= 60
    keys = [document.key for document in catalog.documents]
    assert len(keys) == len(set(keys))


def test_bundled_documents_are_well_formed() -> None:
    for document in load_catalog().documents:
        assert document.url.startswith("https://"), document.key
        assert document.key == f"{slugify(document.service)}/{slugify(document.document_type)}"
        assert document.tags, f"{document.key} has no tags"
        if document.format != "pdf":  # a PDF has no elements to select
            assert document.select, f"{document.key} keeps the whole page: name the policy element"
        assert Path(document.source).parent == BUNDLED_CATALOG


def test_bundled_catalog_covers_what_bot_developers_need() -> None:
    keys = {document.key for document in load_catalog().documents}
    assert ESSENTIAL_KEYS - keys == set()
    tags = {tag for document in load_catalog().documents for tag in document.tags}
    assert {"messaging", "social", "app-store", "ai-provider", "meta", "google"} <= tags


def test_each_bundled_file_is_one_service_named_after_it() -> None:
    files = sorted(BUNDLED_CATALOG.glob("*.yaml"))
    assert len(files) >= 30
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert path.stem == slugify(data["service"]), path.name


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("WhatsApp", "whatsapp"),
        ("Société Générale", "societe-generale"),
        ("Conditions générales d'utilisation", "conditions-generales-d-utilisation"),
        ("Straße & Ørsted", "strasse-orsted"),
        ("Łódź Œuvre Æble", "lodz-oeuvre-aeble"),
        ("İstanbul Ｔｅｒｍｓ", "istanbul-terms"),
        ("微信", ""),  # nothing to spell in ASCII: the loader refuses it
    ],
)
def test_keys_spell_accented_letters_without_their_accents(name: str, slug: str) -> None:
    """Each accented letter was a word break: `Société Générale` made `soci-t-g-n-rale`."""
    assert slugify(name) == slug


def test_a_service_with_accents_is_crawled_and_named_by_its_plain_key(tmp_path: Path) -> None:
    path = tmp_path / "societe-generale.yaml"
    entry = {"type": "Conditions générales", "url": "https://sg.example/cg", "select": "main"}
    path.write_text(
        yaml.safe_dump({"service": "Société Générale", "documents": [entry]}, allow_unicode=True),
        encoding="utf-8",
    )
    catalog = load_catalog([path], bundled=False)
    assert [document.key for document in catalog.documents] == [
        "societe-generale/conditions-generales"
    ]
    assert [document.key for document in catalog.select(["societe-generale"])] == [
        "societe-generale/conditions-generales"
    ]


def test_bundled_urls_are_not_tracked_twice() -> None:
    urls = [document.url for document in load_catalog().documents]
    assert len(urls) == len(set(urls))


# The loader


def test_good_folder_loads_recursively_with_defaults_and_overrides() -> None:
    catalog = load_catalog([GOOD], bundled=False)
    assert catalog.errors == []
    by_key = {document.key: document for document in catalog.documents}
    assert set(by_key) == {
        "acme-chat/bot-developer-terms",
        "acme-chat/usage-policy",
        "beta-ai/api-terms",
    }
    bot = by_key["acme-chat/bot-developer-terms"]
    assert bot.tags == ("messaging", "developer")
    assert bot.remove == ("nav", ".cookie-banner")
    assert bot.interval == "6h"
    usage = by_key["acme-chat/usage-policy"]
    assert usage.select == ("main",)  # one selector may be written as a plain string
    assert usage.language == "fr"
    beta = by_key["beta-ai/api-terms"]
    assert (beta.select, beta.interval, beta.language) == ((), "24h", "en")


def test_broken_entries_are_located_and_good_ones_still_load() -> None:
    catalog = load_catalog([MIXED], bundled=False)
    assert [document.key for document in catalog.documents] == ["mixed-bag/good-terms"]
    assert located(catalog.errors) == {
        ("Missing URL", "url"),
        ("Bad Selector", "select"),
        ("Unknown Field", "colour"),
        ("FTP Link", "url"),
        ("Good Terms", "type"),
    }
    assert {error.file for error in catalog.errors} == {str(MIXED)}
    messages = {error.document: error.message for error in catalog.errors}
    assert "invalid CSS selector 'div['" in messages["Bad Selector"]
    assert "not an http(s) URL" in messages["FTP Link"]
    assert "duplicate key mixed-bag/good-terms" in messages["Good Terms"]
    # what to do, as a duplicate of a bundled key is told (`replaces_bundled`)
    assert messages["Good Terms"].endswith(
        "; declare each document once, or give this one another `type:` to track both"
    )
    assert messages["Unknown Field"] == "unknown field"


def test_a_broken_service_level_does_not_hide_its_documents_errors(tmp_path: Path) -> None:
    """A file whose `tags:` was wrong said only that: its documents' errors came one run of
    `catalog validate` later, one fix at a time."""
    path = tmp_path / "acme.yaml"
    entry = {"type": "Terms", "url": "https://acme.example/", "selct": "main", "interval": "6"}
    data = {"service": "Acme", "tags": "messaging", "documents": [entry]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    catalog = load_catalog([path], bundled=False)
    assert located(catalog.errors) == {(None, "tags"), ("Terms", "selct"), ("Terms", "interval")}
    assert catalog.documents == []  # the file is broken: none of it is tracked


def test_a_misspelt_field_is_named_with_the_one_it_meant(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    entry = {"type": "Terms", "url": "https://typo.example/", "selct": "main"}
    path.write_text(yaml.safe_dump({"service": "Typo", "documents": [entry]}), encoding="utf-8")
    [error] = load_catalog([path], bundled=False).errors
    assert (error.field, error.message) == ("selct", "unknown field; did you mean select?")


def test_a_language_is_a_code_the_language_check_can_tell(tmp_path: Path) -> None:
    """`english` or `zz` loaded, and `EN` stayed upper case: every crawl of the page then failed
    as a language switch (detection reports `en`)."""
    path = tmp_path / "lingo.yaml"
    entries = [
        {"type": name, "url": f"https://lingo.example/{index}", "language": language}
        for index, (name, language) in enumerate(
            [("Upper", "EN"), ("German", "de"), ("Word", "english"), ("Made Up", "zz")]
        )
    ]
    path.write_text(yaml.safe_dump({"service": "Lingo", "documents": entries}), encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    for name, language in [("Word", "english"), ("Made Up", "zz")]:
        assert (
            f"{path} · document {name} · field language: {language!r} is not a language the"
            " language check can tell; use an ISO 639-1 code among ar, de, el, en, es, fr,"
        ) in result.stdout
    assert "(e.g. language: de), or language: null for a page in another language" in (
        result.stdout
    )
    assert "2 documents in 1 file are valid" in result.stdout
    languages = {
        doc.document_type: doc.language for doc in load_catalog([path], bundled=False).documents
    }
    assert languages == {"Upper": "en", "German": "de"}


def test_the_catalog_accepts_the_languages_detection_can_report() -> None:
    assert detection.LANGUAGES == LANGUAGES


def test_a_field_at_the_wrong_level_is_said_to_belong_elsewhere(tmp_path: Path) -> None:
    """`url:` at the top of a file got "unknown field; did you mean url?": the hint named the
    field written, when the fault is where it was written."""
    flat = tmp_path / "flat.yaml"
    flat.write_text("service: Flat\ntype: Terms\nurl: https://flat.example/\nselct: main\n")
    nested = tmp_path / "nested.yaml"
    nested.write_text(
        "service: Nested\ndocuments:\n  - type: Terms\n    service: Nested\n"
        "    combine:\n      - url: https://n.example/a\n        render: browser\n"
        "      - https://n.example/b\n    start_after: h2\n"
    )
    result = invoke("validate", str(flat), str(nested))
    assert result.exit_code == 2
    belongs = "belongs to a document, under `documents:`; check the indentation"
    expected = [
        f"{flat} · field url: `url` {belongs}",
        f"{flat} · field type: `type` {belongs}",
        f"{flat} · field selct: unknown field; did you mean select? (`select` belongs to a"
        " document, under `documents:`)",
        f"{nested} · document Terms · field service: `service` belongs at the top level of the"
        " file, not in a document; check the indentation",
        f"{nested} · document Terms · field combine.0.render: `render` belongs to the document,"
        " not to one of its `combine:` pages; check the indentation",
        f"{nested} · document Terms · field start_after: `start_after` belongs to a range"
        " selector, in a `select:` or `remove:` list; check the indentation",
    ]
    for line in expected:
        assert line in result.stdout
    assert "did you mean url?" not in result.stdout


def test_error_text_names_file_document_and_field() -> None:
    errors = load_catalog([MIXED], bundled=False).errors
    text = next(str(error) for error in errors if error.document == "Bad Selector")
    assert text.startswith(f"{MIXED} · document Bad Selector · field select: ")
    assert "\n" not in text


def test_invalid_yaml_is_one_located_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("service: Broken\ndocuments:\n  - type: [unclosed\n", encoding="utf-8")
    catalog = load_catalog([path], bundled=False)
    assert catalog.documents == []
    [error] = catalog.errors
    assert (error.file, error.document, error.field) == (str(path), None, None)
    assert error.message.startswith("invalid YAML at line ")
    assert "\n" not in error.message


def test_a_key_written_twice_in_one_mapping_is_refused(tmp_path: Path) -> None:
    """PyYAML keeps the last of two `url:`: the first was dropped without a word. A key merged in
    (`<<: *anchor`) may still be overridden."""
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        "service: Twice\ndocuments:\n  - type: Terms\n    url: https://a.example/terms\n"
        "    select: main\n    url: https://b.example/terms\n",
        encoding="utf-8",
    )
    merged = tmp_path / "merged.yaml"
    merged.write_text(
        "service: Merged\ndocuments:\n"
        "  - &terms {type: Terms, url: 'https://m.example/terms', select: main}\n"
        "  - <<: *terms\n    type: Privacy\n    url: https://m.example/privacy\n",
        encoding="utf-8",
    )
    result = invoke("validate", str(twice), str(merged))
    assert result.exit_code == 2
    assert (
        f"{twice}: invalid YAML at line 6, column 5: duplicate key 'url' (first at line 4)"
        in result.stdout
    )
    assert "2 documents in 2 files are valid" in result.stdout  # the merged file's
    assert "1 error" in result.stdout


def test_top_level_problems_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "nameless.yaml"
    path.write_text("documents:\n  - type: Terms\n    url: https://x.example/\nowner: me\n")
    errors = load_catalog([path], bundled=False).errors
    assert located(errors) == {(None, "service"), (None, "owner")}


@pytest.mark.parametrize(("content", "found"), [('"just a string"\n', "a str"), ("", "empty")])
def test_a_file_that_is_not_a_mapping_says_what_a_declaration_file_is(
    tmp_path: Path, content: str, found: str
) -> None:
    path = tmp_path / "odd.yaml"
    path.write_text(content)
    [error] = load_catalog([path], bundled=False).errors
    assert error.message == (
        f"a declaration file is a mapping with service: and documents:, not {found}"
    )


def test_a_url_with_a_password_is_refused_without_echoing_it(tmp_path: Path) -> None:
    path = tmp_path / "secret.yaml"
    url = "https://user:topsecret@example.com/terms"
    path.write_text(f"service: Secret\ndocuments:\n  - type: Terms\n    url: {url}\n")
    catalog = load_catalog([path], bundled=False)
    [error] = catalog.errors
    assert catalog.documents == [] and "user name or password" in error.message
    assert "topsecret" not in str(error)


def test_missing_path_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"
    [error] = load_catalog([missing], bundled=False).errors
    assert (error.file, error.message) == (str(missing), "no such file or folder")


def test_a_file_named_twice_is_read_once() -> None:
    """The config file and `--catalog` may name the same file: that is not a duplicate key."""
    catalog = load_catalog([GOOD, GOOD / "acme-chat.yaml"], bundled=False)
    assert catalog.errors == []
    assert len(catalog.documents) == 3


def test_user_documents_cannot_shadow_bundled_keys(tmp_path: Path) -> None:
    path = tmp_path / "whatsapp.yaml"
    path.write_text(
        "service: WhatsApp\ndocuments:\n"
        "  - type: Business Solution Terms\n    url: https://mirror.example/bst\n"
    )
    catalog = load_catalog([path])
    kept = catalog.get("whatsapp/business-solution-terms")
    assert kept is not None
    assert kept.url.startswith("https://www.whatsapp.com/")
    assert located(catalog.errors) == {("Business Solution Terms", "type")}


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("6h", 21600), ("1d", 86400), ("12h", 43200)]
)
def test_interval_seconds(text: str, seconds: int) -> None:
    assert interval_seconds(text) == seconds


@pytest.mark.parametrize("text", ["0h", "6", "h", "1w", "1.5h", "-1d"])
def test_bad_intervals_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        interval_seconds(text)


# policywatch catalog validate


def test_validate_a_good_folder() -> None:
    result = invoke("validate", str(GOOD))
    assert result.exit_code == 0, result.output
    assert "3 documents in 2 files are valid" in result.stdout


def test_validate_reports_every_error_and_exits_2() -> None:
    result = invoke("validate", str(MIXED), str(GOOD))
    assert result.exit_code == 2
    assert f"{MIXED} · document Bad Selector · field select: invalid CSS selector" in (
        result.stdout
    )
    assert f"{MIXED} · document FTP Link · field url:" in result.stdout
    assert f"{MIXED} · document Unknown Field · field colour:" in result.stdout
    assert "4 documents in 3 files are valid" in result.stdout
    assert "5 errors" in result.stdout


def test_validate_counts_the_named_files_only() -> None:
    result = invoke("validate", str(GOOD / "more"))
    assert result.exit_code == 0, result.output
    assert "1 document in 1 file is valid" in result.stdout


def test_validate_reports_keys_the_bundled_catalog_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`crawl --catalog` loads the bundled catalog first and skips these: validate said valid."""
    path = tmp_path / "discord.yaml"
    path.write_text(
        "service: Discord\ndocuments:\n"
        "  - type: Terms of Service\n    url: https://discord.com/terms\n"
        "  - type: Safety Center\n    url: https://discord.com/safety\n",
        encoding="utf-8",
    )
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert (
        f"✗ {path} · document Terms of Service · field type: duplicate key"
        f" discord/terms-of-service (first declared in {BUNDLED_CATALOG / 'discord.yaml'})"
    ) in result.stdout
    assert "1 document in 1 file is valid" in result.stdout
    bundled = invoke("validate", str(BUNDLED_CATALOG / "discord.yaml"))  # not a clash with itself
    assert bundled.exit_code == 0, bundled.output
    # Left out, the bundled catalog clashes with nothing: as the crawl loads the files.
    monkeypatch.setenv("POLICYWATCH_BUNDLED_CATALOG", "false")
    alone = invoke("validate", str(path))
    assert alone.exit_code == 0 and "2 documents in 1 file are valid" in alone.stdout


def test_validate_without_paths_checks_bundled_and_configured_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = len(load_catalog().documents)
    result = invoke("validate")
    assert result.exit_code == 0, result.output
    assert f"{bundled} documents in" in result.stdout

    config = tmp_path / "config.toml"
    config.write_text(f"catalog = [{json.dumps(str(MIXED))}]\n", encoding="utf-8")
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    result = invoke("validate")
    assert result.exit_code == 2
    assert "document Bad Selector" in result.stdout
    assert f"{bundled + 1} documents in" in result.stdout


def test_a_configured_catalog_path_may_start_with_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`catalog = ["~/my-policies"]` was taken literally, a folder named `~` in the current one:
    `catalog list` skipped it and every crawl failed with "~/my-policies: no such file or
    folder", cron's included, though the folder was there."""
    mine = tmp_path / "my-policies"
    mine.mkdir()
    (mine / "acme-chat.yaml").write_text((GOOD / "acme-chat.yaml").read_text(), encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / "config.toml"
    config.write_text('catalog = ["~/my-policies"]\n', encoding="utf-8")
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    keys = {row["key"] for row in json_of(invoke("list", "--json"))}
    assert "acme-chat/bot-developer-terms" in keys
    monkeypatch.setenv("POLICYWATCH_CATALOG", "~/my-policies")  # quoted in a unit file, say
    keys = {row["key"] for row in json_of(invoke("list", "--json"))}
    assert "acme-chat/bot-developer-terms" in keys


def test_validate_a_folder_without_catalog_files(tmp_path: Path) -> None:
    """It said "0 documents in 0 files are valid" and exited 0: a wrong folder passed."""
    (tmp_path / "Discord.json").write_text("{}", encoding="utf-8")
    result = invoke("validate", str(tmp_path), str(GOOD))
    assert result.exit_code == 2
    assert f"✗ {tmp_path}: no catalog files (*.yaml, *.yml) in this folder" in result.stdout
    assert "3 documents in 2 files are valid" in result.stdout


def test_validate_names_a_tab_in_the_indentation(tmp_path: Path) -> None:
    """libyaml only says it "found character that cannot start any token"."""
    path = tmp_path / "tabbed.yaml"
    path.write_text("service: Tabbed\ndocuments:\n\t- type: Terms\n", encoding="utf-8")
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert (
        f"{path}: invalid YAML at line 3, column 1: found character that cannot start any token"
        " (the line is indented with a tab: YAML indentation must use spaces)"
    ) in result.stdout


def test_validate_a_missing_path() -> None:
    result = invoke("validate", "does-not-exist.yaml")
    assert result.exit_code == 2
    assert "does-not-exist.yaml: no such file or folder" in result.stdout


@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["show", "acme/terms"]])
def test_list_and_show_refuse_a_catalog_path_that_does_not_exist(command: list[str]) -> None:
    """`list` warned "skipped: …" above 109 bundled documents and exited 0, so a mistyped
    --catalog read as a catalog without the user's documents; `crawl` refuses it."""
    result = invoke(*command, "--catalog", "does-not-exist.yaml")
    assert result.exit_code == 2
    assert result.output == "error: catalog does-not-exist.yaml: no such file or folder\n"


def test_unreadable_settings_are_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("catalog = [unclosed\n", encoding="utf-8")
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    for command in (["validate"], ["list"], ["show", "openai/usage-policies"]):
        result = invoke(*command)
        assert result.exit_code == 2, command
        assert f"error: cannot read the settings: {config}: " in result.stderr
        assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ('catlog = ["x"]\n', "unknown setting catlog (did you mean catalog?); the settings are"),
        ('max_bytes = "lots"\n', "max_bytes: Input should be a valid integer"),
        (
            'base_url = "policywatch.example.org"\n',  # every link of the alerts led nowhere
            "base_url: 'policywatch.example.org' is not an absolute http(s) URL without query",
        ),
    ],
)
def test_a_misspelt_or_mistyped_setting_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, written: str, said: str
) -> None:
    """A typo in the config file was ignored without a word: the setting silently not applied."""
    config = tmp_path / "config.toml"
    config.write_text(written, encoding="utf-8")
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    result = invoke("list")
    assert result.exit_code == 2 and said in result.stderr and str(config) in result.stderr


# policywatch catalog list


def test_list_json_is_the_sorted_bundled_catalog() -> None:
    rows = json_of(invoke("list", "--json"))
    keys = [row["key"] for row in rows]
    assert keys == sorted(keys)
    assert len(rows) == len(load_catalog().documents)
    assert all(set(row) == JSON_FIELDS for row in rows)
    bst = next(row for row in rows if row["key"] == "whatsapp/business-solution-terms")
    assert bst["service"] == "WhatsApp"
    assert bst["document_type"] == "Business Solution Terms"
    assert bst["select"] == ["#content-wrapper"]
    assert "messaging" in bst["tags"]


def test_list_table_shows_keys_urls_and_paces() -> None:
    result = invoke("list", "--catalog", str(GOOD))
    assert result.exit_code == 0, result.output
    assert "whatsapp/business-solution-terms" in result.stdout
    assert "https://www.whatsapp.com/legal/business-solution-terms" in result.stdout
    assert f"{len(load_catalog().documents) + 3} documents tracked" in result.stdout
    [acme] = [
        line for line in result.stdout.splitlines() if "acme-chat/bot-developer-terms" in line
    ]
    assert acme.split()[-1] == "6h"  # the pace its declaration sets


def test_list_in_a_narrow_terminal_keeps_keys_and_urls_readable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five columns in 80 cut every cell into pieces of six letters, and two cut keys mid-word
    (`amazon-appstore/developer-ser` / `vices-agreement`): each key is whole on its own line,
    to be copied for `--only`, and its URL below it."""
    monkeypatch.setattr(catalog_cli, "console", Console(width=80))
    lines = [line.rstrip() for line in invoke("list").stdout.splitlines()]
    documents = sorted(load_catalog().documents, key=lambda document: document.key)
    for document in documents:
        at = lines.index(document.key)
        assert lines[at + 1] == f"  {document.url}"[:80]
    assert lines[-1].strip().startswith("Service, type, tags and pace:")


def test_catalog_option_adds_documents() -> None:
    rows = json_of(invoke("list", "--json", "--catalog", str(GOOD)))
    acme = next(row for row in rows if row["key"] == "acme-chat/bot-developer-terms")
    assert acme["interval"] == "6h"
    assert acme["source"] == str(GOOD / "acme-chat.yaml")
    assert len(rows) == len(load_catalog().documents) + 3


def test_env_catalog_adds_documents_from_each_path(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = os.pathsep.join([str(GOOD / "acme-chat.yaml"), str(GOOD / "more")])
    monkeypatch.setenv("POLICYWATCH_CATALOG", paths)
    keys = {row["key"] for row in json_of(invoke("list", "--json"))}
    assert {"acme-chat/usage-policy", "beta-ai/api-terms", "openai/usage-policies"} <= keys


def test_the_bundled_catalog_can_be_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Who tracks their own pages had the 109 bundled documents crawled too, on every run, and
    the failures of those buried theirs."""
    monkeypatch.setenv("POLICYWATCH_BUNDLED_CATALOG", "false")
    keys = {row["key"] for row in json_of(invoke("list", "--json", "--catalog", str(GOOD)))}
    assert "acme-chat/bot-developer-terms" in keys
    assert not keys & {document.key for document in load_catalog().documents}
    monkeypatch.setenv("POLICYWATCH_BUNDLED_CATALOG", "maybe")
    refused = invoke("list")
    assert refused.exit_code == 2
    assert "bundled_catalog: Input should be a valid boolean" in refused.stderr
    assert "(in POLICYWATCH_BUNDLED_CATALOG)" in refused.stderr


def test_list_warns_about_broken_entries_and_lists_the_rest() -> None:
    result = invoke("list", "--json", "--catalog", str(MIXED))
    keys = {row["key"] for row in json_of(result)}
    assert "mixed-bag/good-terms" in keys
    assert "whatsapp/business-solution-terms" in keys
    assert "skipped:" in result.stderr
    assert f"{MIXED} · document FTP Link · field url:" in result.stderr
    assert result.stderr.count("skipped:") == 5


# policywatch catalog show


def test_show_json_is_the_full_declaration() -> None:
    data = json_of(invoke("show", "openai/usage-policies", "--json"))
    assert set(data) == JSON_FIELDS
    assert data["url"] == "https://openai.com/policies/usage-policies/"
    assert data["select"] == ["main"]
    assert "select[name='Locale Select']" in data["remove"]
    assert data["source"] == str(BUNDLED_CATALOG / "openai.yaml")
    assert (data["render"], data["format"], data["combine"]) == ("browser", None, [])


def test_show_json_lists_the_pages_a_document_combines() -> None:
    data = json_of(invoke("show", "anthropic/usage-policy", "--json"))
    assert data["combine"][0]["url"] == data["url"]
    assert len(data["combine"]) == 3
    assert data["combine"][1]["select"] != data["select"]  # a part's own selectors


COMBINED = """
service: Combo
documents:
  - type: Terms
    combine:
      - https://combo.example/terms
      - https://combo.example/annex
      - url: https://combo.example/rules
        select: article
  - type: Policy
    url: https://combo.example/policy
"""
COMBINED_URLS = [
    "https://combo.example/terms",
    "https://combo.example/annex",
    "https://combo.example/rules",
]


@pytest.fixture
def combined(tmp_path: Path) -> Path:
    path = tmp_path / "combo.yaml"
    path.write_text(COMBINED, encoding="utf-8")
    return path


def test_json_gives_every_page_url_of_a_combined_document(combined: Path) -> None:
    """`url` is the first page's, as it always was; `urls` is every page's, in order."""
    rows = {
        row["key"]: row for row in json_of(invoke("list", "--json", "--catalog", str(combined)))
    }
    assert rows["combo/terms"]["url"] == COMBINED_URLS[0]
    assert rows["combo/terms"]["urls"] == COMBINED_URLS
    assert [part["url"] for part in rows["combo/terms"]["combine"]] == COMBINED_URLS
    assert rows["combo/policy"]["urls"] == ["https://combo.example/policy"]
    shown = json_of(invoke("show", "combo/terms", "--json", "--catalog", str(combined)))
    assert shown == rows["combo/terms"]


@pytest.mark.parametrize("width", [80, 240])
def test_list_says_a_document_is_combined_and_of_how_many_pages(
    combined: Path, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A combined document was listed by its first URL alone, as if it were that one page."""
    monkeypatch.setattr(catalog_cli, "console", Console(width=width))
    monkeypatch.setenv("POLICYWATCH_BUNDLED_CATALOG", "false")
    result = invoke("list", "--catalog", str(combined))
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines()]
    at = next(n for n, line in enumerate(lines) if COMBINED_URLS[0] in line)
    assert "+ 2 more pages combined" in lines[at + 1]
    assert not any(url in result.stdout for url in COMBINED_URLS[1:])  # stays one line
    assert "combined: catalog show KEY" in result.stdout
    assert all(len(line) <= width for line in result.stdout.splitlines())


def test_show_lists_every_page_of_a_combined_document(combined: Path) -> None:
    result = invoke("show", "combo/terms", "--catalog", str(combined))
    assert result.exit_code == 0, result.output
    [urls] = [line for line in result.stdout.splitlines() if line.split()[:1] == ["urls"]]
    assert urls.split()[1:] == [COMBINED_URLS[0]]
    lines = result.stdout.splitlines()
    after = lines[lines.index(urls) + 1 : lines.index(urls) + 3]
    assert [line.strip() for line in after] == COMBINED_URLS[1:]
    assert "first of 3 pages combined" in result.stdout


def test_show_of_a_misspelt_service_suggests_its_documents() -> None:
    """No key is close to "whatsap" (keys are long), where `crawl --only whatsap` suggests the
    service: `catalog show` named nothing."""
    result = invoke("show", "whatsap")
    assert result.exit_code == 2
    assert "did you mean: whatsapp/business-messaging-policy," in result.stderr
    assert "whatsapp/terms-of-service" in result.stderr


def test_show_is_case_insensitive_and_renders_markup_literally() -> None:
    result = invoke("show", "WhatsApp/Business-Solution-Terms")
    assert result.exit_code == 0, result.output
    # "[href='#top-of-page']" would vanish if it were read as rich markup.
    assert "[href='#top-of-page']" in result.stdout
    assert "https://www.whatsapp.com/legal/business-solution-terms" in result.stdout


def test_show_a_user_document() -> None:
    data = json_of(invoke("show", "beta-ai/api-terms", "--json", "--catalog", str(GOOD)))
    assert data["url"] == "https://beta.example/api-terms" and data["format"] is None
    table = invoke("show", "beta-ai/api-terms", "--catalog", str(GOOD)).stdout
    assert "by the response's Content-Type" in table and "None" not in table
    missing = invoke("show", "beta-ai/api-terms")  # its file not named
    assert missing.exit_code == 2 and "needs --catalog PATH" in missing.stderr


def test_show_unknown_key_suggests_close_matches() -> None:
    result = invoke("show", "whatsap/business-solution-term")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "no document with key 'whatsap/business-solution-term'" in result.stderr
    assert "whatsapp/business-solution-terms" in result.stderr


def test_show_of_a_word_close_to_no_key_suggests_nothing() -> None:
    """ "nope" shares three letters with "openai": every OpenAI document was offered."""
    result = invoke("show", "nope")
    assert result.exit_code == 2 and result.stdout == ""
    assert "no document with key 'nope', nor a key or service close to it" in result.stderr
    assert "policywatch catalog list lists them" in result.stderr
    assert "did you mean" not in result.stderr and "openai/" not in result.stderr


def test_show_of_a_key_typed_wrong_suggests_that_key_alone() -> None:
    """Keys that share a few letters with it (`aws/responsible-ai-policy`) were offered too."""
    result = invoke("show", "openai/usage-polcies")
    assert result.exit_code == 2
    assert "; did you mean: openai/usage-policies (" in result.stderr
    by_part = invoke("show", "usage-polices")  # the document part alone, misspelt
    assert "openai/usage-policies" in by_part.stderr and "whatsapp/" not in by_part.stderr


def test_show_of_a_misspelt_service_lists_its_documents_alone() -> None:
    result = invoke("show", "telegarm/privacy")
    assert result.exit_code == 2
    listed = result.stderr.split("did you mean: ")[1].split(" (")[0].split(", ")
    assert "telegram/terms-of-service" in listed
    assert all(key.startswith("telegram/") for key in listed), listed


def test_show_a_service_name_lists_its_documents() -> None:
    result = invoke("show", "telegram")
    assert result.exit_code == 2
    assert "telegram/api-terms-of-service" in result.stderr
    assert "telegram/bot-platform-developer-terms" in result.stderr


# The installed entry point


def test_entry_point_validates_and_lists(home: Home) -> None:
    broken = home.catalog([{"type": "Terms", "url": "mailto:legal@example.com"}])
    result = home.run("catalog", "validate", str(broken))
    assert result.code == 2
    assert f"{broken} · document Terms · field url:" in result.stdout

    result = home.run("catalog", "list", "--json", "--catalog", str(GOOD))
    assert result.code == 0, result.stderr
    assert "beta-ai/api-terms" in {row["key"] for row in result.json()}


# Range selectors


RANGES = """\
service: Ranged
documents:
  - type: Imprint
    url: https://ranged.example/faq
    select: {start_before: "[name=who]", end_before: "[name=ads]"}
    remove: [".ad", {start_after: "#toc", end_after: "#toc-end"}]
  - type: Combined
    combine:
      - url: https://ranged.example/a
        select: [main, {start_after: h1, end_before: footer}]
      - https://ranged.example/b
    select: [article]
"""


def test_range_selectors_load_beside_css_ones(tmp_path: Path) -> None:
    path = tmp_path / "ranged.yaml"
    path.write_text(RANGES, encoding="utf-8")
    catalog = load_catalog([path], bundled=False)
    assert catalog.errors == []
    imprint = catalog.get("ranged/imprint")
    assert imprint is not None
    assert imprint.select == (RangeSelector(start_before="[name=who]", end_before="[name=ads]"),)
    assert imprint.remove == (".ad", RangeSelector(start_after="#toc", end_after="#toc-end"))
    combined = catalog.get("ranged/combined")
    assert combined is not None
    assert [page.select for page in combined.pages] == [
        ("main", RangeSelector(start_after="h1", end_before="footer")),
        ("article",),
    ]
    # Stored with the document as plain data, in the YAML's own terms.
    assert imprint.declaration()["remove"] == [
        ".ad",
        {"start_after": "#toc", "end_after": "#toc-end"},
    ]
    assert combined.declaration()["combine"][0]["select"] == [
        "main",
        {"start_after": "h1", "end_before": "footer"},
    ]


@pytest.mark.parametrize(
    ("selector", "field", "message"),
    [
        ({"start_before": "h1"}, "select.0.range", "exactly one of `end_before` and `end_after`"),
        (
            {"start_before": "h1", "start_after": "h2", "end_before": "h3"},
            "select.0.range",
            "exactly one of `start_before` and `start_after`",
        ),
        (
            {"start_before": "h1[", "end_before": "h2"},
            "select.0.range.start_before",
            "invalid CSS selector 'h1['",
        ),
        (
            {"startBefore": "h1", "end_before": "h2"},
            "select.0.range.startBefore",
            "unknown field; did you mean start_before?",
        ),
        (7, "select.0", "expected a CSS selector or a range"),
    ],
)
def test_bad_range_selectors_are_located(
    tmp_path: Path, selector: object, field: str, message: str
) -> None:
    path = tmp_path / "ranged.yaml"
    entry = {"type": "Imprint", "url": "https://ranged.example/", "select": [selector]}
    path.write_text(yaml.safe_dump({"service": "Ranged", "documents": [entry]}), encoding="utf-8")
    [error] = load_catalog([path], bundled=False).errors
    assert (error.document, error.field) == ("Imprint", field)
    assert message in error.message


def test_a_range_written_alone_is_located_without_a_list_index(tmp_path: Path) -> None:
    """`select:` takes one selector or a list: one written alone has no index to name."""
    path = tmp_path / "ranged.yaml"
    entry = {"type": "Imprint", "url": "https://ranged.example/", "select": {"start_before": "h1"}}
    path.write_text(yaml.safe_dump({"service": "Ranged", "documents": [entry]}), encoding="utf-8")
    [error] = load_catalog([path], bundled=False).errors
    assert (error.document, error.field) == ("Imprint", "select.range")


def test_show_json_gives_range_selectors_as_mappings(tmp_path: Path) -> None:
    path = tmp_path / "ranged.yaml"
    path.write_text(RANGES, encoding="utf-8")
    data = json_of(invoke("show", "ranged/imprint", "--json", "--catalog", str(path)))
    assert data["select"] == [{"start_before": "[name=who]", "end_before": "[name=ads]"}]
    table = invoke("show", "ranged/imprint", "--catalog", str(path))
    assert table.exit_code == 0, table.output
    assert '{"start_before": "[name=who]", "end_before": "[name=ads]"}' in table.stdout


# `catalog preview`: real crawls of the loopback site, into a store the user never sees.

PAGE = """<html><head><title>Terms</title></head><body><nav>Home · Developers</nav>
<main><h1>API Terms</h1><p>You may call the API.</p><div class="ad">Buy our plan now</div></main>
</body></html>"""
WALL = """<html><head><title>Just a moment...</title></head>
<body><div id="cf-wrapper">Checking your browser</div></body></html>"""


def preview(home: Home, catalog: Path, *args: str) -> RunResult:
    return home.run("catalog", "preview", *args, "--catalog", str(catalog), *FAST)


def test_preview_prints_the_extracted_text_and_creates_no_store(home: Home, site: Site) -> None:
    site.html("/terms", PAGE)
    catalog = home.catalog(
        [{"type": "Terms", "url": site.url("/terms"), "select": ["main"], "remove": [".ad"]}]
    )
    # The default store is in the user's data folder: none is set, and the folders are kept here.
    env = {key: value for key, value in home.env().items() if key != "POLICYWATCH_DB"}
    folders = {name: home.path / name for name in ("XDG_DATA_HOME", "XDG_STATE_HOME")}
    env |= {name: str(folder) for name, folder in folders.items()}
    args = ("catalog", "preview", "TestSite/Terms", "--catalog", str(catalog), *FAST)
    result = spawn(args, env, home.path)
    assert result.code == 0, result.stderr
    assert result.stdout == "# API Terms\n\nYou may call the API.\n"
    assert f"testsite/terms  {site.url('/terms')}" in result.stderr
    assert "7 words, 1 heading" in result.stderr
    assert len(site.hits("/terms")) == 1
    assert [path.name for path in home.path.iterdir()] == [catalog.name]


def test_preview_leaves_the_users_store_as_it_was(home: Home, site: Site) -> None:
    site.html("/terms", PAGE)
    catalog = home.catalog([{"type": "Terms", "url": site.url("/terms"), "select": ["main"]}])
    assert home.crawl(catalog).code == 0
    store = home.path / "store.sqlite3"
    before = store.read_bytes()
    site.html("/terms", PAGE.replace("call the API", "call the API twice a day"))
    result = preview(home, catalog, "testsite")
    assert result.code == 0, result.stderr
    assert "twice a day" in result.stdout
    assert store.read_bytes() == before
    assert "twice a day" not in home.run("text", "testsite/terms").stdout


def test_preview_shows_what_select_and_remove_left_out_of_the_page(home: Home, site: Site) -> None:
    """Tuning `select` and `remove` showed only the text kept: what they dropped (a menu, as
    meant; a clause, by mistake) had to be found by reading the page's HTML beside it."""
    site.html("/terms", PAGE)
    site.html("/more", "<html><body><header>Menu</header><article><p>More terms.</p></article>")
    catalog = home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms"), "select": ["main"], "remove": [".ad"]},
            {"type": "Whole", "url": site.url("/terms")},
            {
                "type": "Both",
                "select": ["main"],
                "combine": [site.url("/terms"), {"url": site.url("/more"), "select": ["article"]}],
            },
        ]
    )
    result = preview(home, catalog, "testsite/terms", "testsite/whole", "testsite/both")
    assert result.code == 0, result.stderr
    said = result.stderr.split(f"testsite/whole  {site.url('/terms')}")
    assert "left out by select and remove: 6 words of the page's 13" in said[0]
    assert "  - Home · Developers\n  - Buy our plan now\n" in said[0]
    whole, both = said[1].split("testsite/both")
    assert "left out" not in whole  # nothing selected, nothing left out
    assert "no `select`: the page's whole <body> is kept, its menus and footer too" in whole
    assert "no `select`" not in said[0] + both
    assert "of the pages' 16\n  - Home · Developers\n  - Menu\n" in both  # page by page

    listed = preview(home, catalog, "testsite/terms", "testsite/whole", "--json").json()
    assert [item["left_out"] for item in listed] == [["Home · Developers", "Buy our plan now"], []]


def test_preview_names_a_selection_that_matched_nothing(home: Home, site: Site) -> None:
    site.html("/terms", PAGE)
    catalog = home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms"), "select": ["main"]},
            {"type": "Rules", "url": site.url("/terms"), "select": ["#rules", "article"]},
        ]
    )
    result = preview(home, catalog, "testsite")
    assert result.code == 1, result.stderr  # one text, one failure
    assert "You may call the API." in result.stdout
    assert "selector-matched-nothing: no element matches '#rules', 'article'" in result.stderr
    assert "`render: browser`" in result.stderr  # the hint for a script-built page


def test_preview_reports_a_bot_wall_and_an_error_page_not_as_text(home: Home, site: Site) -> None:
    site.html("/wall", WALL)
    catalog = home.catalog(
        [
            {"type": "Walled", "url": site.url("/wall")},
            {"type": "Gone", "url": site.url("/gone")},
        ]
    )
    result = preview(home, catalog, "testsite")
    assert result.code == 3, result.stderr  # as `crawl`: every fetch failed
    assert result.stdout == ""
    assert "bot-wall: " in result.stderr
    assert "Cloudflare" in result.stderr
    assert "not-found: HTTP 404" in result.stderr
    # a new declaration's 404 is most often its URL mistyped: said what to check
    assert "hint: check the `url` for a typo, or find where the page moved" in result.stderr


def test_preview_json_gives_each_documents_text_or_issue(home: Home, site: Site) -> None:
    site.html("/terms", PAGE)
    catalog = home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms"), "select": ["main"], "remove": [".ad"]},
            {"type": "Rules", "url": site.url("/terms"), "select": ["#rules"]},
        ]
    )
    result = preview(home, catalog, "testsite/terms", "testsite/rules", "--json")
    assert result.code == 1, result.stderr
    good, bad = result.json()
    assert good == {
        "key": "testsite/terms",
        "url": site.url("/terms"),
        "ok": True,
        "text": "# API Terms\n\nYou may call the API.\n",
        "issue": None,
        "words": 7,
        "headings": 1,
        "status": 200,
        "bytes": len(PAGE.encode()),
        "elapsed_ms": good["elapsed_ms"],
        "left_out": ["Home · Developers", "Buy our plan now"],
    }
    assert isinstance(good["elapsed_ms"], int)
    assert (bad["ok"], bad["text"], bad["words"]) == (False, None, None)
    assert bad["issue"]["kind"] == "selector-matched-nothing"
    assert bad["issue"]["detail"] == "no element matches '#rules'"
    assert "render: browser" in bad["issue"]["hint"]


def test_a_fetchs_time_is_the_pages_own_not_its_wait_for_robots_txt(home: Home, site: Site) -> None:
    """A fetch's time (the preview's "fetched in", `Fetch.elapsed_ms`) was counted from when the
    crawl queued the page: its wait for the host's robots.txt, and for its turn on the host,
    counted in, and a loopback page read "fetched in 7.8 s"."""
    site.html("/terms", PAGE)
    site.pages["/robots.txt"] = Page(
        b"User-agent: *\nAllow: /\n", content_type="text/plain", delay=3.0
    )
    catalog = home.catalog([{"type": "Terms", "url": site.url("/terms"), "select": ["main"]}])
    result = preview(home, catalog, "testsite/terms", "--json")
    assert result.code == 0, result.stdout
    [fetched] = result.json()
    assert 0 <= fetched["elapsed_ms"] < 3000  # the page alone, not robots.txt's 3 s before it


def test_preview_takes_a_catalog_tag(home: Home, site: Site) -> None:
    """A tag names its documents, as in `crawl --only`: here the one tagged, not its neighbour."""
    site.html("/terms", PAGE)
    catalog = home.catalog(
        [
            {"type": "Terms", "url": site.url("/terms"), "select": ["main"], "tags": ["Watched"]},
            {"type": "Rules", "url": site.url("/terms"), "select": ["#rules"]},
        ]
    )
    result = preview(home, catalog, "watched", "--json")
    assert result.code == 0, result.stderr
    assert [row["key"] for row in result.json()] == ["testsite/terms"]


def test_preview_of_an_unknown_key_names_the_closest(home: Home, site: Site) -> None:
    catalog = home.catalog([{"type": "Terms", "url": site.url("/terms")}])
    result = preview(home, catalog, "testsite/term")
    assert result.code == 2
    assert "testsite/term (did you mean testsite/terms?): no document has that key" in result.stderr
    assert "--catalog PATH" not in result.stderr  # given
    assert site.log == []
    # A key of the user's own catalog, named without it, says where it is to be found, as
    # `catalog show` does: "no document has that key" of a file just written read as a typo.
    without = home.run("catalog", "preview", "testsite/terms")
    assert without.code == 2 and len(without.stderr.splitlines()) == 1, without
    assert without.stderr.startswith(
        "error: testsite/terms: no document has that key, service or tag"
    )
    assert "your own catalog files needs --catalog PATH" in without.stderr


def test_the_settings_pace_bundled_and_own_documents_without_copying_their_declarations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user who wants the business terms their bot lives under checked hourly had to copy the
    declaration into a catalog of their own, which the crawl then skipped as a duplicate key."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'catalog = ["{GOOD}"]\ninterval = "12h"\n[intervals]\n'
        '"whatsapp/business-solution-terms" = "1h"\nacme-chat = "30m"\nWhatsApp = "2h"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    paced = {
        row["key"]: (row["interval"], row["interval_from"])
        for row in json_of(invoke("list", "--json"))
    }
    assert paced["whatsapp/business-solution-terms"] == (
        "1h",
        "intervals whatsapp/business-solution-terms",
    )
    assert paced["whatsapp/terms-of-service"] == ("2h", "intervals WhatsApp")
    assert paced["acme-chat/bot-developer-terms"] == ("30m", "intervals acme-chat")  # over its 6h
    assert paced["telegram/terms-of-service"] == ("12h", "interval")

    config.write_text(f'catalog = ["{GOOD}"]\n', encoding="utf-8")
    paced = {
        row["key"]: (row["interval"], row["interval_from"])
        for row in json_of(invoke("list", "--json"))
    }
    assert paced["acme-chat/bot-developer-terms"] == ("6h", "declaration")
    assert paced["whatsapp/terms-of-service"] == ("24h", "default")


def test_a_name_in_the_intervals_setting_that_names_nothing_is_an_error_with_its_near_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo left a document at its old pace without a word."""
    config = tmp_path / "config.toml"
    config.write_text('[intervals]\nwhatsap = "1h"\nopenai = "6h"\n', encoding="utf-8")
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    result = invoke("validate")
    assert result.exit_code == 2
    assert (
        f"{config} · field intervals.whatsap: names no document key, service or tag of the catalog"
        " (did you mean whatsapp?); it paces nothing"
    ) in " ".join(result.stdout.split())
    assert "intervals.openai" not in result.stdout

    listed = invoke("list", "--json")  # a listing (or a crawl) goes on, and says it
    assert listed.exit_code == 0
    assert "field intervals.whatsap" in listed.stderr


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("POLICYWATCH_INTERVAL", "0h", "interval: interval '0h' must be longer than zero"),
        ("POLICYWATCH_INTERVALS", '{"openai": "2w"}', "intervals.openai: interval '2w' is not"),
    ],
)
def test_a_bad_interval_setting_is_refused_with_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = invoke("list")
    assert result.exit_code == 2
    assert said in result.stderr and f"(in {variable})" in result.stderr


def test_a_declaration_of_yours_replaces_the_bundled_one_only_when_it_says_so(
    tmp_path: Path,
) -> None:
    """A site's redesign broke a bundled selector: the fix could not wait for a release, yet a
    declaration of the same key was skipped as a duplicate, whatever it said."""
    path = tmp_path / "whatsapp.yaml"
    path.write_text(
        "service: WhatsApp\ndocuments:\n"
        "  - type: Business Solution Terms\n    url: https://www.whatsapp.com/legal/bst\n"
        "    select: main\n    replaces_bundled: true\n"
        "  - type: Terms of Service\n    url: https://www.whatsapp.com/legal/terms\n"
        "  - type: Buisness Solution Terms\n    url: https://www.whatsapp.com/legal/x\n"
        "    replaces_bundled: true\n",
        encoding="utf-8",
    )
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    said = " ".join(result.stdout.split())
    assert (
        "whatsapp/business-solution-terms: yours replaces the bundled declaration"
        f" ({BUNDLED_CATALOG / 'whatsapp.yaml'})"
    ) in said
    assert (
        f"· document Terms of Service · field type: duplicate key whatsapp/terms-of-service (first"
        f" declared in {BUNDLED_CATALOG / 'whatsapp.yaml'}); add `replaces_bundled: true` to track"
        " yours instead of the bundled one"
    ) in said
    assert (
        "· document Buisness Solution Terms · field replaces_bundled: the bundled catalog has no"
        " document whatsapp/buisness-solution-terms to replace (did you mean"
        " whatsapp/business-solution-terms?)"
    ) in said
    assert "1 document in 1 file is valid" in said

    shown = json_of(
        invoke("show", "whatsapp/business-solution-terms", "--catalog", str(path), "--json")
    )
    assert (shown["url"], shown["select"], shown["source"]) == (
        "https://www.whatsapp.com/legal/bst",
        ["main"],
        str(path),
    )
    keys = [row["key"] for row in json_of(invoke("list", "--catalog", str(path), "--json"))]
    assert keys.count("whatsapp/business-solution-terms") == 1
    assert len(keys) == len(load_catalog().documents)  # replaced in place, the typo skipped


def test_a_crawl_fetches_the_declaration_that_replaces_a_bundled_one(
    home: Home, site: Site
) -> None:
    site.html(
        "/bst", "<html><body><main><h1>Terms</h1><p>Bots may use the API.</p></main></body></html>"
    )
    mine = home.path / "whatsapp.yaml"
    mine.write_text(
        "service: WhatsApp\ndocuments:\n  - type: Business Solution Terms\n"
        f"    url: {site.url('/bst')}\n    select: main\n    replaces_bundled: true\n",
        encoding="utf-8",
    )
    key = "whatsapp/business-solution-terms"
    result = home.run("crawl", "--catalog", str(mine), "--only", key, "--json", *FAST)
    assert result.code == 0, result.stderr
    assert [(row["key"], row["outcome"]) for row in result.json()] == [(key, "first")]
    assert len(site.hits("/bst")) == 1
    text = home.run("text", key)
    assert "Bots may use the API." in text.stdout


@pytest.mark.parametrize(
    ("lines", "line"),
    [
        (["    select: #content"], 5),  # YAML reads no value: a null select
        (["    select:", "      - #content"], 6),  # a null entry
        (["    select: [#content]"], 5),  # a flow list never closed: a parse error below
        (["    select: [main, #content]"], 5),
    ],
)
def test_an_unquoted_id_selector_is_said_to_be_a_yaml_comment(
    tmp_path: Path, lines: list[str], line: int
) -> None:
    """`#` starts a YAML comment, so `select: #content` declared no selector at all: the error
    said "Input should be a valid list" (or, in a `[…]` list, "did not find expected ',' or ']'"
    a line below), and a combined page's `select: #content` silently took the document's."""
    path = tmp_path / "acme.yaml"
    head = ["service: Acme", "documents:", "  - type: Terms", "    url: https://acme.example/"]
    path.write_text("\n".join([*head, *lines, "    remove: nav", ""]), encoding="utf-8")
    catalog = load_catalog([path], bundled=False)
    assert catalog.documents == []
    [error] = catalog.errors
    assert error.message.startswith("invalid YAML at line ")
    assert error.message.endswith(
        f"(line {line}: an unquoted # starts a YAML comment; quote a selector that starts with"
        ' one, "#content")'
    )


def test_a_comment_after_a_value_is_no_selector_mistake(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        "service: Acme  # comment\ndocuments:\n  - type: Terms\n    url: https://acme.example/\n"
        "    # select: #old-id, before the redesign\n"
        "    select: main  # was #content\n    remove: ['nav, #ad']\n"
        "    language:  # none given: English\n",
        encoding="utf-8",
    )
    catalog = load_catalog([path], bundled=False)
    assert catalog.errors == []
    assert catalog.documents[0].pages[0].select == ("main",)
    assert catalog.documents[0].pages[0].remove == ("nav, #ad",)
    path.write_text(path.read_text().replace("    remove", "   remove"))  # an error below
    [error] = load_catalog([path], bundled=False).errors
    assert "#old-id" not in error.message and "check the indentation of line 7" in error.message


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("www.acme.example/terms", "; write https://www.acme.example/terms"),
        ("acme.example:8443/legal/terms", "; write https://acme.example:8443/legal/terms"),
        ("//acme.example/terms", "; write https://acme.example/terms"),
        ("htp://acme.example/terms", "; write http://acme.example/terms"),  # a scheme mistyped
        ("htps://acme.example/terms?a=1", "; write https://acme.example/terms?a=1"),
        ("ftp://acme.example/terms", ""),
        ("mailto:legal@acme.example", ""),
    ],
)
def test_a_url_without_its_scheme_is_said_how_to_write(tmp_path: Path, url: str, said: str) -> None:
    """A URL copied from the address bar without `https://` was "not an http(s) URL", no more:
    the user was left to guess what one looks like."""
    path = tmp_path / "acme.yaml"
    path.write_text(f"service: Acme\ndocuments:\n  - type: Terms\n    url: '{url}'\n")
    [error] = load_catalog([path], bundled=False).errors
    assert (error.field, error.message) == ("url", f"{url!r} is not an http(s) URL{said}")


INDENTATION = (
    "(check the indentation of line {}: the keys of one mapping start in one column (a"
    " document's under its `type:`), and so do the `- ` of a list's entries)"
)


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        (["  - type: Terms", "      url: https://acme.example/"], INDENTATION.format(4)),
        (["  - type: Terms", "  url: https://acme.example/"], INDENTATION.format(4)),
        (
            ["  - type: Terms", "    url: https://acme.example/", " - type: Privacy"],
            INDENTATION.format(5),
        ),
        (
            ["  - type: Terms: EU", "    url: https://acme.example/"],
            '(a value that holds ": " is quoted: type: "Terms: EU")',
        ),
    ],
)
def test_a_misaligned_line_is_said_to_be_one(tmp_path: Path, lines: list[str], said: str) -> None:
    """libyaml said "did not find expected '-' indicator", "mapping values are not allowed in
    this context": a parser's words, not what to correct."""
    path = tmp_path / "acme.yaml"
    path.write_text("\n".join(["service: Acme", "documents:", *lines, ""]), encoding="utf-8")
    [error] = load_catalog([path], bundled=False).errors
    assert error.message.startswith("invalid YAML at line ") and error.message.endswith(said)


@pytest.mark.parametrize(
    ("yaml_text", "where", "said"),
    [
        (  # the `- ` forgotten: one document written as a mapping
            "service: Acme\ndocuments:\n  type: Terms\n  url: https://acme.example/\n",
            (None, "documents"),
            "expected a list, not a mapping: start each of its entries with `- `",
        ),
        ("service: Acme\ndocuments:\n", (None, "documents"), "expected a list, and none is given"),
        (
            "service: Acme\ntags: messaging\ndocuments:\n  - type: T\n    url: https://a.example/\n",
            (None, "tags"),
            "expected a list: tags: [messaging]",
        ),
        (
            "service: Acme\ndocuments:\n  - type: T\n    url: https://a.example/\n"
            "    interval: 6\n",
            ("T", "interval"),
            "interval '6' is not a number followed by m, h or d (e.g. 6h)",
        ),
    ],
)
def test_a_value_of_the_wrong_shape_is_said_how_to_write(
    tmp_path: Path, yaml_text: str, where: tuple[str | None, str], said: str
) -> None:
    """Pydantic's "Input should be a valid list" (or "string", of `interval: 6`) named the type,
    not the YAML to write."""
    path = tmp_path / "acme.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    [error] = load_catalog([path], bundled=False).errors
    assert ((error.document, error.field), error.message) == (where, said)


def test_a_name_without_latin_letters_is_said_to_need_them(tmp_path: Path) -> None:
    """ "needs at least one letter or digit", of 微信, which is all letters: keys take a-z, 0-9."""
    path = tmp_path / "wechat.yaml"
    path.write_text(
        "service: 微信\ndocuments:\n  - type: Terms\n    url: https://weixin.example/\n",
        encoding="utf-8",
    )
    [error] = load_catalog([path], bundled=False).errors
    assert (error.field, error.message) == (
        "service",
        "needs a letter a-z or a digit to make a key (service-slug/type-slug): write the name in"
        " Latin letters",
    )
