"""Buttons and reactions on results (extend, upscale, re-roll, info) and Retry on failures.

Buttons and reactions follow the same rules (`bot.followups`, through `bot.submit`): a press
from the requester or a member with Manage Messages starts the job and says so in the channel;
a press that repeats one points to it. Nothing is silent: a press or a reaction that starts
nothing is answered by the one error handler (`cogs/errors.py`; a refusal raised here reaches it
through `Client.on_error`): a button privately, a reaction (which has no interaction to answer)
by a short note in the channel (`bot/discord/notes.py`; by DM where the bot may no longer
post there), and the reaction is removed.
"""

from __future__ import annotations

import asyncio
import functools

import discord
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.chats import Chat
from bot.discord.connection import ANSWER_LOST, CALL_FAILED, refused
from bot.discord.landed import HISTORY_LOOKBACK, LOOKUP_FAILED
from bot.discord.results import REACTIONS
from bot.discord.texts import lang_of, repeat_text, working_text
from bot.followups import FollowUpRefused
from bot.storage import Job
from bot.submit import Answered, Member, Unanswered
from cogs.options import (
    FIRST_ANSWER_SECONDS,
    announcer,
    answer_repeat,
    holder,
    info_answer,
    lang,
    linked,
    member_of,
)


def working_nonce(job: Job) -> str:
    """The nonce of a job's working message posted with the bot's token: not the job's id,
    which its result's post carries (Discord would give this message back for that one)."""
    return f"working-{job.id}"


class Controls(commands.Cog):
    """Listens for control presses and reactions."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_pika_control(
        self, interaction: discord.Interaction, action: str, job_id: str
    ) -> None:
        """A button on a result (or Retry on a failure) was pressed."""
        if action == "info":
            await self.info(interaction, job_id)
            return
        # A refusal (MemberError) propagates: cogs/errors.py answers it, privately.
        member, announce = member_of(interaction), announcer(self.bot, interaction)
        wait = holder(interaction)  # held privately at once when its turn is behind others
        if action == "retry":
            job, created = await self.bot.submissions.retry(member, job_id, announce, wait=wait)
        else:
            job, created = await self.bot.submissions.control(
                member, action, job_id, announce, wait=wait
            )
        if not created:
            await answer_repeat(self.bot, interaction, job)

    async def info(self, interaction: discord.Interaction, job_id: str) -> None:
        """Everything about the job, privately."""
        job = await self.bot.storage.jobs.get(job_id)
        if job is None:
            raise FollowUpRefused("control.unknown_job")
        shown, viewer = interaction.message, interaction.user.id
        embed = await info_answer(self.bot, job, lang(interaction), shown, viewer)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        """A reaction on a result: works for results posted before a restart too."""
        action = REACTIONS.get(str(event.emoji))
        if action is None or self.bot.user is None or event.user_id == self.bot.user.id:
            return
        if event.member is not None and event.member.bot:
            # Another bot's (a voting bot's ⬆️ on every post): it asks for nothing, and a
            # note would go to no one who reads it.
            return
        parent = await self.bot.storage.jobs.by_result_message(event.message_id)
        if parent is None:
            return
        channel = self.bot.get_channel(event.channel_id)
        if not isinstance(channel, Chat):
            return
        member = event.member
        message = channel.get_partial_message(event.message_id)
        who = Member(
            guild_id=event.guild_id,
            user_id=event.user_id,
            channel_id=channel.id,
            parent_channel_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
            role_ids=frozenset(r.id for r in member.roles) if member else frozenset(),
            may_moderate=bool(member and channel.permissions_for(member).manage_messages),
        )

        shut_out = False  # the channel refused the working message: the bot cannot post there

        async def announce(job: Job) -> Answered:
            nonlocal shut_out
            text = working_text(job, await self.bot.estimates.standing(job))
            post = functools.partial(
                channel.send,
                text,
                reference=message.to_reference(fail_if_not_exists=False),
                allowed_mentions=discord.AllowedMentions.none(),
                nonce=working_nonce(job),
            )
            try:
                try:
                    # Bounded: discord.py would wait out a 429's Retry-After however long, the
                    # job counted as running all along.
                    async with asyncio.timeout(FIRST_ANSWER_SECONDS):
                        status = await post()
                except ANSWER_LOST:
                    # The reply was lost, maybe not the post: sent again with its nonce,
                    # Discord gives back the one it kept, or posts it now.
                    async with asyncio.timeout(FIRST_ANSWER_SECONDS):
                        status = await post()
            except CALL_FAILED as exc:
                # Both replies lost, maybe not the post: the job goes on with it when the
                # channel shows it (else it would say "waiting in line" there for ever).
                lost = isinstance(exc, ANSWER_LOST)
                found = await posted(channel, text, message.id) if lost else None
                if found is None:
                    shut_out = isinstance(exc, discord.HTTPException) and refused(exc)
                    raise Unanswered(type(exc).__name__) from exc
                return Answered(found)
            return Answered(status.id)

        # A refusal (MemberError) propagates: cogs/errors.py removes the reaction and says why.
        job, created = await self.bot.submissions.control(who, action, parent.id, announce)
        if shut_out:  # cancelled unpaid; told as a refusal, by DM where the channel refuses
            raise FollowUpRefused("control.cannot_post", channel=channel.id)
        if not created:
            job = await linked(self.bot, job)
            text = repeat_text(job, lang_of(parent))
            await self.bot.reaction_notes.note(channel, message.id, event.user_id, text)


async def posted(channel: Chat, text: str, under: int) -> int | None:
    """The bot's working message with this text in reply to the result `under`, if the channel
    shows it; None if not, or if that cannot be told in time."""
    me = channel.guild.me.id

    def mine(found: discord.Message) -> bool:
        answered = found.reference.message_id if found.reference else None
        return found.author.id == me and found.content == text and answered == under

    try:
        async with asyncio.timeout(FIRST_ANSWER_SECONDS):
            async for found in channel.history(limit=HISTORY_LOOKBACK):
                if mine(found):
                    return found.id
    except LOOKUP_FAILED:
        pass
    return None


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Controls(bot))
