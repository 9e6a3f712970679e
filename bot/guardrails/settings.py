"""Each server's settings: what they may hold, and reading and changing them with an audit.

A server that never changed a setting has the defaults of `GuildSettings`. Changes are validated
as a whole document, so a value outside its range never reaches the database.
"""

from __future__ import annotations

import functools
import json
import string
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from bot.errors import InputError
from bot.guardrails.patterns import MAX_PROGRAM_TOTAL, PatternError, compiled, cost, first_match
from bot.pika.models import FRAME_RATE, GUIDANCE_SCALE, MAX_PROMPT_CHARS, MOTION, AspectRatio
from bot.pika.rules import broken, settings_problems
from bot.read_cache import ReadCache
from bot.storage import Change, GuildSettingsStore

MAX_CACHED_SERVERS = 10_000
MAX_PATTERNS = 100
MAX_PATTERN_CHARS = 200
SURROGATE_LOW, SURROGATE_HIGH = "\ud800", "\udfff"  # halves of a character, never text alone


class DefaultOptions(BaseModel):
    """Server-wide defaults for the common video options (a member's own values win)."""

    model_config = ConfigDict(extra="forbid")

    aspect_ratio: AspectRatio | None = None
    frame_rate: int | None = Field(default=None, ge=FRAME_RATE.low, le=FRAME_RATE.high)
    motion: int | None = Field(default=None, ge=MOTION.low, le=MOTION.high)
    guidance_scale: int | None = Field(default=None, ge=GUIDANCE_SCALE.low, le=GUIDANCE_SCALE.high)
    negative_prompt: str | None = Field(default=None, max_length=MAX_PROMPT_CHARS)


class GuildSettings(BaseModel):
    """One server's guardrails; the defaults are what a new server gets."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    allowed_channels: list[int] = Field(default_factory=list)  # empty: every channel
    required_role: int | None = None
    max_running_per_user: int = Field(default=2, ge=1, le=50)
    daily_quota_per_user: int = Field(default=20, ge=0, le=100_000)
    daily_quota_server: int | None = Field(default=None, ge=0, le=1_000_000)
    cooldown_seconds: int = Field(default=0, ge=0, le=86_400)
    blocked_patterns: list[str] = Field(default_factory=list)
    paid_features: bool = True
    defaults: DefaultOptions = Field(default_factory=DefaultOptions)
    log_channel: int | None = None
    timezone: str = "UTC"  # where a quota day starts and ends

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        name = name.strip()
        name = _zone_names().get(name.lower(), name)  # "europe/paris" means Europe/Paris
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise broken(
                "rule.timezone",
                "{value} is not a time zone; use a name such as Europe/Paris, America/New_York "
                "or UTC",
                value=f"'{name}'",  # as typed: repr() doubled each backslash an owner typed
            ) from None
        return name

    @field_validator("blocked_patterns")
    @classmethod
    def _compile(cls, patterns: list[str], info: ValidationInfo) -> list[str]:
        if isinstance(info.context, dict) and info.context.get("stored"):
            return patterns  # checked when added; older ones are matched as plain text
        if len(patterns) > MAX_PATTERNS:
            raise broken("rule.patterns_count", "at most {limit} patterns", limit=MAX_PATTERNS)
        try:
            for pattern in patterns:
                if any(SURROGATE_LOW <= c <= SURROGATE_HIGH for c in pattern):
                    # Half of a character (JSON may carry one): no text holds it, and the
                    # engine's codec refused it in English.
                    raise broken(
                        "rule.pattern_not_text",
                        "{pattern} holds half of a character (an unpaired surrogate), which "
                        "no text can hold; type it again",
                        # Written by its code: pydantic cannot even render the error with it.
                        pattern=pattern.encode("utf-8", "backslashreplace").decode(),
                    )
                if len(pattern) > MAX_PATTERN_CHARS:
                    raise broken(
                        "rule.pattern_too_long",
                        "a pattern is at most {limit} characters",
                        limit=MAX_PATTERN_CHARS,
                    )
                if compiled(pattern).search("") is not None:
                    # `a*`, `fox|`, or only characters folding removes (a zero-width space): it
                    # would match every prompt, and stop every member of the server.
                    raise broken(
                        "rule.pattern_matches_empty",
                        "{pattern} would block every prompt (it matches empty text); give a "
                        "word or phrase that must be found",
                        pattern=pattern,
                    )
                if all(compiled(pattern).search(letter) for letter in string.ascii_lowercase):
                    # `.`, `\w`, `[a-z]`: an owner blocking "a dot" blocked every prompt with a
                    # letter in it (Greek and Cyrillic letters fold to Latin ones), with a ✅.
                    raise broken(
                        "rule.pattern_matches_any_letter",
                        "{pattern} would block every prompt (it matches any letter); give a "
                        "word or phrase that must be found",
                        pattern=pattern,
                    )
            total = cost(patterns)
        except PatternError as exc:  # the engine cannot take one: the owner reads why
            raise broken(exc.key, exc.english, **exc.params) from None
        if total > MAX_PROGRAM_TOTAL:
            raise broken(
                "rule.patterns_too_costly",
                "together the patterns are too costly to match ({total} steps, at most "
                "{limit}); remove some, or make them simpler",
                total=total,
                limit=MAX_PROGRAM_TOTAL,
            )
        return patterns

    def blocked(self, texts: Iterable[str]) -> str | None:
        """The first blocked pattern found in any of the texts (folded: see patterns.py)."""
        return first_match(self.blocked_patterns, texts)

    def blocked_default(self) -> str | None:
        """The blocked pattern found in the server's own default negative prompt, if any: every
        request carrying it is refused (one saved before such a contradiction was refused)."""
        avoid = self.defaults.negative_prompt
        return self.blocked([avoid]) if avoid else None


def zone_names() -> list[str]:
    """Every time zone name this machine knows, sorted."""
    return sorted(set(_zone_names().values()))


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every time zone name this machine knows, by its lower-case spelling."""
    return {zone.lower(): zone for zone in available_timezones()} | {"utc": "UTC"}


class ServerSettings:
    """Each server's settings, validated on the way in and out; every change audited.

    Read settings are kept in memory, so admitting a job reads no settings from the database;
    `change` forgets a server's entry as it writes, then calls `changed` (which tells the other
    processes sharing the database to `forget` theirs), and the next read takes the document as
    stored. An entry is also read again after
    `CACHE_SECONDS`, so that a change made by hand, or one another process could not tell, is
    seen within that time. A read that a `forget` crossed is not kept: it may hold the document
    from before the change it was told of.
    """

    CACHE_SECONDS = 60.0

    def __init__(
        self,
        store: GuildSettingsStore,
        changed: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.changed = changed
        self._cache: ReadCache[int, GuildSettings] = ReadCache(
            self.CACHE_SECONDS, MAX_CACHED_SERVERS, store.clock
        )

    def forget(self, guild_id: int) -> None:
        """Read the server's settings again next time (another process changed them)."""
        self._cache.forget(guild_id)

    async def get(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (the defaults until one is changed)."""
        if guild_id is None:
            return GuildSettings()

        async def read() -> GuildSettings:
            return _stored(await self.store.load(guild_id))

        return await self._cache.get(guild_id, read)

    async def change(
        self, guild_id: int, user_id: int, **changes: Any
    ) -> tuple[GuildSettings, list[tuple[str, Any, Any]]]:
        """Apply changes (validated); record each one. Returns (settings, [(name, old, new)]).

        Raises InputError naming the setting and its rule when a value is refused.
        """
        return await self.edit(guild_id, user_id, lambda _: changes)

    async def edit(
        self,
        guild_id: int,
        user_id: int,
        changes_of: Callable[[GuildSettings], dict[str, Any]],
    ) -> tuple[GuildSettings, list[tuple[str, Any, Any]]]:
        """Like `change`, with the changes made from the settings as stored at that moment
        (`changes_of(current)`: a pattern added to the list, a channel to the channels), never
        from a copy another change may have made stale meanwhile."""
        made: list[tuple[GuildSettings, list[tuple[str, Any, Any]]]] = []
        now = self.store.clock()

        def apply(stored: str | None) -> tuple[str, list[Change]]:
            current = _stored(stored)
            changes = changes_of(current)
            # Patterns are checked when the list changes: older ones that today's rules refuse
            # (matched as plain text, see first_match) do not hold back every other setting.
            # Nor a removal: taking one out at a time, each one was refused naming another,
            # and an owner with two such patterns could remove neither.
            patterns = changes.get("blocked_patterns")
            removal = patterns is not None and set(patterns) <= set(current.blocked_patterns)
            context = {"stored": patterns is None or removal}
            try:
                updated = current.model_validate(current.model_dump() | changes, context=context)
            except ValidationError as exc:
                raise InputError(settings_problems(exc)) from None
            clash = updated.blocked_default()
            if clash is not None and clash != current.blocked_default():
                # Every request carries the server's negative prompt, so each one would be
                # refused as holding a word its member never typed.
                if "blocked_patterns" in changes:
                    raise InputError.rule("blocked_patterns", "rule.blocks_defaults", pattern=clash)
                raise InputError.rule(
                    "defaults.negative_prompt", "rule.blocked_in_defaults", pattern=clash
                )
            diffs = [
                (name, getattr(current, name), getattr(updated, name))
                for name in changes
                if getattr(current, name) != getattr(updated, name)
            ]
            made.append((updated, diffs))
            audit = [Change(user_id, name, _text(old), _text(new), now) for name, old, new in diffs]
            return updated.model_dump_json(), audit

        self.forget(guild_id)  # whatever happens to the write, read it again next
        await self.store.edit(guild_id, apply)
        updated, diffs = made[-1]
        if self.changed is not None:
            await self.changed(guild_id)
        # Read again next rather than kept: another change may have been written meanwhile
        # (telling the other processes is a round trip on PostgreSQL), and this document,
        # kept last, would have hidden it for CACHE_SECONDS.
        self.forget(guild_id)
        return updated, diffs

    async def audit(self, guild_id: int, limit: int = 20, offset: int = 0) -> list[Change]:
        """A server's changes, newest first."""
        return await self.store.audit(guild_id, limit, offset)


def _stored(data: str | None) -> GuildSettings:
    """A server's settings from their stored document (the defaults for none)."""
    if not data:
        return GuildSettings()
    return GuildSettings.model_validate_json(data, context={"stored": True})


def _text(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_none=True)
    return json.dumps(value)
