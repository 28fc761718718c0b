"""How long a sentence says something lasts: for the rules whose news is a period grown.

A retention period lengthened is a user's risk, one shortened is not: "we delete your messages
after 30 days" become "we retain your messages for 2 years", or "… as long as necessary for our
business purposes", keeps data longer; the other way round keeps it less. `lengthened` tells
the two apart for the rules that say `lengthened: true`.
"""

from __future__ import annotations

import math
import re

_DAYS = {"hour": 1 / 24, "day": 1, "week": 7, "month": 30, "year": 365}
# Numbers as the pages write them out ("thirty days", "a year"); `classify` reads those above one
# as the figures they are.
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "eighteen": 18,
    "twenty-four": 24,
    "thirty": 30,
    "sixty": 60,
    "ninety": 90,
}
# "30 days", "2 years", "a year", "six months", "a 90-day period", "24 hours".
_PERIOD = re.compile(
    rf"\b(\d[\d,.]*|{'|'.join(NUMBER_WORDS)})[\s-]+(hour|day|week|month|year)s?\b", re.IGNORECASE
)
# No end at all: "as long as necessary", "for as long as your account is active", "indefinitely",
# "until you delete it", "no set retention period".
_OPEN_ENDED = re.compile(
    r"\b(?:as\s+long\s+as|indefinite(?:ly)?|forever|until\s+(?:you|your|we|it"
    r"|they|such|the)\b|no\s+(?:fixed|set|specific)\s+(?:retention\s+)?period)",
    re.IGNORECASE,
)
# An exception that keeps data past its period: "within 30 days, except where the law requires
# us to keep it", "unless retention is required", "other than what we must retain".
_KEPT_BEYOND = re.compile(
    r"\b(?:except|unless|other\s+than|save\s+where)\b[^.;]{0,80}?\b(?:keep|kept|retain\w*"
    r"|preserv\w*|hold|store|stored|required|requires)\b",
    re.IGNORECASE,
)
_UNSTATED = 0.0  # a sentence reworded to state a period bounded nothing before ("we do not store")
_UNSAID = float(2**63)  # no sentence: the page said nothing, bounded or not


def lengthened(old: str, new: str) -> bool:
    """Whether `new` lets something last longer than `old` said: a longer period, or none at all
    ("as long as necessary", or the sentence gone), or an exception added that keeps it past
    its period ("…, except where the law requires us to keep it"). `old` empty (a sentence
    added) is no bound known, so only an open end is longer than it; a reworded `old` with no
    period ("We do not store your prompts") bounded at nothing, so any period is longer."""
    before = _bound(old) if old else _UNSAID
    after = _bound(new) if new else math.inf
    excepted = bool(old) and _kept_beyond(new) and not _kept_beyond(old)
    return after > before or excepted


def _kept_beyond(text: str) -> bool:
    return _KEPT_BEYOND.search(text) is not None


def _bound(text: str) -> float:
    """The longest period `text` states, in days; infinite when it states an open end."""
    if _OPEN_ENDED.search(text):
        return math.inf
    days = [_days(count, unit) for count, unit in _PERIOD.findall(text)]
    return max(days, default=_UNSTATED)


def _days(count: str, unit: str) -> float:
    figure = NUMBER_WORDS.get(count.lower())
    number = figure if figure is not None else float(count.replace(",", "").rstrip("."))
    return number * _DAYS[unit.lower()]
