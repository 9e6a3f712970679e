"""Guardrails for a shared credit pool: each server's settings, their audit, and the gate.

Every entry point (command, button, reaction, context menu) creates its job inside
`Guardrails.admitted(ask)`. The gate holds a per-server lock from the checks until the job row
is written, so counts are exact under concurrency: twenty simultaneous asks by one member with a
cap of two create exactly two jobs. A refusal says which limit and, where it has one, when it
resets. A quota day runs from midnight to midnight in the server's time zone (UTC unless set).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import aiosqlite
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.jobs.store import JobStore

PAID_KINDS = frozenset({"extend", "upscale"})


class DefaultOptions(BaseModel):
    """Server-wide defaults for the common video options (a member's own values win)."""

    model_config = ConfigDict(extra="forbid")

    aspect_ratio: Literal["16:9", "9:16", "1:1", "5:2", "4:5", "4:3"] | None = None
    frame_rate: int | None = Field(default=None, ge=1, le=24)
    motion: int | None = Field(default=None, ge=1, le=4)
    guidance_scale: int | None = Field(default=None, ge=5, le=25)
    negative_prompt: str | None = Field(default=None, max_length=1000)


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
            raise ValueError(
                f"{name!r} is not a time zone; use a name such as Europe/Paris, "
                "America/New_York or UTC"
            ) from None
        return name

    @field_validator("blocked_patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid pattern ({exc})") from None
        return patterns

    def blocked(self, texts: Iterable[str]) -> str | None:
        """The first blocked pattern found in any of the texts."""
        for pattern in self.blocked_patterns:
            regex = re.compile(pattern, re.IGNORECASE)
            if any(regex.search(text) for text in texts if text):
                return pattern
        return None


class Refusal(Exception):
    """A guardrail stopped the request; the message names the limit and when it resets."""


@dataclass(frozen=True)
class Ask:
    """Who asks for what, where."""

    guild_id: int | None
    channel_id: int  # the channel (a thread's parent)
    user_id: int
    role_ids: frozenset[int]
    kind: str
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    """A member's (and their server's) use today."""

    today: int
    quota: int
    running: list[Any]
    server_today: int
    server_quota: int | None
    server_running: int
    resets_at: datetime


class SettingsStore:
    """Reads and writes `guild_settings`, auditing every change."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float]) -> None:
        self._db = db
        self.clock = clock

    async def get(self, guild_id: int | None) -> GuildSettings:
        """A server's settings (the defaults until one is changed)."""
        if guild_id is None:
            return GuildSettings()
        async with self._db.execute(
            "SELECT data FROM guild_settings WHERE guild_id = ?", (guild_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return GuildSettings.model_validate_json(row[0]) if row else GuildSettings()

    async def change(
        self, guild_id: int, user_id: int, **changes: Any
    ) -> tuple[GuildSettings, list[tuple[str, Any, Any]]]:
        """Apply changes (validated); record each one. Returns (settings, [(name, old, new)])."""
        current = await self.get(guild_id)
        updated = current.model_validate(current.model_dump() | changes)
        now = self.clock()
        diffs = [
            (name, getattr(current, name), getattr(updated, name))
            for name in changes
            if getattr(current, name) != getattr(updated, name)
        ]
        await self._db.execute(
            "INSERT INTO guild_settings (guild_id, data, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(guild_id) DO UPDATE SET data = excluded.data, "
            "updated_at = excluded.updated_at",
            (guild_id, updated.model_dump_json(), now),
        )
        await self._db.executemany(
            "INSERT INTO settings_audit (guild_id, user_id, setting, old_value, new_value, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(guild_id, user_id, name, _text(old), _text(new), now) for name, old, new in diffs],
        )
        await self._db.commit()
        return updated, diffs

    async def audit(self, guild_id: int, limit: int = 20) -> list[dict[str, Any]]:
        """The latest changes, newest first."""
        async with self._db.execute(
            "SELECT user_id, setting, old_value, new_value, at FROM settings_audit "
            "WHERE guild_id = ? ORDER BY id DESC LIMIT ?",
            (guild_id, limit),
        ) as cursor:
            return [dict(row) async for row in cursor]


def texts_of(payload: dict[str, Any]) -> tuple[str, ...]:
    """The free texts of a request, where blocked words are looked for."""
    parameters = (payload.get("options") or {}).get("parameters") or {}
    found = (payload.get("promptText"), payload.get("swapPrompt"), parameters.get("negativePrompt"))
    return tuple(str(t) for t in found if t)


def _text(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(exclude_none=True)
    return json.dumps(value)


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every time zone name this machine knows, by its lower-case spelling."""
    return {zone.lower(): zone for zone in available_timezones()} | {"utc": "UTC"}


def day_start(now: float, timezone: str = "UTC") -> datetime:
    """Midnight, in `timezone`, of the day `now` falls in."""
    moment = datetime.fromtimestamp(now, ZoneInfo(timezone))
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def next_day(start: datetime) -> datetime:
    """The midnight after `start` (wall-clock arithmetic: a day of 23 or 25 hours at a DST
    change still ends at midnight)."""
    return start + timedelta(days=1)


class Guardrails:
    """The gate every new job passes."""

    def __init__(self, jobs: JobStore, settings: SettingsStore) -> None:
        self.jobs = jobs
        self.settings = settings
        self._locks: collections.defaultdict[int | None, asyncio.Lock] = collections.defaultdict(
            asyncio.Lock
        )

    @contextlib.asynccontextmanager
    async def admitted(self, ask: Ask) -> AsyncIterator[GuildSettings]:
        """Check every limit; hold the server's lock until the caller has written the job."""
        async with self._locks[ask.guild_id]:
            settings = await self.settings.get(ask.guild_id)
            await self.check(settings, ask)
            yield settings

    async def check(self, s: GuildSettings, ask: Ask) -> None:
        """Raise Refusal at the first limit the ask breaks."""
        if ask.guild_id is None:
            raise Refusal("Videos can only be made in a server, where its owner's limits apply.")
        if s.allowed_channels and ask.channel_id not in s.allowed_channels:
            where = ", ".join(f"<#{c}>" for c in s.allowed_channels)
            raise Refusal(f"Videos can only be made in {where} on this server.")
        if s.required_role is not None and s.required_role not in ask.role_ids:
            raise Refusal(f"Making videos here needs the <@&{s.required_role}> role.")
        if ask.kind in PAID_KINDS and not s.paid_features:
            raise Refusal("Extend and upscale are turned off on this server.")
        pattern = s.blocked(ask.texts)
        if pattern is not None:
            raise Refusal(f"The prompt contains something this server blocks (`{pattern}`).")
        now = self.jobs.clock()
        running = await self.jobs.count_running(ask.guild_id, ask.user_id)
        if running >= s.max_running_per_user:
            raise Refusal(
                f"You already have {running} job(s) running; the limit here is "
                f"{s.max_running_per_user} at a time. Try again when one finishes."
            )
        start = day_start(now, s.timezone)
        resets = f"<t:{int(next_day(start).timestamp())}:R> (midnight {s.timezone})"
        mine = await self.jobs.count_since(ask.guild_id, start.timestamp(), ask.user_id)
        if mine >= s.daily_quota_per_user:
            raise Refusal(
                f"You have used your {s.daily_quota_per_user} job(s) for today; "
                f"the quota resets {resets}."
            )
        if s.daily_quota_server is not None:
            total = await self.jobs.count_since(ask.guild_id, start.timestamp())
            if total >= s.daily_quota_server:
                raise Refusal(
                    f"This server has used its {s.daily_quota_server} job(s) for today; "
                    f"the quota resets {resets}."
                )
        if s.cooldown_seconds:
            last = await self.jobs.last_created(ask.guild_id, ask.user_id)
            if last is not None and now - last < s.cooldown_seconds:
                ready = int(last + s.cooldown_seconds)
                raise Refusal(
                    f"Please wait between videos: {s.cooldown_seconds} s here. "
                    f"You can ask again <t:{ready}:R>."
                )

    async def usage(self, guild_id: int | None, user_id: int) -> Usage:
        """What a member (and the server) used today."""
        s = await self.settings.get(guild_id)
        start = day_start(self.jobs.clock(), s.timezone)
        return Usage(
            today=await self.jobs.count_since(guild_id, start.timestamp(), user_id),
            quota=s.daily_quota_per_user,
            running=await self.jobs.running_jobs(guild_id, user_id),
            server_today=await self.jobs.count_since(guild_id, start.timestamp()),
            server_quota=s.daily_quota_server,
            server_running=len(await self.jobs.running_jobs(guild_id)),
            resets_at=next_day(start),
        )
