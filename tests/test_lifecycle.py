"""Each kind of declaration through a document's life, crawl after crawl: first read, unchanged,
changed (and alerted once), the site failing, the site back as it was, changed again.

Bugs of state carried from one crawl to the next (validators, body hashes, open issues) are
met only after a day of cron: the existing tests crawl most kinds once or twice. Here every kind
of a family lives in one catalog, so each step is one crawl of them all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import Home
from tests.pdfs import text_pdf
from tests.receivers import Webhook
from tests.site import Page, Site
from tests.test_crawl import outcomes, terms
from tests.test_crawl_browser import SHELL
from tests.test_crawl_wild import CAPTCHA, CLAUSES, issues, versions

ENGLISH = [
    f"Clause {n}: the developer agrees to use the interface only as documented and to respect"
    " the limits published for each endpoint of the platform."
    for n in range(1, 7)
]
FRENCH = [
    f"Article {n} : le développeur accepte les conditions de la plateforme et les limites"
    " publiées pour chaque service, que nous pouvons modifier à tout moment."
    for n in range(1, 7)
]
GERMAN = [
    f"Artikel {n}: Der Entwickler verpflichtet sich, die Schnittstelle nur wie dokumentiert zu"
    " nutzen und die für jeden Dienst veröffentlichten Grenzen einzuhalten."
    for n in range(1, 7)
]
# What each kind's page says at each stage of its life: a clause added, then another.
ADDED = {
    "en": [
        "You may not use the API to build a general-purpose AI assistant.",
        "Automated access to the platform requires our written permission.",
    ],
    "fr": [
        "Vous ne pouvez pas utiliser l'API pour créer un assistant conversationnel général.",
        "L'accès automatisé à la plateforme exige notre autorisation écrite préalable.",
    ],
    "de": [
        "Sie dürfen die Schnittstelle nicht für einen allgemeinen Chat-Assistenten verwenden.",
        "Der automatisierte Zugriff auf die Plattform erfordert unsere schriftliche Erlaubnis.",
    ],
}
BASE = {"en": ENGLISH, "fr": FRENCH, "de": GERMAN}
SERVER_ERROR = "<html><body>oops</body></html>"


def paragraphs(language: str, stage: int) -> list[str]:
    """The page's paragraphs at `stage`: 0 as first read, 1 changed, 2 changed again."""
    return [*BASE[language], *ADDED[language][:stage]]


def html(language: str, stage: int) -> str:
    return terms("".join(f"<p>{text}</p>" for text in paragraphs(language, stage)))


@dataclass(frozen=True)
class Kind:
    """One kind of declaration: its catalog fields and how its pages are served at each stage.

    `fields`: the declaration's fields, its URLs written as the site's paths. `trouble_at`: where
    the site's trouble is served (the page a redirect leads to, a combined document's second
    page). `publish(site, stage)` serves the sound pages of `stage`. `again`: the outcome of a
    crawl that finds the document as last read (a 304, or the same body).
    """

    name: str
    fields: dict[str, Any]
    trouble_at: str
    publish: Callable[[Site, int], None]
    again: str = "not-modified"

    @property
    def key(self) -> str:
        return f"testsite/{self.name}"

    def declaration(self, site: Site) -> dict[str, Any]:
        urls = {"url": site.url(self.fields["url"])} if "url" in self.fields else {}
        if "combine" in self.fields:
            urls["combine"] = [site.url(path) for path in self.fields["combine"]]
        return {"type": self.name, "select": "#terms", **self.fields, **urls}


def _page(path: str, language: str = "en", validators: bool = True) -> Callable[[Site, int], None]:
    def publish(site: Site, stage: int) -> None:
        site.html(path, html(language, stage), validators=validators)

    return publish


@functools.cache
def pdf(stage: int) -> bytes:
    """Made once a stage: fpdf2 dates each file it makes, and the page back as it was is the
    same file."""
    return text_pdf(paragraphs("en", stage))


def _pdf(site: Site, stage: int) -> None:
    site.pages["/terms.pdf"] = Page(pdf(stage), content_type="application/pdf")


def _redirected(site: Site, stage: int) -> None:
    site.html("/moved", "", status=301, headers={"Location": "/target"})
    site.html("/target", html("en", stage))


def _combined(site: Site, stage: int) -> None:
    site.html("/part-1", terms(CLAUSES))
    site.html("/part-2", html("en", stage))


HTTP_KINDS = [
    Kind("plain", {"url": "/plain"}, "/plain", _page("/plain")),
    Kind("bare", {"url": "/bare"}, "/bare", _page("/bare", validators=False), again="unchanged"),
    Kind("redirected", {"url": "/moved"}, "/target", _redirected),
    Kind("pdf", {"url": "/terms.pdf", "format": "pdf"}, "/terms.pdf", _pdf),
    # Fetched without validators, and compared by the hash of all its pages.
    Kind("combined", {"combine": ["/part-1", "/part-2"]}, "/part-2", _combined, "unchanged"),
    Kind("interval", {"url": "/interval", "interval": "6h"}, "/interval", _page("/interval")),
    Kind("french", {"url": "/french", "language": "fr"}, "/french", _page("/french", "fr")),
    Kind("any-language", {"url": "/german", "language": None}, "/german", _page("/german", "de")),
]


def publish(site: Site, kinds: Sequence[Kind], stage: int) -> None:
    for kind in kinds:
        kind.publish(site, stage)


def alerted(hook: Webhook) -> list[tuple[str, int]]:
    """The (document, change) of every change alert received, in order."""
    return [
        (change["key"], change["id"])
        for post in hook.posts
        for change in post["policywatch"]["changes"]
        if post["policywatch"]["kind"] == "change"
    ]


def changes(home: Home) -> dict[str, list[dict[str, Any]]]:
    """Each document's changes, oldest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for change in reversed(home.run("history", "--all", "--json").json()):
        found.setdefault(change["key"], []).append(change)
    return found


Crawl = Callable[[Path], dict[str, tuple[str, str]]]
Trouble = tuple[str, Callable[[Site, str], None]]  # the issue's kind, and how a path serves it


def kinds_of(seen: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Each document's outcome, and for a failure the kind of its issue."""
    return {
        key: detail.split(":")[0] if outcome == "failed" else outcome
        for key, (outcome, detail) in seen.items()
    }


def live(
    home: Home,
    hook: Webhook,
    site: Site,
    kinds: Sequence[Kind],
    crawl: Crawl,
    troubles: Sequence[Trouble],
    *,
    recheck: bool = True,
) -> None:
    """Take `kinds` through their life, asserting each step for each kind: first read; found
    as last read (unless not `recheck`); changed and alerted once; the site failing with each
    of `troubles` in turn; back as it was; changed again."""
    keys = [kind.key for kind in kinds]
    catalog = home.catalog([kind.declaration(site) for kind in kinds])
    again = {kind.key: kind.again for kind in kinds}
    publish(site, kinds, 0)
    assert kinds_of(crawl(catalog)) == dict.fromkeys(keys, "first")
    if recheck:
        assert kinds_of(crawl(catalog)) == again
        assert versions(home) == dict.fromkeys(keys, 1)

    subscribed = home.run("subscribe", hook.url(), "--name", "hook", "--min-severity", "info")
    assert subscribed.code == 0, subscribed.stderr
    publish(site, kinds, 1)
    assert kinds_of(crawl(catalog)) == dict.fromkeys(keys, "changed")
    first = {key: found for key, [found] in changes(home).items()}
    assert set(first) == set(keys) and all(change["meaningful"] for change in first.values())
    assert home.run("notify").code == 0
    assert sorted(alerted(hook)) == sorted((key, change["id"]) for key, change in first.items())

    for issue, trouble in troubles:
        for kind in kinds:
            trouble(site, kind.trouble_at)
        assert kinds_of(crawl(catalog)) == dict.fromkeys(keys, issue)
    assert versions(home) == dict.fromkeys(keys, 2)

    publish(site, kinds, 1)  # back as it was before the trouble
    assert kinds_of(crawl(catalog)) == again
    assert issues(home) == dict.fromkeys(keys, None)
    assert versions(home) == dict.fromkeys(keys, 2)
    assert home.run("notify").code == 0
    assert len(alerted(hook)) == len(keys)  # nothing more to tell

    publish(site, kinds, 2)
    assert kinds_of(crawl(catalog)) == dict.fromkeys(keys, "changed")
    for key, (earlier, later) in changes(home).items():
        assert (later["from_version"], later["meaningful"]) == (earlier["to_version"], True), key
    assert home.run("notify").code == 0
    assert len(alerted(hook)) == 2 * len(keys)


def server_error(site: Site, path: str) -> None:
    site.html(path, SERVER_ERROR, status=500)


def bot_wall(site: Site, path: str) -> None:
    site.html(path, CAPTCHA)


def test_every_http_kind_lives_through_changes_failures_and_recovery(
    home: Home, hook: Webhook, site: Site
) -> None:
    def crawl(catalog: Path) -> dict[str, tuple[str, str]]:
        return outcomes(home.crawl(catalog, "--json", "--no-notify"))

    troubles = [("server-error", server_error), ("bot-wall", bot_wall)]
    live(home, hook, site, HTTP_KINDS, crawl, troubles)


def _rendered(path: str) -> Callable[[Site, int], None]:
    def publish(site: Site, stage: int) -> None:
        site.html(path, SHELL % "</p><p>".join(paragraphs("en", stage)))

    return publish


def _rendered_redirected(site: Site, stage: int) -> None:
    site.html("/shell-moved", "", status=301, headers={"Location": "/shell-target"})
    _rendered("/shell-target")(site, stage)


BROWSER = {"render": "browser"}
# Chromium is sent no validators: each is found as last read by the hash of what it got.
BROWSER_KINDS = [
    Kind("rendered", {"url": "/shell", **BROWSER}, "/shell", _rendered("/shell"), "unchanged"),
    Kind(
        "rendered-redirected",
        {"url": "/shell-moved", **BROWSER},
        "/shell-target",
        _rendered_redirected,
        "unchanged",
    ),
    Kind(
        "rendered-pdf",
        {"url": "/terms.pdf", "format": "pdf", **BROWSER},
        "/terms.pdf",
        _pdf,
        "unchanged",
    ),
]


def test_every_rendered_kind_lives_through_changes_a_failure_and_recovery(
    home: Home, hook: Webhook, site: Site, chromium: str
) -> None:
    """Fewer steps than over HTTP, each a render of every page: the recheck is
    tests/test_crawl_browser.py's, and the back-as-it-was step makes it again; the bot wall
    (a challenge served with 200 is given seconds to solve itself) leaves the 500's state."""
    browser = ("--json", "--no-notify", "--set", f"POLICYWATCH_BROWSER={chromium}")

    def crawl(catalog: Path) -> dict[str, tuple[str, str]]:
        return outcomes(home.crawl(catalog, *browser, "--set", "RETRY_TIMES=0"))

    live(home, hook, site, BROWSER_KINDS, crawl, [("server-error", server_error)], recheck=False)
