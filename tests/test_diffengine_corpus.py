"""The known restrictions of the real corpus are found, at high or critical.

Replays the documents concerned from `../shared/corpus/history` as `bench/detection.py` does;
skips when the corpus is absent.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from types import ModuleType

import pytest

from tests.conftest import ROOT


def _detection() -> ModuleType:
    spec = importlib.util.spec_from_file_location("detection", ROOT / "bench" / "detection.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


DETECTION = _detection()
INDEX = DETECTION.HISTORY / "index.json"
pytestmark = pytest.mark.skipif(not INDEX.is_file(), reason="the shared corpus is absent")

KNOWN = [
    ("Threads__Terms-of-Service", "2024-08-30", "scraping-automation"),
    ("Llama-API__Acceptable-Use-Policy", "2026-07-08", "scraping-automation"),
]

# Changes a bot's developer wants told that once went by at low: a bound on keeping an
# undelivered message cut ("If a message is still undelivered after 30 days, we delete it"), and
# reposting a role capped "to once a week". (WhatsApp's page changed twice that day: the cut is
# the first capture's, 12:59; the second alerted for an open-ended retention added.)
KNOWN_MEDIUM = [
    ("WhatsApp__Privacy-Policy", "2021-04-29T12:59", "data-retention"),
    ("LinkedIn__Terms-of-Service", "2026-02-02", "rate-limits"),
]

# Changes that once alerted high and say nothing that high: a right reserved, a rename.
NOT_HIGH = [
    # "Such modifications, changes, suspensions, or discontinuances may include … restricting
    # your access to parts or all of our APIs": no API discontinued (medium: enforcement terms).
    ("Facebook__Developer-Terms", "2025-02-03"),
    # A rename: "subscribed to Le Chat Pro or Le Chat Student" become "Vibe Pro or Vibe Student"
    # in the exceptions to "no training on your data", as throughout the page.
    ("Le-Chat__Terms-of-Service", "2026-05-28"),
]


@pytest.mark.parametrize(("document", "day", "category"), KNOWN, ids=[k[0] for k in KNOWN])
def test_known_restrictions_alert_high(document: str, day: str, category: str) -> None:
    documents = {doc["id"]: doc for doc in json.loads(INDEX.read_text())["documents"]}
    _, alerts = DETECTION.replay(documents[document])
    found = [
        verdict
        for when, verdict in alerts
        if when.startswith(day) and verdict.severity in ("high", "critical")
    ]
    assert found, f"no high alert for {document} on {day}"
    assert any(category in verdict.categories for verdict in found)


@pytest.mark.parametrize(
    ("document", "day", "category"), KNOWN_MEDIUM, ids=[k[0] for k in KNOWN_MEDIUM]
)
def test_known_changes_alert_medium(document: str, day: str, category: str) -> None:
    documents = {doc["id"]: doc for doc in json.loads(INDEX.read_text())["documents"]}
    _, alerts = DETECTION.replay(documents[document])
    assert any(
        when.startswith(day) and verdict.severity == "medium" and category in verdict.categories
        for when, verdict in alerts
    ), f"no medium {category} alert for {document} on {day}"


@pytest.mark.parametrize(("document", "day"), NOT_HIGH, ids=[k[0] for k in NOT_HIGH])
def test_what_says_nothing_high_does_not_alert_high(document: str, day: str) -> None:
    documents = {doc["id"]: doc for doc in json.loads(INDEX.read_text())["documents"]}
    _, alerts = DETECTION.replay(documents[document])
    severities = [verdict.severity for when, verdict in alerts if when.startswith(day)]
    assert severities, f"no alert for {document} on {day}"
    assert "high" not in severities and "critical" not in severities
