"""The process: settings, logging, the Pika client (real or local) and its key check, the HTTP
server, then Discord until a signal; and the exit status (2 for what only the owner can fix)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import discord
import httpx

from bot import event_loop
from bot.app import GuildRefused, PikaBot, results_fetcher
from bot.config import (
    HOW_TO_GET_A_BOT_KEY,
    ConfigError,
    Settings,
    load_settings,
    misspelt_names,
)
from bot.discord.connection import SetupFailed
from bot.discord.shards import SHARDING_REQUIRED, ShardRefused
from bot.discord.target import point_discord_at
from bot.jobs.journal import JOURNAL
from bot.logging_setup import configure_logging
from bot.ops import collector
from bot.ops.metrics import Metrics
from bot.ops.server import HttpServer
from bot.pika.client import CallObserver, PikaCall, PikaClient, route_of
from bot.pika.errors import PikaAuthError, PikaError
from bot.pika.health import PikaHealth
from bot.pika.transport import shared_http_client
from bot.safe_fetch import AllowedHost, SafeFetcher
from bot.scratch import own_scratch
from bot.storage import FOLDER_MODE, StorageError, open_storage

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 2
KEY_CHECK_SECONDS = 15.0  # the start-up check of PIKA_API_KEY, retries included


@contextlib.asynccontextmanager
async def pika_client(
    settings: Settings,
    observer: CallObserver | None = None,
    http: httpx.AsyncClient | None = None,
    fetcher: SafeFetcher | None = None,
) -> AsyncIterator[PikaClient]:
    """The real Pika when PIKA_API_KEY is set; otherwise the embedded local Pika, whose own
    address `fetcher` (the bot's result downloads) then trusts. `http` is the bot's shared
    client for the Pika API (`shared_http_client`)."""
    if settings.pika_api_key is not None:
        async with PikaClient(
            settings.pika_api_key.get_secret_value(),
            str(settings.pika_base_url),
            observer=observer,
            http=http,
        ) as client:
            yield client
        return
    from bot.pika.local.app import running_local_pika
    from bot.pika.local.renders import Capacity

    local_pika = running_local_pika(
        job_seconds=settings.local_pika_job_seconds,
        port=settings.local_pika_port,
        files_dir=settings.files_dir / "local-pika",
        capacity=Capacity(
            max_renders=settings.local_pika_max_renders,
            render_seconds=settings.local_pika_render_seconds,
            keep_days=settings.local_pika_keep_days,
        ),
        allowed_hosts=settings.allowed_hosts,
    )
    async with local_pika as local:
        if fetcher is not None:
            origin = urlsplit(local.base_url)
            fetcher.allow(AllowedHost(origin.hostname or "", origin.port))
        log.warning(
            "PIKA_API_KEY is not set: videos are simulated by the local Pika at %s "
            "(no credits are spent)",
            local.base_url,
        )
        async with PikaClient(
            local.api_key, local.base_url, observer=observer, http=http
        ) as client:
            yield client


async def check_pika(pika: PikaClient, settings: Settings, health: PikaHealth) -> bool:
    """Check PIKA_API_KEY with a call that spends no credit. False when Pika refuses the key;
    when Pika cannot be reached, say so and go on (the status view and /readyz tell it too)."""
    started = asyncio.get_running_loop().time()
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # (a SIGTERM during start-up) that arrives as the call ends.
        async with asyncio.timeout(KEY_CHECK_SECONDS):
            await pika.check_key()
    except PikaAuthError as exc:
        log.error(
            "Pika refused PIKA_API_KEY (HTTP %s). Copy the key again from your Pika account "
            "into .env as PIKA_API_KEY=... (or leave it blank for the local Pika).",
            exc.status,
        )
        return False
    except (PikaError, TimeoutError) as exc:
        if isinstance(exc, TimeoutError):
            elapsed = asyncio.get_running_loop().time() - started
            health.observe(PikaCall(route_of("/web/jobs/check"), None, "TimeoutError", elapsed))
        if isinstance(exc, TimeoutError):
            what = f"no answer within {KEY_CHECK_SECONDS:g}s"
        elif exc.status is not None:
            what = f"HTTP {exc.status}"
        else:
            what = exc.detail.rstrip(".") or type(exc).__name__
        log.warning(
            "Pika cannot be reached at %s: %s. Starting anyway: jobs fail until it answers, "
            "and /pika-admin status shows it.",
            settings.pika_base_url if not settings.uses_local_pika else "the local Pika",
            what,
        )
    return True


def files_writable(settings: Settings) -> bool:
    """Whether the folder of the bot's own files can be written: the ledger of Pika's answers
    (`bot/jobs/ledger.py`), which keeps a paid job's id when the database cannot, lives there.
    Found at start-up, in one line naming the setting, not by a warning at every paid call
    while that safety net is missing."""
    folder = settings.files_dir
    try:
        folder.mkdir(FOLDER_MODE, parents=True, exist_ok=True)  # as the ledger itself makes it
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        log.error(
            "Cannot write the bot's files in %s (DATA_DIR): %s. Set DATA_DIR in .env to a "
            "folder the bot can write.",
            folder,
            exc.strerror or exc,
        )
        return False
    return True


class StopSignal:
    """SIGTERM and SIGINT during start-up (opening the database and its migrations, the check
    of PIKA_API_KEY, the HTTP server): they cancel the starting task, whose clean-up closes
    what it opened, rather than kill the process (exit 143) with nothing closed. Once Discord
    is being connected, `connect` handles them itself (the clean stop of a running bot)."""

    def __init__(self) -> None:
        self.received = False
        self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop)

    def _stop(self) -> None:
        if not self.received and self._task is not None:  # a second signal cuts no clean-up
            self.received = True
            self._task.cancel()


async def run(settings: Settings) -> int:
    """Run until the bot is closed or the process gets SIGTERM/SIGINT (a stop during start-up
    too: exit 0, what was opened closed)."""
    stop = StopSignal()
    try:
        return await start(settings)
    except asyncio.CancelledError:
        if not stop.received:
            raise
        # A migration cut off is rolled back whole: each one is one transaction with its record.
        log.info("Stopped during start-up")
        return EXIT_OK


async def start(settings: Settings) -> int:
    """Open the database, then the rest, and serve until a signal."""
    assert settings.discord_token is not None
    log.info("Starting on %s", event_loop.name())
    point_discord_at(str(settings.discord_api_base_url), settings.discord_gateway_url)
    metrics, health = Metrics(), PikaHealth()
    unsubscribe = JOURNAL.subscribe(metrics.job_event)

    def observe(call: PikaCall) -> None:
        metrics.pika_call(call)
        health.observe(call)

    try:
        storage = await open_storage(
            settings.database_url, lease_seconds=settings.job_lease_seconds, check_clock=True
        )
    except StorageError as exc:
        log.error("Cannot use the database (DATABASE_URL): %s", exc)
        unsubscribe()
        return EXIT_FAILURE
    if not files_writable(settings):  # after the database: a SQLite file's folder is its own
        await storage.close()
        unsubscribe()
        return EXIT_CONFIG
    fetcher = results_fetcher(settings.allowed_hosts)
    try:
        async with (
            shared_http_client() as http,
            pika_client(settings, observe, http, fetcher) as pika,
        ):
            if not await check_pika(pika, settings, health):
                return EXIT_CONFIG
            # Temporary files in a folder of this process's own; dead processes' ones removed.
            with own_scratch(settings.files_dir) as scratch:
                bot = PikaBot(settings, pika, metrics, health, fetcher, storage, scratch)
                return await serve(settings, bot)
    finally:
        unsubscribe()
        # Both close once only, whether or not the bot got as far as using them.
        await fetcher.aclose()
        await storage.close()


async def serve(settings: Settings, bot: PikaBot) -> int:
    """The HTTP server first (so that a supervisor sees a live process while Discord cannot be
    reached), then Discord, until a signal."""
    host, port = settings.http_host_port
    server = HttpServer(
        host,
        port,
        metrics=bot.metrics,
        ready_checks=bot.ready_checks,
        refresh_metrics=bot.refresh_metrics,
        push=settings.webhook_public_url is not None,
    )
    server.webhook = bot.receive_push
    try:
        await server.start()
    except OSError as exc:
        log.error(
            "HTTP_LISTEN %s:%d cannot be used (%s); set HTTP_LISTEN to a free host:port.",
            host,
            port,
            exc.strerror or exc,
        )
        # Never started: its close() alone fails in discord.py (its shards' queue is made on
        # entering); entering and leaving it closes what it opened.
        async with bot:
            pass
        return EXIT_CONFIG
    watchers = [
        asyncio.ensure_future(bot.metrics.watch_event_loop()),
        asyncio.ensure_future(bot.pika_health.keep_checking(bot.pika.check_key)),
    ]
    try:
        return await connect(settings, bot)
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await server.stop()


async def connect(settings: Settings, bot: PikaBot) -> int:
    """Log in and hold the gateway until a signal; exit 2 for what only the owner can fix."""
    assert settings.discord_token is not None
    loop = asyncio.get_running_loop()
    try:
        async with bot:
            # Cancel the task rather than only calling close(): close() does not interrupt a
            # backoff sleep, which grows to a minute during an outage.
            running = asyncio.ensure_future(bot.start(settings.discord_token.get_secret_value()))
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
    except ShardRefused as exc:
        log.error(sharding_refused(exc))
        return EXIT_CONFIG
    except GuildRefused as exc:
        log.error(guild_refused(exc))
        return EXIT_CONFIG
    except discord.ConnectionClosed as exc:
        log.error("Discord closed the gateway for good (code %s); see the README.", exc.code)
        return EXIT_FAILURE
    except SetupFailed as exc:
        log.error("The bot could not set itself up: %s", exc)
        return EXIT_FAILURE
    log.info("Stopped")
    return EXIT_OK


def sharding_refused(exc: ShardRefused) -> str:
    """What the owner reads when Discord refuses the shards this process runs."""
    if exc.code == SHARDING_REQUIRED:
        return (
            f"Discord requires more gateway shards than {exc.shard_count} for this bot's "
            "servers (code 4011): raise DISCORD_SHARD_COUNT, or leave it unset to follow "
            "Discord's recommendation."
        )
    return (
        f"Discord refused gateway shard {exc.shard_id} of {exc.shard_count} (code {exc.code}, "
        "invalid shard): check DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS."
    )


def guild_refused(exc: GuildRefused) -> str:
    """What the owner reads when Discord refuses the commands of DISCORD_GUILD_ID."""
    return (
        f"Discord refused the commands for DISCORD_GUILD_ID {exc.guild_id} (HTTP {exc.status}, "
        f"code {exc.code}): the bot is not in that server, or the id is not a server's. Invite "
        "the bot with the invite link above and start it again; or set DISCORD_GUILD_ID to "
        "your server's id (right-click the server > Copy Server ID), or leave it blank."
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bot`; returns the exit status."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"Configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.secrets(), settings.log_format)
    collector.tune()
    for line in misspelt_names() + settings.set_aside():
        log.warning(line)
    if settings.discord_token is None:
        if settings.log_format == "json":  # a collector reads every line as JSON
            log.error(HOW_TO_GET_A_BOT_KEY)
        else:
            print(HOW_TO_GET_A_BOT_KEY, file=sys.stderr)
        return EXIT_CONFIG
    try:
        return event_loop.run(run(settings))
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
