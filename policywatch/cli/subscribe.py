"""`subscribe`: an Apprise URL, or each URL of an Apprise YAML config, subscribed to the changes
that match its filters; and what it will not be sent (the changes found before it).

Subscription URLs hold tokens and passwords: this module only ever prints them masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy import Engine

from notifier.channel import Channel, ChannelError
from notifier.subscriptions import subscribe as store_subscription
from notifier.subscriptions import subscribe_config
from policywatch.cli.common import DbOption, console, engine, fail, user_catalog, warn
from policywatch.cli.renames import resolved_filters
from policywatch.cli.subscription_options import (
    SEVERITY,
    CategoryOption,
    DigestOption,
    DocumentOption,
    ServiceOption,
    TagOption,
    checked_digest,
    refuse_crossed,
    reminder_days,
    warn_unknown_filters,
)
from store.models import DEFAULT_REMINDERS, MAX_REMINDER
from store.subscriptions import DuplicateName, NewSubscription, changes_unheard, hears_changes


def subscribe(
    url: Annotated[
        str | None,
        typer.Argument(metavar="URL", help="An Apprise URL: mailto://, slack://, json://, …"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="An Apprise YAML config: one subscription per URL, with its tags."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="The subscription's name (default: the URL's scheme; with --config, the file's).",
        ),
    ] = None,
    service: ServiceOption = None,
    document: DocumentOption = None,
    tag: TagOption = None,
    category: CategoryOption = None,
    min_severity: Annotated[str, SEVERITY] = "medium",
    digest: DigestOption = None,
    remind: Annotated[
        list[int] | None,
        typer.Option(
            min=1,
            max=MAX_REMINDER,
            help="Remind this many days before a change takes effect (repeatable; default: 7 "
            "and 1).",
            show_default=False,
        ),
    ] = None,
    no_remind: Annotated[
        bool, typer.Option("--no-remind", help="Never remind of an effective date.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Subscribe an Apprise URL (or config) to the changes that match the filters."""
    if (url is None) == (config is None):
        fail("give either an Apprise URL or --config FILE")
    if name is not None and not name.strip():  # `subscriptions remove ' '` could not name it
        fail("--name is blank: give the name subscriptions edit, pause, remove… will know it by")
    if remind and no_remind:
        fail("give --remind DAYS or --no-remind, not both")
    hears = hears_changes(category or [])
    if remind and not hears:
        fail("--remind: a subscription to fetch-issue alone hears of no change to remind of")
    request = NewSubscription(
        name=name or (config.stem if config else ""),
        url=url or "",
        services=service or [],
        documents=document or [],
        tags=tag or [],
        categories=category or [],
        min_severity=min_severity,
        digest=checked_digest(digest),
        reminders=[] if no_remind or not hears else remind or DEFAULT_REMINDERS,
    )
    store = engine(db)
    request = resolved_filters(store, request, lambda: user_catalog(None))
    refuse_crossed(store, request.services, request.documents)
    try:
        if config is None:
            done = [store_subscription(store, request)]
        else:
            text = _read(config)
            if unrecognised := _unrecognised(text):
                fail(f"{config}: {'; '.join(unrecognised)}; nothing was subscribed")
            done = subscribe_config(store, text, request)
    except DuplicateName as error:  # the name, not the URL: say what to do instead
        fail(
            f"{error}: give another --name, or change that one with policywatch subscriptions"
            " edit (policywatch subscriptions list shows them)"
        )
    except ChannelError as error:
        fail(f"{config}: {error}" if config else str(error))
    for subscribed in done:
        console.print(
            f"Subscribed [bold]{escape(subscribed.name)}[/]: {escape(subscribed.masked)}",
            highlight=False,
            soft_wrap=True,  # a URL cut across lines cannot be copied
        )
        if subscribed.same_url_as:
            warn(
                f"this URL is already subscribed as {subscribed.same_url_as}: a change that"
                " both match is sent twice"
            )
    if hears:
        _say_what_is_not_sent(store, [subscribed.name for subscribed in done], request.reminders)
    warn_unknown_filters(store, request)


def _say_what_is_not_sent(store: Engine, names: Sequence[str], reminders: Sequence[int]) -> None:
    """A subscription is owed the changes detected after it: subscribed after a first crawl had
    found the change that mattered, a user saw `notify` send nothing, and did not know why. Of
    those, the ones still to take effect will be recalled: said too, or the user would think
    the ban found last week lost to them. Both counted by its filters, as its alerts are."""
    unheard = changes_unheard(store, names, datetime.now(UTC))
    if not unheard.recorded:
        return
    said = (
        f"It hears of changes detected from now on, not of the {unheard.recorded} recorded so"
        " far (see policywatch history)"
    )
    if unheard.recalled:
        one = unheard.recalled == 1
        said += (
            f"; {unheard.recalled} of them, still to take effect,"
            f" {'is' if one else 'are'} recalled"
            f" {reminder_days(sorted(set(reminders), reverse=True))} before"
            f" {'its' if one else 'their'} date"
        )
    console.print(said + ".", highlight=False)


def _unrecognised(text: str) -> list[str]:
    """Why each URL of an Apprise YAML config that Apprise does not recognise is refused (its
    scheme alone said): Apprise's config loader drops such a URL without a word, and the others
    were subscribed as if the channel left out had been too."""
    import yaml

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # said as such when the config is read
    entries = loaded.get("urls") if isinstance(loaded, dict) else None
    said = []
    for entry in entries if isinstance(entries, list) else []:
        # `- URL`, or `- URL: {tag: …}` (or a list of such options) under it
        url = next(iter(entry), None) if isinstance(entry, dict) and len(entry) == 1 else entry
        if not isinstance(url, str):
            continue
        try:
            Channel(url)
        except ChannelError as error:
            said.append(str(error))
    return said


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
