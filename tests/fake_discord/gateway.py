"""The fake gateway: one websocket at /gateway speaking Discord's protocol (v10, JSON, no zlib).

HELLO on connect; HEARTBEAT answered with HEARTBEAT_ACK; IDENTIFY starts a session with READY
and GUILD_CREATE; RESUME replays what the session missed; dispatch filters events by the
session's intents, as Discord does, and keeps them for that replay.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from aiohttp import WSMsgType, web

from tests.fake_discord.state import FakeState, Session
from tests.fake_discord.world import APP_ID, GUILD_ID, TOKEN, guild_json

# Gateway intents the fake honours when dispatching.
INTENT_GUILDS, INTENT_GUILD_MESSAGES, INTENT_REACTIONS, INTENT_DMS = 1, 1 << 9, 1 << 10, 1 << 12


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
    """The websocket endpoint and the event stream of the one session."""

    @property
    def gateway_url(self) -> str:
        """What DISCORD_GATEWAY_URL should be."""
        return f"{self.base_url.replace('http://', 'ws://')}/gateway"

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
        if self.session is not None and self.session.ws is ws:
            self.session.ws = None
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> None:
        if data.get("token") != TOKEN:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        self.identifies += 1
        self.session = Session(uuid.uuid4().hex, int(data.get("intents") or 0))
        self.session.ws = ws
        self.dispatch(
            "READY",
            {
                "v": 10,
                "user": self.users[APP_ID].json(),
                "session_type": "normal",
                "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
                "session_id": self.session.id,
                "resume_gateway_url": self.gateway_url,
                "application": {"id": str(APP_ID), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "user_settings": {},
                "auth": {},
                "geo_ordered_rtc_regions": [],
                "guild_join_requests": [],
            },
        )
        self.dispatch("GUILD_CREATE", guild_json(self.users, self.roles, self.channels))

    async def _resume(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> None:
        session = self.session
        if session is None or data.get("session_id") != session.id or data.get("token") != TOKEN:
            await ws.send_json({"op": Op.INVALID_SESSION, "d": False})
            return
        self.resumes += 1
        session.ws = ws
        for event in session.sent:
            if event["s"] > int(data.get("seq") or 0):
                await ws.send_json(event)
        self.dispatch("RESUMED", {})

    def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send a gateway event, if the session's intents ask for it; keep it for RESUME."""
        session = self.session
        if session is None or not _wanted(name, data, session.intents):
            return
        session.seq += 1
        event = {"op": Op.DISPATCH, "t": name, "s": session.seq, "d": data}
        session.sent.append(event)
        self.events.append(event)
        if session.ws is not None and not session.ws.closed:
            task = asyncio.ensure_future(session.ws.send_json(event))
            task.add_done_callback(lambda t: t.exception())

    async def drop_gateway(self) -> None:
        """Close the bot's websocket as Discord does on a fault (4000: reconnect and resume)."""
        if self.session and self.session.ws is not None:
            await self.session.ws.close(code=4000, message=b"Unknown error")


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
