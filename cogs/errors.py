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
from bot.discord.wording import language_of, say
from bot.errors import MemberError

log = logging.getLogger(__name__)


def explain(
    error: app_commands.AppCommandError,
    interaction: discord.Interaction | None = None,
    lang: str = "en",
) -> str | None:
    """A message for errors the member can act on, in their language; None for faults of
    ours."""
    original = getattr(error, "original", None)
    if isinstance(original, MemberError):
        return explain_member_error(original, lang)
    if isinstance(error, app_commands.TransformerError):
        option = option_of(interaction, error) if interaction is not None else "option"
        rule = say("rule.not_found", lang)
        return f"⚠️ {say('input.line', lang, option=option, rule=rule)}"
    if isinstance(error, app_commands.CheckFailure):
        return f"⛔ {error}"
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return f"⚠️ {say('rule.outdated_command', lang)}"
    return None


def option_of(interaction: discord.Interaction, error: app_commands.TransformerError) -> str:
    """The option whose value a transformer could not convert, found in the namespace."""
    for name, value in iter(interaction.namespace):
        if value is error.value or value == error.value:
            return str(name)
    return "option"


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
        lang = language_of(interaction.locale)
        try:
            message = explain(error, interaction, lang)
        except (KeyError, IndexError, ValueError):  # a sentence that does not fill: ours
            log.exception("Could not word an error for the member")
            message = None
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("Command %s failed", command, exc_info=error)
            message = say("error.internal", lang)
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
