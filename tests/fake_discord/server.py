"""A fake Discord that the unchanged discord.py client talks to over real HTTP and websockets.

REST lives under /api/v10, the gateway at /gateway, files at /attachments. Every request is
recorded; every JSON body is checked against Discord's OpenAPI description (see contract.py),
and a body real Discord would refuse is refused here too (400, code 50035) and kept in
`violations`, which the test fixtures turn into a failure. Anything the fake does not know is
answered 404 JSON and kept in `unhandled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, WSMsgType, web
from discord import Permissions

from tests.fake_discord.contract import Contract, Violation, load_contract
from tests.fake_discord.world import (
    APP_ID,
    BOT_PERMISSIONS,
    GUILD_ID,
    TOKEN,
    Attachment,
    Channel,
    Message,
    default_world,
    now_iso,
    snowflake,
)

API = "/api/v10"
INTERACTION_DEADLINE = 3.0
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
# Gateway intents the fake honours when dispatching.
INTENT_GUILDS, INTENT_GUILD_MESSAGES, INTENT_REACTIONS, INTENT_DMS = 1, 1 << 9, 1 << 10, 1 << 12

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def jsonify(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON answer whose Content-Type is exactly application/json, as discord.py requires."""
    response = web.Response(body=json.dumps(data).encode(), status=status, headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def error(status: int, code: int, message: str, **extra: Any) -> web.Response:
    """Discord's error shape."""
    return jsonify({"code": code, "message": message, **extra}, status)


def form_error(problems: Mapping[str, str]) -> web.Response:
    """Discord's 50035 Invalid Form Body, with its nested `errors` object."""
    errors = {
        field: {"_errors": [{"code": "INVALID_FORM_BODY", "message": message}]}
        for field, message in problems.items()
    }
    return error(400, 50035, "Invalid Form Body", errors=errors)


@dataclass
class Recorded:
    """One REST request the bot made."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    files: list[tuple[str, bytes]]
    status: int = 0


RECORD: web.RequestKey[Recorded] = web.RequestKey("record", Recorded)


@dataclass
class Interaction:
    """An interaction the fake sent, and what the bot did with it."""

    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    sent_at: float
    payload: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original_id: int | None = None
    followups: list[int] = field(default_factory=list)
    expired: bool = False


@dataclass
class Session:
    """A gateway session: its sequence and the events it was sent, for RESUME."""

    id: str
    intents: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


class FakeDiscord:
    """One guild, its members and channels, the REST API, the gateway, and test helpers."""

    def __init__(self, *, heartbeat_ms: int = 41_250, check_contract: bool = True) -> None:
        self.users, self.roles, self.channels = default_world()
        self.messages: dict[int, Message] = {}
        self.files: dict[int, Attachment] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: dict[int, Interaction] = {}
        self.requests: list[Recorded] = []
        self.unhandled: list[str] = []
        self.violations: list[Violation] = []
        self.events: list[dict[str, Any]] = []
        self.identifies = 0
        self.resumes = 0
        self.heartbeats = 0
        self.upload_limit = DEFAULT_UPLOAD_LIMIT
        self.nonce_seconds = 300.0  # how long a nonce dedupes posts ("a few minutes")
        self.rate_limits: list[tuple[str, re.Pattern[str], float]] = []
        self.blocked_dms: set[int] = set()
        self.heartbeat_ms = heartbeat_ms
        self.refuse_gateway = False  # answer 503 to the websocket handshake (an outage)
        self.session: Session | None = None
        self.contract: Contract | None = load_contract() if check_contract else None
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        self._routes()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        """Close the gateway and stop listening."""
        if self.session and self.session.ws is not None:
            await self.session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """What DISCORD_API_BASE_URL should be."""
        return f"{self.base_url}{API}"

    @property
    def gateway_url(self) -> str:
        """What DISCORD_GATEWAY_URL should be."""
        return f"{self.base_url.replace('http://', 'ws://')}/gateway"

    # --- recording and the contract ---------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        path = request.path.removeprefix(API)
        body, files = await self._read_body(request)
        record = Recorded(request.method, path, dict(request.query), body, files)
        request[RECORD] = record
        self.requests.append(record)
        for method, pattern, retry_after in list(self.rate_limits):
            if method == request.method and pattern.search(path):
                self.rate_limits.remove((method, pattern, retry_after))
                record.status = 429
                return jsonify(
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": False,
                    },
                    429,
                    {
                        "Retry-After": f"{retry_after:g}",
                        "X-RateLimit-Scope": "user",
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": f"{retry_after:g}",
                        "X-RateLimit-Bucket": "fake",
                        "Via": "1.1 google",
                    },
                )
        if self.contract is not None and body is not None:
            found = self.contract.check(request.method, path, body)
            if found:
                self.violations.extend(found)
                record.status = 400
                return form_error({v.message.split(":")[0]: v.message for v in found})
        if not _is_interaction_webhook(path) and request.headers.get("Authorization") != (
            f"Bot {TOKEN}"
        ):
            record.status = 401
            return error(401, 0, "401: Unauthorized")
        response = await handler(request)
        record.status = response.status
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            body: Any = None
            files: list[tuple[str, bytes]] = []
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    body = json.loads(data)
                else:
                    files.append((part.filename or part.name or "file", bytes(data)))
            return body, files
        raw = await request.read()
        return (json.loads(raw) if raw else None), []

    # --- routes -----------------------------------------------------------------------------

    def _routes(self) -> None:
        r = self.app.router
        r.add_get(f"{API}/users/@me", self._me)
        r.add_get(f"{API}/oauth2/applications/@me", self._application)
        r.add_get(f"{API}/applications/{{app}}/commands", self._get_commands)
        r.add_put(f"{API}/applications/{{app}}/commands", self._put_commands)
        r.add_get(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self._get_commands)
        r.add_put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self._put_commands)
        r.add_post(f"{API}/interactions/{{iid}}/{{token}}/callback", self._callback)
        r.add_post(f"{API}/webhooks/{{app}}/{{token}}", self._followup)
        r.add_route(
            "*", f"{API}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self._webhook_message
        )
        r.add_get(f"{API}/channels/{{cid}}", self._get_channel)
        r.add_post(f"{API}/channels/{{cid}}/messages", self._post_message)
        r.add_get(f"{API}/channels/{{cid}}/messages", self._list_messages)
        r.add_get(f"{API}/channels/{{cid}}/messages/{{mid}}", self._get_message)
        r.add_patch(f"{API}/channels/{{cid}}/messages/{{mid}}", self._edit_message)
        r.add_delete(f"{API}/channels/{{cid}}/messages/{{mid}}", self._delete_message)
        reactions = f"{API}/channels/{{cid}}/messages/{{mid}}/reactions/{{emoji}}/{{who}}"
        r.add_put(reactions, self._put_reaction)
        r.add_delete(reactions, self._delete_reaction)
        r.add_post(f"{API}/users/@me/channels", self._open_dm)
        r.add_get(f"{API}/guilds/{{gid}}/members/{{uid}}", self._get_member)
        r.add_get(f"{API}/users/{{uid}}", self._get_user)
        r.add_get("/gateway", self._gateway)
        r.add_get("/attachments/{aid}/{name}", self._attachment)
        r.add_route("*", "/{tail:.*}", self._unknown)

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unhandled.append(f"{request.method} {request.path}")
        return error(404, 0, "404: Not Found")

    async def _me(self, request: web.Request) -> web.Response:
        return jsonify(
            self.users[APP_ID].json()
            | {"verified": True, "mfa_enabled": False, "flags": 0, "email": None}
        )

    async def _application(self, request: web.Request) -> web.Response:
        return jsonify(
            {
                "id": str(APP_ID),
                "name": "PikaBot",
                "description": "Pika videos",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.users[APP_ID].json(),
                "verify_key": "00" * 32,
                "flags": 0,
                "team": None,
                "summary": "",
                "rpc_origins": [],
            }
        )

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        return jsonify(self.commands.get(int(guild) if guild else None, []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        key = int(guild) if guild else None
        body = request[RECORD].body or []
        known = {c["name"]: c["id"] for c in self.commands.get(key, [])}
        defaults = {"type": 1, "description": "", "options": [], "nsfw": False,
                    "default_member_permissions": None, "dm_permission": True}  # fmt: skip
        synced = [
            defaults
            | c
            | {
                "id": known.get(c["name"], str(snowflake())),
                "application_id": str(APP_ID),
                "version": str(snowflake()),
            }
            | ({"guild_id": guild} if guild else {})
            for c in body
        ]
        self.commands[key] = synced
        return jsonify(synced)

    # --- interactions -----------------------------------------------------------------------

    def _interaction(self, request: web.Request) -> Interaction | None:
        found = self.interactions.get(int(request.match_info.get("iid", "0") or 0))
        if found is None:
            token = request.match_info.get("token")
            found = next((i for i in self.interactions.values() if i.token == token), None)
        return found if found is not None and found.token == request.match_info["token"] else None

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None:
            return error(404, 10062, "Unknown interaction")
        if time.monotonic() - interaction.sent_at > INTERACTION_DEADLINE:
            return error(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            return error(400, 40060, "Interaction has already been acknowledged.")
        record: Recorded = request[RECORD]
        body = record.body or {}
        interaction.callbacks.append(body)
        kind, data = body.get("type"), body.get("data") or {}
        message: Message | None = None
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) | (128 if kind == 5 else 0)
            message = self._store(
                interaction.channel_id,
                APP_ID,
                data,
                record.files,
                flags=flags,
                interaction_id=interaction.id,
                type=20 if interaction.type == 2 else 0,
            )
            interaction.original_id = message.id
        elif kind == 7:
            source = self._component_message(interaction)
            if source is not None:
                self._apply_edit(source, data, record.files)
                message = source
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            answer["resource"]["message"] = self._message_json(message)
        return jsonify(answer)

    def _component_message(self, interaction: Interaction) -> Message | None:
        data = interaction.payload.get("message")
        return self.messages.get(int(data["id"])) if data else None

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None or interaction.expired:
            return error(404, 10015, "Unknown Webhook")
        record: Recorded = request[RECORD]
        message = self._store(
            interaction.channel_id,
            APP_ID,
            record.body or {},
            record.files,
            flags=int((record.body or {}).get("flags") or 0),
            interaction_id=interaction.id,
        )
        interaction.followups.append(message.id)
        return jsonify(self._message_json(message))

    async def _webhook_message(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None or interaction.expired:
            return error(404, 10015, "Unknown Webhook")
        mid = request.match_info["mid"]
        message_id = interaction.original_id if mid == "@original" else int(mid)
        message = self.messages.get(message_id or 0)
        if message is None or message.deleted:
            return error(404, 10008, "Unknown Message")
        if request.method == "GET":
            return jsonify(self._message_json(message))
        if request.method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        record: Recorded = request[RECORD]
        self._apply_edit(message, record.body or {}, record.files)
        message.flags &= ~128
        return jsonify(self._message_json(message))

    # --- channels and messages --------------------------------------------------------------

    def _channel(self, request: web.Request) -> Channel | web.Response:
        channel = self.channels.get(int(request.match_info["cid"]))
        if channel is None or channel.deleted:
            return error(404, 10003, "Unknown Channel")
        return channel

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return channel if isinstance(channel, web.Response) else jsonify(channel.json(self.users))

    async def _post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        if channel.forbidden:
            return error(403, 50013, "Missing Permissions")
        if channel.type == 1 and channel.recipient in self.blocked_dms:
            return error(403, 50007, "Cannot send messages to this user")
        record: Recorded = request[RECORD]
        body = record.body or {}
        if any(len(data) > self.upload_limit for _, data in record.files):
            return error(413, 40005, "Request entity too large")
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            for old in self.messages.values():
                fresh = time.monotonic() - old.created <= self.nonce_seconds
                if (
                    old.channel_id == channel.id
                    and old.nonce == nonce
                    and fresh
                    and not old.deleted
                ):
                    return jsonify(self._message_json(old))
        reference = body.get("message_reference")
        if reference:
            target = self.messages.get(int(reference["message_id"]))
            if target is None and reference.get("fail_if_not_exists", True):
                return form_error({"message_reference": "Unknown message"})
        message = self._store(channel.id, APP_ID, body, record.files, type=19 if reference else 0)
        return jsonify(self._message_json(message))

    def _message(self, request: web.Request) -> Message | web.Response:
        """The message in the request's path, or Discord's 404 for its channel or itself."""
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted or message.channel_id != channel.id:
            return error(404, 10008, "Unknown Message")
        return message

    async def _list_messages(self, request: web.Request) -> web.Response:
        """A channel's history, newest first (`limit`, `before`, `after`), as Discord pages it."""
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        if channel.forbidden or channel.history_hidden:
            return error(403, 50001, "Missing Access")
        query = request.query
        limit = int(query.get("limit", "50"))
        if not 1 <= limit <= 100:
            return form_error({"limit": "Must be between 1 and 100."})
        before = int(query.get("before", str(2**63)))
        after = int(query.get("after", "0"))
        found = [
            m for m in self.messages.values()
            if m.channel_id == channel.id and not m.deleted and after < m.id < before
        ]  # fmt: skip
        page = found[:limit] if "after" in query else found[-limit:]
        # Discord sends a nonce back only in the answer to the post that carried it.
        listed = [self._message_json(m) for m in reversed(page)]
        return jsonify([{k: v for k, v in m.items() if k != "nonce"} for m in listed])

    async def _get_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        return (
            message if isinstance(message, web.Response) else jsonify(self._message_json(message))
        )

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if isinstance(message, web.Response):
            return message
        if message.author_id != APP_ID:
            return error(403, 50005, "Cannot edit a message authored by another user")
        record: Recorded = request[RECORD]
        self._apply_edit(message, record.body or {}, record.files)
        return jsonify(self._message_json(message))

    async def _delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if isinstance(message, web.Response):
            return message
        message.deleted = True
        self.dispatch(
            "MESSAGE_DELETE",
            {
                "id": str(message.id),
                "channel_id": str(message.channel_id),
                "guild_id": str(GUILD_ID),
            },
        )
        return web.Response(status=204)

    async def _put_reaction(self, request: web.Request) -> web.Response:
        if request.match_info["who"] != "@me":
            return error(405, 0, "405: Method Not Allowed")
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted:
            return error(404, 10008, "Unknown Message")
        self.react(APP_ID, message, unquote(request.match_info["emoji"]))
        return web.Response(status=204)

    async def _delete_reaction(self, request: web.Request) -> web.Response:
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted:
            return error(404, 10008, "Unknown Message")
        who = request.match_info["who"]
        user_id = APP_ID if who == "@me" else int(who)
        emoji = unquote(request.match_info["emoji"])
        if user_id in message.reactions.get(emoji, []):
            message.reactions[emoji].remove(user_id)
            self.dispatch("MESSAGE_REACTION_REMOVE", _reaction(user_id, message, emoji))
        return web.Response(status=204)

    async def _open_dm(self, request: web.Request) -> web.Response:
        body = request[RECORD].body or {}
        recipient = int(body["recipient_id"])
        for channel in self.channels.values():
            if channel.type == 1 and channel.recipient == recipient:
                return jsonify(channel.json(self.users))
        channel = Channel(snowflake(), "dm", type=1, recipient=recipient)
        self.channels[channel.id] = channel
        return jsonify(channel.json(self.users))

    async def _get_member(self, request: web.Request) -> web.Response:
        user = self.users.get(int(request.match_info["uid"]))
        if user is None:
            return error(404, 10007, "Unknown Member")
        return jsonify(user.member_json())

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(int(request.match_info["uid"]))
        return jsonify(user.json()) if user else error(404, 10013, "Unknown User")

    async def _attachment(self, request: web.Request) -> web.Response:
        attachment = self.files.get(int(request.match_info["aid"]))
        if attachment is None:
            return error(404, 0, "404: Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type)

    # --- message storage --------------------------------------------------------------------

    def attachment(self, filename: str, data: bytes, content_type: str) -> Attachment:
        """Store a file, served by the fake like Discord's CDN."""
        attachment_id = snowflake()
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        attachment = Attachment(attachment_id, filename, content_type, data, url)
        self.files[attachment_id] = attachment
        return attachment

    def _uploads(self, body: Mapping[str, Any], files: list[tuple[str, bytes]]) -> list[Attachment]:
        described = body.get("attachments") or []
        uploads = []
        for index, (filename, data) in enumerate(files):
            meta: Mapping[str, Any] = next(
                (a for a in described if str(a.get("id")) == str(index)), {}
            )
            name = meta.get("filename") or filename
            kind = "video/mp4" if name.endswith(".mp4") else "application/octet-stream"
            uploads.append(self.attachment(name, data, kind))
        return uploads

    def _store(
        self,
        channel_id: int,
        author_id: int,
        body: Mapping[str, Any],
        files: list[tuple[str, bytes]],
        *,
        flags: int = 0,
        interaction_id: int | None = None,
        type: int = 0,
    ) -> Message:
        message = Message(
            id=snowflake(),
            channel_id=channel_id,
            author_id=author_id,
            content=body.get("content") or "",
            embeds=list(body.get("embeds") or []),
            components=list(body.get("components") or []),
            attachments=self._uploads(body, files),
            flags=flags,
            reference=body.get("message_reference"),
            nonce=body.get("nonce"),
            interaction_id=interaction_id,
            type=type,
        )
        self.messages[message.id] = message
        if not message.ephemeral:
            self.dispatch("MESSAGE_CREATE", self._message_json(message))
        return message

    def _apply_edit(
        self, message: Message, body: Mapping[str, Any], files: list[tuple[str, bytes]]
    ) -> None:
        if "content" in body:
            message.content = body["content"] or ""
        if "embeds" in body:
            message.embeds = list(body["embeds"] or [])
        if "components" in body:
            message.components = list(body["components"] or [])
        if "attachments" in body:
            keep = {str(a.get("id")) for a in body["attachments"] or []}
            message.attachments = [a for a in message.attachments if str(a.id) in keep]
        message.attachments += self._uploads(body, files)
        message.edited = True
        if not message.ephemeral:
            self.dispatch("MESSAGE_UPDATE", self._message_json(message))

    def _message_json(self, message: Message) -> dict[str, Any]:
        channel = self.channels.get(message.channel_id)
        return message.json(self.users, APP_ID, in_guild=bool(channel and channel.type != 1))

    # --- gateway ----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_gateway:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}})
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op, data = payload.get("op"), payload.get("d") or {}
            if op == 1:
                self.heartbeats += 1
                await ws.send_json({"op": 11})
            elif op == 2:
                await self._identify(ws, data)
            elif op == 6:
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
        self.dispatch("GUILD_CREATE", self.guild_json())

    async def _resume(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> None:
        session = self.session
        if session is None or data.get("session_id") != session.id or data.get("token") != TOKEN:
            await ws.send_json({"op": 9, "d": False})
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
        if session is None or not self._wanted(name, data, session.intents):
            return
        session.seq += 1
        event = {"op": 0, "t": name, "s": session.seq, "d": data}
        session.sent.append(event)
        self.events.append(event)
        if session.ws is not None and not session.ws.closed:
            task = asyncio.ensure_future(session.ws.send_json(event))
            task.add_done_callback(lambda t: t.exception())

    @staticmethod
    def _wanted(name: str, data: Mapping[str, Any], intents: int) -> bool:
        if name.startswith("MESSAGE_REACTION"):
            return bool(intents & INTENT_REACTIONS)
        if name.startswith("MESSAGE_"):
            bit = INTENT_GUILD_MESSAGES if "guild_id" in data else INTENT_DMS
            return bool(intents & bit)
        if name.startswith(("GUILD_", "CHANNEL_", "THREAD_")):
            return bool(intents & INTENT_GUILDS)
        return True

    def guild_json(self) -> dict[str, Any]:
        """The GUILD_CREATE payload."""
        return {
            "id": str(GUILD_ID),
            "name": "Pika Fans",
            "icon": None,
            "owner_id": str(APP_ID + 3),
            "roles": [r.json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": len(self.users),
            "large": False,
            "members": [u.member_json() for u in self.users.values()],
            "channels": [
                c.json(self.users) for c in self.channels.values() if c.type == 0 and not c.deleted
            ],
            "threads": [
                c.json(self.users) for c in self.channels.values() if c.type == 11 and not c.deleted
            ],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "unavailable": False,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_timeout": 300,
            "afk_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "joined_at": now_iso(),
            "max_members": 500000,
            "description": None,
            "banner": None,
            "splash": None,
            "discovery_splash": None,
            "vanity_url_code": None,
            "application_id": None,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_video_channel_users": 25,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
        }

    # --- helpers for tests ------------------------------------------------------------------

    def permissions_of(self, user_id: int) -> Permissions:
        """A member's guild-wide permissions from their roles."""
        value = self.roles[GUILD_ID].permissions.value
        for role in self.users[user_id].roles:
            value |= self.roles[role].permissions.value
        return Permissions(value)

    def send_interaction(self, payload: dict[str, Any]) -> Interaction:
        """Dispatch INTERACTION_CREATE with a payload as given (for raw, even invalid, input)."""
        interaction = Interaction(
            id=int(payload["id"]),
            token=str(payload["token"]),
            type=int(payload["type"]),
            user_id=int(payload["member"]["user"]["id"]),
            channel_id=int(payload["channel_id"]),
            sent_at=time.monotonic(),
            payload=payload,
        )
        self.interactions[interaction.id] = interaction
        self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    def interaction_payload(
        self, user_id: int, channel_id: int, type: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        """A complete interaction payload from a member in a channel."""
        channel = self.channels[channel_id]
        return {
            "id": str(snowflake()),
            "application_id": str(APP_ID),
            "type": type,
            "token": f"itoken-{uuid.uuid4().hex}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel_id),
            "channel": channel.json(self.users),
            "member": self.users[user_id].member_json(self.permissions_of(user_id)),
            "app_permissions": str(BOT_PERMISSIONS.value),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": self.upload_limit,
            "data": data,
        }

    def command(self, name: str) -> dict[str, Any]:
        """A synced command by name (guild commands first)."""
        for commands in (self.commands.get(GUILD_ID, []), self.commands.get(None, [])):
            for command in commands:
                if command["name"] == name:
                    return command
        raise KeyError(f"command {name!r} was not synced")

    def slash(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Interaction:
        """Use a slash command as a member would; option types come from the synced command."""
        spec = self.command(command)
        params = spec.get("options") or []
        if subcommand is not None:
            params = next(o for o in params if o["name"] == subcommand).get("options") or []
        types = {o["name"]: o["type"] for o in params}
        values: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in (options or {}).items():
            kind = types.get(name, 3)
            values.append({"name": name, "type": kind, "value": value})
            if kind == 7:  # channels and roles come resolved, as Discord sends them
                channel = self.channels[int(value)].json(self.users)
                channel["permissions"] = str(self.permissions_of(user_id).value)
                resolved.setdefault("channels", {})[str(value)] = channel
            elif kind == 8:
                resolved.setdefault("roles", {})[str(value)] = self.roles[int(value)].json()
        for name, (filename, content, content_type) in (files or {}).items():
            attachment = self.attachment(filename, content, content_type)
            resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.json()
            values.append({"name": name, "type": 11, "value": str(attachment.id)})
        if subcommand is not None:
            values = [{"name": subcommand, "type": 1, "options": values}]
        data: dict[str, Any] = {"id": spec["id"], "name": command, "type": 1, "options": values}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in spec:
            data["guild_id"] = spec["guild_id"]
        return self.send_interaction(self.interaction_payload(user_id, channel_id, 2, data))

    def press(self, user_id: int, message: Message, custom_id: str) -> Interaction:
        """Press a button on a message."""
        payload = self.interaction_payload(
            user_id, message.channel_id, 3, {"custom_id": custom_id, "component_type": 2}
        )
        payload["message"] = self._message_json(message)
        return self.send_interaction(payload)

    def context_menu(self, user_id: int, message: Message, name: str) -> Interaction:
        """Use a message context-menu command on a message."""
        spec = self.command(name)
        data = {
            "id": spec["id"],
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self._message_json(message)}},
        }
        return self.send_interaction(self.interaction_payload(user_id, message.channel_id, 2, data))

    def post_as(
        self,
        user_id: int,
        channel_id: int,
        content: str = "",
        files: list[Attachment] | None = None,
    ) -> Message:
        """A member posts a message (with attachments made by `attachment`)."""
        message = Message(
            snowflake(), channel_id, user_id, content=content, attachments=list(files or [])
        )
        self.messages[message.id] = message
        self.dispatch("MESSAGE_CREATE", self._message_json(message))
        return message

    def react(self, user_id: int, message: Message, emoji: str) -> None:
        """A member (or the bot) adds a reaction."""
        who = message.reactions.setdefault(emoji, [])
        if user_id in who:
            return
        who.append(user_id)
        data = _reaction(user_id, message, emoji) | {
            "burst_colors": [],
            "message_author_id": str(message.author_id),
            "member": self.users[user_id].member_json(),
        }
        self.dispatch("MESSAGE_REACTION_ADD", data)

    async def drop_gateway(self) -> None:
        """Close the bot's websocket as Discord does on a fault (4000: reconnect and resume)."""
        if self.session and self.session.ws is not None:
            await self.session.ws.close(code=4000, message=b"Unknown error")

    def delete_channel(self, channel_id: int) -> None:
        """The channel is deleted: the bot is told, and REST calls to it get 404."""
        channel = self.channels[channel_id]
        channel.deleted = True
        self.dispatch("CHANNEL_DELETE", channel.json(self.users))

    def rate_limit(self, method: str, path_pattern: str, retry_after: float = 0.5) -> None:
        """The next matching request gets a 429 with Retry-After."""
        self.rate_limits.append((method, re.compile(path_pattern), retry_after))

    def channel_messages(self, channel_id: int, *, ephemeral: bool = False) -> list[Message]:
        """Messages in a channel, oldest first (ephemeral ones only when asked)."""
        return [
            m
            for m in self.messages.values()
            if m.channel_id == channel_id and not m.deleted and (ephemeral or not m.ephemeral)
        ]

    def dm_messages(self, user_id: int) -> list[Message]:
        """Messages the bot sent to a member's DMs."""
        dms = [c.id for c in self.channels.values() if c.type == 1 and c.recipient == user_id]
        return [m for m in self.messages.values() if m.channel_id in dms]

    def replies(self, interaction: Interaction) -> list[Message]:
        """The interaction's original response and follow-ups."""
        ids = ([interaction.original_id] if interaction.original_id else []) + interaction.followups
        return [self.messages[i] for i in ids if i in self.messages]

    def requests_to(self, method: str, path_pattern: str) -> list[Recorded]:
        """Recorded requests whose path matches a regular expression."""
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.search(r.path)]

    async def wait_for(
        self, condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition"
    ) -> Any:
        """Wait until `condition()` is truthy and return it; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            await asyncio.sleep(0.02)

    async def wait_for_request(
        self, method: str, path_pattern: str, timeout: float = 20.0, count: int = 1
    ) -> Recorded:
        """Wait for the `count`-th request matching method and path pattern."""
        found: list[Recorded] = await self.wait_for(
            lambda: (m := self.requests_to(method, path_pattern)) and len(m) >= count and m,
            timeout,
            f"{method} {path_pattern}",
        )
        return found[count - 1]

    async def wait_for_response(self, interaction: Interaction, timeout: float = 10.0) -> Any:
        """Wait until the bot answered an interaction; return its callback body."""
        await self.wait_for(lambda: interaction.callbacks, timeout, "an interaction response")
        return interaction.callbacks[0]


def _reaction(user_id: int, message: Message, emoji: str) -> dict[str, Any]:
    """The fields MESSAGE_REACTION_ADD and _REMOVE share."""
    return {
        "user_id": str(user_id), "channel_id": str(message.channel_id),
        "message_id": str(message.id), "guild_id": str(GUILD_ID),
        "emoji": {"id": None, "name": emoji}, "type": 0, "burst": False,
    }  # fmt: skip


def _is_interaction_webhook(path: str) -> bool:
    return path.startswith(("/interactions/", "/webhooks/"))


@contextlib.asynccontextmanager
async def running_fake_discord(**kwargs: Any) -> Any:
    """A started fake Discord, stopped at the end of the block."""
    fake = FakeDiscord(**kwargs)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
