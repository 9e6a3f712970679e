"""The job store on real SQLite and PostgreSQL: migrations, one-statement writes, batches and
durations."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import quote

from bot.storage import (
    ACTIVE,
    Job,
    JobStore,
    Limits,
    NewJob,
    RepeatWindow,
    Status,
    open_storage,
)
from bot.storage.backend import migrations
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.round_trips import counting_round_trips


def new(**changes: object) -> NewJob:
    values: dict[str, object] = {
        "kind": "generate",
        "request": {"promptText": "a fox"},
        "guild_id": 1,
        "channel_id": 2,
        "user_id": 3,
    }
    return NewJob(**(values | changes))  # type: ignore[arg-type]


async def create_unless_repeated(
    store: JobStore, new: NewJob, since: float, sticky: Sequence[Status] = ()
) -> tuple[Job, bool]:
    """Admission with no limit in the way: the job, or the one it repeats."""
    window = RepeatWindow(since, tuple(s.value for s in sticky))
    limits = Limits(running=1000, member_daily=1000, server_daily=None, day_start=0.0)
    outcome = await store.admit(new, replace(limits, repeat=window))
    if isinstance(outcome, Job):
        return outcome, True
    assert outcome.twin is not None
    return outcome.twin, False


async def test_migrations_apply_once(database: DatabaseUnderTest) -> None:
    newest = migrations(database.dialect)[-1].version
    assert newest >= 6
    storage = await open_storage(database.target)
    await storage.close()
    applied = "SELECT version FROM schema_migrations ORDER BY version"
    assert [v for (v,) in await database.fetch(applied)] == list(range(1, newest + 1))
    storage = await open_storage(database.target)  # again: nothing to apply, nothing breaks
    await storage.close()
    assert await database.value("SELECT MAX(version) FROM schema_migrations") == newest
    if database.dialect == "sqlite":
        assert await database.value("PRAGMA journal_mode") == "wal"


async def test_a_new_job_is_submitting_active_and_due_when_asked(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    job = await storage.jobs.create(new(due_in=30, thread_id=2))
    assert (job.status, job.active, job.next_poll_at) == (Status.SUBMITTING, True, clock.now + 30)
    assert (job.thread_id, job.request) == (2, {"promptText": "a fox"})
    assert await storage.jobs.get(job.id) == job
    await storage.close()


async def test_a_token_is_kept_out_of_a_jobs_repr(database: DatabaseUnderTest) -> None:
    storage = await open_storage(database.target)
    job = await storage.jobs.create(new(webhook_secret="hook-secret"))
    job = await storage.jobs.update(job.id, interaction_token="interaction-token")
    assert job.interaction_token == "interaction-token"
    assert "interaction-token" not in repr(job) and "hook-secret" not in repr(job)
    await storage.close()


async def test_a_transition_changes_a_job_only_from_the_expected_statuses(
    database: DatabaseUnderTest,
) -> None:
    storage = await open_storage(database.target)
    store = storage.jobs
    job = await store.create(new())
    moved = await store.transition(job.id, [Status.SUBMITTING], status=Status.SENDING, active=0)
    assert moved is not None and moved.status is Status.SENDING and not moved.active
    assert await store.transition(job.id, [Status.SUBMITTING], status=Status.SENDING) is None
    await storage.close()


async def test_many_jobs_change_in_one_statement_each_only_from_the_expected_status(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    store = storage.jobs
    jobs = [await store.create(new()) for _ in range(5)]
    for job in jobs[:4]:
        await store.update(job.id, status=Status.RUNNING)
    changes = {
        job.id: {"progress": 10 * n, "pika_status": "pending", "next_poll_at": clock.now + n}
        for n, job in enumerate(jobs)
    }
    changes[jobs[0].id] = {"progress": 99}  # another set of columns: its own statement
    with counting_round_trips() as count:
        await store.update_many(changes, expected=[Status.RUNNING])
    assert count.total == 2
    after = {job.id: await store.get(job.id) for job in jobs}
    assert [after[j.id].progress for j in jobs] == [99, 10, 20, 30, 0]  # type: ignore[union-attr]
    assert after[jobs[1].id].next_poll_at == clock.now + 1  # type: ignore[union-attr]
    assert after[jobs[4].id].pika_status is None  # type: ignore[union-attr]  # not running
    await storage.close()


async def test_the_latest_durations_of_each_kind_are_read_oldest_first(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    store = storage.jobs
    for kind, seconds in [("generate", 3.0), ("extend", 9.0), ("generate", 4.0), ("generate", 5.0)]:
        job = await store.create(new(kind=kind))
        await store.update(job.id, pika_seconds=seconds)
        clock.now += 1
    await store.create(new())  # never finished: no duration
    assert await store.durations(per_kind=2) == [
        ("extend", 9.0),
        ("generate", 4.0),
        ("generate", 5.0),
    ]
    await storage.close()


async def test_a_repeated_request_is_created_once_within_its_window(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    store = storage.jobs
    again = new(repeat_key="extend:https://x/v.mp4")
    made = await asyncio.gather(
        *[create_unless_repeated(store, again, clock.now - 60) for _ in range(5)]
    )
    assert [created for _, created in made].count(True) == 1
    assert len({job.id for job, _ in made}) == 1
    clock.now += 61  # past the window: another take
    later, created = await create_unless_repeated(store, again, clock.now - 60)
    assert created and later.id != made[0][0].id
    await store.update(later.id, status=Status.FAILED)  # ended without a video: never a repeat
    retried, created = await create_unless_repeated(store, again, clock.now - 60)
    assert created and retried.id != later.id
    await storage.close()


async def test_a_sticky_status_makes_a_repeat_at_any_time(database: DatabaseUnderTest) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    store = storage.jobs
    upscale = new(repeat_key="upscale:https://x/v.mp4")
    first, _ = await create_unless_repeated(store, upscale, clock.now - 60, [Status.DELIVERED])
    await store.update(first.id, status=Status.DELIVERED)
    clock.now += 3600
    found, created = await create_unless_repeated(
        store, upscale, clock.now - 60, [Status.DELIVERED]
    )
    assert not created and found.id == first.id
    assert await store.repeated(upscale.repeat_key or "", clock.now - 60) is None
    await storage.close()


async def test_running_counts_only_jobs_that_have_not_ended(database: DatabaseUnderTest) -> None:
    storage = await open_storage(database.target)
    store = storage.jobs
    jobs = [await store.create(new()) for _ in range(len(ACTIVE) + 2)]
    for job, status in zip(jobs, [*ACTIVE, Status.DELIVERED, Status.FAILED], strict=True):
        await store.update(job.id, status=status)
    assert len(await store.running_jobs(1, 3)) == len(ACTIVE)
    assert {j.status for j in await store.running_jobs(1)} == set(ACTIVE)
    await storage.close()


async def test_a_batch_clears_columns_sets_flags_and_keeps_each_columns_type(
    database: DatabaseUnderTest,
) -> None:
    storage = await open_storage(database.target)
    store = storage.jobs
    jobs = [await store.create(new()) for _ in range(3)]
    for n, job in enumerate(jobs):
        await store.update(job.id, result_message_id=900 + n, last_error="boom", seed=2**40)
    # NULL in every row of a column, a bool, a float, a 64-bit id: PostgreSQL must be told
    # each column's type, SQLite takes them as they come.
    await store.update_many(
        {
            job.id: {"result_message_id": None, "last_error": None, "mention": False}
            | {"duration": 2.5, "status_message_id": 2**62 + n}
            for n, job in enumerate(jobs)
        }
    )
    after = [await store.get(job.id) for job in jobs]
    assert [(j.result_message_id, j.last_error, j.mention) for j in after if j] == [
        (None, None, False)
    ] * 3
    assert [(j.duration, j.status_message_id, j.seed) for j in after if j] == [
        (2.5, 2**62 + n, 2**40) for n in range(3)
    ]
    await storage.close()


async def test_a_result_url_as_long_as_a_prompt_makes_it_is_recorded(
    database: DatabaseUnderTest,
) -> None:
    # Pika names a result after its prompt: 1,000 characters of Japanese are about 9,000 once
    # percent-encoded, past what a PostgreSQL index entry holds (about 2.7 KB), and the write
    # that hands a finished job on would fail at every poll, the video never delivered.
    storage = await open_storage(database.target, Clock())
    prompt = "".join(chr(0x4E00 + (n * 7919) % 20000) for n in range(1000))  # no repeats to pack
    url = "https://cdn.pika.art/v1/abc/" + quote(prompt) + "_seed1.mp4"
    job = await storage.jobs.create(new(repeat_key="upscale:" + url))
    done = await storage.jobs.update(job.id, result_url=url, status=Status.DELIVERING)
    assert done.result_url == url
    again = await storage.jobs.repeated("upscale:" + url, since=0.0)
    assert again is not None and again.id == job.id
    await storage.close()
