"""What every sub-command shares: the consoles, the common options, opening the store."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO, cast

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text
from sqlalchemy import Engine
from typer._click import Context as ClickContext  # Typer 0.28 ships its own Click (pinned <0.29)
from typer._click.core import Parameter, ParameterSource
from typer._click.exceptions import BadParameter, MissingParameter, NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from crawlers.declarations import Catalog, CatalogError, load_catalog
from crawlers.journal import ERROR, WARNING, JournalStream, prefixed, said_as, stderr_is_journal
from notifier.masking import redact_unparsed
from policywatch.cli.terminal import inert_json, safe_console
from policywatch.config import (
    BASE_URL_EXPECTED,
    ConfigError,
    Settings,
    UnknownSetting,
    is_base_url,
    load_settings,
    where_set,
)
from policywatch.wording import counted, crossed, did_you_mean, untracked
from store.db import MissingStore, StoreError, open_store, store_url
from store.queries import SEVERITIES, TrackedNames, tracked_names

if TYPE_CHECKING:
    from redis import Redis
    from scrapy.settings import Settings as ScrapySettings

console = safe_console()
err_console = safe_console(stderr=True, soft_wrap=True)  # error lines stay whole, for grep

# Exit codes shared by every command; documented in the README.
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NOTHING_FETCHED = 3  # fetches (or import-history's reads) were tried and none succeeded
EXIT_LOCKED = 4  # `run`: another run holds the store's lock

CatalogOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalog",
        help="Extra declaration file or folder (repeatable); added to the bundled catalog and to"
        " the files of the catalog setting.",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default: env POLICYWATCH_DB, the config file, or SQLite in the "
        "user data directory).",
        show_default=False,
    ),
]
RulesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        help="Extra rule file or folder (repeatable), on top of the shipped rules.",
        show_default=False,
    ),
]
RedisOption = Annotated[
    str | None,
    typer.Option(
        "--redis",
        help="Redis URL shared with `policywatch worker`s (default: env POLICYWATCH_REDIS or "
        "the config file; none: crawl in this process).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print stable JSON for scripts.")]
ServiceOption = Annotated[str | None, typer.Option(help="Only this service (any case).")]
DocumentOption = Annotated[str | None, typer.Option(help="Only this document key.")]


# Said where a key names nothing loaded and no catalog of yours was: it may be one of yours.
_OWN_CATALOG = (
    "(a document of your own catalog files needs --catalog PATH, or the file in the config's"
    " catalog setting)"
)


# Why a catalog holds no document, and what to do: the bundled one is off, and none of yours is
# given (or each of their entries is broken, as said above).
EMPTY_CATALOG = (
    "the bundled catalog is off (bundled_catalog = false) and no declaration of yours loaded;"
    " give yours with --catalog PATH, or catalog = [...] in the config file"
)


def on_journal() -> None:
    """Under systemd, stderr's lines carry their priority (crawlers/journal.py): ours as
    `said_as` gives it, a crash's traceback as an error. Elsewhere, nothing changes."""
    if not stderr_is_journal():
        return
    err_console.file = cast(TextIO, JournalStream(sys.stderr))  # a stream in all it is used for

    def crashed(
        kind: type[BaseException], error: BaseException, trace: TracebackType | None
    ) -> None:
        sys.stderr.write(prefixed("".join(traceback.format_exception(kind, error, trace)), ERROR))

    sys.excepthook = crashed


def fail(message: str, code: int = EXIT_USAGE, *, hint: str | None = None) -> NoReturn:
    """Print an error the user can act on and exit with `code`. The message is plain text: it
    quotes what the user gave and what failed, where [brackets] are no markup. It is one line,
    however the words it quotes are broken (libpq says a refused connection on two), so that
    cron's mail and a grep of a log keep it whole. A `hint` (plain text too) is a line of its
    own below it."""
    message = re.sub(r"[ \t]*[\r\n]+\s*", " ", message.strip())
    with said_as(ERROR):  # the hint too: it belongs to the error
        err_console.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
        if hint:
            err_console.print(Text(hint), highlight=False)
    raise typer.Exit(code)


# Click's words for an IntRange (`0<=x<=1000000000`, `x>=1`, `'abc' is not a valid int range`)
# and for a command meant, and ours.
_RANGES = (
    (re.compile(r"range (\S+)<=x<=(\S+?)$"), r"range \1 to \2"),
    (re.compile(r"in the range x>=(\S+?)$"), r"\1 or more"),  # not "in the range 0 or more"
    (re.compile(r"in the range x<=(\S+?)$"), r"\1 or less"),
    (re.compile(r"is not a valid (?:int range|integer)$"), "is not a whole number"),
    # Typer's own suggestion of a command, said as ours of an option: "(did you mean X?)".
    (re.compile(r"\. Did you mean '([^']+)'\?$"), r" (did you mean \1?)"),
)


def _plain(words: str) -> str:
    """Click's sentence as the other errors read: lower case, no full stop, ranges in words."""
    words = words.strip().removesuffix(".")
    for pattern, ours in _RANGES:
        words = pattern.sub(ours, words)
    if words[:1].isupper() and not words[1:2].isupper():
        words = words[0].lower() + words[1:]
    return words


def usage_message(error: UsageError) -> str:
    """What `fail` says of one of Click's usage errors: `--limit: -1 is not in the range 0 to
    1000000000`, `no such option: --bogus (did you mean --limit?)`, `missing argument 'KEY'`."""
    if isinstance(error, BadParameter) and not isinstance(error, MissingParameter):
        named = error.param_hint or (_as_shown(error.param) if error.param else None)
        if variable := _from_environment(error):  # not `--max-attempts: …`, never typed
            named = f"{variable} (for {' / '.join(error.param.opts if error.param else [])})"
        if named:
            names = [named] if isinstance(named, str) else list(named)
            return f"{' / '.join(names)}: {_plain(error.message)}"
        return _plain(error.message)
    possible = sorted(getattr(error, "possibilities", None) or [])
    meant = f" (did you mean {' or '.join(possible)}?)" if possible else ""
    return _plain(error.message if meant else error.format_message()) + meant


def _as_shown(param: Parameter) -> list[str]:
    """A parameter named as the user typed it or its help shows it: `--within`, `-n / --limit`,
    `DAYS`; an argument's own name (`days`) is in no help and no command line."""
    if param.param_type_name == "argument":
        return [param.human_readable_name.strip("[]").removesuffix("...")]
    return param.opts


def _from_environment(error: BadParameter) -> str | None:
    """The option's environment variable, when the bad value came from it, not the command."""
    param, ctx = error.param, error.ctx
    if param is None or ctx is None or not param.name or not isinstance(param.envvar, str):
        return None
    from_it = ctx.get_parameter_source(param.name) is ParameterSource.ENVIRONMENT
    return param.envvar if from_it else None


def _help_hint(ctx: ClickContext | None) -> str | None:
    """`Try 'policywatch history --help' for help.`, as Click says it under its usage line."""
    if ctx is None or ctx.command.get_help_option(ctx) is None:
        return None
    return f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help."


# A URL Click quotes back (an extra argument, a value of the wrong kind): an Apprise URL carries
# its tokens and passwords, so only its scheme is said.
_URL = re.compile(r"\b[A-Za-z][\w+.-]*://[^\s)'\"]*")


def _unsaid(url: re.Match[str]) -> str:
    return redact_unparsed(url[0])


@contextmanager
def _said_plainly() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:  # `policywatch catalog` alone: the help, as Typer prints it
        raise
    except UsageError as error:
        ctx = error.ctx or _parsing(error)
        fail(_URL.sub(_unsaid, usage_message(error)), EXIT_USAGE, hint=_help_hint(ctx))


def _parsing(error: UsageError) -> ClickContext | None:
    """The context of the command whose options Click's parser was reading as it raised
    `error`: it gives some errors none (`option '--only' requires an argument`), and the line
    saying where help is was left out of them. It is the `ctx` of the innermost call that has
    one, the command's `parse_args`."""
    found, frame = None, error.__traceback__
    while frame is not None:
        if isinstance(ctx := frame.tb_frame.f_locals.get("ctx"), ClickContext):
            found = ctx
        frame = frame.tb_next
    return found


class PlainUsageErrors(TyperGroup):
    """The root command, whose usage errors and every sub-command's (a value out of range, an
    unknown option or command, a missing argument) are said as `fail` says the others: one line
    `error: …`, the line telling where help is, exit 2; not Typer's box under a usage line.

    Click parses the root's options in `make_context` and resolves, parses and runs a
    sub-command within the root's `invoke`, so these two see every usage error."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: ClickContext | None = None,
        **extra: Any,
    ) -> ClickContext:
        with _said_plainly():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: ClickContext) -> Any:
        with _said_plainly():
            return super().invoke(ctx)


def severity_level(value: str | None) -> str | None:
    """`--min-severity` in any case (`HIGH` as readily as `high`), given on as the lower-case
    level the store compares and keeps."""
    if value is None:
        return None
    if value.lower() not in SEVERITIES:
        fail(f"--min-severity must be one of {', '.join(SEVERITIES)} (any case), not {value!r}")
    return value.lower()


MinSeverityOption = Annotated[
    str | None,
    typer.Option(
        help=f"Only changes at least this severe: {', '.join(SEVERITIES)} (any case).",
        callback=severity_level,
    ),
]


def checked_base_url(value: str | None) -> str | None:
    """`--base-url` checked as the config file's `base_url` is."""
    if value is not None and not is_base_url(value):
        fail(
            f"--base-url {value!r} is not {BASE_URL_EXPECTED}, such as https://policywatch.example.org/"
        )
    return value


def settings() -> Settings:
    """The settings in force; a broken config file is one clear line, not a traceback."""
    try:
        return load_settings()
    except UnknownSetting as error:
        names = list(Settings.model_fields)
        fail(
            f"cannot read the settings: {error}{did_you_mean(error.name, names)};"
            f" the settings are {', '.join(names)}"
        )
    except ConfigError as error:
        fail(f"cannot read the settings: {error}")


def catalog_paths(extra: list[Path] | None) -> list[Path]:
    """The user's declaration paths: the `catalog` setting (`POLICYWATCH_CATALOG`, else the
    config file's), then `--catalog`, which adds to them rather than replacing them."""
    return [*settings().catalog, *(extra or [])]


def own_catalog_hint(extra: list[Path] | None) -> str:
    """Where a key names nothing loaded, the hint that it may be one of the user's own files,
    when none of theirs was loaded: with one set in the config file, the hint sent them to make
    the setting they had made."""
    return "" if catalog_paths(extra) else f" {_OWN_CATALOG}"


def user_catalog(extra: list[Path] | None) -> Catalog:
    """The bundled catalog (unless `bundled_catalog` is off) plus the user's, paced as the
    settings say."""
    return paced_catalog(catalog_paths(extra), bundled=settings().bundled_catalog)


def paced_catalog(paths: list[Path], *, bundled: bool) -> Catalog:
    """The catalog of `paths`, each document paced as the settings say; a name in `intervals`
    that names nothing is among its errors, with the name it likely meant."""
    catalog = load_catalog(paths, bundled=bundled, pacing=settings().pacing)
    renamed = catalog.former_names()
    for name in catalog.unpaced():
        if now := renamed.get(name.lower()):
            message = f"is an old name of {now} (renamed), and paces it: rename it {now}"
        else:
            message = "names no document key, service or tag of the catalog"
            message += did_you_mean(name, sorted(catalog.names())) + "; it paces nothing"
        catalog.errors.append(
            CatalogError(where_set("intervals"), None, f"intervals.{name}", message)
        )
    return catalog


def named_catalog(extra: list[Path] | None) -> Catalog:
    """`user_catalog`, once every path named exists: a mistyped `--catalog` is an error, not
    a warning above a listing of the bundled catalog that reads as if it held the user's."""
    configured = [str(path) for path in settings().catalog if not path.exists()]
    given = [str(path) for path in extra or [] if not path.exists()]
    said = [f"catalog {', '.join(given)}: no such file or folder"] if given else []
    if configured:  # a path never typed: say where it is set
        said.append(
            f"catalog {', '.join(configured)}: no such file or folder (in {where_set('catalog')})"
        )
    if said:
        fail("; ".join(said))
    return user_catalog(extra)


def _unpaced(error: CatalogError) -> bool:
    """An error of a name of the `intervals` setting that paces nothing: it skips nothing."""
    return (error.field or "").startswith("intervals.")


def skipped_entries(catalog: Catalog) -> list[CatalogError]:
    """The catalog's errors that skipped an entry: not those of `intervals` names."""
    return [error for error in catalog.errors if not _unpaced(error)]


def warn_catalog_errors(catalog: Catalog) -> None:
    """Broken entries are skipped, not fatal: say which and why, on stderr. A name of the
    `intervals` setting that paces nothing skips nothing: it is warned about as such."""
    with said_as(WARNING):
        for error in catalog.errors:
            said = "warning:" if _unpaced(error) else "skipped:"
            err_console.print(f"[yellow]{said}[/] {escape(str(error))}", highlight=False)


def db_url(option: str | None) -> str:
    """The URL of the store named by `--db` (or the configured default), or a clear error. One
    set in the config file or POLICYWATCH_DB is said to be from there: "the URL given" of a
    command that was given none sent its user looking for it."""
    try:
        return store_url(option or settings().db)
    except StoreError as error:
        fail(str(error) if option else f"{error} (in {where_set('db')})")


def engine(option: str | None, *, existing: bool = False, writes: bool = True) -> Engine:
    """The store named by `--db` (or the configured default), migrated, or a clear error.

    A command that only reads asks for an `existing` store: a missing SQLite file is an error
    there, and is not created. One that `writes` is refused a SQLite store it cannot write, at
    once; one that reads may read a store on read-only media. What the store has to say is said
    on stderr, once, even with -q (stdout stays data for --json): an upgrade of its schema (from
    then on, earlier releases, workers not yet upgraded, refuse the store), or subscriptions
    other users can read.
    """
    try:
        return open_store(db_url(option), create=not existing, writes=writes, notice=note)
    except MissingStore as error:
        fail(
            f"{error}{_named_where(option)}: nothing has been crawled or imported there yet (run"
            " policywatch crawl, or name another store with --db, POLICYWATCH_DB or the config"
            " file's db)"
        )
    except StoreError as error:
        fail(str(error))


def _named_where(option: str | None, name: str = "db") -> str:
    """` (in FILE)` or ` (in POLICYWATCH_DB)`, of a store (or a Redis: `name`) that no option
    named: a path mistyped in the config file, long forgotten, read as a store that was never
    made; a Redis down that the command line never named."""
    return "" if option or name not in settings().model_fields_set else f" (in {where_set(name)})"


def note(message: str) -> None:
    """Something the user should know, on stderr: stdout stays data, for --json."""
    err_console.print(Text.assemble(("note:", "yellow"), " ", message), highlight=False)


def warn(message: str) -> None:
    """Something that is likely wrong but stops nothing, on stderr; `message` is plain text."""
    with said_as(WARNING):
        err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)


def deliveries(count: int) -> str:
    """`1 delivery`, `2 deliveries`: how `notify` and `subscriptions` count the outbox's rows."""
    return counted(count, "delivery", "deliveries")


def tracked_if_stored(option: str | None) -> TrackedNames | None:
    """What the store named by `--db` tracks, or None when there is no store there yet: for an
    error to say more, never to create a store."""
    try:
        return tracked_names(open_store(db_url(option), create=False, writes=False, notice=note))
    except StoreError:
        return None


def connected(url: str, option: str | None, *, hint: str | None = None) -> Redis:
    """A client of the Redis at `url`, or a clear error (password masked) before any work,
    saying where `url` was set when no `--redis` (`option`) gave it, and the `hint` below."""
    try:
        from crawlers.queue.connection import QueueError, connect
    except ImportError:
        fail(
            "spreading crawls over workers needs the workers extra: pip install"
            " 'policywatch[workers]' (in a checkout: pip install -e '.[workers]')"
        )
    try:
        return connect(url)
    except QueueError as error:
        fail(f"{error}{_named_where(option, 'redis')}", hint=hint)


def fetch_settings(
    db: str | None, config: Settings, rules: list[Path], overrides: dict[str, Any]
) -> ScrapySettings:
    """The Scrapy settings of whatever fetches pages here (a crawl or a worker): the polite
    defaults, the user's configured ones, then the command's `--rules` and `--set`."""
    from crawlers.runner import crawl_settings  # Scrapy: only a command that fetches loads it

    return crawl_settings(
        db_url(db),
        contact_url=config.contact_url,
        max_bytes=config.max_bytes,
        timeout=config.timeout,
        rules=rules,
        overrides=overrides,
    )


_BOOLEANS = (0, 1, "0", "1", "True", "False", "true", "false")  # what Scrapy's getbool takes


def _mistyped(value: Any, default: Any) -> str | None:
    """What a setting whose default is `default` takes, when `value` is not that."""
    if isinstance(default, bool):
        ok = isinstance(value, bool) or value in _BOOLEANS
        return None if ok else "true or false"
    if isinstance(default, int | float):
        try:
            float(value)
        except (TypeError, ValueError):
            return "a number"
    return None


def check_overrides(overrides: dict[str, Any]) -> None:
    """A name close to a known setting but not one (DOWNLOD_DELAY) would be set for nothing.
    Only close names are warned about: add-ons (scrapy-playwright, scrapy-redis) have settings
    of their own that neither list holds. A known setting given a value of the wrong kind
    (DOWNLOAD_DELAY=abc) is refused here, in one line: Scrapy fails on it with a traceback once
    the crawl starts. Called by `crawl` and `worker` where they load Scrapy anyway: a crawl with
    nothing due loads none."""
    from scrapy.settings import default_settings

    from crawlers import settings as project

    known = {name for module in (default_settings, project) for name in dir(module)}
    known = {name for name in known if name.isupper()}
    for name, value in overrides.items():
        default = getattr(project, name, getattr(default_settings, name, None))
        if name in known and (expected := _mistyped(value, default)):
            fail(f"--set {name}={value!r}: {name} takes {expected}")
        if name not in known and (meant := did_you_mean(name, known)):
            warn(f"--set {name} is no setting{meant}; it is passed on as given")


def print_json(data: Any) -> None:
    """JSON on stdout, unstyled, so that scripts can parse it."""
    typer.echo(inert_json(json.dumps(data, indent=2, ensure_ascii=False)))


def progress_bar(*, disable: bool = False) -> Progress:
    """The progress bar of long commands: on stderr, gone when done, so stdout stays data. Only
    in a terminal: elsewhere (cron, a journal, a pipe) nothing shows it, and rich left an empty
    line on stderr at its end, which cron mailed after every crawl."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=disable or not err_console.is_terminal,
        transient=True,
    )


def checked_rules(paths: list[Path] | None) -> list[Path]:
    """The user's rule files, validated now so that a typo fails before any fetch."""
    from diffengine import RuleError, load_rules  # the diff engine: only commands that judge

    if missing := [str(path) for path in paths or [] if not path.exists()]:  # as --catalog says
        fail(f"--rules {', '.join(missing)}: no such file or folder")
    try:
        load_rules(paths or [])
    except (RuleError, OSError) as error:
        fail(str(error))
    return paths or []


def check_tracked(store: Engine, service: str | None, document: str | None) -> None:
    """A filter that names nothing tracked, or a document of another service than the one
    named, is a mistake to point out, not an empty history."""
    tracked = tracked_names(store)
    if said := untracked(tracked, service, document) or crossed(tracked, service, document):
        fail(str(said) if said.meant else f"{said}: policywatch documents lists what is tracked")
