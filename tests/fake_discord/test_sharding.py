"""The fake Discord speaks sharding as Discord does: IDENTIFY's shard honoured and checked,
several sessions at once, each guild's events only on the session of its shard, and
`GET /gateway/bot` saying how many shards to run. Driven by a hand-written gateway client, so
what is asserted is exactly what the fake sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jsonschema
import pytest

from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.fake_discord.contract import load_contract
from tests.fake_discord.world import (
    ADMIN_2,
    APP_ID,
    GENERAL,
    GUILD_2,
    GUILD_ID,
    REQUESTER,
    REQUESTER_2,
    ROLE_ADMIN_2,
    STUDIO,
    TOKEN,
    Channel,
    shard_of,
    snowflake,
)

EVERY_INTENT = (1 << 17) - 1
HELP = {"id": "1", "name": "pika-help", "type": 1, "options": [], "description": "Help"}


class RawClient:
    """One gateway connection: what came over the wire, and how it was closed."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                payload = frame.json()
                if payload["op"] == 0:
                    self.events.append(payload)

    def got(self, name: str) -> list[dict[str, Any]]:
        """The `d` of each event called `name` received so far."""
        return [e["d"] for e in self.events if e["t"] == name]

    async def close_code(self) -> int | None:
        """Wait until the fake closes the connection; its close code."""
        await asyncio.wait_for(self.reader, 5)
        return self.ws.close_code


@contextlib.asynccontextmanager
async def identified(fake: FakeDiscord, shard: Any = None) -> AsyncIterator[RawClient]:
    """A gateway connection that identified (with `shard` when given)."""
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.gateway_url) as ws:
        hello = await ws.receive_json()
        assert hello["op"] == 10
        identify: dict[str, Any] = {"token": TOKEN, "intents": EVERY_INTENT, "properties": {}}
        if shard is not None:
            identify["shard"] = shard
        await ws.send_json({"op": 2, "d": identify})
        client = RawClient(ws)
        try:
            yield client
        finally:
            await ws.close()
            await asyncio.gather(client.reader, return_exceptions=True)


async def ready(fake: FakeDiscord, client: RawClient) -> dict[str, Any]:
    """READY, once the guilds of the session were sent after it."""
    await fake.wait_for(lambda: client.got("READY"), 5, "READY")
    event = client.got("READY")[0]
    count = len(event["guilds"])
    await fake.wait_for(lambda: len(client.got("GUILD_CREATE")) == count, 5, "GUILD_CREATE")
    return event


def guilds_in(events: list[dict[str, Any]]) -> set[int]:
    """The guilds named by these events."""
    return {int(e["guild_id"]) for e in events if "guild_id" in e}


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running_fake_discord(check_contract=False) as discord:
        discord.commands[None] = [HELP]  # as if the bot had synced /pika-help globally
        yield discord


async def test_each_guild_s_events_go_only_to_the_session_of_its_shard(
    fake: FakeDiscord,
) -> None:
    assert (shard_of(GUILD_ID, 2), shard_of(GUILD_2, 2)) == (0, 1)
    dm = Channel(snowflake(), "dm", type=1, recipient=REQUESTER, guild_id=None)
    fake.channels[dm.id] = dm
    async with identified(fake, [0, 2]) as first, identified(fake, [1, 2]) as second:
        first_ready, second_ready = await ready(fake, first), await ready(fake, second)
        assert first_ready["shard"] == [0, 2] and second_ready["shard"] == [1, 2]
        assert [g["id"] for g in first_ready["guilds"]] == [str(GUILD_ID)]
        assert [g["id"] for g in second_ready["guilds"]] == [str(GUILD_2)]
        assert [g["id"] for g in second.got("GUILD_CREATE")] == [str(GUILD_2)]
        assert [c["id"] for c in second.got("GUILD_CREATE")[0]["channels"]] == [str(STUDIO)]

        fake.slash(REQUESTER, GENERAL, "pika-help")
        fake.slash(REQUESTER_2, STUDIO, "pika-help")
        fake.react(REQUESTER, fake.post_as(REQUESTER, GENERAL, "hi"), "👍")
        fake.react(REQUESTER_2, fake.post_as(REQUESTER_2, STUDIO, "hello"), "👍")
        fake.post_as(REQUESTER, dm.id, "a DM")
        fake.post_as(REQUESTER_2, STUDIO, "last")  # what the second session gets last

        await fake.wait_for(lambda: len(second.got("MESSAGE_CREATE")) == 2, 5, "2nd's messages")
        await fake.wait_for(lambda: len(first.got("MESSAGE_CREATE")) == 2, 5, "1st's messages")
        for name in ("INTERACTION_CREATE", "MESSAGE_CREATE", "MESSAGE_REACTION_ADD"):
            assert guilds_in(first.got(name)) == {GUILD_ID}, name
            assert guilds_in(second.got(name)) == {GUILD_2}, name
        assert [m["content"] for m in first.got("MESSAGE_CREATE")] == ["hi", "a DM"]
        assert "a DM" not in [m["content"] for m in second.got("MESSAGE_CREATE")]
        # What the fake says each session got is what came over the wire.
        [one, two] = fake.sessions
        assert (one.shard, two.shard) == ((0, 2), (1, 2))
        assert fake.sessions_of(1) == [two]
        assert [e["d"] for e in one.sent] == [e["d"] for e in first.events]
        assert len(two.received("INTERACTION_CREATE")) == 1


async def test_a_session_without_shard_gets_every_guild(fake: FakeDiscord) -> None:
    async with identified(fake) as client:
        event = await ready(fake, client)
        assert "shard" not in event
        assert {g["id"] for g in event["guilds"]} == {str(GUILD_ID), str(GUILD_2)}
        fake.slash(REQUESTER, GENERAL, "pika-help")
        fake.slash(REQUESTER_2, STUDIO, "pika-help")
        await fake.wait_for(lambda: len(client.got("INTERACTION_CREATE")) == 2, 5, "both")
        assert fake.session is not None and fake.session.shard is None


@pytest.mark.parametrize("shard", [[2, 2], [-1, 2], [0, 0], [0], [0, 2, 1], "0,2", [True, 2]])
async def test_an_invalid_shard_is_closed_with_4010(fake: FakeDiscord, shard: Any) -> None:
    async with identified(fake, shard) as client:
        assert await client.close_code() == 4010
    assert fake.identifies == 0 and fake.sessions == []


async def test_a_session_that_would_hold_too_many_guilds_is_closed_with_4011(
    fake: FakeDiscord,
) -> None:
    fake.max_guilds_per_session = 1  # as Discord at 2,500 servers a session
    for too_many in (None, [0, 1]):
        async with identified(fake, too_many) as client:
            assert await client.close_code() == 4011
    async with identified(fake, [1, 2]) as client:
        assert [g["id"] for g in (await ready(fake, client))["guilds"]] == [str(GUILD_2)]


async def test_dropping_one_shard_leaves_the_other_connected(fake: FakeDiscord) -> None:
    async with identified(fake, [0, 2]) as first, identified(fake, [1, 2]) as second:
        await ready(fake, first)
        await ready(fake, second)
        await fake.drop_gateway(shard_id=1)
        assert await second.close_code() == 4000
        assert not first.ws.closed
        fake.slash(REQUESTER_2, STUDIO, "pika-help")  # kept for the second session's RESUME
        assert len(fake.sessions_of(1)[0].received("INTERACTION_CREATE")) == 1


async def test_gateway_bot_says_the_recommended_shards_in_discords_shape(
    fake: FakeDiscord,
) -> None:
    async def gateway_bot(token: str = TOKEN) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bot {token}"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{fake.api_url}/gateway/bot", headers=headers) as response,
        ):
            return response.status, await response.json()

    status, answer = await gateway_bot()
    assert status == 200
    assert answer["shards"] == 1 and answer["url"] == fake.gateway_url
    limit = answer["session_start_limit"]
    assert (limit["total"], limit["remaining"], limit["max_concurrency"]) == (1000, 1000, 1)
    assert 0 < limit["reset_after"] <= 86_400_000
    contract = load_contract()
    if contract is not None:
        _, operation = contract.operation("GET", "/gateway/bot") or ("", {})
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator(
            contract.wrap(schema), registry=contract.registry
        )
        assert list(validator.iter_errors(answer)) == []

    fake.recommended_shards = 2
    async with identified(fake, [0, 2]) as client:
        await ready(fake, client)
    status, answer = await gateway_bot()
    assert answer["shards"] == 2
    assert answer["session_start_limit"]["remaining"] == 999  # one session started
    assert (await gateway_bot("wrong"))[0] == 401


async def test_members_of_the_second_guild_act_there_with_its_roles(fake: FakeDiscord) -> None:
    interaction = fake.slash(ADMIN_2, STUDIO, "pika-help")
    payload = interaction.payload
    assert payload["guild_id"] == str(GUILD_2)
    assert payload["channel"]["guild_id"] == str(GUILD_2)
    assert payload["member"]["roles"] == [str(ROLE_ADMIN_2)]
    assert int(payload["member"]["permissions"]) & (1 << 5)  # Manage Server
    assert fake.permissions_of(APP_ID, GUILD_2).manage_messages  # the bot's role there
    with pytest.raises(ValueError, match="not a member"):
        fake.slash(REQUESTER, STUDIO, "pika-help")
    headers = {"Authorization": f"Bot {TOKEN}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{fake.api_url}/guilds/{GUILD_2}/members/{REQUESTER}") as response:
            assert response.status == 404
        async with http.get(f"{fake.api_url}/guilds/{GUILD_2}/members/{ADMIN_2}") as response:
            assert (await response.json())["roles"] == [str(ROLE_ADMIN_2)]
