"""Buttons and reactions on results: extend, upscale, re-roll, info.

A press or reaction from the requester or a member with Manage Messages starts the follow-up and
says so in the channel. A refused button press gets a private explanation. A refused reaction is
removed and explained in the channel (a reaction has no private answer), to that member only,
at most once per member per message per minute: fifteen reactions make one notice, not fifteen.
The rules live in `bot.followups`, the path to a job in `bot.submit`.
"""

from __future__ import annotations

import logging
import time

import discord
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.results import REACTIONS, result_embed
from bot.discord.wording import explain, say, working_text
from bot.errors import MemberError
from bot.storage import Job
from bot.submit import Member
from cogs.options import announcer, member_of

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
        """Whether a refused reaction may be explained now (not in the last minute)."""
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
        """A button on a result was pressed."""
        if action == "info":
            job = await self.bot.storage.jobs.get(job_id)
            if job is None:
                await interaction.response.send_message(say("control.unknown_info"), ephemeral=True)
                return
            await interaction.response.send_message(
                embed=result_embed(job, linked=True), ephemeral=True
            )
            return
        try:
            job, created = await self.bot.submissions.control(
                member_of(interaction), action, job_id, announcer(interaction)
            )
        except MemberError as exc:
            await interaction.response.send_message(explain(exc), ephemeral=True)
            return
        if not created:
            await interaction.response.send_message(
                say("control.already_on_it", job_id=job.id), ephemeral=True
            )

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

        async def announce(job: Job) -> int | None:
            status = await channel.send(
                working_text(job),
                reference=message.to_reference(fail_if_not_exists=False),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return status.id

        try:
            await self.bot.submissions.control(who, action, parent.id, announce)
        except MemberError as exc:
            await self._remove(message, event)
            if self._may_notice(event.user_id, event.message_id):
                await channel.send(
                    f"<@{event.user_id}> {explain(exc)}",
                    delete_after=NOTICE_SECONDS,
                    allowed_mentions=discord.AllowedMentions(users=[discord.Object(event.user_id)]),
                )

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
