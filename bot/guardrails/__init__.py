"""Guardrails for a shared credit pool: each server's settings and the gate every job passes."""

from bot.guardrails.gate import Ask, Guardrails, Refusal, Usage, day_start, next_day, texts_of
from bot.guardrails.settings import DefaultOptions, GuildSettings, ServerSettings, zone_names

__all__ = [
    "Ask",
    "DefaultOptions",
    "Guardrails",
    "GuildSettings",
    "Refusal",
    "ServerSettings",
    "Usage",
    "day_start",
    "next_day",
    "texts_of",
    "zone_names",
]
