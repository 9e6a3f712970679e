"""`python benchmarks/calls_bot.py`: the calls floor, a bot that makes the HTTP calls the real
bot makes for each `/pika generate` of a burst, through the same libraries, and nothing else.

For each request: the private hold when it waits for its turn (eight turns, as
`bot/answering.py`), then the hold resolved and the public working message as a follow-up (or
that message as the first answer); the paid call and two polls through the bot's Pika client
(httpx over aiohttp); the result downloaded through the safe fetcher and posted as a follow-up
that pings, with its embed and the bot's four buttons; the working message deleted; three
reactions added; all on the bot's event loop (`bot/event_loop.py`), through discord.py's
session as the bot sets it (`bot/discord/connection.py`: every call's time-outs, its
middlewares, the count of each request). No database, guardrails, journal, ledger, tracker,
other metrics or logging. Its CPU per job, beside the bot's in
`benchmarks/burst.py`, is the share of the bot's CPU that the calls themselves cost: the bot
cannot spend less than this on the same calls.

Configured by the bot's own settings (DISCORD_TOKEN, DISCORD_GUILD_ID, DISCORD_API_BASE_URL,
DISCORD_GATEWAY_URL, PIKA_API_KEY, PIKA_BASE_URL, ALLOWED_PRIVATE_HOSTS).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path

import discord
from discord import app_commands

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import event_loop
from bot.answering import ANSWERS_AT_ONCE
from bot.discord.connection import REST_TIMEOUT, bound_rest_calls, tune_session
from bot.discord.downloads import downloaded
from bot.discord.results import CONTROLS, REACTIONS, ControlButton
from bot.discord.target import point_discord_at
from bot.ops.metrics import Metrics
from bot.pika.client import PikaClient
from bot.pika.models import CreateJobResponse, Generate10Request, JobStatus, Options
from bot.pika.transport import shared_http_client
from bot.safe_fetch import SafeFetcher, parse_allowed_hosts

# The bot's two polls of a 3 s job at POLL_INTERVAL_SECONDS=1: with no estimate, 1.5 intervals
# after the paid call; then at the finish the progress foretold, plus a little.
FIRST_POLL, SECOND_POLL = 1.5, 3.1


class CallsBot(discord.Client):
    """One command; each use makes the real bot's HTTP calls for a job, in its order."""

    def __init__(self, guild_id: int, pika: PikaClient, fetcher: SafeFetcher) -> None:
        intents = discord.Intents.none()  # the bot's own: what the gateway sends it
        intents.guilds = True
        intents.guild_reactions = True
        super().__init__(intents=intents)
        bound_rest_calls(self.http, REST_TIMEOUT)
        self.guild = discord.Object(id=guild_id)
        self.tree = app_commands.CommandTree(self)
        self.turns = asyncio.Semaphore(ANSWERS_AT_ONCE)
        pika_group = app_commands.Group(name="pika", description="Make videos with Pika")

        @pika_group.command(name="generate", description="Text to video")
        async def generate(interaction: discord.Interaction, prompt: str) -> None:
            await self.job(interaction, prompt, pika, fetcher)

        self.tree.add_command(pika_group)

    async def job(
        self, interaction: discord.Interaction, prompt: str, pika: PikaClient, fetcher: SafeFetcher
    ) -> None:
        none = discord.AllowedMentions.none()
        text = f"🎬 <@{interaction.user.id}> asked for “{prompt}”\nWaiting… ready <t:0:R>"
        if self.turns.locked():
            await interaction.response.defer(ephemeral=True, thinking=True)
        async with self.turns:
            if interaction.response.is_done():
                await interaction.edit_original_response(content="Your job started below.")
                working = await interaction.followup.send(text, allowed_mentions=none, wait=True)
                working_id = working.id
            else:
                answered = await interaction.response.send_message(text, allowed_mentions=none)
                working_id = answered.message_id or 0
        created = await pika.submit(
            Generate10Request(prompt_text=prompt, options=Options.default())
        )
        assert isinstance(created, CreateJobResponse) and created.job_id is not None
        job_id = created.job_id
        await asyncio.sleep(FIRST_POLL)  # no estimate yet: half way through, as the bot
        state = (await pika.get_job(job_id)).state(job_id)
        await asyncio.sleep(SECOND_POLL - FIRST_POLL)  # then just after the expected finish
        state = (await pika.get_job(job_id)).state(job_id)
        while state.status is not JobStatus.FINISHED:
            await asyncio.sleep(0.1)
            state = (await pika.get_job(job_id)).state(job_id)
        assert state.result_url is not None
        embed = discord.Embed(title=prompt, description="Made with Pika")
        # The bot's own buttons (`result_view`): four, persistent, each a DynamicItem, which
        # discord.py keeps no timer and no per-message record for.
        view = discord.ui.View(timeout=None)
        ours = secrets.token_hex(5)  # a job id of the bot's shape
        for control in CONTROLS:
            view.add_item(ControlButton(control.action, ours))
        async with downloaded(fetcher, state.result_url, 25 << 20) as video:  # as the bot
            result = await interaction.followup.send(
                f"<@{interaction.user.id}>, your video is ready",
                embed=embed,
                file=video.file("video.mp4"),
                view=view,
                wait=True,
            )
        await interaction.followup.delete_message(working_id)
        for emoji in REACTIONS:
            await result.add_reaction(emoji)

    async def setup_hook(self) -> None:
        # A time-out on every call, as the bot's standards ask: aiohttp then arms a timer for
        # each read, which a session without one skips.
        tune_session(self.http, Metrics().discord_middleware)
        self.tree.copy_global_to(guild=self.guild)
        await self.tree.sync(guild=self.guild)

    async def on_ready(self) -> None:
        print("Ready as the calls bot", flush=True)


async def run() -> None:
    """Run until killed."""
    point_discord_at(os.environ["DISCORD_API_BASE_URL"], os.environ["DISCORD_GATEWAY_URL"])
    fetcher = SafeFetcher(
        parse_allowed_hosts(os.environ.get("ALLOWED_PRIVATE_HOSTS", "")), keep_alive=True
    )
    async with (
        shared_http_client() as http,
        PikaClient(os.environ["PIKA_API_KEY"], os.environ["PIKA_BASE_URL"], http=http) as pika,
        CallsBot(int(os.environ["DISCORD_GUILD_ID"]), pika, fetcher) as client,
    ):
        try:
            await client.start(os.environ["DISCORD_TOKEN"])
        finally:
            await fetcher.aclose()


if __name__ == "__main__":
    event_loop.run(run())
