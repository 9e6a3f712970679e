"""The job store on real SQLite: migrations, the tracker's index, and one-statement writes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.storage import ACTIVE, NewJob, Status, open_storage
from bot.storage.db import MIGRATIONS_PACKAGE
from tests.helpers.clock import Clock

MIGRATIONS = Path(__file__).resolve().parents[3] / MIGRATIONS_PACKAGE.replace(".", "/")


def new(**changes: object) -> NewJob:
    values: dict[str, object] = {
        "kind": "generate",
        "request": {"promptText": "a fox"},
        "guild_id": 1,
        "channel_id": 2,
        "user_id": 3,
    }
    return NewJob(**(values | changes))  # type: ignore[arg-type]


def schema_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0])


async def test_migrations_apply_once_and_the_database_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    newest = max(int(p.name.split("_")[0]) for p in (MIGRATIONS / "migrations").glob("*.sql"))
    assert newest >= 3
    storage = await open_storage(path)
    await storage.close()
    assert schema_version(path) == newest
    storage = await open_storage(path)  # again: nothing to apply, nothing breaks
    await storage.close()
    assert schema_version(path) == newest
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_the_trackers_query_uses_its_index(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path / "db.sqlite3")
    await storage.close()
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE active = 1 AND next_poll_at <= ? "
            "ORDER BY next_poll_at LIMIT ?",
            (0, 1),
        ).fetchall()
    assert "USING INDEX jobs_due" in " ".join(str(row[-1]) for row in plan)


async def test_a_new_job_is_submitting_active_and_due_when_asked(tmp_path: Path) -> None:
    clock = Clock()
    storage = await open_storage(tmp_path / "db.sqlite3", clock)
    job = await storage.jobs.create(new(due_in=30, thread_id=2))
    assert (job.status, job.active, job.next_poll_at) == (Status.SUBMITTING, True, clock.now + 30)
    assert (job.thread_id, job.request) == (2, {"promptText": "a fox"})
    assert await storage.jobs.get(job.id) == job
    await storage.close()


async def test_next_due_skips_what_is_due_already_and_what_is_inactive(tmp_path: Path) -> None:
    clock = Clock()
    storage = await open_storage(tmp_path / "db.sqlite3", clock)
    store = storage.jobs
    soon, later = await store.create(new()), await store.create(new())
    await store.update(soon.id, next_poll_at=clock.now - 1)  # due, so being worked on
    await store.update(later.id, next_poll_at=clock.now + 5)
    assert await store.next_due_at() == clock.now - 1
    assert await store.next_due_at(after=clock.now) == clock.now + 5
    await store.update(later.id, status=Status.DELIVERED)  # inactive: never due
    assert await store.next_due_at(after=clock.now) is None
    await storage.close()


async def test_a_repeated_request_is_created_once_within_its_window(tmp_path: Path) -> None:
    clock = Clock()
    storage = await open_storage(tmp_path / "db.sqlite3", clock)
    store = storage.jobs
    again = new(repeat_key="extend:https://x/v.mp4")
    made = await asyncio.gather(
        *[store.create_unless_repeated(again, clock.now - 60) for _ in range(5)]
    )
    assert [created for _, created in made].count(True) == 1
    assert len({job.id for job, _ in made}) == 1
    clock.now += 61  # past the window: another take
    later, created = await store.create_unless_repeated(again, clock.now - 60)
    assert created and later.id != made[0][0].id
    await store.update(later.id, status=Status.FAILED)  # ended without a video: never a repeat
    retried, created = await store.create_unless_repeated(again, clock.now - 60)
    assert created and retried.id != later.id
    await storage.close()


async def test_a_sticky_status_makes_a_repeat_at_any_time(tmp_path: Path) -> None:
    clock = Clock()
    storage = await open_storage(tmp_path / "db.sqlite3", clock)
    store = storage.jobs
    upscale = new(repeat_key="upscale:https://x/v.mp4")
    first, _ = await store.create_unless_repeated(upscale, clock.now - 60, [Status.DELIVERED])
    await store.update(first.id, status=Status.DELIVERED)
    clock.now += 3600
    found, created = await store.create_unless_repeated(upscale, clock.now - 60, [Status.DELIVERED])
    assert not created and found.id == first.id
    assert await store.repeated(upscale.repeat_key or "", clock.now - 60) is None
    await storage.close()


async def test_running_counts_only_jobs_that_have_not_ended(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path / "db.sqlite3")
    store = storage.jobs
    jobs = [await store.create(new()) for _ in range(len(ACTIVE) + 2)]
    for job, status in zip(jobs, [*ACTIVE, Status.DELIVERED, Status.FAILED], strict=True):
        await store.update(job.id, status=status)
    assert await store.count_running(1, 3) == len(ACTIVE)
    assert {j.status for j in await store.running_jobs(1)} == set(ACTIVE)
    await storage.close()
