"""The catalog: YAML declarations of the documents policywatch tracks.

A declaration file names one service and its documents (see DESIGN.md). Loading validates every
entry and reports each problem with its file, document and field, so that one broken entry is
skipped with a clear message while the rest of the catalog still crawls.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from crawlers.css import css_xpath
from crawlers.pacing import Interval, Pacing

# libyaml's safe loader when PyYAML was built with it: five times faster on a large catalog.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
BUNDLED_CATALOG = Path(str(resources.files("crawlers") / "catalog"))
# The codes the language check (diffengine.language) can tell a page is in: a page declared in
# another could never pass it. Written out, not imported: loading the catalog (`catalog list`)
# must not load the diff engine. tests/test_catalog.py holds the two sets equal.
LANGUAGES = frozenset(
    {"ar", "de", "el", "en", "es", "fr", "he", "hi", "it", "ja", "ko", "nl", "pt", "th", "zh"}
)


# Latin letters that are no letter plus accent, so that NFKD leaves them whole: spelled as
# their languages write them in ASCII. (`ß` is `ss` by case folding.)
_LETTERS = str.maketrans(
    {"æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def slugify(text: str) -> str:
    """Lower-case words joined by dashes, in ASCII: the form keys take (`WhatsApp` ->
    `whatsapp`, `Société Générale` -> `societe-generale`). Accents are dropped, not taken for
    word breaks: `soci-t-g-n-rale` was no key anyone would type in `crawl --only`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def document_key(service: str, document_type: str) -> str:
    """A document's key, `service-slug/type-slug`: unique across every catalog loaded together."""
    return f"{slugify(service)}/{slugify(document_type)}"


def accented_key(service: str, document_type: str) -> str:
    """The key releases before store migration 0017 spelled, each accented letter a word break
    (`soci-t-g-n-rale/conditions-g-n-rales`): the store renamed such documents, and a user's
    `intervals` setting may still name one so."""
    names = (service, document_type)
    return "/".join(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for name in names)


def check_css(selector: str) -> str:
    """Compile the selector now, with the extractor's own compiler (and into its cache), so that
    a typo, or a selector cssselect cannot translate (`p::before`), is reported at load time
    rather than at crawl time."""
    try:
        css_xpath(selector)
    except Exception as error:  # cssselect's SelectorSyntaxError and ExpressionError, and others
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"invalid CSS selector {selector!r}: {reason}") from None
    return selector


class RangeSelector(BaseModel):
    """The content between two elements, as Open Terms Archive's range selectors.

    Some policies have no element of their own: they are a stretch of a longer page, from one
    heading to the next. `start_before` keeps the first match of its selector, `start_after`
    starts right after it; `end_before` stops right before the end element, `end_after` keeps it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_before: str | None = None
    start_after: str | None = None
    end_before: str | None = None
    end_after: str | None = None

    @field_validator("start_before", "start_after", "end_before", "end_after")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        return None if value is None else check_css(value)

    @model_validator(mode="after")
    def _bounded(self) -> RangeSelector:
        if (self.start_before is None) == (self.start_after is None):
            raise ValueError("a range needs exactly one of `start_before` and `start_after`")
        if (self.end_before is None) == (self.end_after is None):
            raise ValueError("a range needs exactly one of `end_before` and `end_after`")
        return self

    @property
    def start(self) -> str:
        return self.start_before or self.start_after or ""

    @property
    def end(self) -> str:
        return self.end_before or self.end_after or ""

    def data(self) -> dict[str, str]:
        """The range as written in YAML: only its two bounds."""
        return self.model_dump(exclude_none=True)

    def __str__(self) -> str:
        bounds = ", ".join(f"{name}: {css}" for name, css in self.data().items())
        return f"{{{bounds}}}"


Selector = str | RangeSelector


def _selector_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "css"
    return "range" if isinstance(value, dict | RangeSelector) else None


# One entry of `select`/`remove`. The discriminator picks the model from the value's shape, so an
# error names the one field at fault rather than listing how each alternative failed.
SelectorEntry = Annotated[
    Annotated[str, Tag("css")] | Annotated[RangeSelector, Tag("range")],
    Discriminator(
        _selector_kind,
        custom_error_type="selector",
        custom_error_message="expected a CSS selector or a range (start_… and end_… selectors)",
    ),
]


def _check_selectors(selectors: list[Selector]) -> list[Selector]:
    """The CSS entries, checked as a list so that an error names the field, as it always has."""
    for selector in selectors:
        if isinstance(selector, str):
            check_css(selector)
    return selectors


def selector_data(selector: Selector) -> str | dict[str, str]:
    """A selector as plain data (JSON, YAML): the CSS text, or the range's bounds."""
    return selector if isinstance(selector, str) else selector.data()


_HOST = re.compile(r"[\w-]+(\.[\w-]+)+(:\d+)?")  # a host name or address, and its port


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        # Not quoted: the message is printed and stored, and the URL holds a password.
        raise ValueError(
            "a URL with a user name or password (user:pass@host) is not supported: the catalog,"
            " the store and the web page show URLs as they are"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL{_as_meant(value)}")
    return value


def _as_meant(url: str) -> str:
    """`; write https://…`, the URL as meant where it lacks its scheme (one copied from the
    address bar) or has it mistyped (`htp://`); nothing where it is another scheme's (`ftp:`)."""
    scheme, colon, rest = url.partition("://")
    meant = difflib.get_close_matches(scheme.lower(), ("http", "https"), n=1) if colon else []
    bare = rest if meant else url.lstrip("/")
    if (colon and not meant) or not _HOST.fullmatch(bare.split("/")[0]):
        return ""
    return f"; write {meant[0] if meant else 'https'}://{bare}"


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str | dict) else value


# `select`/`remove`: one entry or a list of them, CSS checked at load time.
SelectorList = Annotated[
    list[SelectorEntry], BeforeValidator(_one_or_many), AfterValidator(_check_selectors)
]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
_KEY = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*/[a-z0-9]+(-[a-z0-9]+)*")


def _key_shaped(value: str) -> str:
    """An old key as `formerly` gives it: `service-slug/type-slug`, in any case; a name written
    in place of its key (`Twitter/Developer Agreement`) is refused with the key it spells."""
    if _KEY.fullmatch(value.lower()):
        return value.lower()
    service, _, document_type = value.partition("/")
    spelled = f"{slugify(service)}/{slugify(document_type)}"
    meant = f"; write {spelled}" if _KEY.fullmatch(spelled) else ""
    raise ValueError(f"{value!r} is not a document key (service-slug/type-slug){meant}")


# `formerly`: the keys a document had, one or a list.
OldKeys = Annotated[
    list[Annotated[str, AfterValidator(_key_shaped)]], BeforeValidator(_one_or_many)
]
Render = Literal["http", "browser"]
Format = Literal["html", "pdf"]


@dataclass(frozen=True)
class Page:
    """One page to fetch and what to extract from it."""

    url: str
    select: tuple[Selector, ...] = ()
    remove: tuple[Selector, ...] = ()

    def selectors(self) -> dict[str, list[str | dict[str, str]]]:
        """`select` and `remove` as plain data, as stored with the document."""
        return {
            "select": [selector_data(selector) for selector in self.select],
            "remove": [selector_data(selector) for selector in self.remove],
        }


class PartDeclaration(BaseModel):
    """One page of a combined document: its own `select`/`remove` replace the document's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    select: SelectorList | None = None
    remove: SelectorList | None = None


class DocumentDeclaration(BaseModel):
    """One tracked document, as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(min_length=1)
    url: HttpUrl | None = None
    select: SelectorList = Field(default_factory=list)
    remove: SelectorList = Field(default_factory=list)
    combine: list[PartDeclaration] = Field(default_factory=list)
    render: Render = "http"
    format: Format | None = None
    tags: list[str] = Field(default_factory=list)
    interval: Interval | None = None  # None: as the settings say (see crawlers/pacing.py)
    language: str | None = "en"
    # A user's declaration of a key the bundled catalog has: theirs is tracked, not the bundled
    # one (a selector the site's redesign broke, fixed before a release does). Without it, a
    # duplicate key is an error: an import of Open Terms Archive's declarations must not
    # replace curated entries unasked.
    replaces_bundled: bool = False
    # The keys this document had, under which the store may hold its history: renamed to its
    # key by the next crawl (store/renames.py), and still answering (addresses, --document).
    formerly: OldKeys = Field(default_factory=list)

    @field_validator("combine", mode="before")
    @classmethod
    def _parts(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [{"url": part} if isinstance(part, str) else part for part in value]

    @model_validator(mode="after")
    def _somewhere(self) -> DocumentDeclaration:
        if self.url is None and not self.combine:
            raise ValueError("needs a `url`, or the pages to `combine`")
        if self.url is not None and self.combine:
            raise ValueError("give either a `url` or the pages to `combine`, not both")
        return self

    def pages(self) -> tuple[Page, ...]:
        """The pages to fetch, in order, each with the selectors that apply to it."""
        if self.url is not None:
            return (Page(self.url, tuple(self.select), tuple(self.remove)),)
        return tuple(
            Page(
                part.url,
                tuple(self.select if part.select is None else part.select),
                tuple(self.remove if part.remove is None else part.remove),
            )
            for part in self.combine
        )

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        """A code the language check can find in a page, in lower case as it reports them: any
        other (`english`, `zz`, even `EN`) loaded, then failed every crawl as a language switch.
        """
        if value is None:
            return None
        if value.lower() not in LANGUAGES:
            raise ValueError(
                f"{value!r} is not a language the language check can tell; use an ISO 639-1"
                f" code among {', '.join(sorted(LANGUAGES))} (e.g. language: de), or"
                " language: null for a page in another language (each version is then checked"
                " against the previous one's language)"
            )
        return value.lower()


class ServiceDeclaration(BaseModel):
    """The top level of a declaration file: one service and its documents."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    documents: list[Any] = Field(min_length=1)


@dataclass(frozen=True)
class TrackedDocument:
    """A validated catalog entry, flattened with its service: what the spider and store use.

    `pages` holds one page, or several when the declaration combines them: the document's text
    is their texts joined in order. `url` is the first page's, the one shown to people.
    """

    key: str
    service: str
    document_type: str
    pages: tuple[Page, ...]
    tags: tuple[str, ...]
    interval: str
    language: str | None
    source: str
    render: Render = "http"
    format: Format | None = None
    paced_by: str = "declaration"  # what set `interval`: see crawlers/pacing.py
    formerly: tuple[str, ...] = ()  # the keys it had (`formerly`)

    @property
    def url(self) -> str:
        return self.pages[0].url

    @property
    def select(self) -> tuple[Selector, ...]:
        return self.pages[0].select

    @property
    def remove(self) -> tuple[Selector, ...]:
        return self.pages[0].remove

    @property
    def combined(self) -> bool:
        return len(self.pages) > 1

    def declaration(self) -> dict[str, Any]:
        """The entry as plain data, kept with each document in the store."""
        entry: dict[str, Any] = {"url": self.url, **self.pages[0].selectors()}
        if self.combined:
            entry["combine"] = [{"url": page.url, **page.selectors()} for page in self.pages]
        if self.render != "http":
            entry["render"] = self.render
        if self.format is not None:
            entry["format"] = self.format
        entry.update(interval=self.interval, language=self.language, source=self.source)
        return entry


@dataclass(frozen=True)
class CatalogError:
    """One problem in a declaration file, located precisely enough to fix it."""

    file: str
    document: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.document:
            where += f" · document {self.document}"
        if self.field:
            where += f" · field {self.field}"
        return f"{where}: {self.message}"


@dataclass
class Catalog:
    """The documents that loaded, and the errors of those that did not; each document is paced
    as `pacing` (the user's settings) says."""

    errors: list[CatalogError] = field(default_factory=list)
    pacing: Pacing = field(default_factory=Pacing)
    with_bundled: bool = True  # whether the bundled catalog was loaded (first)
    # The keys whose bundled declaration a user's file replaces, and that bundled file.
    replaced: dict[str, str] = field(default_factory=dict)
    # By key: loading looks up every new key (duplicates), and a list scan made it quadratic.
    _by_key: dict[str, TrackedDocument] = field(default_factory=dict, init=False, repr=False)

    @property
    def documents(self) -> list[TrackedDocument]:
        """In the order they were declared."""
        return list(self._by_key.values())

    def add(self, document: TrackedDocument) -> None:
        self._by_key[document.key] = document

    def discard(self, key: str) -> None:
        self._by_key.pop(key, None)

    def formerly(self) -> dict[str, str]:
        """Each old key a declaration names (`formerly`), and the key it is now."""
        return {old: doc.key for doc in self._by_key.values() for old in doc.formerly}

    def former_names(self) -> dict[str, str]:
        """What the `intervals` setting may name by an old name, and the name now: the old
        keys (`formerly`, and the spellings before 0017), and their services' slugs (`twitter`
        of `formerly: twitter/terms` is `x`)."""
        names = self.formerly()
        for doc in self._by_key.values():
            names.setdefault(accented_key(doc.service, doc.document_type), doc.key)
        for old, new in list(names.items()):
            names.setdefault(old.partition("/")[0], new.partition("/")[0])
        return {old: new for old, new in names.items() if old != new}

    def get(self, key: str) -> TrackedDocument | None:
        return self._by_key.get(key.lower())

    def select(self, only: Sequence[str]) -> list[TrackedDocument]:
        """The documents named by key, service (name or slug) or tag, case-insensitive, in
        catalog order; all when none named. A name that is several names the first of them:
        a key, a service, a tag (the tag `meta` of WhatsApp is no reason for `meta`, the
        service Meta, to crawl WhatsApp too)."""
        if not only:
            return self.documents
        chosen: set[str] = set()
        for name in only:
            chosen.update(doc.key for doc in self._named(name.lower()))
        return [doc for doc in self._by_key.values() if doc.key in chosen]

    def _named(self, name: str) -> list[TrackedDocument]:
        """The documents `name` (lower case) names, by the precedence `select` says."""
        if (document := self._by_key.get(name)) is not None:
            return [document]
        documents = self._by_key.values()
        of_service = [
            doc for doc in documents if name in (doc.service.lower(), slugify(doc.service))
        ]
        return of_service or [doc for doc in documents if name in map(str.lower, doc.tags)]

    def names(self) -> set[str]:
        """What the `intervals` setting may name: keys, services (name and slug) and tags."""
        return {
            name
            for doc in self._by_key.values()
            for name in (doc.key, doc.service, slugify(doc.service), *doc.tags)
        }

    def unpaced(self) -> list[str]:
        """The names of the `intervals` setting that name no document, service or tag here."""
        return self.pacing.unmatched(self.names())

    def unknown(self, only: Sequence[str]) -> list[str]:
        """The names in `only` that match no document."""
        return [name for name in only if not self._named(name.lower())]


def _field_path(location: tuple[int | str, ...], written: Any) -> str:
    """Where a problem is, as the user wrote it (`written`: the YAML data validated). A field
    taking one entry or a list (`formerly`, `select`) is a list to pydantic, which names its
    one entry `formerly.0`: written as one value, it is named `formerly`."""
    parts: list[str] = []
    value = written
    for part in location:
        if isinstance(part, int) and isinstance(value, str | dict):
            continue  # the list _one_or_many made of the one value written
        parts.append(str(part))
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            value = None
    return ".".join(parts) or "(top level)"


def _problem_message(problem: ErrorDetails, model: type[BaseModel]) -> str:
    """Pydantic's message, without the "Value error, " it puts before our validators' own text;
    for an unknown field, where it belongs if it is a field of another level (`url:` written at
    the top of the file), else the field it most likely meant. `model` is the one validated."""
    error = problem.get("ctx", {}).get("error")
    if problem["type"] == "value_error" and error is not None:
        return str(error)
    if problem["type"] == "extra_forbidden" and problem["loc"]:
        name, here = str(problem["loc"][-1]), _model_at(model, problem["loc"])
        misplaced = _belongs(name, here)
        if misplaced:
            return f"{misplaced}; check the indentation"
        meant = difflib.get_close_matches(name, _FIELD_NAMES, n=1)
        if not meant:
            return "unknown field"
        elsewhere = _belongs(meant[0], here)
        return f"unknown field; did you mean {meant[0]}?" + (f" ({elsewhere})" if elsewhere else "")
    if problem["type"] == "list_type" and problem["loc"]:
        return _not_a_list(str(problem["loc"][-1]), problem["input"])
    return problem["msg"]


def _not_a_list(name: str, value: Any) -> str:
    """What to write where a list is expected: pydantic said "Input should be a valid list" of
    `documents:` whose one entry's `- ` was forgotten, and of `tags: messaging`."""
    if isinstance(value, dict):
        return "expected a list, not a mapping: start each of its entries with `- `"
    if value is None:
        return "expected a list, and none is given"
    return f"expected a list: {name}: [{value}]"


def _model_at(model: type[BaseModel], location: tuple[int | str, ...]) -> type[BaseModel]:
    """The model whose field `location` names: a range selector's (pydantic puts the tag `range`
    in the path), a combined page's, or `model`'s own."""
    if "range" in location[:-1]:
        return RangeSelector
    if model is DocumentDeclaration and location[0] == "combine" and len(location) == 3:
        return PartDeclaration
    return model


# Where each level's fields go, said of a field found at another level.
_HOMES: tuple[tuple[type[BaseModel], str], ...] = (
    (DocumentDeclaration, "belongs to a document, under `documents:`"),
    (ServiceDeclaration, "belongs at the top level of the file, not in a document"),
    (RangeSelector, "belongs to a range selector, in a `select:` or `remove:` list"),
)


def _belongs(name: str, here: type[BaseModel]) -> str | None:
    """Where the field `name` belongs, when it is not a field of `here`."""
    if name in here.model_fields:
        return None
    if here is PartDeclaration and name in DocumentDeclaration.model_fields:
        return f"`{name}` belongs to the document, not to one of its `combine:` pages"
    for model, home in _HOMES:
        if name in model.model_fields:
            return f"`{name}` {home}"
    return None


_FIELD_NAMES = sorted(
    {
        name
        for model in (ServiceDeclaration, DocumentDeclaration, PartDeclaration, RangeSelector)
        for name in model.model_fields
    }
)


def _declared(
    raw: Any, index: int, source: str, errors: list[CatalogError]
) -> DocumentDeclaration | None:
    """A document's entry validated, or None with its errors added to `errors`."""
    label = _label(raw, index)
    if not isinstance(raw, dict):
        errors.append(CatalogError(source, label, None, "expected a mapping"))
        return None
    try:
        return DocumentDeclaration.model_validate(raw)
    except ValidationError as error:
        for problem in error.errors():
            # The only whole-entry check is about where to fetch from: name the `url` field.
            where = _field_path(problem["loc"], raw) if problem["loc"] else "url"
            message = _problem_message(problem, DocumentDeclaration)
            errors.append(CatalogError(source, label, where, message))
        return None


def _label(raw: Any, index: int) -> str:
    """How errors name a document: its `type`, else its place in the file (`#2`)."""
    return str(raw.get("type") or f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"


def _load_document(
    raw: Any, service: ServiceDeclaration, index: int, source: str, catalog: Catalog
) -> None:
    label = _label(raw, index)
    entry = _declared(raw, index, source, catalog.errors)
    if entry is None:
        return
    if not slugify(service.service) or not slugify(entry.type):
        where = "type" if slugify(service.service) else "service"
        message = (
            "needs a letter a-z or a digit to make a key (service-slug/type-slug): write the"
            " name in Latin letters"
        )
        catalog.errors.append(CatalogError(source, label, where, message))
        return
    key = document_key(service.service, entry.type)
    existing = catalog.get(key)
    replacing = existing is not None and is_bundled(existing.source) and not is_bundled(source)
    if existing and not (replacing and entry.replaces_bundled):
        message = f"duplicate key {key} (first declared in {existing.source})"
        if replacing:
            message += "; add `replaces_bundled: true` to track yours instead of the bundled one"
        elif not is_bundled(source):
            message += (
                "; declare each document once, or give this one another `type:` to track both"
            )
        catalog.errors.append(CatalogError(source, label, "type", message))
        return
    if entry.replaces_bundled and catalog.with_bundled and not replacing:
        meant = difflib.get_close_matches(key, [doc.key for doc in catalog.documents], n=1)
        hint = f"did you mean {meant[0]}?" if meant else "catalog list lists them"
        message = f"the bundled catalog has no document {key} to replace ({hint})"
        catalog.errors.append(CatalogError(source, label, "replaces_bundled", message))
        return
    if existing:
        catalog.replaced[key] = existing.source
    tags = tuple(dict.fromkeys([*service.tags, *entry.tags]))
    names = (service.service, slugify(service.service))
    olds = [*entry.formerly, accented_key(service.service, entry.type)]
    paced = catalog.pacing.pace(key, names, tags, entry.interval, formerly=olds)
    catalog.add(
        TrackedDocument(
            key=key,
            service=service.service,
            document_type=entry.type,
            pages=entry.pages(),
            tags=tags,
            interval=paced.interval,
            language=entry.language,
            source=source,
            render=entry.render,
            format=entry.format,
            paced_by=paced.by,
            formerly=tuple(dict.fromkeys(entry.formerly)),
        )
    )


class _CatalogLoader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, refusing a key written twice in one mapping: PyYAML keeps the last one,
    so a second `url:` silently replaced the first.

    libyaml parses; mappings are built in Python anyway, and comparing sizes costs nothing: the
    keys are searched for the duplicate only when the mapping has fewer keys than were written,
    or merged some in (`<<: *defaults`, whose keys may be overridden).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines = stream.splitlines()

    def construct_yaml_null(self, node: yaml.Node) -> None:
        """An empty value refused where a `#` that starts a comment stands in its place:
        `select: #content` declared no selector (an error that said the value should be a list),
        and a combined page's took the document's, silently."""
        if node.value == "" and _commented_value(self.lines, node.start_mark.line):
            raise yaml.constructor.ConstructorError(None, None, "no value", node.start_mark)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        written = list(node.value) if isinstance(node, yaml.MappingNode) else []
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        if len(mapping) < len(written) or len(node.value) != len(written):
            self._refuse_duplicate([key for key, _ in written if key.tag != _MERGE])
        return mapping

    def _refuse_duplicate(self, keys: list[yaml.Node]) -> None:
        first: dict[Any, yaml.Node] = {}
        for node in keys:
            key = self.construct_object(node)
            if key in first:
                where = f"first at line {first[key].start_mark.line + 1}"
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} ({where})", node.start_mark
                )
            first[key] = node


_CatalogLoader.add_constructor("tag:yaml.org,2002:null", _CatalogLoader.construct_yaml_null)

# A `#` where a value or a list entry begins (`select: #content`, `- #content`, `[#content]`):
# YAML reads a comment there, not the CSS id selector meant.
_COMMENTED_VALUE = re.compile(r"(?:^\s*-\s+|:\s+|[\[,]\s*)(#[\w-]+)")
_QUOTED = re.compile(r""""[^"]*"|'[^']*'""")


def _commented_value(lines: list[str], number: int) -> str | None:
    """The `#…` read as a comment where a value begins on line `number` (from 0), if any; a
    `#` within quotes (`select: "main, #content"`) is the selector's own, and a line that is a
    comment (`# select: #old-id`) meant one."""
    line = _QUOTED.sub('""', lines[number]) if number < len(lines) else ""
    if line.lstrip().startswith("#"):
        return None
    found = _COMMENTED_VALUE.search(line)
    return found[1] if found else None


def _yaml_problem(error: yaml.YAMLError, text: str) -> str:
    """One line saying what is wrong and where, and what to do: PyYAML's own message spans
    several lines, and reads as a parser's (`did not find expected '-' indicator`)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is None:
        return f"invalid YAML: {problem}"
    message = f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    hint = _yaml_hint(problem, text.splitlines(), mark)
    return f"{message} ({hint})" if hint else message


# What libyaml says of a line indented unlike the lines it belongs with.
_MISALIGNED = (
    "mapping values are not allowed",
    "did not find expected '-' indicator",
    "did not find expected key",
)


def _yaml_hint(problem: str, lines: list[str], mark: Any) -> str | None:
    """What most likely went wrong. On a line indented with a tab, libyaml only says it "found
    character that cannot start any token". Where a value was read as a comment (`select:
    #content`), the error may be lines below it, or says only that no value is there: the hint
    names the line of the nearest such `#` above it. A line indented unlike its neighbours, or
    a value holding `: ` (`type: Terms: EU`, read as a mapping), is said as such."""
    line = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in line[: len(line) - len(line.lstrip())]:
        return "the line is indented with a tab: YAML indentation must use spaces"
    for number in range(min(mark.line, len(lines) - 1), -1, -1):
        if found := _commented_value(lines, number):
            return (
                f"line {number + 1}: an unquoted # starts a YAML comment; quote a selector that"
                f' starts with one, "{found}"'
            )
    if not problem.startswith(_MISALIGNED):
        return None
    before = line[: mark.column].strip().removeprefix("- ")
    if ": " in before:  # the error's colon is the line's second
        key, _, value = line.strip().removeprefix("- ").partition(": ")
        return f'a value that holds ": " is quoted: {key}: "{value}"'
    return (
        f"check the indentation of line {mark.line + 1}: the keys of one mapping start in one"
        " column (a document's under its `type:`), and so do the `- ` of a list's entries"
    )


def _load_file(path: Path, catalog: Catalog) -> None:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        catalog.errors.append(CatalogError(source, None, None, f"cannot read: {error}"))
        return
    try:
        data = yaml.load(text, Loader=_CatalogLoader)
    except yaml.YAMLError as error:
        catalog.errors.append(CatalogError(source, None, None, _yaml_problem(error, text)))
        return
    if not isinstance(data, dict):  # pydantic would say "a valid dictionary or instance of…"
        found = "empty" if data is None else f"a {type(data).__name__}"
        message = f"a declaration file is a mapping with service: and documents:, not {found}"
        catalog.errors.append(CatalogError(source, None, None, message))
        return
    try:
        service = ServiceDeclaration.model_validate(data)
    except ValidationError as error:
        for problem in error.errors():
            message = _problem_message(problem, ServiceDeclaration)
            where = _field_path(problem["loc"], data)
            catalog.errors.append(CatalogError(source, None, where, message))
        # Its documents are not tracked, but their errors are said now, not one fix later.
        documents = data.get("documents")
        for index, raw in enumerate(documents if isinstance(documents, list) else []):
            _declared(raw, index, source, catalog.errors)
        return
    for index, raw in enumerate(service.documents):
        _load_document(raw, service, index, source, catalog)


def is_bundled(source: str) -> bool:
    """Whether the declaration file `source` is one of the bundled catalog's."""
    return Path(source).resolve().is_relative_to(BUNDLED_CATALOG.resolve())


def declaration_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, or found (sorted) in the folders named, each once.

    A file reached twice (named in the config file and again with `--catalog`, or inside a folder
    also named) is read once: otherwise every one of its documents would clash with itself as a
    duplicate key.
    """
    files: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        found = sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]) if path.is_dir() else [path]
        for file in found:
            identity = file.resolve()
            if identity not in seen:
                seen.add(identity)
                files.append(file)
    return files


def load_catalog(
    paths: Iterable[Path] = (), *, bundled: bool = True, pacing: Pacing | None = None
) -> Catalog:
    """The bundled catalog (unless `bundled` is false) plus the user's files and folders, paced
    as `pacing` says (None: each document as declared, else daily)."""
    catalog = Catalog(pacing=pacing or Pacing(), with_bundled=bundled)
    roots = [BUNDLED_CATALOG, *paths] if bundled else list(paths)
    for path in declaration_files(roots):
        if not path.exists():
            catalog.errors.append(CatalogError(str(path), None, None, "no such file or folder"))
            continue
        _load_file(path, catalog)
    _check_formerly(catalog)
    return catalog


def _check_formerly(catalog: Catalog) -> None:
    """Skip, as broken, a document whose `formerly` names a key some document of the catalog
    has (its history would be taken from a document still tracked), or an old key another
    document claims too (whose history it is would be a guess). Checked once every file is
    loaded: the other document may be declared in a later file."""
    claims: dict[str, list[TrackedDocument]] = {}
    for document in catalog.documents:
        for old in document.formerly:
            claims.setdefault(old, []).append(document)
    broken: dict[str, tuple[TrackedDocument, str]] = {}
    for old, claimants in claims.items():
        for document in claimants:
            if old == document.key:
                message = f"{old} is this document's own key"
            elif holder := catalog.get(old):
                message = f"{old} is the key of a document declared in {holder.source}"
            elif len(claimants) > 1:
                others = ", ".join(other.key for other in claimants if other is not document)
                message = f"{old} is claimed by {others} too: one document had that key"
            else:
                continue
            broken.setdefault(document.key, (document, message))
    for key, (document, message) in broken.items():
        catalog.errors.append(
            CatalogError(document.source, document.document_type, "formerly", message)
        )
        catalog.discard(key)
