"""Subscribing: Apprise URLs or an Apprise YAML config checked on entry, then stored.

A URL Apprise does not recognise is refused here, not discovered at the first alert. An Apprise
YAML config becomes one subscription per URL; the tags Apprise gives a URL are added to that
subscription's tag filter, so `tag: messaging` routes the documents tagged `messaging` to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine

from notifier.channel import Channel, ChannelError
from notifier.payload import alert_data
from notifier.render import Line, Message
from store.models import utcnow
from store.subscriptions import (
    NewSubscription,
    SubscriptionRow,
    add_subscription,
    list_subscriptions,
)


@dataclass(frozen=True)
class Subscribed:
    """A stored subscription, as it may be shown: its name and masked URL."""

    name: str
    masked: str
    same_url_as: str | None = None  # an earlier subscription of the very same URL


def _config_entries(text: str) -> list[tuple[str, list[str]]]:
    """The (url, tags) pairs of an Apprise YAML config; ChannelError when there are none."""
    import apprise  # loaded on use: see Channel
    import yaml

    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:  # Apprise would only say that it found no URL
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ChannelError(f"not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    config = apprise.AppriseConfig(asset=apprise.AppriseAsset(storage_mode="memory"))
    entries = (
        [
            (_without_defaults(service.url()), sorted(str(tag) for tag in service.tags))
            for service in config.services()
        ]
        if config.add_config(text, format="yaml")
        else []
    )
    if not entries:
        raise ChannelError("the Apprise config holds no URL that Apprise recognises")
    return entries


def _without_defaults(url: str) -> str:
    """`url` (as Apprise renders a config's entry) without the parameters at their defaults.

    A config gives its URLs back only as Apprise renders them, every default spelled out
    (`?method=POST&overflow=upstream&retry=0&wait=0.5&optional=no`); stored so, they would be
    shown so, as if the user had written them. A parameter is a default when the same URL
    without any parameter renders it with the same value.
    """
    import apprise

    parts = urlsplit(url)
    bare = apprise.Apprise.instantiate(urlunsplit(parts._replace(query="")))
    if bare is None:  # the URL needs some of its parameters: keep them all
        return url
    defaults = set(parse_qsl(urlsplit(bare.url()).query, keep_blank_values=True))
    given = [
        pair for pair in parse_qsl(parts.query, keep_blank_values=True) if pair not in defaults
    ]
    return urlunsplit(parts._replace(query=urlencode(given)))


def _free_name(wanted: str, taken: set[str]) -> str:
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}-{n}"
    return name


def subscribe(engine: Engine, request: NewSubscription) -> Subscribed:
    """Validate `request.url` with Apprise and store it; a blank name becomes the URL's scheme.

    Raises ChannelError for a URL Apprise refuses, DuplicateName for a name taken.
    """
    channel = Channel(request.url)
    existing = list_subscriptions(engine)
    if not request.name:
        scheme = request.url.partition("://")[0].lower()
        request = dataclasses.replace(
            request, name=_free_name(scheme, {row.name for row in existing})
        )
    add_subscription(engine, request, utcnow())
    same = next((row.name for row in existing if row.url == request.url), None)
    return Subscribed(request.name, channel.masked, same)


def subscribe_config(engine: Engine, text: str, request: NewSubscription) -> list[Subscribed]:
    """One subscription per URL of an Apprise YAML config, named `<name>` or `<name>-N`."""
    entries = _config_entries(text)
    taken = {row.name for row in list_subscriptions(engine)}
    done = []
    for n, (url, tags) in enumerate(entries, start=1):
        name = _free_name(request.name if len(entries) == 1 else f"{request.name}-{n}", taken)
        taken.add(name)
        tagged = [*request.tags, *(tag for tag in tags if tag not in request.tags)]
        entry = dataclasses.replace(request, name=name, url=url, tags=tagged)
        done.append(subscribe(engine, entry))
    return done


def mask(sub: SubscriptionRow) -> str:
    """The subscription's URL with its secrets hidden, as Apprise renders it in privacy mode."""
    try:
        return Channel(sub.url).masked
    except ChannelError as error:
        return str(error)


def trial_message(name: str) -> Message:
    """What `subscriptions test` sends: proof that the channel works, owing nothing."""
    return Message(
        title=f"policywatch: test of subscription {name}",
        head=(Line("If you can read this, policywatch can reach this channel."),),
        data=alert_data("test", name),
    )
