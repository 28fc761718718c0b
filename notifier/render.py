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
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from diffengine.words import Span

Style = Literal["text", "added", "removed", "link"]
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")


@dataclass(frozen=True)
class Line:
    """One paragraph: plain text, added or removed text, or a link labelled `text`.

    An added line may carry the wording it replaced (`before`): its changed words are marked in
    place, or, rewritten, the old wording is struck out above it. One paragraph, so a cut for
    length never keeps the old wording without the new. `context` is how many unchanged words
    the marked form keeps each side of an edit (None: the whole sentence), which `fit` lowers to
    shorten it. A `note` is ours about the text (the rules that caught a sentence), put after it
    outside its marks: inside them, it read as the policy's own words.
    """

    text: str
    style: Style = "text"
    href: str | None = None
    before: str = ""
    note: str = ""
    context: int | None = None


def _noted(line: Line) -> str:
    return f" ({line.note})" if line.note else ""


@dataclass(frozen=True)
class Message:
    """Title and body; `items` are what may be cut, `head` and `foot` are always kept. `data` is
    the same alert for programs (`notifier.payload`), carried by the webhooks that can. `gist`
    is the part of the title a short limit cuts (`short_title`)."""

    title: str
    gist: str = ""
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


def short_title(message: Message, limit: int) -> str:
    """The title within `limit` characters, its gist cut: what comes before it (the severity,
    the document) and after it (the effective date, the days left) are what a reader must see,
    where a plain cut kept the gist and lost the date. Then the document's name is cut, after
    the severity; a title with no gist is cut at its end."""
    title = message.title
    if len(title) <= limit:
        return title
    lead, found, tail = title.partition(message.gist) if message.gist else ("", "", "")
    if not found or limit <= len(tail):
        return clip(title, limit)
    if (room := limit - len(lead) - len(tail)) > 0:
        return lead + clip(message.gist, room) + tail
    return clip(lead.removesuffix(" — "), limit - len(tail)) + tail


# Above this share of both wordings' words changed, a sentence was rewritten, not edited: the
# marks would interleave two sentences. See `_marks`.
_REWRITTEN = 2 / 3
_CONTEXT = 16  # unchanged words kept each side of an edit when a marked sentence is first cut


def _marks(line: Line) -> tuple[Span, ...]:
    """A reworded line's words, its changed ones marked, and its long unchanged runs elided to
    `line.context` words; none for a line not reworded, or rewritten."""
    spans = _reworded(line.before, line.text) if line.before and line.style == "added" else ()
    if line.context is None:
        return spans
    from diffengine.words import Span, elided

    last = len(spans) - 1
    return tuple(
        Span("equal", elided(span.text, first=at == 0, last=at == last, kept=line.context))
        if span.op == "equal"
        else span
        for at, span in enumerate(spans)
    )


@cache
def _reworded(before: str, text: str) -> tuple[Span, ...]:
    """The word diff of `before` and `text`, or none when more than `_REWRITTEN` of their words
    changed. The corpus has no case between: the most changed that read well marked is Google
    Play's "Effective [-2022-11-01-] {+from 2023-02-15+}" (3 of 5 words), the next is Google's
    API Services User Data Policy pairing two sentences that share one "the" (96% changed),
    whose marks read as a puzzle where the two sentences one above the other read at once.
    """
    from diffengine.words import word_spans  # the diff engine: only an alert's quote loads it

    spans = word_spans(before, text)
    changed = sum(len(span.text.split()) for span in spans if span.op != "equal")
    words = len(before.split()) + len(text.split())
    return spans if changed <= _REWRITTEN * words else ()


def _marked(
    spans: tuple[Span, ...], deleted: str, inserted: str, escape: Callable[[str], str]
) -> str:
    """The spans with `deleted` and `inserted` (templates of `{}`) around their changed words."""
    marks = {"delete": deleted, "insert": inserted, "equal": "{}"}
    return " ".join(marks[span.op].format(escape(span.text)) for span in spans)


def _text(line: Line) -> str:
    if line.style == "link":
        return f"{line.text}: {line.href}"
    if marks := _marks(line):
        return "~ " + _marked(marks, "[-{}-]", "{{+{}+}}", str) + _noted(line)
    old = f"- {line.before}\n" if line.before else ""
    return old + {"added": "+ ", "removed": "- "}.get(line.style, "") + line.text + _noted(line)


# An `@` opening a word (`@here`, `@all`, `<@123>`, Zulip's `@**all**`, Mattermost's `@name`),
# or before the names that ping a whole channel wherever they stand, as Discord reads them.
_MENTION = re.compile(r"(?<!\w)@(?=\S)|@(?=(?:everyone|here|channel|all)\b)", re.IGNORECASE)


def _escaped(text: str) -> str:
    """`text` as plain text in Markdown, and mentioning no one: the chats that read Markdown
    (Discord, Mattermost, Zulip, Slack, Rocket.Chat) pinged a whole channel, or a user, for a
    policy quoting `@everyone` or `<@123>`, and Apprise's Discord embeds even asked Discord to.
    A zero-width space after the `@` makes it no mention in any of them, and reads the same; a
    mail address (`privacy@example.com`) is left whole."""
    return _MENTION.sub("@\u200b", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def _markdown(line: Line, strike: str = "~~") -> str:
    text = _escaped(line.text)
    if line.style == "link":
        return f"[{text}]({line.href})"
    struck = strike + "{}" + strike
    if marks := _marks(line):
        return "~ " + _marked(marks, struck, "**{}**", _escaped) + _escaped(_noted(line))
    old = "- " + struck.format(_escaped(line.before)) + "\n" if line.before else ""
    marked = {"added": f"+ **{text}**", "removed": "- " + struck.format(text)}
    return old + marked.get(line.style, text) + _escaped(_noted(line))


def _slack(line: Line) -> str:
    """Markdown as Slack reads it once Apprise has made it Slack's own (`**` become `*`): its
    strike-through is one tilde (`~old~`); Markdown's two are not Slack's syntax."""
    return _markdown(line, strike="~")


def _html(line: Line) -> str:
    text = html.escape(line.text)
    if line.style == "link":
        href = html.escape(line.href or "")
        return f'<p>{text}: <a href="{href}">{href}</a></p>'
    # The marks of the text form stand by <del> and <ins>, visible: a mail's plain-text part is
    # this HTML with its tags stripped (Apprise's), where an old wording above its new one read
    # as the same sentence twice, and a word marked in place as no change at all.
    note = html.escape(_noted(line))
    if marks := _marks(line):
        inline = _marked(marks, "<del>[-{}-]</del>", "<ins>{{+{}+}}</ins>", html.escape)
        return f"<p>~ {inline}{note}</p>"
    old = f"- <del>{html.escape(line.before)}</del><br>" if line.before else ""
    return {
        "added": f"<p>{old}+ <ins>{text}</ins>{note}</p>",
        "removed": f"<p>- <del>{text}</del>{note}</p>",
    }.get(line.style, f"<p>{text}{note}</p>")


RENDERERS: dict[str, tuple[Callable[[Line], str], str]] = {
    "text": (_text, "\n"),
    "markdown": (_markdown, "\n\n"),
    "slack": (_slack, "\n\n"),
    "html": (_html, "\n"),
}


# What Apprise adds around a title it puts into the body of a service that has none:
# `<b>TITLE</b><br />\r\n` in HTML, `# TITLE\n` in Markdown, `TITLE\r\n` in text.
TITLE_IN_BODY = {"text": 2, "markdown": 3, "slack": 3, "html": 15}


def title_in_body(title: str, body_format: str) -> str:
    """`title` escaped for the body Apprise puts it into, as the body's text is: it is markup
    there (Telegram dropped a `<script>` quoted in a title, Rocket.Chat made `*must*` italic)."""
    if body_format == "html":
        return html.escape(title, quote=False)
    if body_format in ("markdown", "slack"):
        return _escaped(title)
    return title


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
    shown = items[:count]
    if count < len(items):  # the first item left out, if a cut around its edits lets it in
        left = len(items) - count - 1
        more = len(one(Line(f"… {left} more"))) + len(separator) if left else 0
        room = maxlen - base - prefix[count] - len(separator) - more
        shown += [squeezed] if (squeezed := _squeezed(items[count], room, one)) else []
    more_line = [Line(f"… {len(items) - len(shown)} more")] if len(shown) < len(items) else []
    kept = [*message.head, *shown, *more_line, *message.foot]
    body = render(kept, body_format)
    # Too long even without items: clip the longest line (dropping it once empty), the links
    # last (an SMS's 160 characters kept "Sentences: 30 added…" and dropped the review link),
    # and a link whole or not at all: a label cut to "Re…" named nothing. The links that
    # cannot fit together go first, the longest first, but never the last one, the way to the
    # change on the review page when there is one: a long one went before the source page.
    while len(body) > maxlen and len(links := [line for line in kept if line.style == "link"]) > 1:
        if len(render(links, body_format)) <= maxlen:
            break
        kept.remove(max(links[:-1], key=lambda line: len(one(line))))
        body = render(kept, body_format)
    while len(body) > maxlen and kept:
        texts = [i for i, line in enumerate(kept) if line.style != "link"] or range(len(kept))
        longest = max(texts, key=lambda i: len(one(kept[i])))
        shorter = _shortened(kept[longest], len(body) - maxlen)
        if kept[longest].style == "link":
            shorter = None
        if shorter:
            kept[longest] = shorter
        else:
            del kept[longest]
        body = render(kept, body_format)
    return body


def _shortened(line: Line, excess: int) -> Line | None:
    """`line` shorter by about `excess` characters; None once nothing of it would be left.

    A marked sentence loses the unchanged words around its edits first, halving the context
    kept, so that a cut never falls inside a mark nor drops the words that changed; with none
    left and still too long, it is clipped as its new wording alone.
    """
    if _marks(line):
        if line.context != 0:
            return _narrower(line)
        line = replace(line, before="")
    shorter = clip(line.text, len(line.text) - excess - 1)
    return replace(line, text=shorter) if shorter.strip("…") else None


def _squeezed(line: Line, room: int, one: Callable[[Line], str]) -> Line | None:
    """A marked sentence too long for the `room` left, cut around its edits to fit it; None if
    it cannot be, or is not marked (a quote clipped at its end is dropped whole, as before)."""
    while _marks(line) and line.context != 0:
        line = _narrower(line)
        if len(one(line)) <= room:
            return line
    return None


def _narrower(line: Line) -> Line:
    """A marked sentence with half the unchanged words around its edits."""
    return replace(line, context=_CONTEXT if line.context is None else line.context // 2)
