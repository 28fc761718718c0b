"""Meta's October 2025 change to the WhatsApp Business Solution Terms: AI providers barred.

The pages are written for the test from public reporting of the clause: providers and
developers of AI or machine learning technologies (LLMs, generative AI platforms,
general-purpose AI assistants) may not access or use the WhatsApp Business Solution when such
technologies are the primary functionality they make available, from January 15, 2026.
"""

from __future__ import annotations

from datetime import date

from diffengine import assess, text_fingerprint
from tests.test_diffengine_fixtures import fixture

BEFORE = fixture("whatsapp_business_terms_before.md")
AFTER = fixture("whatsapp_business_terms_after.md")
ANNOUNCED = date(2025, 10, 15)


def test_the_ai_providers_clause_is_a_critical_ai_restriction() -> None:
    verdict = assess(BEFORE, AFTER, [text_fingerprint(BEFORE)], today=ANNOUNCED)
    assert verdict.meaningful
    assert verdict.severity == "critical"
    assert verdict.categories[0] == "ai-restriction"
    (barred,) = [match for match in verdict.matches if match.rule_id == "ai-providers-barred"]
    assert (barred.severity, barred.side, barred.section) == (
        "critical",
        "added",
        "WhatsApp Business Solution Terms › 2. AI Providers",
    )
    assert barred.sentence.startswith("Providers and developers of artificial intelligence")


def test_it_takes_effect_on_2026_01_15_with_the_days_left() -> None:
    verdict = assess(BEFORE, AFTER, today=ANNOUNCED)
    assert verdict.effective_date == date(2026, 1, 15)
    assert verdict.days_left == 92


def test_the_summary_says_it_in_one_line() -> None:
    verdict = assess(BEFORE, AFTER, today=ANNOUNCED)
    assert verdict.summary == (
        "AI providers barred from the WhatsApp Business Solution; API access restricted; "
        "effective 2026-01-15"
    )


def test_the_rest_of_the_edit_is_noise() -> None:
    # Curly quotes, a non-breaking hyphen, new tracking tokens, renumbered sections: only the
    # new section and the "Last modified" date count.
    verdict = assess(BEFORE, AFTER, today=ANNOUNCED)
    assert (verdict.added, verdict.removed, verdict.changed) == (3, 0, 1)


def test_lifting_the_ban_is_less_severe_than_imposing_it() -> None:
    verdict = assess(AFTER, BEFORE, today=date(2026, 6, 1))
    lifted = [match for match in verdict.matches if match.rule_id == "ai-providers-barred"]
    assert [match.side for match in lifted] == ["removed"]
    assert verdict.severity == "high"
    assert verdict.summary.startswith("Ban on AI providers lifted")
