"""How long a kind takes, and when a job should be done: what polls are planned from, and what
the member is told (their place in line and the expected end)."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from bot.jobs.estimates import (
    LINE_REFRESH_SECONDS,
    PRIOR_SECONDS,
    SOON_SECONDS,
    Durations,
    Estimates,
    next_poll,
    observed,
    remaining,
)
from bot.jobs.journal import JOURNAL
from bot.storage import Job, NewJob, Status, open_storage
from tests.helpers.clock import Clock
from tests.helpers.databases import DatabaseUnderTest

NOW = 1_000_000.0


def job(progress: int = 0, accepted_at: float | None = NOW - 10) -> Job:
    return Job(
        id="j",
        kind="generate",
        request={},
        channel_id=2,
        user_id=3,
        status=Status.RUNNING,
        next_poll_at=NOW,
        created_at=NOW - 11,
        updated_at=NOW,
        progress=progress,
        accepted_at=accepted_at,
    )


def test_the_expected_time_of_a_kind_is_the_median_of_its_latest() -> None:
    durations = Durations()
    assert durations.expected_seconds("generate") is None
    durations.seed([("generate", 10.0), ("generate", 30.0), ("extend", 99.0)])
    durations.record("generate", 12.0)
    assert durations.expected_seconds("generate") == 12.0
    for _ in range(30):  # only the latest twenty count
        durations.record("generate", 50.0)
    assert durations.expected_seconds("generate") == 50.0


def test_the_eta_leans_on_history_at_first_and_on_the_progress_past_half_way() -> None:
    durations = Durations()
    assert durations.eta(job(), NOW) is None  # nothing known
    assert durations.eta(job(accepted_at=None), NOW) is None
    durations.record("generate", 30.0)
    assert durations.eta(job(), NOW) == NOW + 20  # accepted 10 s ago, 30 s usually
    # 50% after 10 s: the progress says 20 s in all, and alone decides from half way.
    assert durations.eta(job(progress=50), NOW) == NOW + 10
    # 10% after 10 s says 100 s; at 10% it weighs a fifth, the history the rest.
    assert durations.eta(job(progress=10), NOW) == NOW - 10 + 0.2 * 100 + 0.8 * 30
    # Past the usual time, only the progress knows.
    durations.record("generate", 5.0)
    durations.record("generate", 5.0)
    assert durations.eta(job(progress=80), NOW) == NOW - 10 + 12.5


def test_a_finish_is_placed_between_the_last_poll_and_the_one_that_saw_it() -> None:
    running = job(accepted_at=NOW - 10)
    assert observed(running, last_eta=NOW - 1, last_poll=NOW - 3, seen_at=NOW) == 9.0
    assert observed(running, last_eta=None, last_poll=NOW - 4, seen_at=NOW) == 8.0
    assert observed(running, last_eta=NOW + 5, last_poll=NOW - 4, seen_at=NOW) == 10.0
    # Never polled before (nor pushed): somewhere since it began, the middle as the best guess.
    adopted = dataclasses.replace(running, accepted_at=None)  # counted from its creation
    assert observed(adopted, last_eta=None, last_poll=None, seen_at=NOW) == 5.5


def test_the_next_poll_is_just_after_the_eta_within_an_interval_and_the_ceiling() -> None:
    assert next_poll(NOW + 3, NOW, interval=1, ceiling=6, late=0) == pytest.approx(3.05)
    assert next_poll(NOW + 30, NOW, interval=10, ceiling=60, late=0) == pytest.approx(30.25)
    assert next_poll(NOW + 0.2, NOW, interval=1, ceiling=6, late=0) == 1.0
    assert next_poll(NOW + 100, NOW, interval=1, ceiling=6, late=0) == 6.0
    assert next_poll(None, NOW, interval=1, ceiling=6, late=0) == 1.5
    assert next_poll(NOW + 0.1, NOW, interval=1, ceiling=6, late=3) == 1.5**3


# --- what the member is told ---------------------------------------------------------------


def member_job(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": "abcdefghij",
        "kind": "generate",
        "request": {},
        "channel_id": 2,
        "user_id": 3,
        "status": Status.RUNNING,
        "pika_status": "pending",
        "next_poll_at": 0.0,
        "created_at": 1000.0,
        "updated_at": 0.0,
    }
    return Job(**(values | changes))  # type: ignore[arg-type]


def test_before_any_progress_the_expectation_less_the_time_spent() -> None:
    assert remaining(member_job(progress=0), expected=120, now=1030) == 90


def test_progress_refines_the_estimate_more_as_it_grows() -> None:
    # 60 s spent; the expectation says 60 s more; the pace at 75% says 20 s more.
    left = remaining(member_job(progress=75), expected=120, now=1060)
    assert left == pytest.approx(0.25 * 60 + 0.75 * 20)


def test_a_late_job_never_shows_a_time_that_has_passed() -> None:
    assert remaining(member_job(progress=0), expected=60, now=1200) == SOON_SECONDS
    # Stuck at 90% long past the expectation: the pace says 22 s, the expectation -140 s.
    assert remaining(member_job(progress=90), expected=60, now=1200) == SOON_SECONDS


def test_a_job_waiting_in_line_is_not_refined_by_progress() -> None:
    queued = member_job(pika_status="queued", progress=50)
    assert remaining(queued, expected=120, now=1030) == 90


async def test_a_standing_is_the_place_in_line_and_the_median_of_recent_jobs(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    durations = Durations()
    estimates = Estimates(durations, storage.reports, clock)
    assert estimates.expected_seconds("generate") == PRIOR_SECONDS
    for seconds in (30, 50, 400):
        durations.record("generate", seconds)
    assert estimates.expected_seconds("generate") == 50
    assert estimates.expected_seconds("extend") == PRIOR_SECONDS
    first = await storage.jobs.create(NewJob("generate", {}, 1, 2, 3))
    clock.now += 1
    second = await storage.jobs.create(NewJob("generate", {}, 1, 2, 3))
    await estimates.load()  # the line as the store has it at start-up
    try:
        standing = await estimates.standing(second)
        assert standing.place == 2 and standing.eta == clock.now + 50
        assert (await estimates.standing(first)).place == 1
    finally:
        estimates.close()
    await storage.close()


async def test_the_line_follows_the_journal_with_no_database_read(
    database: DatabaseUnderTest,
) -> None:
    clock = Clock()
    storage = await open_storage(database.target, clock)
    estimates = Estimates(Durations(), storage.reports, clock)
    await estimates.load()
    jobs = []
    for _ in range(3):
        jobs.append(await storage.jobs.create(NewJob("generate", {}, 1, 2, 3)))
        JOURNAL.admitted(jobs[-1])
        clock.now += 1
    await storage.close()  # every answer below comes from memory
    try:
        assert [(await estimates.standing(j)).place for j in jobs] == [1, 2, 3]
        # Sent: Pika took them.
        first, second, third = (dataclasses.replace(j, status=Status.RUNNING) for j in jobs)
        JOURNAL.status(first, "queued")  # still waiting, at Pika now
        assert (await estimates.standing(third)).place == 3
        JOURNAL.status(first, "pending")  # Pika started it: the line moves
        assert (await estimates.standing(third)).place == 2
        started = dataclasses.replace(first, pika_status="pending")
        assert (await estimates.standing(started)).place is None
        ended = dataclasses.replace(second, status=Status.FAILED, active=False)
        JOURNAL.ended(ended)
        assert (await estimates.standing(third)).place == 1
        # A copy of the second read before it ended does not bring it back into line.
        assert (await estimates.standing(second)).place == 1
        assert (await estimates.standing(third)).place == 1
    finally:
        estimates.close()


async def test_the_line_is_read_again_for_the_jobs_of_other_processes(
    database: DatabaseUnderTest,
) -> None:
    """Another process's job is never in this journal: the line learns from the store, in the
    background, that Pika started it."""
    clock = Clock()
    storage = await open_storage(database.target, clock)
    estimates = Estimates(Durations(), storage.reports, clock)
    elsewhere = await storage.jobs.create(NewJob("generate", {}, 1, 2, 3))
    clock.now += 1
    await estimates.load()
    mine = await storage.jobs.create(NewJob("generate", {}, 1, 2, 4))
    JOURNAL.admitted(mine)
    try:
        assert (await estimates.standing(mine)).place == 2
        await storage.jobs.update(elsewhere.id, status=Status.RUNNING, pika_status="pending")
        clock.now += LINE_REFRESH_SECONDS
        assert (await estimates.standing(mine)).place == 2  # from memory, at once
        for _ in range(200):  # the read in the background
            await asyncio.sleep(0.01)
            if (await estimates.standing(mine)).place == 1:
                break
        assert (await estimates.standing(mine)).place == 1
    finally:
        estimates.close()
        await storage.close()


async def test_a_job_behind_in_line_never_shows_an_earlier_time_than_one_ahead(
    database: DatabaseUnderTest,
) -> None:
    # A generate (10 s by its history) behind an upscale (none yet: the prior, 90 s) showed
    # "place 2" ready 80 s before "place 1".
    clock = Clock()
    storage = await open_storage(database.target, clock)
    durations = Durations()
    durations.record("generate", 10)
    estimates = Estimates(durations, storage.reports, clock)
    await estimates.load()
    try:
        upscale = await storage.jobs.create(NewJob("upscale", {}, 1, 2, 3))
        JOURNAL.admitted(upscale)
        clock.now += 1
        behind = await storage.jobs.create(NewJob("generate", {}, 1, 2, 3))
        JOURNAL.admitted(behind)
        ahead, mine = await estimates.standing(upscale), await estimates.standing(behind)
        assert (ahead.place, mine.place) == (1, 2)
        assert ahead.eta == clock.now + PRIOR_SECONDS - 1
        assert mine.eta >= ahead.eta
        # Once Pika starts the upscale, the generate goes by its own kind's time again.
        JOURNAL.status(dataclasses.replace(upscale, status=Status.RUNNING), "pending")
        alone = await estimates.standing(behind)
        assert alone.place == 1 and alone.eta == clock.now + SOON_SECONDS
    finally:
        estimates.close()
    await storage.close()
