"""Command names, descriptions and choices in the member's language, through discord.py's
`app_commands.Translator`: at sync, Discord receives every localisation with the command.

Translations are looked up by the English text the cogs declare, in the `names`, `descriptions`
and `choices` tables of each language's catalogue (`catalogues.py`). A string without a
translation stays English for that language.
"""

from __future__ import annotations

from discord import Locale, app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.discord.catalogues import ENGLISH, translations
from bot.discord.wording import language_of

NAMES = (Where.command_name, Where.group_name, Where.parameter_name)
DESCRIPTIONS = (Where.command_description, Where.group_description, Where.parameter_description)


class CatalogueTranslator(app_commands.Translator):
    """Translates what Discord shows of the commands from the bot's catalogues."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        """The translation of `string` for `locale`, or None to leave it English."""
        lang = language_of(locale)
        if lang == ENGLISH:
            return None
        catalogue = translations(lang)
        if context.location in NAMES:
            return catalogue.names.get(string.message)
        if context.location in DESCRIPTIONS:
            return catalogue.descriptions.get(string.message)
        if context.location is Where.choice_name:
            return catalogue.choices.get(string.message)
        return None
