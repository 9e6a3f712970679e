"""The bot process: settings, the Pika client (real or local), the Discord client, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence

import discord
import httpx
from discord.ext import commands

from bot.config import HOW_TO_GET_A_BOT_KEY, ConfigError, Settings, load_settings
from bot.discord.delivery import DiscordDelivery
from bot.discord.results import ControlButton
from bot.discord_target import point_discord_at
from bot.guardrails import Guardrails, ServerSettings
from bot.invite import invite_url
from bot.jobs.service import JobService
from bot.jobs.tracker import Tracker
from bot.jobs.webhook import WebhookReceiver
from bot.logging_setup import configure_logging
from bot.pika.client import PikaClient
from bot.storage import Storage, open_storage
from bot.submit import Submissions

log = logging.getLogger(__name__)

# Extensions loaded at start-up, in order.
EXTENSIONS = (
    "cogs.errors",
    "cogs.help",
    "cogs.pika",
    "cogs.menus",
    "cogs.controls",
    "cogs.admin",
)
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2


class PikaBot(commands.Bot):
    """The Discord client: loads the cogs, syncs the commands, and holds shared services."""

    storage: Storage
    jobs: JobService
    tracker: Tracker
    server_settings: ServerSettings
    guardrails: Guardrails
    submissions: Submissions

    def __init__(self, settings: Settings, pika: PikaClient) -> None:
        intents = discord.Intents.default()
        intents.message_content = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            # Results and failures mention their requester; nothing ever pings a role or @everyone.
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        self.settings = settings
        self.pika = pika
        self.downloads = httpx.AsyncClient(timeout=DOWNLOAD_TIMEOUT, follow_redirects=True)
        self.webhooks: WebhookReceiver | None = None
        self._tracker_task: asyncio.Task[None] | None = None

    async def setup_hook(self) -> None:
        self.storage = await open_storage(self.settings.database_path)
        store = self.storage.jobs
        self.jobs = JobService(store, self.pika, self.settings, wake=self._wake_tracker)
        delivery = DiscordDelivery(self, self.downloads)
        self.tracker = Tracker(store, self.pika, self.jobs, delivery, self.settings)
        self.server_settings = ServerSettings(self.storage.guild_settings)
        self.guardrails = Guardrails(store, self.server_settings)
        self.submissions = Submissions(store, self.server_settings, self.guardrails, self.jobs)
        unsent, interrupted = await self.jobs.settle_interrupted()
        if unsent or interrupted:
            log.warning(
                "Resuming: %d unsent job(s) will be sent; %d interrupted job(s) failed "
                "without re-sending",
                unsent,
                interrupted,
            )
        self.add_dynamic_items(ControlButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        if self.settings.webhook_public_url is not None:
            host, port = self.settings.webhook_host_port
            self.webhooks = WebhookReceiver(store, self.tracker, host, port)
            await self.webhooks.start()
        self._tracker_task = asyncio.create_task(self._run_tracker())
        if self.application_id:
            log.info("Invite link: %s", invite_url(self.application_id))

    def _wake_tracker(self) -> None:
        self.tracker.wake()

    async def _run_tracker(self) -> None:
        # Deliveries need the channel cache, which is filled by READY.
        await self.wait_until_ready()
        await self.tracker.run()

    async def close(self) -> None:
        """Stop the tracker and the webhook server, then disconnect."""
        if self._tracker_task is not None:
            self._tracker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tracker_task
            await self.tracker.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        await super().close()
        await self.downloads.aclose()
        if hasattr(self, "storage"):
            await self.storage.close()

    async def sync_commands(self) -> None:
        """Sync to DISCORD_GUILD_ID when set (instant), else globally."""
        guild_id = self.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to server %d", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d global commands (they may take a while to appear)", len(synced))

    async def on_ready(self) -> None:
        user = self.user
        log.info("Ready as %s in %d server(s)", user, len(self.guilds))


@contextlib.asynccontextmanager
async def pika_client(settings: Settings) -> AsyncIterator[PikaClient]:
    """The real Pika when PIKA_API_KEY is set; otherwise the embedded local Pika."""
    if settings.pika_api_key is not None:
        async with PikaClient(
            settings.pika_api_key.get_secret_value(), str(settings.pika_base_url)
        ) as client:
            yield client
        return
    from bot.pika.local.app import running_local_pika

    local_pika = running_local_pika(
        job_seconds=settings.local_pika_job_seconds,
        port=settings.local_pika_port,
        files_dir=settings.database_path.parent / "local-pika",
    )
    async with local_pika as local:
        log.warning(
            "PIKA_API_KEY is not set: videos are simulated by the local Pika at %s "
            "(no credits are spent)",
            local.base_url,
        )
        async with PikaClient(local.api_key, local.base_url) as client:
            yield client


async def run(settings: Settings) -> int:
    """Run until the bot is closed or the process gets SIGTERM/SIGINT."""
    assert settings.discord_token is not None
    point_discord_at(str(settings.discord_api_base_url), settings.discord_gateway_url)
    async with pika_client(settings) as pika:
        bot = PikaBot(settings, pika)
        loop = asyncio.get_running_loop()
        try:
            async with bot:
                # Cancel the task rather than only calling close(): close() does not interrupt
                # discord.py's reconnect backoff, which grows to minutes during an outage.
                running = asyncio.ensure_future(
                    bot.start(settings.discord_token.get_secret_value())
                )
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, running.cancel)
                with contextlib.suppress(asyncio.CancelledError):
                    await running
        except discord.LoginFailure:
            log.error(
                "Discord rejected DISCORD_TOKEN. Reset the token in the developer portal "
                "(Bot > Reset Token) and update .env."
            )
            return EXIT_CONFIG
        except discord.PrivilegedIntentsRequired:
            log.error("Discord refused an intent the bot asked for; see the README.")
            return EXIT_CONFIG
    log.info("Stopped")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bot`; returns the exit status."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if settings.discord_token is None:
        print(HOW_TO_GET_A_BOT_KEY, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.secrets())
    try:
        return asyncio.run(run(settings))
    except KeyboardInterrupt:
        return EXIT_OK
    except OSError as exc:
        if settings.uses_local_pika and exc.errno == errno.EADDRINUSE:
            log.error(
                "LOCAL_PIKA_PORT %d is in use; set LOCAL_PIKA_PORT to a free port (or 0).",
                settings.local_pika_port,
            )
            return EXIT_CONFIG
        raise
