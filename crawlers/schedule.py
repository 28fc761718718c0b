"""Which documents are due for a fetch: each document's `interval` against its last attempt.

Pure functions: the caller reads the last checks from the store and passes the time, so the rules
are testable without a clock or a database.

A document is due when it was never checked, when its declaration changed since its last check
(a fixed URL or selector is worth trying at once: it is `redeclared`, and read anew, see `plan`),
or when its last *attempt*, failed or not, is
at least `interval` ago, less a small tolerance. The tolerance keeps a daily cron at 06:00 from
skipping a 24h document checked at 06:00:03 the day before: 5% of the interval, at most 10 min.
A document whose host answered with a failure (an HTTP error, a bot wall, a broken capture) keeps
to its interval too: a site that walls us is not hammered. One whose host could not be reached
from here (no network, DNS, a refused connection, a timeout) is tried once more an hour later:
such a failure says nothing of the site, and a blip, or a laptop offline at its daily crawl,
would otherwise cost a day. Once only: a second failure in a row is no blip, and each failure
counts towards the fetch-issue alert (3 in a row), which retries every hour or two would bring
for every document after a few hours of a machine's outage. A last check in the future (the
clock was set back) holds nothing back.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from crawlers.declarations import TrackedDocument
from crawlers.items import UNREACHABLE
from crawlers.pacing import interval_seconds
from store.queries import LastCheck

NOT_DUE = "not-due"  # the crawl outcome of a document skipped by its schedule
TOLERANCE_SHARE = 0.05
MAX_TOLERANCE = timedelta(minutes=10)
# Declaration fields whose change does not call for a fetch: where it is written, and how often.
_SCHEDULING_ONLY = ("source", "interval")


def tolerance(interval: timedelta) -> timedelta:
    """How early a document counts as due: 5% of its interval, at most 10 minutes."""
    return min(interval * TOLERANCE_SHARE, MAX_TOLERANCE)


RETRY_UNREACHABLE = timedelta(hours=1)  # the one early retry after a host could not be reached


def pace(interval: str, last: LastCheck) -> timedelta:
    """How long after its last attempt a document falls due: its interval, or an hour after a
    first failure to reach its host (see the module's docstring)."""
    period = timedelta(seconds=interval_seconds(interval))
    if last.issue in UNREACHABLE and last.streak == 1:
        return min(period, RETRY_UNREACHABLE)
    return period


def next_due(period: timedelta, last_attempt: datetime) -> datetime:
    """When a document last attempted at `last_attempt` falls due again."""
    return last_attempt + period - tolerance(period)


def _fetch_relevant(declaration: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in declaration.items() if name not in _SCHEDULING_ONLY}


def redeclared(document: TrackedDocument, last: LastCheck | None) -> bool:
    """Whether `document` was checked with another URL, selectors, format, rendering or
    language than its declaration now says: each decides what text a capture gives or is
    admitted with, so the next change may be the declaration's, not the platform's.

    Its names (service, type, tags) are no part of it: they change no text, and a change read
    as redeclared is recorded but not alerted, so a rebranding would swallow the platform's
    next real change. The crawl gives stored documents their new names without a fetch
    (store/labels.py)."""
    if last is None or last.at is None:
        return False
    return _fetch_relevant(last.declaration) != _fetch_relevant(document.declaration())


def due_at(document: TrackedDocument, last: LastCheck | None, now: datetime) -> datetime | None:
    """When `document` is next due, or None when it is due now."""
    if last is None or last.at is None or last.at > now or redeclared(document, last):
        return None
    when = next_due(pace(document.interval, last), last.at)
    return None if when <= now else when


@dataclass(frozen=True)
class Waiting:
    """A document not due yet, and when it will be."""

    document: TrackedDocument
    due: datetime


@dataclass(frozen=True)
class Schedule:
    """The documents to fetch now, in catalog order, and those that wait; `redeclared`: the
    keys of the due ones whose declaration changed since their last check."""

    due: list[TrackedDocument] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    redeclared: list[str] = field(default_factory=list)

    @property
    def next_due(self) -> datetime | None:
        """The earliest time a waiting document falls due; None when none waits."""
        return min((item.due for item in self.waiting), default=None)


def plan(
    documents: Sequence[TrackedDocument],
    last_checks: Mapping[str, LastCheck],
    now: datetime,
    *,
    forced: Collection[str] = (),
) -> Schedule:
    """Split `documents` into those due at `now` and those that wait; keys in `forced` are due.

    A redeclared document must be read anew, not found "not modified": the validators and body
    hash of its last fetch belong to its old declaration, and with them a new selector would
    first be applied when the site next changed, a broken one unnoticed until then and the
    text the new one reads blamed on the site's edit. The caller drops them and marks the
    documents (`Repository.mark_redeclared`) before fetching."""
    schedule = Schedule()
    for document in documents:
        last = last_checks.get(document.key)
        when = None if document.key in forced else due_at(document, last, now)
        if when is None:
            schedule.due.append(document)
            if redeclared(document, last):
                schedule.redeclared.append(document.key)
        else:
            schedule.waiting.append(Waiting(document, when))
    return schedule
