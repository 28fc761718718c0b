"""The review web app through HTTP: pages, filters, feeds, JSON API, token, escaping."""

from __future__ import annotations

import html
import itertools
import os
import re
import socket
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import feedparser
import pytest
import typer
from click.testing import Result
from lxml import etree
from markupsafe import escape
from sqlalchemy import Engine, event
from sqlalchemy import text as sql
from typer.testing import CliRunner

from diffengine import assess
from diffengine.rules import RuleMatch
from policywatch.cli import web
from policywatch.cli.web import serve
from policywatch.deadlines import days_left
from policywatch.web import api, create_app, feeds, pages
from policywatch.web.app import is_loopback
from policywatch.web.diffview import sections
from policywatch.web.feeds import ATOM
from policywatch.web.pace import set_by
from store.db import open_store
from store.outbox.given_up import documents_json
from store.queries import ChangeRow, changes_json, get_version, list_changes
from store.rejudging import rejudge
from store.repository import Attempt, DocumentInfo, Repository
from tests.alerting import WHATSAPP, History
from tests.receivers import free_port
from tests.test_web_data import (
    GOOGLE_V1,
    GOOGLE_V2,
    HOSTILE,
    OPENAI_V1,
    RESTRICTION,
    WHATSAPP_V1,
    WHATSAPP_V2,
    WHATSAPP_V3,
    google_store,
    judge_with,
    populate,
    verdict,
    web_store,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette suggests httpx2; httpx is what it still runs on
    from fastapi.testclient import TestClient

__all__ = ["google_store", "web_store"]  # the fixtures, imported for pytest to find


SERVE_TOKEN = "0123456789abcdef"  # as short as `serve` takes


@pytest.fixture
def client(web_store: Engine) -> TestClient:
    return TestClient(create_app(web_store))


@pytest.fixture
def paged_client(web_store: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A client of pages listing one item each: the small store's pagers then have pages."""
    monkeypatch.setattr("policywatch.web.pagers.PAGE_SIZE", 1)
    return TestClient(create_app(web_store))


@dataclass
class Serve:
    """`policywatch serve` over a store of its own, uvicorn's runs recorded instead of served."""

    db: list[str]
    started: list[dict[str, Any]]
    apps: list[Any]

    def __call__(self, *args: str) -> Result:
        app = typer.Typer()
        app.command()(serve)
        return CliRunner().invoke(app, [*args, *self.db])


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Serve:
    started: list[dict[str, Any]] = []
    apps: list[Any] = []

    def run(app: Any, **options: Any) -> None:
        started.append(options)
        apps.append(app)

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.delenv("POLICYWATCH_TOKEN", raising=False)
    db = f"sqlite:///{tmp_path / 'serve.sqlite3'}"
    open_store(db).dispose()
    return Serve(["--db", db], started, apps)


def summaries(html: str) -> list[str]:
    return re.findall(r'<p class="summary"><a href="/changes/\d+(?:\?all=1)?">([^<]*)</a>', html)


def test_timeline_newest_first_hides_noise(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert summaries(page.text) == [
        "Summary &lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;"
        "&lt;img src=x onerror=alert(1)&gt;",
        "Scraping clause added",
        "AI providers barred from the WhatsApp Business Solution",
    ]
    assert "Wording of fees" in client.get("/?all=1").text
    assert "2026-01-15" in page.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("min_severity=critical", ["AI providers barred from the WhatsApp Business Solution"]),
        ("min_severity=CRITICAL", ["AI providers barred from the WhatsApp Business Solution"]),
        ("service=openai", ["Scraping clause added"]),
        ("document=whatsapp/business-solution-terms&all=1", ["Wording of fees", "AI providers"]),
        ("category=ai-restriction&service=WhatsApp", ["AI providers"]),
        ("since=2025-10-05&until=2025-10-05&service=openai", ["Scraping clause added"]),
        ("since=2025-10-06&service=openai", []),
        ("service=&document=&category=&min_severity=&since=&until=", None),
    ],
)
def test_timeline_filters(client: TestClient, query: str, expected: list[str] | None) -> None:
    found = summaries(client.get(f"/?{query}").text)
    if expected is None:
        assert len(found) == 3
    else:
        assert [s[: len(e)] for s, e in zip(found, expected, strict=True)] == expected


def test_bad_filter_is_an_error_not_a_crash(client: TestClient) -> None:
    assert client.get("/?min_severity=huge").status_code == 422
    assert client.get("/api/changes?since=yesterday").status_code == 422


NO_KEY = "the address names no document: its key goes after /documents/"


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/changes/9999", 404, "no change with id 9999"),
        ("/documents/nope/nothing", 404, "no document nope/nothing"),
        (
            "/documents/openai/usage-policy",
            404,
            "no document openai/usage-policy (did you mean openai/usage-policies?)",
        ),
        ("/no/such/page", 404, "There is no page at this address."),
        # cut short before the key, the address said "no document " and nothing more
        ("/documents/", 404, f"{NO_KEY}</p>"),
        ("/documents//versions/1", 404, f"{NO_KEY}</p>"),
        ("/?min_severity=huge", 422, "min_severity: Input should be one of info, low"),
        ("/?page=0", 422, "page: Input should be greater than or equal to 1"),
    ],
)
def test_a_pages_error_is_a_page(client: TestClient, path: str, status: int, message: str) -> None:
    """Someone following an old link from an alert gets words and a way back, not raw JSON."""
    page = client.get(path)
    assert (page.status_code, page.headers["content-type"]) == (status, "text/html; charset=utf-8")
    assert f'<p class="error">{message}' in page.text and '<a href="/">' in page.text


def test_a_failure_on_the_servers_side_is_a_page_with_a_way_back(web_store: Engine) -> None:
    """A store that cannot be read (here its table of changes is gone) gave a bare "Internal
    Server Error" in plain text: no words for the reader, no link back."""
    with web_store.begin() as connection:
        connection.execute(sql("DROP TABLE change"))
    client = TestClient(create_app(web_store), raise_server_exceptions=False)
    page = client.get("/")
    assert (page.status_code, page.headers["content-type"]) == (500, "text/html; charset=utf-8")
    assert "<title>Server error · policywatch</title>" in page.text
    assert "the output of policywatch serve says" in page.text and '<a href="/">' in page.text
    assert "sqlite" not in page.text.lower()  # the reason, which may name the store, stays out
    api = client.get("/api/changes")
    assert (api.status_code, api.json()) == (500, {"detail": "Internal Server Error"})


def test_the_api_and_feeds_keep_json_errors(client: TestClient) -> None:
    assert client.get("/api/changes/9999").json() == {"detail": "no change with id 9999"}
    assert client.get("/api/documents/openai/usage-policy").json() == {
        "detail": "no document openai/usage-policy (did you mean openai/usage-policies?)"
    }
    assert client.get("/api/documents/").json() == {"detail": NO_KEY}
    assert client.get("/api/changes?limit=0").json()["detail"][0]["loc"] == ["query", "limit"]
    assert client.get("/feeds/nope.atom").json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("/api/changes?min_severity=huge", ["query", "min_severity"]),
        ("/api/changes?since=yesterday", ["query", "since"]),
        ("/api/upcoming?until=2025-02-30", ["query", "until"]),
        ("/api/changes?limit=0", ["query", "limit"]),
        ("/api/changes/abc", ["path", "change_id"]),
        ("/api/documents/whatsapp/business-solution-terms/compare?from=1&to=1", ["query", "to"]),
        ("/api/changes?service=a%00b", ["query", "service"]),
        ("/feeds/all.atom?min_severity=huge", ["query", "min_severity"]),
    ],
)
def test_every_422_of_the_api_has_the_shape_its_schema_declares(
    client: TestClient, query: str, loc: list[str]
) -> None:
    """The app's own checks answered `{"detail": "min_severity must be one of …"}`, where a
    parameter FastAPI refused gave `{"detail": [{"loc": …, "msg": …}]}`, the shape the OpenAPI
    schema declares for every 422: a script reading the one failed on the other."""
    answer = client.get(query)
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == loc and problem["msg"].startswith("Input should")
    schema = client.get("/api/openapi.json").json()["paths"]["/api/changes"]["get"]
    declared = schema["responses"]["422"]["content"]["application/json"]["schema"]
    assert declared == {"$ref": "#/components/schemas/HTTPValidationError"}


def test_a_filter_naming_nothing_tracked_says_what_was_meant(client: TestClient) -> None:
    """`?service=Whatsap`, typed by hand, gave an empty timeline that read as "no change",
    where `history --service Whatsap` says that nothing by that name is tracked, and what is."""
    key = "whatsapp/business-solution-terms"
    for query, said in (
        ("service=Whatsap", "no tracked document of service Whatsap (did you mean WhatsApp?)"),
        ("document=whatsapp/terms", f"no tracked document whatsapp/terms (did you mean {key}?)"),
    ):
        for path in ("/", "/upcoming"):
            page = client.get(f"{path}?{query}")
            assert page.status_code == 404 and f'<p class="error">{said}</p>' in page.text, path
        for path in ("/api/changes", "/api/upcoming"):
            answer = client.get(f"{path}?{query}")
            assert (answer.status_code, answer.json()) == (404, {"detail": said}), path
    # Tracked, in any case, but nothing selected: an empty timeline, as before.
    for query in ("service=WHATSAPP", f"document={key.upper()}&min_severity=critical"):
        empty = f"{query}&since=2030-01-01"
        assert client.get(f"/api/changes?{empty}").json() == [], query
        assert "No changes for this selection." in client.get(f"/?{empty}").text, query
    assert client.get("/api/upcoming?service=openai").json() == []
    # A feed may be subscribed to before its service is tracked: still an empty feed.
    assert client.get("/feeds/service/Whatsap.atom").status_code == 200
    assert client.get("/feeds/all.atom?service=Whatsap").status_code == 200


def test_a_category_naming_nothing_says_which_was_meant(
    client: TestClient, web_store: Engine
) -> None:
    """`?category=ai-restrictions`, typed by hand or by a script, gave an empty timeline (and
    `[]` from the API) that read as "no change of that kind", where no rule assigns the
    category and no change holds it: a 404 now says so, with the closest category or them all.
    A category the rules assign that no change holds yet, or one only a change holds (judged
    by a rule file of the user's own), is a selection that may be empty."""
    for query, said in (
        ("category=ai-restrictions", "no category ai-restrictions (did you mean ai-restriction?)"),
        ("category=zzz&service=openai", "no category zzz (the rules' categories: "),
    ):
        for path in ("/", "/upcoming"):
            page = client.get(f"{path}?{query}")
            assert page.status_code == 404, path
            assert f'<p class="error">{said}' in html.unescape(page.text), path
        for path in ("/api/changes", "/api/upcoming"):
            answer = client.get(f"{path}?{query}")
            assert answer.status_code == 404 and answer.json()["detail"].startswith(said), path
    assert "ai-restriction, ai-training," in client.get("/api/changes?category=zzz").text
    assert client.get("/?category=pricing").status_code == 200  # a rule's, not yet seen
    assert client.get("/api/changes?category=AI-Restriction&service=openai").json() == []
    assert client.get("/feeds/all.atom?category=zzz").status_code == 200  # subscribed ahead
    own = RuleMatch("no-resale", "resale", "low", "You may not resell it.", "added")
    judge = judge_with(verdict("low", "Resale barred", (own,)))
    Repository(web_store).record_text(
        "openai/usage-policies", Attempt("https://openai.com/policies"), OPENAI_V1 + "x\n", judge
    )
    assert client.get("/api/changes?category=resale&service=whatsapp").json() == []


def test_a_filter_typed_in_any_case_stays_selected_in_the_form(client: TestClient) -> None:
    """A document key in another case (typed, or from the command line's `--document`) filtered
    the timeline while its menu read "any": the next click on Filter dropped it unseen."""
    page = client.get("/?document=WhatsApp/Business-Solution-Terms&service=WHATSAPP").text
    assert '<option value="whatsapp/business-solution-terms" selected>' in page
    assert '<option value="WhatsApp" selected>' in page
    lower = client.get("/?document=whatsapp/business-solution-terms").text
    assert summaries(page) == summaries(lower) != []


def test_a_category_filters_in_any_case_on_any_store(db_url: str) -> None:
    """`category=AI-Restriction` found the changes on SQLite, whose LIKE ignores case, and none on
    PostgreSQL; and the menu read "any" either way."""
    engine = open_store(db_url)
    populate(engine)
    client = TestClient(create_app(engine))
    typed = client.get("/?category=AI-Restriction").text
    assert summaries(typed) == summaries(client.get("/?category=ai-restriction").text) != []
    assert "<option selected>ai-restriction</option>" in typed
    assert len(client.get("/api/changes?category=AI-RESTRICTION").json()) == len(summaries(typed))


def test_pagination(web_store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("policywatch.web.pagers.PAGE_SIZE", 2)
    client = TestClient(create_app(web_store))
    first = client.get("/?all=1")
    assert len(summaries(first.text)) == 2
    assert re.search(r'rel="next" href="\?all=1&amp;page=2&amp;before=\d+"', first.text)
    second = client.get("/?all=1&page=2")
    assert len(summaries(second.text)) == 2 and 'rel="prev"' in second.text
    assert 'rel="next"' not in client.get("/?all=1&page=2&service=whatsapp").text


def test_a_filter_sent_with_empty_fields_is_sent_on_to_a_clean_address(web_store: Engine) -> None:
    """The form sends every field, "any" as empty: the address, then its links and feed, read
    `?service=&document=&category=&min_severity=critical&since=&until=`."""
    client = TestClient(create_app(web_store, base_url="https://example.org/pw/"))

    def sent_to(path: str, method: str = "GET") -> tuple[int, str]:
        answer = client.request(method, path, follow_redirects=False)
        return answer.status_code, answer.headers.get("location", "")

    form = "/?service=&document=&category=&min_severity=critical&since=&until="
    assert sent_to(form) == sent_to(form, "HEAD") == (303, "/pw/?min_severity=critical")
    assert sent_to("/?service=&all=1") == (303, "/pw/?all=1")
    assert sent_to("/?service=") == (303, "/pw/")
    assert sent_to("/upcoming?service=&min_severity=&within=30") == (303, "/pw/upcoming?within=30")
    clean = client.get("/?min_severity=critical")
    assert clean.status_code == 200 and not clean.history
    assert 'href="/pw/feeds/all.atom?min_severity=critical"' in clean.text
    assert client.get("/api/changes?service=").status_code == 200  # the API reads as it did


def test_the_timeline_counts_its_pages_and_says_where_they_end(
    web_store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page 99 of 2 was an empty "page 99" whose newer link led to an empty page 98; then it
    said "page 99 of 2" beside the note that there are only 2 pages."""
    monkeypatch.setattr("policywatch.web.pagers.PAGE_SIZE", 2)
    client = TestClient(create_app(web_store))
    first = client.get("/?all=1").text
    assert "4 changes, noise included, newest first." in first and "page 1 of 2" in first
    beyond = client.get("/?all=1&page=99").text
    assert not summaries(beyond)
    assert "No changes on page 99: there are only 2 pages." in beyond
    assert '<a href="?all=1&amp;page=2">Go to page 2</a>' in beyond
    assert '<nav class="pages"' not in beyond and "page 99 of 2" not in beyond  # the note only


def test_the_pager_leads_to_the_oldest_and_newest_pages_keeping_the_filters(
    paged_client: TestClient,
) -> None:
    """The oldest change of a real history (45 pages, noise included) was 44 clicks away."""
    first = paged_client.get("/?all=1").text
    assert 'rel="last" href="?all=1&amp;page=4">oldest' in first and 'rel="first"' not in first
    last = paged_client.get("/?all=1&page=4").text
    assert 'rel="first" href="?all=1&amp;page=1">' in last and 'rel="last"' not in last
    # Next to a page its neighbour's link already leads to, there is no second link.
    assert 'rel="first"' not in paged_client.get("/?all=1&page=2").text
    assert 'rel="last"' not in paged_client.get("/?all=1&page=3").text
    document = paged_client.get("/documents/whatsapp/business-solution-terms").text
    assert 'rel="last"' not in pages_nav(document, "changes")  # 2: "older" leads to the last


def pager_links(page: str, label: str = "Pages") -> list[str]:
    """The words of a pager's links, in order."""
    found = re.search(rf'<nav class="pages" aria-label="{label}">(.*?)</nav>', page, re.S)
    assert found, f"no pager {label}"
    return re.findall(r"<a [^>]*>([^<]*)</a>", found[1])


def test_the_pagers_links_say_the_page_they_lead_to(paged_client: TestClient) -> None:
    """ "oldest ⇥" and "← newer" did not say which page they lead to: on page 7 of 45 the
    reader could not tell the oldest page's number without following it, and a screen reader's
    list of links read "older →" twice on a document's page."""
    second = paged_client.get("/?all=1&page=2").text
    assert pager_links(second) == ["← newer (page 1)", "older (page 3) →", "oldest (page 4) ⇥"]
    last = paged_client.get("/?all=1&page=4").text
    assert pager_links(last) == ["⇤ newest (page 1)", "← newer (page 3)"]
    document = paged_client.get("/documents/whatsapp/business-solution-terms").text
    assert pager_links(document, "Pages of versions") == [
        "older (page 2) →",
        "oldest (page 3) ⇥",
    ]


def pager_link(page: str, rel: str) -> str:
    """Where a page's "older" (`next`) or "newer" (`prev`) link leads, as a browser follows it."""
    found = re.search(rf'rel="{rel}" href="\?([^"]+)"', page)
    assert found, f"no {rel} link"
    return "?" + html.unescape(found[1])


def older_link(page: str) -> str:
    return pager_link(page, "next")


def test_the_older_link_goes_on_after_the_last_change_shown_whatever_arrives(
    paged_client: TestClient, web_store: Engine
) -> None:
    """Paging back by page number, a change recorded meanwhile pushed every other down a
    place: the next page began with the change the last one ended with. The older link names
    the last change shown (`before`), and the next page starts right after it."""
    timeline, document = "/?all=1", "/documents/whatsapp/business-solution-terms"
    first = {address: paged_client.get(address).text for address in (timeline, document)}
    assert [summaries(page) for page in first.values()] == [
        [f"Summary {escape(HOSTILE)}"],
        ["Wording of fees"],
    ]
    judge = judge_with(verdict("medium", "Bots barred"))
    text = f"{WHATSAPP_V3}\nNo bots.\n"
    Repository(web_store).record_text(
        "whatsapp/business-solution-terms", Attempt("https://example.com/"), text, judge
    )
    timeline_older = paged_client.get(timeline.split("?")[0] + older_link(first[timeline]))
    assert summaries(timeline_older.text) == ["Wording of fees"]  # by number: the hostile one
    assert summaries(paged_client.get("/?all=1&page=2").text) == [f"Summary {escape(HOSTILE)}"]
    document_older = paged_client.get(document + older_link(first[document]))
    assert summaries(document_older.text) == [
        "AI providers barred from the WhatsApp Business Solution"
    ]
    assert "page 2 of 3" in pages_nav(document_older.text, "changes")
    # The versions' pager keeps where the changes stand, cursor and all.
    assert "before=" in pages_nav(document_older.text, "versions")


def newer_link(page: str) -> str:
    return pager_link(page, "prev")


def test_the_newer_link_goes_on_before_the_first_change_shown_whatever_arrives(
    paged_client: TestClient, web_store: Engine
) -> None:
    """Paging back up by page number, a change recorded meanwhile pushed every other down a
    place: the newer page ended a change short of the one shown first, which was never shown.
    The newer link now leads to the changes just newer than the first shown, and to page 1
    once no more than a page of them lies above; a page of them above page 2 is not page 1."""
    third = paged_client.get("/?all=1&page=3").text  # 4 changes, one a page: the 3rd newest
    assert summaries(third) == ["Scraping clause added"]
    judge = judge_with(verdict("medium", "Bots barred"))
    text = f"{WHATSAPP_V3}\nNo bots.\n"
    Repository(web_store).record_text(
        "whatsapp/business-solution-terms", Attempt("https://example.com/"), text, judge
    )
    second = paged_client.get("/" + newer_link(third)).text
    assert summaries(second) == ["Wording of fees"]  # by number: the hostile one
    assert pager_links(second)[0] == "⇤ newest (page 1)"
    top = paged_client.get("/" + newer_link(second)).text
    assert summaries(top) == [f"Summary {escape(HOSTILE)}"]
    assert pager_links(top)[:1] == ["← newer (page 1)"]  # "Bots barred" lies above it
    newest = paged_client.get("/" + newer_link(top)).text
    assert summaries(newest) == ["Bots barred"] and 'rel="prev"' not in newest


def test_following_the_older_links_lists_every_change_once_in_the_timelines_order(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changes found in one crawl share their moment: the cursors (older and newer) order
    them by id as the timeline does, so none is skipped or shown twice where a page ends among
    them."""
    engine = open_store(db_url)
    populate(engine)
    repository, moment = Repository(engine), datetime(2026, 1, 2, tzinfo=UTC)
    for n in range(5):
        judge = judge_with(verdict("low", f"Tie {n}"))
        text = f"{OPENAI_V1}\nClause {n}.\n"
        repository.record_text(
            "openai/usage-policies", Attempt("https://x/", at=moment), text, judge
        )
    monkeypatch.setattr("policywatch.web.pagers.PAGE_SIZE", 2)
    client = TestClient(create_app(engine))
    walked, address = [], "/?all=1"
    while address:
        page = client.get(address).text
        walked += summaries(page)
        address = "/" + older_link(page) if 'rel="next"' in page else ""
    assert walked == [str(escape(row.summary)) for row in list_changes(engine, include_noise=True)]
    assert len(walked) == len(set(walked)) == 9
    # Back up from the oldest page by the newer links, each page the changes just above.
    climbed, address = [], "/?all=1&page=5"
    while address:
        page = client.get(address).text
        climbed.insert(0, summaries(page))
        address = "/" + newer_link(page) if 'rel="prev"' in page else ""
    assert [summary for page in climbed for summary in page] == walked
    engine.dispose()


def plans(engine: Engine, client: TestClient, address: str) -> list[str]:
    """How SQLite reads each statement that GET `address` runs: the lines of its EXPLAIN QUERY PLAN,
    as "SCAN version USING COVERING INDEX …" (a whole table or index read) or "SEARCH …"."""
    ran: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            ran.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(address).status_code == 200, address
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as connection:
        return [
            row[-1]
            for statement, parameters in ran
            for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]


def test_pages_read_the_changes_and_versions_by_index_not_whole(
    client: TestClient, web_store: Engine
) -> None:
    """Every timeline page counted every version ever recorded, and grouped every change, to
    list the documents in its filter (30,000 changes: 40 ms of each page); a service's page
    joined every change to its document to test the service's name. The documents' counts and
    dates are read from the indexes one document at a time, a filter's documents found first
    and their changes read by the index on their document."""
    for address in ("/", "/documents", "/?service=WhatsApp&category=ai-restriction"):
        read = plans(web_store, client, address)
        assert not [line for line in read if line.startswith("SCAN version")], (address, read)
    read = plans(web_store, client, "/documents")
    assert not [line for line in read if line.startswith("SCAN change")], read
    read = plans(web_store, client, "/?service=WhatsApp&category=ai-restriction")
    assert any("SEARCH change USING INDEX ix_change_document" in line for line in read), read
    assert not [line for line in read if line == "SCAN change"], read


def test_a_category_is_matched_in_any_case_without_folding_each_change_in_python(
    client: TestClient, web_store: Engine
) -> None:
    """A category is matched in each change's JSON text, which the store writes in ASCII:
    SQLite's LIKE ignores its case by itself, where the store's Python `lower()` (for names in
    any script) ran once for every change the filter read (30,000: 18 -> 8 ms)."""
    folded: list[object] = []

    def counted_lower(value: object) -> object:
        folded.append(value)
        return value.lower() if isinstance(value, str) else value

    def register(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.create_function("lower", 1, counted_lower, deterministic=True)

    event.listen(web_store, "connect", register)
    web_store.dispose()  # connections anew, each with the counting lower()
    try:
        shown = [
            summaries(client.get(f"/?category={name}").text)
            for name in ("ai-restriction", "AI-Restriction")
        ]
    finally:
        event.remove(web_store, "connect", register)
        web_store.dispose()
    assert (
        shown[0]
        == shown[1]
        == [f"Summary {escape(HOSTILE)}", "AI providers barred from the WhatsApp Business Solution"]
    )
    assert folded == []


def pages_nav(page: str, of: str) -> str:
    """A document page's pager of its changes or of its versions."""
    found = re.search(rf'<nav class="pages" aria-label="Pages of {of}">(.*?)</nav>', page, re.S)
    assert found, f"no pager of {of}"
    return found[1]


def test_a_documents_versions_are_paged_apart_from_its_changes(paged_client: TestClient) -> None:
    """Listed whole, Instagram's 757 versions made its page 42,000 px tall on a phone."""
    key = "whatsapp/business-solution-terms"

    def listed(page: str) -> list[str]:
        return re.findall(rf'<li><span><a href="/documents/{key}/versions/(\d+)">', page)

    first = paged_client.get(f"/documents/{key}").text
    assert listed(first) == ["3"] and "page 1 of 3" in pages_nav(first, "versions")
    assert 'rel="next" href="?versions_page=2#versions-title"' in pages_nav(first, "versions")
    assert 'max="3"' in first  # the compare form still knows every version
    # Each pager keeps the other list's page.
    both = paged_client.get(f"/documents/{key}?page=2&versions_page=2").text
    assert listed(both) == ["2"]
    assert 'href="?page=2&amp;versions_page=3#versions-title"' in pages_nav(both, "versions")
    assert 'rel="prev" href="?versions_page=2&amp;page=1"' in pages_nav(both, "changes")
    assert listed(paged_client.get(f"/documents/{key}?versions_page=9").text) == ["1"]  # the last


HUGE = "9" * 20  # past 64 bits: no database driver takes it


def test_numbers_typed_past_what_a_store_holds_are_answered_not_a_500(db_url: str) -> None:
    """A change id past PostgreSQL's INTEGER (or 64 bits on SQLite), a page or offset past 64
    bits, the calendar's last day as `until`, a `within` past it: each made the database driver
    or the date arithmetic overflow, and the user got a bare "Internal Server Error"."""
    engine = open_store(db_url)
    populate(engine)
    client = TestClient(create_app(engine))
    for change_id in ("3000000000", HUGE):
        page = client.get(f"/changes/{change_id}")
        assert page.status_code == 404 and f"no change with id {change_id}" in page.text
        assert client.get(f"/api/changes/{change_id}").json() == {
            "detail": f"no change with id {change_id}"
        }
    beyond = client.get(f"/?page={HUGE}").text
    assert f"No changes on page {HUGE}: there is only 1 page." in beyond
    document = client.get(f"/documents/whatsapp/business-solution-terms?page={HUGE}").text
    assert f"No changes on page {HUGE}: there is only 1 page." in document
    key = "whatsapp/business-solution-terms"
    for seq, prefix in itertools.product(("3000000000", HUGE), ("", "/api")):
        version = client.get(f"{prefix}/documents/{key}/versions/{seq}")
        assert version.status_code == 404, prefix
        assert f"{key} has 3 versions, no version {seq}" in version.text, prefix
    api = client.get(f"/api/changes?offset={HUGE}")
    assert api.json() == [] and api.headers["x-total-count"] == "3"
    everything = summaries(client.get("/").text)
    assert summaries(client.get("/?until=9999-12-31").text) == everything
    for before in ("3000000000", HUGE):  # a cursor naming no change: the page by its number
        assert summaries(client.get(f"/?before={before}").text) == everything
    assert summaries(client.get(f"/upcoming?within={HUGE}").text) == summaries(
        client.get("/upcoming?within=0").text
    )


NUL = "should hold no NUL character (%00), which no name has"
LONGER = "should have at most 1000 characters, more than any name or key has"


def test_a_nul_character_in_the_address_is_a_422_on_any_store(db_url: str) -> None:
    """PostgreSQL refuses a NUL in a query: a filter, key or service name holding `%00` made
    every page, feed and API call a bare 500 (SQLite let it find nothing)."""
    engine = open_store(db_url)
    populate(engine)
    client = TestClient(create_app(engine))
    for path, said in (
        ("/?service=%00", f"service: Input {NUL}"),
        ("/?document=a%00b", f"document: Input {NUL}"),
        ("/documents/a%00b", f"The address {NUL}"),
        ("/documents/a%00b/c", f"The address {NUL}"),
        ("/upcoming?service=%00", f"service: Input {NUL}"),
    ):
        page = client.get(path)
        assert page.status_code == 422 and f'<p class="error">{said}</p>' in page.text, path
    for path, loc in (
        ("/api/changes?service=%00", ["query", "service"]),
        ("/api/documents/a%00b", ["path"]),
        ("/api/documents/a%00b/c", ["path"]),
        ("/feeds/document/a%00b/c.atom", ["path"]),
        ("/feeds/service/%00.atom", ["path"]),
    ):
        answer = client.get(path)
        assert answer.status_code == 422, path
        [problem] = answer.json()["detail"]
        assert (problem["loc"], problem["msg"].endswith(NUL)) == (loc, True), path
    assert client.get("/?service=WhatsApp").status_code == 200


LONG = "a" * 60_000  # past SQLite's longest LIKE pattern (50,000 bytes)


def test_a_name_too_long_to_be_one_is_a_422_not_a_500(client: TestClient) -> None:
    """A service, category or feed name of 60,000 characters (a scanner's probe, a paste gone
    wrong) became a LIKE pattern SQLite calls "too complex": the timeline, the upcoming page
    and API, and the feeds answered a bare 500. Any value of the query, and the path, is held
    to 1,000 characters, more than any name, key or date needs."""
    for path, said in (
        (f"/?service={LONG}", f"service: Input {LONGER}"),
        (f"/?category={LONG}", f"category: Input {LONGER}"),
        (f"/upcoming?service={LONG}", f"service: Input {LONGER}"),
        (f"/documents/{LONG}", f"The address {LONGER}"),
    ):
        page = client.get(path)
        assert page.status_code == 422 and f'<p class="error">{said}</p>' in page.text, path[:20]
    for path, loc in (
        (f"/api/upcoming?service={LONG}", ["query", "service"]),
        (f"/api/changes?category={LONG}", ["query", "category"]),
        (f"/feeds/all.atom?service={LONG}", ["query", "service"]),
        (f"/feeds/service/{LONG}.atom", ["path"]),
    ):
        answer = client.get(path)
        assert answer.status_code == 422, path[:20]
        [problem] = answer.json()["detail"]
        assert (problem["loc"], problem["msg"].endswith(LONGER)) == (loc, True), path[:20]
    longest = "a" * 1000
    assert client.get(f"/?service={longest}").status_code == 404  # no such service, said
    assert client.get(f"/feeds/all.atom?category={longest}").status_code == 200


def title(html: str) -> str:
    found = re.search(r"<title>(.*)</title>", html)
    assert found, "the page has no title"
    return found.group(1)


def test_a_pages_title_says_which_selection_and_page_it_is(
    web_store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every timeline was "Timeline · policywatch", whatever its filters and page: two tabs,
    a bookmark or the history could not tell them apart. An error page was titled "404"."""
    monkeypatch.setattr("policywatch.web.pagers.PAGE_SIZE", 2)
    client = TestClient(create_app(web_store))
    assert title(client.get("/").text) == "Timeline · policywatch"
    filtered = client.get("/?service=WhatsApp&min_severity=HIGH&page=1").text
    assert title(filtered) == "Timeline: WhatsApp, high and above · policywatch"
    assert title(client.get("/?all=1&page=2").text) == (
        "Timeline: all changes, noise included · page 2 · policywatch"
    )
    document = client.get("/documents/whatsapp/business-solution-terms?page=2").text
    assert title(document) == ("WhatsApp · Business Solution Terms · changes page 2 · policywatch")
    assert title(client.get("/changes/9999").text) == "Not found · policywatch"
    assert title(client.get("/?page=x").text) == "Not a valid request · policywatch"
    # upcoming was "Upcoming · policywatch", whatever its filters and window
    assert title(client.get("/upcoming").text) == "Upcoming, within 90 days · policywatch"
    assert title(client.get("/upcoming?service=whatsapp&min_severity=high&within=0").text) == (
        "Upcoming: whatsapp, high and above, any time · policywatch"
    )


def test_an_empty_timeline_says_what_noise_it_hides(client: TestClient) -> None:
    """ "No changes for this selection." while a cosmetic change was hidden read as if nothing
    had been seen; the page now says so, as `history` does, and links to the noise."""
    selection = "document=whatsapp%2Fbusiness-solution-terms&since=2025-10-05"
    page = client.get(f"/?{selection}").text
    assert not summaries(page)
    assert (
        "No meaningful changes for this selection: 1 change was judged noise (cosmetic) and"
        f' hidden. <a href="?{selection.replace("&", "&amp;")}&amp;all=1">Show the noise</a>.'
    ) in page
    assert summaries(client.get(f"/?{selection}&all=1").text) == ["Wording of fees"]
    quiet = client.get("/?service=openai&since=2025-10-06").text
    assert "No changes for this selection." in quiet and "noise" not in quiet.split("</form>")[1]


def test_an_empty_history_says_what_to_do_not_that_a_selection_is_empty(tmp_path: Path) -> None:
    """On a new store the timeline said "No changes for this selection.", unfiltered, as if a
    filter hid something: it now says that nothing is tracked and how to track something, and,
    once documents are read for the first time, that no change is recorded yet."""
    engine = open_store(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    client = TestClient(create_app(engine))
    for query in ("", "?min_severity=high", "?all=1&page=2"):
        page = client.get("/" + query).text
        assert "Nothing tracked yet: run <code>policywatch crawl</code>" in page, query
        assert "for this selection" not in page, query
    repo = Repository(engine)
    repo.sync_documents([WHATSAPP])
    repo.record_text(WHATSAPP.key, Attempt(WHATSAPP.url), WHATSAPP_V1, assess)
    page = client.get("/?category=ai-restriction").text
    assert "No change recorded yet: 1 document is tracked" in page
    assert "for this selection" not in page


def test_an_empty_history_is_said_on_upcoming_as_on_the_timeline(tmp_path: Path) -> None:
    """On a new store `/upcoming` said "No change takes effect in the next 90 days for this
    selection", and its "Look further" led to the same words: nothing said that nothing was
    tracked yet, nor how to track something."""
    engine = open_store(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    client = TestClient(create_app(engine))
    for query in ("", "?min_severity=high", "?within=0"):
        page = client.get("/upcoming" + query).text
        assert "Nothing tracked yet: run <code>policywatch crawl</code>" in page, query
        assert "for this selection" not in page and "Look further" not in page, query
    repo = Repository(engine)
    repo.sync_documents([WHATSAPP])
    repo.record_text(WHATSAPP.key, Attempt(WHATSAPP.url), WHATSAPP_V1, assess)
    page = client.get("/upcoming").text
    assert "No change recorded yet: 1 document is tracked" in page
    repo.record_text(WHATSAPP.key, Attempt(WHATSAPP.url), WHATSAPP_V1 + "\nMore.\n", assess)
    recorded = client.get("/upcoming").text  # a change, taking effect on no date
    assert "No change takes effect in the next 90 days for this selection." in recorded


def test_an_empty_timeline_says_which_filter_emptied_it(client: TestClient) -> None:
    """It said only "No changes for this selection", and left the filter that emptied it to
    be guessed: a document of another service, dates typed the wrong way round."""
    crossed = client.get("/?service=WhatsApp&document=openai/usage-policies").text
    wider = dict(re.findall(r'<a href="\?([^"]*)">(any \w+)</a>', crossed))
    assert set(wider.values()) == {"any service", "any document"}
    for query, label in wider.items():
        assert summaries(client.get("/?" + query.replace("&amp;", "&")).text), label
    swapped = client.get("/?since=2025-10-06&until=2025-10-04").text
    assert "From (2025-10-06) is after To (2025-10-04)" in swapped
    assert '<a href="?until=2025-10-04">no From date</a> (1 change)' in swapped
    assert '<a href="?since=2025-10-06">no To date</a> (1 change)' in swapped


def test_change_page(client: TestClient, web_store: Engine) -> None:
    ban = list_changes(web_store, min_severity="critical")[0]
    page = client.get(f"/changes/{ban.id}").text
    # The sentence two rules caught is quoted once, with both rules.
    assert page.count(f'<mark class="match">{RESTRICTION}</mark>') == 1
    assert "ai-providers-prohibited" in page and "api-access-restricted" in page
    assert f"<ins>{RESTRICTION}</ins>" in page or "<ins>" in page
    assert 'class="insert flagged"' in page  # the restriction's line is flagged in the diff
    # Changed sections open, unchanged ones folded; headings are the landmarks.
    assert re.search(r"<h3[^>]*>Acceptable use</h3>\s*<details open>", page)
    folded = r"<h3[^>]*><a [^>]*>Fees</a></h3>\s*<p class=\"unchanged\">\d+ lines unchanged</p>"
    assert re.search(folded, page)
    assert 'href="https://www.whatsapp.com/legal/business-solution-terms"' in page
    assert 'rel="prev"' not in page.split("<article")[0]  # its document's first change
    inline = client.get(f"/changes/{ban.id}?view=inline").text
    assert '<p class="insert flagged">' in inline
    assert client.get("/changes/9999").status_code == 404


def test_a_change_page_links_the_sections_that_changed_above_the_folds(
    client: TestClient, web_store: Engine
) -> None:
    """A long policy folds hundreds of unchanged sections: its one change lay screens down."""
    ban = list_changes(web_store, min_severity="critical")[0]
    page = client.get(f"/changes/{ban.id}").text
    jumps = re.search(r'<nav class="changed-sections"[^>]*>(.*?)</nav>', page, re.S)
    assert jumps, "no list of the sections that changed"
    assert "2 of 4 sections changed:" in jumps[1]  # its title and its "Acceptable use"
    target = re.findall(r'<a href="#([^"]+)">Acceptable use</a>', jumps[1])
    assert target and f'<h3 id="{target[0]}"' in page
    assert page.index("changed-sections") < page.index('class="diff-section')


@pytest.mark.parametrize("view", ["side", "inline"])
def test_a_change_page_sends_what_changed_not_the_unchanged_sections(
    client: TestClient, web_store: Engine, view: str
) -> None:
    """Folded, a long policy's unchanged sections were still sent, each line twice side by
    side: 861 KB for one changed line. Their headings stay, their text is a link away."""
    ban = list_changes(web_store, min_severity="critical")[0]
    page = client.get(f"/changes/{ban.id}?view={view}").text
    assert "Fees are charged per conversation." not in page  # the unchanged "Fees"
    assert re.search(r"<h3[^>]*><a [^>]*>Fees</a></h3>", page)
    changed = [row for part in sections(WHATSAPP_V1, WHATSAPP_V2) for row in part.rows]
    words = {span.text for row in changed if row.kind != "equal" for span in row.old + row.new}
    assert len(words) > 3 and all(escape(word) in page for word in words), words
    assert "means the WhatsApp Business APIs." not in page  # "Definitions", unchanged too
    whole = re.search(r'<a href="([^"]+)">the whole text</a>', page)
    assert whole and whole[1] == "/documents/whatsapp/business-solution-terms/versions/2"
    assert "Fees are charged per conversation." in client.get(whole[1]).text


def test_a_folded_sections_heading_leads_to_its_place_in_the_whole_text(
    client: TestClient, web_store: Engine
) -> None:
    """ "The whole text" opened at its top: a folded section's text lay screens down in it."""
    ban = list_changes(web_store, min_severity="critical")[0]
    page = client.get(f"/changes/{ban.id}").text
    whole = "/documents/whatsapp/business-solution-terms/versions/2"
    folded = re.findall(rf'<h3[^>]*><a href="{whole}#([^"]+)">([^<]+)</a></h3>', page)
    assert [title for _, title in folded] == ["Definitions", "Fees"]
    version = client.get(whole).text
    for place, title in folded:
        assert re.search(rf'id="{place}">[^\n]*{title}', version), place


def test_word_level_diff(client: TestClient, web_store: Engine) -> None:
    fees = list_changes(web_store, include_noise=True, service="whatsapp")[0]
    page = client.get(f"/changes/{fees.id}").text
    assert 'per <del><span class="vh">removed: </span>conversation</del>' in page
    assert 'per <ins><span class="vh">added: </span>message</ins>' in page


def test_document_page(client: TestClient) -> None:
    page = client.get("/documents/openai/usage-policies").text
    assert "timeout" in page and "1 failed fetch in a row" in page
    assert "Scraping clause added" in page
    assert "Do not scrape our services." in page  # the latest text
    assert "version 2" in page
    assert "timeout ×1" in client.get("/documents").text
    assert client.get("/documents/nope/nothing").status_code == 404


def test_a_documents_pace_unread_is_said_and_the_page_still_shown(
    web_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config file broken while `serve` runs: the pace is unknown, said with where to look,
    and the rest of the page is there; an app given no catalog says no pace at all."""
    config = tmp_path / "config.toml"
    config.write_text('interval = "6 hours"\n')
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    assert web._catalog() is None
    page = TestClient(create_app(web_store, catalog=web._catalog)).get(
        "/documents/openai/usage-policies"
    )
    assert page.status_code == 200 and "Do not scrape our services." in page.text
    pace = re.search(r'<dd class="pace">(.*?)</dd>', page.text)
    assert pace and pace[1] == (
        "unknown: the catalog or the settings could not be read"
        " (<code>policywatch catalog validate</code> says why)"
    )
    assert (
        "Checked every"
        not in TestClient(create_app(web_store)).get("/documents/openai/usage-policies").text
    )


def test_serves_catalog_is_read_anew_only_once_a_file_it_comes_from_changed(
    web_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """`serve` read the catalog (100 ms of YAML) at each view of a document, and said a broken
    config file's error at each: it reads it once, then again when the config file or a
    declaration file in a folder it names changed, so that a pace changed there still shows
    without restarting it, and a config file broken then fixed is said broken once."""
    config, declarations = tmp_path / "config.toml", tmp_path / "mine"
    declarations.mkdir()
    monkeypatch.setenv("POLICYWATCH_CONFIG", str(config))
    monkeypatch.delenv("POLICYWATCH_CATALOG", raising=False)
    loader = web.catalog_loader()
    client = TestClient(create_app(web_store, catalog=loader))

    def pace() -> str:
        page = client.get("/documents/openai/usage-policies").text
        found = re.search(r'<dd class="pace">(.*?)</dd>', page)
        assert found, page
        return found[1]

    def edit(text: str) -> None:  # a second edit within the clock's tick is still one
        config.write_text(text)
        tick = config.stat().st_mtime_ns + 1_000_000_000
        os.utime(config, ns=(tick, tick))

    edit(f'interval = "12h"\ncatalog = ["{declarations}"]\n')
    assert pace() == "12h, set by the interval setting"
    assert loader() is loader()  # not read again: nothing changed
    edit(f'interval = "8h"\ncatalog = ["{declarations}"]\n')
    assert pace() == "8h, set by the interval setting"
    (declarations / "acme.yaml").write_text(
        "service: Acme\ndocuments:\n  - type: Terms\n    url: https://acme.example/terms\n"
        "    interval: 6h\n"
    )
    assert loader().get("acme/terms") is not None  # a declaration added to a folder named
    capsys.readouterr()
    edit('interval = "6 hours"\n')
    assert pace().startswith("unknown") and pace().startswith("unknown")
    assert capsys.readouterr().err.count("cannot read the settings") == 1
    edit('interval = "2h"\n')
    assert pace() == "2h, set by the interval setting"


@pytest.mark.parametrize(
    ("paced_by", "said"),
    [
        ("declaration", "set by its declaration"),
        ("default", "the default"),  # not "set by the default"
        ("interval", "set by the interval setting"),
        ("intervals WhatsApp", "set by the intervals setting for WhatsApp"),
    ],
)
def test_what_set_a_pace_is_said_in_words(paced_by: str, said: str) -> None:
    """`catalog show`'s interval_from, as a document's page says it after the interval."""
    assert set_by(paced_by) == said


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/", ["Timeline"]),
        ("/?all=1&page=1", ["Timeline"]),
        ("/upcoming", ["Upcoming"]),
        ("/documents", ["Documents"]),
        ("/changes/1", []),  # a page the menu does not list
    ],
)
def test_the_menu_marks_the_page_shown(client: TestClient, path: str, current: list[str]) -> None:
    """The menu looked the same on every page: where one stood was not said, nor seen."""
    menu = re.search(r'<nav aria-label="Main">(.*?)</nav>', client.get(path).text, re.S)
    assert menu
    assert re.findall(r'<a href="[^"]*" aria-current="page">([^<]*)</a>', menu[1]) == current


def test_every_page_opens_with_a_link_past_the_menu(client: TestClient) -> None:
    """A keyboard went through the menu's five links on every page before reaching the page."""
    for path in ("/", "/documents", "/changes/1"):
        page = client.get(path).text
        body = page[page.index("<body>") + len("<body>") :].lstrip()
        assert body.startswith('<a class="skip" href="#content">Skip to content</a>'), path
        assert '<main id="content">' in page, path


def test_a_version_page_shows_its_whole_text_between_the_changes_around_it(
    client: TestClient, web_store: Engine
) -> None:
    """Every version was kept, but only the latest text could be read: what a page said on
    the day a contract was signed had to be pieced together from diffs."""
    key = "whatsapp/business-solution-terms"
    versions = f"/documents/{key}/versions"
    page = client.get(f"{versions}/2").text
    assert "version 2 of 3" in page and RESTRICTION in page
    assert "per conversation" in page and "per message" not in page  # not the latest text
    assert f'href="{versions}/1"' in page and f'href="{versions}/3"' in page
    changes = {c["to_version"]: c for c in client.get(f"/api/changes?all=1&document={key}").json()}
    middle = client.get(f"/api{versions}/2").json()
    assert middle == get_version(web_store, key, 2).to_json()  # as `text --json` gives it
    came_by, left_by = changes[middle["id"]], changes[client.get(f"/api{versions}/3").json()["id"]]
    assert (middle["came_by"], middle["left_by"]) == (came_by["id"], left_by["id"])
    assert f'href="/changes/{came_by["id"]}?all=1"' in page
    assert f'href="/changes/{left_by["id"]}?all=1"' in page
    assert "The first version recorded" in client.get(f"{versions}/1").text
    assert "the latest version" in client.get(f"{versions}/3").text
    # Reached from the document's list of versions, and from a change, of both its sides.
    assert f'href="{versions}/3"' in client.get(f"/documents/{key}").text
    change = client.get(f"/changes/{came_by['id']}").text
    assert f'href="{versions}/1"' in change and f'href="{versions}/2"' in change
    hostile = client.get("/documents/evil/terms/versions/2").text
    assert HOSTILE not in hostile and "&lt;script&gt;" in hostile


def test_two_versions_however_far_apart_compare_with_the_changes_between(
    client: TestClient,
) -> None:
    """A reviewer back after months read each change on its own: all that changed since the
    version last read (a contract signed, a review done) could not be seen at once."""
    key = "whatsapp/business-solution-terms"
    page = client.get(f"/documents/{key}/compare?from=1").text  # to the latest
    assert "version 1 to version 3" in page
    assert f'<ins><span class="vh">added: </span>{RESTRICTION}</ins>' in page  # both changes
    assert '<ins><span class="vh">added: </span>message</ins>' in page  # in one diff
    # The changes between: the meaningful one listed, the noise counted.
    assert "1 meaningful change, oldest first, and 1 judged noise" in page
    assert "AI providers barred from the WhatsApp Business Solution" in page
    assert "Wording of fees" not in page
    assert client.get(f"/documents/{key}/compare?from=3&to=1").text.count(RESTRICTION) == (
        page.count(RESTRICTION)
    )  # either order: the older is before
    inline = client.get(f"/documents/{key}/compare?from=2&to=3&view=inline").text
    assert "No meaningful change: 1 judged noise" in inline
    assert 'href="?view=side&amp;from=2&amp;to=3"' in inline  # the other view keeps the pair
    # Reached from the document's page (a form) and from a version not the latest.
    document = client.get(f"/documents/{key}").text
    assert f'action="/documents/{key}/compare"' in document
    version = client.get(f"/documents/{key}/versions/2").text
    assert f'href="/documents/{key}/compare?from=2"' in version
    # From the latest, nothing changed since: an answer, as `compare KEY 3` gives it (was a 422).
    unchanged = client.get(f"/documents/{key}/compare?from=3")
    assert unchanged.status_code == 200
    assert re.search(
        r"No change since version 3: <a [^>]*>version 3</a> of 3 \(the latest\), first seen",
        unchanged.text,
    )
    assert "Changes between them" not in unchanged.text
    for query, status, message in [
        ("from=2&to=2", 422, "to: Input should name another version than from, 2: compare two"),
        ("from=4", 404, f"{key} has 3 versions, no version 4"),
        ("to=2", 422, "from: Field required"),
    ]:
        answer = client.get(f"/documents/{key}/compare?{query}")
        assert (answer.status_code, message in answer.text) == (status, True), query
    missing = client.get("/documents/whatsapp/business/compare?from=1")
    assert missing.status_code == 404 and f"did you mean {key}?" in missing.text


def test_the_api_compares_two_versions_as_the_page_does(db_url: str) -> None:
    """The compare page had no JSON: a script wanting all that changed since a version had to
    fetch both texts and every change between them, and sort the noise out itself."""
    engine = open_store(db_url)
    populate(engine)
    client = TestClient(create_app(engine, base_url="https://watch.example.org/pw/"))
    key = "whatsapp/business-solution-terms"
    compared = client.get(f"/api/documents/{key}/compare?from=3&to=1")  # either order
    assert compared.status_code == 200
    answer = compared.json()
    assert answer == client.get(f"/api/documents/{key.upper()}/compare?from=1").json()
    assert answer["key"] == key
    for side, seq in (("before", 1), ("after", 3)):
        version = client.get(f"/api/documents/{key}/versions/{seq}").json()
        assert answer[side] == {
            **{name: value for name, value in version.items() if name != "text"},
            "href": f"/pw/api/documents/{key}/versions/{seq}",
        }
    # The meaningful change between them as `history --json` gives it; the noise counted.
    [ban] = [row for row in changes_json(engine, list_changes(engine)) if row["key"] == key]
    assert (answer["changes"], answer["noise"]) == ([ban], 1)
    diff = answer["diff"].splitlines()
    assert diff[:2] == ["--- before", "+++ after"]
    assert f"+{RESTRICTION}" in diff  # the meaningful change and the noise, in one diff
    assert diff[-2:] == ["-Fees are charged per conversation.", "+Fees are charged per message."]
    quiet = client.get(f"/api/documents/{key}/compare?from=2&to=3").json()
    assert (quiet["changes"], quiet["noise"]) == ([], 1)
    # From the latest, nothing changed since: `compare KEY 3 --json`'s answer (was a 422).
    unchanged = client.get(f"/api/documents/{key}/compare?from=3")
    assert unchanged.status_code == 200
    since = unchanged.json()
    assert since["before"] == since["after"] == answer["after"]
    assert (since["changes"], since["noise"], since["diff"]) == ([], 0, "")
    same = client.get(f"/api/documents/{key}/compare?from=2&to=2")
    assert same.status_code == 422 and same.json()["detail"][0]["loc"] == ["query", "to"]
    for query, status, detail in [
        ("from=4", 404, f"{key} has 3 versions, no version 4"),
        (f"from=1&to={HUGE}", 404, f"{key} has 3 versions, no version {HUGE}"),
    ]:
        wrong = client.get(f"/api/documents/{key}/compare?{query}")
        assert (wrong.status_code, wrong.json()) == (status, {"detail": detail}), query
    missing = client.get("/api/documents/whatsapp/business/compare?from=1")
    meant = f"no document whatsapp/business (did you mean {key}?)"
    assert (missing.status_code, missing.json()) == (404, {"detail": meant})
    unnamed = client.get(f"/api/documents/{key}/compare?to=2")
    assert unnamed.status_code == 422 and unnamed.json()["detail"][0]["loc"] == ["query", "from"]
    schema = client.get("/api/openapi.json").json()
    compare = schema["paths"]["/api/documents/{key}/compare"]["get"]
    assert compare["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VersionsCompared"
    }
    assert "text" not in schema["components"]["schemas"]["ComparedVersion"]["properties"]


def test_a_comparison_lists_and_counts_the_versions_once(web_store: Engine) -> None:
    """The compare page listed the versions, then counted them again for each of its two
    versions; and a number past the last one was found missing, then the versions listed anew
    to say how many there are."""
    statements: list[str] = []
    event.listen(web_store, "before_cursor_execute", lambda *call: statements.append(call[2]))
    client = TestClient(create_app(web_store))
    compare = "/documents/whatsapp/business-solution-terms/compare"
    for query, status in (("from=1", 200), ("from=4", 404), ("from=1&to=3", 200)):
        statements.clear()
        assert client.get(f"{compare}?{query}").status_code == status, query
        listed = [s for s in statements if re.search(r"FROM version\b.*ORDER BY", s, re.S)]
        counted = [s for s in statements if re.search(r"count\(\*\).*FROM version\b", s, re.S)]
        assert (len(listed), len(counted)) == (1, 1 if status == 200 else 0), query


def test_a_version_not_there_is_a_404_that_says_what_is(client: TestClient) -> None:
    key = "whatsapp/business-solution-terms"
    for path, status, message in [
        (f"/documents/{key}/versions/4", 404, f"{key} has 3 versions, no version 4"),
        ("/documents/whatsapp/business/versions/1", 404, f"did you mean {key}?"),
        (f"/documents/{key}/versions/0", 422, "seq: Input should be greater than or equal to 1"),
    ]:
        for prefix in ("", "/api"):
            answer = client.get(prefix + path)
            assert answer.status_code == status, path
            # The API's 422 is FastAPI's list of errors: the message, without the page's `seq: `.
            said = str(answer.json()["detail"]) if prefix else answer.text
            assert message.removeprefix("seq: ") in said, prefix + path


def test_document_page_pages_its_changes(paged_client: TestClient) -> None:
    """It listed the first 500 changes and said nothing of the rest."""
    address = "/documents/whatsapp/business-solution-terms"
    first = paged_client.get(address).text
    assert summaries(first) == ["Wording of fees"] and "2 changes in all" in first
    changes = pages_nav(first, "changes")
    assert re.search(r'rel="next" href="\?page=2&amp;before=\d+"', changes)
    assert 'rel="prev"' not in changes
    second = paged_client.get(f"{address}?page=2").text
    changes = pages_nav(second, "changes")
    assert summaries(second)[0].startswith("AI providers") and 'rel="next"' not in changes
    assert 'rel="prev" href="?page=1"' in changes
    beyond = paged_client.get(f"{address}?page=3").text
    assert "No changes on page 3: there are only 2 pages." in beyond
    assert '<a href="?page=2">Go to page 2</a>' in beyond


def test_last_change_is_the_last_meaningful_one_and_noise_is_said_apart(
    client: TestClient, web_store: Engine
) -> None:
    """A flapping page's latest flap stood as its last change (Instagram's terms: 2026-08-21,
    where its last meaningful change was 2026-07-28). `last_changed` keeps its meaning for
    the scripts that read `documents --json`; the meaningful one stands beside it."""
    ban, noise = "2025-10-04 09:00 UTC", "2025-10-06 09:00 UTC"  # WhatsApp's two changes
    key = "whatsapp/business-solution-terms"
    [whatsapp] = [row for row in documents_json(web_store) if row["key"] == key]
    assert whatsapp["last_changed"].startswith("2025-10-06T09:00")
    assert whatsapp["last_meaningful_change"].startswith("2025-10-04T09:00")
    listed = client.get("/documents").text
    row = re.search(rf'<td><a href="/documents/{key}">.*?</tr>', listed, re.S)
    linked = f'<a href="/changes/1">{ban}</a>'  # the ban, a link to its change
    assert row and f"<td>{linked}</td>" in row[0] and f"<td>{noise}</td>" not in row[0]
    page = client.get(f"/documents/{key}").text
    assert f"<dt>Last meaningful change</dt><dd>{linked}</dd>" in page
    assert f"<dt>Last change, noise included</dt><dd>{noise}</dd>" in page
    openai = client.get("/documents/openai/usage-policies").text  # its last change meaningful
    assert "Last meaningful change" in openai and "noise included</dt>" not in openai


def link_targets(page: str) -> dict[str, set[str]]:
    """Where each link text of a page leads."""
    targets: dict[str, set[str]] = {}
    for href, words in re.findall(r'<a [^>]*href="([^"]*)"[^>]*>([^<]*)</a>', page):
        targets.setdefault(html.unescape(words), set()).add(href)
    return targets


def test_a_feed_link_says_whose_feed_it_is(client: TestClient) -> None:
    """A document's page had two links reading "Atom feed", the menu's (every change) and the
    document's own, and a change page's read "feed" alone: in a screen reader's list of links
    the two could not be told apart, nor the third placed."""
    key = "whatsapp/business-solution-terms"
    document = link_targets(client.get(f"/documents/{key}").text)
    assert document["Atom feed"] == {"/feeds/all.atom"}  # the menu's
    assert document["Atom feed of this document"] == {f"/feeds/document/{key}.atom"}
    change = link_targets(client.get("/changes/1").text)
    assert change["Atom feed of this document"] == {f"/feeds/document/{key}.atom"}
    assert "feed" not in change


def test_a_documents_last_meaningful_change_is_a_link_to_it(
    client: TestClient, web_store: Engine
) -> None:
    """The documents' list said when each last changed in earnest, but not which change that
    was: finding it meant paging through the document's changes, noise included (Instagram's
    terms: 756), for the one of that date. Each date now leads to its change; a document with
    no meaningful change has no link."""
    repo = Repository(web_store)
    repo.sync_documents([DocumentInfo("acme/terms", "Acme", "Terms", "https://acme.test/")])
    repo.record_text(
        "acme/terms", Attempt("https://acme.test/"), "# Terms\n", judge_with(verdict(None, ""))
    )
    listed = client.get("/documents").text
    for key, change in (("openai/usage-policies", 2), ("evil/terms", 4)):
        row = re.search(rf'<td><a href="/documents/{key}">.*?</tr>', listed, re.S)
        assert row and f'<a href="/changes/{change}">2025-10-0' in row[0], key
        page = client.get(f"/documents/{key}").text
        assert f'<dt>Last meaningful change</dt><dd><a href="/changes/{change}">' in page
    acme = re.search(r'<td><a href="/documents/acme/terms">.*?</tr>', listed, re.S)
    assert acme and "/changes/" not in acme[0] and "<td>—</td>" in acme[0]
    unchanged = client.get("/documents/acme/terms").text
    assert "<dt>Last meaningful change</dt><dd>—</dd>" in unchanged


def test_a_documents_page_says_how_few_of_its_changes_are_meaningful(
    client: TestClient,
) -> None:
    """A page that flaps buried its meaningful changes under pages of noise, unsaid."""
    page = client.get("/documents/whatsapp/business-solution-terms").text
    said = re.search(
        r"2 changes in all, noise included, newest first;\s+1 meaningful: (.*?)</p>", page
    )
    assert said, "the count of meaningful changes is not said"
    link = re.search(r'<a href="([^"]+)">it alone, on the timeline</a>', said[1])
    assert link
    assert summaries(client.get(link[1]).text) == [
        "AI providers barred from the WhatsApp Business Solution"
    ]
    openai = client.get("/documents/openai/usage-policies").text
    assert "meaningful" not in re.findall(r'<p class="count">(.*?)</p>', openai, re.S)[0]


def neighbours(client: TestClient, address: str) -> tuple[str | None, str | None]:
    """The change page's previous and next links."""
    page = client.get(address).text
    found = [re.search(f'rel="{rel}" href="([^"]+)"', page) for rel in ("prev", "next")]
    return found[0] and found[0][1], found[1] and found[1][1]


def test_a_poller_asking_after_the_last_id_it_was_given_misses_and_repeats_nothing(
    client: TestClient, web_store: Engine
) -> None:
    """A script polling `/api/changes` paged newest first by `offset`: a change recorded
    between two pages pushed the others down, and the next page repeated one. `after=ID` gives
    the changes recorded after ID, oldest first, however many arrive between two asks."""

    def poll(query: str) -> tuple[list[str], int]:
        answer = client.get(f"/api/changes?{query}")
        assert answer.status_code == 200, answer.text
        return [row["summary"] for row in answer.json()], int(answer.headers["X-Total-Count"])

    def ids(query: str) -> list[int]:
        return [row["id"] for row in client.get(f"/api/changes?{query}").json()]

    first = poll("after=0&limit=2")
    assert first == (
        ["AI providers barred from the WhatsApp Business Solution", "Scraping clause added"],
        3,
    )
    cursor = ids("after=0&limit=2")[-1]
    repository = Repository(web_store)
    for key, text, summary in (
        ("openai/usage-policies", f"{OPENAI_V1}\nNo training on outputs.", "Training clause"),
        ("whatsapp/business-solution-terms", f"{WHATSAPP_V3}\nNo bots.", "Bots barred"),
    ):
        judge = judge_with(verdict("medium", summary))
        repository.record_text(key, Attempt("https://example.com/"), text, judge)
    assert poll(f"after={cursor}&limit=2") == ([f"Summary {HOSTILE}", "Training clause"], 3)
    cursor = ids(f"after={cursor}&limit=2")[-1]
    assert poll(f"after={cursor}&limit=2") == (["Bots barred"], 1)
    assert poll(f"after={ids('limit=1')[0]}") == ([], 0)  # the newest: nothing since
    assert poll("after=0&service=openai") == (["Scraping clause added", "Training clause"], 2)
    for bad in ("-1", "x"):
        refused = client.get(f"/api/changes?after={bad}")
        assert refused.status_code == 422 and "after" in refused.text, bad


def test_a_poller_after_every_id_is_given_an_empty_list_on_either_store(db_url: str) -> None:
    """An `after` past what the store's integers hold was a 500 (PostgreSQL's "integer out of
    range", SQLite's driver past 2**63): it is after every change, so nothing."""
    engine = open_store(db_url)
    populate(engine)
    client = TestClient(create_app(engine))
    for after in (2**31 - 1, 2**31, 2**70):
        answer = client.get(f"/api/changes?after={after}")
        assert answer.status_code == 200 and answer.json() == [], after
        assert answer.headers["X-Total-Count"] == "0"
    engine.dispose()


def test_a_reworded_match_shows_the_words_it_lost_and_gained(
    client: TestClient, web_store: Engine
) -> None:
    """ "Up to 100 messages per second" alone hid that the limit had been 1,000: the feeds
    quote the old wording struck out, as alerts do; the change page shows the sentence once,
    its changed words marked (its two wordings whole, one above the other, hid the one word
    that changed in a long clause)."""
    key = "whatsapp/business-solution-terms"
    old, new = "Send up to 1,000 messages per second.", "Send up to 100 messages per second."
    limit = RuleMatch("rate-limits", "rate-limits", "medium", new, "changed", before=old)
    judge = judge_with(verdict("medium", "Rate limits changed", (limit,)))
    Repository(web_store).record_text(key, Attempt("https://w.example/"), WHATSAPP_V3 + new, judge)
    [change] = list_changes(web_store, document=key, limit=1)
    page = client.get(f"/changes/{change.id}").text
    reworded = (
        '<mark class="match">Send up to <del><span class="vh">removed: </span>1,000</del>'
        '<ins><span class="vh">added: </span>100</ins> messages per second.</mark>'
    )
    assert reworded in page
    assert old not in page.split('id="diff-title"')[0]  # not also whole above the diff
    newest = atom(client, f"/feeds/document/{key}.atom").find(f"{{{ATOM}}}entry/{{{ATOM}}}content")
    assert newest is not None
    assert f"<li><del>was: {old}</del><br>[rate-limits] {new}</li>" in (newest.text or "")


def test_a_matched_sentence_leads_to_its_section_of_the_diff(
    client: TestClient, web_store: Engine
) -> None:
    """Le Chat's rewrite changed 42 sections, 4 of them holding one of 7 matched sentences:
    nothing said which sentence stood where, and finding one meant searching the page."""
    ban = list_changes(web_store, min_severity="critical")[0]
    page = client.get(f"/changes/{ban.id}").text
    [place] = re.findall(r'<a class="place" href="#([^"]+)">in “Acceptable use”</a>', page)
    section = page.split(f'<h3 id="{place}"', 1)[1].split("</section>", 1)[0]
    assert 'class="insert flagged"' in section and RESTRICTION in section


def after_broken_captures(engine: Engine, *captures: str) -> tuple[list[ChangeRow], ChangeRow]:
    """Acme's terms, then each of `captures` (broken: "Redirecting…"), then the terms with a
    clause added, judged by the diff engine: the broken captures' changes and the last one."""
    acme = DocumentInfo("acme/terms", "Acme", "Terms", "https://acme.test/terms")
    repo = Repository(engine)
    repo.sync_documents([acme])
    general = "".join(f"Clause {n} of these terms applies to every business.\n" for n in range(40))
    policy = f"{WHATSAPP_V1}\n## General\n\n{general}"  # long enough to be seen to collapse
    for text in (policy, *captures, policy.replace(WHATSAPP_V1, WHATSAPP_V2)):
        repo.record_text(acme.key, Attempt(acme.url), text, assess)
    *broken, restored = list_changes(engine, document=acme.key, include_noise=True)[::-1]
    assert [change.reason for change in broken] == ["anomaly"] * len(captures)
    assert restored.meaningful
    return broken, restored


def test_a_change_after_a_broken_capture_shows_the_diff_it_was_judged_on(
    web_store: Engine,
) -> None:
    """Le Chat's terms read once as "Redirecting to legal.mistral.ai"; the next version was
    judged against the last sound one, but its page showed the diff from the broken text: the
    whole policy inserted, under counts and matches of another comparison."""
    [broken], restored = after_broken_captures(web_store, "Redirecting to acme.test")
    page = TestClient(create_app(web_store)).get(f"/changes/{restored.id}").text
    diff = page.split('id="diff-title"')[1]
    inserted = re.findall(r'<tr class="(insert[^"]*)"', diff)
    assert inserted == ["insert flagged"]  # the clause alone, not the whole policy
    assert "Redirecting" not in diff
    skipped = (
        f'the last capture that read right: <a href="/changes/{broken.id}?all=1">version 2</a>'
    )
    assert skipped in page
    assert 'from <a href="/documents/acme/terms/versions/1">version 1</a>' in page


def test_the_api_gives_a_change_after_broken_captures_the_diff_it_was_judged_on(
    web_store: Engine,
) -> None:
    """The page showed the diff the verdict was of, but `/api/changes/ID` still diffed from
    the broken text: the whole policy added, and nothing said the verdict was of other texts."""
    broken, restored = after_broken_captures(
        web_store, "Redirecting to acme.test", "Redirecting to acme.test/legal"
    )
    client = TestClient(create_app(web_store))
    shown = client.get(f"/api/changes/{restored.id}").json()
    versions = client.get("/api/documents/acme/terms").json()["version_list"]
    assert shown["skipped"] == [
        {"change_id": change.id, "version": change.to_version, "seq": seq}
        for change, seq in zip(broken, (2, 3), strict=True)
    ]
    assert shown["compared_with"] == versions[0]["id"] != shown["from_version"]
    assert "Redirecting" not in shown["diff"]
    added = [line for line in shown["diff"].splitlines() if line.startswith("+")]
    assert len(added) == 3 and RESTRICTION in added[-1]  # "+++ after", the date, the clause
    # The broken capture itself: judged against the last sound version too.
    second = client.get(f"/api/changes/{broken[1].id}").json()
    assert second["skipped"] == shown["skipped"][:1]
    assert second["compared_with"] == shown["compared_with"]


def test_a_removed_match_reads_as_removed(client: TestClient, web_store: Engine) -> None:
    """A clause the page dropped was highlighted as the added ones are: only the small word
    "removed" beside it told a reader the restriction was gone, not new."""
    key = "whatsapp/business-solution-terms"
    judge = judge_with(
        verdict(
            "high",
            "Restriction lifted",
            (RuleMatch("ai-restricted", "ai-restriction", "high", RESTRICTION, "removed"),),
        )
    )
    Repository(web_store).record_text(key, Attempt("https://w.example/"), WHATSAPP_V1, judge)
    [change] = list_changes(web_store, document=key, limit=1)
    page = client.get(f"/changes/{change.id}").text
    struck = f'<mark class="match"><del><span class="vh">removed: </span>{RESTRICTION}</del></mark>'
    assert struck in page


def test_a_change_the_page_has_since_undone_says_so(client: TestClient, web_store: Engine) -> None:
    """A clause withdrawn a week later stood on the timeline as the page's last word."""
    key = "openai/usage-policies"
    [scraping] = list_changes(web_store, document=key)
    back = judge_with(verdict(None, "Back to a version seen before", meaningful=False))
    Repository(web_store).record_text(key, Attempt("https://openai.com/p"), OPENAI_V1, back)
    [undo] = list_changes(web_store, document=key, include_noise=True, limit=1)
    page = client.get(f"/changes/{scraping.id}").text
    assert f'Reverted: since <a href="/changes/{undo.id}?all=1">change {undo.id}</a>' in page
    entry = client.get(f"/?document={key}").text
    assert '<span class="reverted">reverted <time' in entry
    assert "Reverted:" not in client.get(f"/changes/{undo.id}?all=1").text  # noise: no verdict
    # Scripts learn it too, from the API as from `history --json`.
    reverted = {"change_id": undo.id, "detected_at": undo.detected_at.isoformat()}
    listed = {row["id"]: row["reverted"] for row in client.get("/api/changes?all=1").json()}
    assert (listed[scraping.id], listed[undo.id]) == (reverted, None)
    assert client.get(f"/api/changes/{scraping.id}").json()["reverted"] == reverted


def test_a_change_read_under_a_new_declaration_says_so(
    client: TestClient, web_store: Engine
) -> None:
    """Such a change is not alerted; the page says why, or its reader takes the selectors'
    doing for the platform's."""
    key = "whatsapp/business-solution-terms"
    repository = Repository(web_store)
    repository.mark_redeclared([key])
    judge = judge_with(verdict("low", "1 section added"))
    repository.record_text(key, Attempt("https://w.example/"), WHATSAPP_V3 + "\nMenu\n", judge)
    [change] = list_changes(web_store, document=key, limit=1)
    assert "declaration (its URL, selectors" in client.get(f"/changes/{change.id}").text
    timeline = client.get(f"/?document={key}").text
    assert '<span class="redeclared" title="Read right after' in timeline
    assert client.get(f"/api/changes/{change.id}").json()["redeclared"] is True
    assert "declaration changed" in client.get("/feeds/all.atom").text


def test_a_verdict_given_anew_says_when_and_that_it_alerted_no_one(
    client: TestClient, web_store: Engine
) -> None:
    key = "openai/usage-policies"
    [change] = list_changes(web_store, document=key)
    assert "Judged again" not in client.get(f"/changes/{change.id}").text
    rejudge(web_store, key, judge_with(verdict("critical", "Scraping barred")))
    page = client.get(f"/changes/{change.id}").text
    assert "Judged again <time" in page and "no alert was sent for this verdict" in page


def test_change_neighbours_step_over_noise_unless_it_is_shown(
    client: TestClient, web_store: Engine
) -> None:
    """Next led from a critical change to a cosmetic one the timeline hides; it steps over noise,
    unless the change was opened from a list that shows noise (`?all=1`, which it keeps)."""
    key = "whatsapp/business-solution-terms"
    later = WHATSAPP_V3 + "\nA new clause.\n"
    judge = judge_with(verdict("low", "A new clause"))
    Repository(web_store).record_text(key, Attempt("https://w.example/"), later, judge)
    clause, fees, ban = list_changes(web_store, document=key, include_noise=True)
    meaningful = (f"/changes/{ban.id}", f"/changes/{clause.id}")
    assert neighbours(client, f"/changes/{ban.id}") == (None, meaningful[1])
    assert neighbours(client, f"/changes/{clause.id}") == (meaningful[0], None)
    assert neighbours(client, f"/changes/{fees.id}") == meaningful
    everything = (f"/changes/{ban.id}?all=1", f"/changes/{clause.id}?all=1")
    assert neighbours(client, f"/changes/{fees.id}?all=1") == everything
    assert neighbours(client, f"/changes/{ban.id}?all=1")[1] == f"/changes/{fees.id}?all=1"
    assert f'href="/changes/{fees.id}?all=1"' in client.get(f"/documents/{key}").text
    assert f'href="/changes/{ban.id}?all=1"' in client.get("/?all=1").text
    assert f'href="/changes/{ban.id}"' in client.get("/").text
    # Switching between side by side and inline keeps it too.
    inline = client.get(f"/changes/{fees.id}?all=1").text
    assert 'href="?view=inline&amp;all=1"' in inline
    assert 'href="?view=side&amp;all=1"' in client.get(f"/changes/{fees.id}?all=1&view=inline").text
    assert 'href="?view=inline"' in client.get(f"/changes/{fees.id}").text


def test_api_matches_cli_json(client: TestClient, web_store: Engine) -> None:
    rows = client.get("/api/changes?all=1").json()
    assert rows == changes_json(web_store, list_changes(web_store, include_noise=True))
    one = client.get(f"/api/changes/{rows[0]['id']}").json()
    assert set(one) == {*rows[0], "compared_with", "skipped", "diff"}
    assert one["diff"].startswith("--- before") and one["skipped"] == []
    assert one["compared_with"] == one["from_version"]
    page = client.get("/api/changes?all=1&limit=1&offset=1")
    assert page.json()[0]["id"] == rows[1]["id"]
    # How many the selection holds, beyond the page: a client knows whether to ask for more.
    assert page.headers["x-total-count"] == str(len(rows)) != "1"
    documents = client.get("/api/documents").json()
    assert {d["key"] for d in documents} >= {"openai/usage-policies"}
    assert documents == documents_json(web_store)  # what `documents --json` gives
    assert all(document["failed_deliveries"] == 0 for document in documents)
    assert documents[1]["issue"]["kind"] == "timeout"
    detail = client.get("/api/documents/openai/usage-policies").json()
    assert [v["seq"] for v in detail["version_list"]] == [1, 2]
    # A change names its versions by id (global to the store): the version list gives them too.
    [change] = client.get("/api/changes?all=1&document=openai/usage-policies").json()
    ids = [v["id"] for v in detail["version_list"]]
    assert ids == [change["from_version"], change["to_version"]] != [1, 2]
    # The documents --json object plus version_list, as the README says: failed_deliveries too.
    assert {**documents[1], "version_list": detail["version_list"]} == detail
    schema = client.get("/api/openapi.json").json()
    assert {"/api/changes", "/api/changes/{change_id}", "/api/documents"} <= set(schema["paths"])
    assert "reverted" in schema["components"]["schemas"]["ChangeEntry"]["properties"]
    for name in ("DocumentEntry", "DocumentWithVersions"):
        assert "failed_deliveries" in schema["components"]["schemas"][name]["properties"], name


def test_api_has_its_schema_and_no_page_from_a_cdn(client: TestClient) -> None:
    """Swagger UI's scripts came from a CDN, unreachable offline and exempt from the CSP: the
    schema stays, the page that needed them is gone, and the menu's API link leads to the schema."""
    assert client.get("/api/docs").status_code == 404
    schema = client.get("/api/openapi.json")
    assert schema.json()["info"]["title"] == "policywatch"
    assert schema.headers["content-security-policy"].startswith("default-src 'none'")
    assert '<a href="/api/openapi.json">API</a>' in client.get("/").text


@pytest.mark.parametrize(
    "path",
    [
        "/feeds/all.atom",
        "/feeds/service/WhatsApp.atom",
        "/feeds/document/whatsapp/business-solution-terms.atom",
        "/feeds/severity/high.atom",
        "/feeds/all.atom?category=ai-restriction&all=1",
    ],
)
def test_feeds_are_valid_atom(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.entries
    for entry in feed.entries:
        assert entry.link.startswith("http://testserver/changes/")


def test_feed_selections(client: TestClient) -> None:
    titles = [
        e.title for e in feedparser.parse(client.get("/feeds/severity/high.atom").content).entries
    ]
    assert len(titles) == 2 and titles[1].startswith("[critical] WhatsApp")
    [ban] = feedparser.parse(client.get("/feeds/severity/critical.atom").content).entries
    assert ban.content[0].value.count(RESTRICTION) == 1
    assert "[ai-providers-prohibited, api-access-restricted]" in ban.content[0].value
    whatsapp = feedparser.parse(client.get("/feeds/service/whatsapp.atom").content)
    assert [e.title[:10] for e in whatsapp.entries] == ["[critical]"]
    assert client.get("/feeds/severity/huge.atom").status_code == 404
    shouted = feedparser.parse(client.get("/feeds/severity/CRITICAL.atom").content).entries
    assert [e.title for e in shouted] == [ban.title]
    assert client.head("/feeds/all.atom").status_code == 200  # feed readers probe with HEAD
    empty = feedparser.parse(client.get("/feeds/service/nobody.atom").content)
    assert empty.bozo == 0 and empty.entries == []


def test_feed_base_url(web_store: Engine) -> None:
    client = TestClient(create_app(web_store, base_url="https://watch.example.org/pw"))
    feed = feedparser.parse(client.get("/feeds/all.atom").content)
    assert feed.entries[0].link.startswith("https://watch.example.org/pw/changes/")


def test_a_page_names_its_own_feed_first_for_a_feed_reader(client: TestClient) -> None:
    """A feed reader given a page's address subscribes to the first feed its head names: that of
    all changes came first everywhere, so a filtered timeline's, or a document's, was not had by
    its address."""
    for path, feed, title in [
        (
            "/?service=WhatsApp&min_severity=high",
            "/feeds/all.atom?service=WhatsApp&min_severity=high",
            "policywatch: WhatsApp, high and above",
        ),
        (
            "/documents/openai/usage-policies",
            "/feeds/document/openai/usage-policies.atom",
            "openai/usage-policies",
        ),
        ("/", "/feeds/all.atom", "policywatch: all changes"),
    ]:
        head = etree.HTML(client.get(path).text).find("head")
        first = head.find("link[@type='application/atom+xml']")
        assert (first.get("href"), first.get("title")) == (feed, title), path
        assert client.get(feed).status_code == 200


def test_feeds_of_odd_names_have_valid_ids_plain_titles_and_their_page(web_store: Engine) -> None:
    """A service named `AT&T <Beta>`, a key with a space and an accent: feed ids were raw text
    (not IRIs), and every feed's HTML page was the site's front page, whatever it selected."""
    odd = DocumentInfo("at-t/conditions générales", "AT&T <Beta>", "Conditions", "https://a.t/")
    repo = Repository(web_store)
    repo.sync_documents([odd])
    for text in ("# Fees\n\nLow.\n", "# Fees\n\nHigh.\n"):
        repo.record_text(odd.key, Attempt(odd.url), text, judge_with(verdict("low", "Fees & <b>")))
    client = TestClient(create_app(web_store, base_url="https://watch.example.org/pw"))
    site = "https://watch.example.org/pw/"
    for path, title, page in [
        ("service/AT%26T%20%3CBeta%3E", "AT&T <Beta>", "?service=AT%26T+%3CBeta%3E"),
        ("document/at-t/conditions%20g%C3%A9n%C3%A9rales", odd.key, "?document=at-t%2F"),
        ("all", "all changes", ""),
    ]:
        feed = etree.fromstring(client.get(f"/feeds/{path}.atom").content)
        assert feed.findtext(f"{{{ATOM}}}title") == f"policywatch: {title}"
        assert feed.find(f"{{{ATOM}}}link[@rel='alternate']").get("href").startswith(site + page)
        entry = feed.find(f"{{{ATOM}}}entry")
        assert entry.findtext(f"{{{ATOM}}}title") == "[low] AT&T <Beta> · Conditions: Fees & <b>"
        for iri in feed.iter(f"{{{ATOM}}}id"):
            assert iri.text == quote(iri.text or "", safe=":/?=&+%"), iri.text


THREADS_V1 = "# Threads terms\n\n## Data\n\nWe keep your posts.\n"
THREADS_V2 = THREADS_V1 + "Messages are kept for 30 < 60 days & more.\n"


@pytest.fixture
def threads_client(web_store: Engine) -> TestClient:
    """The web store plus an imported Threads document (a `file://` source) whose change no
    rule matched, judged by the real engine."""
    imported = DocumentInfo("threads/terms", "Threads", "Terms", "file:///srv/ota/Threads/Terms")
    repo = Repository(web_store)
    repo.sync_documents([imported])
    for text in (THREADS_V1, THREADS_V2):
        repo.record_text(imported.key, Attempt(imported.url), text, assess, imported=True)
    return TestClient(create_app(web_store))


def atom(client: TestClient, path: str) -> etree._Element:
    response = client.get(path)
    assert response.status_code == 200, path
    return etree.fromstring(response.content)


def test_a_feed_reader_polling_an_unchanged_feed_is_told_so_in_a_304(
    client: TestClient, web_store: Engine
) -> None:
    """A feed had no ETag: a reader polling every few minutes was sent its 50 entries each
    time. It sends the tag it holds and is answered 304, without the feed, until the feed
    changes: a new change, or a change rejudged."""
    path = "/feeds/service/openai.atom"
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('W/"')
    assert [entry.title for entry in feedparser.parse(first.content).entries] == [
        "[low] OpenAI · Usage Policies: Scraping clause added"
    ]
    for held in (etag, etag.removeprefix("W/"), f'"other", {etag}'):  # as readers send it
        unchanged = client.get(path, headers={"If-None-Match": held})
        assert unchanged.status_code == 304 and unchanged.content == b"", held
        assert unchanged.headers["ETag"] == etag
    assert client.head(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    judge = judge_with(verdict("medium", "Training clause"))
    text = f"{OPENAI_V1}\nNo training on outputs."
    Repository(web_store).record_text(
        "openai/usage-policies", Attempt("https://o.example/"), text, judge
    )
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert feedparser.parse(changed.content).entries[0].title.endswith("Training clause")


def test_a_change_judged_anew_is_updated_in_the_feeds(
    client: TestClient, web_store: Engine
) -> None:
    """An entry's `updated` was when its change was found, judged anew or not: a reader kept
    its first summary and severity. It is when it was last judged, `published` when found."""
    key = "openai/usage-policies"
    [change] = list_changes(web_store, document=key)
    rejudge(web_store, key, judge_with(verdict("critical", "Scraping barred")))
    [rejudged] = list_changes(web_store, document=key)
    assert rejudged.rejudged_at and rejudged.rejudged_at > change.detected_at
    feed = feedparser.parse(client.get("/feeds/all.atom").content)
    entry = next(entry for entry in feed.entries if entry.link.endswith(f"/changes/{change.id}"))
    assert entry.title.endswith("Scraping barred")
    assert entry.updated == rejudged.rejudged_at.isoformat()
    assert entry.published == change.detected_at.isoformat()
    assert feed.feed.updated == entry.updated  # the newest found is older than the verdict


def test_a_feed_is_titled_by_its_selection_under_one_canonical_id(
    threads_client: TestClient,
) -> None:
    """The timeline's filtered feed was "all changes"; a service typed in lower case titled its
    feed so; and one selection reached by two addresses (a service as a path or a parameter, in
    either case) had two ids: two feeds to a reader."""
    filtered = atom(threads_client, "/feeds/all.atom?service=threads&min_severity=LOW")
    assert filtered.findtext(f"{{{ATOM}}}title") == "policywatch: Threads, low and above"
    assert self_link(filtered) == "http://testserver/feeds/service/threads.atom?min_severity=low"
    typed_so = atom(threads_client, "/feeds/service/Threads.atom?min_severity=low")
    assert feed_key(typed_so) == feed_key(filtered)
    keys = set()
    for path in (
        "/feeds/service/threads.atom",
        "/feeds/service/THREADS.atom?service=x",
        "/feeds/all.atom?service=Threads",
    ):
        feed = atom(threads_client, path)
        assert feed.findtext(f"{{{ATOM}}}title") == "policywatch: Threads"
        keys.add(feed_key(feed))
    assert keys == {("http://testserver/feeds/service/threads.atom", feed_id(feed))}
    noisy = atom(threads_client, "/feeds/all.atom?min_severity=high&all=1&since=2025-10-02")
    assert noisy.findtext(f"{{{ATOM}}}title") == (
        "policywatch: high and above, from 2025-10-02, noise included"
    )
    assert self_link(noisy).endswith("/feeds/severity/high.atom?since=2025-10-02&all=1")


def self_link(feed: etree._Element) -> str:
    return str(feed.find(f"{{{ATOM}}}link[@rel='self']").get("href"))  # type: ignore[union-attr]


def feed_id(feed: etree._Element) -> str:
    return feed.findtext(f"{{{ATOM}}}id") or ""


def feed_key(feed: etree._Element) -> tuple[str, str]:
    """What tells a reader it holds the same feed: its address and its id."""
    return self_link(feed), feed_id(feed)


def test_a_service_is_named_by_its_slug_as_crawl_only_takes_it(tmp_path: Path) -> None:
    """`crawl --only acme-messenger` takes a service by the slug its keys begin with; the feed
    `/feeds/service/acme-messenger.atom` was empty, a subscription that never said a word."""
    acme = DocumentInfo("acme-messenger/terms", "Acme Messenger", "Terms", "https://acme.test")
    history = History(f"sqlite:///{tmp_path / 'acme.sqlite3'}", [acme, WHATSAPP])
    history.change(acme, summary="Bots barred")
    history.change(WHATSAPP, summary="AI providers barred")
    client = TestClient(create_app(history.engine))
    feed = atom(client, "/feeds/service/acme-messenger.atom")
    assert [e.findtext(f"{{{ATOM}}}title") for e in feed.iter(f"{{{ATOM}}}entry")] == [
        "[critical] Acme Messenger · Terms: Bots barred"
    ]
    assert feed.findtext(f"{{{ATOM}}}title") == "policywatch: Acme Messenger"
    assert self_link(feed) == "http://testserver/feeds/service/acme%20messenger.atom"
    assert "Bots barred" in client.get("/?service=acme-messenger").text
    assert "AI providers barred" not in client.get("/?service=acme-messenger").text
    assert atom(client, "/feeds/service/acme.atom").find(f"{{{ATOM}}}entry") is None


def test_a_feed_entry_is_html_quoting_what_changed(threads_client: TestClient) -> None:
    """A change no rule matched said only "1 sentence added"; lines ran together as text; an
    imported document's `file://` folder was a link."""
    [entry] = atom(threads_client, "/feeds/service/threads.atom").iter(f"{{{ATOM}}}entry")
    content = entry.find(f"{{{ATOM}}}content")
    assert content.get("type") == "html"
    assert content.text == (
        "<p>1 sentence added in \u201cData\u201d</p><p>Severity: low</p>"
        "<ul><li>added: Messages are kept for 30 &lt; 60 days &amp; more.</li></ul>"
    )
    assert entry.find(f"{{{ATOM}}}link[@rel='related']") is None
    [ban] = atom(threads_client, "/feeds/severity/critical.atom").iter(f"{{{ATOM}}}entry")
    assert ban.find(f"{{{ATOM}}}link[@rel='related']").get("href").startswith("https://")
    assert f"<li>[ai-providers-prohibited, api-access-restricted] {RESTRICTION}</li>" in (
        ban.findtext(f"{{{ATOM}}}content") or ""
    )


def test_a_document_feed_needs_a_key(client: TestClient) -> None:
    """`/feeds/document/.atom` selected every document's changes, titled "policywatch: "."""
    for path in ("/feeds/document/.atom", "/feeds/document//.atom"):
        assert client.get(path).status_code == 404, path


def test_hostile_content_is_shown_as_text(client: TestClient, web_store: Engine) -> None:
    evil = list_changes(web_store, service=f"Evil{HOSTILE}")[0]
    pages = [
        client.get("/").text,
        client.get(f"/changes/{evil.id}").text,
        client.get(f"/changes/{evil.id}?view=inline").text,
        client.get("/documents").text,
        client.get("/documents/evil/terms").text,
    ]
    for page in pages:
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;" in page
        assert 'href="javascript:' not in page  # the hostile source URL is not a link
        assert 'href="#"' not in page  # nor a dead one
    feed = client.get("/feeds/all.atom").text
    assert "<script>" not in feed and "&lt;script&gt;" in feed
    assert feedparser.parse(feed.encode()).bozo == 0
    headers = client.get("/").headers
    assert "script-src" not in headers["content-security-policy"]  # default-src 'none' rules
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert headers["x-frame-options"] == "DENY"  # no page framed by another site to be clicked
    assert headers["x-content-type-options"] == "nosniff"


def test_pages_feeds_and_the_api_travel_compressed(client: TestClient) -> None:
    """A change page of a long policy is 800 KB of HTML: sent as it is, seconds on a phone's
    network, where 96 KB compressed would do."""
    for path in ("/", "/changes/1", "/feeds/all.atom?all=1", "/api/changes?all=1"):
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.headers.get("content-encoding") == "gzip", path
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    plain = client.get("/changes/1", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and "<h1>" in plain.text


def test_pages_make_no_link_from_the_host_header(client: TestClient) -> None:
    """A forged Host header must not steer the stylesheet or any link to another site."""
    for path in ("/", "/documents", "/no/such/page"):
        page = client.get(path, headers={"Host": "evil.example"}).text
        assert "evil.example" not in page, path
        assert '<link rel="stylesheet" href="/static/style.css">' in page


def test_token_guards_all_but_feeds(web_store: Engine) -> None:
    client = TestClient(create_app(web_store, token="s3cret"))
    for path in ("/", "/api/changes", "/changes/1", "/api/openapi.json", "/documents"):
        assert client.get(path).status_code == 401, path
    assert client.get("/feeds/all.atom").status_code == 200
    assert client.get("/static/style.css").status_code == 200
    icon = client.get("/favicon.ico")  # browsers ask before they have the token
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.content == client.get("/static/favicon.svg").content
    assert client.get("/api/changes", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/changes", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    first = client.get("/documents/openai/usage-policies?all=1&token=s3cret")
    assert first.status_code == 200 and "s3cret" not in first.text
    # Kept in a cookie, the token leaves the address: the history and bookmarks never hold it.
    [redirect] = first.history
    assert redirect.status_code == 303 and "httponly" in redirect.headers["set-cookie"].lower()
    assert redirect.headers["location"] == "/documents/openai/usage-policies?all=1"
    assert client.get("/documents").status_code == 200  # the cookie now carries it


def test_what_the_token_guards_is_kept_from_shared_caches(web_store: Engine) -> None:
    """A page or API answer opened with the token carried no Cache-Control: a caching proxy or
    CDN in front (the TLS proxy the README asks for) could keep it and hand it to anyone
    without the token, as the cookie, unlike the Authorization header, does not stop it.
    Guarded answers are now `private`; the feeds, public anyway, stay cacheable."""
    client = TestClient(create_app(web_store, token="s3cret"))
    bearer = {"Authorization": "Bearer s3cret"}
    for path in ("/", "/api/changes", "/documents", "/changes/1", "/api/openapi.json"):
        answer = client.get(path, headers=bearer)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "private", path
    assert "cache-control" not in client.get("/feeds/all.atom").headers
    assert "cache-control" not in TestClient(create_app(web_store)).get("/").headers


def test_pages_served_under_the_base_urls_path_link_under_it(web_store: Engine) -> None:
    """Proxied at https://watch.example.org/pw/ (the proxy strips /pw), every page linked to
    /static/style.css, /changes/… and /documents: unstyled, and every link led off the app;
    the token's cookie was sent to every other site of the proxy (its path was `/`)."""
    client = TestClient(create_app(web_store, token="s3cret", base_url="https://x.example/pw/"))
    first = client.get("/documents?all=1&token=s3cret", follow_redirects=False)
    assert first.headers["location"] == "/pw/documents?all=1"
    # The cookie goes back to the app alone, not to every other site the proxy serves.
    assert "; path=/pw;" in first.headers["set-cookie"].lower()
    client.cookies.set("policywatch_token", "s3cret")
    for path in ("/", "/documents", f"/changes/{list_changes(web_store)[0].id}", "/nowhere"):
        page = client.get(path).text
        links = re.findall(r'(?:href|action|src)="(/[^"]*)"', page)
        assert links and all(link.startswith("/pw/") for link in links), (path, links)


def test_without_the_token_a_browser_is_told_how_to_open_the_page(web_store: Engine) -> None:
    client = TestClient(create_app(web_store, token="s3cret"))
    page = client.get("/documents", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 401 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Token required</h1>" in page.text and "?token=YOUR-TOKEN" in page.text
    script = client.get("/api/changes", headers={"Accept": "application/json"})
    assert script.status_code == 401 and script.headers["content-type"] == "application/json"
    assert script.headers["www-authenticate"] == "Bearer"
    sideways = client.get("/%2F/evil.example/?token=s3cret", follow_redirects=False)
    assert sideways.headers["location"] == "/evil.example/"  # a path here, not another host


def test_a_wrong_token_is_called_wrong_and_not_echoed(web_store: Engine) -> None:
    """A mistyped token was answered "a token is required", as if none had been given."""
    client = TestClient(create_app(web_store, token="s3cret"))
    script = client.get("/api/changes", headers={"Authorization": "Bearer n0pe"})
    assert script.status_code == 401 and "the token given is wrong" in script.text
    page = client.get("/?token=n0pe", headers={"Accept": "text/html"})
    assert page.status_code == 401 and "The token given is not the one" in page.text
    assert "n0pe" not in script.text + page.text
    assert "a token is required" in client.get("/api/changes").text  # none given: required


def test_the_apis_401_is_json_as_its_other_errors_are(web_store: Engine) -> None:
    """`/api/…` without the token answered a line of plain text, where every other error of
    the API is JSON: a script's `response.json()` failed on it, before it could say why."""
    client = TestClient(create_app(web_store, token="s3cret"))
    for headers, said in (
        ({}, "401: a token is required (Authorization: Bearer, or ?token=)"),
        ({"Authorization": "Bearer n0pe"}, "401: the token given is wrong"),
    ):
        answer = client.get("/api/changes", headers=headers)
        assert (answer.status_code, answer.headers["content-type"]) == (401, "application/json")
        assert answer.json()["detail"].startswith(said.removeprefix("401: ")), headers
        assert answer.headers["www-authenticate"] == "Bearer"
        page = client.get("/documents", headers=headers)  # curl on a page: a line of text
        assert page.text.startswith(said) and page.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("base_url", "address", "secure"),
    [
        (None, "http://testserver", False),
        (None, "https://testserver", True),  # TLS straight to the app
        ("https://watch.example.org/", "http://testserver", True),  # behind a TLS proxy
    ],
)
def test_the_token_cookie_is_secure_over_https(
    web_store: Engine, base_url: str | None, address: str, secure: bool
) -> None:
    """Opened over https, the cookie holding the token was still sent over plain http too."""
    app = create_app(web_store, token="s3cret", base_url=base_url)
    answer = TestClient(app, base_url=address).get("/?token=s3cret", follow_redirects=False)
    assert answer.status_code == 303
    assert ("; secure" in answer.headers["set-cookie"].lower()) is secure


def test_serve_binds_public_address_only_with_token(
    served: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = served.started
    first, second = str(free_port()), str(free_port())
    refused = served("--host", "0.0.0.0", "--port", first)
    assert refused.exit_code == 2 and "token" in refused.output and not started
    assert served("--port", first).exit_code == 0
    monkeypatch.setenv("POLICYWATCH_TOKEN", SERVE_TOKEN)
    assert served("--host", "0.0.0.0", "--port", second).exit_code == 0
    assert started == [
        {"host": "127.0.0.1", "port": int(first), "log_level": "warning"},
        {"host": "0.0.0.0", "port": int(second), "log_level": "warning"},
    ]
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        busy = served("--port", port)
    assert busy.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in busy.output
    assert "choose another port with --port" in " ".join(busy.output.split())
    assert len(started) == 2 and "serving on" not in busy.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_served_without_a_token_it_answers_only_to_this_machines_names(
    served: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a token (on loopback), any name the browser was given for the address was
    answered: a web page the user opened could have its own name resolve anew to 127.0.0.1
    (DNS rebinding) and read every page and the API as its own. A request must now name this
    machine, or the base URL's host (a proxy's); a token, when set, guards instead."""
    port = str(free_port())
    assert served("--port", port).exit_code == 0
    assert served("--port", port, "--base-url", "https://watch.example.org/").exit_code == 0
    monkeypatch.setenv("POLICYWATCH_TOKEN", SERVE_TOKEN)
    assert served("--host", "0.0.0.0", "--port", port).exit_code == 0
    local, proxied, guarded = (TestClient(app) for app in served.apps)
    for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "LOCALHOST"):
        assert local.get("/", headers={"Host": host}).status_code == 200, host
    for host in ("rebound.example:8000", "watch.example.org", ""):
        refused = local.get("/api/changes", headers={"Host": host})
        assert refused.status_code == 421, host
        assert "only to this machine's names" in refused.text
        assert refused.headers["content-security-policy"].startswith("default-src 'none'")
    assert local.get("/feeds/all.atom", headers={"Host": "rebound.example"}).status_code == 421
    assert proxied.get("/", headers={"Host": "watch.example.org"}).status_code == 200
    assert proxied.get("/", headers={"Host": "rebound.example"}).status_code == 421
    bearer = {"Host": "192.168.1.5:8000", "Authorization": f"Bearer {SERVE_TOKEN}"}
    assert guarded.get("/", headers=bearer).status_code == 200


def test_serve_refuses_a_short_token_and_says_where_a_long_one_is_kept_private(
    served: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any token was taken, one letter long; and one given with --token is in `ps` for every
    user of the machine to read, which POLICYWATCH_TOKEN is not."""
    public = ["--host", "0.0.0.0", "--port", str(free_port())]
    short = served(*public, "--token", SERVE_TOKEN[:15])
    said = " ".join(short.output.split())
    assert short.exit_code == 2 and not served.started, short.output
    assert "the token given by --token is 15 characters long" in said
    assert "at least 16; make one with openssl rand -hex 16" in said
    assert SERVE_TOKEN[:15] not in short.output  # never echoed
    monkeypatch.setenv("POLICYWATCH_TOKEN", "x")
    from_env = served("--port", str(free_port()))  # on loopback too
    assert from_env.exit_code == 2 and "given by POLICYWATCH_TOKEN is 1 characters" in (
        " ".join(from_env.output.split())
    )

    given = served(*public, "--token", SERVE_TOKEN)
    assert given.exit_code == 0 and len(served.started) == 1
    assert "set POLICYWATCH_TOKEN instead" in " ".join(given.output.split())
    assert SERVE_TOKEN not in given.output
    monkeypatch.setenv("POLICYWATCH_TOKEN", SERVE_TOKEN)
    kept = served(*public)
    assert kept.exit_code == 0 and len(served.started) == 2
    assert "POLICYWATCH_TOKEN" not in kept.output


def test_serve_off_loopback_without_https_says_the_token_crosses_in_clear_text(
    served: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bound off loopback with no TLS proxy in front (no `https://` base URL), the token and
    every page cross the network in plain http, and nothing said so."""
    monkeypatch.setenv("POLICYWATCH_TOKEN", SERVE_TOKEN)
    public = ["--host", "0.0.0.0", "--port", str(free_port())]
    plain = " ".join(served(*public).output.split())
    assert "the token and every page cross the network in clear text" in plain
    assert "--base-url https://" in plain and SERVE_TOKEN not in plain
    assert "clear text" not in served(*public, "--base-url", "https://watch.example.org/").output
    assert "clear text" not in served("--port", str(free_port())).output  # loopback
    assert len(served.started) == 3


def test_days_left() -> None:
    from datetime import date

    today = date(2026, 1, 1)
    assert days_left(date(2026, 1, 15), today) == "14 days left"
    assert days_left(date(2026, 1, 2), today) == "1 day left"
    assert days_left(today, today) == "takes effect today"
    assert days_left(date(2025, 12, 30), today) == "in effect for 2 days"
    assert days_left(None, today) == ""


def test_diff_sections_fold_unchanged_runs() -> None:
    old = "# A\n\n" + "\n".join(f"line {n} of the list" for n in range(10)) + "\n# B\n\nsame\n"
    new = old.replace("line 5 of", "line five of").replace("# B", "# B\n\nNew   CLAUSE here.")
    a, b = sections(old, new, ["new clause here."])
    assert (a.title, a.changed, b.title, b.changed) == ("A", True, "B", True)
    shown = a.visible_rows()
    assert shown[0] is None and shown[-1] is None  # unchanged runs folded to a gap
    [edited] = [row for row in shown if row and row.kind != "equal"]
    assert [span.text for span in edited.inline if span.kind != "same"] == ["5", "five"]
    assert [row.new_no for row in b.rows if row.flagged] == [15]  # whitespace, case folded
    assert sections("same\n", "same\n")[0].changed is False


def test_pages_answer_head_as_uptime_checks_send_it(client: TestClient) -> None:
    change_id = client.get("/api/changes").json()[0]["id"]
    for path in ("/", f"/changes/{change_id}", "/documents", "/documents/openai/usage-policies"):
        assert client.head(path).status_code == client.get(path).status_code == 200, path
    assert client.head("/changes/999999").status_code == 404
    # The API's counts are in its headers, which a client may read without the list.
    for path, header in (
        ("/api/changes", "X-Total-Count"),
        ("/api/upcoming?within=0", "X-Unstated-Count"),
    ):
        head, get = client.head(path), client.get(path)
        assert (head.status_code, head.content) == (200, b""), path
        assert head.headers[header] == get.headers[header], path


def test_every_get_route_answers_head(web_store: Engine) -> None:
    """A monitor or a link checker sends HEAD: `/api/documents`, `/api/changes/ID`,
    `/favicon.ico` answered it 405, where only the routes declared with HEAD took it."""
    app = create_app(web_store)
    client = TestClient(app)
    change_id = client.get("/api/changes").json()[0]["id"]
    values = {
        "change_id": str(change_id),
        "key": "openai/usage-policies",
        "seq": "1",
        "name": "OpenAI",
        "level": "high",
    }
    declared = [*app.routes, *api.router.routes, *feeds.router.routes, *pages.router.routes]
    routes = [route.path for route in declared if "GET" in getattr(route, "methods", ())]
    paths = [re.sub(r"{(\w+)(:\w+)?}", lambda name: values[name[1]], path) for path in routes]
    assert {"/api/documents", f"/api/changes/{change_id}", "/favicon.ico"} <= set(paths)
    for path in [*paths, "/static/style.css", "/api/changes/999999"]:
        head, get = client.head(path), client.get(path)
        assert (head.status_code, head.content) == (get.status_code, b""), path
        assert head.headers["content-type"] == get.headers["content-type"], path


def titles(found: list[Any]) -> list[tuple[str, int, bool]]:
    return [(section.title, section.level, section.changed) for section in found]


def test_setext_headings_cut_the_diff_into_sections() -> None:
    new = GOOGLE_V1.replace("may lose access", "will lose access")
    assert titles(sections(GOOGLE_V1, new)) == [
        ("Google API Services User Data Policy", 1, False),
        ("Additional Requirements for Specific API Scopes", 2, False),  # the rule, the table too
        ("Enforcement", 2, True),
    ]
    [edited] = [row for row in sections(GOOGLE_V1, new)[2].rows if row.kind != "equal"]
    assert [span.text for span in edited.inline if span.kind != "same"] == ["may", "will"]


def test_side_by_side_faces_a_line_only_with_the_line_it_became() -> None:
    old = "# Fees\n\nFees are charged per conversation.\n\nRefunds are given within 30 days.\n"
    new = (
        "# Fees\n\nFees are charged per message.\n\n"
        "## Taxes\n\nVAT is added where the law requires it.\n"
    )
    rows = [
        (row.kind, row.old_no, row.new_no) for section in sections(old, new) for row in section.rows
    ]
    assert rows == [
        ("equal", 1, 1),
        ("equal", 2, 2),
        ("replace", 3, 3),  # the reworded line faces its old self
        ("equal", 4, 4),
        ("delete", 5, None),  # the refunds line faces nothing: it did not become "## Taxes"
        ("insert", None, 5),
        ("insert", None, 6),
        ("insert", None, 7),
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("## 3. Termination", "## 4. Termination"),  # renumbered
        ("| Free | 60 |", "| Free | 10 |"),  # the rate limit a reviewer looks for
        ("Effective: March 25, 2026", "Effective: May 28, 2026"),  # in normal form, figures only
    ],
)
def test_a_short_line_whose_figures_changed_faces_its_old_self(before: str, after: str) -> None:
    """By words such lines are half alike at best: they stood apart, a whole line struck out
    and another inserted, with no word marked."""
    text = "# Terms\n\nThese terms apply to you.\n\n{}\n\nThank you.\n"
    rows = [
        row for section in sections(text.format(before), text.format(after)) for row in section.rows
    ]
    [edited] = [row for row in rows if row.kind != "equal"]
    assert edited.kind == "replace"
    assert [span.text.strip() for span in edited.old if span.kind == "del"] != []  # words marked


def test_a_long_run_of_reworded_lines_is_paired_line_by_line() -> None:
    """Too long for one search, a run is paired stretch by stretch, never across its diagonal."""
    old = "".join(f"- Le Chat may keep category {n} of your data for 30 days.\n" for n in range(80))
    new = old.replace("Le Chat", "Vibe").replace(
        "- Vibe may keep category 40 of your data for 30 days.", "- Fees are due monthly."
    )
    rows = [row for section in sections(old, new) for row in section.rows]
    assert [row.kind for row in rows].count("replace") == 79
    assert [(row.kind, row.old_no, row.new_no) for row in rows if row.kind != "replace"] == [
        ("delete", 41, None),
        ("insert", None, 41),
    ]


def test_a_matched_sentence_is_flagged_in_its_normal_form() -> None:
    """Rules quote the engine's normal form: an ISO date, a link's text without its target."""
    sentence = (
        "From 2026-01-15, apps that train artificial intelligence models on user data must first"
        " be verified by Google before accessing Restricted Scopes."
    )
    rows = [row for section in sections(GOOGLE_V1, GOOGLE_V2, [sentence]) for row in section.rows]
    assert [row.new_no for row in rows if row.flagged] == [12]
    wrapped = GOOGLE_V2.replace(" on user data must", "\non user data must")
    rows = [row for section in sections(GOOGLE_V1, wrapped, [sentence]) for row in section.rows]
    assert [row.new_no for row in rows if row.flagged] == [12, 13]  # the whole wrapped sentence


def test_an_imported_documents_change_page(google_store: Engine) -> None:
    """Judged by the real engine: its matches' section is the page's, and their line flagged."""
    change = list_changes(google_store)[0]
    page = TestClient(create_app(google_store)).get(f"/changes/{change.id}").text
    assert {match["section"] for match in change.matches} == {
        "Google API Services User Data Policy › Additional Requirements for Specific API Scopes"
    }
    assert re.search(
        r"<h3[^>]*>Additional Requirements for Specific API Scopes</h3>\s*<details open>", page
    )
    assert re.search(r"<h3[^>]*><a [^>]*>Enforcement</a></h3>\s*<p class=\"unchanged\">", page)
    assert page.count('class="insert flagged"') == 1
