"""What a script-built page shows in the policy's place until its script has written it.

A single-page app's shell shows a notice ("Loading…", "Please wait") or blank skeleton blocks
where the policy goes. Taken for the policy, it makes a version of one word, and the next
crawl's real text reads as the whole policy added: a huge false change. The wait for a rendered
page (`crawlers.browser`) waits while the policy's element shows only this; extraction refuses
a page that shows only this.
"""

from __future__ import annotations

import re

# The whole of a loading notice, its punctuation and ellipses aside, in the languages policies
# are most often tracked in.
_NOTICE = re.compile(
    r"(?:loading(?: content| page)?|please wait|one moment(?: please)?"
    r"|chargement(?: en cours)?|cargando|carregando|caricamento(?: in corso)?|wird geladen|laden)?",
    re.IGNORECASE,
)
_NOT_WORDS = re.compile(r"[\W_]+")


def placeholder(text: str) -> bool:
    """Whether `text` is only what a page shows before its script writes it: nothing (blank
    skeleton blocks), or a loading notice."""
    return _NOTICE.fullmatch(_NOT_WORDS.sub(" ", text).strip()) is not None


def quoted(text: str) -> str:
    """The placeholder as an issue quotes it: on one line, in curly quotes."""
    return f"“{' '.join(text.split())}”"
