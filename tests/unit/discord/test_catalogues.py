"""The translations: every language has every sentence with the same placeholders, and every
name, description and choice of the commands, within Discord's rules."""

from __future__ import annotations

import re
import string

import pytest

from bot.discord.catalogues import ENGLISH, LANGUAGES, translations
from bot.discord.translator import CatalogueTranslator
from bot.discord.wording import MESSAGES, language_of, say
from tests.fake_discord.command_rules import command_problems
from tests.helpers.command_strings import command_strings, synced_payloads

TRANSLATED = [lang for lang in LANGUAGES if lang != ENGLISH]


def placeholders(text: str) -> set[str]:
    """The names a sentence is filled with (a format spec such as `:g` is part of the name)."""
    return {
        f"{name}:{spec}" if spec else name
        for _, name, spec, _ in string.Formatter().parse(text)
        if name is not None
    }


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_catalogue_has_every_key_with_the_same_placeholders(lang: str) -> None:
    messages = translations(lang).messages
    assert set(messages) == set(MESSAGES), lang
    wrong = {k for k, text in messages.items() if placeholders(text) != placeholders(MESSAGES[k])}
    assert not wrong, f"{lang}: placeholders differ in {sorted(wrong)}"


def words(text: str) -> str:
    """A sentence without its placeholders and markup."""
    return re.sub(r"\{[^}]*\}|<[^>]*>|`[^`]*`", " ", text)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_sentence_is_translated_not_copied(lang: str) -> None:
    """A sentence left in English is a missed translation (names and symbols may stay)."""
    messages = translations(lang).messages
    copied = {
        k
        for k, text in messages.items()
        if text == MESSAGES[k] and len(re.findall(r"[A-Za-z]{4,}", words(text))) >= 2
    }
    assert not copied, f"{lang}: {sorted(copied)}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_sentences_name_commands_as_the_members_discord_shows_them(lang: str) -> None:
    """A French member's Discord lists `/pika générer`, not `/pika generate`: a sentence that
    names a command (and its subcommands) uses the names synced for the member's language."""
    names = translations(lang).names
    wrong = set()
    for key, text in translations(lang).messages.items():
        for command in re.findall(r"`/([^`]+)`", text):
            localised = " ".join(names.get(word, word) for word in command.split(" "))
            if command != localised:
                wrong.add(f"{key}: /{command} (shown as /{localised})")
    assert not wrong, f"{lang}: {sorted(wrong)}"


@pytest.mark.parametrize("lang", TRANSLATED)
async def test_every_command_string_is_translated(lang: str) -> None:
    wanted = {
        (table, text) for table, text in await command_strings() if re.search("[A-Za-z]", text)
    }
    catalogue = translations(lang)
    have = {("names", k) for k in catalogue.names}
    have |= {("descriptions", k) for k in catalogue.descriptions}
    have |= {("choices", k) for k in catalogue.choices}
    assert not wanted - have, f"{lang} lacks {sorted(wanted - have)}"
    assert not have - wanted, f"{lang} translates what no command has: {sorted(have - wanted)}"


async def test_the_synced_commands_follow_discords_rules_in_every_language() -> None:
    payloads = await synced_payloads(CatalogueTranslator())
    assert command_problems(payloads) == []
    pika = next(p for p in payloads if p["name"] == "pika")
    generate = next(o for o in pika["options"] if o["name"] == "generate")
    assert generate["name_localizations"]["fr"] == "générer"
    assert generate["name_localizations"]["es-ES"] == generate["name_localizations"]["es-419"]
    assert {"fr", "de", "es-ES", "es-419", "ja", "pt-BR"} <= set(
        generate["description_localizations"]
    )
    assert "en-US" not in generate["name_localizations"]  # English is the default itself


@pytest.mark.parametrize(
    ("locale", "lang"),
    [
        ("fr", "fr"),
        ("de", "de"),
        ("es-ES", "es"),
        ("es-419", "es"),
        ("ja", "ja"),
        ("pt-BR", "pt-BR"),
        ("en-GB", "en"),
        ("ko", "en"),
        (None, "en"),
    ],
)
def test_a_discord_locale_picks_its_catalogue(locale: str | None, lang: str) -> None:
    assert language_of(locale) == lang


def test_a_sentence_in_a_language_falls_back_to_english_when_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert say("mine.yes", "fr") == "oui"
    monkeypatch.delitem(translations("fr").messages, "mine.yes")
    assert say("mine.yes", "fr") == "yes"
