"""Buttons and reactions on results: extend, upscale, re-roll, info.

A press or reaction from the requester or a member with Manage Messages starts the follow-up and
says so in the channel. Anyone else: a button gets an ephemeral explanation, a reaction is
removed. The rules live in `bot.jobs.followups`.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.app import PikaBot
from bot.guardrails import Refusal
from bot.jobs.controls import REACTIONS
from bot.jobs.followups import FollowUpRefused
from bot.jobs.texts import result_embed, working_text

log = logging.getLogger(__name__)


class Controls(commands.Cog):
    """Listens for control presses and reactions."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_pika_control(
        self, interaction: discord.Interaction, action: str, job_id: str
    ) -> None:
        """A button on a result was pressed."""
        if action == "info":
            job = await self.bot.store.get(job_id)
            if job is None:
                await interaction.response.send_message("That job is unknown.", ephemeral=True)
                return
            await interaction.response.send_message(
                embed=result_embed(job, linked=True), ephemeral=True
            )
            return
        may_moderate = interaction.permissions.manage_messages
        channel = interaction.channel
        where = channel.parent_id if isinstance(channel, discord.Thread) else interaction.channel_id
        try:
            job, created = await self.bot.follow_ups.start(
                action, job_id, interaction.user.id, may_moderate=may_moderate,
                role_ids=frozenset(r.id for r in getattr(interaction.user, "roles", [])),
                channel_id=where,
            )  # fmt: skip
        except (FollowUpRefused, Refusal) as exc:
            await interaction.response.send_message(f"⛔ {exc}", ephemeral=True)
            return
        if not created:
            await interaction.response.send_message(
                f"Already on it: job `{job.id}`.", ephemeral=True
            )
            return
        answer = await interaction.response.send_message(
            working_text(job), allowed_mentions=discord.AllowedMentions.none()
        )
        await self.bot.jobs.start(job.id, answer.message_id)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        """A reaction on a result: works for results posted before a restart too."""
        action = REACTIONS.get(str(event.emoji))
        if action is None or self.bot.user is None or event.user_id == self.bot.user.id:
            return
        parent = await self.bot.store.by_result_message(event.message_id)
        if parent is None:
            return
        channel = self.bot.get_channel(event.channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            return
        member = event.member
        may_moderate = bool(member and channel.permissions_for(member).manage_messages)
        message = channel.get_partial_message(event.message_id)
        where = channel.parent_id if isinstance(channel, discord.Thread) else channel.id
        try:
            job, created = await self.bot.follow_ups.start(
                action, parent.id, event.user_id, may_moderate=may_moderate,
                role_ids=frozenset(r.id for r in member.roles) if member else frozenset(),
                channel_id=where,
            )  # fmt: skip
        except (FollowUpRefused, Refusal) as exc:
            await self._remove(message, event)
            if event.user_id == parent.user_id or may_moderate:
                await channel.send(
                    f"<@{event.user_id}> {exc}", delete_after=20,
                    allowed_mentions=discord.AllowedMentions(users=True),
                )  # fmt: skip
            return
        if not created:
            return
        status = await channel.send(
            working_text(job), reference=message.to_reference(fail_if_not_exists=False),
            allowed_mentions=discord.AllowedMentions.none(),
        )  # fmt: skip
        await self.bot.jobs.start(job.id, status.id)

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
