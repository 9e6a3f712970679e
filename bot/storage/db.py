"""Opening the database: SQLite in WAL mode, and the numbered migrations in `migrations/`.

The stores (`jobs.py`, `guild_settings.py`, `member_settings.py`) share one connection: SQLite
serialises writes, and one connection keeps every statement of the bot in one order. The file
holds prompts and webhook secrets, so it is created readable by its owner only (SQLite gives its
-wal and -shm files the same mode). A file that is not a database, or a migration that fails, is a
`StorageError` naming the file: the bot says so in one line and exits.
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
from bot.storage.member_settings import MemberSettingsStore
from bot.storage.reports import JobReports

MIGRATIONS_PACKAGE = "bot.storage"
FILE_MODE = 0o600


class StorageError(Exception):
    """The database cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Storage:
    """Everything the bot keeps: the jobs, each server's settings, each member's defaults."""

    jobs: JobStore
    guild_settings: GuildSettingsStore
    member_settings: MemberSettingsStore
    connection: aiosqlite.Connection
    reports: JobReports
    path: Path

    async def close(self) -> None:
        """Close the connection."""
        await self.connection.close()

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
    """Open (creating if needed) the SQLite database at `path` and apply pending migrations.

    Raises StorageError when the file is not a database or a migration fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        private(path)
    except OSError as exc:
        raise StorageError(f"{path}: {exc.strerror or exc}") from None
    db = await aiosqlite.connect(path)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        await migrate(db, clock)
    except sqlite3.Error as exc:
        await db.close()
        raise StorageError(f"{path}: {exc}") from None
    except StorageError as exc:
        await db.close()
        raise StorageError(f"{path}: {exc}") from None
    for suffix in ("-wal", "-shm"):  # made by SQLite with the database's mode; older ones too
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.chmod(FILE_MODE)
    return Storage(
        JobStore(db, clock),
        GuildSettingsStore(db, clock),
        MemberSettingsStore(db, clock),
        db,
        JobReports(db),
        path,
    )


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
