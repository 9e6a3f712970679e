"""REST routes of application commands and interactions: sync, callbacks, follow-ups.

Discord's rules the bot must meet are enforced: one callback per interaction, within 3 s of
the interaction; follow-ups and edits of the original answer through the interaction webhook,
until the interaction's token expires.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fake_discord.command_rules import command_problems
from tests.fake_discord.contract import Violation
from tests.fake_discord.responses import API, error, form_error, jsonify
from tests.fake_discord.state import RECORD, FakeState, Interaction, Recorded
from tests.fake_discord.world import APP_ID, Message, snowflake

INTERACTION_DEADLINE = 3.0
AUTOCOMPLETE = 4  # the interaction type of an option being typed
# The interaction callback types the bot uses, and the flag of an answer still "thinking".
MESSAGE, DEFERRED_MESSAGE, UPDATE_MESSAGE, AUTOCOMPLETE_RESULT = 4, 5, 7, 8
LOADING = 128


class InteractionRoutes(FakeState):
    """Application commands, interaction callbacks and the interaction webhook."""

    def _add_interaction_routes(self, r: web.UrlDispatcher) -> None:
        r.add_get(f"{API}/applications/{{app}}/commands", self._get_commands)
        r.add_put(f"{API}/applications/{{app}}/commands", self._put_commands)
        r.add_get(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self._get_commands)
        r.add_put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self._put_commands)
        r.add_post(f"{API}/interactions/{{iid}}/{{token}}/callback", self._callback)
        r.add_post(f"{API}/webhooks/{{app}}/{{token}}", self._followup)
        r.add_route(
            "*", f"{API}/webhooks/{{app}}/{{token}}/messages/{{mid}}", self._webhook_message
        )

    # --- commands ---------------------------------------------------------------------------

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        return jsonify(self.commands.get(int(guild) if guild else None, []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: a command keeps its id across syncs when its name stays the same."""
        guild = request.match_info.get("guild")
        key = int(guild) if guild else None
        if key is not None and key not in self.guilds:
            # Discord's answer for a server the bot is not in (or any id that is no server).
            return error(403, 50001, "Missing Access")
        record: Recorded = request[RECORD]
        body = record.body or []
        problems = command_problems(body)
        if problems:
            self.violations.extend(Violation(record.method, record.path, p) for p in problems)
            return form_error({"commands": "; ".join(problems)})
        known = {c["name"]: c["id"] for c in self.commands.get(key, [])}
        defaults = {
            "type": 1,
            "description": "",
            "options": [],
            "nsfw": False,
            "default_member_permissions": None,
            "dm_permission": True,
        }
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
        """The interaction a callback or webhook path names, if its token matches."""
        found = self.interactions.get(int(request.match_info.get("iid", "0") or 0))
        if found is None:
            token = request.match_info.get("token")
            found = next((i for i in self.interactions.values() if i.token == token), None)
        return found if found is not None and found.token == request.match_info["token"] else None

    async def _callback(self, request: web.Request) -> web.Response:
        """The first answer: a message (4), "thinking" (5), an edit of the pressed one (7), or
        suggestions for an option being typed (8, the only answer an autocomplete takes)."""
        interaction = self._interaction(request)
        if interaction is None:
            return error(404, 10062, "Unknown interaction")
        if time.monotonic() - interaction.sent_at > self.interaction_deadline:
            return error(404, 10062, "Unknown interaction")
        if interaction.callbacks:
            return error(400, 40060, "Interaction has already been acknowledged.")
        record: Recorded = request[RECORD]
        body = record.body or {}
        interaction.callbacks.append(body)
        interaction.answered_at = time.monotonic()
        kind, data = body.get("type"), body.get("data") or {}
        if (kind == AUTOCOMPLETE_RESULT) != (interaction.type == AUTOCOMPLETE):
            return form_error({"type": "This callback type is not valid for this interaction"})
        message: Message | None = None
        if kind in (MESSAGE, DEFERRED_MESSAGE):
            flags = int(data.get("flags") or 0) | (LOADING if kind == DEFERRED_MESSAGE else 0)
            message = self.store_message(
                interaction.channel_id,
                APP_ID,
                data,
                record.files,
                flags=flags,
                interaction_id=interaction.id,
                type=20 if interaction.type == 2 else 0,  # a chat-input command's reply
            )
            interaction.original_id = message.id
        elif kind == UPDATE_MESSAGE:
            source = self._component_message(interaction)
            if source is not None:
                self.apply_edit(source, data, record.files)
                message = source
        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == DEFERRED_MESSAGE,
                "response_message_ephemeral": bool(message and message.ephemeral),
            },
            "resource": {"type": kind},
        }
        if message is not None:
            answer["resource"]["message"] = self.message_json(message)
        if self.answer_taken is not None:
            self.answer_taken(interaction)  # taken and shown; the reply is not sent yet
        if self.fail_callbacks_after_answer:
            # Discord's side failed after the answer was taken: a 500, and the answer stays.
            self.fail_callbacks_after_answer -= 1
            return error(500, 0, "500: Internal Server Error")
        if self.lose_callback_replies and request.transport is not None:
            # Taken and shown, but the connection drops before the reply: the bot cannot tell
            # whether its answer landed.
            self.lose_callback_replies -= 1
            request.transport.abort()
        return jsonify(answer)

    def _component_message(self, interaction: Interaction) -> Message | None:
        data = interaction.payload.get("message")
        return self.messages.get(int(data["id"])) if data else None

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction(request)
        if interaction is None or interaction.expired or self.lose_followups:
            self.lose_followups = max(0, self.lose_followups - 1)
            return error(404, 10015, "Unknown Webhook")
        record: Recorded = request[RECORD]
        if any(len(data) > self.upload_limit for _, data in record.files):
            return error(413, 40005, "Request entity too large")
        original = self.messages.get(interaction.original_id or 0)
        if original is not None and original.flags & LOADING and not original.deleted:
            # Discord: a follow-up sent while the deferred answer still says "thinking" is taken
            # as the edit that resolves it (for backwards compatibility): no new message, and
            # its flags are ignored, so it stays as private or public as the defer made it
            # (discord/discord-api-docs#2742, documented in #3466 and #7091).
            return self._edited(original, record)
        message = self.store_message(
            interaction.channel_id,
            APP_ID,
            record.body or {},
            record.files,
            flags=int((record.body or {}).get("flags") or 0),
            interaction_id=interaction.id,
        )
        interaction.followups.append(message.id)
        if self.fail_followups_after_post:
            # Discord's side failed after the message was made: a 500, and the message stays.
            self.fail_followups_after_post -= 1
            return error(500, 0, "500: Internal Server Error")
        if self.lose_followup_replies and request.transport is not None:
            self.lose_followup_replies -= 1
            request.transport.abort()  # posted, but the bot never reads the reply
        return jsonify(self.message_json(message))

    async def _webhook_message(self, request: web.Request) -> web.Response:
        """GET, PATCH or DELETE the original answer (`@original`) or a follow-up."""
        interaction = self._interaction(request)
        if interaction is None or interaction.expired:
            return error(404, 10015, "Unknown Webhook")
        mid = request.match_info["mid"]
        message_id = interaction.original_id if mid == "@original" else int(mid)
        message = self.messages.get(message_id or 0)
        channel = self.channels.get(interaction.channel_id)
        if message is None or message.deleted or channel is None or channel.deleted:
            return error(404, 10008, "Unknown Message")
        if request.method == "GET":
            return jsonify(self.message_json(message))
        if request.method == "DELETE":
            message.deleted = True
            return web.Response(status=204)
        if self.edit_arriving is not None and self.edit_arriving(interaction):
            return error(500, 0, "500: Internal Server Error")  # its sender died first
        record: Recorded = request[RECORD]
        if any(len(data) > self.upload_limit for _, data in record.files):
            return error(413, 40005, "Request entity too large")
        return self._edited(message, record)

    def _edited(self, message: Message, record: Recorded) -> web.Response:
        """An edit of an interaction's message, which resolves its "thinking" if it showed."""
        self.apply_edit(message, record.body or {}, record.files)
        message.flags &= ~LOADING
        return jsonify(self.message_json(message))
