"""Holding the gateway, shard by shard: which shards this process runs, each one's connection
kept open with capped backoff and one line a failure, and what Discord refuses for good.

discord.py's `AutoShardedClient.connect` launches shards one after the other, retries a failed
first connection every five seconds with a traceback, and reconnects with a backoff that grows
to seventeen minutes. Here every shard is a `GatewayShard` with its own task and its own
`Backoff`, following discord.py 2.7's `Shard` (`DiscordWebSocket.from_client`,
`ReconnectWebSocket`, resuming with the last sequence), which is why discord.py is pinned to a
minor version. A `GatewayShard` is also what the client keeps for each shard, so discord.py's
own shard API (`bot.shards`, `get_shard(n).disconnect()`, latencies) works on it.

IDENTIFYs take turns (`IdentifyTurns`): Discord starts one session per five seconds for most
bots (`max_concurrency` 1), and discord.py's `before_identify_hook` waits those five seconds
before every IDENTIFY but the process's first. Resumes need no turn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket, ReconnectWebSocket

from bot.discord.connection import NETWORK_ERRORS, Backoff, describe, retried

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 30.0  # the gateway's HELLO after connecting (discord.py waits 60 s)
# Gateway close codes that no reconnect can fix (the others are resumed or retried): a bad
# token, a shard Discord refuses, a count too small for the bot's servers, refused intents.
TOKEN_REFUSED = 4004
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
INTENTS_REFUSED = 4014


class ShardRefused(Exception):
    """Discord refused this process's sharding: an invalid shard (4010), or too few shards
    for the bot's servers (4011). Only the owner can fix either."""

    def __init__(self, code: int, shard_id: int, shard_count: int) -> None:
        super().__init__(f"Discord refused shard {shard_id} of {shard_count} (code {code})")
        self.code, self.shard_id, self.shard_count = code, shard_id, shard_count


class IdentifyTurns:
    """This process's IDENTIFYs, one at a time; the first one does not wait."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.first = True


class GatewayShard:
    """One shard's gateway connection, held until the client closes: resumed where Discord
    allows, identified afresh where it does not, retried with backoff after a failure."""

    def __init__(
        self,
        client: discord.AutoShardedClient,
        shard_id: int,
        gateway: yarl.URL,
        turns: IdentifyTurns,
        backoff: Backoff,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ) -> None:
        self.id = shard_id
        # The last socket that got through the handshake (None until the first one does).
        self.ws: DiscordWebSocket | None = None
        self._client, self._gateway, self._turns = client, gateway, turns
        self._backoff, self._handshake_timeout = backoff, handshake_timeout
        self._wanted = asyncio.Event()  # cleared while disconnected on purpose
        self._wanted.set()
        self._reading: asyncio.Task[None] | None = None

    async def hold(self) -> None:
        """Connect, read events, and come back after every fault, until the client closes."""
        resume: dict[str, Any] = {}
        failures = 0
        while not self._client.is_closed():
            await self._wanted.wait()
            try:
                ws = await self._open(resume)
                self.ws = ws
                shard_table(self._client)[self.id] = self
                if failures:
                    log.info("Connected to the Discord gateway again (shard %d)", self.id)
                failures, resume = 0, {}
                self._backoff.reset()
                await self._read(ws)  # until `close`: then a new session, if still wanted
            except ReconnectWebSocket as exc:
                self._lost()
                resume = self._resumable() if exc.resume else {}
            except discord.ConnectionClosed as exc:
                self._lost()
                if self._client.is_closed():
                    return
                self._raise_if_final(exc)
                failures += 1
                await self._wait(exc)
                resume = self._resumable()
            except NETWORK_ERRORS as exc:
                self._lost()
                if self._client.is_closed():
                    return
                failures += 1
                await self._wait(exc)
                resume = self._resumable()

    async def _read(self, ws: DiscordWebSocket) -> None:
        """Read events until a fault, which is raised, or until `close` stops the reading. It
        reads in its own task so that `close` can stop it first: a reading that sees its
        socket close sends 4000 on its way out, which leaves the session open on Discord's
        side, where a clean close (1000) ends it."""
        self._reading = asyncio.ensure_future(_poll(ws))
        try:
            await asyncio.wait([self._reading])
        finally:
            self._reading.cancel()
        if not self._reading.cancelled():
            failure = self._reading.exception()
            assert failure is not None  # the reading ends only in a fault or a cancel
            raise failure
        self._lost()

    async def _open(self, resume: dict[str, Any]) -> DiscordWebSocket:
        """A socket past HELLO that has sent RESUME, or IDENTIFY in its turn."""
        if resume:
            return await asyncio.wait_for(
                DiscordWebSocket.from_client(self._client, shard_id=self.id, **resume),
                timeout=self._handshake_timeout,
            )
        async with self._turns.lock:
            ws = await asyncio.wait_for(
                DiscordWebSocket.from_client(
                    self._client,
                    shard_id=self.id,
                    gateway=self._gateway,
                    initial=self._turns.first,
                ),
                timeout=self._handshake_timeout,
            )
            self._turns.first = False
            return ws

    def _resumable(self) -> dict[str, Any]:
        """Resume the session if one was opened, else identify afresh (where discord.py reads
        `ws.sequence` of a socket that never was, and crashes: discord.py issue #10520)."""
        ws = self.ws
        if ws is None or ws.session_id is None:
            return {}
        return {
            "resume": True,
            "session": ws.session_id,
            "sequence": ws.sequence,
            "gateway": ws.gateway,
        }

    def _raise_if_final(self, exc: discord.ConnectionClosed) -> None:
        if exc.code == TOKEN_REFUSED:
            raise discord.LoginFailure("The gateway refused the token.") from None
        if exc.code == INTENTS_REFUSED:
            raise discord.PrivilegedIntentsRequired(self.id) from None
        if exc.code in (INVALID_SHARD, SHARDING_REQUIRED):
            raise ShardRefused(exc.code, self.id, self._client.shard_count or 0) from None
        if exc.code != 1000:  # API version or intents: no retry fixes these
            raise exc

    def _lost(self) -> None:
        self._client.dispatch("disconnect")
        self._client.dispatch("shard_disconnect", self.id)

    async def _wait(self, exc: BaseException) -> None:
        wait = self._backoff.next()
        log.warning(
            "Discord gateway: %s; retrying in %.0fs (shard %d)", describe(exc), wait, self.id
        )
        await asyncio.sleep(wait)

    # --- what discord.py's AutoShardedClient and ShardInfo call on a shard -------------------

    async def close(self) -> None:
        """Stop reading and close the socket with 1000 (the client is closing, or
        `disconnect`)."""
        if self._reading is not None:
            self._reading.cancel()
        if self.ws is not None:
            await self.ws.close(code=1000)

    async def disconnect(self) -> None:
        """Close the socket and stay away until `reconnect`."""
        self._wanted.clear()
        await self.close()

    async def reconnect(self) -> None:
        """Come back after `disconnect`, with a new session."""
        self._wanted.set()


async def _poll(ws: DiscordWebSocket) -> None:
    while True:
        await ws.poll_event()


def shard_table(client: discord.AutoShardedClient) -> dict[int, Any]:
    """The client's own table of shards, which its shard API and its guild-to-socket lookup
    read (a private attribute of discord.py's AutoShardedClient)."""
    table: dict[int, Any] = getattr(client, "_AutoShardedClient__shards")  # noqa: B009
    return table


async def plan_shards(
    client: discord.AutoShardedClient, backoff: Backoff
) -> tuple[int, list[int], yarl.URL]:
    """The shard count, this process's shards and the gateway: as the client was given them,
    or, without a count, as many as Discord recommends (GET /gateway/bot), every one here."""
    if client.shard_count is None:
        count, url, _ = await retried(
            "Cannot reach Discord to ask how many shards to run",
            client.http.get_bot_gateway,
            backoff,
        )
        client.shard_count, gateway, source = count, yarl.URL(url), "as Discord recommends"
    else:
        count, gateway, source = client.shard_count, DiscordWebSocket.DEFAULT_GATEWAY, "as set"
    ids = list(client.shard_ids) if client.shard_ids is not None else list(range(count))
    noun = "shard" if len(ids) == 1 else "shards"
    log.info(
        "Gateway: %s %s of %d in this process (%s)",
        noun,
        ", ".join(map(str, ids)),
        count,
        source,
    )
    return count, ids, gateway


async def stay_connected(
    client: discord.AutoShardedClient,
    backoff: Backoff,
    handshake_timeout: float = HANDSHAKE_TIMEOUT,
) -> None:
    """Hold every shard of this process until the client is closed; raise what no retry can
    fix (a refused token, intents or sharding). Each shard backs off on its own copy of
    `backoff`."""
    count, ids, gateway = await plan_shards(client, backoff)
    # discord.py reads these: the count in each IDENTIFY, the ids to know when all are READY.
    client._connection.shard_count = count
    client._connection.shard_ids = ids
    turns = IdentifyTurns()
    shards = [
        GatewayShard(client, shard_id, gateway, turns, backoff.copy(), handshake_timeout)
        for shard_id in ids
    ]
    tasks = [asyncio.ensure_future(shard.hold()) for shard in shards]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if (failure := task.exception()) is not None:
                raise failure
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
