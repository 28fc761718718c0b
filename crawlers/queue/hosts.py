"""The download delay of each host, kept by all the workers together.

Each worker keeps its own limits, but N workers each sent a host their requests: a key per host,
set for the delay when a request may go, makes it one request per delay from all of them
(`crawlers.middlewares.SharedHostDelayMiddleware` asks for the turn).
"""

from __future__ import annotations

import redis

HOST_PREFIX = "policywatch:host:"  # per host, set for the download delay when a request starts


def host_turn(client: redis.Redis, host: str, delay: float) -> float:
    """0 when a request may be sent to `host` now, which starts the host's `delay` for every
    worker; otherwise the seconds left of the last one's delay, after which to ask again."""
    key = HOST_PREFIX + host
    if client.set(key, 1, nx=True, px=max(1, round(delay * 1000))):
        return 0.0
    return max(client.pttl(key), 1) / 1000  # -2: it lapsed just now
