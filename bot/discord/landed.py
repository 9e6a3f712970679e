"""Whether an interaction's answer reached Discord when its reply did not, or when its process
stopped before recording it (a reaction's working message too); and a post an earlier attempt
made, found in the channel's recent history.

A time-out or a dropped connection loses the reply, not necessarily the answer: Discord may
have shown it. Before a job is given up as unanswered, the channel is asked. The first answer
is the interaction's `@original`, which its token reads back. A follow-up has no such handle:
it is found among the channel's messages that came after the interaction, by the
interaction each one names (`interaction_metadata`). Every look is bounded; one that fails
says "not found", and the caller then corrects whatever may be there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import discord

from bot.discord.answers import InteractionAnswer, token_usable
from bot.discord.connection import CALL_FAILED
from bot.storage import Job

LOOKUP_SECONDS = 10.0
HISTORY_LOOKBACK = 100  # recent messages searched for a post an earlier attempt made
# Messages read after the interaction, oldest first: a burst's other answers come in between.
FOLLOWUP_LOOKBACK = 100
# Discord refused or lost the look, or discord.py refused it (a channel it does not know).
LOOKUP_FAILED: tuple[type[BaseException], ...] = (*CALL_FAILED, discord.ClientException)

log = logging.getLogger(__name__)


async def landed(interaction: discord.Interaction, *, followup: bool) -> int | None:
    """The id of the interaction's public answer (`followup`: its first follow-up from the
    bot) if Discord has it although its reply was lost; None if not, or if it cannot be told."""
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            if not followup:
                found = await interaction.original_response()
                # Not a private hold whose own reply was lost: that is no public answer.
                return None if found.flags.ephemeral else found.id
            return await _followup(interaction.client, interaction.channel, interaction.id)
    except LOOKUP_FAILED:
        return None


@dataclass(frozen=True)
class Shown:
    """What shows of an answer whose process stopped before recording it: a public message,
    or the member's private hold still "thinking" (`thinking`), the one thing they see; or
    (`private`) only the hold, resolved ("the video is starting (see below)") before the
    public answer could follow: the member had an answer of the bot's, the channel none."""

    message_id: int
    thinking: bool = False
    private: bool = False


async def unrecorded(
    client: discord.Client, job: Job, channel: discord.abc.Messageable
) -> Shown | None:
    """The answer of a job whose process stopped between answering its member and recording
    the answer (the job was taken over in `submitting`), found with the token written with the
    job: the interaction's first answer when public, else the follow-up that named it after a
    private hold, else that hold if it still says "thinking" (the process stopped before it
    answered at all). None if none shows, or if it cannot be told."""
    if not token_usable(job):
        return None
    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            original = await InteractionAnswer(client, job).original()
            if not original.private:
                return Shown(original.message_id)
            if original.thinking:
                return Shown(original.message_id, thinking=True)
            held = Shown(original.message_id, private=True)
            if original.interaction_id is None:
                return held
            found = await _followup(client, channel, original.interaction_id)
            return held if found is None else Shown(found)
    except LOOKUP_FAILED:
        return None


async def posted_unrecorded(
    client: discord.Client,
    job_id: str,
    channel: discord.abc.Messageable,
    heading: str,
    under: int | None,
) -> int | None:
    """The working message the bot posted for a job a reaction started, whose process stopped
    before recording it: no interaction, so no token to find it with. Among the channel's
    recent messages, the bot's latest reply (to `under`, the result reacted to, when known)
    whose first line is the job's `heading`, with no buttons (a result or a failure has some)
    and no interaction. None if none shows, or if the history cannot be read."""

    def working(message: discord.Message) -> bool:
        answered = message.reference.message_id if message.reference is not None else None
        return (
            answered is not None
            and (under is None or answered == under)
            and not message.components
            and message.interaction_metadata is None
            and message.content.split("\n", 1)[0] == heading
        )

    try:
        async with asyncio.timeout(LOOKUP_SECONDS):
            return await in_history(client, job_id, channel, working)
    except LOOKUP_FAILED:
        return None


async def _followup(client: discord.Client, channel: object, interaction_id: int) -> int | None:
    """The bot's public follow-up that names the interaction, among the channel's messages
    after it."""
    me = client.user
    if me is None or not isinstance(channel, discord.abc.Messageable):
        return None
    after = discord.Object(interaction_id)
    async for message in channel.history(limit=FOLLOWUP_LOOKBACK, after=after, oldest_first=True):
        asked = message.interaction_metadata
        mine = message.author.id == me.id and not message.flags.ephemeral  # the public one
        if mine and asked is not None and asked.id == interaction_id:
            return message.id
    return None


async def in_history(
    client: discord.Client,
    job_id: str,
    channel: discord.abc.Messageable,
    match: Callable[[discord.Message], bool],
) -> int | None:
    """The bot's latest message among the channel's recent ones that `match`es (a result or
    a failure an earlier attempt for the job posted); None if none, or if the history cannot be
    read (without Read Message History)."""
    me = client.user
    try:
        async for message in channel.history(limit=HISTORY_LOOKBACK):
            if me is not None and message.author.id == me.id and match(message):
                return int(message.id)
    except discord.HTTPException as exc:
        log.info("Job %s: could not read the channel's history (%s)", job_id, exc.status)
    return None
