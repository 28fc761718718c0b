"""Small stores for the web tests: two real-looking services, a hostile one, and noise; and an
imported document judged by the real engine.

Kept apart so the HTTP and the browser tests share them; it holds fixtures, no tests.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from diffengine import Assessment, RuleMatch, assess
from store.db import open_store
from store.repository import Attempt, DocumentInfo, Judge, Repository

T0 = datetime(2025, 10, 1, 9, 0, tzinfo=UTC)
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
RESTRICTION = (
    "AI Providers are strictly prohibited from accessing or using the WhatsApp Business "
    "Solution when such technologies are the primary functionality being made available."
)
WHATSAPP_V1 = """# WhatsApp Business Solution Terms

Last updated: 1 October 2025

## Definitions

"Business Solution" means the WhatsApp Business APIs.

## Acceptable use

You will use the Business Solution only for lawful purposes.
You may send messages to people who opted in.

## Fees

Fees are charged per conversation.
"""
WHATSAPP_V2 = WHATSAPP_V1.replace(
    "You may send messages to people who opted in.\n",
    f"You may send messages to people who opted in.\n{RESTRICTION}\n",
).replace("Last updated: 1 October 2025", "Last updated: 15 October 2025")
WHATSAPP_V3 = WHATSAPP_V2.replace("per conversation", "per message")
OPENAI_V1 = "# Usage policies\n\n## Universal policies\n\nComply with applicable laws.\n"
OPENAI_V2 = OPENAI_V1 + "Do not scrape our services.\n"
# As Open Terms Archive extracts Google's API Services User Data Policy (and `import-history`
# stores it): setext headings, a thematic break after a blank line, a table.
GOOGLE_V1 = """Google API Services User Data Policy
====================================

Last updated September 8, 2022

Additional Requirements for Specific API Scopes
-----------------------------------------------

Apps must request only the scopes they need to provide their features, and must not request
access to information they do not need or use for a purpose users did not agree to.

---

| Scope | Who may use it |
| --- | --- |
| Gmail | Verified apps |

Enforcement
-----------

Apps that break this policy may lose access to Google API Services, and Google may suspend the
developer accounts that published them until the issue is resolved.
"""
TRAINING = (
    "From January 15, 2026, apps that train [artificial intelligence models]"
    "(https://developers.google.com/terms/ai?hl=en) on user data must first be verified by Google"
    " before accessing Restricted Scopes."
)
GOOGLE_V2 = GOOGLE_V1.replace("agree to.\n", f"agree to.\n\n{TRAINING}\n")
EVIL_V1 = "# Terms\n\nBe nice.\n"
EVIL_V2 = f"# Terms {HOSTILE}\n\nBe nice. {HOSTILE}\n"

DOCS = [
    DocumentInfo(
        "whatsapp/business-solution-terms",
        "WhatsApp",
        "Business Solution Terms",
        "https://www.whatsapp.com/legal/business-solution-terms",
    ),
    DocumentInfo(
        "openai/usage-policies", "OpenAI", "Usage Policies", "https://openai.com/policies"
    ),
    DocumentInfo("evil/terms", f"Evil{HOSTILE}", f"Terms{HOSTILE}", "javascript:alert(1)"),
]


def verdict(
    severity: str | None,
    summary: str,
    matches: tuple[RuleMatch, ...] = (),
    *,
    meaningful: bool = True,
    effective: date | None = None,
) -> Assessment:
    return Assessment(
        meaningful=meaningful,
        reason=None if meaningful else "cosmetic",
        severity=severity,
        categories=tuple(dict.fromkeys(match.category for match in matches)),
        summary=summary,
        added=1,
        removed=0,
        changed=0,
        matches=matches,
        effective_date=effective,
    )


def judge_with(assessment: Assessment) -> Judge:
    """A judge that gives `assessment` whatever the texts: the tests choose the verdict."""

    def judge(old: str, new: str, seen: Collection[str], **_: object) -> Assessment:
        return assessment

    return judge


def populate(engine: Engine) -> None:
    """Versions and changes of three documents, a day apart, newest the hostile one."""
    repo = Repository(engine)
    repo.sync_documents(DOCS, at=T0)
    ai_ban = RuleMatch(
        "ai-providers-prohibited", "ai-restriction", "critical", RESTRICTION, "added"
    )
    api_cut = RuleMatch("api-access-restricted", "api-access", "medium", RESTRICTION, "added")
    hostile_match = RuleMatch(f"rule{HOSTILE}", "ai-restriction", "high", HOSTILE, "added")
    steps = [
        ("whatsapp/business-solution-terms", WHATSAPP_V1, None),
        ("openai/usage-policies", OPENAI_V1, None),
        ("evil/terms", EVIL_V1, None),
        (
            "whatsapp/business-solution-terms",
            WHATSAPP_V2,
            verdict(
                "critical",
                "AI providers barred from the WhatsApp Business Solution",
                (ai_ban, api_cut),  # one sentence, two rules
                effective=date(2026, 1, 15),
            ),
        ),
        ("openai/usage-policies", OPENAI_V2, verdict("low", "Scraping clause added")),
        (
            "whatsapp/business-solution-terms",
            WHATSAPP_V3,
            verdict("info", "Wording of fees", meaningful=False),
        ),
        ("evil/terms", EVIL_V2, verdict("high", f"Summary {HOSTILE}", (hostile_match,))),
    ]
    for day, (key, text, assessment) in enumerate(steps):
        judge = judge_with(assessment) if assessment else judge_with(verdict(None, ""))
        url = next(doc.url for doc in DOCS if doc.key == key)
        repo.record_text(key, Attempt(url, at=T0 + timedelta(days=day)), text, judge)
    repo.record_issue(
        "openai/usage-policies", Attempt("https://openai.com/policies"), "timeout", "30 s"
    )


@pytest.fixture
def web_store(tmp_path: Path) -> Engine:
    engine = open_store(f"sqlite:///{tmp_path / 'web.sqlite3'}")
    populate(engine)
    return engine


def imported_store(path: Path, document: DocumentInfo, versions: Collection[str]) -> Engine:
    """A store of one imported document's versions, judged by the real diff engine."""
    engine = open_store(f"sqlite:///{path}")
    repo = Repository(engine)
    repo.sync_documents([document])
    for text in versions:
        repo.record_text(document.key, Attempt(document.url), text, assess, imported=True)
    return engine


@pytest.fixture
def google_store(tmp_path: Path) -> Engine:
    """An imported document's two versions, judged by the real diff engine."""
    google = DocumentInfo(
        "google/api-user-data-policy", "Google", "API User Data Policy", "https://g.test"
    )
    return imported_store(tmp_path / "google.sqlite3", google, (GOOGLE_V1, GOOGLE_V2))


# A heading retitled longer, its `====` underline lengthened to match: the new `=` are an
# insertion at the end of a line wider than a phone.
RETITLED = (
    "Terms\n" + "=" * 40 + "\n\nYou may use the API.\n",
    "Terms of Service for Developers\n" + "=" * 70 + "\n\nYou may use the API.\n",
)


ACME_FOLDER = "file:///srv/ota/versions/Acme__Developer_Platform_Terms_of_Service_and_Policies"


@pytest.fixture
def retitled_store(tmp_path: Path) -> Engine:
    """An imported document whose only change is a heading retitled, its underline lengthened;
    its source, the folder it was imported from, named without a hyphen or space to wrap at."""
    acme = DocumentInfo("acme/terms", "Acme", "Terms", ACME_FOLDER)
    return imported_store(tmp_path / "retitled.sqlite3", acme, RETITLED)
