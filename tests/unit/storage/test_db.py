"""Opening the storage on SQLite and PostgreSQL: migrations applied once however many processes
start at once, a failing one named, the readiness write, transactions that hold together, and
both schemas alike."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.storage import Change, DatabaseUnavailable, StorageError, open_storage
from bot.storage import postgres as postgres_storage
from bot.storage.backend import Migration, migrations
from tests.helpers.databases import DatabaseUnderTest


async def test_processes_starting_at_once_migrate_once(database: DatabaseUnderTest) -> None:
    opened = await asyncio.gather(*[open_storage(database.target) for _ in range(4)])
    for storage in opened:
        await storage.close()
    versions = [v for (v,) in await database.fetch("SELECT version FROM schema_migrations")]
    assert sorted(versions) == [m.version for m in migrations(database.dialect)]


async def test_a_failing_migration_stops_the_storage_naming_it(
    database: DatabaseUnderTest,
) -> None:
    await database.execute("CREATE TABLE jobs (id TEXT)")  # there already, unrecorded
    with pytest.raises(StorageError) as caught:
        await open_storage(database.target)
    assert "migration 0001_jobs.sql failed" in str(caught.value)
    assert "already exists" in str(caught.value)


async def test_a_start_stopped_during_its_migrations_leaves_none_half_applied(
    database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM during start-up cancels the opening of the database (bot/process.py): cut off
    as each migration begins, none is left half applied, and the next start applies the rest."""
    every = migrations(database.dialect)
    module = "bot.storage.sqlite" if database.dialect == "sqlite" else "bot.storage.postgres"
    for cut in range(len(every)):

        def cut_off(dialect: str, at: int = cut) -> Iterator[Migration]:
            for number, migration in enumerate(migrations(dialect)):  # type: ignore[arg-type]
                if number == at:
                    task = asyncio.current_task()
                    assert task is not None
                    task.cancel()  # the signal, as this migration begins
                yield migration

        target = database.target
        if database.path is not None:
            target = database.path.with_name(f"cut-at-{cut}.sqlite3")
        else:
            await database.execute("DROP SCHEMA public CASCADE")
            await database.execute("CREATE SCHEMA public")
        monkeypatch.setattr(f"{module}.migrations", cut_off)
        with pytest.raises(asyncio.CancelledError):
            await asyncio.ensure_future(open_storage(target))
        monkeypatch.undo()
        storage = await open_storage(target)  # the next start: nothing half applied refuses it
        await storage.close()
        if database.path is not None:
            with contextlib.closing(sqlite3.connect(target)) as file:
                versions = [v for (v,) in file.execute("SELECT version FROM schema_migrations")]
        else:
            versions = [v for (v,) in await database.fetch("SELECT version FROM schema_migrations")]
        assert sorted(versions) == [m.version for m in every]


async def test_the_database_failing_is_typed_and_a_statement_refused_as_written_is_not(
    database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the owner review tells apart: the database failing (here a full disk on SQLite; a
    statement past its time-out and a connection cut on PostgreSQL) is DatabaseUnavailable,
    in a statement, a transaction and a serialised scope alike; a statement the database
    refuses as written is the code's fault, raised as the driver raised it."""
    monkeypatch.setattr(postgres_storage, "COMMAND_SECONDS", 0.5)
    storage = await open_storage(database.target)
    db = storage.database
    try:
        for scope in (contextlib.nullcontext(db), db.transaction(), db.serialised(7)):
            with pytest.raises(Exception) as refused:
                async with scope as queries:
                    await queries.fetch("SELECT no_such_column FROM jobs")
            assert not isinstance(refused.value, DatabaseUnavailable)
            assert isinstance(refused.value, sqlite3.OperationalError | asyncpg.PostgresError)
        if database.dialect == "sqlite":
            [(pages,)] = await db.fetch("PRAGMA page_count")
            await db.execute(f"PRAGMA max_page_count = {pages}")  # no room to grow
            async with db.transaction() as queries:
                await queries.execute(f"PRAGMA max_page_count = {pages}")
            failing = "INSERT INTO guild_settings (guild_id, data, updated_at) VALUES (1, ?, 0)"
            filler: tuple[str, ...] = ("x" * 100_000,)
        else:
            failing, filler = "SELECT pg_sleep(5)", ()
        for scope in (contextlib.nullcontext(db), db.transaction(), db.serialised(7)):
            with pytest.raises(DatabaseUnavailable):
                async with scope as queries:
                    await queries.execute(failing, filler)
        if database.dialect == "postgresql":
            with pytest.raises(DatabaseUnavailable):
                async with db.transaction() as queries:
                    await queries.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            assert await db.fetch_value("SELECT 1") == 1  # the pool goes on
            # Whatever the server answers when no connection can be made is the database's.
            base, name = database.url.rsplit("/", 1)
            admin = await asyncpg.connect(f"{base}/postgres")
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name,
                )
                for _ in range(2):  # a connection lost, then none to be made
                    with pytest.raises(DatabaseUnavailable):
                        await db.fetch_value("SELECT 1")
                with pytest.raises(DatabaseUnavailable):
                    await db.check_writable()
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                await admin.close()
    finally:
        await storage.close()


async def test_readiness_writes_a_row_of_its_own(database: DatabaseUnderTest) -> None:
    storage = await open_storage(database.target)
    try:
        await storage.check_writable()
        first = await database.value("SELECT at FROM health_check WHERE id = 1")
        await storage.check_writable()
        assert await database.value("SELECT COUNT(*) FROM health_check") == 1
        assert await database.value("SELECT at FROM health_check") >= first
    finally:
        await storage.close()


async def test_a_settings_save_that_fails_half_way_leaves_nothing_of_it(
    database: DatabaseUnderTest,
) -> None:
    storage = await open_storage(database.target)
    store = storage.guild_settings
    try:
        await store.edit(1, lambda _: ('{"v": 1}', [Change(9, "v", "0", "1", 1.0)]))
        broken = Change(9, None, "1", "2", 2.0)  # type: ignore[arg-type]  # NOT NULL refuses it
        with pytest.raises((sqlite3.IntegrityError, asyncpg.NotNullViolationError)):
            await store.edit(1, lambda _: ('{"v": 2}', [broken]))
        assert await store.load(1) == '{"v": 1}'  # the document written first was rolled back
        assert [c.new_value for c in await store.audit(1)] == ["1"]
        await store.edit(1, lambda old: ('{"v": 3}', [Change(9, "v", str(old), "3", 3.0)]))
        assert await store.load(1) == '{"v": 3}'  # and it goes on
        assert [c.old_value for c in await store.audit(1)] == ['{"v": 1}', "0"]

        def refuse(old: str | None) -> tuple[str, list[Change]]:
            assert old is None  # a server that never changed a setting
            raise ValueError("refused")

        with pytest.raises(ValueError, match="refused"):
            await store.edit(2, refuse)
        assert await store.load(2) is None  # nothing of the refused change stays
    finally:
        await storage.close()


async def test_sqlite_and_postgresql_reach_the_same_schema(
    tmp_path: Path, postgres_url: str
) -> None:
    for target in (tmp_path / "db.sqlite3", postgres_url):
        await (await open_storage(target)).close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        file_columns = {
            (table, name, _family(kind), bool(not_null or primary))
            for table in tables
            if not table.startswith("sqlite_")
            for _, name, kind, not_null, _, primary in db.execute(f"PRAGMA table_info({table})")
        }
        file_indexes = {
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            )
        }
    server = await asyncpg.connect(postgres_url)
    try:
        server_columns = {
            (r["table_name"], r["column_name"], _family(r["data_type"]), r["is_nullable"] == "NO")
            for r in await server.fetch(
                "SELECT table_name, column_name, data_type, is_nullable "
                "FROM information_schema.columns WHERE table_schema = 'public'"
            )
        }
        server_indexes = {
            r["indexname"]
            for r in await server.fetch(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                "AND indexname NOT LIKE '%_pkey'"
            )
        }
    finally:
        await server.close()
    assert file_columns == server_columns
    assert file_indexes == server_indexes


def _family(declared: str) -> str:
    """What a column holds, whichever database declared it."""
    declared = declared.upper()
    if "INT" in declared:
        return "integer"
    if declared in ("REAL", "DOUBLE PRECISION"):
        return "real"
    return "text"
