"""The gate every new job passes: channel, role, paid features, blocked words, caps and quotas.

Every entry point (command, button, reaction, context menu) creates its job with
`Guardrails.admit(ask, new)`. The checks that need no count (channel, role, paid features,
blocked words) run in memory on the server's cached settings; the caps, quotas and cooldown are
checked by the insert of the job row itself (`JobStore.admit`, one statement), so counts are
exact under any concurrency with no lock held here: twenty simultaneous asks by one member with
a cap of two create exactly two jobs, also when several processes share one database. A refusal
says which limit and, where it has one, when it resets. A quota day runs from midnight to
midnight in the server's time zone (UTC unless set).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.errors import MemberError
from bot.guardrails.settings import GuildSettings, ServerSettings
from bot.pika.kinds import kind as kind_of
from bot.storage import Job, JobStore, Limits, NewJob, Refused, RepeatWindow


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


# Admission is tried again when the insert found no room but the read just after finds some (a
# job ended in between); this many times, then the member is asked to try again.
ADMIT_ATTEMPTS = 3
SHOWN_CHANNELS = 20  # the allowed channels a refusal names


class Guardrails:
    """The gate every new job passes."""

    def __init__(self, jobs: JobStore, settings: ServerSettings) -> None:
        self.jobs = jobs
        self.settings = settings

    async def admit(
        self, ask: Ask, new: NewJob, repeat: RepeatWindow | None = None
    ) -> tuple[Job, bool]:
        """Check every limit and write the job if it passes: (job, True). With `repeat`, a job
        that repeats one (same `repeat_key`, see `RepeatWindow`) is not written, and no limit
        refuses it: (the job it repeats, False). Raises Refusal naming the first limit the ask
        breaks."""
        rules = await self.settings.get(ask.guild_id)
        self.check(rules, ask)
        now = self.jobs.clock()
        start = day_start(now, rules.timezone)
        limits = Limits(
            running=rules.max_running_per_user,
            member_daily=rules.daily_quota_per_user,
            server_daily=rules.daily_quota_server,
            day_start=start.timestamp(),
            cooldown=float(rules.cooldown_seconds),
            repeat=repeat,
        )
        for _ in range(ADMIT_ATTEMPTS):
            outcome = await self.jobs.admit(new, limits)
            if isinstance(outcome, Job):
                return outcome, True
            if outcome.twin is not None:
                return outcome.twin, False
            broken = outcome.broken(limits, self.jobs.clock())
            if broken is not None:
                raise refusal(broken, outcome, rules, start)
        raise Refusal("refusal.try_again")

    def check(self, rules: GuildSettings, ask: Ask) -> None:
        """Raise Refusal at the first limit the ask breaks that needs no count."""
        if ask.guild_id is None:
            raise Refusal("refusal.no_server")
        if rules.allowed_channels and ask.channel_id not in rules.allowed_channels:
            # A few: the sentence must fit one message, however many channels are allowed.
            channels = ", ".join(f"<#{c}>" for c in rules.allowed_channels[:SHOWN_CHANNELS])
            if len(rules.allowed_channels) > SHOWN_CHANNELS:
                channels += ", …"
            raise Refusal("refusal.channel", channels=channels)
        if rules.required_role is not None and rules.required_role not in ask.role_ids:
            raise Refusal("refusal.role", role=rules.required_role)
        if rules.daily_quota_per_user == 0:
            # An owner's way to pause videos: "you have reached today's limit of 0" told a
            # member who made none that they had used something up.
            raise Refusal("refusal.paused")
        if kind_of(ask.kind).paid_feature and not rules.paid_features:
            raise Refusal("refusal.paid_features")
        clash = rules.blocked_default()
        if clash is not None and rules.defaults.negative_prompt in ask.texts:
            # Saved before such contradictions were refused: the member typed none of it, and
            # only a moderator can change it.
            raise Refusal("refusal.blocked_default", pattern=clash)
        pattern = rules.blocked(ask.texts)
        if pattern is not None:
            raise Refusal("refusal.blocked", pattern=pattern)

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


def refusal(limit: str, counts: Refused, rules: GuildSettings, start: datetime) -> Refusal:
    """The member's refusal for the limit the admission broke, with what fills its sentence."""
    resets = {"resets_at": int(next_day(start).timestamp()), "timezone": rules.timezone}
    if limit == "running":
        return Refusal("refusal.running", running=counts.running, limit=rules.max_running_per_user)
    if limit == "member_quota":
        return Refusal("refusal.member_quota", quota=rules.daily_quota_per_user, **resets)
    if limit == "server_quota":
        return Refusal("refusal.server_quota", quota=rules.daily_quota_server, **resets)
    ready = int((counts.last_counted or 0) + rules.cooldown_seconds)
    return Refusal("refusal.cooldown", seconds=rules.cooldown_seconds, ready=ready)
