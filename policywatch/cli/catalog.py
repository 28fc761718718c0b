"""`policywatch catalog`: list, validate, show and import the tracked documents' declarations.

The catalog is the one thing users edit by hand, so these commands exist to answer three questions
quickly: what is tracked (`list`), is my YAML right (`validate`), and what exactly will be fetched
and kept for one document (`show`). `import-ota` starts a catalog from Open Terms Archive's
declarations instead of from scratch; `preview` (policywatch/cli/preview.py) shows what a crawl
would record of a declaration before one does. `--json` output is stable: scripts and tests read it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crawlers.declarations import (
    BUNDLED_CATALOG,
    Catalog,
    CatalogError,
    TrackedDocument,
    declaration_files,
    load_catalog,
)
from crawlers.ota import Conversion, Omission, OtaError, convert
from policywatch.cli.common import (
    EMPTY_CATALOG,
    EXIT_USAGE,
    CatalogOption,
    JsonOption,
    console,
    err_console,
    fail,
    named_catalog,
    own_catalog_hint,
    paced_catalog,
    print_json,
    settings,
    warn,
    warn_catalog_errors,
)
from policywatch.cli.preview import preview
from policywatch.cli.renames import renamed_declaration
from policywatch.wording import close_names, counted, near_miss, typos

app = typer.Typer(help="The catalog of tracked documents.", no_args_is_help=True)
app.command()(preview)

PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATH...",
        help="Declaration files or folders to check on their own; default: the bundled catalog "
        "plus your configured files.",
        show_default=False,
    ),
]
KeyArgument = Annotated[
    str, typer.Argument(metavar="KEY", help="Document key, e.g. whatsapp/business-solution-terms.")
]


def document_data(document: TrackedDocument) -> dict[str, Any]:
    """One document as the plain, stable mapping `--json` prints: every field, always present
    (`combine` lists a combined document's pages, empty otherwise). `url` is the first page's,
    as it always was; `urls` every page's, in order, added so that a script need not know
    `combine` to find the pages a document is made of."""
    declared = document.declaration()
    return {
        "key": document.key,
        "service": document.service,
        "document_type": document.document_type,
        "url": document.url,
        "urls": [page.url for page in document.pages],
        "tags": list(document.tags),
        "select": declared["select"],
        "remove": declared["remove"],
        "combine": declared.get("combine", []),
        "render": document.render,
        "format": document.format,
        "interval": document.interval,
        "interval_from": document.paced_by,
        "language": document.language,
        "source": document.source,
        "formerly": list(document.formerly),
    }


_WIDE = 120  # columns a terminal needs for the whole listing to read well
# Said below a listing that shows a combined document by its first page and a count.
_COMBINED_CAPTION = "The pages of a document combined: catalog show KEY, or --json."


def _more_pages(document: TrackedDocument) -> str:
    """`+ 2 more pages combined`, under a combined document's first URL: listed by that URL
    alone, it read as that one page. The count, not the URLs: a listing stays a line or two
    a document."""
    return f"+ {counted(len(document.pages) - 1, 'more page')} combined"


def _documents_table(documents: Sequence[TrackedDocument], width: int) -> Table:
    """Long keys and URLs fold rather than truncate: a listing is read to copy keys and URLs
    from. Narrower than _WIDE, each key is on a line of its own and its URL below it: five
    columns in 80 cut every cell into pieces of six letters, and two folded keys mid-word
    (`amazon-appstore/developer-ser` / `vices-agreement`), which `--only` takes as copied."""
    title = f"{counted(len(documents), 'document')} tracked"
    combined = any(document.combined for document in documents)
    if width < _WIDE:
        listing = Table.grid(padding=(0, 1))
        listing.title = title
        listing.caption = (
            "Service, type, tags and pace: catalog show KEY, --json, or a wider terminal."
        )
        if combined:
            listing.caption = f"{_COMBINED_CAPTION}\n{listing.caption}"
        listing.add_column(overflow="fold")
        for document in documents:
            listing.add_row(Text(document.key, style="bold"))
            listing.add_row(Text(f"  {document.url}"))
            if document.combined:
                listing.add_row(Text(f"  {_more_pages(document)}", style="dim"))
        return listing
    table = Table(title=title, box=box.SIMPLE_HEAD, expand=True)
    table.caption = _COMBINED_CAPTION if combined else None
    table.add_column("key", style="bold", overflow="fold", ratio=4)
    table.add_column("service", overflow="fold", ratio=2)
    table.add_column("type", overflow="fold", ratio=3)
    table.add_column("url", overflow="fold", ratio=6)
    table.add_column("tags", overflow="fold", ratio=2)
    table.add_column("every", no_wrap=True)  # the pace, as the settings may have set it
    for document in documents:
        table.add_row(
            escape(document.key),
            escape(document.service),
            escape(document.document_type),
            escape(document.url)
            + (f"\n[dim]{_more_pages(document)}[/]" if document.combined else ""),
            escape(", ".join(document.tags)),
            document.interval,
        )
    return table


@app.command("list")
def list_documents(catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
    """List every tracked document, sorted by key."""
    loaded = named_catalog(catalog)
    warn_catalog_errors(loaded)
    documents = sorted(loaded.documents, key=lambda document: document.key)
    if as_json:
        print_json([document_data(document) for document in documents])
    elif not documents:  # an empty table read as a catalog lost: say why, and what to do
        console.print(f"No document is tracked: {EMPTY_CATALOG}.", highlight=False)
    else:
        console.print(_documents_table(documents, console.width))


def _validation_target(paths: list[Path] | None) -> tuple[Catalog, list[Path], int]:
    """What `validate` checks, its files and how many of their documents loaded: the named paths,
    or everything the crawler would load, with the names the `intervals` setting gives.

    Named paths are loaded after the bundled catalog, as `crawl --catalog` loads them: a key the
    bundled catalog already has is skipped there, so it is an error here (the bundled documents
    are not counted). A folder named that holds no catalog file is an error too: "0 documents
    in 0 files are valid" passed a wrong path, or files named .json or .txt, as a valid catalog.
    """
    bundled = settings().bundled_catalog  # off: a crawl loads the user's files alone
    if not paths:
        configured = settings().catalog
        catalog = paced_catalog(configured, bundled=bundled)
        roots = [BUNDLED_CATALOG, *configured] if bundled else configured
        return catalog, declaration_files(roots), len(catalog.documents)
    catalog = load_catalog(paths, bundled=bundled)
    for path in paths:
        if path.is_dir() and not declaration_files([path]):
            message = "no catalog files (*.yaml, *.yml) in this folder"
            catalog.errors.append(CatalogError(str(path), None, None, message))
    files = declaration_files(paths)
    named = {file.resolve() for file in files}  # a bundled file named is read as the bundled one
    sources = {document.source for document in catalog.documents}
    mine = {source for source in sources if Path(source).resolve() in named}
    return catalog, files, sum(document.source in mine for document in catalog.documents)


@app.command()
def validate(paths: PathsArgument = None) -> None:
    """Check declaration files, loaded after the bundled catalog as a crawl loads them.

    Exit code 2 when an entry is invalid or clashes with another's key, or a folder has no file.
    """
    catalog, files, documents = _validation_target(paths)
    for problem in catalog.errors:
        console.print(f"[red]✗[/] {escape(str(problem))}", highlight=False)
    readable = [file for file in files if file.is_file()]
    valid = counted(documents, "document")
    verb = "is" if documents == 1 else "are"
    console.print(f"{valid} in {counted(len(readable), 'file')} {verb} valid")
    for key, bundled in catalog.replaced.items():
        console.print(
            f"{escape(key)}: yours replaces the bundled declaration ({escape(bundled)})",
            highlight=False,
        )
    if catalog.errors:
        console.print(f"[red]{counted(len(catalog.errors), 'error')}[/]")
        raise typer.Exit(EXIT_USAGE)


def _suggestions(key: str, catalog: Catalog) -> list[str]:
    """Keys the user probably meant, only near misses: every document of a service named (by
    name or slug, or a typo of either: `whatsap`) or of a tag; else keys a typo away, or of the
    same service with some of the words (`whatsapp/business-terms`); else the keys whose
    document part is the one given or a typo of it (`usage-polices`). Nothing for a word close
    to none ("nope"): five keys sharing a few letters with it only misled."""
    keys = sorted(document.key for document in catalog.documents)
    wanted = key.lower().rstrip("/")
    if of_service := [doc.key for doc in catalog.select([wanted])]:
        return sorted(of_service)
    typed, slash, _ = wanted.partition("/")
    if slash and (close := close_names(wanted, keys, n=5)):
        return sorted(close)
    services = {
        name.lower() for doc in catalog.documents for name in (doc.service, doc.key.split("/")[0])
    }
    if meant := close_names(typed, services):
        return sorted(doc.key for doc in catalog.select(meant))
    parts = {k: k.partition("/")[2] for k in keys if near_miss(wanted, k.partition("/")[2])}
    return sorted(parts, key=lambda k: (typos(wanted, parts[k]), k))[:8]


def _shown(item: Any) -> str:
    """A list item of the declaration: text as is, a range selector as its JSON."""
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)


def _declaration_table(document: TrackedDocument) -> Table:
    table = Table(show_header=False, box=None, title=escape(document.key))
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for field, value in document_data(document).items():
        if value is None:
            table.add_row(field, f"[dim]({_UNSET.get(field, 'none')})[/]")
            continue
        shown = "\n".join(map(_shown, value)) if isinstance(value, list) else str(value)
        cell = escape(shown) if shown else "[dim](none)[/]"
        if field == "url" and document.combined:  # not the document's one page: say so
            cell += f" [dim](first of {len(document.pages)} pages combined)[/]"
        table.add_row(field, cell)
    return table


_UNSET = {"format": "by the response's Content-Type"}  # what a field left out means


@app.command()
def show(key: KeyArgument, catalog: CatalogOption = None, as_json: JsonOption = False) -> None:
    """Show the full declaration of one document."""
    loaded = named_catalog(catalog)
    document = loaded.get(key) or renamed_declaration(loaded, key)
    if document is None:
        warn_catalog_errors(loaded)
        message = f"[red]error:[/] no document with key {escape(repr(key))}"
        close = _suggestions(key, loaded)
        if close:
            message += "; did you mean: " + ", ".join(escape(match) for match in close)
        else:
            message += ", nor a key or service close to it: policywatch catalog list lists them"
        message += own_catalog_hint(catalog)
        err_console.print(message, highlight=False)
        raise typer.Exit(EXIT_USAGE)
    if as_json:
        print_json(document_data(document))
    else:
        console.print(_declaration_table(document))


OtaFilesArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="FILE.json...",
        help="Open Terms Archive declaration files (Service.json).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        help="Folder to write one catalog file per service into (created if missing).",
        show_default=False,
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite existing catalog files.")]


def _ota_problem(path: Path, message: str) -> None:
    err_console.print(f"[red]✗[/] {escape(str(path))}: {escape(message)}", highlight=False)


def _read_ota(path: Path) -> Conversion | None:
    """The conversion of one file, or None after saying why there is none."""
    if path.name.endswith(".history.json"):
        _ota_problem(path, "a history file (past declarations of a service), not a declaration")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        _ota_problem(path, f"cannot read: {error}")
        return None
    except json.JSONDecodeError as error:
        _ota_problem(
            path, f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        )
        return None
    try:
        return convert(data, source=path.name)
    except OtaError as error:
        _ota_problem(path, f"not converted: {error}")
        return None


def _write_whole(target: Path, text: str) -> None:
    """Write through a temporary file renamed into place: a failure leaves no half-written file."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@app.command("import-ota")
def import_ota(files: OtaFilesArgument, output: OutputOption, force: ForceOption = False) -> None:
    """Convert Open Terms Archive declarations into catalog files, one per service.

    What has no catalog equivalent (JavaScript filters) is listed; exit 2: none could be converted.
    """
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"cannot use {output} as the output folder: {error}")
    written: dict[str, Path] = {}
    documents = 0
    omissions: list[Omission] = []
    bundled = (
        {document.key for document in load_catalog().documents}
        if settings().bundled_catalog
        else set()
    )
    for path in files:
        conversion = _read_ota(path)
        if conversion is None:
            continue
        target = output / conversion.file_name
        if conversion.file_name in written:
            _ota_problem(path, f"{target} was already written from {written[conversion.file_name]}")
            continue
        if target.exists() and not force:
            _ota_problem(path, f"{target} exists; use --force to overwrite it")
            continue
        try:
            _write_whole(target, conversion.yaml_text)
        except OSError as error:
            _ota_problem(path, f"cannot write {target}: {error}")
            continue
        written[conversion.file_name] = path
        documents += conversion.documents
        omissions.extend(conversion.omissions)
        console.print(
            f"wrote {escape(str(target))}: {escape(conversion.service)}, "
            f"{counted(conversion.documents, 'document')}",
            highlight=False,
            soft_wrap=True,
        )
        _warn_bundled(target, [key for key in conversion.keys if key in bundled])
    _import_summary(len(written), documents, omissions, len(files) - len(written), output)
    if not written:
        raise typer.Exit(EXIT_USAGE)


def _warn_bundled(target: Path, keys: list[str]) -> None:
    """Keys the bundled catalog has too load, but a crawl skips them as duplicates (the bundled
    entry is loaded first): written all the same, with what to do about them."""
    if not keys:
        return
    warn(
        f"{target}: {counted(len(keys), 'key')} the bundled catalog already has"
        f" ({', '.join(keys)}), which crawl skips: it keeps the bundled entries, so nothing is"
        " replaced. Drop these documents to use the bundled ones, give them another `type:` to"
        " track both, or add `replaces_bundled: true` to one to track it instead of the bundled"
        " one."
    )


def _import_summary(
    services: int, documents: int, omissions: list[Omission], failed: int, output: Path
) -> None:
    if omissions:
        console.print("[yellow]Not carried over:[/]")
        for omission in omissions:
            console.print(f"  {escape(str(omission))}", highlight=False, soft_wrap=True)
    summary = (
        f"{counted(services, 'service')} ({counted(documents, 'document')}) converted into "
        f"{escape(str(output))}; {counted(len(omissions), 'thing')} not carried over"
    )
    if failed:
        summary += f"; [red]{counted(failed, 'file')} not converted[/]"
    console.print(summary, highlight=False, soft_wrap=True)
