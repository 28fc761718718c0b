"""The catalog: YAML declarations of the documents policywatch tracks.

A declaration file names one service and its documents (see DESIGN.md). Loading validates every
entry and reports each problem with its file, document and field, so that one broken entry is
skipped with a clear message while the rest of the catalog still crawls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import soupsieve
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

BUNDLED_CATALOG = Path(str(resources.files("crawlers") / "catalog"))
_INTERVAL = re.compile(r"^(\d+)([mhd])$")


def slugify(text: str) -> str:
    """Lower-case words joined by dashes: the form keys take (`WhatsApp` -> `whatsapp`)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def interval_seconds(text: str) -> int:
    """`30m`, `6h`, `1d` in seconds."""
    match = _INTERVAL.match(text)
    if not match:
        raise ValueError(f"interval {text!r} is not a number followed by m, h or d (e.g. 6h)")
    number, unit = int(match[1]), match[2]
    return number * {"m": 60, "h": 3600, "d": 86400}[unit]


def _check_selectors(selectors: list[str]) -> list[str]:
    for selector in selectors:
        try:
            soupsieve.compile(selector)
        except Exception as error:  # soupsieve raises SelectorSyntaxError and others
            raise ValueError(f"invalid CSS selector {selector!r}: {error}") from None
    return selectors


Selectors = Annotated[list[str], Field(default_factory=list)]


class DocumentDeclaration(BaseModel):
    """One tracked page, as written in YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(min_length=1)
    url: str
    select: Selectors
    remove: Selectors
    tags: list[str] = Field(default_factory=list)
    interval: str = "24h"
    language: str | None = "en"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("select", "remove", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("select", "remove")
    @classmethod
    def _valid_css(cls, value: list[str]) -> list[str]:
        return _check_selectors(value)

    @field_validator("interval")
    @classmethod
    def _valid_interval(cls, value: str) -> str:
        interval_seconds(value)
        return value


class ServiceDeclaration(BaseModel):
    """The top level of a declaration file: one service and its documents."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    documents: list[Any] = Field(min_length=1)


@dataclass(frozen=True)
class TrackedDocument:
    """A validated catalog entry, flattened with its service: what the spider and store use."""

    key: str
    service: str
    document_type: str
    url: str
    select: tuple[str, ...]
    remove: tuple[str, ...]
    tags: tuple[str, ...]
    interval: str
    language: str | None
    source: str

    def declaration(self) -> dict[str, Any]:
        """The entry as plain data, kept with each document in the store."""
        return {
            "url": self.url,
            "select": list(self.select),
            "remove": list(self.remove),
            "interval": self.interval,
            "language": self.language,
            "source": self.source,
        }


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
    """The documents that loaded, and the errors of those that did not."""

    documents: list[TrackedDocument] = field(default_factory=list)
    errors: list[CatalogError] = field(default_factory=list)

    def get(self, key: str) -> TrackedDocument | None:
        return next((doc for doc in self.documents if doc.key == key.lower()), None)

    def select(self, only: Sequence[str]) -> list[TrackedDocument]:
        """The documents named by key or by service name, case-insensitive; all when none named."""
        if not only:
            return list(self.documents)
        wanted = {name.lower() for name in only}
        return [
            doc
            for doc in self.documents
            if doc.key in wanted or doc.service.lower() in wanted or slugify(doc.service) in wanted
        ]

    def unknown(self, only: Sequence[str]) -> list[str]:
        """The names in `only` that match no document."""
        return [name for name in only if not self.select([name])]


def _field_path(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location) or "(top level)"


def _load_document(
    raw: Any, service: ServiceDeclaration, index: int, source: str, catalog: Catalog
) -> None:
    label = str(raw.get("type") or f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
    if not isinstance(raw, dict):
        catalog.errors.append(CatalogError(source, label, None, "expected a mapping"))
        return
    try:
        entry = DocumentDeclaration.model_validate(raw)
    except ValidationError as error:
        for problem in error.errors():
            catalog.errors.append(
                CatalogError(source, label, _field_path(problem["loc"]), problem["msg"])
            )
        return
    key = f"{slugify(service.service)}/{slugify(entry.type)}"
    existing = catalog.get(key)
    if existing:
        message = f"duplicate key {key} (first declared in {existing.source})"
        catalog.errors.append(CatalogError(source, label, "type", message))
        return
    catalog.documents.append(
        TrackedDocument(
            key=key,
            service=service.service,
            document_type=entry.type,
            url=entry.url,
            select=tuple(entry.select),
            remove=tuple(entry.remove),
            tags=tuple(dict.fromkeys([*service.tags, *entry.tags])),
            interval=entry.interval,
            language=entry.language,
            source=source,
        )
    )


def _load_file(path: Path, catalog: Catalog) -> None:
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        catalog.errors.append(CatalogError(source, None, None, f"cannot read: {error}"))
        return
    except yaml.YAMLError as error:
        catalog.errors.append(CatalogError(source, None, None, f"invalid YAML: {error}"))
        return
    try:
        service = ServiceDeclaration.model_validate(data)
    except ValidationError as error:
        for problem in error.errors():
            catalog.errors.append(
                CatalogError(source, None, _field_path(problem["loc"]), problem["msg"])
            )
        return
    for index, raw in enumerate(service.documents):
        _load_document(raw, service, index, source, catalog)


def declaration_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, or found (sorted) in the folders named."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.rglob("*.yaml"), *path.rglob("*.yml")]))
        else:
            files.append(path)
    return files


def load_catalog(paths: Iterable[Path] = (), *, bundled: bool = True) -> Catalog:
    """The bundled catalog (unless `bundled` is false) plus the user's files and folders."""
    catalog = Catalog()
    roots = [BUNDLED_CATALOG, *paths] if bundled else list(paths)
    for path in declaration_files(roots):
        if not path.exists():
            catalog.errors.append(CatalogError(str(path), None, None, "no such file or folder"))
            continue
        _load_file(path, catalog)
    return catalog
