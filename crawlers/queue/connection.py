"""How every process of a crawl over workers reaches Redis, and names itself there.

`crawl --redis`, `policywatch worker` and the worker's shared per-host delays all connect with the
same options, refuse a Redis they cannot use in the same words, and never show its password.
"""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from store.db import SECRET_PARAMETER

# How every client of the queue talks to Redis (`connect`, and the worker's scrapy-redis client
# through REDIS_PARAMS). Seconds to connect and to be answered, beyond a blocking command's own
# wait (a crawl's BLPOP waits 1 s): a Redis that accepts connections and never answers (a paused
# process, a blackholed host) hung a crawl, and a worker's event loop, forever. A timeout is a
# redis.RedisError, so it is an outage like any other; it is not retried: the callers' own loops
# try again.
CLIENT_OPTIONS = {
    "socket_connect_timeout": 5,
    "socket_timeout": 5,
    "retry_on_timeout": False,
    "health_check_interval": 30,
}


class QueueError(Exception):
    """Redis cannot be used as asked: the message says why and what to do."""


def masked(url: str) -> str:
    """The Redis URL without its password, which must never be printed or logged: the one
    before the host, or a `?password=` (redis-py takes both). Read as text, so that a URL too
    broken to connect to (a port that is no number) is still shown masked."""
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if ":" in user:
        user = user.partition(":")[0] + ":****"
    query = [
        (name, "****" if SECRET_PARAMETER.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(netloc=f"{user}{at}{host}", query=urlencode(query, safe="*")))


def connect(url: str) -> redis.Redis:
    """A client of the Redis at `url`, checked to answer, or a QueueError saying what is wrong."""
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise QueueError(f"--redis takes a redis:// URL, not {masked(url)!r}")
    try:
        client = redis.Redis.from_url(url, **CLIENT_OPTIONS)
        client.ping()
    except (redis.RedisError, ValueError) as error:
        raise QueueError(f"cannot use Redis at {masked(url)}: {error}") from None
    return client


def process_name() -> str:
    """A worker's or a crawl's name, `HOST:PID:RANDOM`: it says where the process runs (a crawl
    that finds a document held tells its operator where the holder is), and is unique even when
    a restarted container reuses its host name and pid (a new worker must not inherit the task
    list of the one it replaces, which it would never release)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
