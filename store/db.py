"""The engine, and migrations that are safe when several processes open a new store at once.

`open_store(url)` is the one way in: it makes the engine (SQLite tuned for several processes:
WAL, a 30 s busy timeout) and brings the schema to the latest migration. Two crawls started at
once on a fresh database must not both create tables, so upgrades run under a lock: SQLite's own
write lock, taken at the migration's BEGIN, an advisory lock on PostgreSQL.
"""

from __future__ import annotations

import atexit
import importlib
import os
import re
import shlex
import sqlite3
import stat
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest migration's revision. Every command opens the store; comparing the schema's revision
# with this, instead of asking Alembic for its head, spares each of them ~0.1 s of loading Alembic
# and reading the migration scripts. tests/test_store.py holds it to Alembic's own head.
HEAD = "0018"
BUSY_TIMEOUT = 30  # seconds a SQLite statement waits for another process's write lock
# Seconds a process waits for another one's migration of the same store, which can be long.
MIGRATION_WAIT = 120
_PG_MIGRATION_LOCK = 0x706F6C6963  # an arbitrary constant naming policywatch's advisory lock
# Connection parameters that hold a secret (libpq's `password`, `sslpassword`; a token).
SECRET_PARAMETER = re.compile(r"pass|secret|token|key", re.IGNORECASE)
WRITER_OPTION = "policywatch_writer"
# Values per IN list: a statement binds at most 999 parameters on SQLite before 3.32, 65,535 on
# PostgreSQL, and the lists some queries are given grow with the catalog or the history.
IN_LIST_SIZE = 500
T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be opened or migrated; the message says which and why."""


class MissingStore(StoreError):
    """A SQLite store asked for as existing is not there."""


def in_batches(items: Sequence[T], size: int = IN_LIST_SIZE) -> Iterator[Sequence[T]]:
    """`items` in slices that one statement's IN list can bind (`IN_LIST_SIZE`)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# For bulk updates in a session closed after them: its loaded objects are left as read. By
# default each bulk update also evaluated its WHERE against every object the session holds: the
# outbox's, marking changes queued, against every change read as unqueued, once per batch of
# 500 (their square: 42 s for 20,000 changes after an import).
UNSYNCHRONIZED = {"synchronize_session": False}


def alembic_config() -> Config:
    """Alembic's configuration for the store's migrations; loads Alembic."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _current(connection: Connection) -> str | None:
    """The schema's revision, where Alembic keeps it; None for a new database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event, not the driver, open transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    _write_ahead(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's lower() folds ASCII letters only: "Wïdget Ünion" never met a filter lowered in
    # Python ("wïdget ünion"). Python's, as PostgreSQL's, folds every letter.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _write_ahead(cursor: sqlite3.Cursor) -> None:
    """Put the store in WAL mode, waiting up to BUSY_TIMEOUT for another process doing the same.

    On a new store (in rollback mode until then), a process switching it while another one
    holds its write lock, the first of several policywatch commands started at once, is
    answered "database is locked" at once: SQLite does not wait its busy timeout there, as
    waiting could deadlock. One of four first runs of one store failed so, now and then."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_begin(connection: Connection) -> None:
    # A writer that reads before it writes must hold the write lock from the start: otherwise two
    # processes read the same latest version, and the second one's write fails instead of waiting.
    immediate = connection.get_execution_options().get(WRITER_OPTION)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_DIALECTS = ("sqlite", "postgresql")  # what the store runs on: both know INSERT … ON CONFLICT


def dialect_insert(dialect: str) -> Callable[..., Any]:
    """The INSERT construct of `dialect` (`connection.dialect.name`), which has ON CONFLICT."""
    if dialect not in _DIALECTS:
        raise StoreError(f"the store runs on SQLite or PostgreSQL, not {dialect}")
    return _dialect_module(dialect).insert


@cache
def _dialect_module(dialect: str) -> Any:
    """Loaded when first used: the PostgreSQL dialect costs a SQLite store ~20 ms of start-up."""
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}")


def writer(engine: Engine) -> Engine:
    """The engine for read-then-write transactions: on SQLite they take the write lock at BEGIN."""
    return engine.execution_options(**{WRITER_OPTION: True})


def store_url(text: str) -> str:
    """`text` as the URL of a store the engine can open, or a StoreError saying how to write it.

    `postgresql://` and `postgres://` (as hosting services hand them out) name psycopg 3, the
    driver policywatch installs; SQLAlchemy would look for psycopg2 or refuse the scheme.
    A SQLite path that starts with `~` is in the home folder, as in a shell: no shell reads the
    config file (or the `~` inside `--db sqlite:///~/…`), and SQLite made a folder named `~`
    in whatever folder the command ran in. One named by no file (`sqlite://`, or `sqlite:///$DIR`
    with `DIR` unset) is refused: SQLite kept it in memory, and a crawl's or a subscription's
    success was lost as the command ended.
    A SQLite file named by a relative path (`sqlite:///store.sqlite3`) is made absolute: the URL
    is how crawls and workers tell their stores apart (and claim documents), and the same text
    run from two folders named two stores, taken for one (a crawl reported the fetches of a
    worker recording elsewhere), while one file named both ways was taken for two.
    """
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        if "://" not in text:  # a path, or `sqlite:` before one with a slash or two too few
            meant = Path(text.removeprefix("sqlite:")).expanduser().resolve()
            raise StoreError(
                f"{text!r} is not a database URL; for a SQLite file write sqlite:///{meant}"
            ) from None
        # Not quoted: a URL, even a broken one, may hold a password.
        raise StoreError(
            "the URL given is not a database URL (sqlite:///PATH or postgresql://USER@HOST/DATABASE)"
        ) from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in _DIALECTS:
        raise StoreError(f"the store runs on SQLite or PostgreSQL, not {parsed.get_backend_name()}")
    if parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        shown = text if parsed.password is None else parsed.render_as_string()  # `***` for it
        raise StoreError(
            f"{shown} names no file: SQLite would keep the store in memory, lost as the command"
            " ends; write sqlite:///PATH"
        )
    if (path := sqlite_path(parsed)) is not None and not parsed.query.get("uri"):  # `file:` URIs
        parsed = parsed.set(database=str(path.expanduser().absolute()))
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite store, None for another store or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _create_private(path: Path) -> None:
    """A new SQLite file, and the folder made for it, readable by their owner only: the store
    holds the subscriptions' Apprise URLs, with their tokens and passwords. SQLite gives its
    `-wal` and `-shm` files the store's mode. What exists already is left as it is."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


# The SQLite engines still alive, closed when the process ends (`_close_sqlite_stores`).
_SQLITE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


@atexit.register
def _close_sqlite_stores() -> None:
    """Close the connections SQLite engines still hold. The last connection to close moves what
    the `-wal` file holds into the store's own file and deletes it; a crawl's engines live in
    reference cycles (and the crawl freezes the collector), which Python does not free at its
    exit, so a crawl left its whole history in `-wal` beside a 4 KB store, and a copy of the
    store's file, the way most people back one up, held none of it."""
    for engine in list(_SQLITE_ENGINES):
        with suppress(Exception):  # a store gone by now (a folder deleted) has nothing to keep
            engine.dispose()


def make_engine(url: str) -> Engine:
    """An engine for `url` (as `store_url` gives it); a new SQLite file is made private.

    A statement's values are kept out of its errors (`hide_parameters`): SQLAlchemy quotes them
    in every message, and a traceback of a failed write showed a subscription's Apprise URL,
    token and password included."""
    if (path := sqlite_path(url)) is not None:
        _create_private(path)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        _SQLITE_ENGINES.add(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _migration_busy(error: Exception) -> StoreError:
    """What a process says that gave up waiting for another one's migration of the store."""
    return StoreError(
        f"another process has been migrating it for over {MIGRATION_WAIT} s (or holds its"
        f" migration lock, stopped midway): try again once it is done, or stop it"
        f" ({driver_words(error)})"
    )


@contextmanager
def _migration_lock(engine: Engine, waiting: Callable[[str], None] | None) -> Iterator[None]:
    """On PostgreSQL, an advisory lock; SQLite's migration takes the write lock (`_migrating`).

    The advisory lock is waited for MIGRATION_WAIT at most, as SQLite's write lock is
    (`lock_timeout` bounds it): held by a migration stuck, a process stopped at a breakpoint
    or a psql session left open, it was waited for without end, and nothing said why. Held by
    another, the wait is told to `waiting` first: a worker said nothing for up to 2 minutes."""
    if engine.url.get_backend_name() == "postgresql":
        with engine.connect() as connection:
            lock = {"k": _PG_MIGRATION_LOCK}
            if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), lock).scalar():
                if waiting:
                    waiting(
                        f"waiting for another process migrating the store"
                        f" {public_url(engine.url)} (at most {MIGRATION_WAIT} s)"
                    )
                _wait_for_migration_lock(connection)
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), lock)
                connection.commit()
    else:
        yield


def _wait_for_migration_lock(connection: Connection) -> None:
    """Take the advisory lock another process holds, once it lets go, for MIGRATION_WAIT at
    most; a StoreError past it."""
    connection.execute(text(f"SET lock_timeout = '{MIGRATION_WAIT}s'"))
    try:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise _migration_busy(error) from error
    connection.execute(text("RESET lock_timeout"))


def migrate(
    engine: Engine,
    notes: list[str] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> str | None:
    """Bring the schema to the latest migration; a no-op (two queries) when it is already there.

    Returns the revision an existing store was upgraded from (None: up to date, or new), so that
    the command can say so: from then on, earlier releases refuse the store. What a migration
    has to tell the user (a document key it could not rename, say) is added to `notes`; that it
    waits for another process's migration is told to `waiting` as it starts to.
    """
    with engine.connect() as connection:
        if _current(connection) == HEAD:
            return None
    from alembic import command

    upgrading: str | None = None  # the schema being upgraded from, once the upgrade starts
    try:
        with _migration_lock(engine, waiting), _migrating(engine) as connection:
            current = _current(connection)
            if current == HEAD:  # another process migrated while we waited
                return None
            _refuse_unknown(current)
            config = alembic_config()
            config.attributes["connection"] = connection
            config.attributes["notes"] = notes if notes is not None else []
            upgrading = current
            command.upgrade(config, "head")
    except Exception as error:
        if upgrading is None:
            raise
        # Each migration runs in this one transaction (DDL included, on both databases), whose
        # end is covered too: SQLite's foreign keys checked there, a disk full as it commits.
        raise StoreError(
            f"upgrading it from schema {upgrading} to {HEAD} failed, and it is left as it was"
            f" ({upgrading}): {driver_words(error)}"
        ) from error
    return current


def check_schema(engine: Engine) -> None:
    """A StoreError unless the store is still at the schema this release knows: a process that
    runs for weeks (a worker) opened it at an older one, and a later release (a crawl upgraded
    first) migrated it since, which that process would misread, or write rows it does not
    expect into."""
    with engine.connect() as connection:
        current = _current(connection)
    if current != HEAD:
        raise StoreError(
            f"the store is now at schema {current}, not {HEAD}, the one this release of"
            " policywatch knows: another release migrated it since this process opened it;"
            " upgrade policywatch to use it"
        )


def _refuse_unknown(revision: str | None) -> None:
    """A store a later release upgraded is refused, not misread by code that knows less."""
    from alembic.script import ScriptDirectory

    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if revision is not None and revision not in known:
        raise StoreError(
            f"the store is at schema {revision}, newer than this release of policywatch knows"
            f" ({HEAD}): a later release upgraded it; upgrade policywatch to use it"
        )


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A transaction for migrations; on SQLite, with foreign keys checked at its end only.

    Alembic's batch mode changes a SQLite table by copying it anew and dropping the old one;
    with foreign keys enforced, that drop fails as soon as rows of another table refer to it (a
    store with deliveries could not be upgraded past 0005). SQLite ignores the pragma inside a
    transaction, so it is set on the driver's connection before BEGIN, and put back after.

    On SQLite the transaction takes the write lock at BEGIN, and waits for it as long as another
    process's migration may take: that lock keeps two processes from migrating at once, and
    unlike a lock file beside the store (`demo --keep DIR` left one in DIR), it leaves nothing.
    """
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection, connection.begin():
            yield connection
        return
    with writer(engine).connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA foreign_keys=OFF")
        driver.execute(f"PRAGMA busy_timeout={MIGRATION_WAIT * 1000}")
        try:
            try:
                transaction = connection.begin()
            except DBAPIError as error:
                if "locked" not in driver_words(error):
                    raise
                raise _migration_busy(error) from error
            with transaction:
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                if broken is not None:
                    raise StoreError(f"the migration left rows of {broken[0]} referring to none")
        finally:
            driver.execute("PRAGMA foreign_keys=ON")
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT * 1000}")


def public_url(url: str | URL) -> str:
    """A store's URL as it may be printed, logged, hashed or compared: its password hidden,
    whether written before the host or as a query parameter (`?password=…`, as libpq takes it)."""
    parsed = make_url(url)
    query = [
        (name, "***" if SECRET_PARAMETER.search(name) else value)
        for name, values in parsed.query.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    shown = parsed.set(query={}).render_as_string(hide_password=True)
    return f"{shown}?{urlencode(query, safe='*')}" if query else shown


def _readable_by_others(engine: Engine, path: Path) -> str | None:
    """What to say of a SQLite store other users of the machine may read, when it holds
    subscriptions (their Apprise URLs carry tokens and passwords); None otherwise.

    Stores made by earlier releases are 0644. Their mode is the user's to change, not ours: the
    sentence gives the command. A stat first, so the query runs only for such a store.
    """
    if not stat.S_IMODE(path.stat().st_mode) & (stat.S_IRGRP | stat.S_IROTH):
        return None
    with engine.connect() as connection:
        if connection.execute(text("SELECT 1 FROM subscription LIMIT 1")).first() is None:
            return None
    return (
        f"the store {path} holds subscriptions (Apprise URLs, with their tokens and passwords)"
        f" and other users of this machine can read it: run chmod 600 {shlex.quote(str(path))}"
    )


def driver_words(error: Exception) -> str:
    """The driver's own words for a database error: SQLAlchemy wraps them in the exception's
    class name and a link to its documentation ("(Background on this error at: …)"), which
    tell an operator nothing of a server that is down or a role that does not exist."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        return str(error.orig).strip()
    return str(error)


def _unwritable(path: Path) -> str | None:
    """Why SQLite cannot write the store at `path`, if it cannot: the file read-only, or its
    folder, where SQLite keeps the store's journal (`-wal`, `-shm`) even to read it."""
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is read-only to this user"
    folder = path.parent
    if folder.is_dir() and not os.access(folder, os.W_OK):
        return (
            f"its folder {folder} is read-only to this user, and SQLite writes the store's"
            f" journal ({path.name}-wal, {path.name}-shm) beside it"
        )
    return None


def _creation_hint(url: str, words: str) -> str:
    """The command that creates a PostgreSQL database the server says does not exist: we create
    the tables, never the database, and libpq's words alone left a new operator to find that in
    the README. Empty for any other failure."""
    parsed = make_url(url)
    if not parsed.database or f'database "{parsed.database}" does not exist' not in words:
        return ""
    owner = f"-O {shlex.quote(parsed.username)} " if parsed.username else ""
    return f"; create it first: createdb {owner}{shlex.quote(parsed.database)}"


def open_store(
    url: str,
    *,
    create: bool = True,
    writes: bool = True,
    notice: Callable[[str], None] | None = None,
) -> Engine:
    """The engine for `url` with its schema up to date, or a StoreError saying what is wrong.

    Without `create`, a SQLite file that is not there is a MissingStore, and nothing is made:
    reading a mistyped path must not leave a new empty store (and its folders) behind. A command
    that `writes` is refused a SQLite store it cannot write before it starts: its first write
    failed midway, with a traceback quoting the statement's values (a subscription's URL among
    them), and a crawl took it for every fetch failing. What the operator should know of the
    store is told to `notice`, as sentences to show: an upgrade of an existing store (earlier
    releases, a worker not yet upgraded, stop opening it), and a store of subscriptions that
    other users of the machine can read.
    """
    url = store_url(url)
    path = sqlite_path(url)
    if not create and path is not None and not path.exists():
        raise MissingStore(f"no store at {path}")
    if path is not None and path.is_dir():  # SQLite says only "unable to open database file"
        raise StoreError(
            f"{path} is a folder, not a store: name a file in it, such as"
            f" sqlite:///{path / 'policywatch.sqlite3'}"
        )
    if writes and path is not None and (why := _unwritable(path)):
        raise StoreError(f"cannot write the store {public_url(url)}: {why}")
    try:
        engine = make_engine(url)
        notes: list[str] = []
        previous = migrate(engine, notes, notice)
        exposed = _readable_by_others(engine, path) if notice and path else None
    except Exception as error:
        why = _unwritable(path) if path is not None else None
        hint = f" ({why})" if why else _creation_hint(url, driver_words(error))
        raise StoreError(
            f"cannot open the store {public_url(url)}: {driver_words(error)}{hint}"
        ) from error
    if notice is None:
        return engine
    if previous is not None:
        notice(
            f"upgraded the store {public_url(url)} from schema {previous} to {HEAD}; earlier"
            " releases of policywatch (a worker not yet upgraded, say) no longer open it"
        )
    for note in notes:
        notice(note)
    if exposed is not None:
        notice(exposed)
    return engine
