"""A document's pace as its page shows it: how often it is checked, what set that, and when it
is next due.

Read as `policywatch run` reads them, so that the page says what the next run will do: the
catalog paced by the settings (loaded anew once a file it is read from changed: a pace changed in
the config file shows without restarting `serve`), and the store's last check of the document.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from crawlers.declarations import Catalog
from crawlers.schedule import due_at
from store.queries import last_checks

# The catalog as the settings pace it; None when it cannot be read (a broken config file).
CatalogLoader = Callable[[], Catalog | None]
# A file's identity and state: its path, and its mtime and size (None: no such file).
_Stamp = tuple[tuple[str, int | None, int | None], ...]
_SET_BY = {
    "declaration": "set by its declaration",
    "default": "the default",
    "interval": "set by the interval setting",
}


class WatchedCatalog:
    """A CatalogLoader that loads anew only when one of its `sources` (the config file, the
    declaration files and folders) changed, appeared or went since the last load.

    Loading is 100 ms of YAML a view, and a broken config file said its error on stderr at
    every view; a stat of each source is a few. Views are answered in threads: one loads."""

    def __init__(self, load: CatalogLoader, sources: Callable[[], list[Path]]) -> None:
        self._load, self._sources = load, sources
        self._lock = threading.Lock()
        self._stamp: _Stamp | None = None
        self._catalog: Catalog | None = None

    def __call__(self) -> Catalog | None:
        with self._lock:
            stamp = _stamp(self._sources())  # before the load: a change during it is seen next
            if stamp != self._stamp:
                self._catalog, self._stamp = self._load(), stamp
            return self._catalog


def _stamp(paths: list[Path]) -> _Stamp:
    """Each path with its modification time (in ns) and size, None for both when it is gone."""
    stamps: list[tuple[str, int | None, int | None]] = []
    for path in paths:
        try:
            stat = path.stat()
        except OSError:
            stamps.append((str(path), None, None))
        else:
            stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


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
