"""Members' private holds on real SQLite and PostgreSQL: kept with the lease of the process that
made them, taken once by one other process when that lease ends, and told apart from the holds
whose request was admitted as a job (that job's own take-over tells its member)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.storage import Hold, NewJob, Storage, open_storage
from bot.storage.holds import KEPT_SECONDS, admitted_sql
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest

LEASE = 30.0


@pytest.fixture
async def two(database: DatabaseUnderTest) -> AsyncIterator[tuple[Storage, Storage, Clock]]:
    clock = Clock()
    a = await open_storage(database.target, clock, lease_seconds=LEASE)
    b = await open_storage(database.target, clock, lease_seconds=LEASE)
    yield a, b, clock
    await a.close()
    await b.close()


def hold(interaction_id: int, clock: Clock, guild_id: int | None = 1) -> Hold:
    return Hold(interaction_id, f"token-{interaction_id}", guild_id, 3, "fr", clock.now)


async def test_a_hold_is_taken_by_one_other_process_only_once_its_lease_ended(
    two: tuple[Storage, Storage, Clock],
) -> None:
    a, b, clock = two
    await a.jobs.holds.record(hold(11, clock))
    await a.jobs.holds.record(hold(12, clock, guild_id=None))  # asked in a DM
    await a.jobs.holds.record(hold(13, clock))
    assert await a.jobs.holds.take_back(13)  # answered: nothing left to resolve
    clock.now += LEASE * 0.9
    await a.jobs.holds.renew()  # its process lives: renewed with its jobs
    clock.now += LEASE * 0.9
    assert await b.jobs.holds.orphaned() == []
    clock.now += LEASE  # its process stopped renewing
    taken = await b.jobs.holds.orphaned()
    assert sorted(h.interaction_id for h in taken) == [11, 12]
    assert {h.token for h in taken} == {"token-11", "token-12"}
    assert [h.guild_id for h in sorted(taken, key=lambda h: h.interaction_id)] == [1, None]
    assert await a.jobs.holds.orphaned() == []  # taken once


async def test_a_hold_never_forgotten_is_renewed_only_while_its_token_lasts(
    two: tuple[Storage, Storage, Clock],
) -> None:
    # Its request answered, but its forget refused (the database away then): its living
    # process renewed it, and kept its token, for as long as it ran (weeks); now it is taken
    # and dropped once the interaction's token has ended (nothing can edit it any more).
    a, b, clock = two
    await a.jobs.holds.record(hold(51, clock))
    ended = clock.now + KEPT_SECONDS
    while clock.now < ended:
        clock.now += LEASE / 3
        await a.jobs.holds.renew()  # its process lives
        if clock.now < ended - LEASE:
            assert await b.jobs.holds.orphaned() == []
    clock.now += LEASE
    await a.jobs.holds.renew()
    assert [h.interaction_id for h in await b.jobs.holds.orphaned()] == [51]


async def test_a_released_hold_is_taken_at_once(two: tuple[Storage, Storage, Clock]) -> None:
    a, b, clock = two
    await a.jobs.holds.record(hold(21, clock))
    await a.jobs.holds.release()  # a clean stop
    assert [h.interaction_id for h in await b.jobs.holds.orphaned()] == [21]


async def test_a_hold_whose_request_was_admitted_is_known_by_its_job(
    two: tuple[Storage, Storage, Clock],
) -> None:
    a, _, clock = two
    made = hold(31, clock)
    dm = hold(32, clock, guild_id=None)
    assert not await a.jobs.holds.admitted(made)
    job = NewJob("upscale", {"video": "https://cdn.pika.art/v1/x/a.mp4"}, 1, 2, 3)
    await a.jobs.create(replace(job, interaction_token=made.token))
    await a.jobs.create(replace(job, guild_id=None, interaction_token=dm.token))
    assert await a.jobs.holds.admitted(made)
    assert await a.jobs.holds.admitted(dm)
    assert not await a.jobs.holds.admitted(hold(33, clock))


async def test_a_hold_left_behind_is_told_apart_by_an_index_not_by_reading_every_job(
    two: tuple[Storage, Storage, Clock], database: DatabaseUnderTest
) -> None:
    # After a crash in a burst, every hold left is looked up at once: on PostgreSQL, a
    # condition the member's index cannot answer (`guild_id IS NOT DISTINCT FROM`) read the
    # whole table of jobs for each of them, the pool's connections held meanwhile.
    a, _, clock = two
    for made in (hold(41, clock), hold(42, clock, guild_id=None)):
        sql, params = admitted_sql(made)
        if database.dialect == "sqlite":
            rows = await a.database.fetch(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(r[-1]) for r in rows)
            assert "SCAN jobs" not in plan, plan
        else:
            async with a.database.transaction() as tx:
                # However few rows the test has: the plan the server makes for many.
                await tx.execute("SET LOCAL enable_seqscan = off")
                plan = " ".join(str(r[0]) for r in await tx.fetch(f"EXPLAIN {sql}", params))
            # The range read is the member's (their server, then them), not every job's.
            assert "Index Cond: ((guild_id" in plan, plan


async def test_a_hold_is_taken_back_by_its_own_process_unless_another_took_it_first(
    two: tuple[Storage, Storage, Clock],
) -> None:
    # Answered in public: the process that made the hold removes it, and learns whether it was
    # still its own (another process that took it told the member the bot restarted).
    a, b, clock = two
    await a.jobs.holds.record(hold(21, clock))
    await a.jobs.holds.record(hold(22, clock))
    assert not await b.jobs.holds.take_back(21)  # not b's to take back
    assert await a.jobs.holds.take_back(21)
    assert not await a.jobs.holds.take_back(21)  # once
    clock.now += LEASE * 2  # a held up past its lease: b takes the other one
    assert [h.interaction_id for h in await b.jobs.holds.orphaned()] == [22]
    assert not await a.jobs.holds.take_back(22)
