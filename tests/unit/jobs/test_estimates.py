"""How long a kind takes, and when a job should be done: what polls are planned from."""

from __future__ import annotations

import dataclasses

import pytest

from bot.jobs.estimates import Durations, next_poll, observed
from bot.storage import Job, Status

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
    assert next_poll(NOW + 3, NOW, interval=1, ceiling=6, late=0) == pytest.approx(3.1)
    assert next_poll(NOW + 0.2, NOW, interval=1, ceiling=6, late=0) == 1.0
    assert next_poll(NOW + 100, NOW, interval=1, ceiling=6, late=0) == 6.0
    assert next_poll(None, NOW, interval=1, ceiling=6, late=0) == 1.5
    assert next_poll(NOW + 0.1, NOW, interval=1, ceiling=6, late=3) == 1.5**3
