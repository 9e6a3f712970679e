"""The one error handler (cogs/errors.py): a refusal raised where a button press is handled is
answered privately, in the member's language, by the same handler as a slash command's."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock, create_autospec

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import PikaBot
from bot.discord.catalogues import LANGUAGES
from bot.discord.notes import ReactionNotes
from bot.discord.results import ControlButton
from bot.followups import FollowUpRefused
from bot.inbox import Inbox
from bot.storage import open_storage
from cogs.controls import Controls
from cogs.errors import Errors, explain


class Refusing:
    """The use case, refusing every control as the rules would for another member's video."""

    async def control(self, *args: Any, **options: Any) -> Any:
        raise FollowUpRefused("control.not_yours")

    retry = control


def interaction(bot: commands.Bot, locale: discord.Locale) -> Any:
    """A component interaction whose private answer sets `answered`."""
    fake = create_autospec(discord.Interaction, instance=True)
    fake.client, fake.locale, fake.command = bot, locale, None
    fake.data = {"custom_id": "pika:extend:abcdefghij"}
    fake.guild_id, fake.channel_id, fake.channel = 1, 2, None
    fake.user = MagicMock(id=3, roles=[])
    fake.response = MagicMock(type=None)
    fake.response.is_done.return_value = False
    fake.answered = asyncio.Event()
    fake.response.send_message = AsyncMock(side_effect=lambda *a, **k: fake.answered.set())
    return fake


def answer_of(used: Any) -> tuple[str, dict[str, Any]]:
    """The one private answer an interaction got: its text and options, as sent."""
    used.response.send_message.assert_awaited_once()
    (text,), options = used.response.send_message.await_args
    return text, options | {"allowed_mentions": options["allowed_mentions"].to_dict()}


async def loaded(*cogs: type[commands.Cog]) -> commands.Bot:
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.default())
    bot.loop = asyncio.get_running_loop()  # what logging in would set: events run on it
    bot.submissions = Refusing()  # type: ignore[attr-defined]
    bot.received = lambda interaction: None  # type: ignore[attr-defined]  # no stop under way
    bot.inbox = Inbox()  # type: ignore[attr-defined]
    for cog in cogs:
        await bot.add_cog(cog(bot))
    return bot


async def test_a_refusal_raised_from_a_button_press_is_answered_by_the_shared_handler() -> None:
    bot = await loaded(Errors, Controls)
    pressed = interaction(bot, discord.Locale.french)
    await ControlButton("extend", "abcdefghij").callback(pressed)
    await asyncio.wait_for(pressed.answered.wait(), 5)
    assert answer_of(pressed) == (
        "⛔ Seul le membre qui a créé cette vidéo, ou un modérateur, peut utiliser ses boutons "
        "et ses réactions.",
        {"ephemeral": True, "allowed_mentions": {"parse": []}},
    )


async def test_a_command_and_a_button_are_answered_in_the_same_words() -> None:
    bot = await loaded(Errors, Controls)
    errors = bot.get_cog("Errors")
    assert isinstance(errors, Errors)
    used = interaction(bot, discord.Locale.french)
    wrapped = app_commands.CommandInvokeError(MagicMock(), FollowUpRefused("control.not_yours"))
    await errors.on_app_command_error(used, wrapped)
    pressed = interaction(bot, discord.Locale.french)
    await ControlButton("upscale", "abcdefghij").callback(pressed)
    await asyncio.wait_for(pressed.answered.wait(), 5)
    assert answer_of(pressed) == answer_of(used)


class RefusingAsPrepared:
    """The use case refusing a control while it prepares it, as the rules do for another
    member's video: a clean stop may cut off a request being prepared (`Inbox.preparing`)."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def control(self, *args: Any, **options: Any) -> Any:
        assert self.inbox.preparing()
        raise FollowUpRefused("control.not_yours")


async def test_a_refusal_being_answered_when_a_clean_stop_begins_is_told_once() -> None:
    # A member's press is refused, and Discord is slow to take that answer when a clean stop
    # begins: the member reads the refusal, once, and not "the bot is restarting" over it.
    bot = await loaded(Errors, Controls)
    inbox = Inbox()
    bot.inbox = inbox  # type: ignore[attr-defined]
    bot.received = functools.partial(PikaBot.received, bot)  # type: ignore[attr-defined,arg-type]
    bot.submissions = RefusingAsPrepared(inbox)  # type: ignore[attr-defined]
    pressed = interaction(bot, discord.Locale.american_english)
    sent: list[str] = []
    sending, taken = asyncio.Event(), asyncio.Event()

    async def send(text: str, **options: Any) -> None:
        sent.append(text)
        sending.set()
        await taken.wait()

    pressed.response.send_message = AsyncMock(side_effect=send)
    await ControlButton("extend", "abcdefghij").callback(pressed)
    await asyncio.wait_for(sending.wait(), 5)
    stopping = asyncio.ensure_future(inbox.stop(5))
    for _ in range(10):  # the stop's first steps (no time passes: the loop only turns)
        await asyncio.sleep(0)
    taken.set()
    await asyncio.wait_for(stopping, 5)
    assert sent == [
        "⛔ Only the member who made this video, or a moderator, can use its buttons and reactions."
    ]


async def test_other_events_still_fail_into_the_log(caplog: Any) -> None:
    bot = await loaded(Errors)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        await bot.on_error("on_message", "not an interaction")
    assert "Ignoring exception in on_message" in caplog.text


async def test_a_refused_reaction_is_removed_and_explained_once_by_the_shared_handler() -> None:
    bot = await loaded(Errors)
    channel = create_autospec(discord.TextChannel, instance=True)
    message = create_autospec(discord.PartialMessage, instance=True, id=44)
    channel.get_partial_message.return_value = message
    bot.get_channel = MagicMock(return_value=channel)  # type: ignore[method-assign]
    bot.reaction_notes = ReactionNotes()  # type: ignore[attr-defined]
    storage = MagicMock()
    storage.jobs.by_result_message = AsyncMock(return_value=MagicMock(locale="fr"))
    bot.storage = storage  # type: ignore[attr-defined]
    event = MagicMock(spec=discord.RawReactionActionEvent, channel_id=2, message_id=44, user_id=3)
    for _ in range(2):  # a member who reacts twice in a minute is told once
        try:
            raise FollowUpRefused("control.not_yours")
        except FollowUpRefused:
            await bot.on_error("on_raw_reaction_add", event)
    assert message.remove_reaction.await_count == 2
    (emoji, who), _ = message.remove_reaction.await_args
    assert (emoji, who.id) == (event.emoji, 3)
    channel.send.assert_awaited_once()
    (text,), options = channel.send.await_args
    assert text == (
        "<@3> ⛔ Seul le membre qui a créé cette vidéo, ou un modérateur, peut utiliser ses "
        "boutons et ses réactions."
    )
    assert [user.id for user in options["allowed_mentions"].users] == [3]  # only them pinged


async def test_a_database_that_cannot_be_written_is_one_warning_and_a_plain_answer(
    tmp_path: Path, caplog: Any
) -> None:
    """A full disk (or PostgreSQL stopped) under a button press: the owner's log had a 40-line
    "failed" traceback for each member who tried, and the member read "Something went wrong on
    the bot's side". Now one warning line names the database's fault, and the member is told
    that nothing was made or paid and to try again in a few minutes."""
    storage = await open_storage(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    try:
        [(pages,)] = await storage.database.fetch("PRAGMA page_count")
        full = f"PRAGMA max_page_count = {pages}"  # no room to grow: the disk is full
        await storage.database.execute(full)  # on the connection of single statements
        async with storage.database.transaction() as queries:  # and on that of transactions
            await queries.execute(full)

        class FullDisk:
            async def control(self, *args: Any, **options: Any) -> Any:
                return await storage.member_settings.edit(1, 3, lambda old: "x" * 100_000)

            retry = control

        bot = await loaded(Errors, Controls)
        bot.submissions = FullDisk()  # type: ignore[attr-defined]
        pressed = interaction(bot, discord.Locale.american_english)
        caplog.clear()
        await ControlButton("extend", "abcdefghij").callback(pressed)
        await asyncio.wait_for(pressed.answered.wait(), 5)
    finally:
        await storage.close()
    text, _ = answer_of(pressed)
    assert text == (
        "⏳ The bot cannot save requests right now: its database does not answer. Nothing was "
        "made or paid for; please try again in a few minutes."
    )
    said = [r for r in caplog.records if r.name == "cogs.errors"]
    assert [(r.levelname, r.exc_info) for r in said] == [("WARNING", None)]
    assert "the database cannot be used (OperationalError: database or disk is full)" in (
        said[0].getMessage()
    )


async def test_a_statement_the_database_refuses_as_written_is_a_bug_not_an_outage(
    tmp_path: Path, caplog: Any
) -> None:
    """A fault of the code inside the stores (a statement the database refuses as written, a
    column misspelt) was taken for the database failing, by its type and its traceback: one
    warning line, no traceback to fix it by, and members told to wait for a database that was
    fine. Only what the database's backend types DatabaseUnavailable is an outage now."""
    storage = await open_storage(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    try:

        class Misspelt:
            async def control(self, *args: Any, **options: Any) -> Any:
                return await storage.database.fetch("SELECT no_such_column FROM jobs")

            retry = control

        bot = await loaded(Errors, Controls)
        bot.submissions = Misspelt()  # type: ignore[attr-defined]
        pressed = interaction(bot, discord.Locale.american_english)
        caplog.clear()
        await ControlButton("extend", "abcdefghij").callback(pressed)
        await asyncio.wait_for(pressed.answered.wait(), 5)
    finally:
        await storage.close()
    text, _ = answer_of(pressed)
    assert text == (
        "💥 Something went wrong on the bot's side; it has been logged. Please try again."
    )
    said = [r for r in caplog.records if r.name == "cogs.errors"]
    assert [r.levelname for r in said] == ["ERROR"]
    assert said[0].exc_info is not None  # the traceback the owner needs to report it


def test_discord_checks_are_told_in_every_language_of_the_catalogues() -> None:
    """discord.py's CheckFailure texts are English ("You are missing Manage Server
    permission(s)..."): each is told through the catalogues in the member's language."""
    checks = [
        app_commands.MissingPermissions(["manage_guild"]),
        app_commands.BotMissingPermissions(["send_messages", "embed_links"]),
        app_commands.MissingRole(123),
        app_commands.MissingAnyRole([123, "**DJ**"]),
        app_commands.NoPrivateMessage(),
        app_commands.CommandOnCooldown(app_commands.Cooldown(1, 30.0), 12.3),
        app_commands.CheckFailure("The check functions for command 'pika' failed."),
    ]
    for lang in LANGUAGES:
        for check in checks:
            text = explain(check, None, lang)
            assert text is not None and text.startswith("⛔ "), (lang, check)
            assert str(check) not in text, (lang, check)  # not discord.py's English
            if lang != "en":
                assert text != explain(check, None, "en"), (lang, check)
    assert explain(checks[0], None, "fr") == (
        "⛔ Il te faut la permission **Gérer le serveur** pour utiliser ceci."
    )
    assert explain(checks[1], None, "en") == (
        "⛔ The bot needs the **Send Messages**, **Embed Links** permission here to do this. "
        "Ask a moderator to give it."
    )
    assert explain(checks[3], None, "en") == (
        "⛔ You need one of these roles to use this: <@&123>, **\\*\\*DJ\\*\\***."
    )
    assert str(explain(checks[5], None, "en")).startswith("⛔ Please wait 13 s before using this")
