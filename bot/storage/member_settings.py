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

    async def save(self, guild_id: int, user_id: int, data: str) -> None:
        """Store a member's new document in a server."""
        await self._db.execute(
            "INSERT INTO member_settings (guild_id, user_id, data, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(guild_id, user_id) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (guild_id, user_id, data, self.clock()),
        )
