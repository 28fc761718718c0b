"""The one line a developer reads first: what changed, and by when it applies.

"AI providers barred from the WhatsApp Business Solution; effective 2026-01-15" when rules fired;
otherwise where the text changed and how much. The days left before the date are not part of it:
the summary is stored, and they would go stale (alerts and pages count them when shown). A
date the text gives as a month alone is said as the month ("effective March 2026"): the stored
date is its first day, and the line does not claim a day the page never gave.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from diffengine.compare import ChangeReport, SentenceKind
from diffengine.dates import spelled
from diffengine.rules import RuleMatch

MAX_TITLES = 3
DATES = "effective-date"
MAX_SECTIONS = 2
MAX_EXCERPTS = 3
_FALLBACK_TARGET = "the platform"
SENTENCE_KINDS: tuple[SentenceKind, ...] = ("added", "removed", "changed")
# "prohibited from accessing or using the WhatsApp Business Solution" -> that product name.
_TARGET = re.compile(
    r"\b(?:from|on|via|through|with|to)\s+(?:accessing or using\s+|accessing\s+|using\s+|"
    r"access to\s+|use of\s+)?the\s+((?:[A-Z][\w'&-]*\s?){1,5})"
)


# "To use Copilot you must…", "to access WhatsApp": a product named without "the", after the
# verb of its use. Not a word that only points ("to use Your account", "using Any …").
_NAMED_TARGET = re.compile(
    r"\b(?i:to\s+use|to\s+access|using|accessing)\s+"
    r"(?!(?:You|Your|Our|Its|Their|This|These|That|Those|Any|All|Such|Each|Other|The)\b)"
    r"((?:[A-Z][\w'&-]*\s?){1,3})"
)


def target(sentence: str) -> str:
    """The platform or product a restriction applies to, as the sentence names it: "the
    WhatsApp Business Solution", or a product named bare after the verb of its use ("To use
    Copilot you must…": Copilot's minimum age was "to use the platform")."""
    found = _TARGET.search(sentence)
    if found:
        return f"the {found.group(1).strip()}"
    named = _NAMED_TARGET.search(sentence)
    return named.group(1).strip() if named else _FALLBACK_TARGET


def fill(template: str, sentence: str) -> str:
    """A rule's title for one sentence: `{target}` replaced by what the sentence names,
    capitalised. Done where a match is made, so the summary, the store, the command line, the
    pages and the alerts all show the same title, never the raw placeholder."""
    text = template.replace("{target}", target(sentence)) if "{target}" in template else template
    return text[:1].upper() + text[1:]


def title(match: RuleMatch) -> str:
    """The match's title, filled (a no-op for a match from `classify`, already filled)."""
    return fill(match.title, match.sentence)


def summarize(
    matches: Sequence[RuleMatch],
    report: ChangeReport,
    effective: date | None,
    *,
    described: bool = False,
) -> str:
    """One line: the most severe finding of each category (or where the text changed), then
    the effective date. `described`: say where the text changed first, as for a change no rule
    recognised; the matches found only a date ("Effective date changed" alone hid 25 sentences
    of a new section)."""
    strongest: dict[str, RuleMatch] = {}  # per category; matches come most severe first
    for match in matches:
        strongest.setdefault(match.category, match)
    if effective and (len(strongest) > 1 or described):
        strongest.pop(DATES, None)  # the date at the end says it better
    titles = list(dict.fromkeys(map(title, strongest.values())))[:MAX_TITLES]
    if described or not titles:
        titles.insert(0, describe(report))
    line = "; ".join(titles)
    if effective:
        line += f"; effective {spelled(effective)}"
    return line


def describe(report: ChangeReport) -> str:
    """Where and how much the text changed, for a change no rule recognised.

    Sentences an earlier version said (`known`) are counted apart, as restored, after the
    edits that are news, and their sections after those of the news: Google Play's guidelines
    brought back on 2022-07-08 the 14 sentences on the install-packages permission dropped a
    week before, beside a new effective date, and read "15 sentences added, 1 removed".
    """
    substantive = report.substantive
    if not substantive:
        return "Only page chrome changed" if report.sentences else "No change in the text"
    news = [sentence for sentence in substantive if not sentence.known]
    restored = [sentence for sentence in substantive if sentence.known]
    counts: list[tuple[str, int]] = [
        (kind, count)
        for kind in SENTENCE_KINDS
        if (count := sum(1 for sentence in news if sentence.kind == kind))
    ]
    if restored:
        counts.append(("restored", len(restored)))
    (kind, count), rest = counts[0], counts[1:]
    line = ", ".join(
        [f"{count} sentence{'' if count == 1 else 's'} {kind}"] + [f"{n} {k}" for k, n in rest]
    )
    sections = list(
        dict.fromkeys(sentence.section[-1] for sentence in news + restored if sentence.section)
    )
    where = ", ".join(f"“{name}”" for name in sections[:MAX_SECTIONS])
    if len(sections) > MAX_SECTIONS:
        where += f" and {len(sections) - MAX_SECTIONS} more"
    return f"{line} in {where}" if where else line


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A changed sentence, quoted by an alert about a change that no rule recognised: the
    counts alone ("2 sentences added in “Fees”") leave the reader to open the page."""

    sentence: str  # the new wording, or the old one for a removed sentence
    side: SentenceKind
    section: str = ""
    before: str = ""  # the old wording of a reworded sentence, as a rule match keeps it


def excerpts(report: ChangeReport) -> tuple[Excerpt, ...]:
    """The first few substantive sentences that changed, in page order, news before sentences
    an earlier version said (restored: quoting them would hide what is new)."""
    ordered = sorted(report.substantive, key=lambda sentence: sentence.known)
    return tuple(
        Excerpt(
            sentence.old if sentence.kind == "removed" else sentence.new,
            sentence.kind,
            " › ".join(sentence.section),
            sentence.old if sentence.kind == "changed" else "",
        )
        for sentence in ordered[:MAX_EXCERPTS]
    )
