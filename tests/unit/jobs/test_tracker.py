"""The tracker: every job polled by its progress to an end, delivered once, its requester told."""

from __future__ import annotations

import asyncio
import math
import random
from pathlib import Path

import pytest

from bot.discord.texts import failure_reason
from bot.jobs import tracker as tracker_module
from bot.jobs.outbox import MAX_DELIVERY_ATTEMPTS, DeliveryFailed, Undeliverable
from bot.jobs.polls import (
    NOT_FOUND_POLLS,
    NOT_FOUND_SECONDS,
    PROGRESS_EDIT_SECONDS,
    PROGRESS_REFRESH_SECONDS,
)
from bot.jobs.service import retryable
from bot.jobs.tracker import POLL_GRAIN, on_grain
from bot.pika.local.app import LocalPika
from bot.pika.models import JobResponse, JobState, JobStatus, UpscaleRequest
from bot.storage import Job, Status
from bot.submit import Answered, Member
from tests.helpers.requests import fox
from tests.helpers.round_trips import RoundTrips, counting_round_trips
from tests.unit.conftest import Stack, make_stack, past_the_lease, rendered, sent

MEMBER = Member(guild_id=1, user_id=3, channel_id=2)


async def answered(job: Job) -> Answered:
    """The member's answer, posted."""
    return Answered(555, "token")


def state(status: JobStatus, progress: int = 0, raw: str | None = None) -> JobState:
    return JobState(job_id="x", status=status, raw_status=raw or status.value, progress=progress)


async def current(stack: Stack, job_id: str) -> Job:
    found = await stack.store.get(job_id)
    assert found is not None
    return found


def due_in(stack: Stack, job: Job) -> float | None:
    """How long until the tracker polls the job again, by its clock."""
    when = stack.tracker._polls.when(job.id)
    return None if when is None else round(when - stack.clock.now, 2)


async def test_every_transition_from_sent_to_delivered(stack: Stack, local: LocalPika) -> None:
    tracker, notifier, clock = stack.tracker, stack.notifier, stack.clock
    job = await sent(stack)
    assert job.status is Status.RUNNING and job.accepted_at == clock.now
    await tracker.apply(job, state(JobStatus.PENDING, 40))
    await tracker.flush()
    polled = await current(stack, job.id)
    assert (polled.progress, polled.pika_status) == (40, "pending")
    assert notifier.shown == [40]
    await tracker.apply(polled, state(JobStatus.RUNNING, 41, "rendering"))
    assert notifier.shown == [40]  # edits are throttled
    clock.now += 10
    await rendered(local, job)
    await tracker.poll(await current(stack, job.id))
    await stack.settle()
    done = await current(stack, job.id)
    assert done.status is Status.DELIVERED and not done.active
    assert done.result_message_id == 4242 and done.result_url and done.result_url.endswith(".mp4")
    assert notifier.delivered == [job.id]
    assert notifier.adorned == [job.id]  # after the result was recorded


async def test_without_an_estimate_polls_grow_apart_up_to_a_ceiling(stack: Stack) -> None:
    job = await sent(stack)
    gaps: list[float] = []
    for _ in range(12):
        await stack.tracker.apply(
            stack.tracker._jobs[job.id], state(JobStatus.RUNNING, 0, "mystery")
        )
        assert (await current(stack, job.id)).status is Status.RUNNING  # unknown: still running
        gaps.append(due_in(stack, job) or 0.0)
    assert gaps[0] == 1.5
    assert gaps == sorted(gaps)
    assert gaps[-1] == 6.0  # the ceiling: six poll intervals


async def test_the_next_poll_is_planned_near_the_expected_finish(stack: Stack) -> None:
    tracker, clock = stack.tracker, stack.clock
    tracker.durations.record("generate", 4.0)  # jobs of this kind take four seconds
    job = await sent(stack)
    assert due_in(stack, job) == 4.05  # the expected finish, plus a little
    clock.now += 2
    # Half done in two seconds: the progress says it ends in two more.
    await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, 50))
    assert due_in(stack, job) == 2.05
    clock.now += 2.05
    # Slower than expected: 60% after 4.05 s. Polled again when the progress says, no sooner.
    await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, 60))
    assert due_in(stack, job) == 2.75
    tracker.durations.record("generate", 100.0)
    tracker.durations.record("generate", 100.0)
    clock.now += 2.75
    # Past half way, the progress alone says when: 61% after 6.8 s ends at 11.15 s.
    await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, 61))
    assert due_in(stack, job) == 4.4


async def test_a_job_stuck_past_its_expected_finish_is_polled_less_and_less(stack: Stack) -> None:
    tracker, clock = stack.tracker, stack.clock
    tracker.durations.record("generate", 4.0)
    job = await sent(stack)
    gaps = []
    for _ in range(8):
        clock.now += due_in(stack, job) or 0.0
        await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, 99))  # stuck
        gaps.append(due_in(stack, job))
    assert gaps == [1.5, 2.25, 3.38, 5.06, 6.0, 6.0, 6.0, 6.0]


async def test_polls_are_never_sooner_than_an_interval_nor_later_than_the_ceiling(
    stack: Stack,
) -> None:
    tracker = stack.tracker
    tracker.durations.record("generate", 0.2)  # far shorter than the poll interval
    job = await sent(stack)
    assert due_in(stack, job) == 1.0
    tracker.durations.record("generate", 600.0)
    tracker.durations.record("generate", 600.0)
    job = await sent(stack)
    assert due_in(stack, job) == 6.0


async def test_a_job_past_its_timeout_is_timed_out_and_the_user_told_once(stack: Stack) -> None:
    job = await sent(stack)
    stack.clock.now += 11 * 60
    await stack.tracker.apply(job, state(JobStatus.PENDING, 5))
    await stack.settle()
    final = await current(stack, job.id)
    assert final.status is Status.TIMED_OUT and not final.active
    assert stack.notifier.failures == ["timed_out: timed_out: 10"]
    assert failure_reason(final, "en") == (
        "Pika took longer than 10 minutes, so the bot stopped waiting. Press **Retry** to try "
        "again."
    )
    assert stack.tracker.tick() == 0  # nothing left to do for it


async def test_no_poll_is_planned_after_the_time_out(stack: Stack) -> None:
    job = await sent(stack)
    stack.clock.now += 10 * 60 - 0.5  # half a second before the time-out
    await stack.tracker.apply(job, state(JobStatus.QUEUED), stack.clock.now)
    assert due_in(stack, job) == 0.5  # not after an interval
    stack.tracker.follow(stack.tracker._jobs[job.id])  # followed again (a claim, a restart)
    assert due_in(stack, job) == 0.5


async def test_pika_failure_is_told_once_with_its_reason(stack: Stack, local: LocalPika) -> None:
    local.behaviour.fail_jobs = 1
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    await stack.tracker.poll(job)  # a stale second poll changes nothing
    await stack.settle()
    assert stack.notifier.failures == [
        "failed: pika_failed: The generation failed (simulated failure)"
    ]


async def test_telling_a_failure_while_discord_fails_is_recorded_retried_then_given_up(
    stack: Stack, local: LocalPika
) -> None:
    """Each telling is recorded before it is made (a later one looks for the message an
    earlier one may have posted), and a Discord that keeps failing is not tried for ever."""
    local.behaviour.fail_jobs = 1
    stack.notifier.tell_fails_with = DeliveryFailed("Discord error 503")
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    for _ in range(10):
        await stack.settle()
        stack.clock.now += 120  # the next retry's time comes
    assert stack.notifier.told_attempts == [1, 2, 3, 4, 5, 6]
    final = await current(stack, job.id)
    assert final.status is Status.FAILED and not final.active
    assert stack.tracker.tick() == 0


async def test_pikas_error_status_is_a_failure_and_unknown_ones_keep_running(
    stack: Stack,
) -> None:
    job = await sent(stack)
    for raw in ("rendering", "upscaling-ish", "delayed"):
        await stack.tracker.apply(stack.tracker._jobs[job.id], answer_state(raw))
        assert (await current(stack, job.id)).status is Status.RUNNING
    await stack.tracker.apply(stack.tracker._jobs[job.id], answer_state("error"))
    await stack.settle()
    assert (await current(stack, job.id)).status is Status.FAILED
    assert stack.notifier.failures == ["failed: pika_failed: Pika reported an error"]


def answer_state(raw: str) -> JobState:
    """What the models read from a get-job answer whose video has status `raw`."""
    video: dict[str, object] = {"status": raw, "progress": 30}
    if raw == "error":
        video["error"] = "Pika reported an error"
    return JobResponse.model_validate({"job": {"id": "x"}, "videos": [video]}).state()


async def test_pika_down_backs_off_and_then_recovers(stack: Stack, local: LocalPika) -> None:
    job = await sent(stack)
    local.behaviour.error_rate = 1.0
    await stack.tracker.poll(job)
    after = stack.tracker._jobs[job.id]
    assert after.status is Status.RUNNING and after.poll_attempts == 1
    assert after.last_error is not None and "trouble" in after.last_error
    local.behaviour.error_rate = 0.0
    await stack.tracker.poll(await rendered(local, after))
    await stack.settle()
    assert stack.notifier.delivered == [job.id]


def polls_fail_unforeseen(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every poll fails with an error no PikaError names; returns the ids polled, in order."""
    asked: list[str] = []

    async def broken(job_id: str) -> JobResponse:
        asked.append(job_id)
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(stack.pika, "get_job", broken)
    return asked


async def test_a_poll_that_fails_unexpectedly_still_ends_at_the_time_out(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Something no one foresaw (a bug of ours, an answer the client could not turn into a
    # PikaError): before the time-out the job is asked about again at the ceiling; after it,
    # the job times out and its requester is told, instead of being polled in a tight loop.
    job = await sent(stack)
    asked = polls_fail_unforeseen(stack, monkeypatch)
    stack.clock.now += 5
    assert stack.tracker.tick() == 1
    await stack.tracker.idle()
    assert due_in(stack, job) == stack.tracker.ceiling()
    stack.clock.now += 11 * 60
    async with asyncio.timeout(5):
        await stack.settle()
    assert len(asked) == 2
    final = await current(stack, job.id)
    assert final.status is Status.TIMED_OUT and not final.active
    assert stack.notifier.failures == ["timed_out: timed_out: 10"]


async def test_a_job_past_its_time_out_that_cannot_be_ended_is_not_polled_in_a_loop(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = await sent(stack)
    asked = polls_fail_unforeseen(stack, monkeypatch)

    async def cannot_end(*args: object) -> None:
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(stack.tracker, "end", cannot_end)
    stack.clock.now += 11 * 60
    async with asyncio.timeout(5):
        await stack.settle()
    assert len(asked) == 1
    assert due_in(stack, job) == stack.tracker.interval  # asked again an interval later


@pytest.mark.parametrize("seed", [2**63, 10**30])
async def test_a_finished_job_with_a_seed_no_request_could_carry_is_still_delivered(
    stack: Stack, seed: int
) -> None:
    # The database holds 64-bit integers: a seed past them failed the write that moves the
    # job on, at every poll, until the job timed out with its video made.
    job = await sent(stack)
    finished = {"status": "finished", "resultUrl": "https://cdn.pika.art/v1/a/b.mp4", "seed": seed}
    answer = JobResponse.model_validate({"job": {"id": "x"}, "videos": [finished]})
    await stack.tracker.apply(job, answer.state())
    await stack.settle()
    assert stack.notifier.delivered == [job.id]
    assert (await current(stack, job.id)).seed is None


async def test_a_rate_limit_asking_for_hours_delays_a_poll_by_a_minute_at_most(
    stack: Stack, local: LocalPika
) -> None:
    # Honoured whole, one Retry-After of an hour put the job's next poll at its time-out: a
    # video made meanwhile waited for it, or the job timed out.
    job = await sent(stack)
    local.behaviour.rate_limit_requests = 3  # every attempt of the poll
    local.behaviour.retry_after = 3600
    await stack.tracker.poll(job)
    assert due_in(stack, job) == 60.0


async def test_a_job_whose_polls_were_refused_for_the_key_says_so_when_it_times_out(
    stack: Stack, local: LocalPika
) -> None:
    # The key revoked while the job ran: its member was told Pika took too long, and to press
    # Retry, which cannot help until the owner sees to the key.
    job = await sent(stack)
    local.faults.api_key = "revoked"
    await stack.tracker.poll(job)
    assert due_in(stack, job) is not None  # still followed: the owner may mend the key
    stack.clock.now += 11 * 60
    await stack.tracker.poll(stack.tracker._jobs[job.id])
    await stack.settle()
    final = await current(stack, job.id)
    assert final.status is Status.TIMED_OUT and final.failure == "pika_auth"
    assert failure_reason(final, "en") == (
        "Pika refused the bot's key, so nothing can be made until the server owner checks it."
    )


async def test_a_job_whose_key_was_mended_times_out_as_any_other(
    stack: Stack, local: LocalPika
) -> None:
    job = await sent(stack)
    local.faults.api_key = "revoked"
    await stack.tracker.poll(job)
    local.faults.api_key = "k"
    stack.clock.now += 11 * 60
    await stack.tracker.apply(stack.tracker._jobs[job.id], state(JobStatus.PENDING, 5))
    await stack.settle()
    assert (await current(stack, job.id)).failure == "timed_out"


async def test_a_poll_failing_late_in_a_job_is_retried_soon_then_less_and_less(
    stack: Stack, local: LocalPika
) -> None:
    # The backoff counted every poll of the job, answered or not: one failed poll after six
    # answered ones waited the whole ceiling, and a video made meanwhile with it.
    job = await sent(stack)
    for progress in range(10, 70, 10):  # six polls answered
        await stack.tracker.apply(stack.tracker._jobs[job.id], state(JobStatus.RUNNING, progress))
    waits = []
    for _ in range(3):
        local.behaviour.server_errors = 3  # each attempt of one poll answered 500
        await stack.tracker.poll(stack.tracker._jobs[job.id])
        waits.append(due_in(stack, job))
    assert waits == [1.0, 1.5, 2.25]


async def test_undeliverable_is_final_and_the_requester_dmd_once(
    stack: Stack, local: LocalPika
) -> None:
    stack.notifier.fail_with = Undeliverable("the channel no longer exists")
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    await stack.settle()
    final = await current(stack, job.id)
    assert final.status is Status.UNDELIVERABLE and not final.active
    assert stack.notifier.undeliverable == [job.id]


async def test_discord_trouble_retries_delivery_a_bounded_number_of_times(
    stack: Stack, local: LocalPika
) -> None:
    stack.notifier.fail_with = DeliveryFailed("Discord error 503")
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    for _ in range(10):
        await stack.settle()
        if (await current(stack, job.id)).status is not Status.DELIVERING:
            break
        stack.clock.now += 120  # the next retry's time comes
    final = await current(stack, job.id)
    assert final.status is Status.UNDELIVERABLE
    # Six attempts to post, then one to tell the requester (recorded before it is made too).
    assert final.delivery_attempts == MAX_DELIVERY_ATTEMPTS + 1 == 7
    assert stack.notifier.undeliverable == [job.id]
    assert stack.notifier.looked == [job.id] * 5  # before every retry, for a post that got through


async def test_an_unexpected_error_while_posting_is_a_counted_attempt_not_an_endless_loop(
    stack: Stack, local: LocalPika
) -> None:
    """Whatever a delivery attempt raises (discord.py's KeyError on a 429 without
    `retry_after`, a bug), it is an attempt: counted, the next one looks for its post, and
    they end. Retried uncounted, it went on every few seconds for ever."""
    stack.notifier.fail_with = KeyError("retry_after")
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    for _ in range(10):
        await stack.settle()
        if (await current(stack, job.id)).status is not Status.DELIVERING:
            break
        stack.clock.now += 120
    final = await current(stack, job.id)
    assert final.status is Status.UNDELIVERABLE and final.failure == "discord"
    assert stack.notifier.looked == [job.id] * 5
    assert stack.notifier.undeliverable == [job.id]


async def test_a_retry_finds_a_post_that_got_through_and_does_not_post_again(
    stack: Stack, local: LocalPika
) -> None:
    notifier = stack.notifier
    notifier.fail_with = DeliveryFailed("Discord error 504")  # the post may have got through
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    await stack.settle()
    assert notifier.looked == []  # a first attempt has nothing to look for
    notifier.fail_with, notifier.posted_before = None, 77
    assert (await current(stack, job.id)).status is Status.DELIVERING
    stack.clock.now += 120
    await stack.settle()
    final = await current(stack, job.id)
    assert final.status is Status.DELIVERED
    assert final.result_message_id == 77 and not final.active
    assert notifier.delivered == [] and notifier.looked == [job.id]
    assert notifier.adorned == [job.id]


async def test_a_delivery_read_back_after_a_crash_looks_for_its_post_first(
    stack: Stack,
) -> None:
    job = await sent(stack)
    # The crash: the first attempt was recorded, and may or may not have been made.
    await stack.store.update(
        job.id,
        status=Status.DELIVERING,
        delivery_attempts=1,
        result_url="https://x/a.mp4",
        next_poll_at=stack.clock.now,
    )
    stack.notifier.posted_before = 88
    await stack.tracker.load()
    await stack.settle()
    final = await current(stack, job.id)
    assert final.result_message_id == 88 and final.delivery_attempts == 2
    assert stack.notifier.delivered == [] and stack.notifier.looked == [job.id]


async def test_a_result_posted_before_a_crash_is_not_posted_again(stack: Stack) -> None:
    job = await sent(stack)
    await stack.store.update(
        job.id,
        status=Status.DELIVERING,
        result_message_id=99,
        result_url="https://x/a.mp4",
        next_poll_at=stack.clock.now,
    )
    await stack.tracker.load()
    await stack.settle()
    final = await current(stack, job.id)
    assert final.status is Status.DELIVERED and not final.active
    assert stack.notifier.delivered == []
    assert stack.notifier.adorned == [job.id]


async def test_a_result_recorded_just_before_a_crash_gets_its_reactions_after_it(
    stack: Stack,
) -> None:
    job = await sent(stack)
    # The crash: the result was posted and recorded, its reactions never added.
    await stack.store.update(
        job.id,
        status=Status.DELIVERED,
        active=1,
        result_message_id=99,
        result_url="https://x/a.mp4",
        next_poll_at=stack.clock.now,
    )
    await stack.tracker.load()
    await stack.settle()
    assert stack.notifier.adorned == [job.id]
    assert stack.notifier.delivered == []  # not posted again
    final = await current(stack, job.id)
    assert final.status is Status.DELIVERED and not final.active
    assert stack.tracker.tick() == 0


async def test_an_upscale_is_polled_by_its_source_video(stack: Stack, local: LocalPika) -> None:
    parent = await rendered(local, await sent(stack))
    await stack.tracker.poll(parent)
    await stack.settle()
    delivered = await current(stack, parent.id)
    assert delivered.result_url
    upscale = await sent(stack, UpscaleRequest(video=delivered.result_url), "upscale")
    assert upscale.status is Status.RUNNING and upscale.pika_job_id is None
    await stack.tracker.poll(upscale)
    paths = [r["path"] for r in local.requests]
    assert paths[-1] == "/web/jobs/upscaled"


async def polled_not_found(stack: Stack, job: Job, times: int, apart: float) -> Job:
    """Poll a running job (the stack's only one) `times` times, `apart` seconds apart by the
    clock; the job after."""
    for _ in range(times):
        await stack.tracker.poll(await current(stack, job.id))
        await stack.settle()
        stack.clock.now += apart
    return await current(stack, job.id)


async def test_a_job_pika_no_longer_knows_fails_once_404s_in_a_row_last_minutes(
    stack: Stack, local: LocalPika
) -> None:
    local.behaviour.forget_jobs = 1
    job = await sent(stack)
    first = stack.clock.now
    # Many 404s in quick succession (a job Pika has just made, not yet found): still waited for.
    quick = await polled_not_found(stack, job, NOT_FOUND_POLLS * 2, 1.0)
    assert quick.status is Status.RUNNING and stack.notifier.failures == []
    # Minutes after the first: ended as failed, its member told in plain words, with Retry.
    stack.clock.now = first + NOT_FOUND_SECONDS
    ended = await polled_not_found(stack, job, 1, 0)
    assert ended.status is Status.FAILED and not ended.active
    assert ended.failure == "pika_job_gone" and retryable(ended.failure)
    assert failure_reason(ended, "en") == (
        "Pika no longer knows this job, so its video will not come. Press **Retry** to ask again."
    )
    assert stack.notifier.failures == [
        "failed: pika_job_gone: Pika rejected the request: Job not found"
    ]
    polls = len(local.requests)
    stack.clock.now += 600
    await stack.settle()
    assert len(local.requests) == polls  # no more polls


async def test_404s_end_a_job_only_when_many_in_a_row_as_well_as_minutes_long(
    stack: Stack, local: LocalPika
) -> None:
    local.behaviour.forget_jobs = 1
    job = await sent(stack)
    gap = NOT_FOUND_SECONDS / (NOT_FOUND_POLLS - 2)  # the last but one poll is past the minutes
    assert (await polled_not_found(stack, job, NOT_FOUND_POLLS - 1, gap)).status is Status.RUNNING
    local.jobs[job.pika_job_id or ""].outcome = "stall"  # Pika finds it again, once
    await polled_not_found(stack, job, 1, gap)
    local.jobs[job.pika_job_id or ""].outcome = "forget"
    assert (await polled_not_found(stack, job, NOT_FOUND_POLLS - 1, gap)).status is Status.RUNNING
    assert (await polled_not_found(stack, job, 1, gap)).failure == "pika_job_gone"


async def test_an_upscale_pika_has_no_job_for_fails_the_same_way(
    stack: Stack, local: LocalPika
) -> None:
    parent = await rendered(local, await sent(stack))
    await stack.tracker.poll(parent)
    await stack.settle()
    source = (await current(stack, parent.id)).result_url
    assert source
    local.behaviour.forget_jobs = 1  # get-upscale-job of its video answers 404
    upscale = await sent(stack, UpscaleRequest(video=source), "upscale")
    gap = NOT_FOUND_SECONDS / (NOT_FOUND_POLLS - 1) + 1
    ended = await polled_not_found(stack, upscale, NOT_FOUND_POLLS, gap)
    assert [r["path"] for r in local.requests][-1] == "/web/jobs/upscaled"
    assert ended.status is Status.FAILED and ended.failure == "pika_job_gone"


async def test_polls_go_on_while_a_delivery_is_stuck(stack: Stack, local: LocalPika) -> None:
    gate = asyncio.Event()
    stack.notifier.hold = gate  # every delivery waits until the gate opens
    first = await rendered(local, await sent(stack))
    await stack.tracker.poll(first)
    stack.tracker.tick()  # the delivery starts and hangs
    await asyncio.sleep(0.05)
    second = await sent(stack)
    before = stack.tracker.polls
    stack.clock.now += 2
    assert stack.tracker.tick() == 1
    await asyncio.sleep(0.2)
    assert stack.tracker.polls == before + 1  # polled, while the first still posts
    gate.set()
    await stack.settle()
    assert stack.notifier.delivered[0] == first.id
    assert (await current(stack, second.id)).status in (Status.RUNNING, Status.DELIVERED)


async def one_job_counted(stack: Stack, local: LocalPika) -> RoundTrips:
    """The round trips of one job from ask to end, the server's settings and the member's
    defaults already cached (read once a minute, not per job); the job is delivered."""
    await stack.settings.get(1)
    assert stack.submissions.preferences is not None
    await stack.submissions.preferences.get(1, 3)
    with counting_round_trips() as count:
        job, _ = await stack.submissions.ask(MEMBER, "generate", {"prompt": "a fox"}, answered)
        await rendered(local, job)
        await stack.tracker.poll(job)
        await stack.settle()
        await stack.tracker.flush()
    assert (await current(stack, job.id)).status is Status.DELIVERED
    return count


async def test_a_job_costs_a_handful_of_database_round_trips(
    stack: Stack, local: LocalPika
) -> None:
    count = await one_job_counted(stack, local)
    # admission, the answer recorded, Pika's id, the result about to be posted, the result
    # posted, and the batched end: six writes (and no read) for a whole job.
    assert count.total <= 6, "\n".join(count.statements)


async def test_a_job_costs_a_handful_of_statements_on_postgresql_too(
    local: LocalPika, tmp_path: Path, postgres_url: str
) -> None:
    async for stack in make_stack(tmp_path / "db", local.base_url, database_url=postgres_url):
        count = await one_job_counted(stack, local)
        # The six writes of SQLite, admission taking three: its transaction with the server's
        # lock, the insert, the commit.
        assert count.total <= 8, "\n".join(count.statements)


async def test_the_tracker_stops_when_cancelled_just_as_it_is_woken(stack: Stack) -> None:
    """A shutdown that came as a job woke the tracker once left it running forever."""
    for _ in range(3):
        task = asyncio.ensure_future(stack.tracker.run())
        for _ in range(5):  # into its wait for the next due time
            await asyncio.sleep(0)
        stack.tracker.wake()
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        assert done == {task} and task.cancelled()


async def test_a_job_whose_progress_stands_still_is_refreshed_now_and_then(
    stack: Stack,
) -> None:
    job = await sent(stack)
    state = JobState(job_id="x", status=JobStatus.PENDING, raw_status="pending", progress=90)
    await stack.tracker.apply(job, state)
    assert stack.notifier.shown == [90]
    for _ in range(3):  # no news at 90%: the message is left alone a while
        stack.clock.now += 5
        await stack.tracker.apply(stack.tracker._jobs[job.id], state)
    assert stack.notifier.shown == [90]
    stack.clock.now += PROGRESS_REFRESH_SECONDS
    await stack.tracker.apply(stack.tracker._jobs[job.id], state)
    assert stack.notifier.shown == [90, 90]  # then refreshed, so its expected end moves on


async def test_progress_is_not_shown_when_the_result_comes_first_unless_the_job_is_late(
    stack: Stack,
) -> None:
    tracker, clock = stack.tracker, stack.clock
    tracker.durations.record("generate", 4.0)
    job = await sent(stack)
    clock.now += 2
    # Half way, due in two seconds: the result replaces the message before another edit could.
    await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, 50))
    assert stack.notifier.shown == []
    clock.now += 2.05
    # Not done when expected: a late job's progress is news again.
    await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, 90))
    assert stack.notifier.shown == [90]
    # A job that has long to go shows its progress at once.
    other = await sent(stack, fox(prompt_text="a slower one"))
    tracker.durations.record("generate", 40.0)
    tracker.durations.record("generate", 40.0)
    clock.now += 2
    await tracker.apply(tracker._jobs[other.id], state(JobStatus.PENDING, 5))
    assert stack.notifier.shown == [90, 5]


async def test_a_job_forever_about_to_finish_has_its_progress_held_back_once_only(
    stack: Stack,
) -> None:
    """Its progress always says two seconds are left: an edit is held back for the result
    once; the poll at the expected end finds it late, and from then on each news is shown."""
    tracker, clock = stack.tracker, stack.clock
    job = await sent(stack)
    started = clock.now
    held_back: list[float] = []
    last_shown: float | None = None
    for _ in range(12):  # each poll when the tracker planned it
        due = tracker._polls.when(job.id)
        assert due is not None
        clock.now = due
        running = clock.now - started
        progress = math.floor(100 * running / (running + 2))
        news = progress != tracker._jobs[job.id].progress and (
            last_shown is None or clock.now - last_shown >= PROGRESS_EDIT_SECONDS
        )
        before = len(stack.notifier.shown)
        await tracker.apply(tracker._jobs[job.id], state(JobStatus.PENDING, progress))
        if len(stack.notifier.shown) > before:
            last_shown = clock.now
        elif news:
            held_back.append(running)
    # The first poll only, at 1.5 intervals (nothing was known yet).
    assert held_back == [pytest.approx(1.5)]


async def test_a_push_during_a_poll_of_its_job_is_not_lost(stack: Stack, local: LocalPika) -> None:
    """The poll in flight was answered "running" from before the push, and planned the next
    poll a growing interval away: the push was lost until then."""
    job = await sent(stack)
    local.behaviour.latency = 0.3  # the get-job answer takes a while
    stack.clock.now = stack.tracker._polls.when(job.id) or stack.clock.now
    assert stack.tracker.tick() == 1  # the poll is in flight
    await asyncio.sleep(0.05)
    await stack.tracker.pushed(job, None)
    await stack.tracker.idle()
    planned = stack.tracker._polls.when(job.id)
    assert planned is not None
    assert planned <= stack.clock.now + stack.tracker.interval  # asked again within an interval


async def polls_taken(stack: Stack, dues: list[float]) -> list[float]:
    """When the running tracker takes polls of jobs due `dues` seconds after a point of the
    grid (at 1,000,000 s), with the default interval. Time passes only while the tracker sleeps,
    straight to the moment it chose to wake at: what is measured is that choice, not how late
    a loaded machine wakes a process (a clock that followed the event loop's made these tests
    fail on a busy machine, a poll due at 0.05 s taken at 0.1 s)."""
    tracker, clock = stack.tracker, stack.clock
    tracker.settings.poll_interval_seconds = 5.0  # the default: a grid of a quarter second
    clock.now = 1_000_000.0
    jobs = [await sent(stack, fox(prompt_text=f"a fox {n}")) for n in range(len(dues))]
    for job, due in zip(jobs, dues, strict=True):
        tracker._track(tracker._jobs[job.id], clock.now + due)
    taken: dict[str, float] = {}
    every = asyncio.Event()

    async def poll(job: Job) -> None:
        taken[job.id] = clock.now
        if len(taken) == len(jobs):
            every.set()

    async def sleep_until(when: float) -> None:
        await tracker.idle()  # the polls started take their time before any more passes
        clock.now = max(clock.now, when)

    tracker.poll = poll  # type: ignore[method-assign]
    tracker.sleep_until = sleep_until  # type: ignore[method-assign]
    running = asyncio.ensure_future(tracker.run())
    try:
        await asyncio.wait_for(every.wait(), 10)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    return [taken[job.id] - 1_000_000.0 for job in jobs]


async def test_polls_due_within_one_grain_are_taken_together_none_before_it_is_due(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With thousands of jobs followed, waking once per poll cost more CPU than the polls: the
    tracker takes them on a grid of a twentieth of the poll interval, each at most that late."""
    monkeypatch.setattr(tracker_module, "GRAIN_FULL_AT", 2)  # two jobs stand for thousands
    step = 0.25
    first, second = await polls_taken(stack, [0.05, 0.2])
    assert first == second == step  # in one wake-up, at the grid's next point


async def test_with_few_jobs_followed_a_poll_is_taken_when_due_not_at_the_grid(
    stack: Stack,
) -> None:
    """With a handful of jobs there is nothing to gather: waiting for the grid's next point
    only delayed each result, by up to a twentieth of the poll interval."""
    dues = [0.05, 0.12]
    taken = await polls_taken(stack, dues)
    # When due, to within the grid's step with two jobs followed (a thousandth of 5 ms and
    # less), not at its full step's next point (0.25 s). Times near a million seconds are held
    # to a few hundred picoseconds: that much early is the due time itself.
    step = stack.tracker.interval * POLL_GRAIN * 2 / tracker_module.GRAIN_FULL_AT
    assert all(-1e-9 < at - due <= step for at, due in zip(taken, dues, strict=True)), taken


def test_the_grain_rounds_a_due_time_up_to_the_next_point() -> None:
    assert on_grain(1000.0, 0.25) == 1000.0
    assert on_grain(1000.01, 0.25) == 1000.25
    assert on_grain(1000.01, 0.05) == pytest.approx(1000.05)
    assert 5.0 * POLL_GRAIN == 0.25  # at the default POLL_INTERVAL_SECONDS


def test_the_grain_is_never_before_due_nor_more_than_a_step_late_however_small_its_step() -> None:
    # With few jobs followed the step is a thousandth of the full one or less (`grain`), a few
    # microseconds against times like time.time()'s, where rounding is a fraction of a step.
    rng = random.Random(11)
    for _ in range(20_000):
        due = 1.7e9 + rng.uniform(0, 1e6)
        step = 0.05 * POLL_GRAIN * rng.choice([1.0, 0.5, 0.01, 0.001, 1e-4])
        point = on_grain(due, step)
        assert due <= point < due + step + 1e-6
    assert on_grain(1000.01, 0.0) == 1000.01  # no grid: when due


class Spun(BaseException):
    """The tracker's loop read the clock over and over without waiting (not an Exception: the
    loop's own handlers must not swallow it)."""


async def test_a_poll_due_just_after_a_point_of_the_grid_is_waited_for_not_spun_on(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ceil(due / step) * step` can round to a point a hair before `due` (here 0.3 µs, with a
    poll interval of 0.05 s): the loop woke there, found nothing due, and, its wake-up time
    already past, went round again without waiting, reading the clock until it passed `due`:
    with a clock that is not moving meanwhile, for ever, and the event loop with it."""
    monkeypatch.setattr(tracker_module, "GRAIN_FULL_AT", 1)  # the loop's step is the full one
    tracker, clock = stack.tracker, stack.clock
    tracker.settings.poll_interval_seconds = 0.05
    step = tracker.interval * POLL_GRAIN
    due = 1700435245.3125005
    assert math.ceil(due / step) * step < due  # the rounding this test is about
    assert on_grain(due, step) >= due
    clock.now = due - 2e-7  # between the rounded point and the due time
    job = await sent(stack)
    tracker._track(tracker._jobs[job.id], due)
    assert tracker.grain() == step
    unbroken = 0  # clock reads since the event loop last ran anything else

    def counted() -> float:
        nonlocal unbroken
        unbroken += 1
        if unbroken > 10_000:
            raise Spun
        return clock.now

    async def others() -> None:
        nonlocal unbroken
        while True:
            await asyncio.sleep(0)
            unbroken = 0

    tracker.store.clock = counted
    beside = asyncio.ensure_future(others())
    running = asyncio.ensure_future(tracker.run())
    await asyncio.sleep(0.05)  # never returns while the loop spins: the clock raises first
    for task in (running, beside):
        task.cancel()
    outcome = (await asyncio.gather(running, beside, return_exceptions=True))[0]
    assert not isinstance(outcome, Spun), "the loop read the clock without ever waiting"


async def test_telling_a_failure_is_bounded_across_restarts_too(
    stack: Stack, local: LocalPika
) -> None:
    """A bot in a crash loop (each process dying after two failed tellings) used to start the
    count again in every process: the requester's failure was tried for as long as it
    looped. The count of attempts is the job's own, in the database."""
    local.behaviour.fail_jobs = 1
    stack.notifier.tell_fails_with = DeliveryFailed("Discord error 503")
    job = await rendered(local, await sent(stack))
    await stack.tracker.poll(job)
    await stack.settle()
    stack.clock.now += 5  # a second attempt, then this process dies
    await stack.settle()
    attempts = list(stack.notifier.told_attempts)
    for _ in range(8):  # the next processes, one after another
        past_the_lease(stack)
        async for process in make_stack(stack.path, local.base_url, stack.clock):
            process.notifier.tell_fails_with = DeliveryFailed("Discord error 503")
            await process.tracker.load()
            await process.settle()
            stack.clock.now += 5
            await process.settle()
            attempts += process.notifier.told_attempts
    assert len(attempts) <= 2 * MAX_DELIVERY_ATTEMPTS
    final = await current(stack, job.id)
    assert final.status is Status.FAILED and not final.active
