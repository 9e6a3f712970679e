"""What the fake Discord remembers, and the changes to it that the bot must hear about.

`FakeState` is the base of the `FakeDiscord` mixins (see app.py): it holds the world, every
message, file, interaction and recorded request, and the knobs tests turn. Storing or editing a
message goes through here, because the REST routes and the test driver both do it and both must
send the same gateway events; how an event reaches the bot is the gateway's part (gateway.py).
"""

from __future__ import annotations

import abc
import asyncio
import re
import time
from collections.abc import Callable, Mapping
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
    shard_of,
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
    """A gateway session: its shard, its sequence and the events it was sent (for RESUME, and
    for tests to read what it got). It ends when its client closes with 1000 or 1001 (which
    Discord takes as "this session is over"); until then a dropped one can be resumed."""

    id: str
    intents: int
    shard: tuple[int, int] | None = None  # (shard_id, shard_count) as IDENTIFY gave it
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    ended: bool = False
    identified_at: float = field(default_factory=time.monotonic)

    def owns(self, guild_id: int | None) -> bool:
        """Whether this session gets a guild's events (`None`: events of no guild, such as
        DMs, which only shard 0 gets)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))

    def received(self, name: str | None = None) -> list[dict[str, Any]]:
        """The `d` of each event sent to this session (only those called `name` if given)."""
        return [e["d"] for e in self.sent if name is None or e["t"] == name]


class FakeState(abc.ABC):
    """The fake's memory: the guilds, messages and files, interactions, requests, and the knobs."""

    def __init__(self, *, heartbeat_ms: int = 41_250, check_contract: bool = True) -> None:
        self.guilds, self.users, self.roles, self.channels = default_world()
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
        # (method, path, Retry-After, global): the next matching request is refused 429.
        self.rate_limits: list[tuple[str, re.Pattern[str], float, bool]] = []
        self.limits = RateLimits()  # Discord's rate limits, enforced once `limits.enabled`
        self.interaction_deadline = 3.0  # seconds an interaction waits for its callback
        self.blocked_dms: set[int] = set()
        # The CDN serves attachments while this is set; cleared, their downloads wait (a
        # member's slow file host, as a test wants its probe to be under way).
        self.attachments_served = asyncio.Event()
        self.attachments_served.set()
        self.locales: dict[int, str] = {}  # a member's Discord language (en-US unless set)
        self.heartbeat_ms = heartbeat_ms
        self.refuse_gateway = False  # answer 503 to the websocket handshake (an outage)
        self.lose_followups = 0  # the next follow-ups answered 404 Unknown Webhook (token lost)
        self.lose_callback_replies = 0  # the next first answers shown, their replies dropped
        self.lose_followup_replies = 0  # the next follow-ups posted, their replies dropped
        self.lose_post_replies = 0  # the next channel posts made, their replies dropped
        self.fail_followups_after_post = 0  # the next follow-ups posted, then answered 500
        self.fail_callbacks_after_answer = 0  # the next first answers taken, then answered 500
        # Called as a first answer is taken, before its reply (a test kills the bot there).
        self.answer_taken: Callable[[Interaction], None] | None = None
        # Called as an edit of an interaction's message arrives; when it returns True the edit
        # is never made (a test kills the bot there: it died before its edit reached Discord).
        self.edit_arriving: Callable[[Interaction], bool] | None = None
        # Called as a stored file is served (a test kills the bot while it probes a file).
        self.file_served: Callable[[], None] | None = None
        # Called as a channel post is made, before its reply (a test kills the bot there).
        self.post_taken: Callable[[Message], None] | None = None
        # Sharding, as GET /gateway/bot tells it and IDENTIFY enforces it.
        self.recommended_shards = 1
        self.max_concurrency = 1  # IDENTIFYs Discord starts per 5 s
        self.max_guilds_per_session = 2500  # more on one session: closed with 4011
        self.sessions: list[Session] = []
        self.started = time.monotonic()
        self.contract: Contract | None = load_contract() if check_contract else None
        self.base_url = ""

    @property
    def session(self) -> Session | None:
        """The latest gateway session (the only one, for a bot without shards)."""
        return self.sessions[-1] if self.sessions else None

    def sessions_of(self, shard_id: int) -> list[Session]:
        """The sessions that identified as this shard (of any count), oldest first."""
        return [s for s in self.sessions if s.shard is not None and s.shard[0] == shard_id]

    @abc.abstractmethod
    def dispatch(self, name: str, data: dict[str, Any]) -> None:
        """Send a gateway event to the sessions whose shard owns it (gateway.py), if their
        intents ask for it."""

    def guild_of(self, channel_id: int) -> int | None:
        """The guild a channel is in (None for a DM)."""
        return self.channels[channel_id].guild_id

    def roles_in(self, user_id: int, guild_id: int) -> list[int]:
        """A member's roles in one guild."""
        return [r for r in self.users[user_id].roles if self.roles[r].guild_id == guild_id]

    def member_json(
        self, user_id: int, guild_id: int, *, permissions: bool = False
    ) -> dict[str, Any]:
        """A member of a guild as Discord sends it (with their permissions, as interactions
        carry them, when asked)."""
        given = self.permissions_of(user_id, guild_id) if permissions else None
        return self.users[user_id].member_json(self.roles_in(user_id, guild_id), given)

    def permissions_of(self, user_id: int, guild_id: int = GUILD_ID) -> Permissions:
        """A member's guild-wide permissions from their roles in that guild."""
        value = self.roles[guild_id].permissions.value
        for role in self.roles_in(user_id, guild_id):
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
        """The message object as the bot sees it (with `guild_id` outside DMs); an
        interaction's answer or follow-up names that interaction (`interaction_metadata`)."""
        channel = self.channels.get(message.channel_id)
        guild_id = channel.guild_id if channel else None
        data = message.json(self.users, APP_ID, guild_id)
        interaction = self.interactions.get(message.interaction_id or 0)
        if interaction is not None:
            # Installed in a guild: owner "0" is the guild; in a DM, "1" is the user.
            owners = (
                {"0": str(guild_id)} if guild_id is not None else {"1": str(interaction.user_id)}
            )
            data["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": self.users[interaction.user_id].json(),
                "authorizing_integration_owners": owners,
            }
            if interaction.original_id is not None and message.id != interaction.original_id:
                data["interaction_metadata"]["original_response_message_id"] = str(
                    interaction.original_id
                )
            if interaction.type == 3:  # a component's: the message it was on
                source = (interaction.payload.get("message") or {}).get("id")
                if source is not None:
                    data["interaction_metadata"]["interacted_message_id"] = str(source)
        return data

    # --- reactions --------------------------------------------------------------------------

    def add_reaction(self, user_id: int, message: Message, emoji: str) -> None:
        """Someone (the bot included) adds a reaction; a second one by them changes nothing."""
        who = message.reactions.setdefault(emoji, [])
        if user_id in who:
            return
        who.append(user_id)
        guild_id = self.guild_of(message.channel_id)
        data = reaction_json(user_id, message, emoji, guild_id) | {
            "burst_colors": [],
            "message_author_id": str(message.author_id),
        }
        if guild_id is not None:
            data["member"] = self.member_json(user_id, guild_id)
        self.dispatch("MESSAGE_REACTION_ADD", data)

    def remove_reaction(self, user_id: int, message: Message, emoji: str) -> None:
        """A reaction goes, if it was there."""
        if user_id in message.reactions.get(emoji, []):
            message.reactions[emoji].remove(user_id)
            data = reaction_json(user_id, message, emoji, self.guild_of(message.channel_id))
            self.dispatch("MESSAGE_REACTION_REMOVE", data)


def reaction_json(
    user_id: int, message: Message, emoji: str, guild_id: int | None
) -> dict[str, Any]:
    """The fields MESSAGE_REACTION_ADD and _REMOVE share (`guild_id` outside DMs)."""
    data: dict[str, Any] = {
        "user_id": str(user_id),
        "channel_id": str(message.channel_id),
        "message_id": str(message.id),
        "emoji": {"id": None, "name": emoji},
        "type": 0,
        "burst": False,
    }
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
    return data
