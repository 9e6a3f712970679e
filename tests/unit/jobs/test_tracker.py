"""The tracker: every job polled to an end, delivered once, and its requester told."""

from __future__ import annotations

import asyncio

from bot.discord.texts import failure_reason
from bot.jobs.tracker import (
    MAX_DELIVERY_ATTEMPTS,
    PROGRESS_REFRESH_SECONDS,
    DeliveryFailed,
    Undeliverable,
)
from bot.pika.local.app import LocalPika
from bot.pika.models import JobState, JobStatus, UpscaleRequest
from bot.storage import Status
from tests.helpers.requests import fox
from tests.unit.conftest import ORIGIN, Stack, rendered


async def submitted(stack: Stack) -> str:
    job = await stack.service.create("generate", fox(), ORIGIN)
    return (await stack.service.send(job.id)).id


async def test_every_transition_from_sent_to_delivered(stack: Stack, local: LocalPika) -> None:
    store, tracker, notifier, clock = stack.store, stack.tracker, stack.notifier, stack.clock
    job = await store.get(await submitted(stack))
    assert job is not None and job.status is Status.RUNNING
    state = JobState(job_id="x", status=JobStatus.PENDING, raw_status="pending", progress=40)
    await tracker.apply(job, state)
    polled = await store.get(job.id)
    assert polled is not None and (polled.progress, polled.pika_status) == (40, "pending")
    assert notifier.shown == [40]
    state = JobState(job_id="x", status=JobStatus.RUNNING, raw_status="rendering", progress=41)
    await tracker.apply(polled, state)
    assert notifier.shown == [40]  # edits are throttled
    clock.now += 10
    await rendered(local, job)
    await tracker.poll(await store.get(job.id))  # type: ignore[arg-type]
    done = await store.get(job.id)
    assert done is not None and done.status is Status.DELIVERED
    assert done.result_message_id == 4242 and done.result_url and done.result_url.endswith(".mp4")
    assert notifier.delivered == [job.id]
    assert notifier.adorned == [job.id]  # after the result was recorded


async def test_unknown_statuses_keep_polling_with_growing_intervals_up_to_a_ceiling(
    stack: Stack,
) -> None:
    job_id = await submitted(stack)
    gaps = []
    for _ in range(15):
        current = await stack.store.get(job_id)
        assert current is not None
        state = JobState(job_id="x", status=JobStatus.RUNNING, raw_status="mystery", progress=10)
        await stack.tracker.apply(current, state)
        after = await stack.store.get(job_id)
        assert after is not None and after.status is Status.RUNNING
        gaps.append(round(after.next_poll_at - stack.clock.now, 2))
    assert gaps[0] == 1.0
    assert gaps == sorted(gaps)
    assert gaps[-1] == 12.0  # the ceiling: twelve poll intervals


async def test_a_job_past_its_timeout_is_timed_out_and_the_user_told_once(stack: Stack) -> None:
    job_id = await submitted(stack)
    stack.clock.now += 11 * 60
    current = await stack.store.get(job_id)
    assert current is not None
    state = JobState(job_id="x", status=JobStatus.PENDING, raw_status="pending", progress=5)
    await stack.tracker.apply(current, state)
    final = await stack.store.get(job_id)
    assert final is not None and final.status is Status.TIMED_OUT and not final.active
    assert stack.notifier.failures == ["timed_out: timed_out: 10"]
    assert failure_reason(final, "en") == (
        "Pika took longer than 10 minutes, so the bot stopped waiting. Press **Retry** to try "
        "again."
    )
    assert await stack.tracker.tick() == 0  # nothing left to do for it


async def test_pika_failure_is_told_once_with_its_reason(stack: Stack, local: LocalPika) -> None:
    local.behaviour.fail_jobs = 1
    job = await rendered(local, await stack.store.get(await submitted(stack)))  # type: ignore[arg-type]
    await stack.tracker.poll(job)
    await stack.tracker.poll(job)  # a stale second poll changes nothing
    assert stack.notifier.failures == [
        "failed: pika_failed: The generation failed (simulated failure)"
    ]


async def test_pika_down_backs_off_and_then_recovers(stack: Stack, local: LocalPika) -> None:
    job = await stack.store.get(await submitted(stack))
    assert job is not None
    local.behaviour.error_rate = 1.0
    await stack.tracker.poll(job)
    after = await stack.store.get(job.id)
    assert after is not None and after.status is Status.RUNNING and after.poll_attempts == 1
    assert after.last_error is not None and "trouble" in after.last_error
    local.behaviour.error_rate = 0.0
    await stack.tracker.poll(await rendered(local, after))
    assert stack.notifier.delivered == [job.id]


async def test_undeliverable_is_final_and_the_requester_dmd_once(
    stack: Stack, local: LocalPika
) -> None:
    stack.notifier.fail_with = Undeliverable("the channel no longer exists")
    job = await rendered(local, await stack.store.get(await submitted(stack)))  # type: ignore[arg-type]
    await stack.tracker.poll(job)
    final = await stack.store.get(job.id)
    assert final is not None and final.status is Status.UNDELIVERABLE and not final.active
    assert stack.notifier.undeliverable == [job.id]


async def test_discord_trouble_retries_delivery_a_bounded_number_of_times(
    stack: Stack, local: LocalPika
) -> None:
    stack.notifier.fail_with = DeliveryFailed("Discord error 503")
    job = await rendered(local, await stack.store.get(await submitted(stack)))  # type: ignore[arg-type]
    await stack.tracker.poll(job)
    for _ in range(10):
        current = await stack.store.get(job.id)
        assert current is not None
        if current.status is not Status.DELIVERING:
            break
        await stack.tracker.deliver(current)
    final = await stack.store.get(job.id)
    assert final is not None and final.status is Status.UNDELIVERABLE
    assert final.delivery_attempts == MAX_DELIVERY_ATTEMPTS == 6
    assert stack.notifier.undeliverable == [job.id]
    assert stack.notifier.looked == [job.id] * 5  # before every retry, for a post that got through


async def test_a_retry_finds_a_post_that_got_through_and_does_not_post_again(
    stack: Stack, local: LocalPika
) -> None:
    notifier = stack.notifier
    notifier.fail_with = DeliveryFailed("Discord error 504")  # the post may have got through
    job = await rendered(local, await stack.store.get(await submitted(stack)))  # type: ignore[arg-type]
    await stack.tracker.poll(job)
    assert notifier.looked == []  # a first attempt has nothing to look for
    notifier.fail_with, notifier.posted_before = None, 77
    current = await stack.store.get(job.id)
    assert current is not None and current.status is Status.DELIVERING
    await stack.tracker.deliver(current)
    final = await stack.store.get(job.id)
    assert final is not None and final.status is Status.DELIVERED
    assert final.result_message_id == 77 and not final.active
    assert notifier.delivered == [] and notifier.looked == [job.id]
    assert notifier.adorned == [job.id]


async def test_a_result_posted_before_a_crash_is_not_posted_again(stack: Stack) -> None:
    job_id = await submitted(stack)
    posted = await stack.store.update(
        job_id, status=Status.DELIVERING, result_message_id=99, result_url="https://x/a.mp4"
    )
    await stack.tracker.deliver(posted)
    final = await stack.store.get(job_id)
    assert final is not None and final.status is Status.DELIVERED and not final.active
    assert stack.notifier.delivered == []
    assert stack.notifier.adorned == [job_id]


async def test_a_result_recorded_just_before_a_crash_gets_its_reactions_after_it(
    stack: Stack,
) -> None:
    job_id = await submitted(stack)
    # The crash: the result was posted and recorded, its reactions never added.
    await stack.store.update(
        job_id,
        status=Status.DELIVERED,
        active=1,
        result_message_id=99,
        result_url="https://x/a.mp4",
        next_poll_at=stack.clock.now,
    )
    await stack.tracker.tick()
    await asyncio.sleep(0.2)
    assert stack.notifier.adorned == [job_id]
    assert stack.notifier.delivered == []  # not posted again
    final = await stack.store.get(job_id)
    assert final is not None and final.status is Status.DELIVERED and not final.active
    assert await stack.tracker.tick() == 0


async def test_an_upscale_is_polled_by_its_source_video(stack: Stack, local: LocalPika) -> None:
    parent = await rendered(local, await stack.store.get(await submitted(stack)))  # type: ignore[arg-type]
    await stack.tracker.poll(parent)
    delivered = await stack.store.get(parent.id)
    assert delivered is not None and delivered.result_url
    upscale = await stack.service.create(
        "upscale", UpscaleRequest(video=delivered.result_url), ORIGIN
    )
    sent = await stack.service.send(upscale.id)
    assert sent.status is Status.RUNNING and sent.pika_job_id is None
    await stack.tracker.poll(sent)
    paths = [r["path"] for r in local.requests]
    assert paths[-1] == "/web/jobs/upscaled"


async def test_a_job_whose_progress_stands_still_is_refreshed_now_and_then(
    stack: Stack,
) -> None:
    job = await stack.store.get(await submitted(stack))
    assert job is not None
    state = JobState(job_id="x", status=JobStatus.PENDING, raw_status="pending", progress=90)
    await stack.tracker.apply(job, state)
    assert stack.notifier.shown == [90]
    for _ in range(3):  # no news at 90%: the message is left alone a while
        stack.clock.now += 5
        await stack.tracker.apply(await stack.store.get(job.id), state)  # type: ignore[arg-type]
    assert stack.notifier.shown == [90]
    stack.clock.now += PROGRESS_REFRESH_SECONDS
    await stack.tracker.apply(await stack.store.get(job.id), state)  # type: ignore[arg-type]
    assert stack.notifier.shown == [90, 90]  # then refreshed, so its expected end moves on
