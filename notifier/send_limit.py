"""A send's overall time limit, in the main thread, where every command sends.

Apprise bounds each read of an answer, not the whole of it; these bound the whole.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class SendTimedOut(BaseException):
    """A send outlasted its time limit. Raised in the sending thread by a timer, and a
    BaseException as KeyboardInterrupt is: a plugin's `except Exception` would take it for a
    failure of its own and go on to its next recipient, or retry."""


@contextmanager
def limit_to(seconds: float) -> Iterator[None]:
    """Raise `SendTimedOut` in this thread once `seconds` have passed: each read of an answer
    is bounded (4 s), not the whole of it, and an endpoint trickling a byte every 3 s held a
    run for ever. A timer signal interrupts the blocking read, as Ctrl-C does; signals reach
    the main thread only, where every command sends, so elsewhere (a library caller's thread)
    the send has no overall limit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise SendTimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def held_off() -> Iterator[None]:
    """Hold off `limit_to`'s signal until the block is done: a send's time running out is
    then raised after it, never in the middle of it (a delivery's recording, say)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
