"""The figures of `/pika-admin status`, gathered without Discord: Pika's health, jobs now, a
server's day by kind, typical durations, and the latest settings changes.

A job "waits" until Pika has started it (not yet sent, or Pika says queued or delayed); it
"runs" from then until its result is posted.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.guardrails import ServerSettings, day_start
from bot.pika.health import PikaHealth, PikaProblem, PikaState
from bot.storage import Change, JobReports, Status, Tally

WAITING_AT_PIKA = frozenset({"queued", "delayed"})
LATEST_CHANGES = 5


def waits(tally: Tally) -> bool:
    """Whether jobs of this tally wait (not yet started at Pika)."""
    if tally.status in (Status.SUBMITTING, Status.SENDING):
        return True
    return tally.status == Status.RUNNING and (tally.pika_status or "queued") in WAITING_AT_PIKA


def count_not_ended(tallies: Iterable[Tally]) -> tuple[int, int]:
    """(waiting, running) among tallies of jobs not ended."""
    waiting = running = 0
    for tally in tallies:
        if waits(tally):
            waiting += tally.count
        else:
            running += tally.count
    return waiting, running


@dataclass
class KindDay:
    """One kind of job in one server's day, and how long that kind typically takes."""

    kind: str
    asked: int = 0
    delivered: int = 0
    failed: int = 0
    timed_out: int = 0
    undeliverable: int = 0
    typical_seconds: float | None = None
    failures: dict[str, int] = field(default_factory=dict)  # by failure key


@dataclass(frozen=True)
class StatusReport:
    """Everything `/pika-admin status` shows."""

    pika_state: PikaState
    pika_since: float | None
    pika_problem: PikaProblem | None
    waiting: int  # in this server
    running: int
    waiting_everywhere: int
    running_everywhere: int
    day_started: datetime
    kinds: list[KindDay]  # busiest first
    changes: list[Change]  # newest first


async def status_report(
    guild_id: int,
    reports: JobReports,
    settings: ServerSettings,
    health: PikaHealth,
    clock: Callable[[], float] = time.time,
) -> StatusReport:
    """Gather the status of one server (jobs today in its time zone) and of the bot."""
    rules = await settings.get(guild_id)
    started = day_start(clock(), rules.timezone)
    waiting, running = count_not_ended(await reports.not_ended(guild_id))
    waiting_all, running_all = count_not_ended(await reports.not_ended(everywhere=True))
    kinds = by_kind(await reports.since(guild_id, started.timestamp()), await reports.durations())
    return StatusReport(
        pika_state=health.state,
        pika_since=health.since,
        pika_problem=health.last_problem,
        waiting=waiting,
        running=running,
        waiting_everywhere=waiting_all,
        running_everywhere=running_all,
        day_started=started,
        kinds=kinds,
        changes=await settings.audit(guild_id, limit=LATEST_CHANGES),
    )


def by_kind(today: Iterable[Tally], durations: dict[str, list[float]]) -> list[KindDay]:
    """A day's tallies folded by kind, with each kind's median duration; kinds with a typical
    duration but no job today come last."""
    kinds: dict[str, KindDay] = {}
    for tally in today:
        day = kinds.setdefault(tally.kind, KindDay(tally.kind))
        day.asked += tally.count
        if tally.status == Status.DELIVERED:
            day.delivered += tally.count
        elif tally.status == Status.FAILED:
            day.failed += tally.count
        elif tally.status == Status.TIMED_OUT:
            day.timed_out += tally.count
        elif tally.status == Status.UNDELIVERABLE:
            day.undeliverable += tally.count
        if tally.failure:
            day.failures[tally.failure] = day.failures.get(tally.failure, 0) + tally.count
    for kind, seconds in durations.items():
        if seconds:
            kinds.setdefault(kind, KindDay(kind)).typical_seconds = statistics.median(seconds)
    return sorted(kinds.values(), key=lambda d: (-d.asked, d.kind))
