"""How an Apprise URL is shown and kept out of text: its secrets masked or scrubbed.

A subscription's URL carries tokens and passwords. Everything about it that reaches a screen, a
log or the store is written here: Apprise's own privacy rendering, with what it leaves visible
that is a credential all the same masked too, and the URL's words scrubbed out of error text,
which may quote them.
"""

from __future__ import annotations

import base64
import re
from io import StringIO
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MIN_SECRET = 3  # shorter URL parts are not scrubbed from error text: they would mangle words
_DELIMITERS = re.compile(r"[/:@?&=#,;+\s]+")
# Query parameters Apprise shows in privacy mode that may still hold secrets: HTTP headers
# (`+Name=value`) and anything named like a credential.
_SECRET_PARAMETER = re.compile(r"^\+|token|key|secret|pass|auth|sig", re.IGNORECASE)


def words(url: str) -> set[str]:
    return {word for word in _DELIMITERS.split(unquote(url)) if word}


def given_parameters(urls: str) -> set[str]:
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


def shown(plugin: Any, given: set[str]) -> str:
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


def basic_auth(plugins: list[Any]) -> set[str]:
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


def redact_unparsed(url: str) -> str:
    """How to name a URL Apprise could not read: its scheme only."""
    scheme, found, _ = url.partition("://")
    return f"{scheme}://…" if found and scheme.isalnum() else "(not a URL)"


def refusal_reason(log: StringIO, url: str) -> str:
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
    parts = words(url) - ({scheme} if separated else set())
    for secret in sorted((w for w in parts if len(w) >= MIN_SECRET), key=len, reverse=True):
        reason = reason.replace(secret, "****")
    return f": {reason.rstrip(': ')}"
