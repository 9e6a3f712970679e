"""The fake gateway: websockets at /gateway speaking Discord's protocol (v10, JSON, no zlib), and
`GET /gateway/bot`, which says how many shards Discord recommends.

HELLO on connect; HEARTBEAT answered with HEARTBEAT_ACK; IDENTIFY starts a session with READY
and a GUILD_CREATE per guild of its shard; RESUME replays what the session missed. Several
sessions live at once, as on Discord: IDENTIFY's `shard: [shard_id, shard_count]` decides which
guilds' events a session gets (`(guild_id >> 22) % shard_count`; events of no guild, such as
DMs, go to shard 0 only), a session without `shard` gets every guild's. As Discord does, an
invalid shard is closed with 4010, and a session that would hold more than
`max_guilds_per_session` guilds with 4011 (sharding required). Dispatch filters events by each
session's intents and keeps them for that session's RESUME.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from aiohttp import WSMsgType, web

from tests.fake_discord.responses import jsonify
from tests.fake_discord.state import FakeState, Session
from tests.fake_discord.world import APP_ID, TOKEN, guild_json

# Gateway intents the fake honours when dispatching.
INTENT_GUILDS, INTENT_GUILD_MESSAGES, INTENT_REACTIONS, INTENT_DMS = 1, 1 << 9, 1 << 10, 1 << 12
# What GET /gateway/bot says of session starts: a thousand a day, as Discord gives most bots.
SESSION_STARTS_PER_DAY = 1000
DAY_MS = 86_400_000


class Op(IntEnum):
    """The gateway opcodes the fake speaks."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    RESUME = 6
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Gateway(FakeState):
    """The websocket endpoint, `GET /gateway/bot`, and the event streams of the sessions."""

    @property
    def gateway_url(self) -> str:
        """What DISCORD_GATEWAY_URL should be."""
        return f"{self.base_url.replace('http://', 'ws://')}/gateway"

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        """The gateway's address, the recommended shard count, and the session start limit."""
        elapsed_ms = int((time.monotonic() - self.started) * 1000)
        return jsonify(
            {
                "url": self.gateway_url,
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": SESSION_STARTS_PER_DAY,
                    "remaining": max(0, SESSION_STARTS_PER_DAY - self.identifies),
                    "reset_after": max(0, DAY_MS - elapsed_ms),
                    "max_concurrency": self.max_concurrency,
                },
            }
        )

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_gateway:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": Op.HELLO, "d": {"heartbeat_interval": self.heartbeat_ms}})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op, data = payload.get("op"), payload.get("d") or {}
            if op == Op.HEARTBEAT:
                self.heartbeats += 1
                await ws.send_json({"op": Op.HEARTBEAT_ACK})
            elif op == Op.IDENTIFY:
                await self._identify(ws, data)
            elif op == Op.RESUME:
                await self._resume(ws, data)
        for session in self.sessions:
            if session.ws is ws:  # the client closed it (the fake detaches what it closes)
                session.ws = None
                # Closing with 1000 or 1001 ends the session; other codes keep it resumable.
                session.ended = ws.close_code in (1000, 1001)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> None:
        if data.get("token") != TOKEN:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        shard = data.get("shard")
        if shard is not None and not _valid_shard(shard):
            await ws.close(code=4010, message=b"Invalid shard.")
            return
        session = Session(
            uuid.uuid4().hex,
            int(data.get("intents") or 0),
            shard=(int(shard[0]), int(shard[1])) if shard is not None else None,
        )
        guilds = [g for g in self.guilds.values() if session.owns(g.id)]
        if len(guilds) > self.max_guilds_per_session:
            await ws.close(code=4011, message=b"Sharding required.")
            return
        self.identifies += 1
        session.ws = ws
        self.sessions.append(session)
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.users[APP_ID].json(),
            "session_type": "normal",
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "auth": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        self._send(session, "READY", ready)
        for guild in guilds:
            created = guild_json(guild, self.users, self.roles, self.channels)
            self._send(session, "GUILD_CREATE", created)

    async def _resume(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> None:
        session = next(
            (s for s in self.sessions if s.id == data.get("session_id") and not s.ended), None
        )
        if session is None or data.get("token") != TOKEN:
            await ws.send_json({"op": Op.INVALID_SESSION, "d": False})
            return
        self.resumes += 1
        session.ws = ws
        for event in session.sent:
            if event["s"] > int(data.get("seq") or 0):
                await ws.send_json(event)
        self._send(session, "RESUMED", {})

    def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send a gateway event to every session whose shard owns its guild, if the session's
        intents ask for it; keep it there for RESUME."""
        guild_id = _guild_of(name, data)
        for session in self.sessions:
            if not session.ended and session.owns(guild_id):
                self._send(session, name, data)

    def _send(self, session: Session, name: str, data: dict[str, Any]) -> None:
        if not _wanted(name, data, session.intents):
            return
        session.seq += 1
        event = {"op": Op.DISPATCH, "t": name, "s": session.seq, "d": data}
        session.sent.append(event)
        self.events.append(event)
        if session.ws is not None and not session.ws.closed:
            task = asyncio.ensure_future(session.ws.send_json(event))
            task.add_done_callback(lambda t: t.exception())

    async def drop_gateway(self, shard_id: int | None = None) -> None:
        """Close the bot's websockets (only those of one shard if given) as Discord does on a
        fault (4000: reconnect and resume)."""
        for session in self.sessions:
            if shard_id is not None and (session.shard or (0, 1))[0] != shard_id:
                continue
            if session.ws is not None:
                ws, session.ws = session.ws, None  # detached first: the session lives on
                await ws.close(code=4000, message=b"Unknown error")


def _valid_shard(shard: Any) -> bool:
    """Discord's rule for IDENTIFY's `shard`: [shard_id, shard_count], 0 <= id < count."""
    if not isinstance(shard, list) or len(shard) != 2:
        return False
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in shard):
        return False
    shard_id, count = int(shard[0]), int(shard[1])
    return 0 <= shard_id < count


def _guild_of(name: str, data: Mapping[str, Any]) -> int | None:
    """The guild an event belongs to (a guild's own events carry it as `id`), if any."""
    if "guild_id" in data:
        return int(data["guild_id"])
    if name.startswith("GUILD_") and "id" in data:
        return int(data["id"])
    return None


def _wanted(name: str, data: Mapping[str, Any], intents: int) -> bool:
    """Whether a session with these intents receives the event."""
    if name.startswith("MESSAGE_REACTION"):
        return bool(intents & INTENT_REACTIONS)
    if name.startswith("MESSAGE_"):
        bit = INTENT_GUILD_MESSAGES if "guild_id" in data else INTENT_DMS
        return bool(intents & bit)
    if name.startswith(("GUILD_", "CHANNEL_", "THREAD_")):
        return bool(intents & INTENT_GUILDS)
    return True
