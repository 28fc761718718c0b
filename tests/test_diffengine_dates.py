"""Effective dates in their common English forms, as ISO dates, and the days left."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from diffengine import assess, classify, compare, days_left
from diffengine.dates import canonical_dates, effective_date, spelled, states
from diffengine.normalize import normalize

TODAY = date(2025, 10, 15)


@pytest.mark.parametrize(
    "sentence",
    [
        "These changes are effective January 15, 2026.",
        "The new terms apply from 15 January 2026.",
        "As of 2026-01-15, AI Providers may not use the API.",
        "Effective date: Jan. 15th, 2026",
        "This section will take effect on 15th of January, 2026.",
        # Facebook's Platform Terms: "… went into effect on 2020-08-31", posted days after.
        "The new Platform Terms went into effect on January 15, 2026.",
        # Google's API terms: "Enforcement of the Google Fit requirements … began on …".
        "Enforcement of these requirements began on January 15, 2026.",
        "Enforcement begins on 15 January 2026.",
        "Commencing January 15, 2026, AI providers may not use the API.",
        "Effective:January 15, 2026",
        # A weekday named before the date.
        "Effective: Thursday, January 15, 2026",
        "These changes take effect on Thu., 15 January 2026.",
        # Announced updates (the audit's: YouTube, Google Play, Instagram).
        "We're updating our Terms of Service on January 15, 2026.",
        "On January 15, 2026, we will update the Terms of Service to prohibit collection.",
        "The Developer Distribution Agreement will change on 2026-01-15.",
        # An end announced: its date is when the change bites.
        "Version 17.0 of the Graph API will be deprecated on January 15, 2026.",
        "The On-Premises API will be shut down on 15 January 2026.",
        "Legacy webhooks will stop working on 2026-01-15.",
        # A deadline, or the end of a grace period: the day to act before.
        "You must migrate to the Cloud API by January 15, 2026.",
        "Users must link their accounts no later than 15 January 2026.",
        "The new pricing applies to messages sent on or after January 15, 2026.",
        "Until January 15, 2026, AI providers may continue to use the Solution.",
        "Support for version 1 ends on January 15, 2026.",
        # An end put as the last day of use.
        "The On-Premises API will no longer be available after January 15, 2026.",
        "Version 1 of the API will no longer be supported after 2026-01-15.",
    ],
)
def test_effective_dates_in_common_english_forms(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2026, 1, 15)


def test_a_weekday_is_no_part_of_a_dates_spelling() -> None:
    """A page naming the weekday one day and not the next changed no date."""
    assert canonical_dates("Last updated: Wednesday, October 1, 2025") == "Last updated: 2025-10-01"
    assert (
        canonical_dates("Open Monday to Friday, 2025 hours") == "Open Monday to Friday, 2025 hours"
    )


@pytest.mark.parametrize(
    ("sentence", "found", "when"),
    [
        ("Starting March 1, bots must identify themselves.", TODAY, date(2026, 3, 1)),
        ("These terms take effect on 1st of March.", TODAY, date(2026, 3, 1)),
        # Just past: the announcement of a day that came days ago, not one a year away.
        ("Effective October 10, the new limits apply.", TODAY, date(2025, 10, 10)),
        ("Starting March 1, bots must identify themselves.", date(2026, 3, 4), date(2026, 3, 1)),
    ],
)
def test_an_effective_day_without_a_year_is_its_next_coming(
    sentence: str, found: date, when: date
) -> None:
    assert effective_date([canonical_dates(sentence)], [], found) == when


def test_a_day_without_a_year_and_without_an_effective_word_dates_nothing() -> None:
    said = "Our offices close on December 25. You may 2 times a day call support."
    assert effective_date([canonical_dates(said)], [], TODAY) is None


@pytest.mark.parametrize(
    ("written", "iso"),
    [
        ("Effective 01/15/2026", "Effective 2026-01-15"),  # the month first: 15 is no month
        ("Effective 15/01/2026", "Effective 2026-01-15"),  # the day first
        ("Gültig ab 15.01.2026", "Gültig ab 2026-01-15"),  # dots: the day first
        ("LYL116 06/06/2022", "LYL116 2022-06-06"),  # either way the same day
        # Either order a date: left as written, not guessed.
        ("Effective 03/04/2026", "Effective 03/04/2026"),
        ("Version 1.2.2026", "Version 1.2.2026"),
        ("Effective 31/31/2026", "Effective 31/31/2026"),
    ],
)
def test_numeric_dates_are_iso_when_their_order_is_plain(written: str, iso: str) -> None:
    assert canonical_dates(written) == iso


def test_an_update_announced_without_a_date_of_its_own_gives_none() -> None:
    """ "On" a date must follow the announcement, or lead it: no date is taken from afar."""
    said = "We will update these terms from time to time. Questions: write to us on 2026-01-15."
    assert effective_date([said], [], TODAY) is None


@pytest.mark.parametrize(
    "sentence",
    [
        # As the corpus writes them: YouTube's and Instagram's French terms, the other
        # editions Anthropic and Mistral list, Instagram's Thai.
        "Ces mises à jour prendront effet le 15 janvier 2026.",
        "Cette Politique d'utilisation entrera en vigueur le 15 janvier 2026",
        "Version en vigueur à partir du 15 janvier 2026",
        "Versión en vigor a partir del 15 de enero de 2026",
        "Questa politica entrerà in vigore il 15 gennaio 2026",
        "Versione in vigore dal 15 gennaio 2026",
        "A Política de Uso entrará em vigor em 15 de janeiro de 2026",
        "Gültige Fassung ab dem 15. Januar 2026",
        # Anthropic's German Usage Policy: the date before its verb.
        "Die überarbeitete Nutzungsrichtlinie tritt am 15. Januar 2026 in Kraft.",
        "Versie van kracht vanaf 15 januari 2026",
        "Gällande version från och med den 15 januari 2026",
        "มีผลตั้งแต่วันที่ 15 มกราคม ค.ศ. 2026",
    ],
)
def test_effective_dates_in_the_corpus_other_languages(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2026, 1, 15)


@pytest.mark.parametrize(
    "sentence",
    [
        "Le modifiche entreranno in vigore il 1° marzo 2026.",
        "Ces modifications entreront en vigueur le 1er mars 2026.",
        "Las modificaciones entrarán en vigor el 1º de marzo de 2026.",
        "Las modificaciones entrarán en vigor el 1.º de marzo de 2026.",
        "As alterações entrarão em vigor em 1º de março de 2026.",
        "As alterações entrarão em vigor em 1.º de março de 2026.",
    ],
)
def test_a_day_with_its_ordinal_sign_is_the_date(sentence: str) -> None:
    """Italian "1°", French "1er", Spanish and Portuguese "1º" and "1.º": the first of the month,
    as the pages write it and as normalizing leaves it ("1º" composed to "1o")."""
    for text in (canonical_dates(sentence), normalize(sentence)):
        assert effective_date([text], [], TODAY) == date(2026, 3, 1), text


@pytest.mark.parametrize(
    "sentence",
    [
        # Italian, Spanish, Portuguese and French phrases that say "with effect from" or "from"
        # alone, as English "from" and German "ab dem" are read.
        "A decorrere dal 1 marzo 2026 si applicano i nuovi termini.",
        "Con effetto dal 1 marzo 2026 modifichiamo questi termini.",
        "A partire dal 1 marzo 2026 si applicano i nuovi termini.",
        "Con efectos desde el 1 de marzo de 2026 modificamos estas condiciones.",
        "Con efectos a partir del 1 de marzo de 2026 modificamos estas condiciones.",
        "A partir del 1 de marzo de 2026 se aplican las nuevas condiciones.",
        "A partir de 1 de março de 2026 aplicam-se os novos termos.",
        "Com efeitos a partir de 1 de março de 2026 alteramos estes termos.",
        "À compter du 1er mars 2026, les nouvelles conditions s'appliquent.",
        "À partir du 1er mars 2026, les nouvelles conditions s'appliquent.",
    ],
)
def test_an_effective_phrase_alone_in_the_romance_languages(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2026, 3, 1)


@pytest.mark.parametrize(
    "sentence",
    [
        # German: what applies from a day ("gilt ab"), the day alone after "ab", "mit Wirkung".
        "Die neuen Bedingungen gelten ab dem 15. Januar 2026.",
        "Diese Richtlinie gilt ab 15. Januar 2026.",
        "Ab dem 15. Januar 2026 gelten die neuen Bedingungen.",
        "Die Änderungen sind wirksam ab dem 15. Januar 2026.",
        "Mit Wirkung zum 15. Januar 2026 ändern wir diese Bedingungen.",
        # Dutch: "van kracht op", "met ingang van", "vanaf", "in werking", the date before the
        # verb as in German.
        "De nieuwe voorwaarden zijn van kracht op 15 januari 2026.",
        "Met ingang van 15 januari 2026 gelden nieuwe voorwaarden.",
        "Vanaf 15 januari 2026 gelden nieuwe voorwaarden.",
        "De wijzigingen treden in werking op 15 januari 2026.",
        "De wijzigingen worden op 15 januari 2026 van kracht.",
        # Swedish: "gäller från", "träder i kraft den".
        "Villkoren gäller från 15 januari 2026.",
        "Ändringarna träder i kraft den 15 januari 2026.",
    ],
)
def test_effective_dates_in_german_dutch_and_swedish_phrasings(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2026, 1, 15)


@pytest.mark.parametrize(
    "sentence",
    [
        "These terms have been in effect since October 1, 2025.",
        "Effective since 1 October 2025",
        "In effect since: October 1, 2025",
        "Version en vigueur depuis le 1er octobre 2025",
        "Versión en vigor desde el 1 de octubre de 2025",
        "Versão em vigor desde 1 de outubro de 2025",
        "Versione in vigore dal 1 ottobre 2025",
        "Versione in vigore a decorrere dal 1 ottobre 2025",
        "Gültig seit 1. Oktober 2025",
        "Diese Fassung gilt seit dem 1. Oktober 2025.",
        "Versie van kracht sinds 1 oktober 2025",
        "Versie geldig sinds 1 oktober 2025",
        "Villkoren gäller sedan den 1 oktober 2025.",
    ],
)
def test_a_date_in_effect_since_is_the_effective_date(sentence: str) -> None:
    """The day the text took effect: the date of a change that rewrote it, as "effective"."""
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2025, 10, 1)


def test_a_date_in_effect_since_atop_an_unchanged_page_is_past_and_dates_nothing() -> None:
    header = ["Terms of Service", canonical_dates("In effect since October 1, 2025")]
    assert effective_date([], header, TODAY) is None


@pytest.mark.parametrize(
    "sentence",
    [
        # "since" alone is no effective word: a history, not a date of these terms.
        "We have offered the API since October 1, 2025.",
        "Nous proposons ce service depuis le 1er octobre 2025.",
        "Wir bieten diesen Dienst seit dem 1. Oktober 2025 an.",
        "Ofrecemos este servicio desde el 1 de octubre de 2025.",
        "Offriamo questo servizio dal 1 ottobre 2025.",
    ],
)
def test_since_without_an_effective_word_dates_nothing(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Date de la dernière mise à jour : 1er octobre 2025",
        "Mise à jour le 1 octobre 2025",
        "Révisé : 1 octobre 2025",
        "Actualizado el 1 de octubre de 2025",
        "Aggiornata al 1 ottobre 2025",
        "Atualizada em 1 de outubro de 2025",
        "Zuletzt aktualisiert: 1. Oktober 2025",
        "Zuletzt geändert am 1. Oktober 2025",
        "Stand: 1. Oktober 2025",
        "Laatst bijgewerkt: 1 oktober 2025",
        "Bijgewerkt op 1 oktober 2025",
        "Senast uppdaterad: 1 oktober 2025",
        "Uppdaterad den 1 oktober 2025",
    ],
)
def test_last_updated_in_the_corpus_other_languages(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2025, 10, 1)


@pytest.mark.parametrize(
    "sentence",
    [
        "Last updated: October 1, 2025",
        # Facebook's Terms of Service: "Date of last revision: 2020-10-22" dated nothing.
        "Date of last revision: October 1, 2025",
        "Date of Last Revision: 1 October 2025",
        # YouTube's Terms of Service, a page with no other date in some regions.
        "Dated: 1 October 2025",
    ],
)
def test_last_updated_in_english(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2025, 10, 1)


def test_a_date_a_referenced_document_is_dated_is_not_last_updated() -> None:
    """Only "Dated:" heading a page dates it, not the date of another document it cites."""
    cited = "The Approved Addendum, issued by the Commissioner and dated 2025-10-01, applies."
    assert effective_date([cited], [], TODAY) is None


def test_last_updated_counts_only_when_it_changed_with_the_text() -> None:
    assert effective_date(["Last updated: 2025-10-01"], [], TODAY) == date(2025, 10, 1)
    assert effective_date([], ["Last updated: 2025-10-01"], TODAY) is None


def test_a_revision_date_a_reworded_sentence_kept_is_not_this_change() -> None:
    """A sentence saying "last revised on January 2, 2025", reworded elsewhere, made a new
    training restriction "in effect for 700 days"."""
    before = (
        "# Privacy\n\nThese terms were last revised on January 2, 2025 and apply to every user."
        "\n\n## Data\n\nWe keep your data safe.\n"
    )
    ban = "You may not use our content to train AI models."
    after = before.replace("every user", "every user of our apps").replace("safe.", f"safe. {ban}")
    verdict = assess(before, after, today=date(2026, 12, 3))
    assert verdict.severity == "high" and verdict.effective_date is None
    revised = after.replace("January 2, 2025", "December 2, 2026")
    assert assess(before, revised, today=date(2026, 12, 3)).effective_date == date(2026, 12, 2)


def test_a_revision_date_older_than_the_one_taken_away_is_not_this_change() -> None:
    """Facebook's terms, 2021-02-23: "Date of last revision: 2020-12-20" gave way to a regional
    variant's "Date of Last Revision: 2020-10-22", and the change was dated 2020-10-22."""
    older = ["Date of Last Revision: 2025-09-01"]
    assert effective_date(older, [], TODAY, withdrawn=["Date of last revision: 2025-10-01"]) is None
    assert effective_date(older, [], TODAY, previous=["Last updated: 2025-10-01"]) is None
    newer = ["Date of last revision: 2025-10-10"]
    assert effective_date(newer, [], TODAY, withdrawn=["Last updated: 2025-10-01"]) == date(
        2025, 10, 10
    )


def test_an_effective_date_a_reworded_sentence_kept_is_not_this_change() -> None:
    """Google Play's Developer Distribution Agreement, 2026-02-24: "Effective as of 2025-09-15
    (view archived version)" reworded to "… | Archived versions" dated the change 2025-09-15."""
    kept = ["Effective as of 2025-09-15 | Archived versions"]
    previous = ["Effective as of 2025-09-15 (view archived version)"]
    assert effective_date(kept, [], TODAY, previous) is None
    moved = ["Effective as of 2025-10-14 | Archived versions"]
    assert effective_date(moved, [], TODAY, previous) == date(2025, 10, 14)


def test_a_stated_effective_date_wins_over_last_updated() -> None:
    changed = ["Last updated: 2025-10-15", "These terms take effect on 2026-01-15."]
    assert effective_date(changed, [], TODAY) == date(2026, 1, 15)


def test_of_several_stated_dates_the_latest_is_the_changes() -> None:
    """YouTube's terms reworded a withdrawal clause "starting on 2022-05-28" in the same change
    as "Effective as of 2023-10-06": the alert said effective 2022-05-28."""
    changed = [
        "If you're an EEA-based consumer, then starting on 2022-05-28, EEA consumer law gives "
        "you the right to withdraw from this contract.",
        "Effective as of 2023-10-06 (view previous version)",
    ]
    assert effective_date(changed, [], date(2023, 10, 20)) == date(2023, 10, 6)


def test_a_date_long_past_when_the_change_is_found_is_history_not_its_effective_date() -> None:
    """LinkedIn's reworded "effective 2020-10-01" found in 2022, YouTube's regional variant
    "Dated: 2022-01-05" swapped in for one of 2025: each was given as the change's date."""
    reworded = ["These terms are effective 2020-10-01 and apply to all members."]
    assert effective_date(reworded, [], date(2022, 11, 11)) is None
    assert effective_date(reworded, [], date(2020, 10, 20)) == date(2020, 10, 1)  # just past
    assert effective_date(["Last updated: 2022-01-05"], [], date(2025, 12, 10)) is None


def test_a_header_effective_date_counts_while_it_is_to_come() -> None:
    header = ["OpenAI Services Agreement", "Effective: 2026-01-01"]
    assert effective_date([], header, TODAY) == date(2026, 1, 1)
    assert effective_date([], header, date(2026, 2, 1)) is None


def test_days_left() -> None:
    assert days_left(date(2026, 1, 15), TODAY) == 92
    assert days_left(TODAY, TODAY) == 0
    assert days_left(date(2025, 1, 1), TODAY) is None


def test_a_change_carries_its_effective_date_and_days_left() -> None:
    old = "# Terms\n\nYou may use the API.\n"
    new = old + "\nThese terms will be updated effective December 20, 2025.\n"
    verdict = classify(compare(old, new), today=TODAY)
    assert (verdict.effective_date, verdict.days_left) == (date(2025, 12, 20), 66)
    assert verdict.summary.endswith("effective 2025-12-20")  # days left go stale once stored


def test_a_sections_own_effective_date_is_not_every_changes() -> None:
    """A short page's third section said "This section is effective 2027-03-01": an edit to
    section 4 was alerted as effective then. The page's top, above its second heading, still
    dates every change."""
    page = (
        "# Terms\n\nLast updated: 2026-11-01\n\n## 1. Access\n\nYou may access the API.\n\n"
        "## 3. AI\n\nThis section is effective 2027-03-01.\n\n"
        "## 4. Termination\n\nWe give thirty days notice.\n"
    )
    edited = classify(compare(page, page.replace("thirty", "ninety")), today=TODAY)
    assert edited.effective_date is None
    announced = "# Terms\n\nEffective: 2027-03-01\n\n## 1. Use\n\nFor thirty days.\n"
    pending = classify(compare(announced, announced.replace("thirty", "ninety")), today=TODAY)
    assert pending.effective_date == date(2027, 3, 1)


def test_an_announcement_taken_down_by_the_update_it_announced_dates_the_update() -> None:
    """Meta's Platform Terms, 2026-02-04: the banner "The updates go into effect on 2026-02-03"
    went with the update itself, which carried no date. A banner taken down before its date, or
    weeks after it with other edits, dates nothing."""
    banner = "We're updating the Platform Terms.\n\nThe updates go into effect on 2026-02-03.\n\n"
    clause = "## 11. General\n\nYou will not transfer rights without our prior written consent.\n"
    old = "# Meta Platform Terms\n\n" + banner + clause
    new = "# Meta Platform Terms\n\n" + clause.replace(" prior written", "")
    report = compare(old, new)
    assert classify(report, today=date(2026, 2, 4)).effective_date == date(2026, 2, 3)
    assert classify(report, today=date(2026, 1, 20)).effective_date is None  # put off
    assert classify(report, today=date(2026, 3, 20)).effective_date is None  # long after


@pytest.mark.parametrize(
    "sentence",
    [
        "These changes take effect in March 2026.",
        "The new terms are effective from March 2026.",
        "Effective: March 2026",
        "The revised policy will come into force in March 2026.",
        "Starting in March 2026, bots must identify themselves.",
    ],
)
def test_an_effective_month_is_its_first_day_spelled_as_the_month(sentence: str) -> None:
    """The earliest day it may apply: a reminder early beats one late; shown as the month."""
    when = effective_date([canonical_dates(sentence)], [], TODAY)
    assert when == date(2026, 3, 1)
    assert when is not None and spelled(when) == "March 2026"


def test_a_change_effective_in_a_month_says_the_month_and_counts_to_its_first_day() -> None:
    old = "# Terms\n\nYou may use the API.\n"
    new = old + "\nThese changes take effect in March 2026.\n"
    verdict = classify(compare(old, new), today=TODAY)
    assert (verdict.effective_date, verdict.days_left) == (date(2026, 3, 1), 137)
    assert verdict.summary.endswith("; effective March 2026")


def test_a_full_date_is_spelled_as_a_date_even_on_the_first() -> None:
    said = "Effective: March 2026. These terms take effect on March 1, 2026."
    when = effective_date([canonical_dates(said)], [], TODAY)
    assert when is not None and spelled(when) == "2026-03-01"


@pytest.mark.parametrize(
    ("sentence", "days"),
    [
        ("These changes take effect 30 days after we post them.", 30),
        ("The updated terms are effective 30 days from the date of this notice.", 30),
        ("The new terms will take effect fourteen (14) days after posting.", 14),
        ("Changes will become effective seven days after they are posted.", 7),
        ("The revised Terms take effect two weeks after we publish them.", 14),
        ("These changes take effect thirty days after we post them.", 30),
        ("These changes take effect four weeks after we post them.", 28),
    ],
)
def test_an_effective_date_relative_to_posting_counts_from_the_change(
    sentence: str, days: int
) -> None:
    """The change's moment is the posting's latest: the date is never earlier than the text's."""
    found = effective_date([canonical_dates(sentence)], [], TODAY)
    assert found == TODAY + timedelta(days=days)


@pytest.mark.parametrize(
    ("sentence", "when"),
    [
        ("These changes take effect one month after we post them.", date(2025, 11, 15)),
        ("The revised Terms take effect two months after we publish them.", date(2025, 12, 15)),
        (
            "The updated terms are effective 3 months from the date of this notice.",
            date(2026, 1, 15),
        ),
        (
            "Ces modifications entreront en vigueur un mois après leur publication.",
            date(2025, 11, 15),
        ),
        ("Les modifications prendront effet deux mois après leur publication.", date(2025, 12, 15)),
        (
            "Las modificaciones entrarán en vigor un mes después de su publicación.",
            date(2025, 11, 15),
        ),
        (
            "Las modificaciones entrarán en vigor dos meses después de su publicación.",
            date(2025, 12, 15),
        ),
        (
            "Le modifiche entreranno in vigore un mese dopo la loro pubblicazione.",
            date(2025, 11, 15),
        ),
        (
            "Le modifiche entreranno in vigore due mesi dopo la loro pubblicazione.",
            date(2025, 12, 15),
        ),
        ("As alterações entrarão em vigor um mês após a sua publicação.", date(2025, 11, 15)),
        ("As alterações entrarão em vigor dois meses após a sua publicação.", date(2025, 12, 15)),
        (
            "Die Änderungen treten einen Monat nach ihrer Veröffentlichung in Kraft.",
            date(2025, 11, 15),
        ),
        (
            "Die Änderungen treten zwei Monate nach ihrer Veröffentlichung in Kraft.",
            date(2025, 12, 15),
        ),
        ("De wijzigingen worden een maand na hun publicatie van kracht.", date(2025, 11, 15)),
        ("De wijzigingen worden twee maanden na hun publicatie van kracht.", date(2025, 12, 15)),
        ("Ändringarna träder i kraft en månad efter publiceringen.", date(2025, 11, 15)),
        ("Ändringarna träder i kraft två månader efter publiceringen.", date(2025, 12, 15)),
        # The English number words are those the retention periods read (`periods`).
        ("These changes take effect twelve months after we post them.", date(2026, 10, 15)),
        ("These changes take effect a month after we post them.", date(2025, 11, 15)),
    ],
)
def test_a_count_of_months_after_posting_is_calendar_months_from_the_change(
    sentence: str, when: date
) -> None:
    """The same day that many months on, as days and weeks count from the change's moment."""
    assert effective_date([canonical_dates(sentence)], [], TODAY) == when


@pytest.mark.parametrize(
    ("found", "when"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),  # no February 31st: the month's last day
        (date(2028, 1, 31), date(2028, 2, 29)),
        (date(2026, 3, 31), date(2026, 4, 30)),
        (date(2025, 12, 31), date(2026, 1, 31)),  # into the next year
    ],
)
def test_a_month_after_posting_ends_on_its_months_last_day_when_the_day_is_missing(
    found: date, when: date
) -> None:
    sentence = "These changes take effect one month after we post them."
    assert effective_date([sentence], [], found) == when
    assert states(sentence, when, found)


def test_a_count_of_months_of_the_readers_own_dates_nothing() -> None:
    for sentence in (
        "Your data is deleted one month after you close your account.",
        "La résiliation prend effet un mois après la publication de votre demande.",
    ):
        assert effective_date([sentence], [], TODAY) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "Ces modifications entreront en vigueur en mars 2026.",
        "Les présentes conditions sont en vigueur à partir de mars 2026.",
        "Los nuevos términos estarán en vigor a partir de marzo de 2026.",
        "I nuovi termini sono in vigore da marzo 2026.",
        "Os novos termos entrarão em vigor em março de 2026.",
        "Diese Bedingungen sind gültig ab März 2026.",
        "Die neuen Bedingungen treten im März 2026 in Kraft.",
        "Die neuen Bedingungen gelten ab März 2026.",
        "Met ingang van maart 2026 gelden nieuwe voorwaarden.",
        "De nieuwe voorwaarden worden in maart 2026 van kracht.",
        "Villkoren gäller från mars 2026.",
        "Ändringarna träder i kraft i mars 2026.",
    ],
)
def test_an_effective_month_in_the_corpus_other_languages(sentence: str) -> None:
    when = effective_date([canonical_dates(sentence)], [], TODAY)
    assert when == date(2026, 3, 1)
    assert when is not None and spelled(when) == "March 2026"


@pytest.mark.parametrize(
    "sentence",
    [
        "Ces modifications entreront en vigueur 30 jours après leur publication.",
        "Les modifications prendront effet 30 jours à compter de leur publication.",
        "Las modificaciones entrarán en vigor 30 días después de su publicación.",
        "Le modifiche entreranno in vigore 30 giorni dopo la loro pubblicazione.",
        "As alterações entrarão em vigor 30 dias após a sua publicação.",
        "Die Änderungen treten 30 Tage nach ihrer Veröffentlichung in Kraft.",
        "Änderungen werden 30 Tage nach ihrer Veröffentlichung wirksam.",
    ],
)
def test_a_count_of_days_after_publication_in_the_corpus_other_languages(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == TODAY + timedelta(days=30)


@pytest.mark.parametrize(
    ("sentence", "days"),
    [
        ("Ces modifications entreront en vigueur trente jours après leur publication.", 30),
        ("Les modifications prendront effet quatre semaines après leur publication.", 28),
        ("Ces modifications entreront en vigueur quinze (15) jours après leur publication.", 15),
        ("Las modificaciones entrarán en vigor treinta días después de su publicación.", 30),
        ("Las modificaciones entrarán en vigor cuatro semanas después de su publicación.", 28),
        ("Le modifiche entreranno in vigore trenta giorni dopo la loro pubblicazione.", 30),
        ("Le modifiche entreranno in vigore una settimana dopo la loro pubblicazione.", 7),
        ("As alterações entrarão em vigor trinta dias após a sua publicação.", 30),
        ("Die Änderungen treten dreißig Tage nach ihrer Veröffentlichung in Kraft.", 30),
        ("Die Änderungen treten vier Wochen nach ihrer Veröffentlichung in Kraft.", 28),
        ("Die Änderungen werden eine Woche nach ihrer Veröffentlichung wirksam.", 7),
        ("Die Änderungen gelten 30 Tage nach ihrer Veröffentlichung.", 30),
        ("De wijzigingen worden van kracht 30 dagen na hun publicatie.", 30),
        ("De wijzigingen treden in werking vier weken na de bekendmaking.", 28),
        ("Ändringarna träder i kraft 30 dagar efter publiceringen.", 30),
        ("Ändringarna träder i kraft fyra veckor efter publiceringen.", 28),
    ],
)
def test_a_count_in_words_or_weeks_after_publication_in_other_languages(
    sentence: str, days: int
) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == TODAY + timedelta(days=days)


@pytest.mark.parametrize(
    "sentence",
    [
        # Periods of the reader's own act: a deletion, a request, their own post.
        "Vos données sont supprimées 30 jours après la suppression de votre compte.",
        "La résiliation prend effet 30 jours après la publication de votre demande.",
        "Tus datos se eliminarán 30 días después de que cierres tu cuenta.",
        "I tuoi dati saranno cancellati 30 giorni dopo la chiusura del tuo account.",
        "Os seus dados são apagados 30 dias após o encerramento da sua conta.",
        "Die Kündigung wird 30 Tage nach Eingang Ihrer Erklärung wirksam.",
        "Die Kündigung wird dreißig Tage nach Veröffentlichung Ihrer Inhalte wirksam.",
        "De opzegging wordt van kracht 30 dagen na de publicatie van uw verzoek.",
        "Uppsägningen träder i kraft 30 dagar efter publiceringen av din begäran.",
        # A month named, with no effective phrase before it.
        "Lisez l'édition de mars 2026 de notre lettre d'information.",
        "Consulte la edición de marzo de 2026.",
        "Lees de editie van maart 2026 van onze nieuwsbrief.",
        "Läs numret från mars 2026 av vårt nyhetsbrev.",
    ],
)
def test_no_effective_date_is_made_up_in_the_corpus_other_languages(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) is None


def test_a_standing_clause_relative_to_posting_atop_the_page_dates_no_change() -> None:
    """Unchanged, it was posted long ago: counted from today it would date every change."""
    header = ["Terms of Service", "Changes take effect 30 days after we post them."]
    assert effective_date([], header, TODAY) is None


def test_a_relative_or_month_date_is_stated_while_the_page_says_it() -> None:
    relative = "These changes take effect 30 days after we post them."
    assert states(relative, TODAY + timedelta(days=30), TODAY)
    assert not states(relative, TODAY + timedelta(days=30), TODAY + timedelta(days=1))
    assert states("Effective: March 2026", date(2026, 3, 1), TODAY)
    assert not states("Effective: 2026-03-15", date(2026, 3, 1), TODAY)


@pytest.mark.parametrize(
    "sentence",
    [
        "These terms take effect on 2026-01-15T00:00:00Z.",
        "Effective: 2026-01-15 00:00 UTC",
        "Effective 2026-01-15T09:30:00+02:00",
        "The new limits apply from 2026-01-15T00:00:00.000Z onwards.",
    ],
)
def test_an_iso_timestamp_is_read_as_its_date(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) == date(2026, 1, 15)


@pytest.mark.parametrize(
    "sentence",
    [
        # A retention period, counted from the user's act: no date of the terms.
        "We delete your data within 30 days after you delete your account.",
        "Backups are kept for 30 days from the date you close your account.",
        "Refunds take effect 30 days after you cancel.",
        # A month named, not as a date something takes effect.
        "Read the March 2026 edition of our newsletter.",
        "March 2026 edition",
        # Years in prices and plans.
        "The Pro plan costs $2026 a year, effective immediately.",
        "Prices effective for 2026: $20 a month.",
        "Effective rates: 2026 credits per March.",
    ],
)
def test_no_effective_date_is_made_up(sentence: str) -> None:
    assert effective_date([canonical_dates(sentence)], [], TODAY) is None


TABLE = (
    "# Changes\n\nWe list our changes below.\n\n## Log\n\n"
    "| Change | Effective date |\n| --- | --- |\n| New rate limits | January 15, 2026 |\n"
)


@pytest.mark.parametrize(
    ("cell", "when"), [("March 1, 2026", "2026-03-01"), ("March 2026", "March 2026")]
)
def test_an_effective_date_column_dates_the_row_the_change_adds(cell: str, when: str) -> None:
    new = TABLE + f"| AI providers may not use the API | {cell} |\n"
    verdict = classify(compare(TABLE, new), today=TODAY)
    assert verdict.effective_date == date(2026, 3, 1)
    assert verdict.summary.endswith(f"; effective {when}")


def test_an_effective_column_dates_only_the_rows_the_change_touched() -> None:
    """A row reworded that kept its date, text beside the table, a column of another kind."""
    reworded = TABLE.replace("New rate limits", "New rate limits for every app")
    assert classify(compare(TABLE, reworded), today=TODAY).effective_date is None
    beside = TABLE.replace("We list our changes", "We list all our changes")
    assert classify(compare(TABLE, beside), today=TODAY).effective_date is None
    plans = "# Plans\n\n## Prices\n\n| Plan | Price | Since |\n| --- | --- | --- |\n"
    priced = plans + "| Pro | $20 | March 2026 |\n"
    added = classify(compare(priced, priced + "| Team | $50 | March 2026 |\n"), today=TODAY)
    assert added.effective_date is None


def test_a_month_in_a_heading_the_change_left_alone_dates_nothing() -> None:
    page = "# Changelog\n\nOur log.\n\n## March 2026 edition\n\nWe updated the API.\n"
    edited = page.replace("the API.", "the API and the SDK.")
    assert classify(compare(page, edited), today=TODAY).effective_date is None
