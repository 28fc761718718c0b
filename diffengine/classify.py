"""Classification: which rules a change fires, how severe it is, and when it takes effect.

Rules read only what changed, sentence by sentence, page chrome left out:

- an added sentence fires the rules it matches, at their severity (side `added`);
- a removed sentence fires them one step lower (side `removed`): a restriction lifted matters
  less than one imposed, unless the rule watches removals only (an opt-out taken away);
- a reworded sentence fires a rule when it was edited where the rule reads (see `matching`):
  as `changed` when the old wording matched too, as `added` or `removed` when only one side
  did. A long sentence edited elsewhere (a product renamed at its end) does not fire again;
  an exception to it cut, reworded or made stricter does, wherever it stood (a permission it
  is conditioned on made stricter too), and so does a case cut
  from a list introduced as an exception ("… are not allowed, except:"), on its introduction,
  and a place cut from where a service is "available (only) in" (`allowed_cut`: fewer places
  allowed); one added there (`allowed_grown`) lifts the restriction, as an item cut from a list
  of what is barred does (`items_cut`), and an item cut from a list a rule reads ("with Meta
  and Google" become "with Meta": `listed_cut`, sharing narrowed);
- a sentence an earlier version already said (`known`: a page flapping between variants)
  fires nothing, nor does a title ("Account Suspension and Termination"): its section's
  sentences say what it names;
- a name the change replaces alike in several sentences (Facebook become Meta) is a rename:
  the old wording is read with the new name, so a sentence renamed and nothing else fires
  nothing; unless the new name already stood in the old version as a party of its own (a
  partner swapped: "with OpenAI" become "with Anthropic", Anthropic named elsewhere before).
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import chain

from diffengine.compare import ChangeReport, SentenceChange
from diffengine.dates import days_left, effective_date
from diffengine.edits import dropped, edited_within, touched
from diffengine.exception_edits import case_narrowed, loosened, tightened
from diffengine.list_edits import allowed_cut, allowed_grown, items_cut, listed_cut
from diffengine.matching import Unit, find, negated
from diffengine.normalize import comparable
from diffengine.periods import NUMBER_WORDS, lengthened
from diffengine.rules import Rule, RuleMatch, Severity, default_rules, lower, severity_rank
from diffengine.sentences import EXCEPTION_INTRO, clauses, split_sentences
from diffengine.summary import fill, summarize

_NAME_WORD = re.compile(r"\w+(?:'\w+)*")
_NAME_WORDS = 3  # at most, on either side of a rename ("Le Chat" -> "Vibe", "Inc" -> "LLC")
_RENAMED_IN = 2  # sentences replacing a name alike before it is taken for a rename
_STATEMENT_END = re.compile(r"[.!?:;]\W*$")
_NUMBERING = re.compile(r"^\W*(?:\d+(?:\.\d+)*|[a-z]|[ivx]+)[.)]\s+", re.IGNORECASE)
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
# Figures written out: "at least thirty days" says the 30 it replaced ("a", "one" say little).
_SPELLED = {word: str(number) for word, number in NUMBER_WORDS.items() if number > 1}
_SPELLED_FIGURE = re.compile(rf"\b(?:{'|'.join(_SPELLED)})\b", re.IGNORECASE)
_TITLE_WORDS = 15  # at most: a title is short
# Short words a title leaves in lower case ("Effect of Account Suspension or Termination").
_TITLE_JOINERS = frozenset(
    {
        "a",
        "an",
        "and",
        "or",
        "of",
        "the",
        "to",
        "for",
        "by",
        "in",
        "on",
        "at",
        "with",
        "from",
        "as",
        "vs",
        "these",
        "this",
        "your",
        "our",
        "its",
        "their",
    }
)
MAX_MATCHES = 50  # per change: a rewritten policy fires hundreds; the most severe are kept
_UNMATCHED: Severity = "low"  # a real text change that no rule recognises


@dataclass(frozen=True)
class Classification:
    """The verdict of the rules on a change report."""

    severity: str | None
    categories: tuple[str, ...]
    matches: tuple[RuleMatch, ...]
    summary: str
    effective_date: date | None = None
    days_left: int | None = None


def classify(
    report: ChangeReport, rules: Sequence[Rule] | None = None, *, today: date | None = None
) -> Classification:
    """Match `rules` (default: the shipped ones) on the substantive sentences of `report`.

    `today` dates the change, for the days left before its effective date (default: today).
    """
    rules = default_rules() if rules is None else rules
    today = today or date.today()
    substantive = report.substantive
    novel = [sentence for sentence in substantive if not sentence.known]
    renames = _renames(substantive, report.old_blocks)
    struck = {
        comparable(sentence.old)
        for sentence in substantive
        if comparable(sentence.old) != comparable(sentence.new)
    }
    figured = [rule for rule in rules if rule.figures]
    restored = [
        match
        for sentence in substantive
        if sentence.known and not _title(sentence)
        for match in _fire(figured, sentence, renames)
    ]
    matches = sorted(
        _restated(
            _dedupe(
                match
                for sentence in novel
                if not _title(sentence)
                for match in chain(
                    _fire(rules, sentence, renames), _case_cut(rules, sentence, struck)
                )
            ),
            figured,
            restored,
        ),
        # At one severity, what a change says now is its news before what it dropped: "Data
        # shared with third parties" before "Sharing of data with third-party AI dropped".
        key=lambda match: (-severity_rank(match.severity), match.side == "removed"),
    )[:MAX_MATCHES]
    # A table's row is read whole, its cells labelled by their columns' heads: its date is
    # effective by its column ("| New rate limits | 2026-01-15 |" under "Effective date").
    changed_text = [sentence.new_row or sentence.new for sentence in substantive if sentence.new]
    old_text = [
        sentence.old_row or sentence.old
        for sentence in substantive
        if sentence.old and sentence.new
    ]
    removed_text = [
        sentence.old_row or sentence.old for sentence in substantive if not sentence.new
    ]
    effective = effective_date(changed_text, report.header, today, old_text, removed_text)
    remaining = days_left(effective, today) if effective else None
    severity = matches[0].severity if matches else _UNMATCHED if substantive else None
    caught = {comparable(match.sentence) for match in matches}
    unmatched = [s for s in novel if comparable(s.new or s.old) not in caught]
    # A new section beside a new "last updated" date was `info`, below the same section alone:
    # what no rule recognised still weighs what any text change does.
    raised = bool(unmatched) and severity_rank(severity) < severity_rank(_UNMATCHED)
    severity = _UNMATCHED if raised else severity
    categories = tuple(dict.fromkeys(match.category for match in matches))
    return Classification(
        severity=severity,
        categories=categories,
        matches=tuple(matches),
        summary=summarize(matches, report, effective, described=raised),
        effective_date=effective,
        days_left=remaining,
    )


def _title(sentence: SentenceChange) -> bool:
    """Whether `sentence` is a title: words capitalized but the short ones that join them, and
    no punctuation that ends a statement or runs on ("Account Suspension and Termination",
    "7. Compliance Review Rights and Suspension and Termination of these Terms"). A title names
    what the sentences under it say and says none of it: a section added fires its sentences'
    rules, not its title's too. A statement ends in a full stop, a clause in a comma or a colon,
    and a shout in capitals ("THE SERVICES ARE PROVIDED AS IS.") is a sentence still; so is a
    list item, capitalized or not: under "You may not:", "- Automated Scraping" is a ban."""
    text = sentence.new or sentence.old
    if sentence.new_intro or sentence.old_intro or _STATEMENT_END.search(text) or "," in text:
        return False
    words = _NAME_WORD.findall(_NUMBERING.sub("", text))
    return 0 < len(words) <= _TITLE_WORDS and all(
        word[0].isupper() or word.lower() in _TITLE_JOINERS for word in words
    )


Rename = tuple[re.Pattern[str], str]


def _renames(sentences: Sequence[SentenceChange], old_blocks: Sequence[str]) -> tuple[Rename, ...]:
    """The names the change replaces alike in at least `_RENAMED_IN` reworded sentences, most
    replaced first: Facebook become Meta in 2022 ("… with other Facebook Companies" -> "… with
    other Meta Companies" fired a data-sharing alert), "WhatsApp Inc." become "WhatsApp LLC",
    Mistral's "Le Chat Pro" become "Vibe Pro" (a high training alert). A name is capitalized
    words, at most `_NAME_WORDS`, never a sentence's first word: there a capital marks no name
    ("We may share" -> "You may share" is no rename). Nor is a name replaced by a party the old
    version already named on its own (`_named_apart`): that is a partner swapped."""
    counts: Counter[tuple[str, str]] = Counter()
    for sentence in sentences:
        if not (sentence.old and sentence.new):
            continue
        old, new = _NAME_WORD.findall(sentence.old), _NAME_WORD.findall(sentence.new)
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        counts.update(
            {
                (" ".join(old[i1:i2]), " ".join(new[j1:j2]))
                for tag, i1, i2, j1, j2 in matcher.get_opcodes()
                if tag == "replace"
                and i1
                and j1
                and max(i2 - i1, j2 - j1) <= _NAME_WORDS
                and all(word[0].isupper() for word in old[i1:i2] + new[j1:j2])
            }
        )
    renames = (
        (_name(name), renamed)
        for (name, renamed), count in counts.most_common()
        if count >= _RENAMED_IN
    )
    return tuple(
        (name, renamed) for name, renamed in renames if not _named_apart(name, renamed, old_blocks)
    )


def _name(name: str) -> re.Pattern[str]:
    """`name` as a pattern: its words, whatever spacing or punctuation between them."""
    return re.compile(r"\b" + r"\W+".join(map(re.escape, name.split())) + r"\b")


def _named_apart(name: re.Pattern[str], renamed: str, old_blocks: Sequence[str]) -> bool:
    """Whether `renamed` stood in a block of the old version that does not name `name`: a party
    of its own there, not a new name for it. A rename named before the text took it up stands
    beside the old name ("The Facebook company is now Meta. … Learn more about Meta"). That the
    old name stays in the new version says nothing: a company renamed keeps its products' names
    ("the Facebook app"), as Facebook's, Instagram's and Meta's developer terms did in 2022."""
    party = _name(renamed)
    return any(party.search(block) and not name.search(block) for block in old_blocks)


def _rename(text: str, renames: tuple[Rename, ...]) -> str:
    """`text` with the new names for the old."""
    for name, renamed in renames:
        text = name.sub(renamed, text)
    return text


def _units(sentence: str, intro: str) -> tuple[Unit, ...]:
    """The clauses of `sentence`, each read under the introduction of its list; not under one
    that opens an exception ("Transfers of data are not allowed, except:"): its items are the
    cases the restriction leaves out, and "- to an AI model provider, with the user's consent"
    added there allows what it names, where read as "… not allowed, except: to an AI model
    provider" it fired a high "AI assistants restricted". An item says then only what it says
    itself."""
    lead = "" if EXCEPTION_INTRO.search(intro) else intro
    return tuple(Unit(clause.text, clause.lead, lead) for clause in clauses(sentence))


def _key(unit: Unit) -> tuple[str, str]:
    return comparable(unit.lead), comparable(unit.text)


def _reads(rule: Rule, units: Iterable[Unit]) -> bool:
    return any(find(rule, unit) is not None for unit in units)


def _fires(rule: Rule, unit: Unit, counterparts: tuple[Unit, ...]) -> bool:
    """Whether `rule` reads `unit` where it differs from its counterparts (all of it if new), or
    an exception to what it reads was cut or narrowed, and not only by an exception added to
    what the counterparts already said; or a counterpart said it but for the rule's `none`
    words ("We do not use your content to train our models" become "We use…"), however far
    they stood from what the rule reads."""
    reach = find(rule, unit)
    if reach is None:
        return False
    if rule.lengthened or not counterparts or any(negated(rule, other) for other in counterparts):
        # A period grown is its rule's news wherever the sentence grew it (`_fire` checked it),
        # an exception added included: it keeps data past the period, no restriction loosened.
        return True
    if not touched(reach, unit, counterparts) and not tightened(unit, counterparts):
        return False
    return not (loosened(unit, counterparts) and _reads(rule, counterparts))


def _cut(rule: Rule, gone: Sequence[Unit], new_units: tuple[Unit, ...]) -> bool:
    """Whether a clause that `rule` read from its sentence's lead was cut (not reworded) while
    the rule still reads the sentence: "You may only use our APIs (i) for your own personal
    needs and (ii) to incorporate them in products" cut to "… for your own personal needs"
    changes what the statement allows, though each word left is one the old sentence had."""
    if not new_units:
        return False
    # The clauses cut first: most rules read none of them, and then the new ones go unread.
    for unit in gone:
        reach = find(rule, unit)
        if reach is not None and reach.start < unit.text_start and dropped(unit, new_units):
            return _reads(rule, new_units)
    return False


def _fire(
    rules: Sequence[Rule], sentence: SentenceChange, renames: tuple[Rename, ...] = ()
) -> Iterator[RuleMatch]:
    """The rule matches of one changed sentence, with the side each fired on; its old wording
    is read with the `renames` done (and quoted as it was)."""
    old = _rename(sentence.old, renames), _rename(sentence.old_intro, renames)
    old_units = _units(*old) if sentence.old else ()
    new_units = _units(sentence.new, sentence.new_intro) if sentence.new else ()
    old_keys = {_key(unit) for unit in old_units}
    new_keys = {_key(unit) for unit in new_units}
    fresh = [unit for unit in new_units if _key(unit) not in old_keys]
    gone = [unit for unit in old_units if _key(unit) not in new_keys]
    section = " › ".join(sentence.section)
    same_figures = _figures(sentence.old) == _figures(sentence.new)
    for rule in rules:
        if rule.figures and sentence.old and sentence.new and same_figures:
            continue
        if rule.lengthened and not lengthened(sentence.old, sentence.new):
            continue
        if rule.side != "added" and any(
            items_cut(rule, unit, old_units)
            or allowed_grown(rule, unit, old_units)
            or listed_cut(rule, unit, old_units)
            for unit in fresh
        ):
            yield _match(
                rule, "removed", _removed_severity(rule), sentence.old, section, partly=True
            )
        elif rule.side != "removed" and (
            any(_fires(rule, unit, old_units) for unit in fresh) or _cut(rule, gone, new_units)
        ):
            side = "changed" if _reads(rule, old_units) else "added"
            yield _match(rule, side, rule.severity, sentence.new, section, sentence.old)
        elif rule.side != "removed" and (
            any(allowed_cut(rule, unit, old_units) for unit in fresh)
            or _figure_cut(rule, sentence, gone, tuple(fresh))
        ):
            yield _match(rule, "changed", rule.severity, sentence.new, section, sentence.old)
        elif (
            rule.side != "added"
            and any(_fires(rule, unit, new_units) for unit in gone)
            and not _reads(rule, new_units)
        ):
            yield _match(rule, "removed", _removed_severity(rule), sentence.old, section)


def _figure_cut(
    rule: Rule, sentence: SentenceChange, gone: Sequence[Unit], fresh: tuple[Unit, ...]
) -> bool:
    """Whether a `figures` rule read the old wording of `sentence` and not the new only because
    its figure was cut, the rest of what it read kept: Instagram's "we will notify you … at
    least 30 days before we make changes to these Terms" cut to "… before we make changes" on
    2021-02-23 promised notice still, by no period, and fired nothing (the rule reads a
    figure; the promise dropped is another rule's). The figure is changed, at the rule's
    severity, as one replaced by another is; not one written out instead (Facebook's "at least
    30 days" become "at least thirty days")."""
    if not (rule.figures and sentence.new):
        return False
    spelled = {_SPELLED[word.lower()] for word in _SPELLED_FIGURE.findall(sentence.new)}
    if not set(_figures(sentence.old)) - set(_figures(sentence.new)) - spelled:
        return False
    if _reads(rule, fresh):
        return False
    return any(
        (reach := find(rule, unit)) is not None and edited_within(reach, unit, fresh)
        for unit in gone
    )


def _removed_severity(rule: Rule) -> Severity:
    """How much a sentence removed weighs: one step less than added (a restriction lifted matters
    less than one imposed), unless the removal is the rule's news: an opt-out taken away
    (`side: removed`), or a period bounded (`lengthened`): "We delete your messages after 30
    days" gone leaves them kept for no time said, as "… for as long as necessary" would."""
    return rule.severity if rule.side == "removed" or rule.lengthened else lower(rule.severity)


def _figures(text: str) -> Counter[str]:
    """The figures of `text` ("30", "0.005"), for the rules that read a period or an amount."""
    return Counter(_FIGURE.findall(text))


def _restated(
    matches: Iterable[RuleMatch], rules: Sequence[Rule], restored: Sequence[RuleMatch] = ()
) -> list[RuleMatch]:
    """`matches` less those of a `figures` rule said again: a sentence removed and one added in
    the same change, with the same figures, are its figure restated in a sentence rewritten past
    recognition (YouTube's "If you are under 13 years of age, then please do not use the
    Service" become "You must be at least 13 years old to use the Service"), as a reworded
    sentence with its figures kept is. A sentence without figures is never taken for another.
    `restored`: the matches of sentences an earlier version said, which fire nothing themselves
    but restate a figure all the same: YouTube brought back on 2021-02-23 its 2020 wording of
    the age of 13 as it removed the other, read "Minimum age to use the platform dropped"."""
    matches = list(matches)
    figured = {rule.id for rule in rules if rule.figures}
    said: dict[str, set[tuple[str, frozenset[str]]]] = {"added": set(), "removed": set()}
    for match in chain(matches, restored):
        if match.rule_id in figured and match.side in said:
            said[match.side].add((match.rule_id, frozenset(_figures(match.sentence))))

    def again(match: RuleMatch) -> bool:
        figures = frozenset(_figures(match.sentence))
        other = "removed" if match.side == "added" else "added"
        return (
            match.rule_id in figured
            and match.side in said
            and bool(figures)
            and (match.rule_id, figures) in said[other]
        )

    return [match for match in matches if not again(match)]


def _case_cut(
    rules: Sequence[Rule], sentence: SentenceChange, struck: set[str]
) -> Iterator[RuleMatch]:
    """The rule matches of a case cut from a list that opens an exception, its introduction
    kept: under Google's "Transfers of data to third parties are not allowed, except:", "- to
    processors acting for you" removed leaves the restriction reaching further, as an exception
    cut from running text does (`tightened`). An item is read without its introduction
    (`_units`), so by itself the case removed said nothing the rules read: the rules the
    introduction fires fire on it, changed, at their severity, its old wording the introduction
    with the case. Not when the introduction is gone or reworded (`struck`): then the change to
    the restriction is its own, read there. So does a case qualified or reworded, under the
    same introduction ("- with the user's consent" become "- with the user's explicit
    consent"): it leaves out less; one only cut short leaves out more, and fires nothing."""
    if not EXCEPTION_INTRO.search(sentence.old_intro):
        return
    if sentence.new and (
        comparable(sentence.new_intro) != comparable(sentence.old_intro)
        or not case_narrowed(sentence.old, sentence.new)
    ):
        return
    statement = split_sentences(sentence.old_intro)[-1]
    if comparable(statement) in struck:
        return
    units = _units(statement, "")
    before = f"{statement} {sentence.old}"
    section = " › ".join(sentence.section)
    for rule in rules:
        if rule.side != "removed" and _reads(rule, units):
            yield _match(rule, "changed", rule.severity, statement, section, before)


def _match(
    rule: Rule,
    side: str,
    severity: Severity,
    sentence: str,
    section: str,
    before: str = "",
    *,
    partly: bool = False,
) -> RuleMatch:
    """A match quoting `sentence`, with `before`, the old wording when the sentence was reworded.
    `partly`: the sentence only narrowed what the rule reads, an item cut from its list ("with
    Meta and Google" become "with Meta"), and the title says so: "Sharing of data with third
    parties dropped" alone read as all sharing ended."""
    template = rule.removed_title if side == "removed" else rule.title
    title = fill(f"{template}, in part" if partly else template, sentence)
    return RuleMatch(rule.id, rule.category, severity, sentence, side, title, section, before)


def _dedupe(matches: Iterable[RuleMatch]) -> Iterator[RuleMatch]:
    """One match per rule and sentence: a page that repeats a clause repeats no alert."""
    seen: set[tuple[str, str]] = set()
    for match in matches:
        key = (match.rule_id, comparable(match.sentence))
        if key not in seen:
            seen.add(key)
            yield match
