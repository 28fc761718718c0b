"""A document whose key changes keeps its history and its addresses: the catalog's `formerly`,
store/renames.py, migration 0018, and the commands and web addresses naming an old key."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import inspect
from sqlmodel import Session, select

from crawlers.declarations import load_catalog
from crawlers.pacing import Pacing
from policywatch.web import create_app
from store.db import alembic_config, open_store
from store.labels import Names, relabel_documents
from store.models import Delivery, Document, Subscription
from store.renames import current_key, rename_documents, renamed_service
from store.repository import DocumentInfo
from store.subscriptions import NewSubscription, add_subscription
from tests.alerting import History
from tests.conftest import FAST, Home
from tests.site import Site

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette suggests httpx2; httpx is what it still runs on
    from fastapi.testclient import TestClient

OLD, NEW = "testsite/terms", "testsite/terms-of-service"
PAGE = "<html><body><main>{}</main></body></html>"
T0 = datetime(2026, 1, 5, tzinfo=UTC)


def declare(path: Path, service: str, *documents: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"service": service, "documents": list(documents)}))
    return path


def entry(document_type: str, **fields: Any) -> dict[str, Any]:
    return {"type": document_type, "url": "https://example.invalid/terms", **fields}


# The catalog


def test_formerly_takes_one_key_or_a_list_in_any_case(tmp_path: Path) -> None:
    one = declare(tmp_path / "x.yaml", "X", entry("Terms", formerly="Twitter/Terms"))
    several = entry("Developer Agreement", formerly=["twitter/dev-agreement", "twitter/dev"])
    declare(tmp_path / "x2.yaml", "X", several)

    catalog = load_catalog([one, tmp_path / "x2.yaml"], bundled=False)

    assert catalog.errors == []
    assert catalog.formerly() == {
        "twitter/terms": "x/terms",
        "twitter/dev-agreement": "x/developer-agreement",
        "twitter/dev": "x/developer-agreement",
    }


@pytest.mark.parametrize(
    ("formerly", "field", "said"),
    [
        (
            "Twitter/Developer Agreement",
            "formerly",
            "'Twitter/Developer Agreement' is not a document key (service-slug/type-slug);"
            " write twitter/developer-agreement",
        ),
        ("twitter", "formerly", "'twitter' is not a document key (service-slug/type-slug)"),
        (
            ["twitter/terms", "twitter"],
            "formerly.1",
            "'twitter' is not a document key (service-slug/type-slug)",
        ),
    ],
)
def test_formerly_that_is_no_key_is_refused_with_the_key_meant(
    tmp_path: Path, formerly: str | list[str], field: str, said: str
) -> None:
    """The field is named as written: one key is `formerly`, where it read `formerly.0`, the
    index of a list the user never wrote; the second key of a list is `formerly.1`."""
    path = declare(tmp_path / "x.yaml", "X", entry("Terms", formerly=formerly))

    catalog = load_catalog([path], bundled=False)

    assert [str(error) for error in catalog.errors] == [
        f"{path} · document Terms · field {field}: {said}"
    ]
    assert catalog.documents == []


def test_formerly_naming_a_declared_key_or_claimed_twice_skips_the_entry(tmp_path: Path) -> None:
    """Taking the history of a document still tracked, or one whose owner is a guess, would
    mix two histories: such an entry is broken, said, and skipped."""
    path = declare(
        tmp_path / "x.yaml",
        "X",
        entry("Terms"),
        entry("Rules", formerly="x/terms"),  # declared, in this file
        entry("Policy", formerly="x/policy"),  # its own key
        entry("Developer Agreement", formerly="twitter/dev"),
        entry("Developer Policy", formerly="twitter/dev"),
    )
    later = declare(tmp_path / "y.yaml", "Y", entry("Terms", formerly="x/later"))
    declare(tmp_path / "z.yaml", "X", entry("Later"))  # declared in a later file

    catalog = load_catalog([path, later, tmp_path / "z.yaml"], bundled=False)

    assert {str(error) for error in catalog.errors} == {
        f"{path} · document Rules · field formerly: x/terms is the key of a document declared"
        f" in {path}",
        f"{path} · document Policy · field formerly: x/policy is this document's own key",
        f"{path} · document Developer Agreement · field formerly: twitter/dev is claimed by"
        " x/developer-policy too: one document had that key",
        f"{path} · document Developer Policy · field formerly: twitter/dev is claimed by"
        " x/developer-agreement too: one document had that key",
        f"{later} · document Terms · field formerly: x/later is the key of a document declared"
        f" in {tmp_path / 'z.yaml'}",
    }
    assert [document.key for document in catalog.documents] == ["x/terms", "x/later"]


def test_an_intervals_name_of_an_old_key_paces_the_document_and_asks_to_be_renamed(
    home: Home,
) -> None:
    (home.path / "config.toml").write_text(f'[intervals]\n"{OLD}" = "6h"\n')
    catalog = declare(home.path / "t.yaml", "TestSite", entry("Terms of Service", formerly=OLD))

    listed = home.run("catalog", "list", "--catalog", str(catalog), "--json")

    assert listed.code == 0, listed
    [document] = [row for row in listed.json() if row["key"] == NEW]
    assert (document["interval"], document["interval_from"]) == ("6h", f"intervals {OLD}")
    assert document["formerly"] == [OLD]
    shown = home.run("catalog", "show", OLD, "--catalog", str(catalog), "--json")
    assert (shown.code, shown.json()["key"]) == (0, NEW), shown
    assert f"note: {OLD} is now {NEW} (renamed)" in shown.stderr
    assert " ".join(listed.stderr.split()) == (
        f"warning: {home.path / 'config.toml'} · field intervals.{OLD}: is an old name of {NEW}"
        f" (renamed), and paces it: rename it {NEW}"
    )


def test_an_intervals_name_of_a_key_spelled_before_0017_paces_the_document(
    tmp_path: Path,
) -> None:
    """Migration 0017 respelled `soci-t-g-n-rale/…` keys; a setting naming one kept pacing
    nothing, where the store still answers to the old key."""
    path = declare(tmp_path / "sg.yaml", "Société Générale", entry("Conditions générales"))

    catalog = load_catalog([path], bundled=False, pacing=Pacing(named={"soci-t-g-n-rale": "6h"}))

    [document] = catalog.documents
    assert (document.interval, document.paced_by) == ("6h", "intervals soci-t-g-n-rale")
    assert catalog.former_names() == {
        "soci-t-g-n-rale/conditions-g-n-rales": "societe-generale/conditions-generales",
        "soci-t-g-n-rale": "societe-generale",
    }


# A crawl across a rename, on SQLite and PostgreSQL


def test_a_renamed_document_keeps_its_history_filters_and_old_key(
    db_url: str, tmp_path: Path, site: Site
) -> None:
    home = Home(tmp_path, db_url)
    site.html("/terms", PAGE.format("<p>One.</p>"))
    url = site.url("/terms")
    catalog = home.catalog([{"type": "Terms", "url": url, "select": "main"}])
    assert home.crawl(catalog).code == 0
    subscribed = home.run("subscribe", "json://127.0.0.1:9/x", "--document", OLD, "--no-remind")
    assert subscribed.code == 0, subscribed

    home.catalog([{"type": "Terms of Service", "url": url, "select": "main", "formerly": OLD}])
    site.html("/terms", PAGE.format("<p>One.</p><p>Two.</p>"))
    crawled = home.crawl(catalog, "--no-notify")

    assert crawled.code == 0, crawled
    assert f"note: renamed {OLD} to {NEW}, as its declaration says (formerly)" in crawled.stderr
    [document] = home.run("documents", "--json").json()
    assert (document["key"], document["versions"]) == (NEW, 2)
    [change] = home.run("history", "--json").json()
    assert (change["key"], change["from_version"], change["to_version"]) == (NEW, 1, 2)
    [subscription] = home.run("subscriptions", "list", "--json").json()
    assert subscription["documents"] == [NEW]

    text = home.run("text", OLD)
    assert (text.code, text.stdout) == (0, "One.\n\nTwo.\n"), text
    assert text.stderr.startswith(f"note: {OLD} is now {NEW} (renamed)\n")
    [by_old_key] = home.run("history", "--document", OLD.upper(), "--json").json()
    assert by_old_key["id"] == change["id"]
    compared = home.run("compare", OLD, "1")
    assert compared.code == 0 and f"note: {OLD} is now {NEW}" in compared.stderr, compared

    again = home.run("subscribe", "json://127.0.0.1:9/y", "--document", OLD, "--name", "again")
    assert f"note: {OLD} is now {NEW} (renamed)" in again.stderr, again
    listed = home.run("subscriptions", "list", "--json").json()
    assert {row["name"]: row["documents"] for row in listed}["again"] == [NEW]

    only = home.run("crawl", "--catalog", str(catalog), "--only", OLD, "--json", *FAST)
    assert only.code == 0, only
    assert [row["key"] for row in only.json()] == [NEW]
    assert f"note: {OLD} is now {NEW} (renamed)" in only.stderr
    assert "renamed" not in home.crawl(catalog, "--no-notify").stderr  # done once

    home.catalog([{"type": "Terms of Service", "url": url, "select": "main"}])  # formerly gone
    remembered = home.run("crawl", "--catalog", str(catalog), "--only", OLD, "--json", *FAST)
    assert remembered.code == 0, remembered  # the store's memory of the rename answers
    assert [row["key"] for row in remembered.json()] == [NEW]


def test_a_rename_whose_new_key_is_stored_already_is_said_and_not_merged(
    home: Home, site: Site
) -> None:
    """Crawled once under each key (the type renamed, `formerly` written only after): merging
    two histories is no guess to make silently."""
    site.html("/terms", PAGE.format("<p>One.</p>"))
    url = site.url("/terms")
    catalog = home.catalog([{"type": "Terms", "url": url}])
    assert home.crawl(catalog).code == 0
    home.catalog([{"type": "Terms of Service", "url": url}])
    assert home.crawl(catalog).code == 0
    home.catalog([{"type": "Terms of Service", "url": url, "formerly": OLD}])

    crawled = home.crawl(catalog)

    assert crawled.code == 0, crawled
    assert " ".join(crawled.stderr.split()) == (
        f"warning: not renamed {OLD} to {NEW}, as its declaration says (formerly): the store"
        f" has a document under each key already ({NEW} was crawled before `formerly` was"
        f" written), and two histories are not merged; {OLD} keeps its own. Remove the"
        " `formerly` to keep both apart."
    )
    assert [row["key"] for row in home.run("documents", "--json").json()] == [OLD, NEW]


def test_a_rename_takes_service_filters_and_queued_alerts_along(db_url: str) -> None:
    twitter = DocumentInfo("twitter/terms", "Twitter", "Terms", "https://example.invalid/t")
    other = DocumentInfo("twitter/rules", "Twitter", "Rules", "https://example.invalid/r")
    history = History(db_url, documents=(twitter, other))
    engine = history.engine
    add_subscription(engine, NewSubscription("all", "json://x", services=["Twitter"]), T0)
    add_subscription(engine, NewSubscription("one", "json://y", documents=["twitter/terms"]), T0)
    with Session(engine) as session, session.begin():
        document_id = session.exec(select(Document.id).where(Document.key == twitter.key)).one()
        event = {"key": twitter.key, "issue": "not-found", "detail": "HTTP 404", "streak": 3}
        session.add(
            Delivery(
                subscription_id=1,
                topic=f"fetch-issue:{document_id}:{T0.isoformat()}",
                document_id=document_id,
                event=event,
                status="failed",
                created_at=T0,
                next_attempt_at=T0,
            )
        )

    first = rename_documents(engine, {"x/terms": ["twitter/terms"]})
    filters = _filters(engine)
    second = rename_documents(engine, {"x/terms": ["twitter/terms"], "x/rules": ["twitter/rules"]})

    assert (first.renamed, first.clashes) == ([("twitter/terms", "x/terms")], [])
    # `twitter/rules` is still stored: its service's old slug stays beside the new one.
    assert filters == {"all": (["x", "Twitter"], []), "one": ([], ["x/terms"])}
    assert second.renamed == [("twitter/rules", "x/rules")]
    assert _filters(engine)["all"] == (["x"], [])  # its last document renamed: the slug goes
    with Session(engine) as session:
        assert session.exec(select(Delivery.event)).one()["key"] == "x/terms"
    assert current_key(engine, "Twitter/Terms") == "x/terms"
    assert current_key(engine, "x/terms") is None  # a key of its own, no old one
    assert rename_documents(engine, {"twitter/terms": ["x/terms"]}).renamed  # and back
    assert current_key(engine, "twitter/terms") is None
    assert current_key(engine, "x/terms") == "twitter/terms"


def _filters(engine: Any) -> dict[str, tuple[list[str], list[str]]]:
    with Session(engine) as session:
        rows = session.exec(select(Subscription)).all()
        return {row.name: (row.services, row.documents) for row in rows}


def test_a_rename_gives_the_stored_document_its_declared_names_at_once(
    home: Home, site: Site
) -> None:
    """Renamed by a crawl that does not fetch it (not due): `documents` shows the service,
    type and tags its declaration says, not OldSite's until its next fetch."""
    site.html("/terms", PAGE.format("<p>One.</p>"))
    url = site.url("/terms")
    catalog = declare(home.path / "testsite.yaml", "OldSite", {"type": "Terms", "url": url})
    assert home.run("crawl", "--catalog", str(catalog), "--only", "oldsite", *FAST).code == 0
    renamed = {"type": "Terms of Service", "url": url, "formerly": "oldsite/terms"}
    declare(catalog, "TestSite", {**renamed, "tags": ["legal"]})

    only = ["--only", "testsite", "--json"]
    crawled = home.run("crawl", "--catalog", str(catalog), *only, *FAST)

    assert crawled.code == 0, crawled
    assert [row["outcome"] for row in crawled.json()] == ["not-due"]
    [document] = home.run("documents", "--json").json()
    assert (document["key"], document["service"], document["document_type"]) == (
        NEW,
        "TestSite",
        "Terms of Service",
    )


# The web addresses


def test_addresses_under_an_old_key_are_sent_on_to_the_new_one(tmp_path: Path) -> None:
    old = DocumentInfo(OLD, "TestSite", "Terms", "https://example.invalid/t")
    history = History(f"sqlite:///{tmp_path / 'web.sqlite3'}", documents=(old,))
    history.change(old)
    rename_documents(history.engine, {NEW: [OLD]})
    client = TestClient(create_app(history.engine))

    for asked, sent_to in [
        (f"/documents/{OLD}", f"/documents/{NEW}"),
        (f"/documents/{OLD}?page=2", f"/documents/{NEW}?page=2"),
        (f"/documents/{OLD}/versions/1", f"/documents/{NEW}/versions/1"),
        (f"/documents/{OLD}/compare?from=1", f"/documents/{NEW}/compare?from=1"),
        (f"/api/documents/{OLD}", f"/api/documents/{NEW}"),
        (f"/feeds/document/{OLD}.atom", f"/feeds/document/{NEW}.atom"),
    ]:
        response = client.get(asked, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (308, sent_to), asked

    assert client.get(f"/documents/{OLD}").url.path == f"/documents/{NEW}"
    assert client.get(f"/documents/{NEW}").status_code == 200
    assert client.get("/documents/testsite/nothing", follow_redirects=False).status_code == 404


def test_a_filter_by_an_old_service_name_or_key_is_sent_on_to_the_new_one(tmp_path: Path) -> None:
    """OldSite renamed to TestSite: a bookmarked `?service=OldSite`, a feed of its service and
    an API poller's `?document=` follow it, as an address under an old key does."""
    old = DocumentInfo("oldsite/terms", "OldSite", "Terms", "https://example.invalid/t")
    history = History(f"sqlite:///{tmp_path / 'web.sqlite3'}", documents=(old,))
    history.change(old)
    rename_documents(history.engine, {"testsite/terms": ["oldsite/terms"]})
    relabel_documents(history.engine, {"testsite/terms": Names("TestSite", "Terms", [])})
    client = TestClient(create_app(history.engine))

    for asked, sent_to in [
        ("/?service=OldSite", "/?service=testsite"),
        ("/?all=1&service=oldsite&page=2", "/?all=1&service=testsite&page=2"),
        ("/api/changes?service=OLDSITE", "/api/changes?service=testsite"),
        ("/feeds/all.atom?service=oldsite", "/feeds/all.atom?service=testsite"),
        ("/feeds/service/OldSite.atom", "/feeds/service/testsite.atom"),
        ("/?document=oldsite/terms", "/?document=testsite/terms"),
    ]:
        response = client.get(asked, follow_redirects=False)
        assert (response.status_code, response.headers.get("location")) == (308, sent_to), asked

    assert len(client.get("/api/changes?service=oldsite").json()) == 1
    assert client.get("/?service=testsite", follow_redirects=False).status_code == 200
    assert client.get("/?service=nosuch", follow_redirects=False).status_code == 404


# Migration 0018


def test_the_keys_0017_respelled_are_remembered_and_0018_goes_back(db_url: str) -> None:
    from alembic import command

    accented = DocumentInfo(
        "soci-t-g-n-rale/conditions-g-n-rales", "Société Générale", "Conditions générales", "u"
    )
    plain = DocumentInfo("whatsapp/terms", "WhatsApp", "Terms", "https://example.invalid/w")
    history = History(db_url, documents=(accented, plain))
    config = alembic_config()
    with history.engine.begin() as connection:  # as a release before 0017 left it
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")

    engine = open_store(db_url)

    assert current_key(engine, accented.key) == "societe-generale/conditions-generales"
    assert current_key(engine, plain.key) is None
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")
        assert "document_alias" not in inspect(connection).get_table_names()
    engine = open_store(db_url)
    assert current_key(engine, accented.key) == "societe-generale/conditions-generales"


def test_an_old_service_name_names_the_service_it_became(
    db_url: str, tmp_path: Path, site: Site
) -> None:
    """Every document of OldSite renamed to TestSite's: `oldsite` names TestSite, with the note
    an old key gets, by the catalog's `formerly` and, once that is dropped, by the store's
    memory of the renames."""
    home = Home(tmp_path, db_url)
    site.html("/terms", PAGE.format("<p>One.</p>"))
    url = site.url("/terms")
    old = declare(home.path / "testsite.yaml", "OldSite", {"type": "Terms", "url": url})
    assert home.run("crawl", "--catalog", str(old), "--only", "OldSite", *FAST).code == 0
    home.catalog([{"type": "Terms", "url": url, "formerly": "oldsite/terms"}])
    site.html("/terms", PAGE.format("<p>One.</p><p>Two.</p>"))
    note = "note: oldsite is now testsite (renamed)"

    crawled = home.run(
        "crawl", "--catalog", str(old), "--only", "OLDSITE", "--all", "--json", *FAST
    )

    assert crawled.code == 0, crawled
    assert [row["key"] for row in crawled.json()] == ["testsite/terms"]
    assert note in crawled.stderr
    history = home.run("history", "--service", "OldSite", "--json")
    assert history.code == 0 and note in history.stderr, history
    assert [change["key"] for change in history.json()] == ["testsite/terms"]
    upcoming = home.run("upcoming", "--service", "oldsite", "--json")
    assert upcoming.code == 0 and note in upcoming.stderr, upcoming
    subscribed = home.run("subscribe", "json://127.0.0.1:9/x", "--service", "oldsite")
    assert subscribed.code == 0 and note in subscribed.stderr, subscribed
    assert "no service" not in subscribed.stderr  # not warned of as unknown
    [subscription] = home.run("subscriptions", "list", "--json").json()
    assert subscription["services"] == ["testsite"]
    edited = home.run(
        "subscriptions", "edit", subscription["name"], "--service", "OldSite",
        "--document", "oldsite/terms",
    )  # fmt: skip
    assert edited.code == 0 and note in edited.stderr, edited
    assert "note: oldsite/terms is now testsite/terms (renamed)" in edited.stderr
    [subscription] = home.run("subscriptions", "list", "--json").json()
    assert (subscription["services"], subscription["documents"]) == (
        ["testsite"],
        ["testsite/terms"],
    )
    previewed = home.run("catalog", "preview", "oldsite", "--catalog", str(old), *FAST)
    assert previewed.code == 0 and note in previewed.stderr, previewed
    assert previewed.stdout == "One.\n\nTwo.\n"

    home.catalog([{"type": "Terms", "url": url}])  # formerly dropped: the store remembers
    ran = home.run("run", "--catalog", str(old), "--only", "oldsite", "--all", "--json", *FAST)
    assert ran.code == 0 and note in ran.stderr, ran
    assert [row["key"] for row in ran.json()] == ["testsite/terms"]
    previewed = home.run("catalog", "preview", "oldsite/terms", "--catalog", str(old), *FAST)
    assert previewed.code == 0, previewed
    assert "note: oldsite/terms is now testsite/terms (renamed)" in previewed.stderr


def test_an_old_service_names_one_service_only_once_none_of_it_is_left() -> None:
    renames = {"twitter/terms": "x/terms", "twitter/privacy": "x/privacy"}
    assert renamed_service("twitter", renames, ["x/terms", "x/privacy"]) == "x"
    assert renamed_service("twitter", renames, ["x/terms", "twitter/rules"]) is None  # in part
    split = {"twitter/terms": "x/terms", "twitter/privacy": "y/privacy"}
    assert renamed_service("twitter", split, []) is None  # which one is no guess to make
    assert renamed_service("twit", renames, []) is None  # a slug, not a prefix


def test_a_service_some_of_whose_documents_stay_is_not_taken_for_renamed(
    home: Home, site: Site
) -> None:
    """OldSite keeps a document under its own name: `oldsite` still names it, and no other."""
    for path in ("/terms", "/privacy"):
        site.html(path, PAGE.format(f"<p>{path}</p>"))
    old = declare(
        home.path / "testsite.yaml",
        "OldSite",
        {"type": "Terms", "url": site.url("/terms")},
        {"type": "Privacy", "url": site.url("/privacy")},
    )
    assert home.run("crawl", "--catalog", str(old), "--only", "oldsite", *FAST).code == 0
    declare(
        home.path / "testsite.yaml", "OldSite", {"type": "Privacy", "url": site.url("/privacy")}
    )
    new = home.catalog(
        [{"type": "Terms", "url": site.url("/terms"), "formerly": "oldsite/terms"}], "new.yaml"
    )
    both = ["--catalog", str(old), "--catalog", str(new)]
    assert home.run("crawl", *both, "--only", "testsite", *FAST).code == 0  # renamed

    crawled = home.run("crawl", *both, "--only", "oldsite", "--all", "--json", *FAST)

    assert crawled.code == 0, crawled
    assert [row["key"] for row in crawled.json()] == ["oldsite/privacy"]
    assert "is now" not in crawled.stderr
    history = home.run("history", "--service", "oldsite")
    assert history.code == 0 and "is now" not in history.stderr, history


def test_subscribe_takes_an_old_service_name_its_catalog_gives_before_any_crawl(
    home: Home,
) -> None:
    """Nothing tracked yet, no rename to remember: the catalog's `formerly` says what OldSite
    became, and a filter on `oldsite` would match no change ever recorded."""
    catalog = home.catalog([entry("Terms", formerly="oldsite/terms")])
    (home.path / "config.toml").write_text(f"catalog = [{str(catalog)!r}]\n")

    subscribed = home.run("subscribe", "json://127.0.0.1:9/x", "--service", "OldSite")

    assert subscribed.code == 0, subscribed
    assert "note: oldsite is now testsite (renamed)" in subscribed.stderr
    assert "no service" not in subscribed.stderr  # not warned of as unknown
    [subscription] = home.run("subscriptions", "list", "--json").json()
    assert subscription["services"] == ["testsite"]
