"""What each alert says: one change, a digest of changes, a change's date coming near or the
change withdrawn, or fetch problems and their end.

The title carries what a reader must see first (severity, document, headline, effective date);
the body gives the evidence (matched sentences, counts) and the way back (source page, and the
change on the review page when a base URL is configured).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from notifier.render import Line, Message, clip
from store.models import FETCH_ISSUE
from store.queries import ChangeRow, severity_rank

NOTIFY_TYPES = {"critical": "failure", "high": "warning"}  # the rest: "info"
# A title's length: an email subject or a notification line read at a glance, and within every
# service's own title limit (ntfy: 200), whose cut would fall on the date at the end.
TITLE_MAX = 170
MIN_GIST = 24  # a summary clipped shorter than this would say nothing: the title runs long


def _severity(change: ChangeRow) -> str:
    """The change's severity; none yet (diff engine pending) reads as info."""
    return change.severity or "info"


def _dated(change: ChangeRow, today: date) -> tuple[str, str]:
    """The summary's gist and what the title says after it of the effective date: how far it
    is, counted when the alert goes (a digest goes days later), and the date itself, which the
    diff engine writes at the summary's end. Apart, so that a long gist is clipped, not the date."""
    summary, when = _first_line(change), change.effective_date
    if when is None:
        return summary, ""
    relative = _relative((when - today).days)
    stated = f"effective {change.effective_as_given}"
    gist = summary.removesuffix(stated).rstrip("; ")
    if gist and gist != summary:
        return gist, f"; {stated} ({relative})"
    return summary, f" ({stated}, {relative})"


def _title(lead: str, gist: str, tail: str) -> tuple[str, str]:
    """`lead`, `gist` and `tail`, the gist clipped at a word to keep the title within TITLE_MAX:
    a change no rule recognised is summarised by counts and section names ("9 sentences added,
    11 removed, 12 changed, 1 restored in “Microsoft Copilot Supplemental Terms of Use”, …"),
    and the service's cut of such a title fell on its effective date and days left. With the
    gist as the title gives it: a service with less room cuts it alone (`Message.gist`)."""
    shown = clip(gist, max(TITLE_MAX - len(lead) - len(tail), MIN_GIST))
    return f"{lead}{shown}{tail}", shown


def review_url(change: ChangeRow, base_url: str | None) -> str | None:
    """The change on the review page (`policywatch serve`), when its base URL is known."""
    return f"{base_url.rstrip('/')}/changes/{change.id}" if base_url else None


def headline(change: ChangeRow, today: date) -> str:
    """`[CRITICAL] WhatsApp · Business Solution Terms — AI providers barred (effective …)`."""
    return _headline(change, today)[0]


def _headline(change: ChangeRow, today: date) -> tuple[str, str]:
    """The headline and its gist, as `_title` gives them."""
    gist, when = _dated(change, today)
    return _title(f"[{_severity(change).upper()}] {_named(change)} — ", gist, when)


def _named(change: ChangeRow) -> str:
    return f"{change.service} · {change.document_type}"


def _matched_sentences(change: ChangeRow) -> tuple[Line, ...]:
    """Each matched sentence once, with every category that caught it and its worst severity.

    A reworded sentence is quoted in its new wording, as added, with its old wording, which the
    rendering marks word by word (`notifier.render`): "up to 100 messages per second" alone would
    hide that it was 1,000.
    """
    return tuple(
        Line(
            caught.sentence,
            "removed" if caught.side == "removed" else "added",
            before="" if caught.side == "removed" else caught.before,
            note=f"{', '.join(caught.categories)}; {caught.severity}",
        )
        for caught in change.matched_sentences()
    )


def _excerpts(change: ChangeRow) -> tuple[Line, ...]:
    """The first sentences that changed, for a change no rule recognised: its summary only
    counts them ("2 sentences added in “Fees”"). Changes stored before excerpts were kept have
    none."""
    return tuple(
        Line(
            excerpt["sentence"],
            "removed" if excerpt["side"] == "removed" else "added",
            before=excerpt.get("before", ""),  # excerpts stored before it was kept lack it
        )
        for excerpt in change.excerpts
    )


def change_message(change: ChangeRow, *, base_url: str | None, today: date) -> Message:
    """One change: its summary, the sentences the rules matched (or, when none did, the first
    that changed), counts and links."""
    quoted = _matched_sentences(change) or _excerpts(change)
    # Named: unnamed, "12 added · 0 removed · 5 changed" under "4 sentences added, …" read as
    # another count than the summary's, of lines perhaps.
    counts = f"{change.added} added · {change.removed} removed · {change.changed} changed"
    review = review_url(change, base_url)
    title, gist = _headline(change, today)
    return Message(
        title=title,
        gist=gist,
        head=tuple(Line(line) for line in _untitled(change, title, today)),
        items=quoted,
        foot=(
            Line(f"Sentences: {counts}"),
            Line("Source", "link", change.url),
            *([Line("Review this change", "link", review)] if review else []),
        ),
        notify_type=NOTIFY_TYPES.get(_severity(change), "info"),
    )


def found_earlier(alert: Message, change: ChangeRow, now: datetime) -> Message:
    """The alert of `change` with the day it was found said first, when that was a day or more
    before `now`: one that waited out a channel down for days (or a pause) read as news of the
    day."""
    days = (now - change.detected_at).days
    if days < 1:
        return alert
    before = f"{days} day{'s' if days > 1 else ''} before this alert"
    return replace(
        alert, head=(Line(f"Found {change.detected_at:%Y-%m-%d}, {before}."), *alert.head)
    )


def _untitled(change: ChangeRow, title: str, today: date) -> list[str]:
    """The summary's lines the title does not already give whole: every service shows the title
    above the body (Telegram in bold at its top), where the same line twice read as padding."""
    first, *rest = change.summary.strip().splitlines() or [""]
    gist, _ = _dated(change, today)
    return rest if gist in title else [first, *rest]


def _relative(days: int) -> str:
    """How far a day is from today: `in 1 days` was said of a change taking effect tomorrow."""
    named = {1: "tomorrow", 0: "today", -1: "yesterday"}
    return named.get(days, f"in {days} days" if days > 0 else f"{-days} days ago")


def reminder_message(change: ChangeRow, *, base_url: str | None, today: date) -> Message:
    """A change whose effective date comes near, found days or months ago: the date first, then
    what the change said, as its alert did."""
    assert change.effective_date is not None, "a reminder is of a dated change"
    days = (change.effective_date - today).days
    # One retried past its date (its channel down for days) says so: "takes effect today" of a
    # date three days gone misled.
    left = f"{'takes' if days >= 0 else 'took'} effect {_relative(days)}"
    # The diff engine ends the summary with the date, which the title gives after it anyway.
    gist, _ = _dated(change, today)
    alert = change_message(change, base_url=base_url, today=today)
    found = f"{change.detected_at:%Y-%m-%d}"
    given = change.effective_as_given
    when = f": {left} ({given})"
    title, shown = _title(f"[REMINDER] {_named(change)} — ", gist, when)
    on = "in" if given != change.effective_date.isoformat() else "on"
    return replace(
        alert,
        title=title,
        gist=shown,
        head=(
            Line(f"{left.capitalize()}, {on} {given}; found {found}."),
            *alert.head,
        ),
    )


def _day(moment: str) -> str:
    """The UTC day of an event's ISO 8601 time."""
    return datetime.fromisoformat(moment).astimezone(UTC).strftime("%Y-%m-%d")


def withdrawn_message(
    change: ChangeRow, event: dict[str, Any], *, base_url: str | None, today: date
) -> Message:
    """A change alerted earlier that the page has since undone, reading again as before it:
    what was alerted and when first, then what the alert said, so that whoever acted on it
    (shutting a bot down over a ban) knows what to take back."""
    since = _day(event["reverted_at"])
    told = (
        f"Alerted {_day(event['alerted_at'])} (change {change.id}, found "
        f"{change.detected_at:%Y-%m-%d}, {_severity(change)}): the page has read again as before "
        f"it since {since} (change {event['reverted_by']}), so what follows no longer stands."
    )
    state = f"the page reads again as before this change (since {since})"
    recalled = _recalled(change, "WITHDRAWN", state, told, base_url=base_url, today=today)
    return replace(recalled, notify_type="info")


def reinstated_message(
    change: ChangeRow, event: dict[str, Any], *, base_url: str | None, today: date
) -> Message:
    """A change whose withdrawal was told that the page has since put back, reading again as
    after it: told "no longer stands", whoever took the ban back must hear it stands again. As
    severe as the change itself."""
    since = _day(event["reinstated_at"])
    told = (
        f"Told withdrawn {_day(event['withdrawn_told_at'])}: since {since} (change "
        f"{event['reinstated_by']}) the page reads again as after change {change.id} (found "
        f"{change.detected_at:%Y-%m-%d}, {_severity(change)}), so what follows stands again."
    )
    state = f"the page reads again as after this change (since {since})"
    return _recalled(change, "REINSTATED", state, told, base_url=base_url, today=today)


def _recalled(
    change: ChangeRow, tag: str, state: str, told: str, *, base_url: str | None, today: date
) -> Message:
    """The alert of a change told again, tagged, with where the page stands now in its title
    and how it came there above what the alert said."""
    alert = change_message(change, base_url=base_url, today=today)
    title, gist = _title(f"[{tag}] {_named(change)} — ", _first_line(change), f": {state}")
    return replace(alert, title=title, gist=gist, head=(Line(told), *alert.head))


def _first_line(change: ChangeRow) -> str:
    """The summary's first line, as a title quotes it."""
    return change.summary.strip().splitlines()[0] if change.summary.strip() else "changed"


def most_severe_first(changes: Sequence[ChangeRow]) -> list[ChangeRow]:
    """A digest's order: most severe first, then oldest first."""
    return sorted(changes, key=lambda c: (-severity_rank(c.severity), c.detected_at, c.id))


def digest_message(
    changes: Sequence[ChangeRow],
    *,
    digest: str,
    start: datetime,
    base_url: str | None,
    today: date,
    last: datetime | None = None,
) -> Message:
    """One message for a period: its changes, most severe first, each linked, and named by its
    id and day: two edits of a page in a period can share a summary, and without a review page
    they share their link too (`policywatch show ID` tells them apart). Several periods owed at
    once (after a pause) go together, `start` to `last` (the last one's start)."""
    ordered = most_severe_first(changes)
    worst = _severity(ordered[0])
    noun = "change" if len(ordered) == 1 else "changes"
    return Message(
        title=f"[{worst.upper()}] policywatch {digest} digest, {_periods(start, last)}: "
        f"{len(ordered)} {noun}",
        head=(Line(f"{len(ordered)} {noun} since {start.date().isoformat()}, most severe first."),),
        items=_listed(ordered, base_url, today),
        foot=_timeline(start.date(), base_url),
        notify_type=NOTIFY_TYPES.get(worst, "info"),
    )


def burst_message(changes: Sequence[ChangeRow], *, base_url: str | None, today: date) -> Message:
    """The changes owed at once past a burst's size (a crawl finding 500 pages changed, a site
    redesigned): one message listing them as a digest does, where one alert each flooded the
    channel, and its service's rate limit refused most of them."""
    ordered = most_severe_first(changes)
    worst = _severity(ordered[0])
    since = min(change.detected_at for change in ordered).date()
    return Message(
        title=f"[{worst.upper()}] policywatch: {len(ordered)} changes at once",
        head=(Line(f"{len(ordered)} changes found since {since.isoformat()}, most severe first."),),
        items=_listed(ordered, base_url, today),
        foot=_timeline(since, base_url),
        notify_type=NOTIFY_TYPES.get(worst, "info"),
    )


def _listed(ordered: Sequence[ChangeRow], base_url: str | None, today: date) -> tuple[Line, ...]:
    """Each change's headline, linked, named by its id and day: two edits of a page can share a
    summary, and without a review page they share their link too."""
    return tuple(
        Line(
            f"{headline(change, today)} (change {change.id}, {change.detected_at:%Y-%m-%d})",
            "link",
            review_url(change, base_url) or change.url,
        )
        for change in ordered
    )


def _periods(start: datetime, last: datetime | None) -> str:
    """`2026-11-02`, or `2026-11-02 to 2026-11-16` for the periods a paused digest owes at once."""
    first = start.date().isoformat()
    return first if last is None or last == start else f"{first} to {last.date().isoformat()}"


def _timeline(since: date, base_url: str | None) -> tuple[Line, ...]:
    """The review page's timeline from the digest's first day: Discord's 2,000 characters hold
    10 of a month's 40 changes, and "… 30 more" alone left the rest out of reach."""
    if not base_url:
        return ()
    url = f"{base_url.rstrip('/')}/?since={since.isoformat()}"
    return (Line(f"Every change since {since.isoformat()}", "link", url),)


def _document(event: dict[str, Any]) -> str:
    return f"{event['service']} · {event['document_type']}"


def _since(event: dict[str, Any]) -> str:
    """When the problem began, to the minute: the event keeps it to the microsecond, as the
    name of the episode it opened."""
    return datetime.fromisoformat(event["since"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _failed(event: dict[str, Any]) -> str:
    """`3 failed fetches`; `1 failed fetch` with `notify --issue-streak 1`."""
    streak = event["streak"]
    return f"{streak} failed fetch" + ("" if streak == 1 else "es")


# Issues a page's redesign brings about: the declaration, not the site, needs a fix, and who
# reads the alert can make it at once (README: The catalog).
_REDECLARE = frozenset({"selector-matched-nothing", "empty-text"})


def _remedy(event: dict[str, Any]) -> tuple[Line, ...]:
    if event["issue"] not in _REDECLARE:
        return ()
    return (
        Line(
            f"The page may have been redesigned: policywatch catalog preview {event['key']} shows"
            " what its selectors keep now; a bundled declaration is fixed in a file of yours"
            " with replaces_bundled: true."
        ),
    )


def fetch_event_message(kind: str, event: dict[str, Any]) -> Message:
    """A document that kept failing to fetch, or that is tracked again after failing."""
    document = _document(event)
    if kind == FETCH_ISSUE:
        return Message(
            title=f"[FETCH ISSUE] {document} — {_failed(event)} ({event['issue']})",
            head=(
                Line(f"Failing since {_since(event)}: {event.get('detail') or event['issue']}."),
                Line("Changes to this page go unnoticed until it can be fetched again."),
                *_remedy(event),
            ),
            foot=(Line("Source", "link", event["url"]),),
            notify_type="warning",
        )
    return Message(
        title=f"[RESUMED] {document} — tracked again",
        head=(Line(f"Fetched successfully again after failing since {_since(event)}."),),
        foot=(Line("Source", "link", event["url"]),),
        notify_type="success",
    )


def fetch_events_message(kind: str, events: Sequence[dict[str, Any]]) -> Message:
    """Several documents that kept failing to fetch (or are tracked again), in one alert: the
    kinds of failure counted in the title, so that "every host unreachable" reads at a glance."""
    ordered = sorted(events, key=lambda event: (event["service"], event["document_type"]))
    count = f"{len(ordered)} documents"
    if kind == FETCH_ISSUE:
        kinds = Counter(event["issue"] for event in ordered).most_common()
        summary = ", ".join(f"{issue} ×{n}" for issue, n in kinds)
        fewest = min(event["streak"] for event in ordered)
        return Message(
            title=f"[FETCH ISSUE] {count} failing to fetch ({summary})",
            head=(
                Line(f"Each has failed {fewest} or more fetches in a row."),
                Line("Changes to these pages go unnoticed until they can be fetched again."),
            ),
            items=tuple(
                Line(
                    f"{_document(event)} — {_failed(event)} since {_since(event)}:"
                    f" {event.get('detail') or event['issue']}",
                    "link",
                    event["url"],
                )
                for event in ordered
            ),
            notify_type="warning",
        )
    return Message(
        title=f"[RESUMED] {count} — tracked again",
        head=(Line("Fetched successfully again after failing."),),
        items=tuple(
            Line(
                f"{_document(event)} (failing since {_since(event)})",
                "link",
                event["url"],
            )
            for event in ordered
        ),
        notify_type="success",
    )
