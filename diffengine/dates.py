"""Dates in policy text: one spelling for every date, effective dates, days left.

Pages write the same date several ways ("September 15, 2025" one day, "15 September 2025" the
next: Claude.ai's Usage Policy flips between the two), so `normalize` rewrites every full date
as ISO 8601 (English ones, and those of the other languages the corpus writes). Everything
downstream (rules, effective dates) then only has to read ISO dates.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date, timedelta

from diffengine.periods import NUMBER_WORDS

_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
_MONTH_ABBREVIATIONS = {name[:3]: number for name, number in _MONTHS.items()} | {"sept": 9}
# Months as the corpus writes them in other languages: French (YouTube's and Instagram's French
# terms, "Ces mises à jour prendront effet le 5 juillet 2023"), and the editions Anthropic and
# Mistral list ("Version en vigueur à partir du 26 janvier 2026", "Versión en vigor a partir del
# 26 de enero de 2026", "Gültige Fassung ab dem 26. Januar 2026"), Dutch ("van kracht op 1 maart
# 2026") and Swedish ("gäller från 1 mars 2026"; its other months are English or Dutch names),
# Thai ("25 พฤษภาคม ค.ศ. 2018").
_FOREIGN_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "janvier enero gennaio janeiro januar januari มกราคม",
            "février fevrier febrero febbraio fevereiro februar februari กุมภาพันธ์",
            "mars marzo março märz maart มีนาคม",
            "avril abril aprile april เมษายน",
            "mai mayo maggio maio mei maj พฤษภาคม",
            "juin junio giugno junho juni มิถุนายน",
            "juillet julio luglio julho juli กรกฎาคม",
            "août aout agosto augustus augusti สิงหาคม",
            "septembre septiembre settembre setembro กันยายน",
            "octobre octubre ottobre outubro oktober ตุลาคม",
            "novembre noviembre novembro november พฤศจิกายน",
            "décembre decembre diciembre dicembre dezembro dezember december ธันวาคม",
        ),
        start=1,
    )
    for name in names.split()
}
_MONTH_NUMBERS = _FOREIGN_MONTHS | _MONTHS | _MONTH_ABBREVIATIONS

_MONTH = r"(?P<month>" + "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
# A weekday before the date is no part of it: "Effective: Thursday, January 15, 2026" is the date
# a page without the weekday gives.
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day|\.)?,?\s+)?"
# "January 15, 2026", "Jan. 15th 2026", "15 January 2026", "15th of January, 2026"; and the day
# first in other languages: "1er janvier 2025", "26 de enero de 2026", "26. Januar 2026", "25
# พฤษภาคม ค.ศ. 2018" (the Christian era named); the first with its ordinal sign: Italian "1°
# marzo 2026", Spanish and Portuguese "1º de marzo", "1.º de março" (NFKC, as `normalize`
# applies it, writes "º" as "o": "1o de marzo"). Each ends with its year, so they are searched
# for just before the years of a text (a fast scan).
_DATES = (
    re.compile(rf"\b{_WEEKDAY}{_MONTH}\s*{_DAY},?\s+{_YEAR}$", re.IGNORECASE),
    re.compile(
        rf"\b{_WEEKDAY}{_DAY}(?:er|\.?[º°o]|\.)?\s+(?:of\s+|de\s+)?{_MONTH},?\s+(?:de\s+|ค\.ศ\.\s*)?"
        rf"{_YEAR}$",
        re.IGNORECASE,
    ),
)
# A date in figures: "15.01.2026" (dots: the day first, both of two figures, unlike a version
# "1.2.2026"), "01/15/2026" or "15/01/2026" (slashes: either order; read only when one of the
# two cannot be a month, or both are the same).
_NUMERIC = re.compile(
    r"(?<![\w./-])(?:(?P<dotted_day>[0-3]\d)\.(?P<dotted_month>[01]\d)\."
    rf"|(?P<first>[0-3]?\d)/(?P<second>[0-3]?\d)/){_YEAR}$"
)
_YEARS = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")  # "2025Previous Version": a link glued on
_LONGEST_DAY_AND_MONTH = 42  # with the weekday: "Wednesday, 15th of September, "
# A day written without its year, in an announcement ("Starting March 1, bots must…", "take
# effect on 1st of March"): English month names capitalized only, so "you may 2…" is no date.
_NAMED_MONTH = r"(?P<month>" + "|".join(name.capitalize() for name in _MONTHS) + r")"
_YEARLESS = (
    re.compile(rf"\b{_NAMED_MONTH}\s+{_DAY}\b(?!,?\s*\d)"),
    re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_NAMED_MONTH}\b(?!,?\s*\d)"),
)
# A month without its day ("take effect in March 2026", "effective from January 2027",
# "Effective: March 2026"): written as the ISO month, "2026-03", for the patterns below to read
# after an effective word (alone, "the March 2026 edition", it dates nothing).
_MONTH_ALONE = re.compile(rf"\b{_NAMED_MONTH}\s+(?:of\s+)?{_YEAR}\b(?![-/.]\d)")
# The same in the corpus's other languages (`_FOREIGN_MONTHS`), any case ("entreront en vigueur
# en mars 2026", "a partir de marzo de 2026", "gültig ab März 2026"), for `_FOREIGN_EFFECTIVE`.
_FOREIGN_MONTH_ALONE = re.compile(
    r"\b(?P<month>" + "|".join(sorted(_FOREIGN_MONTHS, key=len, reverse=True)) + r")"
    rf"\s+(?:de\s+)?{_YEAR}\b(?![-/.]\d)",
    re.IGNORECASE,
)
# A date counted from the text's own posting ("take effect 30 days after we post them",
# "effective 30 days from the date of this notice", "fourteen (14) days after posting", "one
# month after we post them"). Only the posting counts: "within 30 days after you delete your
# account" is a period of the user's.
# The words are those retention periods are read in ("a", "twelve", "twenty-four": `periods`),
# and the notice periods announcements count that those do not ("fourteen", "forty-five"); these
# are not added there, where they would read new retention periods and `classify` would take
# "twenty" for the start of "twenty-four".
_COUNTS = NUMBER_WORDS | {"fourteen": 14, "fifteen": 15, "twenty": 20, "forty-five": 45}
# The same counts in French, Spanish, Italian, Portuguese, German, Dutch and Swedish ("trente
# jours", "cuatro semanas", "vier Wochen", "fyra veckor"), for `_FOREIGN_AFTER_POSTING`.
_FOREIGN_COUNTS = {
    name: count
    for count, names in {
        1: "un une uno una um uma ein eine einen een één en ett",
        2: "deux dos due dois duas zwei twee två",
        3: "trois tres tre três drei drie",
        4: "quatre cuatro quattro quatro vier fyra",
        5: "cinq cinco cinque fünf vijf fem",
        6: "six seis sei sechs zes sex",
        7: "sept siete sette sete sieben zeven sju",
        8: "huit ocho otto oito acht åtta",
        9: "neuf nueve nove neun negen nio",
        10: "dix diez dieci dez zehn tien tio",
        14: "quatorze catorce quattordici catorze vierzehn veertien fjorton",
        15: "quinze quince quindici fünfzehn vijftien femton",
        20: "vingt veinte venti vinte zwanzig twintig tjugo",
        30: "trente treinta trenta trinta dreißig dreissig dertig trettio",
        45: "quarante-cinq quarantacinque fünfundvierzig vijfenveertig fyrtiofem",
        60: "soixante sesenta sessanta sessenta sechzig zestig sextio",
        90: "quatre-vingt-dix noventa novanta neunzig negentig nittio",
    }.items()
    for name in names.split()
}


def _count(words: Iterable[str]) -> str:
    """A count in `words` ("fourteen", with its figures or not: "fourteen (14)") or in figures
    ("14"), for `_after_posting` to read: the figures win."""
    alternatives = "|".join(sorted(words, key=len, reverse=True))
    return rf"(?:(?P<word>{alternatives})(?:\s*\((?P<figures>\d{{1,3}})\))?|(?P<count>\d{{1,3}}))"


_AFTER_POSTING = re.compile(
    rf"\b{_count(_COUNTS)}\s+(?:calendar\s+)?(?P<unit>days?|weeks?|months?)"
    r"\s+(?:after|from|following)"
    r"\s+(?:the\s+(?:date|day)\s+(?:of\s+|on\s+which\s+|that\s+)?)?"
    r"(?:(?:we|they|it|these|the\s+(?:changes|updates|update|revisions|revised\s+\w+"
    r"|updated\s+\w+|new\s+\w+))\s+(?:(?:are|is|were|was|have\s+been|has\s+been)\s+)?"
    r"(?:post|publish)(?:ed|es|s)?\b(?:\s+(?:them|it))?"
    r"|(?:this|the|such|our)\s+(?:notice|announcement)\b|(?:its\s+|their\s+)?posting\b"
    r"|(?:its\s+|their\s+)?publication\b)",
    re.IGNORECASE,
)
# The same in French, Spanish, Italian, Portuguese, German, Dutch and Swedish, in figures or
# words, only after the text's publication ("30 jours après leur publication", "treinta días
# después de su publicación", "vier Wochen nach ihrer Veröffentlichung", "einen Monat nach …",
# "30 dagen na hun publicatie", "30 dagar efter publiceringen"): not the publication of the
# reader's own ("la publication de votre demande", "Veröffentlichung Ihrer Inhalte", "publicatie
# van uw verzoek").
_FOREIGN_UNITS = (
    r"(?:jours?|semaines?|días?|dias?|semanas?|giorn[oi]|settiman[ae]|Tag(?:en?)?|Wochen?"
    r"|dag(?:en|ar)?|weken|week|veckor|vecka"
    r"|mois|mes(?:es)?|mes[ei]|mês|Monat(?:en?)?|maand(?:en)?|månad(?:er)?)"
)
_FOREIGN_AFTER = (
    r"(?:après|suivant|à\s+compter\s+de|después\s+de|tras|dopo|dalla|após|depois\s+d[ae]"
    r"|a\s+partir\s+d[ae]|nach|ab|na|efter)\s+"
)
_FOREIGN_AFTER_POSTING = re.compile(
    # The unit and "after" looked for first, after any word: trying each count word at every
    # word of a page took about twenty times as long; and without the "after", every word
    # before a French "mes" ("my", a Spanish month) tried them all: a page dense with it took
    # about twice as long.
    rf"\b(?=[\w-]++(?:\s*\(\d{{1,3}}\))?\s+{_FOREIGN_UNITS}\s+{_FOREIGN_AFTER})"
    rf"{_count(_FOREIGN_COUNTS)}\s+(?P<unit>{_FOREIGN_UNITS})\s+{_FOREIGN_AFTER}"
    r"(?:(?:leur|sa|la|su|loro|sua|a|ihrer|seiner|der|de|het|hun|zijn|haar)\s+){0,2}"
    r"(?:publication|publicación|pubblicazione|publicação|Veröffentlichung|publicatie"
    r"|bekendmaking|plaatsing|publicering(?:en)?|offentliggörande(?:t)?)\b"
    r"(?!\s+(?:(?:de|du|des|di|del|della|do|da|dos|das|van|av)\s+(?:votre|vos|ton|tes|tu|tus"
    r"|tuo|tua|tuoi|tue|seu|seus|sua|suas|teu|teus|uw|je|jouw|din|ditt|dina)\b"
    r"|(?-i:Ihrer|Ihres|deiner|deines)\b))",
    re.IGNORECASE,
)
_COUNT_WORDS = _COUNTS | _FOREIGN_COUNTS
_WEEKS = ("week", "wek", "semaine", "semana", "settiman", "woche", "veck")
_MONTHS_COUNTED = ("month", "mois", "mes", "mês", "monat", "maand", "månad")


def _unnamed(pattern: re.Pattern[str]) -> str:
    """The source of `pattern` with its groups unnamed, for the rules (`diffengine.rules`) to
    join with other terms into one alternation, where a name may come once only."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern.pattern)


# Both, as the rules' `@after_posting` term list: an announcement that gives only such a count
# ("These changes will take effect 30 days after we post them") is one.
AFTER_POSTING = (_unnamed(_AFTER_POSTING), _unnamed(_FOREIGN_AFTER_POSTING))
# A month alone in the other languages, as the rules' `@foreign_month` ("mars 2026").
FOREIGN_MONTH_ALONE = _unnamed(_FOREIGN_MONTH_ALONE)
STALE = timedelta(days=180)  # an effective date older than this, when found, is the past
# An announcement taken down this soon after its date was taken down by the update it announced.
ARRIVAL = timedelta(days=14)

# The date a pattern reads (its group 1): an ISO day, or an ISO month alone ("2026-03", as
# `_readable` writes "March 2026"); a time after the day is no part of it ("2026-01-15T00:00:00Z",
# "2026-01-15 00:00 UTC").
_ISO = (
    r"((?:19|20)\d\d-[01]\d(?:-[0-3]\d)?)"
    r"(?:T\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?\b(?!-\d)"
)

# An effective date of a change: "effective 2026-01-15", "will take effect on 2026-01-15",
# "from 2026-01-15", "as of 2026-01-15", "Effective date: 2026-01-15" (dates already in ISO form);
# and the day the text took effect, past: "in effect since 2026-01-15", "effective since: …"
# ("since" alone, "offered since …", is a history, not an effective date).
_EFFECTIVE = re.compile(
    r"\b(?:effective(?:\s+date)?|in\s+effect|(?:takes?|taking)\s+effect"
    r"|(?:takes?|taking|took|come|comes|coming|came|go|goes|going|went)\s+into\s+(?:effect|force)"
    r"|(?:starting|beginning|begins?|began|commencing)(?:\s+on|\s+from)?"
    r"|as\s+(?:of|from)|from|applies|apply|will\s+apply"
    # A deadline, or the end of a grace period: the day to act before ("migrate to the Cloud
    # API by 2027-01-15", "no later than …", "may continue to use the Solution until …").
    r"|no\s+later\s+than|on\s+or\s+(?:after|before)|by|until|(?:ends?|ending)\s+on"
    # An end put as the last day of use: "will no longer be available after 2027-01-15".
    r"|no\s+longer\s+(?:be\s+)?(?:available|supported|accessible|work|function)\w*\s+after"
    # An announced update: "We're updating our Terms of Service on 2026-07-30"; an end
    # announced: "Version 17.0 of the Graph API will be deprecated on 2026-09-01".
    r"|(?:(?:are|we're|we\s+are|is)\s+updating|will\s+(?:be\s+)?(?:updat\w*|chang\w*"
    r"|deprecat\w*|discontinu\w*|retir\w*|sunset\w*|shut\s+down|turned\s+off|removed"
    r"|stop\s+working))"
    r"\b[^.;:]{0,60}?(?=\s+on\s))"
    rf"\b[\s:,]*(?:as\s+of\s+|on\s+|from\s+|starting\s+|in\s+|since[\s:,]+)?{_ISO}",
    re.IGNORECASE,
)
# The same in the other languages the corpus writes dates in (see `_FOREIGN_MONTHS`). The
# phrases that say a text is in effect, labels as English "effective" is: French "entrera en
# vigueur le", "en vigueur à partir du"; Spanish "en vigor a partir del", "con efectos desde",
# Italian "in vigore dal", "con effetto dal", Portuguese "entrará em vigor em", "com efeitos a
# partir de"; German "gültige Fassung ab dem", "gelten ab dem", "gilt ab", "wirksam ab", "mit
# Wirkung zum"; Dutch "van kracht op", "met ingang van", "geldig vanaf"; Swedish "gäller från";
# Thai "มีผลตั้งแต่วันที่". The verbs, no labels, as English "take effect" and "come into force"
# are none: "prendront effet le", "treden in werking op", "träder i kraft den". And "from"
# alone, read as English "from" is, no label either: German "ab dem" (not a Swedish company's
# "AB"), Dutch "vanaf", Swedish "från och med den", French "à partir du", "à compter du",
# Spanish and Portuguese "a partir de(l)", Italian "a partire dal", "a decorrere dal". The day
# the text took effect counts after an effective phrase only, as English "in effect since": "en
# vigueur depuis le", "en vigor desde el", "em vigor desde", "in vigore a decorrere dal",
# "gültig seit", "gilt seit dem", "van kracht sinds", "geldig sinds", "gäller sedan den"
# ("desde", "dal", "seit" alone are a history).
_FOREIGN_EFFECTIVE_WORDS = (
    r"(?:\b(?:(?:entr\w*\s+)?en\s+vigueur|entr\w*\s+(?:en|em)\s+vigor"
    r"|(?:entr\w*\s+)?in\s+vigore|em\s+vigor|en\s+vigor|con\s+effetto|con\s+efectos?"
    r"|com\s+efeitos?|gültig\w*(?:\s+fassung)?|gilt|gelten|galt|galten|wirksam|mit\s+wirkung"
    r"|van\s+kracht|met\s+ingang\s+van|geldig\w*|gäller|gällde)(?!\w)"
    r"|มีผลตั้งแต่(?:วันที่)?)"
)
_FOREIGN_TAKES_EFFECT = (
    r"\b(?:prend\w*\s+effet|(?:treedt|treden|trad|traden)\s+in\s+werking|träd\w*\s+i\s+kraft)"
)
_FOREIGN_FROM = (
    r"\b(?:(?-i:[Aa]b)(?:\s+dem)?|vanaf|från\s+och\s+med|a\s+partir\s+d(?:el?|[oa])"
    r"|à\s+(?:partir|compter)\s+d[ue]|a\s+partire\s+dal?|a\s+decorrere\s+dal?)(?!\w)"
)
_FOREIGN_EFFECTIVE = re.compile(
    rf"(?:{_FOREIGN_EFFECTIVE_WORDS}|{_FOREIGN_TAKES_EFFECT}|{_FOREIGN_FROM})"
    r"(?:\s+(?:le|du|el|del|il|dal|da|em|en|im|a\s+partir\s+(?:du|del|de)"
    r"|à\s+(?:partir|compter)\s+d[ue]|a\s+partire\s+dal?|ab(?:\s+dem)?|am|zum|vom|vanaf|op"
    r"|per|den|i|från(?:\s+och\s+med)?(?:\s+den)?"
    r"|depuis(?:\s+le)?|desde(?:\s+(?:el|o))?|a\s+decorrere\s+dal?|seit(?:\s+dem)?|sinds"
    r"|sedan(?:\s+den)?))?"
    rf"[\s:,]*{_ISO}",
    re.IGNORECASE,
)
# German and Dutch put the date before the verb: "treten am 2026-03-01 in Kraft", "werden …
# wirksam", "treedt op 2026-03-01 in werking", "worden op 2026-03-01 van kracht".
_IN_FORCE = r"(?:in\s+kraft|wirksam|in\s+werking|van\s+kracht)\b"
_DATE_BEFORE_VERB = re.compile(rf"{_ISO}\s+{_IN_FORCE}", re.IGNORECASE)
# The date first: "On 2021-06-01, we will update the Terms of Service to …".
_ANNOUNCED_ON = re.compile(
    rf"\bon\s+{_ISO},?\s+(?:we|these|the|our|this)\b[^.;:]{{0,40}}?"
    r"\bwill\s+(?:be\s+)?(?:updat\w*|chang\w*|take\s+effect|apply|come\s+into|go\s+into)",
    re.IGNORECASE,
)
# "Last updated: 2026-01-04", "Updated 2026-01-04", "Last modified on 2026-01-04", "Date of
# last revision: 2026-01-04" (Facebook's), "Dated: 2026-01-04" (YouTube's; only as a label: "the
# Addendum … dated 2022-03-21" is the date of another document).
_LAST_UPDATED = re.compile(
    r"\b(?:(?:last\s+)?(?:updated|modified|revised|changed|revision)\b|dated\s*:)[\s:,]*(?:on\s+)?"
    + _ISO,
    re.IGNORECASE,
)
# "Date de la dernière mise à jour : 2022-07-26", "Mise à jour le …", "Révisé : …", "Actualizado
# el …", "Aggiornata al …", "Atualizada em …", "Zuletzt aktualisiert am …", "Stand: …" (German
# pages' "as of", a label only), "Laatst bijgewerkt op …", "Senast uppdaterad den …".
_FOREIGN_UPDATED_WORDS = (
    r"\b(?:mise?\s+à\s+jour|révisée?|actualizad[oa]|aggiornat[oa]|atualizad[oa]"
    r"|(?:zuletzt\s+)?(?:aktualisiert|geändert)|letzte\s+(?:aktualisierung|änderung)"
    r"|(?-i:Stand)\s*:|(?:laatst\s+)?(?:bijgewerkt|gewijzigd)|(?:senast\s+)?(?:uppdaterad|ändrad))"
)
_FOREIGN_UPDATED = re.compile(
    rf"{_FOREIGN_UPDATED_WORDS}(?:\s+(?:le|el|al|em|am|op|den))?[\s:,]*{_ISO}", re.IGNORECASE
)
# The labels a date is read after in the other languages (effective or last updated, and the
# German and Dutch verb after it), as the rules' `@foreign_label`: "Gilt ab: …", "Geldig vanaf
# …", "Stand: …" date a text as "Effective: …" and "Last updated: …" do; "from" alone and the
# verbs do not.
FOREIGN_LABELS = (_FOREIGN_EFFECTIVE_WORDS, rf"\b{_IN_FORCE}", _FOREIGN_UPDATED_WORDS)


def _iso(found: re.Match[str]) -> str | None:
    """The ISO spelling of a date `_DATES` or `_NUMERIC` found; None for an impossible one, or
    figures in either order that make two dates ("03/04/2026")."""
    parts = found.groupdict()
    if parts.get("month"):
        month, day = _MONTH_NUMBERS[parts["month"].lower()], int(parts["day"])
    elif parts.get("dotted_day"):
        month, day = int(parts["dotted_month"]), int(parts["dotted_day"])
    else:
        first, second = int(parts["first"]), int(parts["second"])
        if first <= 12 and second <= 12 and first != second:
            return None
        month, day = (first, second) if first <= 12 else (second, first)
    try:
        return date(int(parts["year"]), month, day).isoformat()
    except ValueError:
        return None


def canonical_dates(text: str) -> str:
    """Rewrite every full date of `text` (English, or day first in the languages of
    `_FOREIGN_MONTHS`, or in figures whose order is plain: `_NUMERIC`) as an ISO date; leave
    impossible dates alone, and figures that read as two dates."""
    pieces = []
    done = 0
    for year in _YEARS.finditer(text):
        window = max(done, year.start() - _LONGEST_DAY_AND_MONTH)
        for pattern in (*_DATES, _NUMERIC):
            found = pattern.search(text, window, year.end())
            if found and (iso := _iso(found)):
                pieces += [text[done : found.start()], iso]
                done = found.end()
                break
    return "".join([*pieces, text[done:]]) if pieces else text


class Month(date):
    """A month a text gives without its day ("effective March 2026"), as its first day: the
    earliest the change may apply, so that days left and reminders come early rather than late.
    It is a date everywhere (stored, counted, compared); `spelled` shows it as the month."""


def spelled(when: date) -> str:
    """`when` as the text gave it: "March 2026" for a `Month`, else the ISO date."""
    return f"{when:%B %Y}" if isinstance(when, Month) else when.isoformat()


def _readable(text: str, today: date, *, posted: bool = True) -> str:
    """`text` with the dates it gives in words written in ISO form, for the patterns to read:
    a day without its year (`_with_years`), a month alone as the ISO month ("2026-03"), and,
    when `posted` (the text came with the change), a count of days after its posting as the
    day that many after `today`, when the change was found: the posting came then at the latest,
    so the date is never earlier than the text says."""
    for alone in (_MONTH_ALONE, _FOREIGN_MONTH_ALONE):
        text = alone.sub(
            lambda found: f"{found['year']}-{_MONTH_NUMBERS[found['month'].lower()]:02}", text
        )
    if posted:
        for counted in (_AFTER_POSTING, _FOREIGN_AFTER_POSTING):
            text = counted.sub(lambda found: _after_posting(found, today).isoformat(), text)
    return _with_years(text, today)


def _after_posting(found: re.Match[str], posted: date) -> date:
    """The day that `_AFTER_POSTING` or `_FOREIGN_AFTER_POSTING` found counts to from `posted`:
    "30 days", "fourteen (14) days" (the figures win), "two weeks", "30 jours", "vier Wochen";
    months are calendar months (`_months_on`), not 30 days each, as a reader counts them."""
    parts = found.groupdict()
    count = int(parts["figures"] or parts["count"] or _COUNT_WORDS[parts["word"].lower()])
    unit = parts["unit"].lower()
    if unit.startswith(_MONTHS_COUNTED):
        return _months_on(posted, count)
    return posted + timedelta(days=count * 7 if unit.startswith(_WEEKS) else count)


def _months_on(start: date, months: int) -> date:
    """The same day `months` later ("one month after" 2025-10-15 is 2025-11-15), or that month's
    last day when it has no such day (2026-01-31 gives 2026-02-28): never past the month meant."""
    year, month = divmod(start.month - 1 + months, 12)
    year, month = start.year + year, month + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _with_years(text: str, today: date) -> str:
    """`text` with each day written without a year as the ISO date of its next coming after
    `today`, or of its last if that came at most `ARRIVAL` before (an announcement of "March 1"
    still up on March 4 means the March just past, not the next)."""

    def dated(match: re.Match[str]) -> str:
        for year in range(today.year - 1, today.year + 2):
            try:
                when = date(year, _MONTHS[match["month"].lower()], int(match["day"]))
            except ValueError:  # "February 29" in a year without one, "March 32"
                continue
            if when >= today - ARRIVAL:
                return when.isoformat()
        return match[0]

    for pattern in _YEARLESS:
        text = pattern.sub(dated, text)
    return text


def states(text: str, when: date, today: date) -> bool:
    """Whether `text` (normalized) gives the day `when` in any spelling `effective_date` read on
    `today` (a day without its year, a count of days after posting, the first of a month given
    alone): the page still stating a change's date."""
    if when.isoformat() in text:
        return True
    readable = _readable(text, today)
    month = re.compile(rf"\b{when:%Y-%m}\b(?!-\d)") if when.day == 1 else None
    return when.isoformat() in readable or bool(month and month.search(readable))


def _dates(patterns: Iterable[re.Pattern[str]], texts: Iterable[str]) -> list[date]:
    """The dates (group 1) the `patterns` find in `texts`, in text order."""
    patterns = list(patterns)
    found = []
    for text in texts:
        matches = sorted(
            (match for pattern in patterns for match in pattern.finditer(text)),
            key=lambda match: match.start(1),
        )
        for match in matches:
            try:
                found.append(_parsed(match.group(1)))
            except ValueError:
                continue
    return found


def _parsed(iso: str) -> date:
    """An ISO day, or an ISO month alone as its `Month`; ValueError for an impossible one."""
    if len(iso) == len("2026-03"):
        year, month = map(int, iso.split("-"))
        return Month(year, month, 1)
    return date.fromisoformat(iso)


def effective_dates(texts: Iterable[str]) -> list[date]:
    """Dates that `texts` (normalized) give as the date something takes effect, in text order."""
    return _dates((_EFFECTIVE, _ANNOUNCED_ON, _FOREIGN_EFFECTIVE, _DATE_BEFORE_VERB), texts)


def last_updated_dates(texts: Iterable[str]) -> list[date]:
    """Dates that `texts` (normalized) give as the date the page was last updated."""
    return _dates((_LAST_UPDATED, _FOREIGN_UPDATED), texts)


def effective_date(
    changed: Iterable[str],
    header: Iterable[str],
    today: date,
    previous: Iterable[str] = (),
    withdrawn: Iterable[str] = (),
) -> date | None:
    """The date a change takes effect, from the changed sentences and the page header.

    In order of trust: an effective date stated in the changed text ("effective 2026-01-15");
    an effective date in the page header that is still to come (the header of an announced
    update); a "last updated" date that changed with the text (a page with no effective date
    takes effect when updated); the date of an announcement the change takes down once that
    date has just come (`withdrawn`: the sentences removed): Meta's Platform Terms drop "The updates
    go into effect on 2026-02-03" with the update itself, which then carried no date at all.
    A header date that did not change with the text is not the date
    of this change, so an unchanged "Last updated" or a past header "Effective" date is ignored;
    nor is a date that a reworded sentence kept (`previous`: the old wording of the changed
    sentences), "last revised on 2025-01-02" or "Effective as of 2025-09-15 (view archived
    version)" become "… | Archived versions": the page was revised then, not now. Nor is a "last
    updated" date older than one the change took away: a page swapped for a regional variant
    revised earlier (Facebook's "Date of last revision: 2020-12-20" gave way to "2020-10-22").

    A date more than `STALE` before the change is history the text cites, not when the change
    applies: a reworded clause "effective as of 2020-10-01" found in 2022, a regional variant
    dated 2022 swapped in for one dated 2025.

    A day written without its year ("Starting March 1, …") is taken in the year that makes it
    come next (see `_with_years`); a month alone ("effective March 2026") as its first day, a
    `Month`; a count of days, weeks or calendar months after the text's posting ("30 days after
    we post them", "one month after …": see `_after_posting`) from `today`, in the changed text
    only: atop the page, unchanged, it was posted long ago.

    The day a text has been in effect since ("in effect since 2026-01-15", "en vigueur depuis
    le …", "gültig seit …") is an effective date: the day the text took effect, so the date of
    the change that wrote it. Past by then, it dates a change stated in the changed text (within
    `STALE`), never from an unchanged header, which counts only dates still to come.

    Of several dates stated, the latest: the changed text may also reword a clause that names an
    older date ("starting on 2022-05-28, EEA consumer law gives you…" beside "Effective as of
    2023-10-06"), and the latest is the one the new wording waits for.
    """
    changed, previous, withdrawn = (
        [_readable(text, today) for text in texts] for texts in (changed, previous, withdrawn)
    )
    header = [_readable(text, today, posted=False) for text in header]
    recent = today - STALE
    kept = set(effective_dates(previous))
    stated = [when for when in effective_dates(changed) if when >= recent and when not in kept]
    if stated:
        # The day given in full before the same day as a month's first: it is as early, and exact.
        return max(stated, key=lambda when: (when, not isinstance(when, Month)))
    upcoming = [when for when in effective_dates(header) if when >= today]
    if upcoming:
        return upcoming[0]
    taken = last_updated_dates([*previous, *withdrawn])
    updated = [
        when
        for when in last_updated_dates(changed)
        if when >= recent and all(when > old for old in taken)
    ]
    if updated:
        return updated[0]
    # An announcement whose date is still to come, taken down, dates nothing (the update may
    # have been withdrawn or put off), nor does one taken down weeks later with other edits.
    arrived = [when for when in effective_dates(withdrawn) if today - ARRIVAL <= when <= today]
    return max(arrived) if arrived else None


def days_left(when: date, today: date) -> int | None:
    """Days from `today` until `when`; None once `when` has passed (0 on the day itself)."""
    remaining = (when - today).days
    return remaining if remaining >= 0 else None
