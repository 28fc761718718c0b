"""The verdict on one new version of a document, as the store records it.

`assess` runs the cheap tests first and stops at the first that explains the change:

1. cosmetic: the texts normalize equal (whitespace, typography, links, dates, letter case);
2. anomaly: the capture went wrong rather than the policy changed: the text collapsed to a
   fraction, the page switched language, the last version was itself a broken capture and no
   earlier text is sound (there is nothing to compare with), or only page chrome changed; a
   capture the user accepted (`crawl --accept-capture`) skips this test, and so does the next
   change's test of it;
3. flapping: the new text normalizes equal to a version seen before (A/B-tested widgets,
   pages alternating between two renderings), and is not a broken capture seen before; or,
   given earlier texts, every sentence it brings was in one of them (Instagram's terms flip
   between regional variants in every combination);
4. otherwise the change is meaningful: compared, classified, summarised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from itertools import pairwise

from diffengine.classify import classify
from diffengine.compare import ChangeReport, compare
from diffengine.language import detect_language
from diffengine.noise import collapse_ratio, looks_broken
from diffengine.normalize import comparable, comparable_lines, normalize
from diffengine.rules import Rule, RuleMatch
from diffengine.summary import Excerpt, excerpts

__all__ = ["Assessment", "Excerpt", "RuleMatch", "assess", "text_fingerprint"]


@dataclass(frozen=True)
class Assessment:
    """What the store keeps of a change: whether it matters, how much, and why."""

    meaningful: bool
    reason: str | None  # why not meaningful: "cosmetic", "flapping", "anomaly"
    severity: str | None
    categories: tuple[str, ...]
    summary: str
    added: int  # sentences added (page chrome left out)
    removed: int  # sentences removed
    changed: int  # sentences reworded
    matches: tuple[RuleMatch, ...] = field(default_factory=tuple)
    effective_date: date | None = None
    days_left: int | None = None  # until the effective date, counted from `today`
    excerpts: tuple[Excerpt, ...] = ()  # the first sentences that changed, matched or not


@lru_cache(maxsize=16)
def text_fingerprint(text: str) -> str:
    """A hash of a text's normal form (letter case folded): equal for cosmetic variants."""
    return hashlib.sha256(normalize(text).casefold().encode("utf-8")).hexdigest()


def _unmeaningful(reason: str, summary: str, report: ChangeReport | None = None) -> Assessment:
    counts = (
        (report.count("added"), report.count("removed"), report.count("changed"))
        if report
        else (0, 0, 0)
    )
    return Assessment(False, reason, None, (), summary, *counts)


def assess(
    old: str,
    new: str,
    seen: Collection[str] = (),
    *,
    baseline: str | None = None,
    history: Sequence[str] = (),
    rules: Sequence[Rule] | None = None,
    today: date | None = None,
    language: str | None = None,
    accepted: bool = False,
    old_accepted: bool = False,
) -> Assessment:
    """Judge the change from `old` to `new`; `seen` holds fingerprints of earlier versions.

    `baseline`: the text of the last version whose change was not an anomaly (or the first
    version), when it is not `old`: after a broken capture, the next version is compared with
    the last sound one instead (a baseline that itself looks broken is ignored). `history`:
    texts of earlier versions (the last thirty distinct ones are plenty): a change that only
    brings back sentences they hold is a page flapping between variants. `rules`:
    the rules to apply (default: the shipped ones; see `load_rules`). `today`: the date the
    change is dated, for days left before its effective date (default: today). `language`:
    the language the page is declared in (ISO 639-1), when known. `accepted`: the user vouched
    for `new` as the page really reads (`crawl --accept-capture`), so however it shrank it is
    judged as a change, not dismissed as a broken capture; `old_accepted`: `old` was such a
    capture, so the next version is compared with it even if it looks broken.
    """
    if old == new:
        return _unmeaningful("cosmetic", "No change in the text")
    fingerprint = text_fingerprint(new)
    if fingerprint == text_fingerprint(old):
        return _unmeaningful("cosmetic", "Cosmetic change: layout, typography, links or dates")
    sound = baseline is not None and not looks_broken(normalize(baseline))
    reference = baseline if baseline is not None and sound else old
    if not old_accepted and _broken(reference) and not _broken(new):
        reference = _last_sound(history) or reference
    vouched = old_accepted and reference is old
    anomaly = None if accepted else _anomaly(reference, new, language, vouched=vouched)
    if anomaly:
        return _unmeaningful("anomaly", f"Capture anomaly: {anomaly}")
    if fingerprint in seen:
        return _unmeaningful("flapping", "Back to a version seen before: the page flaps")
    report = compare(reference, new)
    if history:
        earlier = [_searchable(text) for text in history]
        report = _mark_known(report, earlier)
        if _variant_of(report, [version.text for version in earlier], history):
            return _unmeaningful("flapping", "Flapping between page variants seen before", report)
    if not report.substantive:
        if report.sentences:
            return _unmeaningful("anomaly", "Capture anomaly: only page chrome changed", report)
        return _unmeaningful(
            "cosmetic", "Cosmetic change: layout, typography, links or dates", report
        )
    verdict = classify(report, rules, today=today)
    return Assessment(
        meaningful=True,
        reason=None,
        severity=verdict.severity,
        categories=verdict.categories,
        summary=verdict.summary,
        added=report.count("added"),
        removed=report.count("removed"),
        changed=report.count("changed"),
        matches=verdict.matches,
        excerpts=excerpts(report),
        effective_date=verdict.effective_date,
        days_left=verdict.days_left,
    )


@dataclass(frozen=True)
class CaptureProblem:
    """A capture gone wrong in the fetcher's hands: `kind` for machines, `message` for people."""

    kind: str  # "wrong-language" or "text-collapsed"
    message: str


def capture_problem(previous: str | None, new: str, language: str | None) -> CaptureProblem | None:
    """Why `new` is a broken capture rather than a new version, compared with `previous`.

    The crawl asks before recording anything: a page served in another language than declared
    (or than the last version, when none is declared), or collapsed to a fraction of the last
    sound version, is a fetch issue; recording it would raise a false alarm now and another when
    the page comes back.
    """
    new_language = detect_language(new)
    expected = language or (detect_language(previous) if previous is not None else None)
    if expected and new_language and new_language != expected:
        if previous is None:  # nothing to have switched from: the catalog's word is the reference
            message = f"the page is in {new_language}, the catalog expects {expected}"
        else:
            message = f"the page switched language from {expected} to {new_language}"
        return CaptureProblem("wrong-language", message)
    if previous is None:  # nothing to collapse from, and no need of the whole normal form
        return None
    reference = normalize(previous)
    if looks_broken(reference):
        return None
    ratio = collapse_ratio(reference, normalize(new))
    if ratio is not None:
        message = f"the text collapsed to {ratio:.0%} of the last version's length"
        return CaptureProblem("text-collapsed", message)
    return None


def _anomaly(reference: str, new: str, language: str | None, *, vouched: bool) -> str | None:
    """Why the new capture (or the reference it would be compared with) is not sound, if so.

    Small pages are exempt from the size tests: a stub cannot collapse, and a stub followed by
    a stub is compared as usual. A `vouched` reference (accepted by the user) is sound however
    small it is.
    """
    problem = capture_problem(reference, new, language)
    if problem:
        return problem.message
    if not vouched and looks_broken(normalize(reference)) and not looks_broken(normalize(new)):
        return "restored after a broken capture; no sound version to compare with"
    return None


def _broken(text: str) -> bool:
    return looks_broken(normalize(text))


def _last_sound(history: Sequence[str]) -> str | None:
    """The newest of the earlier texts (newest first) that is no broken capture.

    A page restored after broken captures is compared with it: WhatsApp's terms collapsed to a
    list of links, were fetched so twice (the second a cosmetic variant of the first, so taken
    for the page as it now read), and came back five days later with a sentence added, which
    was dismissed as "restored after a broken capture" with the sound version in the history.
    """
    return next((text for text in history if not _broken(text)), None)


@dataclass(frozen=True)
class _Earlier:
    """An earlier version in the form sentences are compared in: `text` is its words, padded
    with spaces so a sentence is searched for as whole words (`f" {key} " in text`); `lines`
    are those of its blocks, and `seams` each last word of a line with the first of the next."""

    text: str
    lines: tuple[str, ...]
    seams: frozenset[tuple[str, str]]


@lru_cache(maxsize=32)
def _searchable(text: str) -> _Earlier:
    lines = comparable_lines(normalize(text))
    seams = frozenset(
        (line.rpartition(" ")[2], after.partition(" ")[0]) for line, after in pairwise(lines)
    )
    return _Earlier(f" {' '.join(lines)} ", lines, seams)


def _mark_known(report: ChangeReport, earlier: list[_Earlier]) -> ChangeReport:
    """The report with the sentences whose new wording an earlier version held marked known."""
    held = _holder(earlier)
    sentences = tuple(
        replace(sentence, known=True)
        if sentence.new and held(comparable(sentence.new))
        else sentence
        for sentence in report.sentences
    )
    return replace(report, sentences=sentences)


def _holder(earlier: Sequence[_Earlier]) -> Callable[[str], bool]:
    """Whether one of `earlier` holds a sentence, by its comparable key: `f" {key} " in text`
    for one of their texts.

    The versions share most of their lines, so a sentence is looked for in their lines, each
    line once; only one that runs across a seam between two lines of a version is looked for in
    that version whole. Most sentences of a change are in none, and were looked for in every
    version, thirty times the same text.
    """
    distinct = dict.fromkeys(line for version in earlier for line in version.lines)
    lines = " " + " \n ".join(distinct) + " "  # no key holds a line break

    def held(key: str) -> bool:
        if f" {key} " in lines:
            return True
        words = key.split()
        pairs = list(pairwise(words))
        return any(
            (not words or not version.seams.isdisjoint(pairs)) and f" {key} " in version.text
            for version in earlier
        )

    return held


def _variant_of(report: ChangeReport, earlier: list[str], texts: Sequence[str]) -> bool:
    """Whether the change only brings back what earlier versions said.

    Every sentence it adds (or rewords into) is known. A change that only removes is a variant
    when the page dropped all it removes once before: an earlier version lacked all of it after
    an older one had said all of it (`earlier` is newest first, `texts` their raw texts). The
    versions from before it was written lack it too, yet dropping it is news: WhatsApp's
    privacy policy lost 31 sentences on 2021-04-14 that its older versions never had, and was
    called flapping; so would be any restriction added, then lifted. A broken capture, which
    lacks everything, dropped nothing.
    """
    substantive = report.substantive
    if not substantive:
        return False
    if any(sentence.new for sentence in substantive):
        return all(sentence.known for sentence in substantive if sentence.new)
    dropped = [f" {comparable(sentence.old)} " for sentence in substantive]
    held = [all(sentence in text for sentence in dropped) for text in earlier]
    return any(
        any(held[newer + 1 :])
        and all(sentence not in text for sentence in dropped)
        and not _broken(texts[newer])
        for newer, text in enumerate(earlier)
    )
