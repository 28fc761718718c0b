"""How often each document is fetched: its declaration's `interval`, unless the user's settings
say otherwise.

The bundled catalog names no interval: its documents are fetched once a day. A user who wants
one of them hourly (the business terms their bot lives under), or every document every 6 hours,
says so in the settings rather than copying the declarations into a catalog of their own
(which would miss the bundled catalog's fixes): `interval` is the pace of a document whose
declaration names none; `intervals` names documents (by key), services (by name or slug) or
tags, and wins over any declaration. The most precise name wins: a key over a service, a
service over a tag; of several tags, the shortest interval, as checking more often is the safe
side.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

DEFAULT_INTERVAL = "24h"
MAX_INTERVAL = 3650  # days

_INTERVAL = re.compile(r"^(\d+)([mhd])$")


def checked_interval(text: str) -> str:
    """`text`, once it reads as an interval (else the ValueError saying why)."""
    interval_seconds(text)
    return text


def _number_as_text(value: Any) -> Any:
    """`interval: 6` (a YAML or TOML number) as the text `6`, so that its error says what an
    interval is, where it said "Input should be a valid string"."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


# An interval as a declaration or the settings write it, checked when they load.
Interval = Annotated[str, BeforeValidator(_number_as_text), AfterValidator(checked_interval)]


def interval_seconds(text: str) -> int:
    """`30m`, `6h`, `1d` in seconds.

    Zero is refused: it would re-check the page on every run, which no site's terms deserve.
    So is more than ten years: `99999999999d` passed `catalog validate`, then every crawl of
    the document failed with an OverflowError, when its next check ran past the calendar.
    """
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"interval {text!r} is not a number followed by m, h or d (e.g. 6h)")
    number, unit = int(match[1]), match[2]
    if number == 0:
        raise ValueError(f"interval {text!r} must be longer than zero")
    seconds = number * {"m": 60, "h": 3600, "d": 86400}[unit]
    if seconds > MAX_INTERVAL * 86400:
        raise ValueError(f"interval {text!r} is longer than {MAX_INTERVAL}d, ten years")
    return seconds


@dataclass(frozen=True)
class Paced:
    """A document's interval and what set it: `declaration`, `default` (24h), `interval` (the
    setting), or `intervals NAME` (the key, service or tag the setting names)."""

    interval: str
    by: str


@dataclass(frozen=True)
class Pacing:
    """The user's `interval` (None: 24h) and `intervals` settings."""

    default: str | None = None
    named: Mapping[str, str] = field(default_factory=dict)

    def pace(
        self,
        key: str,
        names: Iterable[str],
        tags: Iterable[str],
        declared: str | None,
        *,
        formerly: Iterable[str] = (),
    ) -> Paced:
        """The interval of the document `key` of the service `names` (its name and slug), with
        `tags`, whose declaration says `declared` (None: nothing). A name the setting gives
        the document by a key it had (`formerly`), or that key's service slug, still paces it:
        a renamed document kept its pace until the user renames the setting's name too."""
        by_name = {name.lower(): (name, interval) for name, interval in self.named.items()}
        olds = list(formerly)
        for candidates in ([key], olds, names, [old.partition("/")[0] for old in olds]):
            for candidate in candidates:
                if candidate.lower() in by_name:
                    name, interval = by_name[candidate.lower()]
                    return Paced(interval, f"intervals {name}")
        tagged = [by_name[tag.lower()] for tag in tags if tag.lower() in by_name]
        if tagged:
            name, interval = min(tagged, key=lambda pair: interval_seconds(pair[1]))
            return Paced(interval, f"intervals {name}")
        if declared is not None:
            return Paced(declared, "declaration")
        if self.default is not None:
            return Paced(self.default, "interval")
        return Paced(DEFAULT_INTERVAL, "default")

    def unmatched(self, known: Iterable[str]) -> list[str]:
        """The names of `intervals` that are none of `known` (keys, service names and slugs,
        tags, in any case): a typo would otherwise leave a document at its old pace, unsaid."""
        lowered = {name.lower() for name in known}
        return [name for name in self.named if name.lower() not in lowered]
