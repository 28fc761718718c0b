"""What a subscription asks for, as `subscribe` makes it and `subscriptions edit` changes it:
the options both take (filters, severity, digest), the checks both make of them (a document
filter its service filter leaves out, a name nothing known bears), and the reminders in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from sqlalchemy import Engine

from policywatch.cli.common import fail, severity_level, user_catalog, warn
from policywatch.wording import counted, did_you_mean
from store.models import DIGESTS, FETCH_ISSUE, service_slug
from store.queries import SEVERITIES, tracked_names
from store.subscriptions import NewSubscription


# The filters of `subscribe`, which `subscriptions edit` replaces.
def _no_blank(values: list[str] | None) -> list[str] | None:
    """A filter's values, none blank: `--service "$SERVICE"` with the variable unset made a
    subscription that matched nothing, and never sent a word."""
    if values and any(not value.strip() for value in values):
        raise typer.BadParameter("a blank value names nothing, and would select nothing")
    return values


ServiceOption = Annotated[
    list[str] | None,
    typer.Option(help="Only this service, any case (repeatable).", callback=_no_blank),
]
DocumentOption = Annotated[
    list[str] | None,
    typer.Option(help="Only this document key (repeatable).", callback=_no_blank),
]
TagOption = Annotated[
    list[str] | None,
    typer.Option(help="Only documents with this catalog tag (repeatable).", callback=_no_blank),
]
CategoryOption = Annotated[
    list[str] | None,
    typer.Option(
        help=f"Only this change category, or `{FETCH_ISSUE}` for fetch problems (repeatable).",
        callback=_no_blank,
    ),
]
SEVERITY = typer.Option(help=f"One of {', '.join(SEVERITIES)} (any case).", callback=severity_level)
DigestOption = Annotated[
    str | None,
    typer.Option(help="One message per period: daily or weekly (none: one per change)."),
]


def checked_digest(value: str | None) -> str | None:
    """`--digest` checked: a period, or `none` (one message per change, as without it)."""
    if value is None or value == "none":
        return None
    if value not in DIGESTS:
        fail(f"--digest must be one of {', '.join(DIGESTS)} or none")
    return value


def _services_of(store: Engine) -> dict[str, str]:
    """Each document known (tracked, or declared in the catalog), by key: its service."""
    tracked = tracked_names(store)
    of = {key: service for service, keys in tracked.keys_of.items() for key in keys}
    return {document.key: document.service for document in user_catalog(None).documents} | of


def refuse_crossed(store: Engine, services: Sequence[str], documents: Sequence[str]) -> None:
    """A document filter of a service the service filter leaves out selects nothing (a change
    must pass both): such a subscription never sent a word, where `history` refuses the same
    pair. Refused, naming the document's own service."""
    wanted = {service.lower() for service in services}
    known = _services_of(store) if wanted and documents else {}
    for key in documents:
        service = known.get(key.lower())
        if service and not {service.lower(), service_slug(key)} & wanted:
            fail(
                f"{key} is a document of {service}, not of {' or '.join(services)}: the"
                f" subscription would hear nothing of it (give --service {service} too, or no"
                " service filter)"
            )


def warn_unknown_filters(store: Engine, request: NewSubscription) -> None:
    """A filter that names nothing known (a typo, most often) would silently match nothing.
    Warned, not refused: it may name a document declared or a rule written later."""
    from diffengine.rules import default_rules

    tracked = tracked_names(store)
    catalog = user_catalog(None).documents
    keys = tracked.keys | {document.key for document in catalog}
    known = {
        "service": tracked.services | {document.service for document in catalog},
        "document": keys,
        "tag": tracked.tags | {tag for document in catalog for tag in document.tags},
        "category": {rule.category for rule in default_rules()} | {FETCH_ISSUE},
    }
    given = {
        "service": request.services,
        "document": request.documents,
        "tag": request.tags,
        "category": request.categories,
    }
    slugs = {service_slug(key) for key in keys}  # a service named by its slug
    for label, values in given.items():
        names = {name.lower() for name in known[label]} | (slugs if label == "service" else set())
        for value in values:
            if value.lower() not in names:
                meant = did_you_mean(value, known[label])
                if not meant and label == "category":  # no command lists them: say them here
                    meant = f" (the rules' categories: {', '.join(sorted(known[label]))})"
                warn(
                    f"no {label} {value} is known{meant};"
                    " the subscription gets nothing of it until one is"
                )


def reminder_days(days: list[int]) -> str:
    """`7 days and 1 day`: the reminders, farthest first."""
    words = [counted(day, "day") for day in days]
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)
