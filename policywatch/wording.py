"""Words the command line and the web page both show, so that both say a thing alike."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz.distance import OSA

if TYPE_CHECKING:
    from store.queries import TrackedNames


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 file`, `2 files`; `plural` for nouns that do not just take an s."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def noise_hidden(hidden: dict[str, int]) -> str:
    """`2 changes were judged noise (1 cosmetic, 1 flapping) and hidden`: the words of
    `history` and of the web timeline for the noise they leave out (`hidden_noise`)."""
    total = sum(hidden.values())
    several = len(hidden) > 1
    reasons = ", ".join(f"{n} {why}" if several else why for why, n in sorted(hidden.items()))
    was = "was" if total == 1 else "were"
    return f"{counted(total, 'change')} {was} judged noise ({reasons}) and hidden"


def typos(given: str, name: str) -> int:
    """How many letters typed wrong, left out, added or swapped with the next make `given` of
    `name`."""
    return int(OSA.distance(given, name))


def near_miss(given: str, name: str) -> bool:
    """Whether a user who typed `given` (any case) can be taken to have meant `name`: a typo of
    it (one slip in a short name, up to three in a long key), or, for a key, the same service
    and some of the words of the document's part (`whatsapp/business-terms` for
    `whatsapp/business-solution-terms`), or, for a name of several words, its first (`acme` for
    "Acme Messenger"). Letters two words share by chance are none: "nope" is no typo of
    "openai", and nothing typed (`--only ''`) is no typo of "X"."""
    given, name = given.lower(), name.lower()
    if not given.strip():
        return False
    if typos(given, name) <= (1 if len(name) <= 5 else 2 if len(name) <= 12 else 3):
        return True
    if len(parts := name.split()) > 1 and parts[0] == given.strip():
        return True
    service, slash, document = given.partition("/")
    of, _, named = name.partition("/")
    words = set(document.split("-")) - {""}
    return bool(slash and words and service == of and words <= set(named.split("-")))


def close_names(given: str, known: Iterable[str], n: int = 1) -> list[str]:
    """The `n` names of `known` closest to `given` (any case) of those that are near misses,
    fewest typos first."""
    spelled = {name.lower(): name for name in known}
    near = [name for name in spelled if near_miss(given, name)]
    ranked = sorted(near, key=lambda name: (typos(given.lower(), name), name))
    return [spelled[name] for name in ranked][:n]


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """` (did you mean X?)` when one of `known` is a near miss of `value` (any case), else
    nothing."""
    close = close_names(value, known)
    return f" (did you mean {close[0]}?)" if close else ""


@dataclass(frozen=True)
class Untracked:
    """A filter that names nothing tracked: what is wrong, and apart from it the names it may
    have meant, so that a caller with no name to offer says where to look instead without
    reading the words (the user's own, quoted, may hold any)."""

    fault: str  # `no tracked document of service nope`
    meant: str = ""  # ` (did you mean WhatsApp?)`, ` (the documents of WhatsApp: …)`, or none

    def __str__(self) -> str:
        return self.fault + self.meant


def untracked(tracked: TrackedNames, service: str | None, document: str | None) -> Untracked | None:
    """What a `service` or `document` filter that names nothing tracked is told, with the
    closest tracked name; None when each names something tracked, or is not given. The words of
    `history` and `upcoming`, on the command line and on the web: an empty history would hide
    the typo."""
    if service and tracked.service(service) is None:
        meant = did_you_mean(service, tracked.services)
        return Untracked(f"no tracked document of service {service}", meant)
    if document and document.lower() not in tracked.keys:
        return Untracked(f"no tracked document {document}", key_meant(tracked, document))
    return None


def crossed(tracked: TrackedNames, service: str | None, document: str | None) -> Untracked | None:
    """What a `document` of another service than `service` is told, with the service's
    documents; None otherwise. The command line's words: both filters together select nothing,
    which read as "No changes recorded (yet)". The web's timeline offers the selections one
    filter wider instead (`wider`)."""
    named = tracked.service(service) if service else None
    if named and document and document.lower() not in tracked.keys_of[named]:
        return Untracked(f"{document} is not a document of {named}", _documents_of(tracked, named))
    return None


def key_meant(tracked: TrackedNames, key: str) -> str:
    """` (did you mean K?)` for a key one letter off; else, for a key of a tracked service's
    (or the service alone, or a typo of it), the keys it has: a document guessed by its type
    (`whatsapp/business-terms`) is not close to any key, and its service is."""
    if close := did_you_mean(key, tracked.keys):
        return close
    typed = key.partition("/")[0]
    service = tracked.service(typed) or next(iter(close_names(typed, tracked.services)), None)
    return _documents_of(tracked, service) if service else ""


def _documents_of(tracked: TrackedNames, service: str) -> str:
    """` (the documents of WhatsApp: whatsapp/privacy-policy, whatsapp/terms-of-service)`."""
    return f" (the documents of {service}: {', '.join(sorted(tracked.keys_of[service]))})"


def why_no_date(error: ValueError) -> str:
    """` (day is out of range for month)`: why a value written as an ISO date or time gives
    none (February 30th, hour 25), which "is not an ISO date" denied it was; nothing for a
    value not written as one, which those words describe."""
    return "" if str(error).startswith("Invalid isoformat") else f" ({error})"


def unified_diff(old: str, new: str) -> list[str]:
    """The change as a unified diff of the extracted texts, three lines of context: what
    `show` prints and `show --json` and the API carry."""
    return list(
        difflib.unified_diff(
            old.splitlines(), new.splitlines(), "before", "after", lineterm="", n=3
        )
    )
