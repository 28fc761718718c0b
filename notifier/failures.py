"""Why a send failed, in words: Apprise's warnings, with the cause its DEBUG log quotes.

Only the causes picked out here (a timeout, an unreachable host, an SMTP reply, a redirect) are
ever taken from the log, which also quotes the URL's parts; the caller scrubs the result.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

# A reply quoted by smtplib's exceptions (`(550, b'5.1.1 <bob@…>: User unknown')`)
_SMTP_REPLY = re.compile(r"\((\d{3}), b(['\"])(.*?)\2\)")
_REPLY_BREAK = re.compile(r"(\\r)?\\n")  # the lines of a multiline reply, as repr() wrote them


@contextmanager
def debug_log() -> Iterator[StringIO]:
    """Apprise's DEBUG log of a send, where the cause of a failure is said that its warning
    leaves out: a mail recipient refused alone (`550 5.1.1 no such user`), its warning being
    'Sending email to "bob@…" failed.'; a timeout, its warning 'A Connection error occurred'.
    Only what `smtp_replies` and `timed_out` pick out of it is ever shown."""
    import apprise

    with apprise.LogCapture(level=logging.DEBUG, fmt="%(message)s") as log:
        yield log


# How requests says a timeout (`Read timed out. (read timeout=4.0)`, `… (connect timeout=4.0)`)
_TIMEOUT = re.compile(r"\((connect|read) timeout=(\d+(?:\.\d+)?)\)")
_CONNECTION_ERROR = re.compile(r"^A Connection error occurr?ed\b\s*", re.IGNORECASE)


def timed_out(warning: str, log: str) -> str | None:
    """The failure said as the timeout it was, after how long, and how to wait longer
    (`Timed out (no answer within 4 s) sending JSON notification to 127.0.0.1 (…?rto=…)`), when
    the send's `log` quotes one; None otherwise. Apprise's warning, 'A Connection error
    occurred', read as an endpoint down or refusing, not one too slow."""
    quoted = "\n".join(line for line in log.splitlines() if line.startswith("Socket Exception"))
    found = _TIMEOUT.search(quoted)
    if found is None:
        return None
    kind, seconds = found.groups()
    waited = "no connection" if kind == "connect" else "no answer"
    sending = _CONNECTION_ERROR.sub("", warning).rstrip(". ")  # `sending JSON notification …`
    said = " ".join(filter(None, [f"Timed out ({waited} within {float(seconds):g} s)", sending]))
    return f"{said} (to wait longer, add ?{kind[0]}to=SECONDS to its URL)"


# Why a connection failed, as the exceptions quoted in a send's DEBUG log say it (requests's,
# smtplib's, ssl's), and how to say it: the first that matches is said.
_CAUSES = (
    (
        r"NameResolutionError|\[Errno -[235]\]|Name or service not known",
        "the host name does not resolve",
    ),
    (r"\[Errno 111\]|Connection refused", "connection refused"),
    (
        r"certificate verify failed: (.+?)\.? \(_ssl",
        "TLS certificate not trusted: {} (?verify=no skips the check)",
    ),
    (r"\[SSL: ([A-Z_]+)\]", "TLS failed: {}"),
    (r"\[Errno 104\]|Connection reset by peer", "connection reset by the server"),
    (r"\[Errno 101\]|Network is unreachable", "network unreachable"),
)


def unreachable(warning: str, log: str) -> str:
    """`warning` with why the connection failed said after it, when the send's `log` quotes a
    cause `_CAUSES` knows: Apprise's 'A Connection error occurred sending JSON notification to
    hooks.example.' was all a name that does not resolve, a port refusing and a certificate
    not trusted said alike. Only the cause is taken from the log, never the rest (it quotes the
    URL's path)."""
    quoted = "\n".join(line for line in log.splitlines() if line.startswith("Socket Exception"))
    for pattern, said in _CAUSES:
        if found := re.search(pattern, quoted):
            words = [word.strip().lower().replace("_", " ") for word in found.groups()]
            return f"{warning.rstrip('. ')}: {said.format(*words)}"
    return warning


def smtp_replies(log: str) -> list[str]:
    """The SMTP replies quoted in the exceptions of a mail send's DEBUG `log`, once each
    (`550 5.1.1 <bob@…>: User unknown`); only these are taken from it, never the rest."""
    replies = (
        f"{code} {_REPLY_BREAK.sub(' ', text)}"
        for line in log.splitlines()
        if line.startswith("Socket Exception: ")
        for code, _, text in _SMTP_REPLY.findall(line)
    )
    return list(dict.fromkeys(replies))


def redirect_hint(reason: str) -> str:
    """What to do about a redirect answered (not followed: see `notifier.channel.Channel`),
    said after Apprise's bare `error=301`."""
    if not re.search(r"\berror=30[12378]\b", reason):
        return ""
    return (
        " (a redirect, not followed: give the subscription the address it redirects to with"
        " `subscriptions edit NAME --url …`, or add ?redirect=yes to its URL)"
    )
