"""`PikaBot`: the Discord client, its shared services, how it reaches Discord, and what the HTTP
server asks of it (readiness, metrics, the push route)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import discord
from aiohttp import web
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.discord.connection import (
    REST_TIMEOUT,
    Backoff,
    bound_rest_calls,
    log_in,
    retried,
    tune_session,
)
from bot.discord.delivery import DiscordDelivery
from bot.discord.invite import invite_url
from bot.discord.lanes import ChannelLanes
from bot.discord.notes import ReactionNotes
from bot.discord.owner import AuditButton
from bot.discord.results import ControlButton
from bot.discord.shards import stay_connected
from bot.discord.translator import CatalogueTranslator
from bot.errors import Restarting
from bot.guardrails import Guardrails, ServerSettings
from bot.inbox import Inbox
from bot.jobs.estimates import Durations, Estimates
from bot.jobs.ledger import Ledger
from bot.jobs.service import STOP_WAIT_SECONDS, JobService
from bot.jobs.tracker import Tracker
from bot.jobs.wakeups import SettingsChanged, Wakeup, Wakeups, open_wakeups
from bot.jobs.webhook import WebhookReceiver
from bot.ops import collector
from bot.ops.metrics import Metrics
from bot.ops.report import count_not_ended
from bot.pika.client import PikaClient
from bot.pika.health import PikaHealth, PikaState
from bot.preferences import Preferences
from bot.probe import PROBE_SECONDS, Prober
from bot.safe_fetch import AllowedHost, SafeFetcher
from bot.storage import DatabaseUnavailable, Storage, open_storage
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

DOWNLOAD_SECONDS = 120.0  # a result of the upload limit's size, on a slow link


def results_fetcher(allowed: Iterable[AllowedHost]) -> SafeFetcher:
    """The fetcher of result downloads: only what Pika names, so its connections are kept for
    the next one (`keep_alive`; a member's URL never goes through it)."""
    return SafeFetcher(allowed, timeout=DOWNLOAD_SECONDS, keep_alive=True)


class GuildRefused(Exception):
    """Discord refused the command sync to DISCORD_GUILD_ID: the bot is not in that server (or
    the id is no server's); no retry fixes it, only the owner."""

    def __init__(self, guild_id: int, status: int, code: int) -> None:
        super().__init__(guild_id, status, code)
        self.guild_id, self.status, self.code = guild_id, status, code


class Stopping(app_commands.CheckFailure):
    """An interaction that came once the bot began a clean stop, or was cut off by it: its
    member is told the bot is restarting (`original`, a member error, says it)."""

    def __init__(self) -> None:
        super().__init__("the bot is stopping")
        self.original = Restarting()


class PikaTree(app_commands.CommandTree["PikaBot"]):
    """The command tree: every command's interaction is received by the bot's inbox first."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        """Each command goes on (an autocomplete is not an interaction a stop must answer)."""
        if interaction.type is discord.InteractionType.application_command:
            self.client.received(interaction)
        return True


class PikaBot(commands.AutoShardedBot):
    """The Discord client: loads the cogs, syncs the commands, holds shared services, and runs
    the gateway shards the settings name (every shard Discord recommends when they name none)."""

    storage: Storage
    jobs: JobService
    tracker: Tracker
    server_settings: ServerSettings
    guardrails: Guardrails
    preferences: Preferences
    estimates: Estimates
    submissions: Submissions

    def __init__(
        self,
        settings: Settings,
        pika: PikaClient,
        metrics: Metrics | None = None,
        pika_health: PikaHealth | None = None,
        fetcher: SafeFetcher | None = None,
        storage: Storage | None = None,
        scratch: Path | None = None,
    ) -> None:
        # Only the events the bot uses: its servers and channels, and reactions (the controls
        # on results). Not messages nor typing: Discord would send every message and keystroke
        # of every channel of every server, the bot's own posts included, to be parsed for
        # nothing (commands and buttons come as interactions, whatever the intents).
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_reactions = True
        # The bot never joins a voice channel: no warning about voice libraries it does not use.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        self.metrics = metrics or Metrics()
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            # Nothing pings anyone unless its message says whom (results: their requester).
            allowed_mentions=discord.AllowedMentions.none(),
            shard_count=settings.discord_shard_count,
            tree_cls=PikaTree,
        )
        # None (every shard) is discord.py's own default, which its signature does not admit.
        ids = settings.discord_shard_ids
        self.shard_ids = list(ids) if ids is not None else None
        bound_rest_calls(self.http, REST_TIMEOUT)
        self.settings = settings
        self.pika = pika
        self.pika_health = pika_health or PikaHealth()
        # Result downloads; the process trusts the embedded local Pika's origin in it.
        self.fetcher = fetcher or results_fetcher(settings.allowed_hosts)
        # The process's own folder for temporary files (`bot/scratch.py`); None: the system's.
        self.scratch = scratch
        # Opened by the process before anything else (a damaged file stops it at once).
        self._given_storage = storage
        self.lanes = ChannelLanes()
        # The interactions being handled, which a clean stop answers before it closes anything.
        self.inbox = Inbox()
        self.reaction_notes = ReactionNotes()  # shared by the controls and the error handler
        self.webhooks: WebhookReceiver | None = None
        self._tracker_task: asyncio.Task[None] | None = None
        self._setting_up = False

    # --- reaching Discord (bot/discord/connection.py) ---------------------------------------

    async def login(self, token: str) -> None:
        """discord.py's login and `setup_hook`, then the command sync, each retried while
        Discord cannot be reached."""
        await log_in(
            lambda: super(PikaBot, self).login(token), self.http, Backoff(), self._set_up_started
        )
        await retried("Cannot reach Discord to sync commands", self.sync_commands, Backoff())

    async def connect(self, *, reconnect: bool = True) -> None:
        """Hold every shard's gateway connection (replaces discord.py's loop; see shards.py)."""
        await stay_connected(self, Backoff())

    def _set_up_started(self) -> bool:
        return self._setting_up

    async def setup_hook(self) -> None:
        self._setting_up = True
        tune_session(self.http, self.metrics.discord_middleware)
        self.storage = self._given_storage or await open_storage(
            self.settings.database_url, lease_seconds=self.settings.job_lease_seconds
        )
        store = self.storage.jobs
        log.info(
            "This process works on the jobs it claims as %s (pid %d; leases of %gs)",
            store.leases.owner,
            os.getpid(),
            store.leases.seconds,
        )
        # Pushes and settings changes wake the other processes at once on PostgreSQL.
        self.wakeups: Wakeups = await open_wakeups(self.storage.database, store.leases.owner)
        ledger = Ledger.of_process(self.settings.ledger_path, store.leases.owner)
        self.jobs = JobService(store, self.pika, self.settings, ledger)
        durations = Durations()  # the tracker's, which the working messages' estimates share
        self.estimates = Estimates(durations, self.storage.reports, store.clock)
        delivery = DiscordDelivery(
            self,
            self.fetcher,
            self.lanes,
            store,
            self.estimates,
            self.scratch,
            simulated=self.settings.uses_local_pika,
        )
        self.tracker = Tracker(
            store, self.pika, self.jobs, delivery, self.settings, durations, self.wakeups
        )
        self.jobs.follow = self.tracker.follow
        self.server_settings = ServerSettings(self.storage.guild_settings)
        self.guardrails = Guardrails(store, self.server_settings)
        self.probes = SafeFetcher(self.settings.allowed_hosts, timeout=PROBE_SECONDS)
        self.preferences = Preferences(self.storage.member_settings)
        share_settings(self.wakeups, self.server_settings, self.preferences)
        self.submissions = Submissions(
            store,
            self.server_settings,
            self.guardrails,
            self.jobs,
            Prober(self.probes, scratch=self.scratch),
            preferences=self.preferences,
            repeat_seconds=self.settings.repeat_press_seconds,
            inbox=self.inbox,
        )
        await self.estimates.load()
        self.add_dynamic_items(ControlButton, AuditButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # Before the sync (after set-up), which sends every name and description in each language.
        await self.tree.set_translator(CatalogueTranslator())
        if self.settings.webhook_public_url is not None:
            self.webhooks = WebhookReceiver(store, self.tracker)
        self._tracker_task = asyncio.create_task(self._run_tracker())
        if self.application_id:
            log.info("Invite link: %s", invite_url(self.application_id))

    async def _run_tracker(self) -> None:
        # Deliveries need the channel cache, which is filled by READY; jobs are claimed only
        # then, so that a process that cannot reach Discord leaves them to the others.
        await self.wait_until_ready()
        followed = await self.tracker.load()
        log.info("Following %d active job(s)", followed)
        await self.jobs.tidy_ledgers()
        await self.tracker.run()

    def received(self, interaction: discord.Interaction[Any]) -> None:
        """The current task handles a member's interaction (a command, a button): a clean stop
        answers it before it closes anything. Raises Stopping once the stop began (the error
        handler tells the member)."""
        tell = functools.partial(self.tree.on_error, interaction, Stopping())
        if not self.inbox.received(tell):
            raise Stopping()

    async def close(self) -> None:
        """Answer the interactions being handled and let the paid calls in flight be answered
        (a few seconds at most, together), stop the tracker, then disconnect."""
        if hasattr(self, "jobs"):
            loop = asyncio.get_running_loop()
            until = loop.time() + STOP_WAIT_SECONDS
            await self.inbox.stop(STOP_WAIT_SECONDS)
            await self.jobs.calls_answered(max(0.0, until - loop.time()))
        if self._tracker_task is not None:
            self._tracker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tracker_task
            await self.tracker.stop()
        if hasattr(self, "estimates"):
            self.estimates.close()
        await self.lanes.close()
        await super().close()
        await self.fetcher.aclose()
        if hasattr(self, "probes"):
            await self.probes.aclose()
        if hasattr(self, "wakeups"):
            await self.wakeups.close()
        if hasattr(self, "storage"):
            await self.storage.close()

    async def sync_commands(self) -> None:
        """Sync to DISCORD_GUILD_ID when set (instant), else globally."""
        guild_id = self.settings.discord_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except (discord.Forbidden, discord.NotFound) as exc:
                raise GuildRefused(guild_id, exc.status, exc.code) from None
            log.info("Synced %d commands to server %d", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("Synced %d global commands (they may take a while to appear)", len(synced))

    async def on_ready(self) -> None:
        user = self.user
        log.info("Ready as %s in %d server(s)", user, len(self.guilds))
        collector.freeze_startup()  # start-up is over: its objects live as long as the process

    # --- what the HTTP server asks (bot/ops/server.py) ---------------------------------------

    async def receive_push(self, request: web.Request) -> web.Response:
        """Pika's webhook push; 503 until the set-up has made the receiver."""
        if self.webhooks is None:
            return web.json_response({"error": "starting"}, status=503)
        return await self.webhooks.push(request)

    async def ready_checks(self) -> dict[str, str]:
        """Each part the bot needs, "ok" or what is wrong with it."""
        return {
            "discord": self.gateway_state(),
            "database": await self._database_state(),
            "pika": pika_state(self.pika_health),
        }

    def gateway_state(self) -> str:
        """Whether every shard of this process is connected and READY has come for them all."""
        if self.is_closed():
            return "closed"
        ours = list(self._connection.shard_ids)  # known once connecting has begun
        if not ours:
            return "disconnected"
        shards = self.shards
        down = [str(i) for i in ours if i not in shards or shards[i].is_closed()]
        if down:
            return f"shard {', '.join(down)} of {self.shard_count} disconnected"
        return "ok" if self.is_ready() else "connecting"

    async def _database_state(self) -> str:
        if not hasattr(self, "storage"):
            return "not open yet"
        try:
            await self.storage.check_writable()
        except Exception as exc:
            # The database's own failure names its cause; anything else its type.
            what = exc if isinstance(exc, DatabaseUnavailable) else f"{type(exc).__name__}: {exc}"
            return f"cannot write: {what}"[:200]
        return "ok"

    async def refresh_metrics(self) -> None:
        """Before a scrape: the jobs not ended, which only the database knows."""
        if hasattr(self, "storage"):
            waiting, running = count_not_ended(
                await self.storage.reports.not_ended(everywhere=True)
            )
            self.metrics.set_jobs_now(waiting, running)
        self.metrics.set_up([("discord", self.gateway_state() == "ok")])


def share_settings(
    wakeups: Wakeups, server_settings: ServerSettings, preferences: Preferences
) -> None:
    """A change of a server's settings or a member's defaults tells every process sharing the
    database, and each one forgets its cached copy."""

    async def server_changed(guild_id: int) -> None:
        await wakeups.publish(SettingsChanged(guild_id))

    async def member_changed(guild_id: int, user_id: int) -> None:
        await wakeups.publish(SettingsChanged(guild_id, user_id))

    def forget(wakeup: Wakeup) -> None:
        if isinstance(wakeup, SettingsChanged):
            if wakeup.user_id is None:
                server_settings.forget(wakeup.guild_id)
            else:
                preferences.forget(wakeup.guild_id, wakeup.user_id)

    server_settings.changed = server_changed
    preferences.changed = member_changed
    wakeups.subscribe(forget)


def pika_state(health: PikaHealth) -> str:
    """Pika's state for /readyz: "ok", or the state and the last problem."""
    if health.state is PikaState.OK:
        return "ok"
    problem = health.last_problem
    return f"{health.state.value}: {problem.text}" if problem else health.state.value
