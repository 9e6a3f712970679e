"""Whether an interaction's answer reached Discord when its reply did not.

A time-out or a dropped connection loses the reply, not necessarily the answer: Discord may
have shown it. Before a job is given up as unanswered, the channel is asked. The first answer
is the interaction's `@original`, which its token reads back. A follow-up has no such handle:
it is found among the channel's messages that came after the interaction, by the
interaction each one names (`interaction_metadata`). Every look is bounded; one that fails
says "not found", and the caller then corrects whatever may be there.
"""

from __future__ import annotations

import asyncio

import discord

from bot.discord.connection import CALL_FAILED

LOOKUP_SECONDS = 10.0
# Messages read after the interaction, oldest first: a burst's other answers come in between.
FOLLOWUP_LOOKBACK = 100
# Discord refused or lost the look, or discord.py refused it (a channel it does not know).
LOOKUP_FAILED: tuple[type[BaseException], ...] = (*CALL_FAILED, discord.ClientException)


async def landed(interaction: discord.Interaction, *, followup: bool) -> int | None:
    """The id of the interaction's public answer (`followup`: its first follow-up from the
    bot) if Discord has it although its reply was lost; None if not, or if it cannot be told."""
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            if not followup:
                found = await interaction.original_response()
                # Not a private hold whose own reply was lost: that is no public answer.
                return None if found.flags.ephemeral else found.id
            return await _followup(interaction)
    except LOOKUP_FAILED:
        return None


async def _followup(interaction: discord.Interaction) -> int | None:
    channel = interaction.channel
    me = interaction.client.user
    if me is None or not isinstance(channel, discord.abc.Messageable):
        return None
    after = discord.Object(interaction.id)
    async for message in channel.history(limit=FOLLOWUP_LOOKBACK, after=after, oldest_first=True):
        asked = message.interaction_metadata
        mine = message.author.id == me.id and not message.flags.ephemeral  # the public one
        if mine and asked is not None and asked.id == interaction.id:
            return message.id
    return None
