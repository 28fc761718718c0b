"""A message as lines, and those lines as text, Markdown or HTML within a length limit.

Messages are built once as neutral lines (`Message`), then rendered in the format the service
prefers. Services cap the body length; rather than let a service reject or chop the message,
`fit` drops whole items from the end and says how many ("… 3 more"), and clips a line that is
too long on its own at a word boundary.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Style = Literal["text", "added", "removed", "link"]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")


@dataclass(frozen=True)
class Line:
    """One paragraph: plain text, added or removed text, or a link labelled `text`.

    An added line may carry the wording it replaced (`before`), shown struck out above it: one
    paragraph, so a cut for length never keeps the old wording without the new. A `note` is ours
    about the text (the rules that caught a sentence), put after it outside its marks: inside
    them, it read as the policy's own words.
    """

    text: str
    style: Style = "text"
    href: str | None = None
    before: str = ""
    note: str = ""


def _noted(line: Line) -> str:
    return f" ({line.note})" if line.note else ""


@dataclass(frozen=True)
class Message:
    """Title and body; `items` are what may be cut, `head` and `foot` are always kept. `data` is
    the same alert for programs (`notifier.payload`), carried by the webhooks that can."""

    title: str
    head: tuple[Line, ...] = ()
    items: tuple[Line, ...] = ()
    foot: tuple[Line, ...] = ()
    notify_type: str = "info"
    data: dict[str, Any] = field(default_factory=dict)


def clip(text: str, limit: int) -> str:
    """`text` within `limit` characters, cut at a word boundary and ended with `…`; the
    punctuation before the cut goes too ("and 10 more;…" read as a typo)."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    if " " in cut.strip():
        cut = cut[: cut.rstrip().rfind(" ")]
    return cut.rstrip(" ,;:") + "…"


def _text(line: Line) -> str:
    if line.style == "link":
        return f"{line.text}: {line.href}"
    old = f"- {line.before}\n" if line.before else ""
    return old + {"added": "+ ", "removed": "- "}.get(line.style, "") + line.text + _noted(line)


def _escaped(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _markdown(line: Line) -> str:
    text = _escaped(line.text)
    if line.style == "link":
        return f"[{text}]({line.href})"
    old = f"- ~~{_escaped(line.before)}~~\n" if line.before else ""
    marked = {"added": f"+ **{text}**", "removed": f"- ~~{text}~~"}.get(line.style, text)
    return old + marked + _escaped(_noted(line))


def _html(line: Line) -> str:
    text = html.escape(line.text)
    if line.style == "link":
        href = html.escape(line.href or "")
        return f'<p>{text}: <a href="{href}">{href}</a></p>'
    # The marks of the text form stand before <del> and <ins>, visible: a mail's plain-text
    # part is this HTML with its tags stripped (Apprise's), where an old wording above its new
    # one read as the same sentence twice.
    old = f"- <del>{html.escape(line.before)}</del><br>" if line.before else ""
    note = html.escape(_noted(line))
    return {
        "added": f"<p>{old}+ <ins>{text}</ins>{note}</p>",
        "removed": f"<p>- <del>{text}</del>{note}</p>",
    }.get(line.style, f"<p>{text}{note}</p>")


RENDERERS: dict[str, tuple[Callable[[Line], str], str]] = {
    "text": (_text, "\n"),
    "markdown": (_markdown, "\n\n"),
    "html": (_html, "\n"),
}


def render(lines: list[Line], body_format: str) -> str:
    one, separator = RENDERERS[body_format]
    return separator.join(one(line) for line in lines)


def fit(message: Message, body_format: str, maxlen: int) -> str:
    """The body in `body_format` within `maxlen` characters, cut cleanly if it must be."""
    one, separator = RENDERERS[body_format]
    items = list(message.items)
    fixed = [*message.head, *message.foot]
    # Lengths add up line by line (a separator each; an empty head and foot overcount by one, on
    # the safe side), so the longest prefix of items that fits is found in one pass.
    prefix = [0]
    for item in items:
        prefix.append(prefix[-1] + len(one(item)) + len(separator))
    base = sum(len(one(line)) for line in fixed) + len(separator) * max(len(fixed) - 1, 0)
    count = len(items)
    while count > 0:
        more = len(one(Line(f"… {len(items) - count} more"))) + len(separator)
        if base + prefix[count] + (more if count < len(items) else 0) <= maxlen:
            break
        count -= 1
    more_line = [Line(f"… {len(items) - count} more")] if count < len(items) else []
    kept = [*message.head, *items[:count], *more_line, *message.foot]
    body = render(kept, body_format)
    # Too long even without items: clip the longest line (dropping it once empty).
    while len(body) > maxlen and kept:
        longest = max(range(len(kept)), key=lambda i: len(one(kept[i])))
        text = kept[longest].text
        shorter = clip(text, len(text) - (len(body) - maxlen) - 1)
        if shorter.strip("…"):
            kept[longest] = replace(kept[longest], text=shorter)
        else:
            del kept[longest]
        body = render(kept, body_format)
    return body
