"""One Apprise URL: validated, masked, sized, and sent to, with its own result.

A subscription's URL carries tokens and passwords. Everything that leaves this module for a
screen, a log or the store goes through `masked` or `scrub`: Apprise's own privacy rendering of
the URL, and the same applied to error text, which may quote the URL's parts.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
import signal
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import StringIO
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MIN_SECRET = 3  # shorter URL parts are not scrubbed from error text: they would mangle words
_DELIMITERS = re.compile(r"[/:@?&=#,;+\s]+")
# Query parameters Apprise shows in privacy mode that may still hold secrets: HTTP headers
# (`+Name=value`) and anything named like a credential.
_SECRET_PARAMETER = re.compile(r"^\+|token|key|secret|pass|auth|sig", re.IGNORECASE)


# A reply quoted by smtplib's exceptions (`(550, b'5.1.1 <bob@…>: User unknown')`)
_SMTP_REPLY = re.compile(r"\((\d{3}), b(['\"])(.*?)\2\)")
_REPLY_BREAK = re.compile(r"(\\r)?\\n")  # the lines of a multiline reply, as repr() wrote them


class ChannelError(ValueError):
    """Apprise does not recognise the URL; the message never contains the URL's secrets."""


@dataclass(frozen=True)
class Outcome:
    """Apprise's verdict on one send: ok, or the (scrubbed) reason it failed; and the
    destinations (`Channel.destinations`) that took the message in this send."""

    ok: bool
    error: str | None = None
    delivered: frozenset[str] = field(default_factory=frozenset)


class SendTimedOut(BaseException):
    """A send outlasted its time limit. Raised in the sending thread by a timer, and a
    BaseException as KeyboardInterrupt is: a plugin's `except Exception` would take it for a
    failure of its own and go on to its next recipient, or retry."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
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
def _timer_held() -> Iterator[None]:
    """Hold off `_time_limit`'s signal until the block is done: a send's time running out is
    then raised after it, never in the middle of it (a delivery's recording, say)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


def _words(url: str) -> set[str]:
    return {word for word in _DELIMITERS.split(unquote(url)) if word}


def _given_parameters(urls: str) -> set[str]:
    """The query parameter names the user wrote, in any of the URLs given together."""
    return {  # unquote, not parse_qsl: a header parameter's `+` is a plus, not a space
        unquote(pair.partition("=")[0]).lower()
        for url in urls.split()
        for pair in _query(urlsplit(url)).split("&")
    }


def _query(parts: SplitResult) -> str:
    """The URL's query, or the one after a `#channel` (`rocket://…/#general?avatar=no`), which
    urlsplit takes for part of the fragment."""
    return parts.query or parts.fragment.partition("?")[2]


def _credential_parts(plugin: Any) -> set[str]:
    """The URL parts Apprise shows in privacy mode that are a credential all the same: an ntfy
    topic (whoever knows its name reads the alerts on a public server) and the path of a webhook,
    where services put their token (`/hooks/catch/1234567/a1b2c3/`, `/webhook/<uuid>`)."""
    from apprise.plugins.custom_form import NotifyForm
    from apprise.plugins.custom_json import NotifyJSON
    from apprise.plugins.custom_xml import NotifyXML
    from apprise.plugins.ntfy import NotifyNtfy

    if isinstance(plugin, NotifyNtfy):
        return set(plugin.topics)
    if isinstance(plugin, NotifyJSON | NotifyForm | NotifyXML):
        return {segment for segment in plugin.fullpath.split("/") if segment}
    # A self-hosted service's path before its own parts: where a token lands when Apprise reads
    # the URL otherwise than meant (`mmost://host/TOKEN/#channel` takes `#channel` for the
    # token, and showed TOKEN as the path).
    fullpath = getattr(plugin, "fullpath", None)
    if not isinstance(fullpath, str) or "{host}" not in " ".join(plugin.templates):
        return set()
    return {segment for segment in fullpath.split("/") if segment}


def _shown(plugin: Any, given: set[str]) -> str:
    """Apprise's privacy rendering of one URL, with its secret-looking parameters and credential
    parts masked too, and only the parameters the user wrote: the defaults Apprise spells out
    (`method=POST&overflow=upstream&retry=0…`) buried the URL the user would recognise."""
    parts = urlsplit(plugin.url(privacy=True))
    # Apprise writes a channel as a bare `#` in the path (`rocket://…/#general/?mode=basic…`),
    # which leaves its parameters in the fragment, all shown: back into the query.
    fragment, mark, query_in_fragment = parts.fragment.partition("?")
    if mark and not parts.query:
        parts = parts._replace(fragment=fragment, query=query_in_fragment)
    hidden = _credential_parts(plugin)

    def masked(part: str) -> str:  # Apprise's own style: the first and last character
        secret = len(part) >= MIN_SECRET and bool({part, unquote(part)} & hidden)
        return str(plugin.pprint(unquote(part))) if secret else part

    user, at, host_port = parts.netloc.rpartition("@")
    host, colon, port = host_port.partition(":")  # `ntfys://topic` names a topic as its host
    query = [
        (name, "****" if _SECRET_PARAMETER.search(name) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() in given
    ]
    # A mail address is shown as written (`alice@example.com`, not Apprise's `alice%40…`): an
    # `@` is plain in a path or a query, and only the user part of the host's holds a password.
    return urlunsplit(
        parts._replace(
            netloc=f"{user}{at}{masked(host)}{colon}{port}",
            path="/".join(masked(segment).replace("%40", "@") for segment in parts.path.split("/")),
            query=urlencode(query, safe="*@"),
        )
    )


def _basic_auth(plugins: list[Any]) -> set[str]:
    """The HTTP Basic credentials the services send (`Authorization: Basic dXNlcjpz…`, the
    password in base64): an endpoint's error may quote the request's headers (ntfy's does,
    and Apprise quotes it), where the password itself was scrubbed and this was not."""
    found = set()
    for plugin in plugins:
        user, password = getattr(plugin, "user", None), getattr(plugin, "password", None)
        if isinstance(password, str) and password:
            pair = f"{user or ''}:{password}".encode("latin-1", "replace")
            found.add(base64.b64encode(pair).decode().rstrip("="))
    return found


def _shows_markdown(plugin: Any) -> bool:
    """Whether the service shows the plain text Apprise sends it as Markdown: Mattermost's and
    Zulip's messages are Markdown, and so is a Discord message's text (Apprise sends Discord
    embeds only when the URL says `format=markdown`). Sent our plain text, a policy's
    `[here](https://…)` became a link hiding where it went, its `*` and `_` emphasis, and the
    `+` of a clause added and the `-` of one removed the same list bullet."""
    from apprise.plugins.discord import NotifyDiscord
    from apprise.plugins.mattermost import NotifyMattermost
    from apprise.plugins.zulip import NotifyZulip

    return isinstance(plugin, NotifyDiscord | NotifyMattermost | NotifyZulip)


def redact_unparsed(url: str) -> str:
    """How to name a URL Apprise could not read: its scheme only."""
    scheme, found, _ = url.partition("://")
    return f"{scheme}://…" if found and scheme.isalnum() else "(not a URL)"


def _why(log: StringIO, url: str) -> str:
    """Apprise's reason for refusing `url`: its first warning (`An invalid Slack (second) Token
    (None) was specified.`), with the URL's parts scrubbed out. Its errors only quote the URL
    (`Could not load Slack URL: slack://…`, `Unsupported URL: <the URL>`): never shown."""
    warnings = [
        line.removeprefix("WARNING ").strip()
        for line in log.getvalue().splitlines()
        if line.startswith("WARNING ")
    ]
    if not warnings or not warnings[0]:
        return ""
    reason = warnings[0]
    scheme, separated, _ = url.partition("://")
    words = _words(url) - ({scheme} if separated else set())
    for secret in sorted((w for w in words if len(w) >= MIN_SECRET), key=len, reverse=True):
        reason = reason.replace(secret, "****")
    return f": {reason.rstrip(': ')}"


NTFY_MESSAGE_BYTES = 4096  # ntfy's `message-size-limit`, ntfy.sh's too
DATA_FIELD = "policywatch"  # the webhook payload's field holding the alert as data


@contextmanager
def _carrying(plugins: list[Any], data: Mapping[str, Any]) -> Iterator[None]:
    """JSON and form webhooks carry `data` in their payload's `policywatch` field, beside
    Apprise's `title` and `message`: the program receiving them reads the alert there instead of
    parsing the title (a form field holds it as JSON text). Apprise keeps the payload's extra
    fields per URL (written `:name=value`), so ours are added for this one send and put back; a
    field of the user's own of that name wins."""
    from apprise.plugins.custom_form import NotifyForm
    from apprise.plugins.custom_json import NotifyJSON

    saved = []
    for plugin in plugins if data else []:
        if isinstance(plugin, NotifyJSON | NotifyForm):
            value = data if isinstance(plugin, NotifyJSON) else json.dumps(data)
            saved.append((plugin, plugin.payload_extras))
            plugin.payload_extras = {DATA_FIELD: value, **plugin.payload_extras}
    try:
        yield
    finally:
        for plugin, extras in saved:
            plugin.payload_extras = extras


def _redirected(reason: str) -> str:
    """What to do about a redirect answered (not followed: see `Channel`), said after Apprise's
    bare `error=301`."""
    if not re.search(r"\berror=30[12378]\b", reason):
        return ""
    return (
        " (a redirect, not followed: give the subscription the address it redirects to with"
        " `subscriptions edit NAME --url …`, or add ?redirect=yes to its URL)"
    )


_WEBHOOK_SCHEMES = {"http": "json", "https": "jsons"}  # Apprise's generic JSON webhook


def _webhook_hint(url: str) -> str:
    """What to write for a plain http(s) URL, which Apprise takes for no service: people mean a
    webhook, which Apprise names `json://` / `jsons://`. Shown masked, as a subscription is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    scheme = _WEBHOOK_SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        return ""
    # Apprise's webhook passes on the query parameters named `-name` as the hook's own; the
    # others it would take for its own options, and drop.
    query = "&".join(f"-{pair}" for pair in parts.query.split("&") if pair)
    try:
        shown = Channel(urlunsplit((scheme, parts.netloc, parts.path, query, ""))).masked
    except ChannelError:
        return ""
    yours = " (with your own values for ****)" if "****" in shown else ""
    return f"; for a generic webhook (a JSON POST), write {shown}{yours}"


class Channel:
    """An Apprise URL ready to send; `ChannelError` when Apprise does not recognise it."""

    def __init__(self, url: str) -> None:
        import apprise  # ~40 ms of start-up, paid only by the commands that send or check a URL

        # Apprise's own log stays out of the process's handlers (Scrapy's, asked for with
        # --set LOG_INSTALL_ROOT_HANDLER=true): at DEBUG it quotes header values and tokens
        # (`…&%2BX-Token=…`, `Authorization: Bearer …`). Its captures, from which a failure's
        # reason is taken and scrubbed, are handlers of its own logger and still see it all.
        logging.getLogger(apprise.LOGGER_NAME).propagate = False
        # Sent in the calling thread, not Apprise's thread pool (no parallel sends, and the
        # overall time limit is `_time_limit`'s): Ctrl-C then stops the send itself, where a
        # send in the pool went on after the run said it had stopped, and an interrupt landing
        # as the pool started its thread left the process waiting at exit for a thread nothing
        # would ever end (ThreadPoolExecutor records a thread only after starting it). Each
        # send stays bounded by Apprise's socket timeouts (4 s to connect, 4 s of silence while
        # reading) and by `send`'s time limit in all.
        # Redirects are not followed unless the URL says `?redirect=yes`: requests turns a POST
        # redirected by a 301, 302 or 303 (a webhook moved, http:// sent on to https://) into a
        # GET without its body, which the endpoint answered 200: the alert was lost, and
        # recorded sent. Refused, the redirect is an error `subscriptions list` shows.
        asset = apprise.AppriseAsset(
            storage_mode="memory", service_timeout=0, async_mode=False, http_redirects=False
        )
        self._apprise = apprise.Apprise(asset=asset)
        with apprise.LogCapture(level=logging.WARNING, fmt="%(levelname)s %(message)s") as log:
            added = self._apprise.add(url)
        if not added:
            raise ChannelError(
                f"Apprise does not recognise the URL {redact_unparsed(url)}{_why(log, url)}"
                f"{_webhook_hint(url)}"
            )
        self._plugins = list(self._apprise)
        given = _given_parameters(url)
        self.masked = " ".join(_shown(plugin, given) for plugin in self._plugins)
        self._destinations = [
            (name, apprise.Apprise(plugin, asset=asset))
            for name, plugin in _destinations(self._plugins, given)
        ]
        self._renamed = _former_names(self._plugins, given)
        visible = _words(self.masked)
        secrets = {word for word in _words(url) if len(word) >= MIN_SECRET and word not in visible}
        self._secrets = sorted(secrets | _basic_auth(self._plugins), key=len, reverse=True)

    @property
    def format(self) -> str:
        """The body format the service prefers: `html`, `markdown` or `text`."""
        plugin = self._plugins[0]
        return str(plugin.resolve_format().value)

    @property
    def dialect(self) -> str:
        """What the body is written in: `format`, `slack` for Slack's Markdown, or `markdown`
        for the chats that show the plain text Apprise sends them as such (`_shows_markdown`)."""
        from apprise.plugins.slack import NotifySlack

        if self.format == "markdown" and all(isinstance(p, NotifySlack) for p in self._plugins):
            return "slack"
        if self.format == "text" and all(_shows_markdown(p) for p in self._plugins):
            return "markdown"
        return self.format

    @property
    def title_marked_up(self) -> bool:
        """Whether the title is read in the body's markup: Apprise puts it into the body of a
        service with no title field, and Discord, sent text, posts `title\r\nbody` as one
        message, shown as Markdown."""
        from apprise.plugins.discord import NotifyDiscord

        return not self.title_maxlen or (
            self.dialect != self.format and all(isinstance(p, NotifyDiscord) for p in self._plugins)
        )

    @property
    def body_maxlen(self) -> int:
        return min(int(plugin.body_maxlen) for plugin in self._plugins)

    @property
    def title_maxlen(self) -> int:
        """0 when the service has no title (Apprise then puts the title into the body)."""
        return min(int(plugin.title_maxlen) for plugin in self._plugins)

    @property
    def body_maxbytes(self) -> int | None:
        """The body's limit in UTF-8 bytes, where the service's own is below Apprise's: an ntfy
        server turns a message over 4,096 bytes into a file (`attachment.txt`), which the phone
        shows in place of the alert; Apprise lets 7,800 characters through."""
        from apprise.plugins.ntfy import NotifyNtfy

        return NTFY_MESSAGE_BYTES if any(isinstance(p, NotifyNtfy) for p in self._plugins) else None

    @property
    def title_shares_body_limit(self) -> bool:
        """Whether the title counts toward `body_maxlen`: Discord sends `title\r\nbody` as one
        message of at most 2,000 characters, and refuses a longer one."""
        return any(bool(plugin.overflow_amalgamate_title) for plugin in self._plugins)

    @property
    def title_overhead(self) -> int:
        """What a title costs the body beside its own length, where it shares the body's limit:
        the `\r\n` after it; and under `?overflow=split` or `truncate`, the room Apprise keeps
        for a part counter (` [1/2]`), which split an alert filling the rest in two messages
        (the review link alone in the second) or cut it in the middle of the review link."""
        return max(
            [
                2,
                *(
                    int(plugin.overflow_max_display_count_width) + int(plugin.overflow_buffer)
                    for plugin in self._plugins
                    if plugin.overflow_amalgamate_title
                ),
            ]
        )

    def scrub(self, text: str) -> str:
        """`text` with every secret part of the URL replaced by ****."""
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def known_as(self, names: Collection[str]) -> set[str]:
        """`names` of destinations (as a delivery records them) by the names they have now."""
        return {self._renamed.get(name, name) for name in names}

    @property
    def destinations(self) -> list[str]:
        """The names of the destinations a message is sent to one by one, each accepting or
        refusing it on its own: one per Apprise URL, one per recipient of a mail URL."""
        return [name for name, _ in self._destinations]

    def send(
        self,
        title: str,
        body: str,
        notify_type: str,
        data: Mapping[str, Any] | None = None,
        *,
        to: Collection[str] | None = None,
        time_limit: float,
        on_delivered: Callable[[str], None] = lambda name: None,
    ) -> Outcome:
        """Send one message to each destination named in `to` (all of them when None), and
        `data` to the webhooks that carry it, within `time_limit` seconds in all; failed unless
        each of them takes it. Each destination that takes it is told to `on_delivered` at once,
        before the next is sent (the timer held meanwhile, not to cut its recording short): a
        run killed between two destinations leaves the first on record as having it, where a
        retry mailed it again."""
        delivered: set[str] = set()
        failures: list[tuple[str, str]] = []
        pending = [(name, one) for name, one in self._destinations if to is None or name in to]
        try:
            # The timer stops before the webhooks' payloads are put back, never midway.
            with _carrying(self._plugins, data or {}), _time_limit(time_limit):
                for name, one in pending:
                    reason = self._send_one(one, title, body, notify_type)
                    if reason is None:
                        delivered.add(name)
                        with _timer_held():
                            on_delivered(name)
                    else:
                        failures.append((name, reason))
        except SendTimedOut:
            tried = delivered | {name for name, _ in failures}
            cut = [name for name, _ in pending if name not in tried][:1]  # the one being sent
            failures += [(name, f"no complete answer within {time_limit:g} s") for name in cut]
        if not failures:
            return Outcome(True, delivered=frozenset(delivered))
        return Outcome(False, self._failed(failures), frozenset(delivered))

    def _send_one(self, one: Any, title: str, body: str, notify_type: str) -> str | None:
        """Send to one destination (an Apprise object holding it alone): None, or why not."""
        try:
            with _debug_log() as log:
                result = one.notify(
                    body=body, title=title, notify_type=notify_type, body_format=self.format
                )
        except Exception as error:  # a plugin's bug must fail this send, not the whole run
            return self.scrub(f"{type(error).__name__}: {error}")
        with result:
            if result and result.success_count == len(one):
                return None
            # Each warning, once: the last alone was 'Sending email to "alice@…" failed.' of a
            # mail Alice had, where the server refused its cc, said in the warning before it.
            reasons = dict.fromkeys(
                entry.message
                for service in result
                if not service
                for entry in service.logs()
                if entry.level in ("WARNING", "ERROR", "CRITICAL")
            )
            reason = _timed_out(" ".join(reasons), log.getvalue()) or _unreachable(
                " ".join(reasons) or f"Apprise reported {result.status.name}", log.getvalue()
            )
            replies = [reply for reply in _smtp_replies(log.getvalue()) if reply not in reason]
            if replies:
                reason = f"{reason.rstrip('.')}: the server answered {'; '.join(replies)}"
            return self.scrub(reason) + _redirected(reason)

    def _failed(self, failures: list[tuple[str, str]]) -> str:
        """Why a send failed: each failed destination's reason, named when there are several."""
        if len(self._destinations) == 1:
            return failures[0][1]
        return "; ".join(
            reason if name in reason else f"{name}: {reason}" for name, reason in failures
        )


@contextmanager
def _debug_log() -> Iterator[StringIO]:
    """Apprise's DEBUG log of a send, where the cause of a failure is said that its warning
    leaves out: a mail recipient refused alone (`550 5.1.1 no such user`), its warning being
    'Sending email to "bob@…" failed.'; a timeout, its warning 'A Connection error occurred'.
    Only what `_smtp_replies` and `_timed_out` pick out of it is ever shown."""
    import apprise

    with apprise.LogCapture(level=logging.DEBUG, fmt="%(message)s") as log:
        yield log


# How requests says a timeout (`Read timed out. (read timeout=4.0)`, `… (connect timeout=4.0)`)
_TIMEOUT = re.compile(r"\((connect|read) timeout=(\d+(?:\.\d+)?)\)")
_CONNECTION_ERROR = re.compile(r"^A Connection error occurr?ed\b\s*", re.IGNORECASE)


def _timed_out(warning: str, log: str) -> str | None:
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


def _unreachable(warning: str, log: str) -> str:
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


def _smtp_replies(log: str) -> list[str]:
    """The SMTP replies quoted in the exceptions of a mail send's DEBUG `log`, once each
    (`550 5.1.1 <bob@…>: User unknown`); only these are taken from it, never the rest."""
    replies = (
        f"{code} {_REPLY_BREAK.sub(' ', text)}"
        for line in log.splitlines()
        if line.startswith("Socket Exception: ")
        for code, _, text in _SMTP_REPLY.findall(line)
    )
    return list(dict.fromkeys(replies))


def _destinations(plugins: list[Any], given: set[str]) -> Iterator[tuple[str, Any]]:
    """Each destination of `plugins`, named, with a plugin sending to it alone: a mail URL's
    addresses apart, named by their address (`_mail_destinations`) however many it has, so
    that an address keeps its name when the URL is edited; any other URL whole, named
    masked."""
    from apprise.plugins.email import NotifyEmail

    for plugin in plugins:
        if isinstance(plugin, NotifyEmail):
            yield from _mail_destinations(plugin)
        else:
            yield _shown(plugin, given), plugin


def _former_names(plugins: list[Any], given: set[str]) -> dict[str, str]:
    """The names earlier versions gave a mail URL of one address (the URL, masked), by the
    name it has now (the address): a delivery pending since still says who has it."""
    from apprise.plugins.email import NotifyEmail

    mails = [plugin for plugin in plugins if isinstance(plugin, NotifyEmail)]
    return {
        _shown(mail, given): addresses[0][1]
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
