"""Opening the storage: the database `DATABASE_URL` names (a SQLite file, `sqlite.py`, or
PostgreSQL, `postgres.py`) with its migrations applied, and the stores on it.

Every store works on either database through the one interface of `backend.py`. The jobs store,
the members' defaults and the reports share the database's statements (one statement a write);
the settings store's save is a transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.storage.backend import Database, StorageError
from bot.storage.guild_settings import GuildSettingsStore
from bot.storage.jobs import JobStore
from bot.storage.leases import DEFAULT_LEASE_SECONDS
from bot.storage.member_settings import MemberSettingsStore
from bot.storage.postgres import open_postgres
from bot.storage.reports import JobReports
from bot.storage.sqlite import open_sqlite

SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Storage:
    """Everything the bot keeps: the jobs, each server's settings, each member's defaults."""

    jobs: JobStore
    guild_settings: GuildSettingsStore
    member_settings: MemberSettingsStore
    reports: JobReports
    database: Database

    async def close(self) -> None:
        """Close the database's connections."""
        await self.database.close()

    async def check_writable(self) -> None:
        """Write one row and commit it, away from the stores' work (for /readyz); raise when the
        database cannot take it."""
        await self.database.check_writable()


async def open_storage(
    target: Path | str,
    clock: Callable[[], float] = time.time,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    check_clock: bool = False,
) -> Storage:
    """Open the database `target` names (a SQLite file's path, or a DATABASE_URL:
    `sqlite:///path` or `postgresql://...`), apply pending migrations, and put the stores on it;
    the jobs store claims jobs for `lease_seconds` at a time (see `leases.py`). `check_clock`:
    on PostgreSQL, which processes on several machines may share, `clock` must agree with the
    server's (`postgres.check_clock`); a test's own clock is not checked.

    Raises StorageError, naming the database (never its password), when it cannot be used."""
    found = sqlite_file(target)
    database: Database
    if found is not None:
        database = await open_sqlite(found, clock)
    elif str(target).startswith(POSTGRES_SCHEMES):
        database = await open_postgres(str(target), clock, lease_seconds if check_clock else None)
    else:
        raise StorageError(f"{str(target).split(':', 1)[0]}: not a database this bot can use")
    return Storage(
        JobStore(database, clock, lease_seconds),
        GuildSettingsStore(database, clock),
        MemberSettingsStore(database, clock),
        JobReports(database),
        database,
    )


def sqlite_file(target: Path | str) -> Path | None:
    """The SQLite file `target` names, if it names one."""
    if isinstance(target, Path):
        return target
    if target.startswith(SQLITE_PREFIX):
        return Path(target.removeprefix(SQLITE_PREFIX))
    return None
