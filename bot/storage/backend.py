"""The one interface the stores use to reach a database, whichever it is (`sqlite.py`,
`postgres.py`), and what both backends share: rows, errors, migrations.

The stores write their SQL once, in a portable dialect that SQLite runs as it is and that the
PostgreSQL backend translates (`postgres_sql.py`):
- parameters are `?` (positional, with a sequence) or `:name` (named, with a mapping), never
  both in one statement; `column IS ?` compares with NULL as equal (PostgreSQL's
  `IS NOT DISTINCT FROM`), but cannot use an index there: prefer `= ?` when the value is known;
- a parameter whose type the statement does not settle (a bare `SELECT ?`, `? <= 0`,
  `? - ?`, a `VALUES` list) is written `CAST(? AS <type>)`, with BIGINT, INTEGER,
  DOUBLE PRECISION or TEXT: both databases read those names;
- flags are INTEGER 0/1 columns (a Python bool is sent as 0 or 1), times are DOUBLE PRECISION
  seconds since the epoch (date math is arithmetic on numbers), and a subquery in FROM has an
  alias;
- `INSERT ... ON CONFLICT (...) DO UPDATE`, `RETURNING *`, window functions and
  `UPDATE ... FROM (VALUES ...) AS v` (columns `v.column1`, `v.column2`, ...) work on both.

Rows come back by position and by column name (`row[0]`, `row["id"]`, `dict(row)`), as
sqlite3's `Row` and asyncpg's `Record` both offer.
"""

from __future__ import annotations

import contextlib
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar, Literal, Protocol, overload

import asyncpg

Dialect = Literal["sqlite", "postgresql"]
# Positional parameters for `?`, or named ones for `:name`.
Params = Sequence[Any] | Mapping[str, Any]
MIGRATIONS_PACKAGE = "bot.storage"


class DatabaseUnavailable(Exception):
    """The database could not take a statement now: unreachable, locked past its wait, a disk
    full, past a statement's time-out. Each backend raises it at the interface (`Queries`,
    `Database`), the driver's error as its cause and in its words; an error of the code (a
    statement the database refuses as written, a constraint broken) goes through as the driver
    raised it, so that it is never taken for an outage."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")


@contextlib.contextmanager
def typed(unavailable: Callable[[Exception], bool]) -> Iterator[None]:
    """Raise DatabaseUnavailable for a driver's error that `unavailable` says is the
    database's own failure; any other error goes through unchanged."""
    try:
        yield
    except Exception as exc:
        if unavailable(exc):
            raise DatabaseUnavailable(exc) from exc
        raise


# What a statement raises when the database cannot take it now (SQLite locked past its busy
# timeout, a disk full, PostgreSQL gone or past the command timeout): callers that must not lose
# a write retry on these. Through the interface that is DatabaseUnavailable; the drivers' own
# errors stay listed, as before, for statements made outside it and for errors of the code
# (retried as they always were).
WRITE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnavailable,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,  # a connection lost or closed under the statement
    # A connection ended by the server in the middle of a statement may leave asyncpg's protocol
    # mid-operation: "cannot switch to state ...; another operation is in progress".
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class StorageError(Exception):
    """The database cannot be used; the message names it (never with a password) and what is
    wrong."""


class Row(Protocol):
    """A result row: by position, by column name, and as a dict (`dict(row)`)."""

    @overload
    def __getitem__(self, key: int, /) -> Any: ...
    @overload
    def __getitem__(self, key: str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def keys(self) -> Iterable[str]: ...


class Queries(ABC):
    """Statements on a database, or inside one transaction of it."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> None:
        """Run a statement whose rows, if any, are not wanted."""

    @abstractmethod
    async def execute_many(self, sql: str, params: Iterable[Params]) -> None:
        """Run one statement once for each set of parameters."""

    @abstractmethod
    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a statement and return all its rows."""

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a statement, or None when it has none."""
        rows = await self.fetch(sql, params)
        return rows[0] if rows else None

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = await self.fetch_one(sql, params)
        return row[0] if row is not None else None


class Database(Queries):
    """A database the stores share. Outside a transaction every statement commits on its own
    (one round trip, no transaction held open between two awaits)."""

    dialect: ClassVar[Dialect]

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Queries]:
        """Statements that commit together, or not at all (an exception rolls them back).
        Transactions of one process run one at a time on SQLite; on PostgreSQL, side by side."""

    @abstractmethod
    def serialised(self, key: int) -> AbstractAsyncContextManager[Queries]:
        """Where ONE write statement (and any reads after it) runs while no other `serialised`
        scope of the same `key` runs, in any process. SQLite adds nothing: a write statement
        takes the database's write lock before it reads. PostgreSQL: a transaction that first
        takes `pg_advisory_xact_lock(key)`. Other keys run side by side."""

    @abstractmethod
    async def check_writable(self) -> None:
        """Write one row and commit it, away from the stores' work; raise when the database
        cannot take it."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection."""


@dataclass(frozen=True)
class Migration:
    """One numbered file of `migrations/` (SQLite) or `migrations/postgresql/`."""

    version: int
    name: str
    sql: str


def migrations(dialect: Dialect) -> list[Migration]:
    """The dialect's migrations in number order. Both sets reach the same schema with the same
    numbers, so `schema_migrations` reads the same on both."""
    folder = resources.files(MIGRATIONS_PACKAGE) / "migrations"
    if dialect == "postgresql":
        folder = folder / "postgresql"
    found = [
        Migration(int(entry.name.split("_", 1)[0]), entry.name, entry.read_text())
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    ]
    return sorted(found, key=lambda m: m.version)
