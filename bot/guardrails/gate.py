"""The gate every new job passes: channel, role, paid features, blocked words, caps and quotas.

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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import MemberError
from bot.guardrails.settings import GuildSettings, ServerSettings
from bot.pika.kinds import kind as kind_of
from bot.storage import Job, JobStore


class Refusal(MemberError):
    """A guardrail stopped the request; its sentence names the limit and when it resets."""


@dataclass(frozen=True)
class Ask:
    """Who asks for what, where."""

    guild_id: int | None
    channel_id: int  # the channel whose rules apply: a thread's parent
    user_id: int
    role_ids: frozenset[int]
    kind: str
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    """A member's (and their server's) use today."""

    today: int
    quota: int
    running: list[Job]
    server_today: int
    server_quota: int | None
    server_running: int
    resets_at: datetime


def texts_of(payload: dict[str, Any]) -> tuple[str, ...]:
    """The free texts of a request, where blocked words are looked for."""
    parameters = (payload.get("options") or {}).get("parameters") or {}
    found = (payload.get("promptText"), payload.get("swapPrompt"), parameters.get("negativePrompt"))
    return tuple(str(t) for t in found if t)


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

    def __init__(self, jobs: JobStore, settings: ServerSettings) -> None:
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

    async def check(self, rules: GuildSettings, ask: Ask) -> None:
        """Raise Refusal at the first limit the ask breaks."""
        if ask.guild_id is None:
            raise Refusal("refusal.no_server")
        if rules.allowed_channels and ask.channel_id not in rules.allowed_channels:
            channels = ", ".join(f"<#{c}>" for c in rules.allowed_channels)
            raise Refusal("refusal.channel", channels=channels)
        if rules.required_role is not None and rules.required_role not in ask.role_ids:
            raise Refusal("refusal.role", role=rules.required_role)
        if kind_of(ask.kind).paid_feature and not rules.paid_features:
            raise Refusal("refusal.paid_features")
        pattern = rules.blocked(ask.texts)
        if pattern is not None:
            raise Refusal("refusal.blocked", pattern=pattern)
        now = self.jobs.clock()
        running = await self.jobs.count_running(ask.guild_id, ask.user_id)
        if running >= rules.max_running_per_user:
            raise Refusal("refusal.running", running=running, limit=rules.max_running_per_user)
        start = day_start(now, rules.timezone)
        resets = {"resets_at": int(next_day(start).timestamp()), "timezone": rules.timezone}
        mine = await self.jobs.count_since(ask.guild_id, start.timestamp(), ask.user_id)
        if mine >= rules.daily_quota_per_user:
            raise Refusal("refusal.member_quota", quota=rules.daily_quota_per_user, **resets)
        if rules.daily_quota_server is not None:
            total = await self.jobs.count_since(ask.guild_id, start.timestamp())
            if total >= rules.daily_quota_server:
                raise Refusal("refusal.server_quota", quota=rules.daily_quota_server, **resets)
        if rules.cooldown_seconds:
            last = await self.jobs.last_created(ask.guild_id, ask.user_id)
            if last is not None and now - last < rules.cooldown_seconds:
                ready = int(last + rules.cooldown_seconds)
                raise Refusal("refusal.cooldown", seconds=rules.cooldown_seconds, ready=ready)

    async def usage(self, guild_id: int | None, user_id: int) -> Usage:
        """What a member (and the server) used today."""
        rules = await self.settings.get(guild_id)
        start = day_start(self.jobs.clock(), rules.timezone)
        return Usage(
            today=await self.jobs.count_since(guild_id, start.timestamp(), user_id),
            quota=rules.daily_quota_per_user,
            running=await self.jobs.running_jobs(guild_id, user_id),
            server_today=await self.jobs.count_since(guild_id, start.timestamp()),
            server_quota=rules.daily_quota_server,
            server_running=len(await self.jobs.running_jobs(guild_id)),
            resets_at=next_day(start),
        )
