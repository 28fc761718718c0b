"""Which language a page is in: a page switching language is a capture problem, not a change.

Real captures switch: Facebook's and Instagram's terms came back in French for a while, and
YouTube's in Thai, when the fetcher was served another locale. Counting the commonest function
words of a few Latin-script languages tells a policy page's language; text in another script is
named by its script (Thai, Cyrillic, …), which is all a language switch needs. Either costs a
fraction of a millisecond.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

from diffengine.normalize import prose_sample

_STOPWORDS = {
    "en": [
        "the",
        "and",
        "of",
        "to",
        "you",
        "your",
        "for",
        "that",
        "with",
        "are",
        "this",
        "not",
        "or",
        "any",
        "our",
        "will",
        "by",
    ],
    "fr": [
        "le",
        "la",
        "les",
        "des",
        "et",
        "vous",
        "votre",
        "vos",
        "pour",
        "que",
        "une",
        "avec",
        "sont",
        "pas",
        "nous",
        "dans",
        "du",
    ],
    "de": [
        "der",
        "die",
        "das",
        "und",
        "sie",
        "ihre",
        "nicht",
        "mit",
        "für",
        "von",
        "den",
        "zu",
        "ist",
        "wir",
        "oder",
        "auf",
    ],
    "es": [
        "el",
        "los",
        "las",
        "del",
        "que",
        "y",
        "para",
        "con",
        "por",
        "una",
        "sus",
        "usted",
        "su",
        "nuestros",
        "como",
    ],
    "it": [
        "il",
        "di",
        "che",
        "per",
        "non",
        "della",
        "le",
        "gli",
        "una",
        "sono",
        "con",
        "alla",
        "dei",
        "suoi",
        "tuoi",
    ],
    "pt": [
        "os",
        "das",
        "dos",
        "que",
        "para",
        "com",
        "uma",
        "por",
        "não",
        "seu",
        "sua",
        "você",
        "nossos",
        "ao",
    ],
    "nl": [
        "de",
        "het",
        "een",
        "van",
        "en",
        "je",
        "uw",
        "niet",
        "voor",
        "met",
        "zijn",
        "dat",
        "wij",
        "op",
        "te",
    ],
}
_LANGUAGE_OF_WORD: dict[str, list[str]] = {}
for _language, _words in _STOPWORDS.items():
    for _word in _words:
        _LANGUAGE_OF_WORD.setdefault(_word, []).append(_language)

_WORD = re.compile(r"[^\W\d_]+")
# _WORD on ASCII, lower-cased: letters to lower case, anything else to a space, then split.
_ASCII_WORDS = str.maketrans({c: c.lower() if c.isalpha() else " " for c in map(chr, range(128))})
_NON_LATIN_LETTER = re.compile(r"[^\W\d_\u0000-\u024f\u1e00-\u1eff]")
_SCRIPT_CODES = {"THAI": "th", "HANGUL": "ko", "HIRAGANA": "ja", "KATAKANA": "ja", "CJK": "zh"}
_SCRIPT_CODES |= {"ARABIC": "ar", "HEBREW": "he", "DEVANAGARI": "hi", "GREEK": "el"}
# Every code detect_language can return (besides a script's name): the languages a catalog entry
# may declare, since a page declared in any other could never be found in it.
LANGUAGES = frozenset(_STOPWORDS) | frozenset(_SCRIPT_CODES.values())
_WINDOWS = 4  # samples spread over the page: its top is often navigation
_WINDOW = 3_000  # characters each: plenty to tell a language, cheap on a 300 KB page
_MIN_HITS = 20
_MARGIN = 1.5


@lru_cache(maxsize=64)
def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language of Markdown `text`, or None when too short or too mixed.

    Judged on stretches of its prose spread over the page (its top is often navigation): link
    targets, markup and typography say nothing of a language.
    """
    sample = " ".join(prose_sample(text, _WINDOWS, _WINDOW))
    # Most samples are ASCII (a flag on the string, no scan): no other script to look for, and
    # their words are found without a pattern (see _ASCII_WORDS), at twice its speed.
    is_ascii = sample.isascii()
    non_latin = [] if is_ascii or _mostly_latin(sample) else _NON_LATIN_LETTER.findall(sample)
    if len(non_latin) > len(sample) // 4:
        return _script(non_latin)
    words = sample.translate(_ASCII_WORDS).split() if is_ascii else _WORD.findall(sample.casefold())
    votes: Counter[str] = Counter()
    for word, count in Counter(filter(_LANGUAGE_OF_WORD.__contains__, words)).items():
        for language in _LANGUAGE_OF_WORD[word]:
            votes[language] += count
    ranked = votes.most_common(2)
    if not ranked or ranked[0][1] < _MIN_HITS:
        return None
    if len(ranked) > 1 and ranked[0][1] < _MARGIN * ranked[1][1]:
        return None
    return ranked[0][0]


def _mostly_latin(sample: str) -> bool:
    """Whether at most a quarter of `sample` can be letters of other scripts, without looking
    for them: each of those takes two bytes or more in UTF-8, so there are no more of them than
    bytes beyond one per character. A page in French or with typographic quotes passes at the
    cost of encoding it, a tenth of the search."""
    return len(sample.encode("utf-8")) - len(sample) <= len(sample) // 4


def _script(letters: list[str]) -> str:
    """The language code (or lower-case script name) of the commonest script among `letters`."""
    scripts = Counter(unicodedata.name(letter, "UNKNOWN").split(" ")[0] for letter in letters[:500])
    script = scripts.most_common(1)[0][0]
    return _SCRIPT_CODES.get(script, script.lower())
