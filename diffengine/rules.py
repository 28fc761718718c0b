"""Rules as data: what kind of policy change a sentence is, read from YAML files.

The shipped rules live in `diffengine/rules/*.yaml`; users add their own files (`--rules PATH`),
which may also replace a shipped rule (same id) or switch it off (`enabled: false`). The format
is documented in `diffengine/rules/README.md`.

How a rule reads a sentence is `diffengine.matching`; how changes fire rules, `classify`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from diffengine import dates

# libyaml's safe loader when PyYAML was built with it: every crawl checks the rules before it
# fetches, and the pure-Python loader took 23 of the 38 ms that costs.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Severity = Literal["critical", "high", "medium", "low", "info"]
Side = Literal["added", "removed", "both"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")

_TERM_REFERENCE = "@"
_REGEX_PREFIX = "re:"
# Term lists the code reads too, shared with the rules rather than copied into YAML: the count
# of days after the text's posting, the month alone in the corpus's other languages, that
# `dates` reads as effective dates, and the labels it reads a date after in those languages.
# A file's own list of the same name replaces one.
_CODE_TERMS = {
    "after_posting": [_REGEX_PREFIX + pattern for pattern in dates.AFTER_POSTING],
    "foreign_month": [_REGEX_PREFIX + dates.FOREIGN_MONTH_ALONE],
    "foreign_label": [_REGEX_PREFIX + pattern for pattern in dates.FOREIGN_LABELS],
}


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and the rule."""


def severity_rank(severity: str | None) -> int:
    """Order of severities, `info` lowest; unknown or None ranks below everything."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def lower(severity: Severity) -> Severity:
    """One step less severe (a restriction removed weighs less than one added)."""
    return SEVERITIES[max(0, SEVERITIES.index(severity) - 1)]


class _RuleSpec(BaseModel):
    """One rule as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = Field(min_length=1)
    removed_title: str | None = None
    category: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    severity: Severity
    side: Side = "both"
    all: list[str | list[str]] = []
    any: list[str] = []
    none: list[str] = []
    lifted_by: list[str] = []
    within: int = Field(default=30, ge=1)
    context: bool = True
    figures: bool = False
    lengthened: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def _has_patterns(self) -> _RuleSpec:
        if not self.all and not self.any:
            raise ValueError("a rule needs `all` or `any` terms")
        return self


class _RuleFile(BaseModel):
    """A YAML file of rules, with named term lists (`@name`) its rules may share."""

    model_config = ConfigDict(extra="forbid")

    terms: dict[str, list[str]] = {}
    rules: list[_RuleSpec] = []


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One rule that fired on one sentence of the change."""

    rule_id: str
    category: str
    severity: str
    sentence: str
    side: str  # "added", "removed" or "changed" (the clause the rule reads was reworded)
    title: str = ""
    section: str = ""
    # The old wording of a reworded sentence whose new wording is `sentence` ("" for a sentence
    # added or removed): "up to 100 messages per second" alone hides that it was 1,000.
    before: str = ""


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: each group is one alternation of terms, the first its subject; `none`
    vetoes the whole sentence, `lifted_by` only the terms its words cover (a ban lifted in one
    clause, a condition imposed in the next); `context` lets a list introduction supply groups
    other than the subject."""

    id: str
    title: str
    removed_title: str
    category: str
    severity: Severity
    side: Side
    groups: tuple[re.Pattern[str], ...]
    none: re.Pattern[str] | None
    lifted_by: re.Pattern[str] | None
    within: int
    context: bool
    # A reworded sentence fires the rule only when its figures changed: a notice period's rule
    # reads its "30 days", and "30 days' notice of amendments" become "30 days' advance notice
    # of changes" changes no period.
    figures: bool = False
    # A change fires the rule only when the period it states grew (`periods.lengthened`): data
    # kept 2 years where it was 30 days is a user's risk, kept 7 days is not.
    lengthened: bool = False


def _term_pattern(term: str) -> str:
    """A plain term as a regex: words separated by spaces or hyphens, `*` ending a word stem."""
    words = []
    for word in term.split():
        wildcard = word.endswith("*")
        words.append(re.escape(word.rstrip("*")) + (r"\w*" if wildcard else ""))
    return r"[\s-]+".join(words)


def _expand(entries: Iterable[str], terms: dict[str, list[str]]) -> list[str]:
    expanded = []
    for entry in entries:
        if entry.startswith(_TERM_REFERENCE):
            name = entry[len(_TERM_REFERENCE) :]
            if name not in terms:
                raise ValueError(f"unknown term list {entry!r}")
            expanded += terms[name]
        else:
            expanded.append(entry)
    return expanded


def _group(entries: Iterable[str], terms: dict[str, list[str]]) -> re.Pattern[str]:
    """One alternation of terms: plain terms whole-word (one boundary test for all), `re:` raw."""
    expanded = _expand(entries, terms)
    plain = [_term_pattern(term) for term in expanded if not term.startswith(_REGEX_PREFIX)]
    raw = [term[len(_REGEX_PREFIX) :] for term in expanded if term.startswith(_REGEX_PREFIX)]
    alternatives = ([rf"(?<!\w)(?:{'|'.join(plain)})(?!\w)"] if plain else []) + raw
    return re.compile("|".join(alternatives), re.IGNORECASE)


def _compile(spec: _RuleSpec, terms: dict[str, list[str]]) -> Rule:
    groups = [_group([entry] if isinstance(entry, str) else entry, terms) for entry in spec.all]
    if spec.any:
        groups.append(_group(spec.any, terms))
    return Rule(
        id=spec.id,
        title=spec.title,
        removed_title=spec.removed_title or f"{spec.title} (removed)",
        category=spec.category,
        severity=spec.severity,
        side=spec.side,
        groups=tuple(groups),
        none=_group(spec.none, terms) if spec.none else None,
        lifted_by=_group(spec.lifted_by, terms) if spec.lifted_by else None,
        within=spec.within,
        context=spec.context,
        figures=spec.figures,
        lengthened=spec.lengthened,
    )


def _parse(source: str, text: str) -> _RuleFile:
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER) or {}
    except yaml.YAMLError as error:
        raise RuleError(f"{source}: {error}") from error
    try:
        return _RuleFile.model_validate(data)
    except ValidationError as error:
        grouped: dict[str, list[str]] = {}
        for problem in error.errors():
            where, detail = _problem(problem, data)
            grouped.setdefault(where, []).append(detail)
        problems = "; ".join(f"{where}{'; '.join(details)}" for where, details in grouped.items())
        raise RuleError(f"{source}: {problems}") from error


def _problem(problem: ErrorDetails, data: Any) -> tuple[str, str]:
    """One validation problem as a rule writer reads it: the rule (`rule 'x': `) and what is
    wrong (`title: Field required`), with the field most likely meant for a misspelt one.
    Pydantic's own text named the internal model and put a documentation link under each line."""
    location = list(problem["loc"])
    where = ""
    if location[:1] == ["rules"] and len(location) > 1 and isinstance(location[1], int):
        index = location[1]
        spec = data["rules"][index] if isinstance(data.get("rules"), list) else None
        name = spec.get("id") if isinstance(spec, dict) else None
        where = f"rule {name!r}: " if isinstance(name, str) else f"rule #{index + 1}: "
        location = location[2:]
    field = ".".join(str(part) for part in location)
    message = problem["msg"]
    if problem["type"] == "value_error" and "error" in problem.get("ctx", {}):
        message = str(problem["ctx"]["error"])  # our validator's text, without "Value error, "
    elif problem["type"] == "extra_forbidden":
        meant = difflib.get_close_matches(str(location[-1]), _RuleSpec.model_fields, n=1)
        message = f"unknown field; did you mean {meant[0]}?" if meant else "unknown field"
    return where, f"{field}: {message}" if field else message


def _sources(extra_paths: Iterable[str | Path]) -> list[tuple[str, str]]:
    """(name, text) of the shipped rule files, then of the user's, in loading order."""
    shipped = resources.files("diffengine") / "rules"
    sources = [
        (f"diffengine/rules/{item.name}", item.read_text(encoding="utf-8"))
        for item in sorted(shipped.iterdir(), key=lambda item: item.name)
        if item.name.endswith(".yaml")
    ]
    for extra in map(Path, extra_paths):
        files = sorted([*extra.glob("*.yaml"), *extra.glob("*.yml")]) if extra.is_dir() else [extra]
        for file in files:
            try:
                sources.append((str(file), file.read_text(encoding="utf-8")))
            except OSError as error:
                raise RuleError(f"{file}: {error}") from error
    return sources


def load_rules(extra_paths: Iterable[str | Path] = ()) -> tuple[Rule, ...]:
    """The shipped rules plus those in `extra_paths` (YAML files or folders of them).

    Term lists (`terms:`) of every file are shared, so `@restriction` defined once serves all.
    A rule whose id is already loaded replaces it; `enabled: false` drops it. Raises RuleError,
    naming the file and the rule, for a file that does not validate.
    """
    return _loaded(tuple(_sources(extra_paths)))


@lru_cache(maxsize=8)
def _loaded(sources: tuple[tuple[str, str], ...]) -> tuple[Rule, ...]:
    """The rules of these (name, text) files. Remembered by the files' text: a crawl loads the
    rules to check them before fetching, and its pipeline loads them again from the settings
    (as scrapy-redis workers do), which would parse and compile every file twice."""
    files = [(source, _parse(source, text)) for source, text in sources]
    terms = dict(_CODE_TERMS)
    for _, parsed in files:
        terms |= parsed.terms
    rules: dict[str, Rule] = {}
    for source, parsed in files:
        for spec in parsed.rules:
            rules.pop(spec.id, None)
            if not spec.enabled:
                continue
            try:
                rules[spec.id] = _compile(spec, terms)
            except (ValueError, re.error) as error:
                raise RuleError(f"{source}: rule {spec.id!r}: {error}") from error
    return tuple(rules.values())


@cache
def default_rules() -> tuple[Rule, ...]:
    """The shipped rules, loaded once."""
    return load_rules()
