"""The destinations of an Apprise URL, each sent to on its own and named as deliveries record it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from notifier.masking import shown


def destinations(plugins: list[Any], given: set[str]) -> Iterator[tuple[str, Any]]:
    """Each destination of `plugins`, named, with a plugin sending to it alone: a mail URL's
    addresses apart, named by their address (`_mail_destinations`) however many it has, so
    that an address keeps its name when the URL is edited; any other URL whole, named
    masked."""
    from apprise.plugins.email import NotifyEmail

    for plugin in plugins:
        if isinstance(plugin, NotifyEmail):
            yield from _mail_destinations(plugin)
        else:
            yield shown(plugin, given), plugin


def former_names(plugins: list[Any], given: set[str]) -> dict[str, str]:
    """The names earlier versions gave a mail URL of one address (the URL, masked), by the
    name it has now (the address): a delivery pending since still says who has it."""
    from apprise.plugins.email import NotifyEmail

    mails = [plugin for plugin in plugins if isinstance(plugin, NotifyEmail)]
    return {
        shown(mail, given): addresses[0][1]
        for mail in mails
        if len(addresses := _addresses(mail)) == 1
    }


def _addresses(mail: Any) -> list[tuple[Any, str]]:
    """A mail URL's addresses, `to` first, then `cc` and `bcc` (sorted: Apprise keeps them in
    sets), each once, with its display name."""
    found = {address: name for name, address in mail.targets}
    for address in sorted(mail.cc) + sorted(mail.bcc):
        found.setdefault(address, mail.names.get(address, False))
    return [(name, address) for address, name in found.items()]


def _mail_destinations(mail: Any) -> Iterator[tuple[str, Any]]:
    """Each address of a mail URL, `cc=` and `bcc=` ones included, sent a message of its own
    and named by its address. Apprise mails each `to` address its own message and copies the
    `cc` and `bcc` addresses onto every one of them: a cc was mailed once per recipient, and
    one refused failed every recipient's send, though the server had taken it for them, so
    each retry mailed them again."""
    for address in _addresses(mail):
        alone = copy.copy(mail)
        alone.targets, alone.cc, alone.bcc = [address], set(), set()
        yield address[1], alone
