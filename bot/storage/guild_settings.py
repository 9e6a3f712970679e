"""Each server's settings, stored as one JSON document per server, and the audit of changes.

The document's shape is `bot.guardrails.settings.GuildSettings`; this module only keeps it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class Change:
    """One setting changed: who, which, from what to what (JSON texts), when."""

    user_id: int
    setting: str
    old_value: str
    new_value: str
    at: float


class GuildSettingsStore:
    """Reads and writes `guild_settings`; writes each change to `settings_audit` with it."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self._db = db  # this store's own connection: `save` holds a transaction on it
        self.clock = clock
        self._saving = asyncio.Lock()  # one transaction at a time on the connection

    async def load(self, guild_id: int) -> str | None:
        """A server's settings document, or None while it has never changed one."""
        rows = list(
            await self._db.execute_fetchall(
                "SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)
            )
        )
        return str(rows[0][0]) if rows else None

    async def save(self, guild_id: int, data: str, changes: Sequence[Change]) -> None:
        """Store a server's new document and its changes, in one transaction."""
        async with self._saving:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                await self._write(guild_id, data, changes)
            except BaseException:
                await self._db.execute("ROLLBACK")
                raise
            await self._db.execute("COMMIT")

    async def _write(self, guild_id: int, data: str, changes: Sequence[Change]) -> None:
        await self._db.execute(
            "INSERT INTO guild_settings (guild_id, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(guild_id) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (guild_id, data, self.clock()),
        )
        await self._db.executemany(
            "INSERT INTO settings_audit (guild_id, user_id, setting, old_value, new_value, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(guild_id, c.user_id, c.setting, c.old_value, c.new_value, c.at) for c in changes],
        )

    async def audit(self, guild_id: int, limit: int = 20, offset: int = 0) -> list[Change]:
        """A server's changes, newest first."""
        rows = await self._db.execute_fetchall(
            "SELECT user_id, setting, old_value, new_value, at FROM settings_audit "
            "WHERE guild_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
        return [Change(*row) for row in rows]
