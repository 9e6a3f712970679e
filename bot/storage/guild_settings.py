"""Each server's settings, stored as one JSON document per server, and the audit of changes.

The document's shape is `bot.guardrails.settings.GuildSettings`; this module only keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.storage.backend import Database, Queries


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

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock

    async def load(self, guild_id: int) -> str | None:
        """A server's settings document, or None while it has never changed one."""
        data = await self._db.fetch_value(
            "SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return str(data) if data is not None else None

    async def edit(
        self, guild_id: int, apply: Callable[[str | None], tuple[str, Sequence[Change]]]
    ) -> str:
        """Change a server's document as one step, against every other change in any process:
        `apply` is given the document as stored (None while never changed) and returns the new
        one and its changes, which are stored with it; if it raises, nothing is. Returns the
        document stored.

        The row is read by a write, in the transaction that writes it back: on SQLite the
        transaction holds the database's write lock from its start; on PostgreSQL the UPDATE
        locks the row, waiting for a change in flight to commit and returning what it wrote.
        A document read, then written back whole, would lose a change made in between (two
        admins at once: a blocked word added by one vanished)."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, data, updated_at) VALUES (?, '', ?) "
                "ON CONFLICT(guild_id) DO NOTHING",
                (guild_id, self.clock()),
            )
            stored = await tx.fetch_value(
                "UPDATE guild_settings SET updated_at = updated_at WHERE guild_id = ? "
                "RETURNING data",
                (guild_id,),
            )
            data, changes = apply(str(stored) or None)  # '' is the row just made
            await self._write(tx, guild_id, data, changes)
        return data

    async def _write(
        self, tx: Queries, guild_id: int, data: str, changes: Sequence[Change]
    ) -> None:
        await tx.execute(
            "INSERT INTO guild_settings (guild_id, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(guild_id) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (guild_id, data, self.clock()),
        )
        await tx.execute_many(
            "INSERT INTO settings_audit (guild_id, user_id, setting, old_value, new_value, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(guild_id, c.user_id, c.setting, c.old_value, c.new_value, c.at) for c in changes],
        )

    async def audit(self, guild_id: int, limit: int = 20, offset: int = 0) -> list[Change]:
        """A server's changes, newest first."""
        rows = await self._db.fetch(
            "SELECT user_id, setting, old_value, new_value, at FROM settings_audit "
            "WHERE guild_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
        return [Change(*row) for row in rows]
