"""REST routes of users, channels, messages, reactions and files, with Discord's refusals.

A deleted channel is 404; a channel that forbids the bot is 403; a locked thread is 400
(50083); an upload over the guild's limit is 413; a post whose nonce Discord still remembers
(with `enforce_nonce`) returns the earlier message instead of a second one; history needs Read
Message History.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tests.fake_discord.responses import API, error, form_error, jsonify
from tests.fake_discord.state import RECORD, FakeState, Recorded
from tests.fake_discord.world import APP_ID, Channel, Message, snowflake


class RestRoutes(FakeState):
    """The bot's own user and application, channels, messages, reactions, DMs and members."""

    def _add_rest_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get(f"{API}/users/@me", self._me)
        r.add_get(f"{API}/oauth2/applications/@me", self._application)
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
        r.add_get("/attachments/{aid}/{name}", self._attachment)

    # --- the bot itself ---------------------------------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        extra = {"verified": True, "mfa_enabled": False, "flags": 0, "email": None}
        return jsonify(self.users[APP_ID].json() | extra)

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

    # --- channels and messages --------------------------------------------------------------

    def _channel(self, request: web.Request) -> Channel | web.Response:
        """The channel in the request's path, or Discord's 404 once it is deleted."""
        channel = self.channels.get(int(request.match_info["cid"]))
        if channel is None or channel.deleted:
            return error(404, 10003, "Unknown Channel")
        return channel

    def _message(self, request: web.Request) -> Message | web.Response:
        """The message in the request's path, or Discord's 404 for its channel or itself."""
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted or message.channel_id != channel.id:
            return error(404, 10008, "Unknown Message")
        return message

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        return channel if isinstance(channel, web.Response) else jsonify(channel.json(self.users))

    async def _post_message(self, request: web.Request) -> web.Response:
        channel = self._channel(request)
        if isinstance(channel, web.Response):
            return channel
        if channel.forbidden:
            return error(403, 50013, "Missing Permissions")
        if channel.locked:
            return error(400, 50083, "Thread is archived")
        if channel.type == 1 and channel.recipient in self.blocked_dms:
            return error(403, 50007, "Cannot send messages to this user")
        record: Recorded = request[RECORD]
        body = record.body or {}
        if any(len(data) > self.upload_limit for _, data in record.files):
            return error(413, 40005, "Request entity too large")
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self._posted_with(channel.id, nonce)
            if earlier is not None:
                return self._post_reply(request, earlier)
        reference = body.get("message_reference")
        if reference:
            target = self.messages.get(int(reference["message_id"]))
            if target is None and reference.get("fail_if_not_exists", True):
                return form_error({"message_reference": "Unknown message"})
        message = self.store_message(
            channel.id, APP_ID, body, record.files, type=19 if reference else 0
        )
        if self.post_taken is not None:
            self.post_taken(message)  # made and shown; the reply is not sent yet
        return self._post_reply(request, message)

    def _post_reply(self, request: web.Request, message: Message) -> web.Response:
        """The reply to a post (a new one, or the one its nonce names), unless replies are
        being lost: the post is made, but the bot never reads the reply."""
        if self.lose_post_replies and request.transport is not None:
            self.lose_post_replies -= 1
            request.transport.abort()
        return jsonify(self.message_json(message))

    def _posted_with(self, channel_id: int, nonce: str | int) -> Message | None:
        """The live message posted here with this nonce, while Discord still remembers it."""
        for old in self.messages.values():
            fresh = time.monotonic() - old.created <= self.nonce_seconds
            if old.channel_id == channel_id and old.nonce == nonce and fresh and not old.deleted:
                return old
        return None

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
        found = [  # an ephemeral message belongs to its one reader: no history lists it
            m
            for m in self.messages.values()
            if m.channel_id == channel.id
            and not m.deleted
            and not m.ephemeral
            and after < m.id < before
        ]
        page = found[:limit] if "after" in query else found[-limit:]
        # Discord sends a nonce back only in the answer to the post that carried it.
        listed = [self.message_json(m) for m in reversed(page)]
        return jsonify([{k: v for k, v in m.items() if k != "nonce"} for m in listed])

    async def _get_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if isinstance(message, web.Response):
            return message
        return jsonify(self.message_json(message))

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if isinstance(message, web.Response):
            return message
        if message.author_id != APP_ID:
            return error(403, 50005, "Cannot edit a message authored by another user")
        if self.channels[message.channel_id].forbidden:
            return error(403, 50013, "Missing Permissions")
        if self.channels[message.channel_id].locked:
            return error(400, 50083, "Thread is archived")
        record: Recorded = request[RECORD]
        if any(len(data) > self.upload_limit for _, data in record.files):
            return error(413, 40005, "Request entity too large")
        self.apply_edit(message, record.body or {}, record.files)
        return jsonify(self.message_json(message))

    async def _delete_message(self, request: web.Request) -> web.Response:
        message = self._message(request)
        if isinstance(message, web.Response):
            return message
        message.deleted = True
        deleted = {"id": str(message.id), "channel_id": str(message.channel_id)}
        guild_id = self.guild_of(message.channel_id)
        if guild_id is not None:
            deleted["guild_id"] = str(guild_id)
        self.dispatch("MESSAGE_DELETE", deleted)
        return web.Response(status=204)

    # --- reactions --------------------------------------------------------------------------

    async def _put_reaction(self, request: web.Request) -> web.Response:
        """The bot reacts (only as itself: `@me`)."""
        if request.match_info["who"] != "@me":
            return error(405, 0, "405: Method Not Allowed")
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted:
            return error(404, 10008, "Unknown Message")
        self.add_reaction(APP_ID, message, unquote(request.match_info["emoji"]))
        return web.Response(status=204)

    async def _delete_reaction(self, request: web.Request) -> web.Response:
        """The bot takes back its own reaction (`@me`) or removes a member's."""
        message = self.messages.get(int(request.match_info["mid"]))
        if message is None or message.deleted:
            return error(404, 10008, "Unknown Message")
        who = request.match_info["who"]
        user_id = APP_ID if who == "@me" else int(who)
        self.remove_reaction(user_id, message, unquote(request.match_info["emoji"]))
        return web.Response(status=204)

    # --- DMs, members, users and files ------------------------------------------------------

    async def _open_dm(self, request: web.Request) -> web.Response:
        """The DM channel with a user, made on first use."""
        body: dict[str, Any] = request[RECORD].body or {}
        recipient = int(body["recipient_id"])
        for channel in self.channels.values():
            if channel.type == 1 and channel.recipient == recipient:
                return jsonify(channel.json(self.users))
        channel = Channel(snowflake(), "dm", type=1, recipient=recipient, guild_id=None)
        self.channels[channel.id] = channel
        return jsonify(channel.json(self.users))

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self.guilds.get(int(request.match_info["gid"]))
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        user_id = int(request.match_info["uid"])
        if user_id not in guild.members:
            return error(404, 10007, "Unknown Member")
        return jsonify(self.member_json(user_id, guild.id))

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(int(request.match_info["uid"]))
        return jsonify(user.json()) if user else error(404, 10013, "Unknown User")

    async def _attachment(self, request: web.Request) -> web.Response:
        """A stored file, as Discord's CDN serves it (no authorization)."""
        await self.attachments_served.wait()
        attachment = self.files.get(int(request.match_info["aid"]))
        if attachment is None:
            return error(404, 0, "404: Not Found")
        if self.file_served is not None:
            self.file_served()
        return web.Response(body=attachment.data, content_type=attachment.content_type)
