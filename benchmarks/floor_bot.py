"""`python benchmarks/floor_bot.py`: the floor, the least any discord.py bot does with
`/pika generate`: it acknowledges the interaction and nothing else. The burst benchmark runs it
on the same fake Discord as the real bot, so that the bot's acknowledgement times have a floor
to be compared with; it runs on the bot's own event loop (`bot/event_loop.py`). Configured by
the bot's own settings (DISCORD_TOKEN, DISCORD_GUILD_ID, DISCORD_API_BASE_URL,
DISCORD_GATEWAY_URL).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import discord
from discord import app_commands

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import event_loop
from bot.discord.target import point_discord_at


class FloorBot(discord.Client):
    """One command, answered at once."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents.default())
        self.guild = discord.Object(id=guild_id)
        self.tree = app_commands.CommandTree(self)
        pika = app_commands.Group(name="pika", description="Make videos with Pika")

        @pika.command(name="generate", description="Text to video")
        async def generate(interaction: discord.Interaction, prompt: str) -> None:
            await interaction.response.send_message(f"Working on {prompt}")

        self.tree.add_command(pika)

    async def setup_hook(self) -> None:
        self.tree.copy_global_to(guild=self.guild)
        await self.tree.sync(guild=self.guild)

    async def on_ready(self) -> None:
        print("Ready as the floor bot", flush=True)


async def run() -> None:
    """Run until killed."""
    point_discord_at(os.environ["DISCORD_API_BASE_URL"], os.environ["DISCORD_GATEWAY_URL"])
    async with FloorBot(int(os.environ["DISCORD_GUILD_ID"])) as client:
        await client.start(os.environ["DISCORD_TOKEN"])


if __name__ == "__main__":
    event_loop.run(run())
