"""Read-only figures over the jobs table: the line of jobs Pika has not started, on real
SQLite and PostgreSQL."""

from __future__ import annotations

from bot.storage import NewJob, Status, open_storage
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest


def new() -> NewJob:
    return NewJob("generate", {"promptText": "a fox"}, guild_id=1, channel_id=2, user_id=3)


async def test_the_line_holds_the_jobs_waiting_for_pika_oldest_first(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    store = storage.jobs
    jobs = []
    for _ in range(4):
        jobs.append(await store.create(new()))
        clock.now += 1
    # Pika works on the first; the second is queued at Pika; the third is being sent.
    await store.update(jobs[0].id, status=Status.RUNNING, pika_status="pending", progress=10)
    await store.update(jobs[1].id, status=Status.RUNNING, pika_status="queued")
    await store.update(jobs[2].id, status=Status.SENDING)
    reports = storage.reports
    line = [job_id for _, job_id, _ in await reports.in_line()]
    assert line == [jobs[1].id, jobs[2].id, jobs[3].id]
    await store.update(jobs[1].id, pika_status="pending")  # Pika started it: the line moves
    assert [job_id for _, job_id, _ in await reports.in_line()] == [jobs[2].id, jobs[3].id]
    await storage.close()
