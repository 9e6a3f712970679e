"""Notes in a channel about a reaction that started nothing: a reaction has no interaction to
answer privately, so the member is told in the channel, mentioned, in the words a button press
would have been answered with. At most one note per member per message a minute (fifteen
reactions make one note, not fifteen), and each note goes after a while."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import discord

from bot.discord.connection import refused
from bot.discord.wording import say

log = logging.getLogger(__name__)

NOTICE_EVERY = 60.0  # seconds between two notes to one member about one message
NOTICE_SECONDS = 20  # how long a note stays in the channel
MAX_REMEMBERED = 10_000  # (member, message) pairs remembered, oldest forgotten first


class ReactionNotes:
    """The notes of one bot, and whom it told about which message lately (capped)."""

    def __init__(self) -> None:
        self._noticed: dict[tuple[int, int], float] = {}

    def may_note(self, user_id: int, message_id: int) -> bool:
        """Whether a note to this member about this message may go now (not in the last
        minute); saying yes counts as the note."""
        now = time.monotonic()
        key = (user_id, message_id)
        if now - self._noticed.get(key, -NOTICE_EVERY) < NOTICE_EVERY:
            return False
        self._noticed.pop(key, None)
        self._noticed[key] = now
        while len(self._noticed) > MAX_REMEMBERED:
            del self._noticed[next(iter(self._noticed))]
        return True

    async def note(
        self,
        channel: discord.abc.Messageable,
        message_id: int,
        user_id: int,
        text: str,
        *,
        dm: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Tell the member `text` in the channel, unless they were told about this message in
        the last minute; by `dm` where the channel refuses the bot's post."""
        if not self.may_note(user_id, message_id):
            return
        try:
            await channel.send(
                say("reaction.note", "en", user=user_id, text=text),
                delete_after=NOTICE_SECONDS,
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(id=user_id)]),
            )
        except discord.HTTPException as exc:
            log.info("Could not explain a reaction on %d", message_id)
            if dm is not None and refused(exc):
                await dm(text)

    @staticmethod
    async def remove(
        message: discord.PartialMessage, emoji: discord.PartialEmoji, user_id: int
    ) -> None:
        """Take a refused reaction off the message (it started nothing)."""
        try:
            await message.remove_reaction(emoji, discord.Object(id=user_id))
        except discord.HTTPException:
            log.info("Could not remove a reaction on %d", message.id)
