"""When a job should be ready: from recent jobs of its kind, refined by Pika's progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs.estimate import PRIOR_SECONDS, SOON_SECONDS, Estimates, remaining
from bot.storage import Job, NewJob, Status, open_storage
from tests.helpers.clock import Clock


def job(**changes: object) -> Job:
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
    assert remaining(job(progress=0), expected=120, now=1030) == 90


def test_progress_refines_the_estimate_more_as_it_grows() -> None:
    # 60 s spent; the expectation says 60 s more; the pace at 75% says 20 s more.
    left = remaining(job(progress=75), expected=120, now=1060)
    assert left == pytest.approx(0.25 * 60 + 0.75 * 20)


def test_a_late_job_never_shows_a_time_that_has_passed() -> None:
    assert remaining(job(progress=0), expected=60, now=1200) == SOON_SECONDS
    # Stuck at 90% long past the expectation: the pace says 22 s, the expectation -140 s.
    assert remaining(job(progress=90), expected=60, now=1200) == SOON_SECONDS


def test_a_job_waiting_in_line_is_not_refined_by_progress() -> None:
    queued = job(pika_status="queued", progress=50)
    assert remaining(queued, expected=120, now=1030) == 90


async def test_the_expectation_is_the_median_of_recent_delivered_jobs(tmp_path: Path) -> None:
    clock = Clock()
    storage = await open_storage(tmp_path / "db.sqlite3", clock)
    store = storage.jobs
    estimates = Estimates(storage.reports, clock)
    assert await estimates.expected_seconds("generate") == PRIOR_SECONDS
    for seconds in (30, 50, 400):
        made = await store.create(NewJob("generate", {}, 1, 2, 3))
        await store.update(made.id, status=Status.DELIVERED, finished_at=clock.now + seconds)
    assert await estimates.expected_seconds("generate") == PRIOR_SECONDS  # cached a while
    clock.now += 60
    assert await estimates.expected_seconds("generate") == 50
    assert await estimates.expected_seconds("extend") == PRIOR_SECONDS
    fresh = await store.create(NewJob("generate", {}, 1, 2, 3))
    standing = await estimates.standing(fresh)
    assert standing.place == 1 and standing.eta == clock.now + 50
    await storage.close()
