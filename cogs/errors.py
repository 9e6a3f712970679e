"""The one place that turns an app-command error into an answer: no interaction is left
unanswered, bad input is explained, and anything unexpected is logged with its traceback."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.intake import InputError

log = logging.getLogger(__name__)


def explain(error: app_commands.AppCommandError) -> str | None:
    """A message for errors caused by the member's input; None for faults of ours."""
    original = getattr(error, "original", None)
    if isinstance(original, InputError):
        return f"⚠️ {original}"
    if isinstance(error, app_commands.TransformerError):
        name = getattr(error.transformer, "_rng_name", None) or "option"
        return f"⚠️ {name}: {error}"
    if isinstance(error, app_commands.CheckFailure):
        return f"⛔ {error}"
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return (
            "⚠️ Your Discord app has an outdated copy of this command (an option is missing). "
            "Reload Discord (Ctrl+R) and try again."
        )
    return None


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
            message = (
                "💥 Something went wrong on the bot's side; it has been logged. Please try again."
            )
        try:
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True)
            else:
                await interaction.response.send_message(message, ephemeral=True)
        except discord.HTTPException:
            log.warning("Could not tell the member about an error", exc_info=True)


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Errors(bot))
