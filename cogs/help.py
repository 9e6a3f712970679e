"""`/pika-help`: what the bot does, and whether videos are real or simulated."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot


class Help(commands.Cog):
    """A short guide, shown only to the member who asks."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot

    @app_commands.command(name="pika-help", description="How to make videos with Pika here")
    async def help(self, interaction: discord.Interaction) -> None:
        """Answer with the guide."""
        mode = (
            "Videos here are **simulated** by the bot's built-in local Pika: no credits are spent."
            if self.bot.settings.uses_local_pika
            else "Videos are made by Pika and use the server owner's credits."
        )
        await interaction.response.send_message(
            f"**Pika video bot**\n{mode}\n"
            "Start with `/pika generate`, attach an image or a video to animate it, then react "
            "to a result with ⏩ to extend it, ⬆️ to upscale it or 🔁 to re-roll it. "
            "`/pika jobs` lists your jobs and `/pika usage` shows what is left of your quota.",
            ephemeral=True,
        )


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Help(bot))
