"""The translations: one TOML file per language in `locales/`, read once.

A file has four tables. `messages` translates the wording catalogue by key (the English is
`MESSAGES` in `messages.py`). `names`, `descriptions` and `choices` translate what Discord shows of
the commands, keyed by the English text in the cogs: command and option names, their
descriptions, and the names of choices. English itself needs no file.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources

ENGLISH = "en"
# The languages the bot speaks, by the catalogue's name: Discord's locale code, or its language
# part where Discord has several (es-ES and es-419 read `es`).
LANGUAGES = (ENGLISH, "fr", "de", "es", "ja", "pt-BR")
LOCALES_PACKAGE = "bot.discord"


@dataclass(frozen=True)
class Catalogue:
    """One language's translations."""

    messages: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)


@functools.cache
def translations(lang: str) -> Catalogue:
    """The translations of a language (empty for English and for languages without a file)."""
    if lang == ENGLISH or lang not in LANGUAGES:
        return Catalogue()
    text = (resources.files(LOCALES_PACKAGE) / "locales" / f"{lang}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return Catalogue(
        messages=dict(data.get("messages", {})),
        names=dict(data.get("names", {})),
        descriptions=dict(data.get("descriptions", {})),
        choices=dict(data.get("choices", {})),
    )


def language_of(locale: object) -> str:
    """The catalogue for a Discord locale (`fr`, `es-419`, `pt-BR`, ...): English unless the
    bot speaks the member's language."""
    code = str(getattr(locale, "value", locale) or "")
    if code in LANGUAGES:
        return code
    base = code.split("-", 1)[0]
    return base if base in LANGUAGES else ENGLISH
