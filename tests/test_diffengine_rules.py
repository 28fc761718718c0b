"""Rules as data: each shipped rule fires on a real sentence; loading, overriding, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from diffengine import RuleError, classify, compare, load_rules
from diffengine.assessment import assess
from diffengine.rules import SEVERITIES
from tests.test_diffengine_fixtures import FIXTURES, fixture

CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load(fixture("rule_cases.yaml"))
RULES = {rule.id: rule for rule in load_rules()}


def test_every_shipped_rule_has_a_case() -> None:
    assert {case["rule"] for case in CASES["fires"]} == set(RULES)


@pytest.mark.parametrize("case", CASES["fires"], ids=lambda case: case["rule"])
def test_rule_fires_on_its_real_sentence(case: dict[str, Any]) -> None:
    verdict = classify(compare(case.get("before", ""), case.get("after", "")))
    fired = {match.rule_id: match for match in verdict.matches}
    assert case["rule"] in fired, f"{case['rule']} did not fire on: {case['source']}"
    match = fired[case["rule"]]
    assert match.side == case["side"]
    assert match.category == RULES[case["rule"]].category
    assert match.title == case.get("title", match.title)


@pytest.mark.parametrize("case", CASES["quiet"], ids=lambda case: case["source"])
def test_rules_stay_quiet(case: dict[str, Any]) -> None:
    """A case with a `history` (earlier versions, newest first) is judged as the crawl judges it,
    told of them: sentences they said come back as restored."""
    before = case.get("before", "")
    if "history" in case:
        matches = assess(before, case["after"], history=case["history"]).matches
    else:
        matches = classify(compare(before, case["after"])).matches
    fired = {match.rule_id for match in matches}
    assert not fired & set(case.get("not", RULES)), case["source"]


def test_a_restriction_added_is_more_severe_than_one_removed() -> None:
    clause = "\n\nYou may not use any robot, spider or scraper to access the Service.\n"
    base = "# Terms\n\nWelcome."
    added = classify(compare(base, base + clause))
    removed = classify(compare(base + clause, base))
    assert SEVERITIES.index(added.severity) > SEVERITIES.index(removed.severity)
    assert removed.matches[0].side == "removed"
    assert removed.summary.startswith("Restriction on scraping and crawling lifted")


def test_a_retention_bound_removed_weighs_what_the_rule_does() -> None:
    """The sentence bounding how long data is kept, gone, leaves it kept for no time said: the
    rule's news at its severity, not a restriction lifted one step lower."""
    base = "# Privacy\n\nWelcome."
    bound = "\n\nWe delete your messages after 30 days.\n"
    verdict = classify(compare(base + bound, base))
    (match,) = verdict.matches
    assert (match.rule_id, match.side, match.severity) == (
        "retention-extended",
        "removed",
        "medium",
    )
    assert verdict.summary.startswith("Limit on how long data is kept dropped")


def test_a_match_keeps_its_title_filled_as_the_summary_says_it() -> None:
    """Every consumer of a stored match (history, show, the API, alerts) reads its title."""
    ban = "AI Providers are prohibited from accessing or using the WhatsApp Business Solution."
    verdict = classify(compare("# Terms\n\nWelcome.", f"# Terms\n\nWelcome.\n\n{ban}"))
    titles = {match.rule_id: match.title for match in verdict.matches}
    product = "the WhatsApp Business Solution"
    assert titles["ai-providers-barred"] == f"AI providers barred from {product}"
    assert titles["ai-assistants-restricted"].endswith(f"on {product}")
    assert verdict.summary.startswith(titles["ai-providers-barred"])


def test_a_product_named_without_the_is_the_target() -> None:
    """Copilot's 2026-08-17 age change read "Minimum age to use the platform changed", the
    product it names bare ("To use Copilot") not taken for the target."""
    old = (
        "You need to be old enough to use Copilot - usually at least 13, but sometimes 18 or "
        "older, depending on your country's laws."
    )
    new = (
        "To use Copilot you must have a Microsoft Account, and you need to be old enough at "
        "least 13, but sometimes older, depending on your country's laws."
    )
    verdict = classify(compare(f"# Terms\n\n{old}", f"# Terms\n\n{new}"))
    assert verdict.summary == "Minimum age to use Copilot changed"
    pointer = "You must be at least 16 years old to use Your account."
    verdict = classify(compare("# Terms\n\nWelcome.", f"# Terms\n\nWelcome.\n\n{pointer}"))
    assert verdict.summary == "Minimum age to use the platform changed"


def test_a_reworded_sentence_keeps_its_old_wording() -> None:
    """An alert quoting "up to 100 messages per second" alone hid that it was 1,000."""
    old = "Each business account may send up to 1,000 messages per second."
    new = old.replace("1,000", "100")
    [match] = classify(compare(f"# Limits\n\n{old}", f"# Limits\n\n{new}")).matches
    assert (match.rule_id, match.side, match.sentence, match.before) == (
        "rate-limits",
        "changed",
        new,
        old,
    )
    [added] = classify(compare("# Limits\n\nHello.", f"# Limits\n\nHello.\n\n{new}")).matches
    assert added.before == ""


def test_an_edit_far_from_what_a_rule_reads_does_not_fire_it_again() -> None:
    sentence = (
        "You may not use any robot, spider or scraper to access the Service, and you agree to "
        "comply with all applicable laws, regulations and the policies of {} at all times."
    )
    report = compare(sentence.format("Acme"), sentence.format("Acme Corporation"))
    assert report.substantive and not classify(report).matches
    reworded = compare(
        sentence.format("Acme"), sentence.format("Acme").replace("spider", "crawler")
    )
    assert [match.side for match in classify(reworded).matches] == ["changed"]


def test_a_figure_restated_in_a_sentence_rewritten_past_recognition_fires_nothing() -> None:
    """YouTube's 2020 terms put its age of 13 in a new section, in new words: one sentence
    removed and one added, the age the same, fired "Minimum age changed" and its "dropped"
    twin. A new age, there, is news."""
    old = (
        "# Terms\n\n## Age\n\nIf you are under 13 years of age, then please do not use the Service."
    )
    new = (
        "# Terms\n\n## Who may use the Service?\n\nYou may use the Service if you are at least "
        "{} years old; however, children of all ages may use the Service and YouTube Kids (where "
        "available) if enabled by a parent or legal guardian."
    )
    assert not classify(compare(old, new.format(13))).matches
    raised = classify(compare(old, new.format(16))).matches
    assert [(match.rule_id, match.side) for match in raised] == [
        ("minimum-age", "added"),
        ("minimum-age", "removed"),
    ]


# Facebook's and Instagram's terms and Meta's Platform Terms, 2022: every sentence naming
# Facebook names Meta instead.
RENAMED = (
    "We share data with other Facebook Companies when we detect misuse or harmful conduct by "
    "someone using one of our Products.",
    "We may also share information about misuse or harmful content with other Facebook "
    "Companies or law enforcement.",
    "You will promptly terminate a Client's use of our Facebook Products, Platform, or Platform "
    "Data through your App if we request it.",
)


def _page(*sentences: str) -> str:
    return "# Terms\n\n" + "\n\n".join(sentences)


def test_a_name_replaced_throughout_is_a_rename_not_a_change() -> None:
    """Facebook become Meta in 2022 fired data-sharing alerts in Facebook's, Instagram's and
    Meta's developer terms; Mistral's "Le Chat Pro" become "Vibe Pro" a high training alert."""
    renamed = [sentence.replace("Facebook", "Meta") for sentence in RENAMED]
    assert classify(compare(_page(*RENAMED), _page(*renamed))).matches == ()
    lechat = (
        "We do not use Your Data to train our artificial intelligence models except (a) when you "
        "(i) use Mistral AI Products under a free subscription, or are subscribed to Le Chat Pro "
        "or Le Chat Student, and (ii) you have not opted-out of training.",
        "Le Chat Pro subscribers may cancel their subscription at any time from Le Chat.",
    )
    vibe = [sentence.replace("Le Chat", "Vibe") for sentence in lechat]
    assert classify(compare(_page(*lechat), _page(*vibe))).matches == ()


def test_a_rename_hides_no_edit_beside_it_and_one_name_swapped_is_a_change() -> None:
    # Facebook Terms of Service, 2022-07-26: renamed, and the sharing widened.
    widened = (
        "We share data across Meta Companies when we detect misuse or harmful conduct by someone "
        "using one of our Products or to help keep Meta Products, users and the community safe."
    )
    renamed = [sentence.replace("Facebook", "Meta") for sentence in RENAMED[1:]]
    fired = classify(compare(_page(*RENAMED), _page(widened, *renamed))).matches
    assert [(match.rule_id, match.sentence) for match in fired] == [
        ("third-party-sharing", widened)
    ]
    # A name replaced in one sentence only may be another party ("with OpenAI" become "with
    # Anthropic"): no rename, the edit counts.
    swapped = RENAMED[0].replace("Facebook", "Meta")
    fired = classify(compare(_page(*RENAMED), _page(swapped, *RENAMED[1:]))).matches
    assert [(match.rule_id, match.side) for match in fired] == [("third-party-sharing", "changed")]


# Written for the tests: a page's AI partner swapped in both sentences that name it.
SWAPPED = (
    "When you use AI features, we share your prompts and chats with OpenAI to generate replies.",
    "These messages are processed by OpenAI on our behalf and kept for up to 30 days.",
)


def test_a_partner_swapped_alike_in_two_sentences_is_no_rename() -> None:
    """A name replaced alike in two sentences by one the old page already named as a party of
    its own is another party: data now going to another company is news, not a rename."""
    partners = "Our advertising partners, including Google and Anthropic, may receive usage data."
    swapped = [sentence.replace("OpenAI", "Anthropic") for sentence in SWAPPED]
    fired = classify(compare(_page(*SWAPPED, partners), _page(*swapped, partners))).matches
    assert ("third-party-ai-sharing", "changed") in {(m.rule_id, m.side) for m in fired}


def test_a_rename_announced_beside_the_old_name_is_still_a_rename() -> None:
    # Facebook's terms, from 2021-10-29: Meta named before the terms said it, beside Facebook.
    banner = (
        "_The Facebook company is now Meta. While our company name is changing, we are "
        "continuing to offer the same products, including the Facebook app from Meta. [Learn "
        "more about Meta](https://about.facebook.com/meta)._"
    )
    renamed = [sentence.replace("Facebook", "Meta") for sentence in RENAMED]
    assert classify(compare(_page(banner, *RENAMED), _page(banner, *renamed))).matches == ()


def test_an_enumerated_clause_is_read_with_the_lead_of_its_sentence() -> None:
    # Threads Terms of Use, 2024-08-30: the prohibition is eighty words before "scraper".
    before, after = fixture("threads_tos_before.md"), fixture("threads_tos_after.md")
    matches = classify(compare(before, after)).matches
    assert any(match.rule_id == "scraping-barred" and match.side == "added" for match in matches)


def test_user_rules_add_replace_and_disable(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        yaml.safe_dump(
            {
                "rules": [
                    {
                        "id": "bot-message-caps",
                        "title": "Caps on messages sent by bots",
                        "category": "rate-limits",
                        "severity": "high",
                        "all": [["bot", "bots"], ["cap", "caps", "per day"]],
                        "within": 20,
                    },
                    {
                        "id": "robots-txt",
                        "title": "x",
                        "category": "c",
                        "severity": "info",
                        "any": ["robots.txt"],
                        "enabled": False,
                    },
                    {
                        "id": "rate-limits",
                        "title": "Quotas",
                        "category": "rate-limits",
                        "severity": "low",
                        "any": ["quota*"],
                    },
                ]
            }
        )
    )
    rules = {rule.id: rule for rule in load_rules([tmp_path])}
    assert "bot-message-caps" in rules and "robots-txt" not in rules
    assert rules["rate-limits"].severity == "low"
    verdict = classify(
        compare("", "Bots may send at most 1,000 messages per day."), list(rules.values())
    )
    assert verdict.matches[0].rule_id == "bot-message-caps"


def test_the_after_posting_list_serves_user_rules_and_a_file_may_replace_it(
    tmp_path: Path,
) -> None:
    """`@after_posting` is the code's (the words `dates` reads a date in), not `terms.yaml`'s."""
    rule = {"id": "price-rise", "title": "Price rise", "category": "pricing", "severity": "high"}
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({"rules": [rule | {"all": [["prices"], ["@after_posting"]]}]}))
    change = compare("", "New prices apply 30 days after we post them.")
    assert [match.rule_id for match in classify(change, load_rules([mine])).matches] == [
        "price-rise"
    ]
    (tmp_path / "terms.yaml").write_text(yaml.safe_dump({"terms": {"after_posting": ["never"]}}))
    replaced = load_rules([tmp_path / "terms.yaml", mine])
    assert "price-rise" not in {match.rule_id for match in classify(change, replaced).matches}


def test_rules_are_loaded_once_per_text_and_again_when_a_file_changes(tmp_path: Path) -> None:
    """A crawl loads the rules twice (checked, then in the pipeline): the second load is the
    first's result; an edited file is read anew, never served stale."""
    mine = tmp_path / "mine.yaml"
    spec = {"id": "quotas", "title": "Quotas", "category": "rate-limits", "severity": "low"}
    mine.write_text(yaml.safe_dump({"rules": [{**spec, "any": ["quota*"]}]}))
    first = load_rules([mine])
    assert load_rules([mine]) is first
    mine.write_text(yaml.safe_dump({"rules": [{**spec, "severity": "high", "any": ["quota*"]}]}))
    assert {rule.id: rule for rule in load_rules([mine])}["quotas"].severity == "high"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "rules: [{id: x, title: t, category: c, severity: severe, any: [a]}]",
            "bad.yaml: rule 'x': severity: Input should be 'critical', 'high',",
        ),
        (
            "rules: [{id: x, category: 3, severity: low, any: [a]}]",
            "rule 'x': title: Field required; category: Input should be a valid string",
        ),
        ("rules: [{id: x, title: t, category: c, severity: low}]", "needs `all` or `any`"),
        (
            "rules: [{id: x, title: t, category: c, severity: low, any: ['@nope']}]",
            "unknown term list",
        ),
        ("rules: [{id: x, title: t, category: c, severity: low, any: ['re:(']}]", "rule 'x'"),
        (
            "rules: [{id: x, title: t, category: c, severity: low, al: [a]}]",
            "rule 'x': al: unknown field; did you mean all?",
        ),
        ("rules: [{title: t, category: c, severity: low, any: [a]}]", "rule #1: id: Field"),
        ("rules: [", "bad.yaml"),
    ],
)
def test_a_broken_rule_file_names_the_file_and_the_problem(
    tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    with pytest.raises(RuleError, match=r"bad\.yaml") as error:
        load_rules([bad])
    assert message in str(error.value)


def test_the_shipped_rules_cover_the_categories() -> None:
    assert {rule.category for rule in RULES.values()} == {
        "ai-restriction",
        "ai-training",
        "scraping-automation",
        "api-access",
        "rate-limits",
        "pricing",
        "data-sharing",
        "data-retention",
        "termination",
        "effective-date",
        "eligibility",
    }
    assert (FIXTURES.parents[2] / "diffengine" / "rules" / "README.md").is_file()


def test_a_change_no_rule_reads_keeps_its_first_sentences_to_quote() -> None:
    """Its summary only counts sentences ("3 sentences added in “Refunds”"); an alert quotes
    these instead of rule matches."""
    old = (
        "# Terms\n\n## Refunds\n\nRefunds take 30 days to process. Contact support first.\n\n"
        "## Accounts\n\nKeep your password safe."
    )
    new = (
        "# Terms\n\n## Refunds\n\nRefunds take 14 days to process. Contact support first. "
        "Gift cards are not refundable. Refunds go to the original card.\n\n"
        "## Accounts\n\nKeep your password safe. Tell us about unknown logins."
    )
    verdict = assess(old, new)
    assert verdict.meaningful and not verdict.matches and verdict.severity == "low"
    assert [(e.side, e.sentence, e.section) for e in verdict.excerpts] == [
        ("changed", "Refunds take 14 days to process.", "Terms › Refunds"),
        ("added", "Gift cards are not refundable.", "Terms › Refunds"),
        ("added", "Refunds go to the original card.", "Terms › Refunds"),
    ]  # the first three, in page order; the fourth is counted, not quoted
    assert verdict.excerpts[0].before == "Refunds take 30 days to process."
    removed = assess(new, old).excerpts
    assert (removed[1].side, removed[1].sentence) == ("removed", "Gift cards are not refundable.")


def test_a_date_rule_does_not_rank_what_no_rule_read_below_low() -> None:
    """A new section beside a new "last updated" date was `info` ("Effective date changed"),
    below the same section alone (`low`), and its summary said nothing of it."""
    old = "# Terms\n\nLast updated: 2026-01-01\n\nYou may use the API.\n"
    section = "\n## Licensed Materials\n\nYou may not sublicense the Licensed Materials.\n"
    dated_only = assess(old, old.replace("2026-01-01", "2026-06-29"))
    assert (dated_only.severity, dated_only.summary) == (
        "info",
        "Effective date changed; effective 2026-06-29",
    )
    both = assess(old, old.replace("2026-01-01", "2026-06-29") + section)
    assert both.severity == "low" and [m.rule_id for m in both.matches] == [
        "effective-date-changed"
    ]
    assert both.summary.startswith("2 sentences added, 1 changed in “Terms”, “Licensed")
    # The date at the end says it: "Effective date changed; effective 2026-06-29" said it twice.
    assert both.summary.endswith("“Licensed Materials”; effective 2026-06-29")


def test_at_one_severity_what_a_change_adds_leads_what_it_drops() -> None:
    """A change trading one data flow for another; the summary named only the one dropped
    ("Sharing of data with third-party AI dropped"), the news read backwards."""
    dropped = "Prompts typed in the assistant are disclosed to Anthropic for abuse checks."
    added = "Search terms based on your chat may be sent to these search partners."
    verdict = assess(f"# Terms\n\n{dropped}\n", f"# Terms\n\n{added}\n")
    assert [(m.rule_id, m.side, m.severity) for m in verdict.matches] == [
        ("third-party-sharing", "added", "medium"),
        ("third-party-ai-sharing", "removed", "medium"),
    ]
    assert verdict.summary == "Data shared with third parties"


# YouTube Terms of Service, 2020-11-09: "(c) as permitted by applicable law" added to the cases
# of an exception to a ban on automated access; it fired two high scraping alerts.
AUTOMATED = "access the Service using any automated means (such as robots, botnets or scrapers)"
CASES_BEFORE = (
    "except: (a) in the case of public search engines, in accordance with YouTube's robots.txt "
    "file; or (b) with YouTube's prior written permission;"
)
CASES_AFTER = (
    "except: (a) in the case of public search engines, in accordance with YouTube's robots.txt "
    "file; (b) with YouTube's prior written permission; or (c) as permitted by applicable law;"
)


def _not_allowed(item: str) -> str:
    return f"# Terms\n\nYou are not allowed to:\n\n1. {item}\n2. sell any part of the Service."


def test_an_exception_after_a_colon_widened_is_no_new_restriction() -> None:
    before = _not_allowed(f"{AUTOMATED} {CASES_BEFORE}")
    widened = classify(compare(before, _not_allowed(f"{AUTOMATED} {CASES_AFTER}")))
    assert widened.matches == () and widened.severity == "low"
    # A case cut narrows the exception: the restriction reaches further.
    narrowed = _not_allowed(f"{AUTOMATED} {CASES_BEFORE.split('; or (b)')[0]};")
    fired = classify(compare(before, narrowed)).matches
    assert ("automated-access-barred", "changed") in {(m.rule_id, m.side) for m in fired}
    # Nor is one case, unlisted, after a colon.
    ban = "# Terms\n\nYou must not collect usernames or faces from the Service using scrapers"
    kept = classify(compare(f"{ban}.", f"{ban}, except: with YouTube's prior written permission."))
    assert kept.matches == ()


def test_a_colon_after_an_exception_ends_it() -> None:
    """What follows the exception's colon is the sentence again: a restriction of its own."""
    ban = "You must not access the Service using any automated means (such as robots or scrapers)"
    added = (
        f"{ban} except with YouTube's prior written permission: even then, you must not use "
        "scrapers to collect usernames or faces."
    )
    fired = classify(compare(f"# Terms\n\n{ban}.", f"# Terms\n\n{added}")).matches
    assert ("scraping-barred", "changed") in {(m.rule_id, m.side) for m in fired}


def test_a_title_names_what_its_section_says_and_fires_nothing() -> None:
    """YouTube's terms, 2019-12-11: "Account Suspension and Termination", a bold line of its own
    over the clauses, fired a termination alert of its own; so did Meta's numbered "7. Compliance
    Review Rights and Suspension and Termination of these Terms"."""
    clause = (
        "YouTube may suspend or terminate your access, your Google account, or your Google "
        "account's access to all or part of the Service if you materially or repeatedly breach "
        "this Agreement."
    )
    titles = (
        "**Account Suspension and Termination**",
        "7. Compliance Review Rights and Suspension and Termination of these Terms",
    )
    page = "# Terms\n\nWelcome to YouTube."
    for title in titles:
        fired = classify(compare(page, f"{page}\n\n{title}\n\n{clause}")).matches
        assert [(m.rule_id, m.sentence) for m in fired] == [("termination-enforcement", clause)]
    # A list item without its full stop is a statement still, in title case too.
    for item in (
        "- suspend or terminate your account if you breach these Terms",
        "- Suspend or Terminate Your Account",
    ):
        fired = classify(compare(page, f"{page}\n\nWe may:\n\n{item}")).matches
        assert [m.rule_id for m in fired] == ["termination-enforcement"], item


def test_an_item_listed_under_an_exception_is_a_case_it_allows_not_a_restriction() -> None:
    """Google's "Transfers of data are not allowed, except:" lists the cases allowed: a case
    added there, read as "… not allowed, except: to an AI model provider", fired a high "AI
    assistants restricted" for a page that had just allowed them."""
    page = "# Data\n\nYou may not transfer user data to others{}\n\n- to service providers;\n"
    allowed = "- to an AI model provider, with the user's consent.\n"
    excepting, listing = page.format(", except:"), page.format(" in these cases:")
    assert classify(compare(excepting, excepting + allowed)).matches == ()
    # The same item under a list of what is barred is barred.
    barred = classify(compare(listing, listing + allowed)).matches
    assert [m.rule_id for m in barred] == ["ai-assistants-restricted"]
    # An exception's case still says what it says itself.
    bound = "- to partners, who must not use the data to train artificial intelligence models.\n"
    own = classify(compare(excepting, excepting + bound)).matches
    assert {m.category for m in own} == {"ai-training"}


# Google's API Services User Data Policy, reworded for the tests: the cases a restriction allows.
EXCEPTING = "Transfers of user data to third parties are not allowed, except:"
EXCEPTED = (
    "- to service providers acting on your behalf, under a written contract;",
    "- to comply with applicable law.",
)


def test_a_case_cut_from_an_exception_list_tightens_the_restriction() -> None:
    """A case removed from under "… not allowed, except:" read as low "1 sentence removed": the
    item is read without its introduction, which said what the case was excepted from."""
    page = _page(EXCEPTING, "\n".join(EXCEPTED), "Keep your password safe.")
    [match] = classify(compare(page, page.replace(f"{EXCEPTED[0]}\n", ""))).matches
    assert (match.rule_id, match.side, match.severity, match.sentence) == (
        "third-party-sharing",
        "changed",
        "medium",
        EXCEPTING,
    )
    assert match.before == f"{EXCEPTING} {EXCEPTED[0][2:]}"  # the case cut, quoted
    # The list gone with its introduction is the restriction lifted, not tightened.
    gone = classify(compare(page, _page("Keep your password safe."))).matches
    assert [(m.rule_id, m.side) for m in gone] == [("third-party-sharing", "removed")]


def test_an_exception_cut_from_running_text_tightens_the_restriction() -> None:
    """ "… except for research purposes" cut stood three words past what the rules read, and
    fired nothing; so did "with our permission" made "with our prior written permission"."""
    ban = "You may not use user data to train artificial intelligence models"
    cut = classify(compare(_page(f"{ban}, except for research purposes."), _page(f"{ban}.")))
    assert cut.severity == "high" and {m.side for m in cut.matches} == {"changed"}
    assert "training-with-content-barred" in {m.rule_id for m in cut.matches}


@pytest.mark.parametrize("opening", ["except with", "without"])
def test_a_stricter_condition_on_an_exception_tightens_the_restriction(opening: str) -> None:
    """An exception's words grew, yet it allows less: "with our prior written permission" was
    read as the exception widened (a loosening) and fired nothing. "Without our permission" is
    "except with it", and fired nothing either."""
    ban = "You may not access the Service using any automated means, such as robots or scrapers,"
    permission = f"{ban} {opening} our permission."
    stricter = permission.replace("our permission", "our prior written permission")
    fired = classify(compare(_page(permission), _page(stricter))).matches
    assert ("automated-access-barred", "changed", "high") in {
        (m.rule_id, m.side, m.severity) for m in fired
    }
    consent = f"{ban} {opening} consent."
    express = classify(
        compare(_page(consent), _page(consent.replace("consent", "express written consent")))
    )
    assert "automated-access-barred" in {m.rule_id for m in express.matches}
    # The other way, the condition eased, is a loosening: no restriction again.
    assert classify(compare(_page(stricter), _page(permission))).matches == ()


def test_an_exception_opened_by_without_ends_at_the_permission() -> None:
    """ "Without" opens no exception but before a permission ("without notice"), and that one
    ends at the permission: Facebook's "(without our prior permission) or attempt to access data
    that you do not have permission to access" lost its "that", an edit of the clause after the
    exception, not a narrower exception."""
    facebook = (
        "You may not access or collect data from our Products using automated means (without our"
        " prior permission) or attempt to access data that you do not have permission to access."
    )
    reworded = classify(compare(_page(facebook), _page(facebook.replace("data that", "data"))))
    assert reworded.matches == ()


@pytest.mark.parametrize("content", ["your content", "your messages", "your business messages"])
def test_a_denial_cut_far_from_what_the_rule_reads_fires_it_both_ways(content: str) -> None:
    """ "We do not use your content to train our models" become "We use…": the rule reads from
    the content on, the edit stood before it, and a reworded sentence fires a rule only where it
    was edited. So the one sentence a user most needs to hear of was "1 sentence changed", low;
    and the promise made again was nothing."""
    denied = f"# Data\n\nWe do not use {content} to train our models.\n"
    used = f"# Data\n\nWe use {content} to train our models.\n"
    started = classify(compare(denied, used))
    assert (started.severity, started.summary) == (
        "high",
        "Content or data used to train AI models",
    )
    assert [(m.rule_id, m.side) for m in started.matches] == [("training-on-user-content", "added")]
    stopped = classify(compare(used, denied))
    assert (stopped.severity, stopped.summary) == ("medium", "Training on content or data dropped")


def test_a_right_to_change_the_terms_without_notice_replacing_a_promise_of_notice() -> None:
    promised = "# Changes\n\nWe will give you 30 days notice before changes to these terms.\n"
    unannounced = "# Changes\n\nWe may change these terms at any time without notice.\n"
    verdict = classify(compare(promised, unannounced))
    assert verdict.severity == "medium"
    assert {(m.rule_id, m.side) for m in verdict.matches} == {
        ("changes-without-notice", "added"),
        ("change-notice-dropped", "removed"),
    }


def test_a_messaging_limit_over_a_rolling_day_is_a_rate_limit() -> None:
    """WhatsApp's tiers: how many customers a business may message in 24 hours."""
    limit = "# Limits\n\nTier 1 can message {} unique customers in a rolling 24-hour period.\n"
    verdict = classify(compare(limit.format("1,000"), limit.format("250")))
    assert (verdict.severity, verdict.categories) == ("medium", ("rate-limits",))


def test_a_right_reserved_become_an_announcement_fires_as_the_denial_cut_does() -> None:
    """`none` keeps api-discontinued from "We reserve the right to discontinue…": those words
    cut, the end is announced, though they stood before what the rule reads."""
    reserved = "# API\n\nWe reserve the right to discontinue the Graph API.\n"
    announced = "# API\n\nWe discontinue the Graph API.\n"
    verdict = classify(compare(reserved, announced))
    assert [(m.rule_id, m.side) for m in verdict.matches] == [("api-discontinued", "added")]
