"""Discord's rules for synced commands that its OpenAPI description does not spell out.

Chat-input command, option and choice... names: 1-32 characters, each a letter, a digit, `-`,
`_` or `'` (any script), in lower case where the script has case; context menu names may hold
spaces and capitals. Localisations are keyed by the locales Discord knows, and a localised name
must stay unique among its siblings, as the English one is.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

# https://discord.com/developers/docs/reference#locales
LOCALES = frozenset(
    {
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    }
)
CHAT_INPUT = 1


def _name_ok(name: str, chat_input: bool) -> bool:
    if not 1 <= len(name) <= 32:
        return False
    if not chat_input:
        return name.strip() == name
    if name != name.lower():
        return False
    return all(c in "-_'" or unicodedata.category(c)[0] in ("L", "N", "M") for c in name)


def command_problems(commands: Iterable[Mapping[str, Any]]) -> list[str]:
    """What real Discord would refuse in a bulk overwrite of commands."""
    problems: list[str] = []
    commands = list(commands)
    _siblings(commands, "commands", problems, chat_input=None)
    for command in commands:
        chat_input = command.get("type", CHAT_INPUT) == CHAT_INPUT
        _check(command, str(command.get("name")), problems, chat_input)
    return problems


def _check(node: Mapping[str, Any], where: str, problems: list[str], chat_input: bool) -> None:
    names = {"": node.get("name", "")} | dict(node.get("name_localizations") or {})
    for locale, name in names.items():
        if locale and locale not in LOCALES:
            problems.append(f"{where}: unknown locale {locale!r}")
        if not _name_ok(str(name), chat_input):
            problems.append(f"{where}: invalid name {name!r} ({locale or 'default'})")
    for locale in node.get("description_localizations") or {}:
        if locale not in LOCALES:
            problems.append(f"{where}: unknown locale {locale!r}")
    options = list(node.get("options") or [])
    _siblings(options, where, problems, chat_input=True)
    for option in options:
        _check(option, f"{where} {option.get('name')}", problems, chat_input=True)
    for choice in node.get("choices") or []:
        for locale in choice.get("name_localizations") or {}:
            if locale not in LOCALES:
                problems.append(f"{where}: choice with unknown locale {locale!r}")


def _siblings(
    nodes: list[Mapping[str, Any]], where: str, problems: list[str], chat_input: bool | None
) -> None:
    """Names (and each locale's names) are unique among siblings of one type."""
    seen: dict[tuple[Any, str], str] = {}
    for node in nodes:
        kind = node.get("type", CHAT_INPUT) if chat_input is None else "option"
        localised = dict(node.get("name_localizations") or {})
        for locale in LOCALES:
            name = str(localised.get(locale, node.get("name")))
            key = (kind, f"{locale}:{name}")
            if key in seen and seen[key] != node.get("name"):
                problems.append(f"{where}: {name!r} names two of them in {locale}")
            seen[key] = str(node.get("name"))
