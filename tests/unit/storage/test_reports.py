"""Read-only figures over the jobs table: a job's place in line among those Pika has not
started, on real SQLite and PostgreSQL."""

from __future__ import annotations

from bot.storage import NewJob, Status, open_storage
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest


def new() -> NewJob:
    return NewJob("generate", {"promptText": "a fox"}, guild_id=1, channel_id=2, user_id=3)


async def test_place_in_line_counts_the_jobs_waiting_before_this_one(
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
    places = [await reports.place_in_line(j) for j in [await store.get(j.id) for j in jobs] if j]
    assert places == [None, 1, 2, 3]
    await store.update(jobs[1].id, pika_status="pending")  # Pika started it: the line moves
    fourth = await store.get(jobs[3].id)
    assert fourth is not None and await reports.place_in_line(fourth) == 2
    await storage.close()
