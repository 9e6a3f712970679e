"""Opening the database: SQLite in WAL mode, and the numbered migrations in `migrations/`.

Each store (`jobs.py`, `guild_settings.py`) has its own connection. Connections are in
autocommit mode (`isolation_level=None`): a single statement commits itself, which makes the
common write one round trip to aiosqlite's thread instead of two. Every write of the jobs store
is one statement, so its connection never holds a transaction open between two awaits (where
another task's statement would slip into it); the settings store's save, two statements that
must hold together, opens one on its own connection. WAL with `synchronous=NORMAL` makes a
commit cheap (no fsync): a committed write survives a crash of the process, and the last ones
may be lost only with the machine's power, a risk the write-ahead ledger of Pika ids
(`bot/jobs/ledger.py`) shares.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.storage.guild_settings import GuildSettingsStore
from bot.storage.jobs import JobStore
from bot.storage.reports import JobReports

MIGRATIONS_PACKAGE = "bot.storage"
# What a write raises when the database cannot take it now (locked past the busy timeout, disk
# full, I/O error): callers that must not lose a write retry on these.
WRITE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, OSError)


@dataclass(frozen=True)
class Storage:
    """Everything the bot keeps: the jobs and each server's settings."""

    jobs: JobStore
    guild_settings: GuildSettingsStore
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


async def open_storage(path: Path, clock: Callable[[], float] = time.time) -> Storage:
    """Open (creating if needed) the SQLite database at `path` and apply pending migrations."""
    path.parent.mkdir(parents=True, exist_ok=True)
    jobs = await connect(path)
    await migrate(jobs, clock)
    settings = await connect(path)
    return Storage(
        JobStore(jobs, clock),
        GuildSettingsStore(settings, clock),
        (jobs, settings),
        JobReports(jobs),  # reads only: the jobs connection serves them between its writes
        path,
    )


async def connect(path: Path) -> aiosqlite.Connection:
    """One connection: autocommit, WAL, foreign keys, and a wait of up to 5 s for a lock."""
    db = await aiosqlite.connect(path, isolation_level=None)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute("PRAGMA foreign_keys=ON")
    await db.execute("PRAGMA busy_timeout=5000")
    return db


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
        await db.executescript(
            f"BEGIN;\n{entry.read_text()}\n"
            f"INSERT INTO schema_migrations VALUES ({version}, {clock()});\nCOMMIT;"
        )
