"""What tests do with the fake Discord: act as members, turn faults on, look, and wait.

Actions (`slash`, `autocomplete`, `press`, `context_menu`, `post_as`, `react`) send the
gateway events a real client's use would cause, built from the synced commands and the world,
in the guild of the channel (or message) they name, to the gateway sessions of that guild's
shard; the member must be in that guild. Each interaction carries its member's Discord
language (`locales`, en-US unless a test sets one). Faults (`rate_limit`,
`delete_channel`, and the knobs in state.py) change how the fake answers next. Views
(`channel_messages`, `replies`, `requests_to`...) read what the bot did, and the `wait_for`
family polls until it has done it.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from tests.fake_discord.state import FakeState, Interaction, Recorded
from tests.fake_discord.world import (
    APP_ID,
    BOT_PERMISSIONS,
    GUILD_ID,
    Attachment,
    Message,
    snowflake,
)

T = TypeVar("T")
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE = 2, 3, 4  # interaction types
STRING, CHANNEL, ROLE, ATTACHMENT = 3, 7, 8, 11  # command option types


class Driver(FakeState):
    """The actions, faults, views and waits that tests call."""

    # --- members act ------------------------------------------------------------------------

    def slash(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None = None,
        options: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Interaction:
        """Use a slash command as a member would; option types come from the synced command.

        Values are sent as given, unchecked, so a test can send what a stale client might;
        `files` maps an attachment option to (filename, content, content type)."""
        payload = self._command_payload(user_id, channel_id, command, subcommand, options, files)
        return self.send_interaction(payload)

    def autocomplete(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None,
        focused: str,
        typed: str,
        options: Mapping[str, Any] | None = None,
    ) -> Interaction:
        """Type `typed` into option `focused` of a command: Discord asks the bot for
        suggestions (interaction type 4), and the bot answers with callback type 8."""
        given = {**(options or {}), focused: typed}
        payload = self._command_payload(user_id, channel_id, command, subcommand, given, None)
        payload["type"] = AUTOCOMPLETE
        values = payload["data"]["options"]
        if subcommand is not None:
            values = values[0]["options"]
        for option in values:
            if option["name"] == focused:
                option["focused"] = True
        return self.send_interaction(payload)

    def _command_payload(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        subcommand: str | None,
        options: Mapping[str, Any] | None,
        files: Mapping[str, tuple[str, bytes, str]] | None,
    ) -> dict[str, Any]:
        """The payload of a chat-input command as Discord sends it."""
        spec = self.command(command, self.guild_of(channel_id))
        params = spec.get("options") or []
        if subcommand is not None:
            params = next(o for o in params if o["name"] == subcommand).get("options") or []
        types = {o["name"]: o["type"] for o in params}
        values: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in (options or {}).items():
            kind = types.get(name, STRING)
            values.append({"name": name, "type": kind, "value": value})
            if kind == CHANNEL:  # channels and roles come resolved, as Discord sends them
                channel = self.channels[int(value)].json(self.users)
                guild_id = self.guild_of(int(value)) or GUILD_ID
                channel["permissions"] = str(self.permissions_of(user_id, guild_id).value)
                resolved.setdefault("channels", {})[str(value)] = channel
            elif kind == ROLE:
                resolved.setdefault("roles", {})[str(value)] = self.roles[int(value)].json()
        for name, (filename, content, content_type) in (files or {}).items():
            attachment = self.attachment(filename, content, content_type)
            resolved.setdefault("attachments", {})[str(attachment.id)] = attachment.json()
            values.append({"name": name, "type": ATTACHMENT, "value": str(attachment.id)})
        if subcommand is not None:
            values = [{"name": subcommand, "type": 1, "options": values}]
        data: dict[str, Any] = {"id": spec["id"], "name": command, "type": 1, "options": values}
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in spec:
            data["guild_id"] = spec["guild_id"]
        return self.interaction_payload(user_id, channel_id, APPLICATION_COMMAND, data)

    def press(self, user_id: int, message: Message, custom_id: str) -> Interaction:
        """Press a button on a message."""
        data = {"custom_id": custom_id, "component_type": 2}
        payload = self.interaction_payload(user_id, message.channel_id, MESSAGE_COMPONENT, data)
        payload["message"] = self.message_json(message)
        return self.send_interaction(payload)

    def context_menu(self, user_id: int, message: Message, name: str) -> Interaction:
        """Use a message context-menu command on a message."""
        spec = self.command(name, self.guild_of(message.channel_id))
        data = {
            "id": spec["id"],
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): self.message_json(message)}},
        }
        payload = self.interaction_payload(user_id, message.channel_id, APPLICATION_COMMAND, data)
        return self.send_interaction(payload)

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
        self.dispatch("MESSAGE_CREATE", self.message_json(message))
        return message

    def react(self, user_id: int, message: Message, emoji: str) -> None:
        """A member (or the bot) adds a reaction."""
        self.add_reaction(user_id, message, emoji)

    # --- interactions as Discord builds them ------------------------------------------------

    def command(self, name: str, guild_id: int | None = GUILD_ID) -> dict[str, Any]:
        """A command by name as members of a guild see it: the guild's own, else global."""
        guild_commands = self.commands.get(guild_id, []) if guild_id is not None else []
        for commands in (guild_commands, self.commands.get(None, [])):
            for command in commands:
                if command["name"] == name:
                    return command
        raise KeyError(f"command {name!r} was not synced for guild {guild_id}")

    def interaction_payload(
        self, user_id: int, channel_id: int, type: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        """A complete interaction payload from a member in a guild channel (the guild is the
        channel's); a test naming someone who is not in that guild is a mistake, refused."""
        channel = self.channels[channel_id]
        guild_id = channel.guild_id
        if guild_id is None or user_id not in self.guilds[guild_id].members:
            raise ValueError(f"user {user_id} is not a member of the guild of {channel_id}")
        return {
            "id": str(snowflake()),
            "application_id": str(APP_ID),
            "type": type,
            "token": f"itoken-{uuid.uuid4().hex}",
            "version": 1,
            "guild_id": str(guild_id),
            "channel_id": str(channel_id),
            "channel": channel.json(self.users),
            "member": self.member_json(user_id, guild_id, permissions=True),
            "app_permissions": str(BOT_PERMISSIONS.value),
            "locale": self.locales.get(user_id, "en-US"),
            "guild_locale": self.guilds[guild_id].preferred_locale,
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": 0,
            "attachment_size_limit": self.upload_limit,
            "data": data,
        }

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

    # --- faults -----------------------------------------------------------------------------

    def delete_channel(self, channel_id: int) -> None:
        """The channel is deleted: the bot is told, and REST calls to it get 404."""
        channel = self.channels[channel_id]
        channel.deleted = True
        self.dispatch("CHANNEL_DELETE", channel.json(self.users))

    def delete_role(self, role_id: int) -> None:
        """The role is deleted: its members lose it, and the bot is told."""
        role = self.roles.pop(role_id)
        for user in self.users.values():
            if role_id in user.roles:
                user.roles.remove(role_id)
        self.dispatch(
            "GUILD_ROLE_DELETE", {"guild_id": str(role.guild_id), "role_id": str(role_id)}
        )

    def rate_limit(
        self, method: str, path_pattern: str, retry_after: float = 0.5, *, is_global: bool = False
    ) -> None:
        """The next matching request gets a 429 with Retry-After (`is_global`: Discord's global
        limit, which stops every request of the bot's token until it is over)."""
        self.rate_limits.append((method, re.compile(path_pattern), retry_after, is_global))

    def expire(self, interaction: Interaction) -> None:
        """The interaction's token stops working, as it does 15 minutes after it was sent."""
        interaction.expired = True

    # --- what the bot did -------------------------------------------------------------------

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

    # --- waiting for the bot ----------------------------------------------------------------

    async def wait_for(
        self, condition: Callable[[], T], timeout: float = 20.0, what: str = "condition"
    ) -> T:
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
        await self.wait_for(
            lambda: len(self.requests_to(method, path_pattern)) >= count,
            timeout,
            f"{method} {path_pattern}",
        )
        return self.requests_to(method, path_pattern)[count - 1]

    async def wait_for_response(
        self, interaction: Interaction, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait until the bot answered an interaction; return its callback body."""
        await self.wait_for(lambda: interaction.callbacks, timeout, "an interaction response")
        return interaction.callbacks[0]
