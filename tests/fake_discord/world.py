"""The fake Discord's world: two guilds, their channels and members, and how they look as JSON.

Ids are fixed, so tests name people and places (`REQUESTER`, `GENERAL`...) directly. The first
guild is where most tests happen; the second (`GUILD_2`, its channel `STUDIO`, its members
`REQUESTER_2` and `ADMIN_2`) sits on the other shard of two: `(id >> 22) % 2` is 0 for
`GUILD_ID` and 1 for `GUILD_2` (`shard_of`). Every `json()` gives the object as Discord's API
documents it, complete enough for discord.py to parse.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from discord import Permissions

TOKEN = "fake-bot-token.XYZ.abc123"
APP_ID = 900_000_000_000_000_001  # the bot user shares its application's id, as on Discord
GUILD_ID = 900_000_000_020_000_100  # on shard 0 of 2
GENERAL = 900_000_000_000_000_200
ART = 900_000_000_000_000_201
THREAD = 900_000_000_000_000_202
FORUM = 900_000_000_000_000_203  # a forum channel: members post threads, never in it directly
FORUM_POST = 900_000_000_000_000_204  # a post (a thread) of FORUM
VOICE = 900_000_000_000_000_205  # a voice channel: members post in its text chat too
ROLE_MOD = 900_000_000_000_000_301
ROLE_ADMIN = 900_000_000_000_000_302
ROLE_BOT = 900_000_000_000_000_303
REQUESTER = 900_000_000_000_000_401
MEMBER = 900_000_000_000_000_402
MODERATOR = 900_000_000_000_000_403
ADMIN = 900_000_000_000_000_404
# The second guild, on shard 1 of 2.
GUILD_2 = 900_000_000_050_000_100
STUDIO = 900_000_000_000_000_210
ROLE_ADMIN_2 = 900_000_000_000_000_312
ROLE_BOT_2 = 900_000_000_000_000_313
REQUESTER_2 = 900_000_000_000_000_411
ADMIN_2 = 900_000_000_000_000_414

EVERYONE_PERMISSIONS = Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    embed_links=True,
    attach_files=True,
    read_message_history=True,
    add_reactions=True,
    use_application_commands=True,
)
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | Permissions(manage_messages=True)

_ids = itertools.count(1_000_000_000_000_000_000)


def snowflake() -> int:
    """A new, increasing id."""
    return next(_ids)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events: Discord's `(guild_id >> 22) % shard_count`."""
    return (guild_id >> 22) % shard_count


def now_iso() -> str:
    """The current time as Discord writes it."""
    return datetime.now(UTC).isoformat()


@dataclass
class Guild:
    """A guild: its owner's id and who is in it (the bot included)."""

    id: int
    name: str
    owner_id: int
    members: list[int]
    preferred_locale: str = "en-US"  # the server's language (in Server Settings, Community)


@dataclass
class User:
    """A Discord user; `roles` are their roles, in whichever guild each role belongs to."""

    id: int
    name: str
    bot: bool = False
    roles: list[int] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        """The user object."""
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member_json(
        self, roles: list[int], permissions: Permissions | None = None
    ) -> dict[str, Any]:
        """The guild member object with their `roles` in that guild (and `permissions` as
        interactions carry them)."""
        data: dict[str, Any] = {
            "user": self.json(),
            "roles": [str(r) for r in roles],
            "nick": None,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions.value)
        return data


@dataclass
class Role:
    """A guild role (the guild's own id is its @everyone role)."""

    id: int
    name: str
    permissions: Permissions
    position: int
    guild_id: int = GUILD_ID

    def json(self) -> dict[str, Any]:
        """The role object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions.value),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Channel:
    """A text channel, a voice channel (type 2, with its text chat), a forum (type 15), a
    thread (type 11) or a DM (type 1, in no guild)."""

    id: int
    name: str
    type: int = 0
    guild_id: int | None = GUILD_ID
    parent_id: int | None = None
    recipient: int | None = None
    deleted: bool = False
    forbidden: bool = False
    history_hidden: bool = False  # the bot lacks Read Message History here
    locked: bool = False  # a thread archived and locked by a moderator: no post, no edit

    def json(self, users: dict[int, User]) -> dict[str, Any]:
        """The channel object."""
        if self.type == 1:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [users[self.recipient].json()],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
        }
        if self.type == 2:
            data |= {"bitrate": 64000, "user_limit": 0, "rtc_region": None}
        if self.type == 15:
            data |= {
                "available_tags": [],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
            }
        if self.type == 11:
            data |= {
                "owner_id": str(MODERATOR),
                "message_count": 0,
                "member_count": 1,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": now_iso(),
                    "locked": False,
                },
            }
        return data


@dataclass
class Attachment:
    """A file on a message or in an interaction, served by the fake at `url`."""

    id: int
    filename: str
    content_type: str
    data: bytes
    url: str

    def json(self) -> dict[str, Any]:
        """The attachment object."""
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }


@dataclass
class Message:
    """A message as the fake keeps it; `json()` gives Discord's shape."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    reference: dict[str, Any] | None = None
    nonce: str | int | None = None
    interaction_id: int | None = None
    type: int = 0
    reactions: dict[str, list[int]] = field(default_factory=dict)
    created: float = field(default_factory=time.monotonic)
    edited: bool = False
    edited_at: float | None = None  # when it was last edited (time.monotonic)
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Seen only by the one who used the interaction."""
        return bool(self.flags & 64)

    def json(self, users: dict[int, User], me: int, guild_id: int | None) -> dict[str, Any]:
        """The message object (`guild_id`: of its channel, None in DMs)."""
        author = users[self.author_id]
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": author.json(),
            "content": self.content,
            "timestamp": now_iso(),
            "edited_timestamp": now_iso() if self.edited else None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [a.json() for a in self.attachments],
            "embeds": self.embeds,
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
            "components": self.components,
            "reactions": [
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": len(who),
                    "me": me in who,
                    "count_details": {"burst": 0, "normal": len(who)},
                    "me_burst": False,
                    "burst_colors": [],
                }
                for emoji, who in self.reactions.items()
                if who
            ],
        }
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        if self.reference:
            data["message_reference"] = self.reference
        if self.nonce is not None:
            data["nonce"] = self.nonce
        if self.interaction_id is not None:
            data["webhook_id"] = str(APP_ID)
            data["application_id"] = str(APP_ID)
        return data


World = tuple[dict[int, Guild], dict[int, User], dict[int, Role], dict[int, Channel]]


def default_world() -> World:
    """Two guilds. The first: a requester, a plain member, a moderator and an admin; two
    channels and a thread. The second: a requester and an admin in one channel. The bot is in
    both."""
    # Owners are not among the members: an owner's permissions would bypass every role.
    guilds = {
        GUILD_ID: Guild(
            GUILD_ID, "Pika Fans", APP_ID + 3, [APP_ID, REQUESTER, MEMBER, MODERATOR, ADMIN]
        ),
        GUILD_2: Guild(GUILD_2, "Pika Studio", APP_ID + 4, [APP_ID, REQUESTER_2, ADMIN_2]),
    }
    users = {
        APP_ID: User(APP_ID, "PikaBot", bot=True, roles=[ROLE_BOT, ROLE_BOT_2]),
        REQUESTER: User(REQUESTER, "alice"),
        MEMBER: User(MEMBER, "bob"),
        MODERATOR: User(MODERATOR, "morgan", roles=[ROLE_MOD]),
        ADMIN: User(ADMIN, "owner", roles=[ROLE_ADMIN]),
        REQUESTER_2: User(REQUESTER_2, "carol"),
        ADMIN_2: User(ADMIN_2, "dana", roles=[ROLE_ADMIN_2]),
    }
    roles = {
        GUILD_ID: Role(GUILD_ID, "@everyone", EVERYONE_PERMISSIONS, 0),
        ROLE_MOD: Role(ROLE_MOD, "Moderator", Permissions(manage_messages=True), 1),
        ROLE_ADMIN: Role(ROLE_ADMIN, "Admin", Permissions(manage_guild=True), 2),
        ROLE_BOT: Role(ROLE_BOT, "PikaBot", BOT_PERMISSIONS, 3),
        GUILD_2: Role(GUILD_2, "@everyone", EVERYONE_PERMISSIONS, 0, GUILD_2),
        ROLE_ADMIN_2: Role(ROLE_ADMIN_2, "Admin", Permissions(manage_guild=True), 1, GUILD_2),
        ROLE_BOT_2: Role(ROLE_BOT_2, "PikaBot", BOT_PERMISSIONS, 2, GUILD_2),
    }
    channels = {
        GENERAL: Channel(GENERAL, "general"),
        ART: Channel(ART, "art"),
        THREAD: Channel(THREAD, "fox-ideas", type=11, parent_id=GENERAL),
        FORUM: Channel(FORUM, "requests", type=15),
        FORUM_POST: Channel(FORUM_POST, "my fox", type=11, parent_id=FORUM),
        VOICE: Channel(VOICE, "hangout", type=2),
        STUDIO: Channel(STUDIO, "studio", guild_id=GUILD_2),
    }
    return guilds, users, roles, channels


def guild_json(
    guild: Guild, users: dict[int, User], roles: dict[int, Role], channels: dict[int, Channel]
) -> dict[str, Any]:
    """The GUILD_CREATE payload: the guild with every member, role, live channel and thread."""
    own_roles = [r for r in roles.values() if r.guild_id == guild.id]
    role_ids = {r.id for r in own_roles}
    own_channels = [c for c in channels.values() if c.guild_id == guild.id and not c.deleted]
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "roles": [r.json() for r in own_roles],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": len(guild.members),
        "large": False,
        "members": [
            users[m].member_json([r for r in users[m].roles if r in role_ids])
            for m in guild.members
        ],
        "channels": [c.json(users) for c in own_channels if c.type in (0, 2, 15)],
        "threads": [c.json(users) for c in own_channels if c.type == 11],
        "presences": [],
        "voice_states": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "unavailable": False,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": guild.preferred_locale,
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
