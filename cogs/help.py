"""`/pika-help`: what the bot does here, and whether videos are real or simulated."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.catalogues import translations
from bot.discord.wording import language_of, say


class Help(commands.Cog):
    """A short guide, shown only to the member who asks."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot

    @app_commands.command(name="pika-help", description="How to make videos with Pika here")
    async def help(self, interaction: discord.Interaction) -> None:
        """Answer with the guide."""
        lang = language_of(interaction.locale)
        mode = say("help.simulated" if self.bot.settings.uses_local_pika else "help.real", lang)
        # What this server allows: a guide offering extend and upscale where the owner turned
        # them off sent members to a refusal.
        rules = await self.bot.server_settings.get(interaction.guild_id)
        if rules.paid_features:
            # The menus as Discord shows them to this member, in their language.
            names = translations(lang).names
            controls = say(
                "help.controls",
                lang,
                extend=names.get("Extend video", "Extend video"),
                upscale=names.get("Upscale video", "Upscale video"),
            )
        else:
            controls = say("help.controls_unpaid", lang)
        await interaction.response.send_message(
            say("help.guide", lang, mode=mode, controls=controls), ephemeral=True
        )


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Help(bot))
