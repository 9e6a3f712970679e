"""SQLite's own start-up: a new file that several processes set up at once opens in each."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest

from bot.storage import DatabaseUnavailable, open_storage
from bot.storage import sqlite as sqlite_storage
from bot.storage.backend import StorageError, migrations


async def test_a_new_file_set_up_by_several_starts_at_once_opens_in_every_one(
    tmp_path: Path,
) -> None:
    # SQLite answers some of these races busy at once, without waiting (the switch into WAL,
    # a write after a read another connection made stale): about one round in fifteen failed.
    for round_ in range(40):
        path = tmp_path / f"{round_}.sqlite3"
        opened = await asyncio.gather(
            *[sqlite_storage.open_sqlite(path) for _ in range(6)], return_exceptions=True
        )
        for database in opened:
            if not isinstance(database, BaseException):
                await database.close()
        assert [o for o in opened if isinstance(o, BaseException)] == []
        with sqlite3.connect(path) as file:
            versions = [v for (v,) in file.execute("SELECT version FROM schema_migrations")]
            mode = file.execute("PRAGMA journal_mode").fetchone()[0]
        assert sorted(versions) == [m.version for m in migrations("sqlite")]
        assert mode == "wal"


def connecting_fails(monkeypatch: pytest.MonkeyPatch, error: sqlite3.Error) -> list[Path]:
    """Every connection start-up makes fails with `error`; the files it tried, in order."""
    attempts: list[Path] = []

    async def connect(path: Path) -> object:
        attempts.append(path)
        raise error

    monkeypatch.setattr(sqlite_storage, "connect", connect)
    return attempts


async def test_a_file_that_stays_busy_is_named_once_start_up_stops_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = sqlite3.SQLITE_BUSY
    attempts = connecting_fails(monkeypatch, busy)
    monkeypatch.setattr(sqlite_storage, "OPEN_SECONDS", 0.3)
    with pytest.raises(StorageError, match=r"bot\.sqlite3: database is locked"):
        await sqlite_storage.open_sqlite(tmp_path / "bot.sqlite3")
    assert len(attempts) > 1  # it tried again before giving up


async def test_a_migration_kept_waiting_by_another_writer_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock past SQLite's busy wait while this one would
    migrate: start-up tries again, rather than calling the migration failed."""
    path = tmp_path / "bot.sqlite3"
    with sqlite3.connect(path) as file:
        file.execute("PRAGMA journal_mode=WAL")
        file.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)"
        )
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.5, writer.execute, "COMMIT")
    monkeypatch.setattr(sqlite_storage, "BUSY_MILLISECONDS", 50)
    try:
        database = await sqlite_storage.open_sqlite(path)
        await database.close()
    finally:
        writer.close()
    with sqlite3.connect(path) as file:
        versions = [v for (v,) in file.execute("SELECT version FROM schema_migrations")]
    assert sorted(versions) == [m.version for m in migrations("sqlite")]


async def test_an_error_that_is_not_a_lock_is_not_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = connecting_fails(monkeypatch, sqlite3.DatabaseError("file is not a database"))
    with pytest.raises(StorageError, match="file is not a database"):
        await sqlite_storage.open_sqlite(tmp_path / "bot.sqlite3")
    assert len(attempts) == 1


async def test_a_data_folder_the_bot_makes_is_its_owners_alone(tmp_path: Path) -> None:
    # The files were 0600, but a folder made for them was 0755: anyone on the host could list
    # them. A folder that already exists keeps the mode its owner gave it.
    database = await sqlite_storage.open_sqlite(tmp_path / "data" / "bot.sqlite3")
    await database.close()
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    (tmp_path / "shared").mkdir(0o750)
    database = await sqlite_storage.open_sqlite(tmp_path / "shared" / "bot.sqlite3")
    await database.close()
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o750


async def test_a_full_disk_in_a_transaction_is_reported_as_a_full_disk(tmp_path: Path) -> None:
    """SQLite ends a transaction itself when the disk is full; the ROLLBACK after it failed
    with "cannot rollback - no transaction is active", which the owner read instead."""
    storage = await open_storage(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    try:
        [(pages,)] = await storage.database.fetch("PRAGMA page_count")
        async with storage.database.transaction() as queries:
            await queries.execute(f"PRAGMA max_page_count = {pages}")  # no room to grow
        with pytest.raises(DatabaseUnavailable, match="database or disk is full"):
            await storage.member_settings.edit(1, 3, lambda old: "x" * 100_000)
        assert await storage.member_settings.load(1, 3) is None  # nothing of it kept
    finally:
        await storage.close()


async def test_a_file_locked_past_the_wait_is_unavailable_a_statement_refused_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database failing is a DatabaseUnavailable at the interface; a statement SQLite
    refuses as written (SQLITE_ERROR, like a syntax error) and a broken constraint are the
    code's, and go through as sqlite3 raised them."""
    monkeypatch.setattr(sqlite_storage, "BUSY_MILLISECONDS", 50)
    storage = await open_storage(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    try:
        with sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None) as other:
            other.execute("BEGIN EXCLUSIVE")  # another process's write lock, held
            with pytest.raises(DatabaseUnavailable, match="OperationalError: database is locked"):
                await storage.database.execute("DELETE FROM health_check")
            other.execute("COMMIT")
        with pytest.raises(sqlite3.OperationalError) as refused:
            await storage.database.fetch("SELECT no_such_column FROM jobs")
        assert not isinstance(refused.value, DatabaseUnavailable)
        with pytest.raises(sqlite3.IntegrityError):
            async with storage.database.transaction() as queries:
                await queries.execute("INSERT INTO health_check (id, at) VALUES (1, NULL)")
    finally:
        await storage.close()
