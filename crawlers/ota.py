"""Open Terms Archive declarations, converted into policywatch catalog files.

Open Terms Archive (OTA) maintains thousands of reviewed declarations: where each service's terms
live and which part of the page is the text. Reusing them beats writing selectors by hand, so
this module turns one OTA declaration (the parsed JSON) into the YAML of one catalog file, and
says what it could not carry over. It is pure: reading and writing files is the CLI's job.

The mapping: each document of `terms` (or the older `documents`) keeps its name as `type`;
`fetch` becomes `url`; `select`/`remove` are copied, range selectors with their keys in our snake
case; `combine` becomes `combine`; `executeClientScripts: true` (on the document or on any part)
becomes `render: browser`; a `.pdf` URL (every part's, when combined) becomes `format: pdf`. OTA's
`filter`s are JavaScript functions kept beside the declaration: they cannot be carried over, so
each is reported and the document is written without it. A document that would not load (say, a
selector our CSS engine rejects) is left out and reported, so the file written always loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from crawlers.declarations import DocumentDeclaration, document_key, slugify

# Where OTA keeps a service's documents: `terms` today, `documents` in declarations before 2023.
DOCUMENT_KEYS = ("terms", "documents")
# Top-level keys that carry nothing to crawl: provenance, left out without a word.
_METADATA = frozenset({"name", "importedFrom", *DOCUMENT_KEYS})
_RANGE_KEYS = {
    "startBefore": "start_before",
    "startAfter": "start_after",
    "endBefore": "end_before",
    "endAfter": "end_after",
}
# What a page of OTA declares; a document may also `combine` several pages.
_PAGE_FIELDS = frozenset({"fetch", "select", "remove", "filter", "executeClientScripts"})


class OtaError(ValueError):
    """The data is not an OTA declaration policywatch can use (no name, no documents…)."""


@dataclass(frozen=True)
class Omission:
    """Something of the declaration that the catalog file does not have, and why."""

    service: str
    document: str | None
    what: str

    def __str__(self) -> str:
        where = self.service if self.document is None else f"{self.service} · {self.document}"
        return f"{where}: {self.what}"


@dataclass(frozen=True)
class Conversion:
    """One service's catalog file: its name, its YAML text, and what was left behind."""

    service: str
    file_name: str
    yaml_text: str
    documents: int
    omissions: tuple[Omission, ...]
    keys: tuple[str, ...]  # of the documents written, as the catalog will key them


def convert(data: Any, *, source: str = "") -> Conversion:
    """The catalog file for one OTA declaration (parsed JSON); `source` is named in its header.

    Raises `OtaError` when nothing can be converted: not a declaration, or no document that loads.
    """
    if not isinstance(data, dict):
        raise OtaError("expected a JSON object with `name` and `terms`")
    service = data.get("name")
    if not isinstance(service, str) or not slugify(service):
        raise OtaError("needs a `name` with at least one letter or digit (the service's name)")
    key, declared = _documents(data)
    omissions = [
        Omission(service, None, f"unknown field `{field}`")
        for field in data
        if field not in _METADATA
    ]
    documents: list[dict[str, Any]] = []
    types: set[str] = set()
    for name, declaration in declared.items():
        entry = _document(service, name, declaration, omissions)
        if entry is None:
            continue
        if slugify(name) in types:
            what = "left out: its name makes the same key as an earlier document's"
            omissions.append(Omission(service, name, what))
            continue
        types.add(slugify(name))
        documents.append(entry)
    if not documents:
        reason = "declares no documents" if not declared else "no document could be converted"
        raise OtaError(f"{reason} in `{key}`: nothing to track")
    return Conversion(
        service=service,
        file_name=f"{slugify(service)}.yaml",
        yaml_text=_header(service, source, data.get("importedFrom"))
        + _dump({"service": service, "documents": documents}),
        documents=len(documents),
        omissions=tuple(omissions),
        keys=tuple(document_key(service, entry["type"]) for entry in documents),
    )


def _documents(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The declared documents, under whichever key this declaration's format version uses."""
    for key in DOCUMENT_KEYS:
        if key in data:
            declared = data[key]
            if not isinstance(declared, dict):
                raise OtaError(f"`{key}` should map each document's name to its declaration")
            return key, declared
    raise OtaError("has neither `terms` nor `documents`: not an OTA service declaration")


def _document(
    service: str, name: str, declaration: Any, omissions: list[Omission]
) -> dict[str, Any] | None:
    """One catalog entry, or None (with the reason among `omissions`) when it cannot load."""
    if not isinstance(declaration, dict):
        omissions.append(Omission(service, name, "left out: its declaration is not an object"))
        return None
    entry: dict[str, Any] = {"type": name}
    parts = declaration.get("combine")
    if isinstance(parts, list):
        entry.update(_page(declaration, url_key=None))
        entry["combine"] = [_part(part) for part in parts]
        urls = [part.get("fetch") if isinstance(part, dict) else part for part in parts]
    else:
        entry.update(_page(declaration, url_key="url"))
        urls = [declaration.get("fetch")]
    if any(_client_scripts(page) for page in [declaration, *_mappings(parts)]):
        entry["render"] = "browser"
    if urls and all(isinstance(url, str) and _is_pdf(url) for url in urls):
        entry["format"] = "pdf"
    omissions.extend(Omission(service, name, what) for what in _left_out(declaration))
    try:
        DocumentDeclaration.model_validate(entry)
    except ValidationError as error:
        omissions.append(Omission(service, name, f"left out: {_reason(error)}"))
        return None
    return entry


def _page(declaration: dict[str, Any], url_key: str | None) -> dict[str, Any]:
    """`fetch`, `select` and `remove` under our names; absent ones stay absent."""
    page: dict[str, Any] = {}
    if url_key is not None and "fetch" in declaration:
        page[url_key] = declaration["fetch"]
    for field in ("select", "remove"):
        if field in declaration:
            page[field] = _Flow(ota_selector(item) for item in _listed(declaration[field]))
    return page


def _part(part: Any) -> Any:
    """One page of a combined document: a bare URL when it has no selectors of its own."""
    if not isinstance(part, dict):
        return part  # left for validation to report
    entry = _page(part, url_key="url")
    return entry["url"] if set(entry) == {"url"} else entry


def ota_selector(selector: Any) -> Any:
    """A CSS selector as is; a range selector with our key names (unknown keys kept, so that
    validation names them)."""
    if not isinstance(selector, dict):
        return selector
    return {_RANGE_KEYS.get(key, key): value for key, value in selector.items()}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _mappings(parts: Any) -> list[dict[str, Any]]:
    return [part for part in parts if isinstance(part, dict)] if isinstance(parts, list) else []


def _client_scripts(page: dict[str, Any]) -> bool:
    return page.get("executeClientScripts") is True


def _is_pdf(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".pdf")


def _left_out(declaration: dict[str, Any]) -> Iterable[str]:
    """What of a document (and of its combined parts) has no catalog equivalent."""
    for page in [declaration, *_mappings(declaration.get("combine"))]:
        where = "" if page is declaration else f" of part {page.get('fetch')}"
        filters = page.get("filter")
        if filters:
            # A filter is a function's name, or an object naming it with its arguments.
            names = ", ".join(
                name if isinstance(name, str) else json.dumps(name) for name in _listed(filters)
            )
            yield f"JavaScript filters{where}: {names}"
        known = _PAGE_FIELDS | {"combine"} if page is declaration else _PAGE_FIELDS
        for field in page:
            if field not in known:
                yield f"unknown field `{field}`{where}"


def _reason(error: ValidationError) -> str:
    """Pydantic's problems on one line, each with its field."""
    problems = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"]) or "url"
        cause = problem.get("ctx", {}).get("error")
        problems.append(f"{where}: {cause if cause is not None else problem['msg']}")
    return "; ".join(problems)


def _header(service: str, source: str, imported_from: Any) -> str:
    lines = [f"# {service}: converted from an Open Terms Archive declaration"]
    if source:
        lines[0] += f" ({source})"
    if isinstance(imported_from, str):
        lines.append(f"# which OTA imported from {imported_from}")
    return "".join(f"{line}\n" for line in lines)


class _Flow(list[Any]):
    """A list written on one line, as the catalog writes selectors."""


class _Dumper(yaml.SafeDumper):
    """Block style with indented lists, as the bundled catalog is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _flow(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_Dumper.add_representer(_Flow, _flow)


def _dump(data: dict[str, Any]) -> str:
    # A wide line: a selector list wrapped over several lines is valid but hard to read.
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, indent=2
    )
