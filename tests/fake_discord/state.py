"""What the fake Discord remembers, and the changes to it that the bot must hear about.

`FakeState` is the base of the `FakeDiscord` mixins (see app.py): it holds the world, every
message, file, interaction and recorded request, and the knobs tests turn. Storing or editing a
message goes through here, because the REST routes and the test driver both do it and both must
send the same gateway events; how an event reaches the bot is the gateway's part (gateway.py).
"""

from __future__ import annotations

import abc
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from discord import Permissions

from tests.fake_discord.contract import Contract, Violation, load_contract
from tests.fake_discord.limits import RateLimits
from tests.fake_discord.world import (
    APP_ID,
    GUILD_ID,
    Attachment,
    Message,
    default_world,
    snowflake,
)

DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024


@dataclass
class Recorded:
    """One REST request the bot made, with its JSON body (or payload_json) and its files."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    files: list[tuple[str, bytes]]
    status: int = 0
    at: float = field(default_factory=time.monotonic)  # when it arrived
    answered_at: float | None = None  # when it was answered, if it was handed on


# Where the recording middleware leaves the request's `Recorded` for the route handler.
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
    expired: bool = False  # its token no longer works (15 minutes passed)
    answered_at: float | None = None  # when its callback was accepted


@dataclass
class Session:
    """A gateway session: its sequence and the events it was sent, for RESUME."""

    id: str
    intents: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


class FakeState(abc.ABC):
    """The fake's memory: the guild, messages and files, interactions, requests, and the knobs."""

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
        self.limits = RateLimits()  # Discord's rate limits, enforced once `limits.enabled`
        self.interaction_deadline = 3.0  # seconds an interaction waits for its callback
        self.blocked_dms: set[int] = set()
        self.locales: dict[int, str] = {}  # a member's Discord language (en-US unless set)
        self.heartbeat_ms = heartbeat_ms
        self.refuse_gateway = False  # answer 503 to the websocket handshake (an outage)
        self.session: Session | None = None
        self.contract: Contract | None = load_contract() if check_contract else None
        self.base_url = ""

    @abc.abstractmethod
    def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send a gateway event to the bot (gateway.py), if its intents ask for it."""

    def permissions_of(self, user_id: int) -> Permissions:
        """A member's guild-wide permissions from their roles."""
        value = self.roles[GUILD_ID].permissions.value
        for role in self.users[user_id].roles:
            value |= self.roles[role].permissions.value
        return Permissions(value)

    # --- messages and files -----------------------------------------------------------------

    def attachment(self, filename: str, data: bytes, content_type: str) -> Attachment:
        """Store a file, served by the fake like Discord's CDN."""
        attachment_id = snowflake()
        url = f"{self.base_url}/attachments/{attachment_id}/{filename}"
        attachment = Attachment(attachment_id, filename, content_type, data, url)
        self.files[attachment_id] = attachment
        return attachment

    def _uploads(self, body: Mapping[str, Any], files: list[tuple[str, bytes]]) -> list[Attachment]:
        """The files of a multipart request as attachments, named as the body describes them."""
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

    def store_message(
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
        """Keep a new message from a create-message body; MESSAGE_CREATE unless ephemeral."""
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
            self.dispatch("MESSAGE_CREATE", self.message_json(message))
        return message

    def apply_edit(
        self, message: Message, body: Mapping[str, Any], files: list[tuple[str, bytes]]
    ) -> None:
        """Change what an edit body names (an `attachments` list keeps only those it lists)."""
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
        message.edited_at = time.monotonic()
        if not message.ephemeral:
            self.dispatch("MESSAGE_UPDATE", self.message_json(message))

    def message_json(self, message: Message) -> dict[str, Any]:
        """The message object as the bot sees it (with `guild_id` outside DMs)."""
        channel = self.channels.get(message.channel_id)
        return message.json(self.users, APP_ID, in_guild=bool(channel and channel.type != 1))

    # --- reactions --------------------------------------------------------------------------

    def add_reaction(self, user_id: int, message: Message, emoji: str) -> None:
        """Someone (the bot included) adds a reaction; a second one by them changes nothing."""
        who = message.reactions.setdefault(emoji, [])
        if user_id in who:
            return
        who.append(user_id)
        data = reaction_json(user_id, message, emoji) | {
            "burst_colors": [],
            "message_author_id": str(message.author_id),
            "member": self.users[user_id].member_json(),
        }
        self.dispatch("MESSAGE_REACTION_ADD", data)

    def remove_reaction(self, user_id: int, message: Message, emoji: str) -> None:
        """A reaction goes, if it was there."""
        if user_id in message.reactions.get(emoji, []):
            message.reactions[emoji].remove(user_id)
            self.dispatch("MESSAGE_REACTION_REMOVE", reaction_json(user_id, message, emoji))


def reaction_json(user_id: int, message: Message, emoji: str) -> dict[str, Any]:
    """The fields MESSAGE_REACTION_ADD and _REMOVE share."""
    return {
        "user_id": str(user_id),
        "channel_id": str(message.channel_id),
        "message_id": str(message.id),
        "guild_id": str(GUILD_ID),
        "emoji": {"id": None, "name": emoji},
        "type": 0,
        "burst": False,
    }
