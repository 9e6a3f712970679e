"""SQLite behind the database interface (`backend.py`): WAL, autocommit connections, and the
numbered migrations of `migrations/`.

Statements run on one connection in autocommit mode (`isolation_level=None`): a statement
commits itself, which makes the common write one round trip to aiosqlite's thread instead of two,
and that connection never holds a transaction open between two awaits (where another task's
statement would slip into it). A transaction (the settings store's save, two statements that
must hold together) runs on a second connection of its own, one at a time. WAL with
`synchronous=NORMAL` makes a commit cheap (no fsync): a committed write survives a crash of the
process, and the last ones may be lost only with the machine's power, a risk the write-ahead
ledger of Pika ids (`bot/jobs/ledger.py`) shares.

The file holds prompts and webhook secrets, so it is created readable by its owner only (SQLite
gives its -wal and -shm files the same mode). A file that is not a database, or a migration
that fails, is a `StorageError` naming the file: the bot says so in one line and exits. Processes
that start at once on a new file race to set it up; the loser is told "busy" at once, so start-up
tries again for up to `OPEN_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import cast

import aiosqlite

from bot.storage.backend import (
    Database,
    DatabaseUnavailable,
    Params,
    Queries,
    Row,
    StorageError,
    migrations,
    typed,
)

FILE_MODE = 0o600
FOLDER_MODE = 0o700  # a folder the bot makes for its files lists them to no one else either
BUSY_MILLISECONDS = 5000  # how long a statement waits for another writer's lock
OPEN_SECONDS = 30  # how long start-up tries again while other processes set the file up
# SQLite's result codes (the primary ones) for the file failing rather than the statement: a
# lock held past the wait, no memory, a read-only or unreadable file, an I/O error, a damaged
# file, a full disk. SQLITE_ERROR (a statement refused as written: a syntax error, no such
# table) and the constraints are the code's faults.
UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)


def unavailable(exc: Exception) -> bool:
    """Whether SQLite failed the statement for the file's sake (UNAVAILABLE), not the code's."""
    code = getattr(exc, "sqlite_errorcode", None)  # None on errors raised by Python itself
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in UNAVAILABLE


class SqliteQueries(Queries):
    """Statements on one aiosqlite connection, each one round trip to its thread."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def execute(self, sql: str, params: Params = ()) -> None:
        # execute_fetchall runs and closes the cursor in one call to the thread.
        with typed(unavailable):
            await self._db.execute_fetchall(sql, params)

    async def execute_many(self, sql: str, params: Iterable[Params]) -> None:
        with typed(unavailable):
            await self._db.executemany(sql, params)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        with typed(unavailable):
            return cast(list[Row], list(await self._db.execute_fetchall(sql, params)))


class SqliteDatabase(SqliteQueries, Database):
    """A SQLite file: statements on one autocommit connection, transactions on another."""

    dialect = "sqlite"

    def __init__(
        self, path: Path, statements: aiosqlite.Connection, transactions: aiosqlite.Connection
    ) -> None:
        super().__init__(statements)
        self.path = path
        self._transactions = SqliteQueries(transactions)
        self._connections = (statements, transactions)
        self._one_transaction = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._one_transaction:
            tx = self._transactions
            await tx.execute("BEGIN IMMEDIATE")  # the write lock now, not at the first write
            try:
                yield tx
            except BaseException:
                # SQLite ends the transaction itself on some errors (a full disk): the ROLLBACK
                # then fails ("no transaction is active") and would hide the error that matters.
                with contextlib.suppress(sqlite3.OperationalError, DatabaseUnavailable):
                    await tx.execute("ROLLBACK")
                raise
            await tx.execute("COMMIT")

    @contextlib.asynccontextmanager
    async def serialised(self, key: int) -> AsyncIterator[Queries]:
        yield self

    async def check_writable(self) -> None:
        # A connection of its own: a commit on a shared one could end another's transaction.
        with typed(unavailable):
            async with aiosqlite.connect(self.path, timeout=5.0) as db:
                await db.execute(
                    "INSERT INTO health_check (id, at) VALUES (1, ?) "
                    "ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                    (time.time(),),
                )
                await db.commit()

    async def close(self) -> None:
        for connection in self._connections:
            await connection.close()


async def open_sqlite(path: Path, clock: Callable[[], float] = time.time) -> SqliteDatabase:
    """Open (creating if needed) the SQLite database at `path` and apply pending migrations.

    Raises StorageError, naming the file, when it is not a database or a migration fails."""
    try:
        path.parent.mkdir(FOLDER_MODE, parents=True, exist_ok=True)
        private(path)
    except OSError as exc:
        raise StorageError(f"{path}: {exc.strerror or exc}") from None
    deadline = time.monotonic() + OPEN_SECONDS
    while True:
        try:
            statements, transactions = await connect_and_migrate(path, clock)
            break
        except StorageError as exc:  # a migration failed
            raise StorageError(f"{path}: {exc}") from None
        except sqlite3.Error as exc:
            if not busy(exc) or time.monotonic() > deadline:
                raise StorageError(f"{path}: {exc}") from None
        # Another process is setting the file up: SQLite answered busy at once, without the
        # busy handler (a write after a stale read, the switch into WAL), so wait a little here.
        await asyncio.sleep(random.uniform(0.005, 0.05))
    for suffix in ("-wal", "-shm"):  # made by SQLite with the database's mode; older ones too
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.chmod(FILE_MODE)
    return SqliteDatabase(path, statements, transactions)


async def connect_and_migrate(
    path: Path, clock: Callable[[], float]
) -> tuple[aiosqlite.Connection, aiosqlite.Connection]:
    """The two connections of a database, its migrations applied in between; none left open when
    a step fails."""
    opened: list[aiosqlite.Connection] = []
    try:
        opened.append(statements := await connect(path))
        await migrate(statements, clock)
        opened.append(transactions := await connect(path))
    except BaseException:
        for db in opened:
            await db.close()
        raise
    return statements, transactions


def busy(exc: sqlite3.Error) -> bool:
    """Whether SQLite refused for another connection's lock (SQLITE_BUSY or one of its kinds)."""
    code = getattr(exc, "sqlite_errorcode", None)  # None on errors raised by Python itself
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


async def connect(path: Path) -> aiosqlite.Connection:
    """One connection: autocommit, WAL, foreign keys, and a wait of up to 5 s for a lock."""
    db = await aiosqlite.connect(path, isolation_level=None)
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute(f"PRAGMA busy_timeout={BUSY_MILLISECONDS}")
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
    """Apply every migration not yet recorded in `schema_migrations`, in number order.

    Each one is a write transaction that first records its version: when two processes start at
    once, the second waits for the first's write lock, then finds the version taken (its
    primary key) and leaves that migration to the first."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in await db.execute_fetchall("SELECT version FROM schema_migrations")}
    for migration in migrations("sqlite"):
        if migration.version in done:
            continue
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\nINSERT INTO schema_migrations VALUES "
                f"({migration.version}, {clock()});\n{migration.sql}\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            if busy(exc):
                raise  # open_sqlite tries again from the start
            if not await applied(db, migration.version):
                raise StorageError(f"migration {migration.name} failed ({exc})") from None


async def applied(db: aiosqlite.Connection, version: int) -> bool:
    """Whether a migration is recorded (by another process, when ours failed on its version)."""
    rows = await db.execute_fetchall(
        "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
    )
    return bool(list(rows))
