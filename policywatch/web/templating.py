"""The pages' Jinja2 environment: its tests and globals, and the response that renders a template.

Autoescaping is on for every template: fetched text is data and is never marked safe.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from policywatch.deadlines import days_left
from policywatch.web import diffview
from store.queries import (
    SEVERITIES,
)


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def is_web(url: str) -> bool:
    """Whether a document's URL may be a link: http(s) only, never `javascript:` or `data:`;
    an imported document's `file://` folder is shown as text, not as a dead link."""
    return urlsplit(url).scheme in {"http", "https"}


def is_underline(line: str | Sequence[diffview.Span]) -> bool:
    """Whether a line of text, or of a diff, is one character repeated (`=====`, `-----`, a
    heading's underline or a rule): such a line is clipped to its cell, not wrapped onto many
    lines of `=`."""
    text = (line if isinstance(line, str) else "".join(span.text for span in line)).strip()
    return len(text) >= 3 and len(set(text)) == 1


def reworded(before: str, sentence: str) -> tuple[diffview.Span, ...]:
    """A matched sentence in its new wording with the words it lost and gained marked: the
    engine gives an old wording only to a sentence it paired as reworded, so the two share
    most of their words, and the few that differ are what the rule was about."""
    return diffview.word_spans(before, sentence)[2]


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        days_left=days_left, when=when, severities=SEVERITIES, reworded=reworded
    )
    environment.tests["web"] = is_web
    environment.tests["underline"] = is_underline
    return environment


def _root(request: Request) -> dict[str, str]:
    """The path the app is served under (`--base-url`'s): every page's links start with it, so
    the pages work behind a proxy that serves them at `/pw/`."""
    return {"root": request.app.state.root}


templates = Jinja2Templates(env=_environment(), context_processors=[_root])


def render(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)
