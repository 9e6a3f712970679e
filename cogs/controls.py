"""Buttons and reactions on results (extend, upscale, re-roll, info) and Retry on failures
(its button, or a 🔁 or 🔄 reaction).

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
import contextlib
import functools
import logging

import discord
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.chats import Chat
from bot.discord.connection import ANSWER_LOST, CALL_FAILED, refused
from bot.discord.landed import HISTORY_LOOKBACK, LOOKUP_FAILED
from bot.discord.results import REACTIONS, RETRY, retried_job
from bot.discord.texts import failure_text, lang_of, repeat_text, working_text
from bot.errors import MemberError
from bot.followups import FollowUpRefused
from bot.storage import Job
from bot.submit import Announce, Answered, Member, Unanswered
from cogs.options import (
    FIRST_ANSWER_SECONDS,
    announcer,
    answer_repeat,
    forget_hold,
    holder,
    info_answer,
    lang,
    linked,
    member_of,
)

log = logging.getLogger(__name__)

# Reactions that retry a failure: the re-roll's (which a member tries on anything that went
# wrong) and the Retry button's own.
RETRY_REACTIONS = frozenset({"🔁", RETRY.emoji})
# A failure without Retry is known by its words among its requester's latest jobs, this many.
FAILURES_LOOKED_AT = 20


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
        self.bot.received(interaction)  # answered by a clean stop before it closes anything
        if action == "info":
            await self.info(interaction, job_id)
            return
        # A refusal (MemberError) propagates: cogs/errors.py answers it, privately.
        member, announce = member_of(interaction), announcer(self.bot, interaction)
        wait = holder(self.bot, interaction)  # held privately when its turn is behind others
        if action == "retry":
            job, created = await self.bot.submissions.retry(member, job_id, announce, wait=wait)
        else:
            job, created = await self.bot.submissions.control(
                member, action, job_id, announce, wait=wait
            )
        if not created:
            await answer_repeat(self.bot, interaction, job)
        await forget_hold(self.bot, interaction)

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
        """A reaction on a result: works for results posted before a restart too. 🔁 or 🔄 on
        a failure of the bot's retries it, as its Retry button does."""
        action = REACTIONS.get(str(event.emoji))
        retrying = str(event.emoji) in RETRY_REACTIONS
        if (action is None and not retrying) or self.bot.user is None:
            return
        if event.user_id == self.bot.user.id:
            return
        if event.member is not None and event.member.bot:
            # Another bot's (a voting bot's ⬆️ on every post): it asks for nothing, and a
            # note would go to no one who reads it.
            return
        channel = self.bot.get_channel(event.channel_id)
        if not isinstance(channel, Chat):
            return
        parent = await self.bot.storage.jobs.by_result_message(event.message_id)
        if parent is None:
            # No result: a failure of ours, found by its Retry button (only a message the bot
            # wrote is read: a 🔁 on members' messages costs nothing).
            if retrying and event.message_author_id == self.bot.user.id:
                await self._retry_failure(event, channel)
            return
        if action is None:
            return
        message = channel.get_partial_message(event.message_id)
        who = self._member(event, channel)
        announce, shut_out = self._announcer(channel, message)
        # A refusal (MemberError) propagates: cogs/errors.py removes the reaction and says why.
        job, created = await self.bot.submissions.control(who, action, parent.id, announce)
        await self._after(channel, message, event.user_id, job, created, lang_of(parent), shut_out)

    async def _retry_failure(self, event: discord.RawReactionActionEvent, channel: Chat) -> None:
        """A 🔁 on a failure: Retry, with its permission rules and its repeat guard."""
        try:
            async with asyncio.timeout(FIRST_ANSWER_SECONDS):
                found = await channel.fetch_message(event.message_id)
        except LOOKUP_FAILED as exc:
            log.info("Could not read a message reacted to (%s)", type(exc).__name__)
            return
        job_id = retried_job(found)
        if job_id is None:
            told = await self._failure_told(found, event.guild_id)
            if told is None:
                return  # not a failure (a working message, a note): no retry was meant
            # A failure without Retry: asked again as it was, it would fail the same way.
            refusal = FollowUpRefused("control.not_retryable")
            refusal.language = lang_of(told)
            raise refusal
        failed = await self.bot.storage.jobs.get(job_id)
        language = lang_of(failed) if failed is not None else None
        message = channel.get_partial_message(event.message_id)
        announce, shut_out = self._announcer(channel, message)
        try:
            job, created = await self.bot.submissions.retry(
                self._member(event, channel), job_id, announce
            )
        except MemberError as refusal:
            # A reaction carries no language: told in that of the failure it is on.
            refusal.language = language
            raise
        await self._after(channel, message, event.user_id, job, created, language or "en", shut_out)

    async def _failure_told(self, message: discord.Message, guild_id: int | None) -> Job | None:
        """The job whose failure this message of the bot's tells, found by its words among its
        requester's latest jobs (a failure without Retry carries no job id); None if none."""
        if not message.raw_mentions:
            return None
        requester = message.raw_mentions[0]  # a failure begins with its requester's mention
        latest = await self.bot.storage.jobs.recent_for_user(
            guild_id, requester, limit=FAILURES_LOOKED_AT
        )
        for job in latest:
            here = job.channel_id == message.channel.id
            if job.failure and here and failure_text(job) == message.content:
                return job
        return None

    def _member(self, event: discord.RawReactionActionEvent, channel: Chat) -> Member:
        member = event.member
        return Member(
            guild_id=event.guild_id,
            user_id=event.user_id,
            channel_id=channel.id,
            parent_channel_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
            role_ids=frozenset(r.id for r in member.roles) if member else frozenset(),
            may_moderate=bool(member and channel.permissions_for(member).manage_messages),
        )

    def _announcer(
        self, channel: Chat, message: discord.PartialMessage
    ) -> tuple[Announce, list[bool]]:
        """The public working message of a job a reaction started, in reply to the message
        reacted to; and a flag set when the channel refused it (the bot cannot post there)."""
        shut_out = [False]

        async def announce(job: Job) -> Answered:
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
                    shut_out[0] = isinstance(exc, discord.HTTPException) and refused(exc)
                    raise Unanswered(type(exc).__name__) from exc
                return Answered(found, withdraw=functools.partial(withdraw, found))
            return Answered(status.id, withdraw=functools.partial(withdraw, status.id))

        async def withdraw(message_id: int) -> None:
            with contextlib.suppress(*CALL_FAILED):
                async with asyncio.timeout(FIRST_ANSWER_SECONDS):
                    await channel.get_partial_message(message_id).delete()

        return announce, shut_out

    async def _after(
        self,
        channel: Chat,
        message: discord.PartialMessage,
        user_id: int,
        job: Job,
        created: bool,
        language: str,
        shut_out: list[bool],
    ) -> None:
        """What a reaction's job leaves to say: a channel that refused its working message, or
        the job an earlier press started."""
        if shut_out[0]:  # cancelled unpaid; told as a refusal, by DM where the channel refuses
            refusal = FollowUpRefused("control.cannot_post", channel=channel.id)
            refusal.language = language
            raise refusal
        if not created:
            job = await linked(self.bot, job)
            text = repeat_text(job, language)
            await self.bot.reaction_notes.note(channel, message.id, user_id, text)


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
