"""Holding the gateway shard by shard, against the fake Discord: the shards a process runs,
READY once they all are, IDENTIFYs in turn, one shard's fault resumed alone, and what Discord
refuses for good."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from bot.discord.connection import Backoff
from bot.discord.shards import SHARDING_REQUIRED, ShardRefused, stay_connected
from bot.discord.target import point_discord_at
from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.fake_discord.world import GUILD_2, GUILD_ID, TOKEN


class QuickClient(discord.AutoShardedClient):
    """A sharded client that says when each IDENTIFY's turn came, and waits a tenth of a second
    where discord.py waits five (the fake does not count IDENTIFYs)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(intents=discord.Intents(guilds=True), guild_ready_timeout=0.1, **options)
        self.turns: list[tuple[str, int | None, bool]] = []

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        self.turns.append(("start", shard_id, initial))
        await asyncio.sleep(0 if initial else 0.1)
        self.turns.append(("end", shard_id, initial))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord(heartbeat_ms=1000, check_contract=False) as discord_:
        point_discord_at(discord_.api_url, discord_.gateway_url)
        yield discord_


@contextlib.asynccontextmanager
async def holding(client: discord.AutoShardedClient) -> AsyncIterator[asyncio.Task[None]]:
    """The client logged in and holding its shards until the block ends."""
    await client.login(TOKEN)
    task = asyncio.ensure_future(stay_connected(client, Backoff(first=0.05)))
    try:
        yield task
    finally:
        await client.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_every_shard_is_held_and_ready_comes_once_all_are(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.discord")
    client = QuickClient(shard_count=2)
    async with holding(client):
        await asyncio.wait_for(client.wait_until_ready(), 10)
        assert sorted(s.shard for s in fake.sessions if s.shard) == [(0, 2), (1, 2)]
        assert sorted(client.shards) == [0, 1]
        assert not any(shard.is_closed() for shard in client.shards.values())
        assert [g.id for g in sorted(client.guilds, key=lambda g: g.shard_id)] == [
            GUILD_ID,
            GUILD_2,
        ]
        # IDENTIFYs took turns: the second began once the first had gone, and waited.
        assert [t[0] for t in client.turns] == ["start", "end", "start", "end"]
        assert [t[2] for t in client.turns] == [True, True, False, False]
    assert "Gateway: shards 0, 1 of 2 in this process (as set)" in caplog.text
    assert fake.requests_to("GET", "/gateway/bot") == []  # the count was given


async def test_without_a_count_it_runs_every_shard_discord_recommends(
    fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.discord")
    fake.recommended_shards = 2
    client = QuickClient()
    async with holding(client):
        await asyncio.wait_for(client.wait_until_ready(), 10)
        assert sorted(s.shard for s in fake.sessions if s.shard) == [(0, 2), (1, 2)]
        assert client.shard_count == 2
    assert len(fake.requests_to("GET", "/gateway/bot")) == 1
    assert "Gateway: shards 0, 1 of 2 in this process (as Discord recommends)" in caplog.text


async def test_a_process_runs_only_the_shards_it_names(fake: FakeDiscord) -> None:
    client = QuickClient(shard_count=2, shard_ids=[1])
    async with holding(client):
        await asyncio.wait_for(client.wait_until_ready(), 10)
        assert [s.shard for s in fake.sessions] == [(1, 2)]
        assert [g.id for g in client.guilds] == [GUILD_2]
        assert list(client.shards) == [1]


async def test_one_dropped_shard_resumes_alone(fake: FakeDiscord) -> None:
    client = QuickClient(shard_count=2)
    async with holding(client):
        await asyncio.wait_for(client.wait_until_ready(), 10)
        first_socket = client.shards[0]._parent.ws
        await fake.drop_gateway(shard_id=1)
        await fake.wait_for(lambda: fake.resumes == 1, what="shard 1 resumed")
        await fake.wait_for(lambda: not client.shards[1].is_closed(), what="shard 1 open")
        assert fake.identifies == 2  # no new session for either shard
        assert client.shards[0]._parent.ws is first_socket and first_socket.open


async def test_discord_s_shard_api_disconnects_and_connects_a_shard(fake: FakeDiscord) -> None:
    client = QuickClient(shard_count=2)
    async with holding(client):
        await asyncio.wait_for(client.wait_until_ready(), 10)
        shard = client.get_shard(1)
        assert shard is not None
        await shard.disconnect()
        assert shard.is_closed()
        await fake.wait_for(lambda: fake.sessions_of(1)[0].ended, what="the session ended")
        assert fake.identifies == 2  # it stays away
        await shard.connect()
        await fake.wait_for(lambda: len(fake.sessions_of(1)) == 2, what="a new session")
        await fake.wait_for(lambda: not shard.is_closed(), what="shard 1 open again")


async def test_too_few_shards_for_discord_is_refused_for_good(fake: FakeDiscord) -> None:
    fake.max_guilds_per_session = 1  # as Discord past 2,500 servers on one session
    client = QuickClient(shard_count=1)
    async with holding(client) as task:
        with pytest.raises(ShardRefused) as refused:
            await asyncio.wait_for(asyncio.shield(task), 10)
    assert (refused.value.code, refused.value.shard_count) == (SHARDING_REQUIRED, 1)


async def test_a_token_the_gateway_refuses_is_a_login_failure(fake: FakeDiscord) -> None:
    client = QuickClient(shard_count=2)
    await client.login(TOKEN)
    client.http.token = "revoked"  # between the login and the IDENTIFY
    try:
        with pytest.raises(discord.LoginFailure):
            await asyncio.wait_for(stay_connected(client, Backoff(first=0.05)), 10)
    finally:
        await client.close()
    assert fake.identifies == 0
