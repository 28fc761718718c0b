"""A document's pace as its page shows it: how often it is checked, what set that, and when it
is next due.

Read as `policywatch run` reads them, so that the page says what the next run will do: the
catalog paced by the settings (loaded anew for each view: a pace changed in the config file
shows without restarting `serve`), and the store's last check of the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from crawlers.declarations import Catalog
from crawlers.schedule import due_at
from store.queries import last_checks

# The catalog as the settings pace it; None when it cannot be read (a broken config file).
CatalogLoader = Callable[[], Catalog | None]
_SET_BY = {
    "declaration": "set by its declaration",
    "default": "the default",
    "interval": "set by the interval setting",
}


@dataclass(frozen=True)
class Pace:
    """How often a document is checked, what set that (`paced_by` in words: "set by its
    declaration"), and when it is next due (None: at the next run)."""

    interval: str
    set_by: str
    due: datetime | None


def pace_of(engine: Engine, catalog: Catalog, key: str, now: datetime) -> Pace | None:
    """The pace of document `key`; None when the catalog no longer holds it (nothing checks
    it any more)."""
    document = catalog.get(key)
    if document is None:
        return None
    last = last_checks(engine, [document.key]).get(document.key)
    return Pace(document.interval, set_by(document.paced_by), due_at(document, last, now))


def set_by(paced_by: str) -> str:
    """What set a pace, as `catalog show` names it (`intervals whatsapp`), in words ("set by
    the intervals setting for whatsapp")."""
    if paced_by.startswith("intervals "):
        return f"set by the intervals setting for {paced_by.removeprefix('intervals ')}"
    return _SET_BY.get(paced_by, paced_by)
