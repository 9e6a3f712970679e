"""The one place that turns an error into a member's answer: no interaction is left
unanswered, a member's mistake is explained privately, and anything unexpected is logged with its
traceback.

Two routes lead here. Slash commands and the context menus fail into the command tree's error
handler (`tree.error`). A button press (a `DynamicItem`, `bot.discord.results.ControlButton`)
is handed to the `pika_control` event, whose listener (`cogs/controls.py`) lets a refusal
propagate: discord.py gives an event listener's exception to `Client.on_error`, which this cog
replaces (discord.py 2.7 only logs an exception raised inside a `DynamicItem` callback itself,
so the button's callback does nothing but dispatch). Both routes end in `Errors.answer`.
A reaction on a result that is refused reaches `Client.on_error` the same way; it has no
interaction to answer, so it is removed and the member told in a short note in the channel, in
the result's language (`Errors.answer_reaction`, `bot/discord/notes.py`), or by DM where the
channel refuses the bot's post.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import sys
import time
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.chats import Chat
from bot.discord.connection import CALL_FAILED
from bot.discord.texts import lang_of
from bot.discord.wording import explain as explain_member_error
from bot.discord.wording import language_of, option_name, permission_name, say, shown
from bot.errors import MemberError
from bot.storage import DatabaseUnavailable
from cogs.options import ACKNOWLEDGED, forget_hold

log = logging.getLogger(__name__)
NOTE_DM_SECONDS = 10.0  # a note by DM is tried this long: discord.py would wait out any 429


def explain(
    error: Exception,
    interaction: discord.Interaction | None = None,
    lang: str = "en",
) -> str | None:
    """A message for errors the member can act on, in their language; None for faults of
    ours. `error` is a command's error (wrapping what the command raised) or, from a button,
    what its handler raised."""
    original = getattr(error, "original", error)
    if isinstance(original, MemberError):
        return explain_member_error(original, lang)
    if isinstance(error, app_commands.TransformerError):
        option = option_of(interaction, error) if interaction is not None else "option"
        option = option_name(option, lang)
        rule = say("rule.not_found", lang)
        return f"⚠️ {say('input.line', lang, option=option, rule=rule)}"
    if isinstance(error, app_commands.CheckFailure):
        # discord.py's own texts are English whatever the member's language.
        return f"⛔ {check_failure(error, lang)}"
    if isinstance(error, app_commands.CommandSignatureMismatch):
        return f"⚠️ {say('rule.outdated_command', lang)}"
    return None


def check_failure(error: app_commands.CheckFailure, lang: str) -> str:
    """Why a check of discord.py's refused a command, in the member's language."""
    if isinstance(error, app_commands.MissingPermissions):
        return say("check.missing_permissions", lang, permissions=_permissions(error, lang))
    if isinstance(error, app_commands.BotMissingPermissions):
        return say("check.bot_missing_permissions", lang, permissions=_permissions(error, lang))
    if isinstance(error, app_commands.MissingRole):
        return say("check.missing_role", lang, role=_role(error.missing_role))
    if isinstance(error, app_commands.MissingAnyRole):
        roles = ", ".join(_role(role) for role in error.missing_roles)
        return say("check.missing_any_role", lang, roles=roles)
    if isinstance(error, app_commands.NoPrivateMessage):
        return say("check.no_private_message", lang)
    if isinstance(error, app_commands.CommandOnCooldown):
        seconds = max(1, math.ceil(error.retry_after))
        ready = math.ceil(time.time() + error.retry_after)
        return say("check.cooldown", lang, seconds=seconds, ready=ready)
    return say("check.failed", lang)


def _permissions(
    error: app_commands.MissingPermissions | app_commands.BotMissingPermissions, lang: str
) -> str:
    """The permissions a check found missing, as Discord's settings name them."""
    return ", ".join(f"**{permission_name(p, lang)}**" for p in error.missing_permissions)


def _role(role: int | str) -> str:
    """A role a check named: by id, a mention (allowed mentions are none: it pings nobody);
    by name, shown as typed."""
    return f"<@&{role}>" if isinstance(role, int) else f"**{shown(role, 100)}**"


def option_of(interaction: discord.Interaction, error: app_commands.TransformerError) -> str:
    """The option whose value a transformer could not convert, found in the namespace."""
    for name, value in iter(interaction.namespace):
        if value is error.value or value == error.value:
            return str(name)
    return "option"


class Errors(commands.Cog):
    """Installs the one error handler: for the command tree and for events (button presses)."""

    def __init__(self, bot: PikaBot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.bot.tree.error(self.on_app_command_error)
        self.bot.event(self.on_error)

    async def cog_unload(self) -> None:
        # The instance attribute hides the class's handler; without it, the class's comes back.
        self.bot.__dict__.pop("on_error", None)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """A slash command or a context menu failed."""
        await self.answer(interaction, error)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """An event listener failed: an interaction's (a button press) is answered, the rest
        logged as discord.py does."""
        error = sys.exc_info()[1]
        target = args[0] if args else None
        if isinstance(target, discord.Interaction) and isinstance(error, Exception):
            await self.answer(target, error)
            return
        if isinstance(target, discord.RawReactionActionEvent) and isinstance(error, MemberError):
            await self.answer_reaction(target, error)
            return
        await type(self.bot).on_error(self.bot, event_method, *args, **kwargs)

    async def answer_reaction(
        self, event: discord.RawReactionActionEvent, error: MemberError
    ) -> None:
        """A reaction on a result was refused: take it off, and tell the member why in the
        channel, in the result's language (at most once a minute per member and message)."""
        channel = self.bot.get_channel(event.channel_id)
        if not isinstance(channel, Chat):
            return
        message = channel.get_partial_message(event.message_id)
        notes = self.bot.reaction_notes
        await notes.remove(message, event.emoji, event.user_id)
        parent = await self.bot.storage.jobs.by_result_message(event.message_id)
        language = lang_of(parent) if parent is not None else error.language or "en"
        text = explain_member_error(error, language)
        dm = functools.partial(self.dm, event.user_id)
        await notes.note(channel, message.id, event.user_id, text, dm=dm)

    async def dm(self, user_id: int, text: str) -> None:
        """A note the channel refused (the bot may no longer post there), sent to the member."""
        try:
            async with asyncio.timeout(NOTE_DM_SECONDS):
                user = self.bot.get_user(user_id) or await self.bot.fetch_user(user_id)
                await user.send(text, allowed_mentions=discord.AllowedMentions.none())
        except CALL_FAILED as exc:
            log.info("Could not DM a member about their reaction (%s)", type(exc).__name__)

    async def answer(self, interaction: discord.Interaction, error: Exception) -> None:
        """Answer the member privately; log what they cannot fix."""
        # A request refused while it was prepared is answered now: a clean stop cutting it off
        # mid-answer would tell its member the bot is restarting over (or instead of) this.
        self.bot.inbox.answering()
        lang = language_of(interaction.locale)
        original = getattr(error, "original", error)
        try:
            message = explain(error, interaction, lang)
        except (KeyError, IndexError, ValueError):  # a sentence that does not fill: ours
            log.exception("Could not word an error for the member")
            message = None
        if message is None and isinstance(original, DatabaseUnavailable):
            # PostgreSQL stopped, a disk full: the owner's to fix, said in one line (the
            # tracker and /readyz say it too), and the member told it is no bug to report.
            # Typed by the database's backend: a statement it refused as written stays a bug.
            log.warning("%s failed: the database cannot be used (%s)", _what(interaction), original)
            message = say("error.database", lang)
        if message is None:
            log.error("%s failed", _what(interaction), exc_info=error)
            message = say("error.internal", lang)
        none = discord.AllowedMentions.none()
        try:
            if (
                interaction.response.type
                is discord.InteractionResponseType.deferred_channel_message
            ):
                # Held privately while the files were probed: the answer takes its place.
                await interaction.edit_original_response(content=message, allowed_mentions=none)
            elif interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True, allowed_mentions=none)
            else:
                await interaction.response.send_message(
                    message, ephemeral=True, allowed_mentions=none
                )
        except discord.HTTPException as exc:
            if exc.code == ACKNOWLEDGED:
                # Acknowledged by a hold whose reply never came (cut off by a clean stop, or
                # lost): the answer takes the hold's place.
                with contextlib.suppress(*CALL_FAILED):
                    await interaction.edit_original_response(content=message, allowed_mentions=none)
                    await forget_hold(self.bot, interaction)
                    return
            log.warning("Could not tell the member about an error", exc_info=True)
        await forget_hold(self.bot, interaction)  # answered: a crash now leaves nothing to tell


def _what(interaction: discord.Interaction) -> str:
    """What the member used, for the log: a command's name or a component's custom id."""
    if interaction.command is not None:
        return f"Command {interaction.command.qualified_name}"
    data: dict[str, Any] = dict(interaction.data or {})
    return f"Component {data.get('custom_id', '?')}"


async def setup(bot: PikaBot) -> None:
    """Load the cog."""
    await bot.add_cog(Errors(bot))
