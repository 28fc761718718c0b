"""One Apprise URL: validated, sized for its service, and sent to, with its own result.

A subscription's URL carries tokens and passwords. Everything that leaves this module for a
screen, a log or the store goes through `masked` or `scrub` (see notifier.masking).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from notifier.destinations import destinations, former_names
from notifier.failures import debug_log, redirect_hint, smtp_replies, timed_out, unreachable
from notifier.masking import (
    MIN_SECRET,
    basic_auth,
    given_parameters,
    redact_unparsed,
    refusal_reason,
    shown,
    words,
)
from notifier.send_limit import SendTimedOut, held_off, limit_to


class ChannelError(ValueError):
    """Apprise does not recognise the URL; the message never contains the URL's secrets."""


@dataclass(frozen=True)
class Outcome:
    """Apprise's verdict on one send: ok, or the (scrubbed) reason it failed; and the
    destinations (`Channel.destinations`) that took the message in this send."""

    ok: bool
    error: str | None = None
    delivered: frozenset[str] = field(default_factory=frozenset)


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
        written = Channel(urlunsplit((scheme, parts.netloc, parts.path, query, ""))).masked
    except ChannelError:
        return ""
    yours = " (with your own values for ****)" if "****" in written else ""
    return f"; for a generic webhook (a JSON POST), write {written}{yours}"


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
        # overall time limit is `limit_to`'s): Ctrl-C then stops the send itself, where a
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
                f"Apprise does not recognise the URL {redact_unparsed(url)}"
                f"{refusal_reason(log, url)}{_webhook_hint(url)}"
            )
        self._plugins = list(self._apprise)
        given = given_parameters(url)
        self.masked = " ".join(shown(plugin, given) for plugin in self._plugins)
        self._destinations = [
            (name, apprise.Apprise(plugin, asset=asset))
            for name, plugin in destinations(self._plugins, given)
        ]
        self._renamed = former_names(self._plugins, given)
        visible = words(self.masked)
        secrets = {word for word in words(url) if len(word) >= MIN_SECRET and word not in visible}
        self._secrets = sorted(secrets | basic_auth(self._plugins), key=len, reverse=True)

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
            with _carrying(self._plugins, data or {}), limit_to(time_limit):
                for name, one in pending:
                    reason = self._send_one(one, title, body, notify_type)
                    if reason is None:
                        delivered.add(name)
                        with held_off():
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
            with debug_log() as log:
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
            reason = timed_out(" ".join(reasons), log.getvalue()) or unreachable(
                " ".join(reasons) or f"Apprise reported {result.status.name}", log.getvalue()
            )
            replies = [reply for reply in smtp_replies(log.getvalue()) if reply not in reason]
            if replies:
                reason = f"{reason.rstrip('.')}: the server answered {'; '.join(replies)}"
            return self.scrub(reason) + redirect_hint(reason)

    def _failed(self, failures: list[tuple[str, str]]) -> str:
        """Why a send failed: each failed destination's reason, named when there are several."""
        if len(self._destinations) == 1:
            return failures[0][1]
        return "; ".join(
            reason if name in reason else f"{name}: {reason}" for name, reason in failures
        )
