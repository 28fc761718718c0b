"""Messages: titles, the three body formats, and clean cuts at a service's length limit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from apprise.plugins.slack import NotifySlack
from hypothesis import given
from hypothesis import strategies as st

from notifier.channel import Channel
from notifier.messages import change_message, digest_message, headline, reminder_message
from notifier.render import Line, Message, clip, fit, render
from store.queries import ChangeRow


def change_row(**overrides: object) -> ChangeRow:
    values: dict[str, object] = {
        "id": 7,
        "key": "whatsapp/business-solution-terms",
        "service": "WhatsApp",
        "document_type": "Business Solution Terms",
        "url": "https://www.whatsapp.com/legal/business-solution-terms",
        "detected_at": datetime(2025, 10, 20, tzinfo=UTC),
        "from_version": 1,
        "to_version": 2,
        "meaningful": True,
        "reason": None,
        "severity": "critical",
        "categories": ["ai-restriction"],
        "summary": "AI providers barred",
        "added": 3,
        "removed": 1,
        "changed": 2,
        "matches": [
            {
                "rule_id": "ai-providers",
                "category": "ai-restriction",
                "severity": "critical",
                "sentence": "AI Providers are prohibited from using the Business Solution.",
                "side": "added",
            }
        ],
        "excerpts": [
            {
                "sentence": "AI Providers are prohibited from using the Business Solution.",
                "side": "added",
                "section": "Terms",
            },
        ],
        "effective_date": date(2026, 1, 15),
        "redeclared": False,
        "rejudged_at": None,
    }
    return ChangeRow(**{**values, **overrides})  # type: ignore[arg-type]


def test_title_names_severity_document_headline_and_effective_date() -> None:
    assert headline(change_row(), date(2025, 11, 22)) == (
        "[CRITICAL] WhatsApp · Business Solution Terms — AI providers barred "
        "(effective 2026-01-15, in 54 days)"
    )
    dated = change_row(summary="AI providers barred; effective 2026-01-15")  # the engine's way
    assert headline(dated, date(2026, 1, 20)) == (
        "[CRITICAL] WhatsApp · Business Solution Terms — AI providers barred; effective 2026-01-15"
        " (5 days ago)"
    )
    assert headline(change_row(), date(2026, 1, 14)).endswith("(effective 2026-01-15, tomorrow)")
    assert headline(dated, date(2026, 1, 16)).endswith("; effective 2026-01-15 (yesterday)")
    unrated = change_row(severity=None, effective_date=None, summary="")
    assert headline(unrated, date(2025, 11, 22)) == (
        "[INFO] WhatsApp · Business Solution Terms — changed"
    )


def test_a_month_the_page_gave_without_its_day_is_shown_as_the_month() -> None:
    """The engine stores the month's first day (reminders come early) and ends the summary with
    the month ("take effect in March 2026"): neither alert nor reminder shows a day the page
    never gave."""
    month = change_row(
        summary="AI providers barred; effective March 2026", effective_date=date(2026, 3, 1)
    )
    assert headline(month, date(2026, 2, 20)) == (
        "[CRITICAL] WhatsApp · Business Solution Terms — AI providers barred; effective March 2026"
        " (in 9 days)"
    )
    reminder = reminder_message(month, base_url=None, today=date(2026, 2, 20))
    assert reminder.title.endswith("AI providers barred: takes effect in 9 days (March 2026)")
    assert render(list(reminder.head), "text").startswith("Takes effect in 9 days, in March 2026;")


def test_a_sentence_caught_by_several_rules_is_listed_once() -> None:
    """The demo's AI clause matched three rules: the alert listed it three times."""
    clause, dated = "AI assistants may not use the API.", "This applies from 2026-01-15."
    caught = [
        ("api-access", "medium", clause),
        ("effective-date", "info", dated),
        ("ai-restriction", "critical", clause),
        ("ai-restriction", "high", clause),
    ]
    matches = [
        {"rule_id": f"r{n}", "category": category, "severity": severity, "sentence": sentence}
        | {"side": "added"}
        for n, (category, severity, sentence) in enumerate(caught)
    ]
    message = change_message(change_row(matches=matches), base_url=None, today=date(2025, 11, 22))
    assert message.items == (
        Line(clause, "added", note="api-access, ai-restriction; critical"),
        Line(dated, "added", note="effective-date; info"),
    )


def test_a_reworded_sentence_is_quoted_as_added_and_a_removed_one_as_removed() -> None:
    """A `changed` match quotes the new wording: it was struck out like a removal."""
    reworded = {"rule_id": "r", "category": "ai-training", "severity": "high", "side": "changed"}
    removed = {"rule_id": "s", "category": "data-sharing", "severity": "low", "side": "removed"}
    matches = [
        reworded | {"sentence": "We may train on it."},
        removed | {"sentence": "We never sell it."},
    ]
    message = change_message(change_row(matches=matches), base_url=None, today=date(2025, 11, 22))
    assert [line.style for line in message.items] == ["added", "removed"]


def reworded(old: str, new: str) -> Message:
    match = {"rule_id": "rate-limits", "category": "rate-limits", "severity": "medium"}
    matches = [match | {"sentence": new, "side": "changed", "before": old}]
    return change_message(change_row(matches=matches), base_url=None, today=date(2025, 11, 22))


def test_a_reworded_sentence_marks_its_changed_words_in_place() -> None:
    """ "+ … up to 100 messages per second" alone hid that the limit was 1,000; the old sentence
    above the new one, 400 characters each, made a phone's reader play spot-the-difference."""
    old = "Each business account may send up to 1,000 <b>messages</b> per second."
    message = reworded(old, old.replace("1,000", "100").replace("messages", "*calls*"))
    items = list(message.items)
    assert render(items, "text") == (
        "~ Each business account may send up to [-1,000 <b>messages</b>-] "
        "{+100 <b>*calls*</b>+} per second. (rate-limits; medium)"
    )
    assert render(items, "markdown") == (
        r"~ Each business account may send up to ~~1,000 \<b\>messages\</b\>~~ "
        r"**100 \<b\>\*calls\*\</b\>** per second. (rate-limits; medium)"
    )
    assert render(items, "html") == (
        "<p>~ Each business account may send up to <del>[-1,000 &lt;b&gt;messages&lt;/b&gt;-]"
        "</del> <ins>{+100 &lt;b&gt;*calls*&lt;/b&gt;+}</ins> per second. (rate-limits; medium)</p>"
    )
    # A mail's plain-text part is the HTML without its tags: the marks stay in it.
    assert re.sub("<[^>]+>", "", render(items, "html")).startswith(
        "~ Each business account may send up to [-1,000"
    )
    assert len(message.items) == 1  # one item: a cut for length never keeps the old alone


def test_slack_is_sent_its_own_strike_through() -> None:
    """Slack strikes words out between single tildes, and Apprise's conversion of Markdown to
    Slack's leaves tildes alone: it was sent Markdown's `~~1,000~~`, which is not Slack's."""
    channel = Channel("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")
    assert (channel.format, channel.dialect) == ("markdown", "slack")
    assert Channel("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV?format=markdown").dialect == (
        "markdown"
    )
    old = "Each business account may send up to 1,000 messages per second."
    message = reworded(old, old.replace("1,000", "100"))
    body = NotifySlack._commonmark_to_slack(fit(message, channel.dialect, channel.body_maxlen))
    assert "may send up to ~1,000~ *100* messages per second." in body, body
    removed = Message("t", items=(Line("Bots are welcome.", "removed"),))
    assert NotifySlack._commonmark_to_slack(render(list(removed.items), "slack")) == (
        "- ~Bots are welcome.~"
    )


# YouTube's termination clause, reworded by one word among 70.
YOUTUBE = (
    "YouTube reserves the right to suspend or terminate your Google account or your access to "
    "all or part of the Service if: (a) you materially or repeatedly breach this Agreement; (b) "
    "we are required to do so to comply with a legal requirement or a court order; or (c) we "
    "believe that there has been conduct that creates liability or harm to any user, other third "
    "party, YouTube or our Affiliates."
)


@pytest.mark.parametrize(
    ("body_format", "edit"),
    [
        ("text", "{+reasonably+}"),
        ("markdown", "**reasonably**"),
        ("html", "<ins>{+reasonably+}</ins>"),
    ],
)
def test_a_cut_keeps_a_small_edit_and_its_marks_whole(body_format: str, edit: str) -> None:
    """Clipped at its end, the sentence lost the one word that changed, or left a mark open."""
    message = reworded(YOUTUBE, YOUTUBE.replace("we believe", "we reasonably believe"))
    body = fit(message, body_format, 300)
    assert len(body) <= 300
    assert f"; or (c) we {edit} believe that there has " in body, body  # the edit, in context
    assert body.startswith(("~ …", "<p>~ …")), body  # the clause's start elided, not its edit
    for opening, closing in [("[-", "-]"), ("{+", "+}"), ("<ins>", "</ins>"), ("<del>", "</del>")]:
        assert body.count(opening) == body.count(closing), body
    assert body.count("**") % 2 == 0 and body.count("~~") % 2 == 0, body


def test_a_sentence_mostly_rewritten_keeps_its_old_wording_above_the_new() -> None:
    """Google's API policy paired two sentences sharing only "the": marked in place, they read
    as a puzzle."""
    old = "Local client applications may be exempt from the requirement."
    new = "More information about the assessment is available in the guide."
    items = list(reworded(old, new).items)
    assert render(items, "text") == f"- {old}\n+ {new} (rate-limits; medium)"
    assert render(items, "markdown").startswith(f"- ~~{old}~~\n+ **{new}")
    assert render(items, "html").startswith(f"<p>- <del>{old}</del><br>+ <ins>{new}")


def test_the_rules_that_caught_a_sentence_stand_outside_its_quote() -> None:
    """ "+ **Effective: 2026-08-18 (past versions) (effective-date; info)**": in bold, or in
    <ins>, the rule's note read as the policy's own words."""
    sentence = "Effective: 2026-08-18 (past versions)"
    match = {"rule_id": "effective-date", "category": "effective-date", "severity": "info"}
    matches = [match | {"sentence": sentence, "side": "added"}]
    message = change_message(change_row(matches=matches), base_url=None, today=date(2025, 11, 22))
    items = list(message.items)
    assert render(items, "text") == f"+ {sentence} (effective-date; info)"
    assert render(items, "markdown") == f"+ **{sentence}** (effective-date; info)"
    assert render(items, "html") == f"<p>+ <ins>{sentence}</ins> (effective-date; info)</p>"


def test_a_change_no_rule_recognised_quotes_its_first_changed_sentences() -> None:
    """Its summary only counts them: "2 sentences added in “Refunds”"."""
    excerpts = [
        {"sentence": "Refunds take 14 days.", "side": "changed", "section": "Refunds"}
        | {"before": "Refunds take 30 days."},
        {"sentence": "Gift cards are refundable.", "side": "removed", "section": "Refunds"},
    ]
    unmatched = change_row(severity="low", matches=[], excerpts=excerpts)
    message = change_message(unmatched, base_url=None, today=date(2025, 11, 22))
    assert message.items == (
        Line("Refunds take 14 days.", "added", before="Refunds take 30 days."),
        Line("Gift cards are refundable.", "removed"),
    )
    matched = change_message(change_row(excerpts=excerpts), base_url=None, today=date(2025, 11, 22))
    assert "Refunds take 14 days." not in render(list(matched.items), "text")


def test_body_formats_mark_added_text_and_link_the_change() -> None:
    message = change_message(change_row(), base_url="https://pw.example/", today=date(2025, 11, 22))
    lines = [*message.head, *message.items, *message.foot]
    text = render(lines, "text")
    assert "+ AI Providers are prohibited" in text
    assert "\nSentences: 3 added · 1 removed · 2 changed\n" in text  # not lines: named
    assert "Review this change: https://pw.example/changes/7" in text
    assert "+ **AI Providers are prohibited" in render(lines, "markdown")
    html = render(lines, "html")
    assert "<ins>AI Providers are prohibited" in html
    assert '<a href="https://www.whatsapp.com/legal/business-solution-terms">' in html


def test_markup_in_policy_text_is_escaped() -> None:
    line = [Line("<script>alert(1)</script> *bold* [x](y)")]
    assert "<script>" not in render(line, "html")
    assert render(line, "markdown") == r"\<script\>alert(1)\</script\> \*bold\* \[x\](y)"


def test_clip_cuts_at_a_word_boundary() -> None:
    assert clip("AI providers are barred from the API", 20) == "AI providers are…"
    assert clip("short", 20) == "short"


def test_clip_drops_the_punctuation_before_its_cut() -> None:
    """LinkedIn's summary, cut before "Effective date changed", ended "and 10 more;…"."""
    summary = "2 sentences added in “LinkedIn Service Terms” and 10 more; Effective date changed"
    assert clip(summary, 70) == "2 sentences added in “LinkedIn Service Terms” and 10 more…"


@pytest.mark.parametrize("body_format", ["text", "markdown", "html"])
def test_long_bodies_drop_whole_items_and_say_how_many(body_format: str) -> None:
    items = tuple(Line(f"Sentence number {n} of the new terms.", "added") for n in range(40))
    message = Message(
        "t", head=(Line("Summary."),), items=items, foot=(Line("Source", "link", "https://x/"),)
    )
    body = fit(message, body_format, 600)
    assert len(body) <= 600
    kept = sum(f"Sentence number {n} of" in body for n in range(40))
    assert 0 < kept < 40 and f"… {40 - kept} more" in body
    assert "https://x/" in body  # the footer always survives
    assert fit(message, body_format, 100_000).count("Sentence number") == 40


@pytest.mark.parametrize(("body_format", "maxlen"), [("text", 90), ("markdown", 90), ("html", 160)])
def test_a_tiny_limit_keeps_the_review_link_before_the_counts(
    body_format: str, maxlen: int
) -> None:
    """An SMS-like limit (160, Apprise's for most SMS services, less the title put into the
    body) kept "… 30 more" and the sentence counts, and dropped both links, or cut the review
    link's label to "Re…"."""
    review = Line("Review this change", "link", "https://review.example/changes/1")
    message = Message(
        "t",
        items=tuple(Line(f"Clause {n} restricts automated access.", "added") for n in range(30)),
        foot=(
            Line("Sentences: 30 added · 0 removed · 0 changed"),
            Line("Source", "link", "https://www.whatsapp.com/legal/business-solution-terms"),
            review,
        ),
    )
    body = fit(message, body_format, maxlen)
    assert len(body) <= maxlen
    assert body.endswith(render([review], body_format)), body
    assert "… 30 more" in body


def test_a_tiny_limit_keeps_the_review_link_longer_than_the_source() -> None:
    """The link that did not fit beside the other went, the longest first: a review page on a
    long host lost its link to the change for a short source URL's."""
    review = Line(
        "Review this change", "link", "https://policywatch.intranet.example.org/changes/9"
    )
    message = Message(
        "t", foot=(Line("Sentences: 1 added"), Line("Source", "link", "https://x.com/tos"), review)
    )
    body = fit(message, "text", 80)
    assert body.endswith(render([review], "text")) and "x.com" not in body


def test_a_single_overlong_paragraph_is_clipped_not_split_mid_word() -> None:
    words = " ".join(f"word{n}" for n in range(500))
    body = fit(Message("t", head=(Line(words),)), "text", 200)
    assert len(body) <= 200 and body.endswith("…")
    assert body[:-1].split(" ")[-1] in words.split(" ")


def test_service_limits_come_from_the_apprise_plugin() -> None:
    email = Channel(
        "mailto://127.0.0.1:1?mode=insecure&from=a@example.invalid&to=b@example.invalid"
    )
    assert email.format == "html" and email.body_maxlen > 1000
    assert Channel("json://127.0.0.1:1/hook").format == "text"


@given(
    items=st.lists(st.text(min_size=1, max_size=80), max_size=30),
    head=st.lists(st.text(max_size=200), max_size=3),
    maxlen=st.integers(min_value=0, max_value=1500),
    body_format=st.sampled_from(["text", "markdown", "slack", "html"]),
)
def test_fit_never_exceeds_the_limit(
    items: list[str], head: list[str], maxlen: int, body_format: str
) -> None:
    message = Message(
        "t",
        head=tuple(Line(text) for text in head),
        items=tuple(Line(text, "added") for text in items),
        foot=(Line("Source", "link", "https://example.com/terms"),),
    )
    assert len(fit(message, body_format, maxlen)) <= maxlen


def test_a_digest_tells_apart_two_changes_with_the_same_summary() -> None:
    """Two edits of one page in a day read as one line twice, both linked to the same page."""
    first = change_row(id=41, summary="Rate limits changed", effective_date=None)
    second = change_row(id=42, summary="Rate limits changed", effective_date=None)
    start = datetime(2025, 10, 20, tzinfo=UTC)
    message = digest_message(
        [first, second], digest="daily", start=start, base_url=None, today=date(2025, 10, 21)
    )
    lines = [line.text for line in message.items]
    assert len(set(lines)) == 2
    assert lines[0].endswith("(change 41, 2025-10-20)"), lines


def test_a_long_summary_is_clipped_in_the_title_not_its_effective_date() -> None:
    """Microsoft Copilot's terms: the counts and section names ran the title to 253 characters,
    and the 250 of Slack's, Discord's or an email's subject cut it at "(110…"."""
    summary = (
        "9 sentences added, 11 removed, 12 changed, 1 restored in “Microsoft Copilot Supplemental"
        " Terms of Use”, “Microsoft Copilot Terms of Use” and 8 more; Effective date changed;"
        " effective 2026-08-18"
    )
    copilot = change_row(
        service="Microsoft Copilot",
        document_type="Terms of Service",
        severity="low",
        summary=summary,
        effective_date=date(2026, 8, 18),
    )
    title = headline(copilot, date(2026, 8, 4))
    assert len(title) <= 200, title  # ntfy's title limit, the smallest of the services
    assert title.startswith("[LOW] Microsoft Copilot · Terms of Service — 9 sentences added, 11")
    assert title.endswith("…; effective 2026-08-18 (in 14 days)"), title
    body = render(list(change_message(copilot, base_url=None, today=date(2026, 8, 4)).head), "text")
    assert summary in body  # the body keeps it whole


def test_the_body_does_not_repeat_the_summary_the_title_gives() -> None:
    """Telegram showed YouTube's alert as "[MEDIUM] YouTube · Terms of Service — Termination or
    enforcement terms changed; Effective date changed" in bold, then the same line again."""
    summary = "Termination or enforcement terms changed; Effective date changed"
    youtube = change_row(summary=summary, severity="medium", effective_date=None)
    message = change_message(youtube, base_url=None, today=date(2026, 12, 6))
    assert summary in message.title
    body = fit(message, "html", 4096)
    assert summary not in body and body.startswith("<p>+ <ins>AI Providers are prohibited")


@pytest.mark.parametrize("body_format", ["text", "markdown"])
def test_a_digest_cut_for_length_links_to_the_rest(body_format: str) -> None:
    """40 changes of the corpus in Discord's 2,000 characters: 10 shown, "… 30 more", and no way
    to the 30 but opening the review page and finding the day."""
    changes = [
        change_row(id=n, summary="Termination or enforcement terms changed; Effective date changed")
        for n in range(40)
    ]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    message = digest_message(
        changes, digest="weekly", start=start, base_url="http://pw.test/", today=date(2026, 1, 8)
    )
    body = fit(message, body_format, 2000)
    assert len(body) <= 2000 and re.search(r"… \d+ more", body)
    assert "http://pw.test/?since=2026-01-01" in body
