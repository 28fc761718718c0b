"""Which hosts are inside: this machine or a private network, where no public page may lead.

A tracked site, or whoever took it over, could send the crawler to the cloud's metadata service
or an intranet page by a redirect (or, in Chromium, by a script's fetch), whose text would be
stored and shown on the web page, in the feeds and in alerts. The catalog itself may name such
hosts: only a way in from a public one is refused (`crawlers.middlewares`, `crawlers.browser`).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time

INWARD = "it leads from a public address into this machine or its private network"
LOOKUP_TIMEOUT = 10.0  # seconds; a name not resolved by then is left to the fetch, which fails
# Seconds a name that failed to resolve is not looked up again. As for Scrapy's own fetches
# (settings.RETRY_EXCEPTIONS), a name that does not resolve will not resolve a second later:
# a crawl asks once, and the next crawl (a worker lives through many) asks again.
UNRESOLVED_TTL = 300.0
_UNRESOLVED_MAX = 1024  # names remembered as failed, as many as the successes
_unresolved: dict[str, float] = {}  # name -> when it may be looked up again (monotonic)


def is_inside(host: str | None) -> bool:
    """Whether `host` is written as this machine or a private network: `localhost`, or an IP
    address that is not global, in any form the resolver takes (`127.1`, `0x7f000001`)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.partition("%")[0])  # `fe80::1%eth0`: its zone aside
    except ValueError:
        try:
            address = ipaddress.ip_address(socket.inet_aton(host))
        except OSError:
            return False
    return not address.is_global


async def leads_inside(host: str | None) -> bool:
    """Whether `host` is inside as written, or a name any of whose addresses is: a public name
    may point there (`metadata.google.internal` is the cloud's metadata service). A name that
    does not resolve here (behind a proxy that resolves it, say) is not inside."""
    if not host:
        return False
    if is_inside(host):
        return True
    if _unresolved.get(host, 0.0) > time.monotonic():
        return False
    try:
        return await asyncio.wait_for(asyncio.to_thread(_resolves_inside, host), LOOKUP_TIMEOUT)
    except (OSError, TimeoutError, UnicodeError):
        _remember_unresolved(host)
        return False


def _remember_unresolved(name: str) -> None:
    """A failed lookup can take the resolver's whole timeout, and a page asks for each of its
    scripts: without this, each request of a page from an unresolvable host paid it again."""
    _unresolved.pop(name, None)  # kept in expiry order: the first to expire is the first
    _unresolved[name] = time.monotonic() + UNRESOLVED_TTL
    while len(_unresolved) > _UNRESOLVED_MAX:
        del _unresolved[next(iter(_unresolved))]


@functools.lru_cache(maxsize=1024)
def _resolves_inside(name: str) -> bool:
    """Looked up once a process: Chromium asks for every script and frame of a page, mostly
    from a few hosts. A name that fails to resolve raises: `leads_inside` remembers the failure
    for a while only (`UNRESOLVED_TTL`)."""
    return any(is_inside(str(sockaddr[0])) for *_, sockaddr in socket.getaddrinfo(name, None))
