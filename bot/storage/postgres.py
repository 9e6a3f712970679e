"""PostgreSQL behind the database interface (`backend.py`), over an asyncpg pool, and the
numbered migrations of `migrations/postgresql/`.

A statement outside a transaction takes a connection of the pool for itself and commits on its
own: one round trip, as on SQLite. The pool is bounded (`POOL_SIZE`) and every statement has a
time limit (`COMMAND_SECONDS`). Pooled connections keep no session state (no LISTEN, no session
lock, no SET), so handing one back costs no reset query; what needs session state (the migration
lock here; a LISTEN) uses a connection of its own.

Migrations run at start-up under a session advisory lock, so when several processes start at
once one migrates and the others wait, then find nothing left to do. Admission (`serialised`)
is a transaction that first takes `pg_advisory_xact_lock(<server id>)`: the admissions of one
server run one after the other across processes, other servers' side by side.

The URL's password is never shown: errors name the database as `shown_url` writes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, cast
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.storage.backend import (
    WRITE_ERRORS,
    Database,
    Params,
    Queries,
    Row,
    StorageError,
    migrations,
    typed,
)
from bot.storage.postgres_sql import translate

POOL_SIZE = 10  # connections at most, per process
COMMAND_SECONDS = 30.0  # any statement, a wait for a lock included
CONNECT_SECONDS = 10.0  # opening a connection (start-up says the database is unreachable after)
MIGRATION_SECONDS = 600.0  # a migration may rewrite a big table; another process waits as long
CLOSE_SECONDS = 10.0  # statements in flight finish before the pool closes, or are cut
# Leases (`leases.py`) are written and read with each process's own clock: a process whose
# clock runs ahead takes over jobs whose holder is alive. Start-up compares the clock with the
# database server's, which every process sharing the database reads, and refuses a difference
# of more than this share of a lease (a quarter: a holder renews well before its lease ends).
CLOCK_SHARE_OF_LEASE = 0.25
# The key of the migration lock: the two-number form of advisory locks, whose keys never meet
# the one-number form's (admission locks a server's id with that one).
MIGRATION_LOCK = (0x50494B41, 1)  # "PIKA", migrations
# The classes of SQLSTATE for the server failing rather than the statement: a connection lost
# or refused (08), resources exhausted (53: a disk full, too many connections), an operator's
# or the server's intervention (57: a shutdown, a start-up, a statement cancelled past its
# time-out), the system (58: an I/O error), an internal error (XX: data corrupted), and a
# transaction rolled back by the server (40: a deadlock, a serialisation failure).
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58", "XX", "40"})
# ... and a write refused by a server that became a read-only standby (a failover).
UNAVAILABLE_STATES = frozenset({"25006"})


def unavailable(exc: Exception) -> bool:
    """Whether the server, or the way to it, failed the statement, not the code: a connection
    lost or refused, a time-out, a SQLSTATE of UNAVAILABLE_CLASSES or UNAVAILABLE_STATES.
    asyncpg's client-side errors (InterfaceError, InternalClientError) come from a connection
    ended under a statement, which the client's state machine then refuses to go on with."""
    if isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError):
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        return state[:2] in UNAVAILABLE_CLASSES or state in UNAVAILABLE_STATES
    return False


def cannot_connect(exc: Exception) -> bool:
    """Whether a connection could not be made or handed out: whatever the server answers then
    (a database closed to connections, dropped, a password changed) is the database being
    unavailable, not a statement's fault."""
    return unavailable(exc) or isinstance(exc, asyncpg.PostgresError)


class OutageInOneLine(logging.Filter):
    """asyncpg's pool logs each failed attempt to restore its floor of connections (every few
    seconds while PostgreSQL is down) with a full traceback, where the bot's own warnings of the
    same outage are one line each. A failure of the database (one of WRITE_ERRORS) is said in
    one line, with its reason; anything else (a fault of code) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, WRITE_ERRORS):
            reason = str(error) or "no details"
            record.msg, record.args = (
                "%s: %s: %s",
                (record.getMessage(), type(error).__name__, reason),
            )
            record.exc_info, record.exc_text = None, None
        return True


OUTAGE_IN_ONE_LINE = OutageInOneLine()


def shown_url(url: str) -> str:
    """The URL without its password (and without its query, which may carry one)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
        user = f"{parts.username}@" if parts.username else ""
    except ValueError:
        return f"{url.split(':', 1)[0]}://(unreadable URL)"
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def password_of(url: str) -> str | None:
    """The URL's password, for the log's redaction of secrets."""
    try:
        return urlsplit(url).password or None
    except ValueError:
        return None


class PostgresQueries(Queries):
    """Statements in the portable dialect, on a pool (each one on any free connection) or on one
    connection (inside a transaction)."""

    def __init__(self, target: asyncpg.Pool | PoolConnectionProxy) -> None:
        self._target = target

    async def execute(self, sql: str, params: Params = ()) -> None:
        statement = translate(sql)
        with typed(unavailable):
            await self._target.execute(statement.sql, *statement.arguments(params))

    async def execute_many(self, sql: str, params: Iterable[Params]) -> None:
        statement = translate(sql)
        rows = [statement.arguments(p) for p in params]
        if rows:
            with typed(unavailable):
                await self._target.executemany(statement.sql, rows)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        statement = translate(sql)
        with typed(unavailable):
            rows = await self._target.fetch(statement.sql, *statement.arguments(params))
        return cast(list[Row], rows)


class PostgresDatabase(PostgresQueries, Database):
    """A PostgreSQL database through a bounded pool of connections."""

    dialect = "postgresql"

    def __init__(self, url: str, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.url = url  # with its password: for connections of their own (LISTEN); never shown
        self.pool = pool

    # A statement outside a transaction takes a connection of its own, as the pool's own
    # execute and fetch do, so that a connection it cannot get is told from the statement.
    async def execute(self, sql: str, params: Params = ()) -> None:
        async with self._connection() as connection:
            await PostgresQueries(connection).execute(sql, params)

    async def execute_many(self, sql: str, params: Iterable[Params]) -> None:
        async with self._connection() as connection:
            await PostgresQueries(connection).execute_many(sql, params)

    async def fetch(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._connection() as connection:
            return await PostgresQueries(connection).fetch(sql, params)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queries]:
        async with self._connection() as connection:
            # What the block raises is its own; the transaction's own steps are typed.
            with typed(unavailable):
                await connection.execute("BEGIN")
            async with self._ended(connection):
                yield PostgresQueries(connection)

    @contextlib.asynccontextmanager
    async def serialised(self, key: int) -> AsyncIterator[Queries]:
        async with self._connection() as connection:
            # One round trip for both: the transaction, and the lock it holds until it ends.
            with typed(unavailable):
                await connection.execute(f"BEGIN; SELECT pg_advisory_xact_lock({int(key)})")
            async with self._ended(connection):
                yield PostgresQueries(connection)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[PoolConnectionProxy]:
        """A connection of the pool (one the pool cannot make or hand out: typed)."""
        with typed(cannot_connect):
            connection = await self.pool.acquire()
        try:
            yield connection
        finally:
            await self.pool.release(connection)

    @staticmethod
    @contextlib.asynccontextmanager
    async def _ended(connection: PoolConnectionProxy) -> AsyncIterator[None]:
        """The open transaction committed after the block, or rolled back if it raised."""
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: the pool drops it
                await connection.execute("ROLLBACK")
            raise
        with typed(unavailable):
            await connection.execute("COMMIT")

    async def check_writable(self) -> None:
        async with self._connection() as connection:
            with typed(unavailable):
                await connection.execute(
                    "INSERT INTO health_check (id, at) VALUES (1, $1) "
                    "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                    time.time(),
                    timeout=5.0,
                )

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.pool.close(), CLOSE_SECONDS)
        except TimeoutError:
            self.pool.terminate()


async def _keep(connection: asyncpg.Connection) -> None:
    """Hand a connection back as it is (asyncpg has already rolled back a transaction left
    open): pooled connections keep no session state, so the reset query's round trip is saved."""


async def open_postgres(
    url: str, clock: Callable[[], float] = time.time, lease_seconds: float | None = None
) -> PostgresDatabase:
    """Connect to the PostgreSQL database at `url` and apply pending migrations; with
    `lease_seconds`, check that `clock` agrees with the server's (`CLOCK_SHARE_OF_LEASE`).

    Raises StorageError, naming the database without its password, when it cannot be reached,
    refuses the connection, a migration fails, or the clocks disagree."""
    shown = shown_url(url)
    options: dict[str, Any] = {
        "timeout": CONNECT_SECONDS,
        "server_settings": {"application_name": "pika-discord-bot"},
    }
    # Once for the process (a filter already there is not added again).
    logging.getLogger("asyncpg.pool").addFilter(OUTAGE_IN_ONE_LINE)
    try:
        await migrate(url, clock, options, lease_seconds)
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            command_timeout=COMMAND_SECONDS,
            reset=_keep,
            **options,
        )
    except StorageError as exc:
        raise StorageError(f"{shown}: {exc}") from None
    except (
        OSError,
        TimeoutError,
        ValueError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
    ) as exc:
        # asyncpg's messages name hosts, users, databases and options, never the password.
        raise StorageError(f"{shown}: {_reason(exc)}") from None
    return PostgresDatabase(url, pool)


async def check_clock(
    connection: asyncpg.Connection, clock: Callable[[], float], lease_seconds: float
) -> None:
    """Raise StorageError when `clock` is further from the database server's clock than
    `CLOCK_SHARE_OF_LEASE` of a lease, beyond what the round trip leaves unknown."""
    before = clock()
    server = float(await connection.fetchval("SELECT extract(epoch FROM clock_timestamp())"))
    after = clock()
    # The server read its clock somewhere within the round trip: its middle, give or take half.
    ahead = (before + after) / 2 - server
    unknown = (after - before) / 2
    allowed = lease_seconds * CLOCK_SHARE_OF_LEASE
    if abs(ahead) - unknown > allowed:
        way = "ahead of" if ahead > 0 else "behind"
        raise StorageError(
            f"this machine's clock is {abs(ahead):.1f} s {way} the database server's; "
            f"processes sharing a database hold jobs for JOB_LEASE_SECONDS={lease_seconds:g} "
            f"and need their clocks within {allowed:g} s of it: set the clock (NTP) and start "
            "again"
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_SECONDS:g} s"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect ({exc.strerror})"
    return str(exc) or type(exc).__name__


async def migrate(
    url: str,
    clock: Callable[[], float],
    options: dict[str, Any],
    lease_seconds: float | None = None,
) -> None:
    """Apply every migration not yet recorded in `schema_migrations`, in number order, each in
    its own transaction, holding the migration lock on a connection of its own; first, with
    `lease_seconds`, check the clock against the server's on that connection."""
    connection = await asyncpg.connect(url, command_timeout=MIGRATION_SECONDS, **options)
    try:
        if lease_seconds is not None:
            await check_clock(connection, clock, lease_seconds)
        await connection.execute("SELECT pg_advisory_lock($1, $2)", *MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at DOUBLE PRECISION NOT NULL)"
        )
        done = {r[0] for r in await connection.fetch("SELECT version FROM schema_migrations")}
        for migration in migrations("postgresql"):
            if migration.version in done:
                continue
            try:
                async with connection.transaction():
                    await connection.execute(migration.sql)
                    await connection.execute(
                        "INSERT INTO schema_migrations VALUES ($1, $2)", migration.version, clock()
                    )
            except asyncpg.PostgresError as exc:
                raise StorageError(f"migration {migration.name} failed ({exc})") from None
    finally:
        try:  # and with it the session's lock
            await connection.close(timeout=CLOSE_SECONDS)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            connection.terminate()
