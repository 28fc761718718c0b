"""The store on SQLite and on PostgreSQL: migrations, versions, changes, fetch issues."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, event, inspect, update
from sqlalchemy import text as sa_text
from sqlmodel import Session, col, select

import store.db
from diffengine import assess, text_fingerprint
from store.db import _PG_MIGRATION_LOCK as MIGRATION_LOCK
from store.db import (
    HEAD,
    MIGRATION_WAIT,
    StoreError,
    alembic_config,
    make_engine,
    open_store,
    public_url,
    writer,
)
from store.models import (
    Change,
    Delivery,
    Document,
    Fetch,
    Snapshot,
    Subscription,
    Version,
    decompress,
)
from store.outbox.owed import queue_owed
from store.queries import (
    Revert,
    get_change,
    get_document,
    list_changes,
    list_documents,
    reverts,
)
from store.repository import Attempt, Check, DocumentInfo, FetchState, Repository
from store.subscriptions import NewSubscription, add_subscription
from tests.alerting import OPENAI, WHATSAPP, History
from tests.conftest import FAST, Home
from tests.site import Site
from tests.test_web_data import judge_with, verdict

T0 = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
DOC = DocumentInfo(
    "whatsapp/business-solution-terms",
    "WhatsApp",
    "Business Solution Terms",
    "https://example.invalid/terms",
)


def repository(db_url: str) -> Repository:
    repo = Repository(open_store(db_url))
    repo.sync_documents([DOC], at=T0)
    return repo


def test_a_service_is_looked_for_by_its_slug_however_long_its_name(db_url: str) -> None:
    """A service is matched by its slug too, the start of its documents' keys: written as a
    LIKE pattern, a name of 60,000 characters was "too complex" for SQLite, and `history
    --service` ended in a traceback."""
    acme = DocumentInfo("acme-messenger/terms", "Acme Messenger", "Terms", "https://acme.test")
    history = History(db_url, [acme, WHATSAPP])
    history.change(acme, summary="Bots barred")
    assert [row.summary for row in list_changes(history.engine, service="ACME-messenger")] == [
        "Bots barred"
    ]
    assert list_changes(history.engine, service="acme") == []  # a slug is whole, not a start
    assert list_changes(history.engine, service="a" * 60_000) == []


def test_schema_is_created_by_the_migration(db_url: str) -> None:
    engine = open_store(db_url)
    tables = set(inspect(engine).get_table_names())
    assert {"document", "fetch", "snapshot", "version", "change", "alembic_version"} <= tables


def test_an_up_to_date_store_opens_without_loading_alembic(db_url: str) -> None:
    """Every command opens the store: when its schema is at `HEAD`, which must be Alembic's own
    head, Alembic (~0.1 s of start-up) stays unloaded; so does the PostgreSQL dialect (~20 ms)
    for a SQLite store."""
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD
    open_store(db_url)
    probe = "import sys, store.outbox.claims, store.outbox.owed, store.repository; "
    probe += "from store.db import open_store; "
    probe += "open_store(sys.argv[1]); "
    probe += "print('alembic' in sys.modules, 'sqlalchemy.dialects.postgresql' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True, text=True)
    postgres = db_url.startswith("postgresql")
    assert (run.returncode, run.stdout.split()) == (0, ["False", str(postgres)]), run.stderr


def test_concurrent_first_runs_do_not_race_on_schema_creation(db_url: str) -> None:
    script = "import sys; from store.db import open_store; open_store(sys.argv[1])"
    children = [
        subprocess.Popen([sys.executable, "-c", script, db_url], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [child.communicate(timeout=120)[1] for child in children]
    assert [child.returncode for child in children] == [0, 0, 0, 0], errors
    assert "document" in inspect(open_store(db_url)).get_table_names()


def test_a_new_store_put_in_wal_mode_waits_for_another_process_writing_it(
    tmp_path: Path,
) -> None:
    """A first run switching a new store to WAL while another one held its write lock was
    answered "database is locked" at once, SQLite's busy timeout not waited (CI: one of four
    concurrent first runs failed); the switch waits for the lock as every statement does."""
    path = tmp_path / "store.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # as the first process, writing the new store
    threading.Timer(0.5, holder.execute, ["COMMIT"]).start()

    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()

    assert mode == "wal"
    holder.close()
    engine.dispose()


def test_a_migration_waited_for_too_long_gives_up_and_says_why(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process opening a store another one is migrating waits for it, at most MIGRATION_WAIT:
    on PostgreSQL, held by a migration stuck (a process stopped at a breakpoint, a session
    left open in psql), the advisory lock was waited for without end, and nothing said why;
    SQLite's write lock gave up with its bare "database is locked". Both now say what holds
    them up."""
    monkeypatch.setattr(store.db, "MIGRATION_WAIT", 1)
    holder = make_engine(db_url)
    with writer(holder).begin() as connection:  # another process's migration, under way
        if holder.dialect.name == "postgresql":
            connection.execute(sa_text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
        with pytest.raises(StoreError, match="another process has been migrating it") as raised:
            open_store(db_url)
    assert "for over 1 s" in str(raised.value) and "try again" in str(raised.value)
    holder.dispose()
    assert open_store(db_url).dialect.name == holder.dialect.name  # the wait is over: it opens


def test_a_new_store_leaves_nothing_but_itself_in_its_folder(tmp_path: Path) -> None:
    """`policywatch demo --keep DIR` left an empty `demo.sqlite3.migrate.lock` in DIR: the lock
    that kept two processes from migrating at once was a file beside the store."""
    open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    names = {path.name for path in tmp_path.iterdir()}
    assert names <= {"store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"}, names


def test_versions_changes_and_unchanged_texts(db_url: str) -> None:
    repo = repository(db_url)
    first = repo.record_text(
        DOC.key, Attempt(DOC.url, at=T0), "# Terms\n\nHello.\n", assess, body=b"<h1>Terms</h1>"
    )
    same = repo.record_text(
        DOC.key,
        Attempt(DOC.url, at=T0 + timedelta(hours=1)),
        "# Terms\n\nHello.\n",
        assess,
        body=b"<h1>Terms</h1> ",
    )
    later = T0 + timedelta(days=1)
    changed = repo.record_text(
        DOC.key, Attempt(DOC.url, at=later), "# Terms\n\nHello.\n\nNo bots.\n", assess
    )
    assert (first.outcome, same.outcome, changed.outcome) == ("first", "unchanged", "changed")
    rows = list_changes(repo.engine)
    assert [row.id for row in rows] == [changed.change_id]
    assert rows[0].detected_at == later and rows[0].detected_at.tzinfo is not None
    assert rows[0].added == 1  # one sentence added
    detail = get_change(repo.engine, rows[0].id)
    assert (
        detail is not None
        and detail.old_text.endswith("Hello.\n")
        and "No bots." in detail.new_text
    )
    [document] = list_documents(repo.engine)
    assert (document.versions, document.last_changed, document.issue) == (2, later, None)


def test_a_change_after_broken_captures_is_read_with_them_in_as_many_queries(db_url: str) -> None:
    """`get_change` gives the texts the verdict compared, passing over the broken captures
    between, the same few statements for one broken capture as for three: walking back one
    change at a time, as the web page did, read each capture's change and texts in turn."""
    history = History(db_url)
    shown: dict[int, tuple[int, list[int]]] = {}
    statements: list[str] = []
    event.listen(history.engine, "before_cursor_execute", lambda *c: statements.append(c[2]))
    for document, captures in ((WHATSAPP, 1), (OPENAI, 3)):
        for n in range(captures):
            history.change(document, meaningful=False, noise="anomaly", text=f"Redirect {n}")
        restored = history.change(document)
        statements.clear()
        detail = get_change(history.engine, restored)
        assert detail is not None and "Redirect" not in detail.old_text
        assert detail.old_text.startswith("Version ") and detail.old_seq == 1
        shown[captures] = (len(statements), [skipped.seq for skipped in detail.skipped])
    assert shown == {1: (shown[1][0], [2]), 3: (shown[1][0], [2, 3, 4])}
    assert shown[1][0] <= 5  # the change, its document, the versions walked, the two texts


def test_a_documents_last_meaningful_change_passes_over_noise(db_url: str) -> None:
    """A flapping page's latest flap was all a document said of when it changed."""
    repo = repository(db_url)
    steps = [(None, "Hello."), (True, "Hello. No bots."), (False, "Hello.  No bots!")]
    for day, (meaningful, text) in enumerate(steps):
        judged = verdict("high", "") if meaningful else verdict(None, "", meaningful=False)
        repo.record_text(
            DOC.key, Attempt(DOC.url, at=T0 + timedelta(days=day)), text, judge_with(judged)
        )
    [listed] = list_documents(repo.engine)
    detail = get_document(repo.engine, DOC.key)
    assert detail is not None and detail.document == listed
    assert listed.last_changed == T0 + timedelta(days=2)  # the noise, as it always was
    assert listed.last_meaningful_change == T0 + timedelta(days=1)


def test_a_downgrade_leaves_rows_that_releases_reading_only_zlib_can_read(db_url: str) -> None:
    from alembic import command

    repo = repository(db_url)
    text, body = "# Terms\n\n" + "We may use your content.\n" * 50, b"<p>terms</p>" * 500
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0), text, assess, body=body)
    config = alembic_config()
    with repo.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    with repo.engine.connect() as connection:
        stored = connection.execute(sa_text("SELECT text FROM version")).scalar_one()
        content = connection.execute(sa_text("SELECT content FROM snapshot")).scalar_one()
    assert zlib.decompress(stored).decode("utf-8") == text and zlib.decompress(content) == body
    open_store(db_url)  # upgraded again; the zlib rows are read as they are
    with Session(repo.engine) as session:
        assert session.exec(select(Version.text)).one() == text


def test_a_store_with_alerts_in_its_outbox_upgrades_and_keeps_them(db_url: str) -> None:
    """Migrations 0006 and later rebuild `change` on SQLite (copy, drop, rename); with foreign
    keys enforced, dropping it failed on the deliveries that refer to it: a store that had sent
    one alert could not be upgraded from 0005 or earlier."""
    from alembic import command

    history = History(db_url)
    now = datetime.now(UTC)
    add_subscription(history.engine, NewSubscription(name="team", url="json://x"), now)
    history.change(at=now + timedelta(seconds=1))
    queue_owed(history.engine, now + timedelta(seconds=2))
    before = _rows(history.engine)
    assert before["delivery"] and before["change"]
    config = alembic_config()
    # As an earlier release left it: that release's engine did not enforce foreign keys.
    with create_engine(history.engine.url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")

    said: list[str] = []
    open_store(db_url, notice=said.append)

    assert _rows(history.engine) == before
    assert [line.split(" from ")[1] for line in said] == [
        f"schema 0004 to {HEAD}; earlier releases of policywatch (a worker not yet upgraded,"
        " say) no longer open it"
    ]
    open_store(db_url, notice=said.append)  # up to date: nothing more to say
    assert len(said) == 1


def test_an_upgrade_failing_as_it_commits_says_the_store_is_left_as_it_was(tmp_path: Path) -> None:
    """What fails as the upgrade ends (SQLite's foreign keys checked at its end, a disk full as
    it commits) was said as a bare error, without the schema it was upgraded from nor that
    nothing changed: as an upgrade failing midway is said."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    engine = open_store(url)
    config = alembic_config()
    # As an earlier release, whose engine did not enforce foreign keys, may have left it.
    with create_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
        connection.execute(
            sa_text(
                "INSERT INTO delivery (subscription_id, topic, change_id, document_id, status,"
                " attempts, created_at, next_attempt_at)"
                " VALUES (42, 'change:42', 42, 42, 'pending', 0, '2025-10-01', '2025-10-01')"
            )
        )

    with pytest.raises(StoreError) as refused:
        open_store(url)

    assert str(refused.value) == (
        f"cannot open the store {url}: upgrading it from schema 0004 to {HEAD} failed, and it is"
        " left as it was (0004): the migration left rows of delivery referring to none"
    )
    with engine.connect() as connection:
        assert connection.execute(sa_text("SELECT version_num FROM alembic_version")).all() == [
            ("0004",)
        ]


def test_a_document_keyed_with_accents_for_word_breaks_keeps_its_history_under_its_new_key(
    db_url: str, tmp_path: Path, site: Site
) -> None:
    """Keys took each accented letter for a word break (`soci-t-g-n-rale/...`); spelled without
    accents now, a store of an earlier release would have had the next crawl start the document
    anew beside its history, and a subscription filter on it name a key no document has."""
    from alembic import command

    old, new = "soci-t-g-n-rale/conditions-g-n-rales", "societe-generale/conditions-generales"
    entry = {"type": "Conditions générales", "url": site.url("/cg"), "select": "main"}
    catalog = tmp_path / "societe-generale.yaml"
    declared = {"service": "Société Générale", "documents": [entry]}
    catalog.write_text(yaml.safe_dump(declared, allow_unicode=True), encoding="utf-8")
    home = Home(tmp_path, db_url)
    crawl = ("crawl", "--catalog", str(catalog), "--only", "societe-generale", "--all", *FAST)
    site.html("/cg", "<html><body><main><p>Un.</p></main></body></html>")
    assert home.run(*crawl).code == 0
    engine = open_store(db_url)
    config = alembic_config()
    with engine.begin() as connection:  # as an earlier release left it
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")  # which gives back the key that release spelled
        assert connection.execute(select(Document.key)).scalars().all() == [old]
    filters = NewSubscription("sg", "json://x", services=["Soci-t-G-N-Rale"], documents=[old])
    add_subscription(engine, filters, T0)
    event = {"key": old, "service": "Société Générale", "document_type": "Conditions générales"}
    event |= {"url": entry["url"], "issue": "not-found", "detail": "HTTP 404", "streak": 3}
    with Session(engine) as session, session.begin():  # its fetch problem, still to be sent
        subscription_id = session.exec(select(Subscription.id)).one()
        document_id = session.exec(select(Document.id)).one()
        issue = Delivery(
            subscription_id=subscription_id,
            topic=f"fetch-issue:{document_id}:{T0.isoformat()}",
            document_id=document_id,
            event=event | {"since": T0.isoformat()},
            status="failed",
            created_at=T0,
            next_attempt_at=T0,
        )
        session.add(issue)
    engine.dispose()

    site.html("/cg", "<html><body><main><p>Un.</p><p>Deux.</p></main></body></html>")
    crawled = home.run(*crawl)

    assert crawled.code == 0, crawled
    [document] = home.run("documents", "--json").json()
    assert (document["key"], document["versions"]) == (new, 2)
    [change] = home.run("history", "--json").json()
    assert (change["key"], change["from_version"], change["to_version"]) == (new, 1, 2)
    [subscription] = home.run("subscriptions", "list", "--json").json()
    assert (subscription["services"], subscription["documents"]) == (["societe-generale"], [new])
    with Session(create_engine(db_url)) as session:
        assert session.exec(select(Delivery.event)).one()["key"] == new


def test_a_key_whose_new_spelling_another_document_has_is_kept_and_said(db_url: str) -> None:
    from alembic import command

    accented = DocumentInfo("caf/terms", "Café", "Terms", "https://example.invalid/cafe")
    plain = DocumentInfo("cafe/terms", "Cafe", "Terms", "https://example.invalid/cafe-plain")
    history = History(db_url, documents=(accented, plain))
    config = alembic_config()
    with history.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0016")

    said: list[str] = []
    open_store(db_url, notice=said.append)

    assert [row.key for row in list_documents(history.engine)] == ["caf/terms", "cafe/terms"]
    assert said[1:] == [
        "kept the document key caf/terms of Café (Terms) as it was: its key in this release,"
        " cafe/terms, is another document's already; their histories stay apart"
    ]


def _rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(sa_text(query))]
            for table, query in (
                ("change", "SELECT id, document_id, to_version_id, summary FROM change"),
                ("delivery", "SELECT change_id, subscription_id, status FROM delivery"),
            )
        }


def test_the_migrated_schema_is_the_models_own(db_url: str) -> None:
    """An index declared on a model and forgotten in a migration exists in no store: the
    queries written for it scan. The schema the migrations build is what the models say."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = open_store(db_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_the_follow_ups_topic_index_is_partial_and_goes_back_on_downgrade(db_url: str) -> None:
    """Migration 0014: the deliveries of no change alone are indexed by topic (the withdrawals
    a reinstatement may follow are looked up there), in place of 0011's index of them all."""
    from alembic import command

    engine = open_store(db_url)

    def topic_indexes() -> dict[str, str]:
        return {
            index["name"]: str(next(iter(index.get("dialect_options", {}).values()), ""))
            for index in inspect(engine).get_indexes("delivery")
            if index["column_names"] == ["topic"]
        }

    assert topic_indexes().keys() == {"ix_delivery_follow_up_topic"}
    assert "change_id IS NULL" in topic_indexes()["ix_delivery_follow_up_topic"]
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0014")
    assert topic_indexes().keys() == {"ix_delivery_topic"}
    open_store(db_url)
    assert topic_indexes().keys() == {"ix_delivery_follow_up_topic"}


def test_a_store_a_later_release_upgraded_is_refused_unchanged(db_url: str) -> None:
    """Code that does not know the store's schema cannot read it right: it says so, and why."""
    engine = open_store(db_url)
    with engine.begin() as connection:
        connection.execute(sa_text("UPDATE alembic_version SET version_num = '0042'"))

    with pytest.raises(StoreError) as refused:
        open_store(db_url)

    assert "the store is at schema 0042, newer than this release of policywatch knows" in str(
        refused.value
    )
    with engine.connect() as connection:
        assert connection.execute(sa_text("SELECT version_num FROM alembic_version")).all() == [
            ("0042",)
        ]


def test_a_fetch_is_recorded_though_its_connection_is_lost_midway(pg_url: str) -> None:
    """A connection lost as a fetch is recorded (PostgreSQL restarted, an idle connection cut
    by a proxy, a failover) failed the document, and stopped a local crawl whole, when the pool
    had a new connection ready: its transaction, rolled back, is run once more on another."""
    repo = repository(pg_url)
    with create_engine(pg_url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(sa_text("CREATE SEQUENCE tries"))  # outside any transaction
        connection.execute(
            sa_text(
                "CREATE FUNCTION cut_once() RETURNS trigger AS $$ BEGIN"
                " IF nextval('tries') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid());"
                " END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            sa_text(
                'CREATE TRIGGER cut BEFORE INSERT ON "fetch" FOR EACH ROW'
                " EXECUTE FUNCTION cut_once()"
            )
        )

    recorded = repo.record_text(DOC.key, Attempt(DOC.url, at=T0), "# Terms\n\nWe may.", assess)

    assert recorded.outcome == "first"
    with Session(repo.engine) as session:
        assert len(session.exec(select(Fetch)).all()) == 1
        assert len(session.exec(select(Version)).all()) == 1


def test_a_first_version_is_fingerprinted_when_a_second_comes(db_url: str) -> None:
    """A first crawl only checks each page's language; the fingerprint that recognises a page
    flapping back to its first version is taken when the second version is judged."""
    repo = repository(db_url)
    first, second = "# Terms\n\nWe may use your content.\n", "# Terms\n\nWe never use it.\n"
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0), first, assess)
    assert _fingerprints(repo) == [""]
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0 + timedelta(1)), second, assess)
    assert _fingerprints(repo) == [text_fingerprint(first), text_fingerprint(second)]
    back = first.replace("your content", "your *content*")  # the first, cosmetically
    flapped = repo.record_text(DOC.key, Attempt(DOC.url, at=T0 + timedelta(2)), back, assess)
    assert flapped.assessment is not None and flapped.assessment.reason == "flapping"


def _fingerprints(repo: Repository) -> list[str]:
    with Session(repo.engine) as session:
        return list(session.exec(select(Version.fingerprint).order_by(col(Version.seq))).all())


def test_snapshots_are_content_addressed_and_compressed(db_url: str) -> None:
    repo = repository(db_url)
    body = b"<html>" + b"policy text " * 2000 + b"</html>"
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0), "one\n", assess, body=body)
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0 + timedelta(1)), "two\n", assess, body=body)
    with Session(repo.engine) as session:
        [snapshot] = session.exec(select(Snapshot)).all()
        versions = session.exec(select(Version)).all()
    assert len(snapshot.content) < len(body) / 10
    assert decompress(snapshot.content) == body and snapshot.size == len(body)
    assert {version.snapshot_sha256 for version in versions} == {snapshot.sha256}


def test_texts_stored_zlib_compressed_by_earlier_releases_are_still_read(db_url: str) -> None:
    repo = repository(db_url)
    text = "# Terms\n\nWe may use your content.\n" * 50
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0), text, assess)
    with repo.engine.begin() as connection:
        stored = connection.execute(sa_text("SELECT text FROM version")).scalar_one()
        assert stored.startswith(b"\x28\xb5\x2f\xfd") and len(stored) < len(text) / 10  # zstd
        old = zlib.compress(text.encode("utf-8"), 1)
        connection.execute(sa_text("UPDATE version SET text = :old"), {"old": old})
    with Session(repo.engine) as session:
        assert session.exec(select(Version.text)).one() == text


def test_fetch_issues_keep_a_streak_and_clear_on_success(db_url: str) -> None:
    repo = repository(db_url)
    assert repo.record_issue(DOC.key, Attempt(DOC.url, status=503), "http-error", "HTTP 503") == 1
    assert repo.record_issue(DOC.key, Attempt(DOC.url, status=503), "http-error", "HTTP 503") == 2
    assert repo.record_issue(DOC.key, Attempt(DOC.url), "timeout", "took too long") == 1
    [document] = list_documents(repo.engine)
    assert document.issue is not None and (document.issue.kind, document.issue.streak) == (
        "timeout",
        1,
    )
    repo.record_text(DOC.key, Attempt(DOC.url), "text\n", assess)
    [document] = list_documents(repo.engine)
    assert document.issue is None and document.versions == 1
    with Session(repo.engine) as session:
        outcomes = [fetch.outcome for fetch in session.exec(select(Fetch).order_by(Fetch.id)).all()]
        assert session.exec(select(Change)).all() == []
    assert outcomes == ["issue:http-error", "issue:http-error", "issue:timeout", "first"]


def test_conditional_get_state_round_trips(db_url: str) -> None:
    repo = repository(db_url)
    repo.record_text(
        DOC.key,
        Attempt(DOC.url, etag='"abc"', last_modified="Wed, 01 Oct 2025 12:00:00 GMT"),
        "text\n",
        assess,
        body=b"body",
    )
    states = repo.fetch_states([DOC.key, "never-synced"])
    state = states[DOC.key]
    assert states["never-synced"] == FetchState(None, None, None)
    assert (state.etag, state.last_modified) == ('"abc"', "Wed, 01 Oct 2025 12:00:00 GMT")
    assert state.body_sha256 is not None and len(state.body_sha256) == 64


def test_fetch_states_of_a_large_crawl_come_in_batches(db_url: str) -> None:
    repo = repository(db_url)
    many = [
        DocumentInfo(f"bulk/{n:04d}", "Bulk", f"Page {n}", f"https://e.invalid/{n}")
        for n in range(1200)
    ]
    repo.sync_documents(many, at=T0)
    last = many[-1].key
    check = Attempt(many[-1].url, etag='"v9"', at=T0)
    repo.record_checks([Check(last, check, not_modified=False)])
    states = repo.fetch_states([info.key for info in many])
    assert len(states) == 1200
    assert states[last].etag == '"v9"' and states[many[0].key].etag is None


def test_syncing_a_document_again_refreshes_its_declaration_and_keeps_its_history(
    db_url: str,
) -> None:
    repo = repository(db_url)
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0), "text\n", assess)
    moved = DocumentInfo(DOC.key, "WhatsApp", DOC.document_type, "https://example.invalid/new")
    repo.sync_documents([moved], at=T0 + timedelta(days=3))
    with Session(repo.engine) as session:
        [document] = session.exec(select(Document)).all()
    assert document.url == "https://example.invalid/new"
    assert (document.first_seen, document.last_seen) == (T0, T0 + timedelta(days=3))
    assert list_documents(repo.engine)[0].versions == 1


def test_summaries_written_with_their_days_left_lose_the_stale_count(db_url: str) -> None:
    """Stores written before 0004 hold "(82 days left)" counted on the day of the change."""
    from alembic import command

    history = History(db_url)
    written = [
        "AI providers barred; effective 2026-01-15 (82 days left)",
        "Fees changed; effective 2026-02-01 (today)",
        "3 sentences added in “Fees (in 2 parts)”",  # no date: left as it was
    ]
    for summary in written:
        history.change(summary=summary, effective=date(2026, 1, 15))
    config = alembic_config()
    with history.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")

    open_store(db_url)  # the stores every command opens are brought up to HEAD

    assert [row.summary for row in reversed(list_changes(history.engine))] == [
        "AI providers barred; effective 2026-01-15",
        "Fees changed; effective 2026-02-01",
        "3 sentences added in “Fees (in 2 parts)”",
    ]
    # Changes stored before 0005 have no excerpts to quote.
    assert [row.excerpts for row in list_changes(history.engine)] == [[], [], []]


def test_match_titles_stored_with_the_placeholder_are_filled(db_url: str) -> None:
    """Stores written before 0007 hold "AI providers barred from {target}", which the command
    line, the pages and the alerts showed as it was."""
    from alembic import command

    history = History(db_url)
    sentences = (
        "AI Providers are prohibited from accessing or using the WhatsApp Business Solution.",
        "AI providers may not use it.",  # names no product: "the platform"
    )
    change_id = history.change(sentences=sentences)
    config = alembic_config()
    with history.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with history.engine.begin() as connection:  # statements: the model has later columns
        this = col(Change.id) == change_id
        matches = connection.execute(select(Change.matches).where(this)).scalar_one()
        template = "AI providers barred from {target}"
        filled = [{**match, "title": template} for match in matches]
        connection.execute(update(Change).where(this).values(matches=filled))

    open_store(db_url)

    [row] = list_changes(history.engine)
    assert [match["title"] for match in row.matches] == [
        "AI providers barred from the WhatsApp Business Solution",
        "AI providers barred from the platform",
    ]
    assert [match["sentence"] for match in row.matches] == list(sentences)


def test_a_service_named_in_other_letters_than_ascii_is_found_in_any_case(db_url: str) -> None:
    """SQLite's lower() folds ASCII only: "Wïdget Ünion" matched no filter, not even its own
    name, on the timeline, the feeds or `history --service`."""
    widget = DocumentInfo("widget/terms", "Wïdget Ünion", "Terms", "https://example.invalid/w")
    history = History(db_url, documents=(widget, DOC))
    history.change(widget, summary="Fees changed")
    history.change(DOC, summary="AI providers barred")
    for spelled in ("Wïdget Ünion", "wïdget ünion", "WÏDGET ÜNION"):
        assert [row.summary for row in list_changes(history.engine, service=spelled)] == [
            "Fees changed"
        ], spelled


def test_a_change_the_page_has_since_undone_is_known_as_reverted(db_url: str) -> None:
    """YouTube barred scraping, then a week later read as before: the restriction stood on the
    timeline as the page's last word."""
    repo = repository(db_url)
    before = "# Terms\n\nYou may use the API.\n"
    banned = before + "\nYou may not scrape the Service with robots or crawlers.\n"
    day = timedelta(days=1)

    def record(text: str, at: datetime) -> int | None:
        return repo.record_text(DOC.key, Attempt(DOC.url, at=at), text, assess).change_id

    record(before, T0)
    ban = record(banned, T0 + day)
    assert ban is not None and reverts(repo.engine, [ban]) == {}
    undone = record(before.replace("API.", "API. "), T0 + 2 * day)  # back, cosmetics aside
    assert undone is not None
    assert reverts(repo.engine, [ban]) == {ban: Revert(undone, T0 + 2 * day)}
    record(banned, T0 + 3 * day)  # and the ban again: it stands
    assert reverts(repo.engine, [ban]) == {}


def test_reverts_answers_for_any_number_of_changes(db_url: str) -> None:
    """The outbox asks about every alert its subscriptions were sent: more ids than PostgreSQL
    takes as parameters of one statement (65,535; SQLite's default build, 32,766)."""
    repo = repository(db_url)
    before = "# Terms\n\nYou may use the API.\n"
    repo.record_text(DOC.key, Attempt(DOC.url, at=T0), before, assess)
    ban = repo.record_text(
        DOC.key, Attempt(DOC.url, at=T0 + timedelta(days=1)), before + "\nNo bots.\n", assess
    ).change_id
    undone = repo.record_text(DOC.key, Attempt(DOC.url, at=T0 + timedelta(days=2)), before, assess)
    assert ban is not None and undone.change_id is not None
    many = [ban, *range(10**6, 10**6 + 70_000)]
    assert reverts(repo.engine, many) == {ban: Revert(undone.change_id, T0 + timedelta(days=2))}


def test_a_new_sqlite_store_is_its_owners_alone(tmp_path: Path) -> None:
    """The store holds the subscriptions' Apprise URLs, tokens and passwords: it was made 0644
    in a 0755 folder, readable by every user of the machine. An existing one is left as it is."""
    folder = tmp_path / "data" / "policywatch"
    path = folder / "store.sqlite3"
    mask = os.umask(0o022)  # the usual umask, whatever the test runner's
    try:
        engine = open_store(f"sqlite:///{path}")
        add_subscription(engine, NewSubscription("hook", "json://user:s3cret@host/hook"), T0)
    finally:
        os.umask(mask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.glob("store.sqlite3*")}
    assert modes["store.sqlite3"] == 0o600
    assert modes.get("store.sqlite3-wal", 0o600) == 0o600, modes
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o755  # not ours to close
    kept = tmp_path / "kept.sqlite3"
    kept.touch(mode=0o640)
    open_store(f"sqlite:///{kept}")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


@pytest.mark.postgres
def test_change_ids_are_handed_out_in_the_order_changes_commit(pg_url: str) -> None:
    """Two workers recording changes at once: the second waits for the first to commit before
    taking its id, so a poller asking `after` the last id it was given never moves past one
    still to commit (`/api/changes?after=`)."""
    other = DocumentInfo("telegram/bot-terms", "Telegram", "Bot Terms", "https://example.invalid/b")
    first, second = Repository(open_store(pg_url)), Repository(open_store(pg_url))
    first.sync_documents([DOC, other], at=T0)
    for repo, doc in ((first, DOC), (second, other)):
        repo.record_text(doc.key, Attempt(doc.url, at=T0), "# Terms\n\nHello.\n", assess)
    later = Attempt(DOC.url, at=T0 + timedelta(days=1))
    seen_meanwhile: list[list[int]] = []

    def record_the_other() -> None:
        second.record_text(other.key, later, "# Terms\n\nHello.\n\nNo bots.\n", assess)

    def meanwhile(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        """Between the first worker's insert of its change and its commit, the second records
        one, and a poller asks what is new."""
        if not statement.startswith("INSERT INTO change"):
            return
        worker = threading.Thread(target=record_the_other)
        worker.start()
        worker.join(timeout=1)
        seen_meanwhile.append([row.id for row in list_changes(first.engine, after=0)])
        threads.append(worker)

    threads: list[threading.Thread] = []
    event.listen(first.engine, "after_cursor_execute", meanwhile)
    recorded = first.record_text(DOC.key, later, "# Terms\n\nHello.\n\nNo bots.\n", assess)
    event.remove(first.engine, "after_cursor_execute", meanwhile)
    threads[0].join(timeout=30)
    assert seen_meanwhile == [[]]  # the other worker's change had to wait
    ids = [row.id for row in list_changes(first.engine, after=0)]
    assert ids[0] == recorded.change_id and len(ids) == 2


@pytest.mark.postgres
def test_a_missing_postgresql_database_is_refused_with_the_command_that_creates_it(
    pg_url: str,
) -> None:
    """libpq says only `database "X" does not exist`: the operator setting up a server was left
    to find in the README that policywatch creates its tables but not the database."""
    missing = pg_url.rsplit("/", 1)[0].replace("postgres@", "postgres:hunter2@") + "/pw_never_made"
    with pytest.raises(StoreError) as refused:
        open_store(missing)
    said = str(refused.value)
    assert 'database "pw_never_made" does not exist' in said
    assert said.endswith("create it first: createdb -O postgres pw_never_made")
    assert "hunter2" not in said


@pytest.mark.postgres
def test_a_store_waiting_for_another_process_s_migration_says_so(pg_url: str) -> None:
    """A worker started while another process held the migration lock (a migration, a psql
    session left open) said nothing for up to MIGRATION_WAIT, 2 minutes, before its first line."""
    holder = create_engine(pg_url).connect()
    holder.execute(sa_text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    said: list[str] = []
    waiting = threading.Event()

    def notice(sentence: str) -> None:
        said.append(sentence)
        waiting.set()

    opening = threading.Thread(target=lambda: open_store(pg_url, notice=notice).dispose())
    opening.start()
    try:
        assert waiting.wait(30), "nothing said while waiting"
    finally:
        holder.execute(sa_text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        holder.close()
        opening.join()
    shown = public_url(pg_url)
    assert said == [
        f"waiting for another process migrating the store {shown} (at most {MIGRATION_WAIT} s)"
    ]
