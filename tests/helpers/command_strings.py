"""Every string Discord shows of the bot's commands, collected the way a sync translates them:
each command's payload is built with a translator that records what it is asked."""

from __future__ import annotations

from typing import Any

import discord
from discord import Locale, app_commands
from discord.app_commands import TranslationContextLocation as Where
from discord.ext import commands

from cogs.admin import Admin
from cogs.help import Help
from cogs.menus import Menus
from cogs.pika import Pika

KINDS = {
    Where.command_name: "names",
    Where.group_name: "names",
    Where.parameter_name: "names",
    Where.command_description: "descriptions",
    Where.group_description: "descriptions",
    Where.parameter_description: "descriptions",
    Where.choice_name: "choices",
}


class Recorder(app_commands.Translator):
    """Answers nothing; remembers every (table, English text) it was asked to translate."""

    def __init__(self) -> None:
        self.asked: set[tuple[str, str]] = set()

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        self.asked.add((KINDS[context.location], string.message))
        return None


async def command_tree() -> app_commands.CommandTree[Any]:
    """The bot's commands on a client that never connects."""
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    for cog in (Pika(bot), Admin(bot), Help(bot), Menus(bot)):  # type: ignore[arg-type]
        await bot.add_cog(cog)
    return bot.tree


async def command_strings() -> set[tuple[str, str]]:
    """(table, English text) of every name, description and choice the commands carry."""
    tree = await command_tree()
    recorder = Recorder()
    for command in tree.get_commands():
        await command.get_translated_payload(tree, recorder)
    return recorder.asked


async def synced_payloads(translator: app_commands.Translator) -> list[dict[str, Any]]:
    """The commands as a sync sends them with `translator`."""
    tree = await command_tree()
    return [await c.get_translated_payload(tree, translator) for c in tree.get_commands()]
