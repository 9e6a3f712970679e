"""PostgreSQL's LISTEN/NOTIFY as a relay of short texts between the processes that share one
database: the transport of `bot.jobs.wakeups.RelayedWakeups` on PostgreSQL.

A connection of the relay's own listens on `CHANNEL` (asyncpg hands notifications to the
connection that listens) and sends with `pg_notify`, which PostgreSQL delivers to every
listening session, this one too, once the sending statement commits (at once: it is one
statement). If the connection is lost, or cannot be made at start-up, it is made again with a
capped backoff; texts sent in the meantime are lost, which the wake-ups' fallbacks cover (a push
is in its job's row for the holder's next renewal, cached settings are read again after a
minute). `relay_for` gives a PostgreSQL database its relay; SQLite has none (one process, or
several that notice at their next renewal).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import asyncpg

from bot.storage.backend import Database
from bot.storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)

CHANNEL = "pika_bot_wakeups"
MAX_PAYLOAD_BYTES = 7_900  # PostgreSQL refuses a payload of 8000 bytes or more
CALL_SECONDS = 5.0  # connecting, listening and each notification
RECONNECT_FIRST, RECONNECT_CAP = 0.5, 30.0
# What a lost or refused connection raises (asyncpg's errors, the network).
CONNECTION_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


class PostgresRelay:
    """Texts to and from every process listening on the database at `dsn`."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._receivers: list[Callable[[str], None]] = []
        self._connection: asyncpg.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False
        self._sending = asyncio.Lock()  # one statement at a time on an asyncpg connection

    def on_text(self, receive: Callable[[str], None]) -> None:
        """Call `receive` with every text heard (this process's own too)."""
        self._receivers.append(receive)

    async def start(self) -> bool:
        """Connect and listen; whether it listens now. When the database cannot be reached, one
        warning, and it keeps trying in the background (as after a connection lost)."""
        try:
            await self._connect()
        except (*CONNECTION_ERRORS, TimeoutError) as exc:
            log.warning("Cannot listen for wake-ups yet (%s); trying again", type(exc).__name__)
            self._reconnecting = asyncio.ensure_future(self._reconnect())
            return False
        return True

    async def send(self, text: str) -> None:
        """Send `text` to every listening process; ConnectionError if it could not be sent."""
        if len(text.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"a relayed text is limited to {MAX_PAYLOAD_BYTES} bytes")
        async with self._sending:
            connection = self._connection
            if connection is None or connection.is_closed():
                if connection is not None:
                    self._lost(connection)
                raise ConnectionError("not connected to PostgreSQL (reconnecting)")
            try:
                await connection.execute(
                    "SELECT pg_notify($1, $2)", CHANNEL, text, timeout=CALL_SECONDS
                )
            except (*CONNECTION_ERRORS, TimeoutError) as exc:
                # A connection cut during a statement is not always reported to the
                # termination listener: make it again from here too.
                if connection.is_closed():
                    self._lost(connection)
                raise ConnectionError(f"could not notify: {type(exc).__name__}") from exc

    async def close(self) -> None:
        """Stop listening and reconnecting."""
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=CALL_SECONDS)
            self._connection = None

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self.dsn, timeout=CALL_SECONDS)
        try:
            await connection.add_listener(CHANNEL, self._notified)
        except BaseException:
            await connection.close(timeout=CALL_SECONDS)
            raise
        connection.add_termination_listener(self._lost)
        self._connection = connection

    def _notified(self, connection: object, pid: int, channel: str, payload: object) -> None:
        for receive in self._receivers:
            try:
                receive(str(payload))
            except Exception:
                log.exception("A relayed text could not be handled")

    def _lost(self, connection: object) -> None:
        if self._closed or connection is not self._connection:
            return
        log.warning("Lost the PostgreSQL connection that listens for wake-ups; reconnecting")
        self._connection = None
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        delay = RECONNECT_FIRST
        while not self._closed:
            try:
                await self._connect()
            except (*CONNECTION_ERRORS, TimeoutError) as exc:
                log.warning("Cannot listen for wake-ups yet (%s); again in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(RECONNECT_CAP, delay * 2)
            else:
                log.info("Listening for wake-ups again")
                return


def relay_for(database: Database) -> PostgresRelay | None:
    """The relay between the processes sharing `database`: LISTEN/NOTIFY on PostgreSQL (on a
    connection of its own, not yet started); None on SQLite."""
    if isinstance(database, PostgresDatabase):
        return PostgresRelay(database.url)
    return None
