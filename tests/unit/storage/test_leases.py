"""Leases on real SQLite and PostgreSQL: two processes (two stores on one database) never hold
the same job; leases are renewed, lost, released, and pushes recorded for the holder; on
PostgreSQL, claims in progress skip each other's rows instead of waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.storage import Job, JobStore, NewJob, Status, Storage, claim_sql, open_storage
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest

LEASE = 30.0


def new(due_in: float = 0.0) -> NewJob:
    return NewJob("generate", {"promptText": "a fox"}, 1, 2, 3, due_in=due_in)


@dataclass
class Two:
    """Two processes' storage on one database, on one clock."""

    a: Storage
    b: Storage
    clock: Clock


async def two_on(target: Path | str) -> AsyncIterator[Two]:
    """Two processes' storage on the database `target` names."""
    clock = Clock()
    a = await open_storage(target, clock, lease_seconds=LEASE)
    b = await open_storage(target, clock, lease_seconds=LEASE)
    yield Two(a, b, clock)
    await a.close()
    await b.close()


@pytest.fixture
async def two(database: DatabaseUnderTest) -> AsyncIterator[Two]:
    async for opened in two_on(database.target):
        yield opened


@pytest.fixture
async def two_on_postgresql(postgres_url: str) -> AsyncIterator[Two]:
    async for opened in two_on(postgres_url):
        yield opened


async def row(store: JobStore, job: Job) -> Job:
    found = await store.get(job.id)
    assert found is not None
    return found


async def test_a_new_job_is_its_creators_until_its_lease_ends(two: Two) -> None:
    a, b = two.a.jobs, two.b.jobs
    assert a.leases.owner != b.leases.owner
    job = await a.create(new())
    assert (job.claimed_by, job.claimed_until) == (a.leases.owner, two.clock.now + LEASE)
    assert await b.leases.claim() == []  # held: not the other's to take
    two.clock.now += LEASE + 1  # no renewal came
    [taken] = await b.leases.claim()
    assert taken.id == job.id and taken.claimed_by == b.leases.owner
    assert await a.leases.renew() == []  # the first process holds it no more


async def test_claims_take_each_free_job_once_soonest_due_first(two: Two) -> None:
    a, b = two.a.jobs, two.b.jobs
    made = [await a.create(new(due_in=float(n))) for n in range(20)]
    await a.leases.release()  # a clean stop: every job is free
    first = await b.leases.claim(limit=3)
    assert sorted(j.id for j in first) == sorted(j.id for j in made[:3])  # the soonest due
    # Both processes claim at once, over their own connections, until nothing is left.
    taken = [j.id for j in first]
    while batch := await asyncio.gather(*(s.leases.claim(limit=2) for s in (a, b, a, b))):
        claimed = [j.id for jobs in batch for j in jobs]
        if not claimed:
            break
        taken += claimed
    assert sorted(taken) == sorted(j.id for j in made)  # each job once, none left out
    holders = {(await row(a, j)).claimed_by for j in made}
    assert holders == {a.leases.owner, b.leases.owner}


async def test_renewal_extends_leases_and_says_which_jobs_are_held(two: Two) -> None:
    a, b = two.a.jobs, two.b.jobs
    kept, ended = await a.create(new()), await a.create(new())
    await a.update(ended.id, status=Status.DELIVERED)  # ended: nothing left to hold it for
    two.clock.now += LEASE * 2 / 3
    held = await a.leases.renew()
    assert [(h.job_id, h.status) for h in held] == [(kept.id, Status.SUBMITTING)]
    assert (await row(a, kept)).claimed_until == two.clock.now + LEASE
    two.clock.now += LEASE * 2 / 3  # past the first lease, within the renewed one
    assert await b.leases.claim() == []


async def test_a_clean_stop_frees_every_job_but_one_in_its_paid_call(two: Two) -> None:
    a, b = two.a.jobs, two.b.jobs
    waiting, sending = await a.create(new()), await a.create(new())
    await a.update(sending.id, status=Status.SENDING)
    await a.leases.release()
    assert [j.id for j in await b.leases.claim()] == [waiting.id]
    assert (await row(a, sending)).claimed_by == a.leases.owner  # its call may yet be answered


async def test_a_push_received_elsewhere_makes_the_job_due_and_is_kept_for_its_holder(
    two: Two,
) -> None:
    a, b, now = two.a.jobs, two.b.jobs, two.clock.now
    polled = await a.create(new())
    await a.update(polled.id, status=Status.RUNNING, pika_job_id="p1", next_poll_at=now + 60)
    assert await b.leases.mark_due(polled.id, None) == (True, a.leases.owner)
    found = await row(a, polled)
    assert (found.next_poll_at, found.pushed_at, found.pushed_pika_job_id) == (now, now, None)
    [held] = await a.leases.renew()
    assert (held.job_id, held.pushed_at) == (polled.id, now)
    # A job listening for the push of a call whose outcome was unknown keeps its time-out as
    # its due time (a poll would give it up); the Pika job the push names is kept for it.
    listening = await a.create(new())
    await a.update(listening.id, status=Status.RUNNING, next_poll_at=now + 600)
    assert await b.leases.mark_due(listening.id, "p2") == (True, a.leases.owner)
    found = await row(a, listening)
    assert (found.next_poll_at, found.pushed_pika_job_id) == (now + 600, "p2")
    assert await b.leases.mark_due(listening.id, None) == (True, a.leases.owner)
    assert (await row(a, listening)).pushed_pika_job_id == "p2"  # a later push names none
    await a.update(polled.id, status=Status.DELIVERED)
    assert await b.leases.mark_due(polled.id, None) == (False, None)  # ended: nothing to do


async def test_a_process_is_live_while_it_holds_a_lease(two: Two) -> None:
    a, b = two.a.jobs, two.b.jobs
    await a.create(new())
    assert await b.leases.live(a.leases.owner)
    two.clock.now += LEASE + 1
    assert not await b.leases.live(a.leases.owner)


def test_only_postgresql_locks_and_skips_the_rows_it_claims() -> None:
    assert "SKIP LOCKED" not in claim_sql("sqlite")
    assert claim_sql("postgresql").endswith("LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING *")
    with pytest.raises(ValueError, match="dialect"):
        claim_sql("oracle")  # type: ignore[arg-type]


async def test_on_postgresql_concurrent_claims_take_different_jobs_without_waiting(
    two_on_postgresql: Two,
) -> None:
    two = two_on_postgresql
    a, b = two.a.jobs, two.b.jobs
    made = [await a.create(new(due_in=float(n))) for n in range(30)]
    await a.leases.release()
    now = two.clock.now
    async with two.a.database.transaction() as claiming:  # a claim still in progress
        mine = await claiming.fetch(claim_sql("postgresql"), ("a", now + LEASE, now, 10))
        theirs = await asyncio.wait_for(b.leases.claim(limit=10), 5)  # skips, never waits
    assert sorted(r["id"] for r in mine) == sorted(j.id for j in made[:10])
    assert sorted(j.id for j in theirs) == sorted(j.id for j in made[10:20])
