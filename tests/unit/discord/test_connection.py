"""Reaching Discord: capped backoff, one line a failure, bounded REST calls, and a first
gateway failure retried instead of crashing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from bot.discord.connection import (
    Backoff,
    bound_rest_calls,
    describe,
    log_in,
    tune_session,
)
from bot.discord.shards import stay_connected
from bot.discord.target import point_discord_at
from tests.fake_discord import running_fake_discord
from tests.fake_discord.world import APP_ID, GENERAL, TOKEN
from tests.helpers.ports import reserved_port


def test_backoff_doubles_from_one_second_to_a_minute_and_starts_again_after_a_success() -> None:
    backoff = Backoff(rand=lambda: 1.0)  # the top of each range
    assert [backoff.next() for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    backoff.reset()
    assert backoff.next() == 1
    low = Backoff(rand=lambda: 0.0)
    assert [low.next() for _ in range(3)] == [0.5, 1, 2]  # never less than half the ceiling


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[int]:
    """A server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()


async def logins_until(
    client: discord.Client, caplog: pytest.LogCaptureFixture, wanted: int
) -> list[logging.LogRecord]:
    """Run the login loop until it has said `wanted` warnings; return them."""
    task = asyncio.ensure_future(
        log_in(lambda: client.login(TOKEN), client.http, Backoff(first=0.05), lambda: False)
    )
    try:
        for _ in range(200):
            found = [r for r in caplog.records if r.name == "bot.discord.connection"]
            if len(found) >= wanted:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"the login loop said: {caplog.text}")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.close()


async def test_a_black_holed_discord_is_one_line_per_try_not_five_silent_minutes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.discord.connection")
    async with black_hole() as port:
        point_discord_at(f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/gateway")
        client = discord.Client(intents=discord.Intents.none())
        bound_rest_calls(client.http, aiohttp.ClientTimeout(sock_connect=1, sock_read=0.3))
        started = asyncio.get_running_loop().time()
        warnings = await logins_until(client, caplog, 2)
        assert asyncio.get_running_loop().time() - started < 10
    assert warnings[0].getMessage().startswith("Cannot reach Discord to log in: no answer in time")
    assert all(r.exc_info is None for r in caplog.records)  # no traceback


async def test_an_unreachable_discord_says_where_it_tried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.discord.connection")
    port = reserved_port()  # nothing listens there
    point_discord_at(f"http://127.0.0.1:{port}/api/v10", f"ws://127.0.0.1:{port}/gateway")
    warnings = await logins_until(discord.Client(intents=discord.Intents.none()), caplog, 2)
    message = warnings[0].getMessage()
    assert f"cannot connect to 127.0.0.1:{port} (connection refused); retrying in" in message


async def test_a_rejected_token_is_not_retried() -> None:
    async with running_fake_discord() as fake:
        point_discord_at(fake.api_url, fake.gateway_url)
        client = discord.Client(intents=discord.Intents.none())
        try:
            with pytest.raises(discord.LoginFailure):
                await log_in(lambda: client.login("wrong"), client.http, Backoff(), lambda: False)
        finally:
            await client.close()
        assert [r.status for r in fake.requests] == [401]


async def test_the_first_gateway_connection_refused_is_retried_then_identifies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.discord")
    async with running_fake_discord(heartbeat_ms=1000, check_contract=False) as fake:
        fake.refuse_gateway = True
        point_discord_at(fake.api_url, fake.gateway_url)
        client = discord.AutoShardedClient(intents=discord.Intents.none())
        await client.login(TOKEN)
        task = asyncio.ensure_future(stay_connected(client, Backoff(first=0.05)))
        try:
            await fake.wait_for(
                lambda: "refused the connection (HTTP 503)" in caplog.text, what="a warning"
            )
            fake.refuse_gateway = False
            await fake.wait_for(lambda: fake.identifies == 1, what="an IDENTIFY")
            await asyncio.wait_for(client.wait_until_ready(), 10)
        finally:
            await client.close()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert "Connected to the Discord gateway again" in caplog.text
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_follow_up_to_a_discord_that_never_answers_gives_up_and_is_counted() -> None:
    """discord.py sends an interaction's follow-ups with no time-out of its own: without the
    session's, aiohttp would wait five minutes for a Discord that accepts and never answers."""
    seen: list[str] = []

    async def middleware(
        request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        seen.append(f"{request.method} {request.url.path}")
        return await send(request)

    async with running_fake_discord() as fake:
        point_discord_at(fake.api_url, fake.gateway_url)
        client = discord.Client(intents=discord.Intents.none())
        await client.login(TOKEN)
        tune_session(client.http, middleware, aiohttp.ClientTimeout(sock_read=0.3))
        try:
            async with black_hole() as port:
                point_discord_at(f"http://127.0.0.1:{port}/api/v10", fake.gateway_url)
                follow_up = discord.Webhook.partial(APP_ID, "t" * 70, client=client)
                # aiohttp's read time-out, not this test's own ten seconds.
                with pytest.raises(aiohttp.ServerTimeoutError):
                    await asyncio.wait_for(follow_up.send("a fox"), 10)
        finally:
            await client.close()
    assert seen == [f"POST /api/v10/webhooks/{APP_ID}/{'t' * 70}"]


async def test_a_request_stopped_in_a_global_rate_limit_does_not_stop_every_later_one() -> None:
    """discord.py closes its global gate for a global 429 and opens it again after sleeping
    in the request that got it. A request stopped in that sleep (a chore or a look given up,
    a job taken over) never opens it: every later request of the bot's token waited for ever.
    The gate opens when Discord said it would, whatever became of that request."""

    async def passthrough(
        request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        return await send(request)

    async with running_fake_discord() as fake:
        point_discord_at(fake.api_url, fake.gateway_url)
        client = discord.Client(intents=discord.Intents.none())
        await client.login(TOKEN)
        tune_session(client.http, passthrough)
        try:
            fake.rate_limit("GET", rf"^/channels/{GENERAL}$", retry_after=1.0, is_global=True)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):  # stopped while it waits out the limit
                    await client.http.get_channel(GENERAL)
            async with asyncio.timeout(5):  # Discord said one second
                channel = await client.http.get_channel(GENERAL)
            assert int(channel["id"]) == GENERAL
        finally:
            await client.close()


def test_describe_names_the_failure_in_a_few_words() -> None:
    assert describe(TimeoutError()) == "no answer in time"
    assert describe(discord.GatewayNotFound()) == "the gateway could not be found"  # type: ignore[no-untyped-call]
    assert describe(OSError("boom")) == "OSError: boom"
