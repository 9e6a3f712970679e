"""The status figures: waiting and running, a server's day by kind in its time zone, typical
durations, the latest changes; on real SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.ops.report import count_not_ended, status_report
from bot.pika.client import PikaCall
from bot.pika.health import PikaHealth, PikaState
from bot.storage import Status
from tests.helpers.requests import fox
from tests.unit.conftest import ORIGIN, Stack


async def job_in(stack: Stack, status: Status, **changes: object) -> None:
    job = await stack.service.create("generate", fox(), ORIGIN)
    await stack.store.update(job.id, status=status, **changes)


async def test_the_report_counts_today_by_kind_and_says_whats_waiting(stack: Stack) -> None:
    stack.clock.now = datetime(2026, 5, 4, 12, tzinfo=UTC).timestamp()
    await job_in(stack, Status.DELIVERED, finished_at=stack.clock.now + 40)
    await job_in(stack, Status.DELIVERED, finished_at=stack.clock.now + 60)
    await job_in(stack, Status.FAILED, failure="pika_failed")
    await job_in(stack, Status.TIMED_OUT, failure="timed_out")
    await job_in(stack, Status.SUBMITTING)
    await job_in(stack, Status.RUNNING, pika_status="queued")
    await job_in(stack, Status.RUNNING, pika_status="pending")
    await job_in(stack, Status.DELIVERING)
    stack.clock.now -= 86_400  # yesterday: not today, but its duration is typical
    await job_in(stack, Status.DELIVERED, finished_at=stack.clock.now + 50)
    stack.clock.now += 86_400
    await stack.settings.change(1, 7, cooldown_seconds=5)
    health = PikaHealth(clock=stack.clock)
    health.observe(PikaCall("/web/generate", 503, None, 0.1))

    report = await status_report(1, stack.storage.reports, stack.settings, health, stack.clock)
    assert (report.waiting, report.running) == (2, 2)
    assert (report.waiting_everywhere, report.running_everywhere) == (2, 2)
    assert report.day_started == datetime(2026, 5, 4, tzinfo=UTC)
    [day] = report.kinds
    assert (day.asked, day.delivered, day.failed, day.timed_out) == (8, 2, 1, 1)
    assert day.failures == {"pika_failed": 1, "timed_out": 1}
    assert day.typical_seconds == 50  # the median of 40, 60 and yesterday's 50
    assert report.pika_state is PikaState.FAILING
    assert report.pika_problem is not None and report.pika_problem.text == "HTTP 503"
    assert [(c.user_id, c.setting, c.new_value) for c in report.changes] == [
        (7, "cooldown_seconds", "5")
    ]
    other = await status_report(2, stack.storage.reports, stack.settings, health, stack.clock)
    assert (other.waiting, other.running, other.waiting_everywhere) == (0, 0, 2)
    assert [k.asked for k in other.kinds] == [0]  # a typical duration, no job there today


async def test_count_not_ended_reads_waiting_from_pikas_status(stack: Stack) -> None:
    await job_in(stack, Status.SENDING)
    await job_in(stack, Status.RUNNING, pika_status="delayed")
    await job_in(stack, Status.RUNNING, pika_status=None)
    await job_in(stack, Status.RUNNING, pika_status="pending")
    await job_in(stack, Status.DELIVERED)
    assert count_not_ended(await stack.storage.reports.not_ended(1)) == (3, 1)
