"""What must not alert, each as seen in real histories, judged by `assess`."""

from __future__ import annotations

from diffengine import assess, capture_problem, text_fingerprint
from diffengine.language import detect_language
from diffengine.normalize import normalize
from tests.test_diffengine_fixtures import fixture

POLICY = fixture("whatsapp_tos.md")


def test_identical_texts_are_no_change() -> None:
    verdict = assess(POLICY, str(POLICY))
    assert (verdict.meaningful, verdict.reason, verdict.severity) == (False, "cosmetic", None)


def test_flapping_back_to_a_version_seen_before() -> None:
    variant = POLICY.replace("WhatsApp", "WhatsApp Messenger", 1)
    seen = [text_fingerprint(POLICY), text_fingerprint(variant)]
    verdict = assess(variant, POLICY, seen)
    assert (verdict.meaningful, verdict.reason) == (False, "flapping")


def test_flapping_between_variants_whose_sentences_were_all_seen() -> None:
    # Instagram's terms mix regional variants: this combination is new, its sentences are not.
    age, older = "You must be 13 years old.", "You must be 13 years old or the minimum legal age."
    a, b = (
        f"Intro.\n\n{age}\n\nWe may remove content.",
        f"Intro.\n\n{older}\n\nWe may remove content.",
    )
    c, d = a.replace("Intro.", "Intro changed."), b.replace("Intro.", "Intro changed.")
    history = [c, b, a]
    verdict = assess(c, d, [text_fingerprint(t) for t in history], history=history)
    assert (verdict.meaningful, verdict.reason) == (False, "flapping")
    fresh = d.replace("minimum legal age", "age of digital consent")
    assert assess(c, fresh, [text_fingerprint(t) for t in history], history=history).meaningful


def test_a_block_dropped_for_the_first_time_is_news_even_if_older_versions_lacked_it() -> None:
    """WhatsApp's privacy policy, 2021-04-14: 31 sentences its versions of a few months had said
    were removed, and the change was called flapping because the versions from before those
    sentences were written lacked them. Dropped once before, a block dropped again flaps."""
    block = (
        "\n\n## How WhatsApp Works With The Other Facebook Companies\n\nWhatsApp works and shares"
        " information with the other Facebook Companies to receive services like infrastructure,"
        " technology, and systems that help us provide and improve WhatsApp. When we receive"
        " services from the Facebook Companies, the information we share with them is used to"
        " help WhatsApp in accordance with our instructions."
    )
    older = POLICY
    now = POLICY.replace("WhatsApp receives information", "WhatsApp may receive information")

    def judged(history: list[str]) -> tuple[bool, str | None]:  # newest first
        seen = [text_fingerprint(text) for text in history]
        verdict = assess(history[0], now, seen, history=history)
        return verdict.meaningful, verdict.reason

    assert judged([now + block, older]) == (True, None)
    assert judged([now + block, older, older + block]) == (False, "flapping")
    broken = fixture("whatsapp_tos_collapsed.md")  # lacks everything, drops nothing
    assert judged([now + block, broken, older + block]) == (True, None)


def test_a_broken_capture_collapsing_to_a_fraction_is_an_anomaly() -> None:
    # WhatsApp's terms, 2020-10-23: the page collapsed to a list of seven links.
    verdict = assess(POLICY, fixture("whatsapp_tos_collapsed.md"))
    assert (verdict.meaningful, verdict.reason) == (False, "anomaly")
    assert "collapsed to" in verdict.summary


def test_the_version_after_a_broken_capture_is_judged_against_the_last_sound_one() -> None:
    broken = fixture("whatsapp_tos_collapsed.md")
    restored = POLICY.replace("WhatsApp receives information", "WhatsApp may receive information")
    assert assess(broken, restored).reason == "anomaly"  # nothing sound to compare with
    verdict = assess(broken, restored, baseline=POLICY)
    assert verdict.meaningful and verdict.changed == 1


def test_a_page_restored_after_a_repeated_broken_capture_is_judged_against_the_history() -> None:
    """WhatsApp's terms, 2020-10-23: collapsed to seven links, fetched so twice (the second a
    cosmetic variant, so it became the baseline), and restored on 2020-10-28 with a sentence
    added, dismissed as "restored after a broken capture" while the history held the page."""
    broken = fixture("whatsapp_tos_collapsed.md")
    again = broken + "\n"
    restored = POLICY.replace("WhatsApp receives information", "WhatsApp may receive information")
    history = [again, broken, POLICY]  # newest first
    verdict = assess(again, restored, baseline=again, history=history)
    assert verdict.meaningful and verdict.changed == 1
    assert assess(again, restored, baseline=again, history=[again, broken]).reason == "anomaly"


def test_a_page_switching_language_is_an_anomaly() -> None:
    verdict = assess(fixture("facebook_tos_en.md"), fixture("facebook_tos_fr.md"))
    assert (verdict.meaningful, verdict.reason) == (False, "anomaly")
    assert "from en to fr" in verdict.summary


def test_a_page_in_another_language_than_declared_is_an_anomaly() -> None:
    french = fixture("facebook_tos_fr.md")
    edited = french.replace("Bienvenue sur Facebook", "Bienvenue sur Meta")
    assert assess(french, edited).meaningful
    assert assess(french, edited, language="en").reason == "anomaly"


def test_a_first_capture_is_checked_for_its_language_without_being_normalized() -> None:
    """A first version is only checked for its language, on a sample of its prose: its normal
    form waits until a second version is compared with it, which spares a first crawl most of
    the work."""
    french, english = fixture("facebook_tos_fr.md"), fixture("facebook_tos_en.md")
    normalize.cache_clear()
    detect_language.cache_clear()
    problem = capture_problem(None, french, "en")
    assert problem is not None and problem.kind == "wrong-language"
    assert capture_problem(None, english, "en") is None
    assert normalize.cache_info().misses == 0


def test_page_chrome_injected_into_the_selected_region_is_an_anomaly() -> None:
    # Claude.ai's Usage Policy, 2026-08-14: help-centre breadcrumbs caught by the selector.
    before, after = fixture("claude_aup_chrome_before.md"), fixture("claude_aup_chrome_after.md")
    verdict = assess(before, after)
    assert (verdict.meaningful, verdict.reason) == (False, "anomaly")
    assert "chrome" in verdict.summary


def test_a_help_centre_feedback_widget_is_chrome() -> None:
    widget = (
        "Was this helpful?\n\nHow could it be better?\n\nBear in mind that this form is for "
        "feedback only and you won't receive a reply.\n\nThe solution doesn't work\n"
    )
    assert assess(POLICY, POLICY + "\n\n" + widget).reason == "anomaly"


def test_a_stylesheet_left_in_the_text_is_chrome() -> None:
    """TikTok's terms, 2026-07-21: the page's style rules ("p.p1 {margin: 0.0px …}") came into
    the text for two days, a low change when they came and another when they went. JSON in
    running text is no stylesheet."""
    css = (
        "p.p1 {margin: 0.0px 0.0px 12.0px 0.0px; font: 12.0px Times} li.li3 {margin: 0.0px} "
        "span.s1 {font-kerning: none} ul.ul1 {list-style-type: disc}"
    )
    assert assess(POLICY, POLICY + "\n\n" + css).reason == "anomaly"
    assert assess(POLICY + "\n\n" + css, POLICY).reason == "anomaly"
    json = 'Send the body {"model": "large"} to the API. Read the reply {"id": 1}.'
    assert assess(POLICY, POLICY + "\n\n" + json).meaningful


def test_a_bare_mention_of_ai_in_page_chrome_is_not_a_restriction() -> None:
    menu = "*   [Meta AI](https://www.meta.ai/?ref=nav)\n*   [AI Studio](https://aistudio.instagram.com/)\n"
    verdict = assess(POLICY, POLICY + "\n\n" + menu)
    assert not verdict.meaningful and not verdict.matches


def test_a_real_change_is_meaningful_with_counts_and_a_summary() -> None:
    new = POLICY + "\n\nYou must not use automated means to scrape our Services.\n"
    verdict = assess(POLICY, new)
    assert verdict.meaningful and verdict.reason is None
    assert (verdict.added, verdict.removed, verdict.changed) == (1, 0, 0)
    assert verdict.severity == "high" and "scraping-automation" in verdict.categories


def test_a_dateline_under_a_label_of_another_language_is_cosmetic() -> None:
    """YouTube's terms, rendered for other regions, read "日付: 2010-06-09" or "Tarix:
    2010-06-09" for "Dated: 2010-06-09": a low change each time, of one label."""
    page = "# Terms\n\nYou may use the Service.\n\n{}\n"
    for label in ("日付:", "Tarix:", "En date du :"):
        verdict = assess(page.format("Dated: 2010-06-09"), page.format(f"{label} 2010-06-09"))
        assert (verdict.meaningful, verdict.reason) == (False, "cosmetic"), label
    redated = assess(page.format("Dated: 2010-06-09"), page.format("Dated: 2011-06-09"))
    assert redated.meaningful


def test_a_dateline_with_its_link_in_another_language_is_cosmetic() -> None:
    """YouTube's terms, 2026-05-15: "Effective as of 2022-01-05 (view previous version)" read in
    Arabic, date kept, was a low change."""
    page = "# Terms\n\nYou may use the Service.\n\n{}\n"
    english = page.format("Effective as of January 5, 2022 (view previous version)")
    arabic = page.format("سارية اعتبارًا من 2022-01-05 (عرض الإصدار السابق)")
    verdict = assess(english, arabic)
    assert (verdict.meaningful, verdict.reason) == (False, "cosmetic")
    redated = page.format("Effective as of January 5, 2023 (view previous version)")
    assert assess(english, redated).meaningful


def test_a_help_centres_suggested_topics_and_help_box_are_chrome() -> None:
    """Instagram's and Threads' terms, 2026: Meta's help centre lists suggested topics above the
    terms, closed by "I have a different question", and a help box below them; each new topic
    ("My account was disabled") was a low alert, twelve in all."""
    page = (
        "Terms of Use\n============\n\nCopy link\n\nWhat is the Instagram Service?\n\n"
        "How is Instagram funded?\n\n{topic}\n\nI have a different question\n\n"
        f"Welcome to Instagram!\n\n{POLICY}\n\nOther ways to get help\n----------------------\n\n"
        "{help}\n"
    )
    before = page.replace("{topic}", "What is the Privacy Policy?").replace("{help}", "")
    after = page.replace("{topic}", "My account was disabled").replace(
        "{help}",
        "Chat with Meta AI support assistant\n\n"
        "Resolve issues, make changes and get support in real time",
    )
    verdict = assess(before, after)
    assert (verdict.meaningful, verdict.reason) == (False, "anomaly")
    assert "chrome" in verdict.summary
    # A sentence ended with a period is policy text, even right above the closer.
    clause = "We may disable your account without notice.\n\nI have a different question"
    edited = assess(before, after.replace("I have a different question", clause))
    assert edited.meaningful and edited.categories == ("termination",)


def test_text_brought_back_beside_other_edits_is_counted_as_restored() -> None:
    """Google Play's guidelines dropped the install-packages permission on 2022-07-01 and brought
    it back a week later beside a new effective date: "15 sentences added, 1 removed", as if
    all were new. The 14 sentences brought back fire nothing and are counted as restored; the
    dates are the news, quoted first."""
    permission = (
        "## Request install packages permission\n\nThe REQUEST_INSTALL_PACKAGES permission "
        "allows an application to request the installation of app packages.\n\nThe "
        "REQUEST_INSTALL_PACKAGES permission may not be used to perform self updates, "
        "modifications or the bundling of other APKs in the asset file unless for device "
        "management purposes.\n"
    )
    page = POLICY + "\n\n## Guidelines for IsAccessibilityTool\n\n{date}\n\n{permission}"
    first = page.format(date="Effective from 2022-07-11", permission=permission)
    dropped = page.format(date="Effective from 2022-07-11", permission="")
    back = page.format(date="Effective 2022-09-29", permission=permission)
    history = [dropped, first]
    verdict = assess(dropped, back, [text_fingerprint(t) for t in history], history=history)
    assert verdict.meaningful and verdict.severity == "low"
    assert verdict.summary.startswith("1 sentence added, 1 removed, 3 restored in")
    quoted = [excerpt.sentence for excerpt in verdict.excerpts[:2]]
    assert quoted == ["Effective from 2022-07-11", "Effective 2022-09-29"]
    assert all(match.category == "effective-date" for match in verdict.matches)


def test_words_glued_or_split_by_the_capture_are_cosmetic() -> None:
    """Copilot's terms, 2025-11-24: "jail breaking" become "jailbreaking" (a comma or two
    beside) was a low change; the App Store's captures glue and split words ("th ese", "A
    PPLE"), and its terms read "4 sentences removed, 105 changed" where four were."""
    page = "# Code of conduct\n\nBe kind.\n\n- {}\n"
    old = page.format(
        "Don't use bots or scrapers and don't engage in technical attacks, excess usage, "
        'prompt-based manipulation, "jail breaking" and other abuses.'
    )
    new = page.format(
        "Don't use bots or scrapers, and don't engage in technical attacks, excess usage, "
        'prompt-based manipulation, "jailbreaking", and other abuses.'
    )
    verdict = assess(old, new)
    assert (verdict.meaningful, verdict.reason) == (False, "cosmetic")
    split = new.replace("abuses", "ab uses").replace("Be kind.", "Be kind.\n\nBe quick.")
    counted = assess(old, split)
    assert (counted.added, counted.removed, counted.changed) == (1, 0, 0)
