"""Opening the database: SQLite in WAL mode, and the numbered migrations in `migrations/`.

Each store (`jobs.py`, `guild_settings.py`) has its own connection (`member_settings.py`, one
statement a write, shares the jobs'). Connections are in autocommit mode
(`isolation_level=None`): a single statement commits itself, which makes the common write one
round trip to aiosqlite's thread instead of two. Every write of the jobs store is one statement,
so its connection never holds a transaction open between two awaits (where another task's
statement would slip into it); the settings store's save, two statements that must hold
together, opens one on its own connection. WAL with `synchronous=NORMAL` makes a commit cheap
(no fsync): a committed write survives a crash of the process, and the last ones may be lost
only with the machine's power, a risk the write-ahead ledger of Pika ids (`bot/jobs/ledger.py`)
shares.

The file holds prompts and webhook secrets, so it is created readable by its owner only (SQLite
gives its -wal and -shm files the same mode). A file that is not a database, or a migration
that fails, is a `StorageError` naming the file: the bot says so in one line and exits.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.storage.guild_settings import GuildSettingsStore
from bot.storage.jobs import JobStore
from bot.storage.leases import DEFAULT_LEASE_SECONDS
from bot.storage.member_settings import MemberSettingsStore
from bot.storage.reports import JobReports

MIGRATIONS_PACKAGE = "bot.storage"
# What a write raises when the database cannot take it now (locked past the busy timeout, disk
# full, I/O error): callers that must not lose a write retry on these.
WRITE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)
FILE_MODE = 0o600


class StorageError(Exception):
    """The database cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Storage:
    """Everything the bot keeps: the jobs, each server's settings, each member's defaults."""

    jobs: JobStore
    guild_settings: GuildSettingsStore
    member_settings: MemberSettingsStore
    connections: tuple[aiosqlite.Connection, ...]
    reports: JobReports
    path: Path

    async def close(self) -> None:
        """Close the connections."""
        for connection in self.connections:
            await connection.close()

    async def check_writable(self) -> None:
        """Write one row and commit it, on a connection of its own (a commit on the shared one
        could end another task's transaction early); raise when the database cannot take it."""
        async with aiosqlite.connect(self.path, timeout=5.0) as db:
            await db.execute(
                "INSERT INTO health_check (id, at) VALUES (1, ?) "
                "ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                (time.time(),),
            )
            await db.commit()


async def open_storage(
    path: Path,
    clock: Callable[[], float] = time.time,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> Storage:
    """Open (creating if needed) the SQLite database at `path` and apply pending migrations;
    the jobs store claims jobs for `lease_seconds` at a time (see `leases.py`).

    Raises StorageError when the file is not a database or a migration fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        private(path)
    except OSError as exc:
        raise StorageError(f"{path}: {exc.strerror or exc}") from None
    opened: list[aiosqlite.Connection] = []
    try:
        opened.append(jobs := await connect(path))
        await migrate(jobs, clock)
        opened.append(settings := await connect(path))
    except (sqlite3.Error, StorageError) as exc:
        for db in opened:
            await db.close()
        raise StorageError(f"{path}: {exc}") from None
    for suffix in ("-wal", "-shm"):  # made by SQLite with the database's mode; older ones too
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.chmod(FILE_MODE)
    return Storage(
        JobStore(jobs, clock, lease_seconds),
        GuildSettingsStore(settings, clock),
        MemberSettingsStore(jobs, clock),  # one statement a write: no transaction to share
        (jobs, settings),
        JobReports(jobs),  # reads only: the jobs connection serves them between its writes
        path,
    )


async def connect(path: Path) -> aiosqlite.Connection:
    """One connection: autocommit, WAL, foreign keys, and a wait of up to 5 s for a lock."""
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
    except BaseException:
        await db.close()
        raise
    return db


def private(path: Path) -> None:
    """Create the file readable and writable by its owner only, or make it so."""
    if path.exists():
        path.chmod(FILE_MODE)
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))


async def migrate(db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
    """Apply every migration not yet recorded in `schema_migrations`, in number order."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_at REAL NOT NULL)"
    )
    async with db.execute("SELECT version FROM schema_migrations") as cursor:
        done = {row[0] async for row in cursor}
    folder = resources.files(MIGRATIONS_PACKAGE) / "migrations"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        version = int(entry.name.split("_", 1)[0])
        if version in done:
            continue
        try:
            await db.executescript(
                f"BEGIN;\n{entry.read_text()}\n"
                f"INSERT INTO schema_migrations VALUES ({version}, {clock()});\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                await db.rollback()
            raise StorageError(f"migration {entry.name} failed ({exc})") from None
