"""The job journal: one INFO line a step with job id, kind and server; listeners hear every step,
and a broken listener never stops a job."""

from __future__ import annotations

import logging

import pytest

from bot.jobs.journal import JobEvent, Journal
from bot.storage import Status
from tests.helpers.requests import fox
from tests.unit.conftest import ORIGIN, Stack


async def test_a_jobs_life_is_one_line_a_step(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.jobs.journal")
    journal = Journal()
    heard: list[JobEvent] = []
    journal.subscribe(heard.append)
    job = await stack.service.create("generate", fox(), ORIGIN)
    journal.admitted(job)
    job = await stack.store.update(job.id, status=Status.RUNNING, pika_job_id="p-1")
    journal.sent(job)
    journal.status(job, "pending")
    stack.clock.now += 12
    job = await stack.store.update(
        job.id,
        status=Status.FAILED,
        failure="pika_failed",
        last_error="refused prompt",
        finished_at=stack.clock.now,
    )
    journal.ended(job)
    journal.refused("extend", 1, 3, "refusal.paid_features()")
    journal.taken(job, -1.0)
    lines = [r.getMessage() for r in caplog.records]
    where = f"Job {job.id} (generate, server 1)"
    assert lines == [
        f"{where}: admitted, asked by member 3",
        f"{where}: sent to Pika as p-1",
        f"{where}: Pika says pending",
        f"{where}: failed (pika_failed: refused prompt)",
        "A request (extend, server 1): refused for member 3: refusal.paid_features()",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert [getattr(r, "job_id", None) for r in caplog.records][:4] == [job.id] * 4
    assert [getattr(r, "event", None) for r in caplog.records] == [
        "admitted",
        "sent",
        "status",
        "ended",
        "refused",
    ]
    assert [e.step for e in heard] == ["admitted", "sent", "status", "ended", "refused", "taken"]
    assert heard[3].seconds == 12 and heard[3].outcome == "failed"
    assert heard[5].seconds == 0  # a job taken early is not "late"


async def test_a_broken_listener_is_logged_and_the_others_still_hear(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    journal = Journal()
    heard: list[str] = []

    def broken(event: JobEvent) -> None:
        raise RuntimeError("bug")

    journal.subscribe(broken)
    stop = journal.subscribe(lambda e: heard.append(e.step))
    job = await stack.service.create("generate", fox(), ORIGIN)
    journal.admitted(job)
    assert heard == ["admitted"]
    assert "Journal listener failed" in caplog.text
    stop()
    journal.admitted(job)
    assert heard == ["admitted"]
