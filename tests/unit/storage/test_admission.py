"""Admission in one statement: exact caps under concurrency (also across connections of their
own, as several processes would have), and precisely which jobs count toward which limit; on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage import ACTIVE, FINAL, Job, JobStore, Limits, NewJob, Refused, Status, open_storage
from bot.storage.admission import RepeatWindow, admit_sql, counts_sql
from bot.storage.records import _ACTIVE_SQL, _UNMADE_SQL
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest

DAY = 1_000_000.0 - 3600  # the quota day started an hour before the clock's time
ROOMY = Limits(running=50, member_daily=50, server_daily=None, day_start=DAY)


def new(user: int = 3, **changes: object) -> NewJob:
    values: dict[str, object] = {
        "kind": "generate",
        "request": {"promptText": "a fox"},
        "guild_id": 1,
        "channel_id": 2,
        "user_id": user,
    }
    return NewJob(**(values | changes))  # type: ignore[arg-type]


@pytest.fixture
async def store(database: DatabaseUnderTest) -> AsyncIterator[JobStore]:
    storage = await open_storage(database.target, Clock())
    yield storage.jobs
    await storage.close()


async def admitted(store: JobStore, limits: Limits, user: int = 3) -> Job:
    outcome = await store.admit(new(user), limits)
    assert isinstance(outcome, Job), outcome
    return outcome


async def refused(store: JobStore, limits: Limits, user: int = 3) -> str | None:
    outcome = await store.admit(new(user), limits)
    assert isinstance(outcome, Refused), outcome
    return outcome.broken(limits, store.clock())


async def test_twenty_simultaneous_admissions_from_four_processes_admit_exactly_two(
    database: DatabaseUnderTest,
) -> None:
    # Four storages, as four processes have: SQLite connections of their own on one file, or
    # PostgreSQL pools of their own on one database.
    processes = [await open_storage(database.target) for _ in range(4)]
    limits = Limits(running=2, member_daily=50, server_daily=None, day_start=0)
    try:
        for _ in range(3):  # each round starts from nothing running
            outcomes = await asyncio.gather(
                *[processes[n % 4].jobs.admit(new(), limits) for n in range(20)]
            )
            assert sum(isinstance(o, Job) for o in outcomes) == 2
            refusals = {o.broken(limits, 0) for o in outcomes if isinstance(o, Refused)}
            assert refusals == {"running"}
            assert await database.value("SELECT COUNT(*) FROM jobs WHERE active = 1") == 2
            await database.execute("UPDATE jobs SET status = 'delivered', active = 0")
        other_server = await processes[0].jobs.admit(new(guild_id=9), limits)
        assert isinstance(other_server, Job)  # one server's admissions never wait on another's
    finally:
        for storage in processes:
            await storage.close()


@pytest.mark.parametrize("status", [*ACTIVE, *sorted(FINAL)])
async def test_the_running_cap_counts_every_job_that_has_not_ended(
    store: JobStore, status: Status
) -> None:
    job = await admitted(store, ROOMY)
    await store.update(job.id, status=status, counted=False)  # counted or not
    cap = Limits(running=1, member_daily=50, server_daily=None, day_start=DAY)
    if status in ACTIVE:
        assert await refused(store, cap) == "running"
    else:
        await admitted(store, cap)


async def test_daily_quotas_count_only_counted_jobs_of_the_day(store: JobStore) -> None:
    member = Limits(running=50, member_daily=2, server_daily=None, day_start=DAY)
    first = await admitted(store, member)
    await store.update(first.id, status=Status.FAILED, counted=False)  # Pika never accepted it
    await admitted(store, member)
    yesterday = await admitted(store, member)
    await store.update(yesterday.id, created_at=DAY - 1)
    await admitted(store, member)
    assert await refused(store, member) == "member_quota"  # two counted jobs today
    server = Limits(running=50, member_daily=50, server_daily=3, day_start=DAY)
    await admitted(store, server, user=4)
    assert await refused(store, server, user=5) == "server_quota"


async def test_the_cooldown_counts_only_counted_jobs(store: JobStore) -> None:
    cooling = Limits(running=50, member_daily=50, server_daily=None, day_start=DAY, cooldown=30)
    first = await admitted(store, cooling)
    assert await refused(store, cooling) == "cooldown"
    await store.update(first.id, status=Status.FAILED, counted=False)
    await admitted(store, cooling)  # the refused job does not make its member wait


async def test_a_repeat_is_returned_instead_of_a_second_job(store: JobStore) -> None:
    sticky = tuple(s.value for s in ACTIVE)
    twin_limits = Limits(
        running=50,
        member_daily=50,
        server_daily=None,
        day_start=DAY,
        repeat=RepeatWindow(since=DAY, sticky=sticky),
    )
    outcomes = await asyncio.gather(
        *[store.admit(new(repeat_key="extend:v"), twin_limits) for _ in range(5)]
    )
    made = [o for o in outcomes if isinstance(o, Job)]
    assert len(made) == 1
    assert {o.twin.id for o in outcomes if isinstance(o, Refused) and o.twin} == {made[0].id}
    await store.update(made[0].id, status=Status.FAILED)  # ended: no longer a twin
    assert isinstance(await store.admit(new(repeat_key="extend:v"), twin_limits), Job)


async def test_admission_counts_by_index_on_sqlite(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path / "db.sqlite3")
    await storage.close()
    columns = ["id", "kind", "request", "guild_id", "user_id", "status", "created_at"]
    params = {f"v_{c}": None for c in columns} | {
        "guild": 1,
        "user": 3,
        "now": 0.0,
        "day": 0.0,
        "running": 1,
        "member_daily": 1,
        "server_daily": 1,
        "cooldown": 1.0,
        "repeat_key": "extend:v",
        "repeat_since": 0.0,
    }
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        for sql in (
            admit_sql(columns, _ACTIVE_SQL, _UNMADE_SQL, RepeatWindow(0.0, ("running",))),
            counts_sql(_ACTIVE_SQL, _UNMADE_SQL, RepeatWindow(0.0, ("running",))),
        ):
            plan = " ".join(str(r[-1]) for r in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
            assert "SCAN jobs" not in plan, plan  # every count reads an index range
            assert plan.count("SEARCH jobs USING") >= 4, plan
