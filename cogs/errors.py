"""The one place that turns an app-command error into an answer: no interaction is left
unanswered, a member's mistake is explained, and anything unexpected is logged with its
traceback."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.wording import explain as explain_member_error
from bot.discord.wording import say
from bot.errors import MemberError

log = logging.getLogger(__name__)


def explain(error: app_commands.AppCommandError) -> str | None:
    """A message for errors the member can act on; None for faults of ours."""
    original = getattr(error, "original", None)
    if isinstance(original, MemberError):
        return explain_member_error(original)
    if isinstance(error, app_commands.TransformerError):
        name = _option_of(error)
        return f"⚠️ {name}: {error}"
    if isinstance(error, app_commands.CheckFailure):
        return f"⛔ {error}"
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return f"⚠️ {say('rule.outdated_command')}"
    return None


def _option_of(error: app_commands.TransformerError) -> str:
    """The option a transformer error is about (a Range names its own)."""
    transformer = error.transformer
    name = getattr(transformer, "_rng_name", None)  # discord.py's Range keeps it privately
    return str(name) if name else "option"


class Errors(commands.Cog):
    """Installs the tree's error handler."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.tree.error(self.on_app_command_error)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Answer the member; log what they cannot fix."""
        message = explain(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("Command %s failed", command, exc_info=error)
            message = say("error.internal")
        none = discord.AllowedMentions.none()
        try:
            if (
                interaction.response.type
                is discord.InteractionResponseType.deferred_channel_message
            ):
                # Held privately while the files were probed: the answer takes its place.
                await interaction.edit_original_response(content=message, allowed_mentions=none)
            elif interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True, allowed_mentions=none)
            else:
                await interaction.response.send_message(
                    message, ephemeral=True, allowed_mentions=none
                )
        except discord.HTTPException:
            log.warning("Could not tell the member about an error", exc_info=True)


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Errors(bot))
