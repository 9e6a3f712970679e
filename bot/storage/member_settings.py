"""Each member's own defaults in one server, stored as one JSON document per member and server.

The document's shape is `bot.preferences.PersonalDefaults`; this module only keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.storage.backend import Database


class MemberSettingsStore:
    """Reads and writes `member_settings`."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock

    async def load(self, guild_id: int, user_id: int) -> str | None:
        """A member's document in a server, or None while they have set nothing there."""
        data = await self._db.fetch_value(
            "SELECT data FROM member_settings WHERE guild_id = ? AND user_id = ?",
            (guild_id, user_id),
        )
        return str(data) if data is not None else None

    async def edit(self, guild_id: int, user_id: int, apply: Callable[[str | None], str]) -> str:
        """Change a member's document as one step, against every other change: `apply` is
        given the document as stored (None while never set) and returns the new one; if it
        raises, nothing is stored. Returns the document stored.

        As `GuildSettingsStore.edit`: the row is read by a write in the transaction that writes
        it back (SQLite's write lock, PostgreSQL's row lock), so two changes at once both hold;
        read first and written back whole, the later one undid the earlier."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO member_settings (guild_id, user_id, data, updated_at) "
                "VALUES (?, ?, '', ?) ON CONFLICT(guild_id, user_id) DO NOTHING",
                (guild_id, user_id, self.clock()),
            )
            stored = await tx.fetch_value(
                "UPDATE member_settings SET updated_at = updated_at "
                "WHERE guild_id = ? AND user_id = ? RETURNING data",
                (guild_id, user_id),
            )
            data = apply(str(stored) or None)  # '' is the row just made
            await tx.execute(
                "UPDATE member_settings SET data = ?, updated_at = ? "
                "WHERE guild_id = ? AND user_id = ?",
                (data, self.clock(), guild_id, user_id),
            )
        return data
