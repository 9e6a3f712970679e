"""Buttons and reactions on results (extend, upscale, re-roll, info) and Retry on failures.

Buttons and reactions follow the same rules (`bot.followups`, through `bot.submit`): a press
from the requester or a member with Manage Messages starts the job and says so in the channel;
a press that repeats one points to it. Nothing is silent: a button that starts nothing is
answered privately by the one error handler (`cogs/errors.py`; a refusal raised here reaches it
through `Client.on_error`). A reaction has no interaction to answer, so a reaction that starts
nothing is explained in the channel, in the same words, to that member only, at most once per
member per message per minute: fifteen reactions make one notice, not fifteen. The notice goes
after a while; a refused reaction is removed.
"""

from __future__ import annotations

import logging
import time

import discord
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.results import REACTIONS
from bot.discord.texts import lang_of, repeat_text, working_text
from bot.discord.wording import explain, say
from bot.errors import MemberError
from bot.followups import FollowUpRefused
from bot.storage import Job
from bot.submit import Answered, Member, Unanswered
from cogs.options import announcer, answer_repeat, info_answer, lang, linked, member_of

log = logging.getLogger(__name__)

NOTICE_EVERY = 60.0  # seconds between two notices to one member about one message
NOTICE_SECONDS = 20  # how long a notice stays in the channel
MAX_REMEMBERED = 10_000  # (member, message) pairs remembered, oldest forgotten first


class Controls(commands.Cog):
    """Listens for control presses and reactions."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot
        self._noticed: dict[tuple[int, int], float] = {}

    def _may_notice(self, user_id: int, message_id: int) -> bool:
        """Whether a reaction that started nothing may be explained now (not in the last
        minute)."""
        now = time.monotonic()
        key = (user_id, message_id)
        if now - self._noticed.get(key, -NOTICE_EVERY) < NOTICE_EVERY:
            return False
        self._noticed.pop(key, None)
        self._noticed[key] = now
        while len(self._noticed) > MAX_REMEMBERED:
            del self._noticed[next(iter(self._noticed))]
        return True

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
        if action == "retry":
            job, created = await self.bot.submissions.retry(member, job_id, announce)
        else:
            job, created = await self.bot.submissions.control(member, action, job_id, announce)
        if not created:
            await answer_repeat(self.bot, interaction, job)

    async def info(self, interaction: discord.Interaction, job_id: str) -> None:
        """Everything about the job, privately."""
        job = await self.bot.storage.jobs.get(job_id)
        if job is None:
            raise FollowUpRefused("control.unknown_job")
        embed = await info_answer(self.bot, job, lang(interaction), interaction.message)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        """A reaction on a result: works for results posted before a restart too."""
        action = REACTIONS.get(str(event.emoji))
        if action is None or self.bot.user is None or event.user_id == self.bot.user.id:
            return
        parent = await self.bot.storage.jobs.by_result_message(event.message_id)
        if parent is None:
            return
        channel = self.bot.get_channel(event.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
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

        async def announce(job: Job) -> Answered:
            try:
                status = await channel.send(
                    working_text(job, await self.bot.estimates.standing(job)),
                    reference=message.to_reference(fail_if_not_exists=False),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException as exc:
                raise Unanswered(type(exc).__name__) from exc
            return Answered(status.id)

        language = lang_of(parent)
        try:
            job, created = await self.bot.submissions.control(who, action, parent.id, announce)
        except MemberError as exc:
            await self._remove(message, event)
            await self._note(channel, message, event.user_id, explain(exc, language))
            return
        if not created:
            job = await linked(self.bot, job)
            await self._note(channel, message, event.user_id, repeat_text(job, language))

    async def _note(
        self,
        channel: discord.TextChannel | discord.Thread,
        message: discord.PartialMessage,
        user_id: int,
        text: str,
    ) -> None:
        """Explain a reaction that started nothing, once per member and message a minute."""
        if not self._may_notice(user_id, message.id):
            return
        try:
            await channel.send(
                say("reaction.note", "en", user=user_id, text=text),
                delete_after=NOTICE_SECONDS,
                allowed_mentions=discord.AllowedMentions(users=[discord.Object(id=user_id)]),
            )
        except discord.HTTPException:
            log.info("Could not explain a reaction on %d", message.id)

    async def _remove(
        self, message: discord.PartialMessage, event: discord.RawReactionActionEvent
    ) -> None:
        try:
            await message.remove_reaction(event.emoji, discord.Object(id=event.user_id))
        except discord.HTTPException:
            log.info("Could not remove a reaction on %d", event.message_id)


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Controls(bot))
