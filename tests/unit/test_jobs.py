"""The job layer without Discord: real SQLite, the real client, the local Pika over HTTP."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.guardrails import Guardrails, SettingsStore
from bot.jobs.followups import FollowUpRefused, FollowUps
from bot.jobs.service import INTERRUPTED, JobService, Origin
from bot.jobs.store import Job, JobStore, Status
from bot.jobs.tracker import MAX_DELIVERY_ATTEMPTS, DeliveryFailed, Tracker, Undeliverable
from bot.pika.client import PikaClient
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.models import Generate10Request, JobState, JobStatus, Options

ORIGIN = Origin(guild_id=1, channel_id=2, user_id=3)
MIGRATIONS = Path(__file__).resolve().parents[2] / "bot" / "jobs" / "migrations"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A Notifier that records what the tracker asked of Discord."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.adorned: list[str] = []
        self.failures: list[str] = []
        self.undeliverable: list[str] = []
        self.shown: list[int] = []
        self.fail_with: Exception | None = None
        self.looked: list[str] = []
        self.posted_before: int | None = None

    async def progress(self, job: Job) -> None:
        self.shown.append(job.progress)

    async def deliver(self, job: Job) -> int:
        if self.fail_with is not None:
            raise self.fail_with
        self.delivered.append(job.id)
        return 4242

    async def find_posted(self, job: Job) -> int | None:
        self.looked.append(job.id)
        return self.posted_before

    async def adorn(self, job: Job) -> None:
        self.adorned.append(job.id)

    async def tell_failure(self, job: Job) -> None:
        self.failures.append(f"{job.status.value}: {job.last_error}")

    async def tell_undeliverable(self, job: Job) -> None:
        self.undeliverable.append(job.id)


@pytest.fixture
async def local() -> AsyncIterator[LocalPika]:
    async with running_local_pika(job_seconds=0, api_key="k") as pika:
        yield pika


@pytest.fixture
async def parts(
    local: LocalPika, tmp_path: Path
) -> AsyncIterator[tuple[JobStore, JobService, Tracker, Recorder, Clock]]:
    clock = Clock()
    store = await JobStore.open(tmp_path / "jobs.sqlite3", clock)
    settings = Settings(poll_interval_seconds=1, job_timeout_minutes=10)
    async with PikaClient("k", local.base_url, backoff_base=0.01) as pika:
        service = JobService(store, pika, settings)
        notifier = Recorder()
        tracker = Tracker(store, pika, service, notifier, settings)
        yield store, service, tracker, notifier, clock
    await store.close()


def fox() -> Generate10Request:
    return Generate10Request(prompt_text="a fox", options=Options.default())


async def rendered(local: LocalPika, job: Job) -> Job:
    """Wait until the local Pika has finished the job's video."""
    await asyncio.wait_for(local.jobs[job.pika_job_id or ""].done.wait(), 30)
    return job


async def calls(local: LocalPika) -> list[str]:
    return [str(r["path"]) for r in local.requests]


# --- store -----------------------------------------------------------------------------------


async def test_migrations_apply_once_and_the_database_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    newest = max(int(p.name.split("_")[0]) for p in MIGRATIONS.glob("*.sql"))
    assert newest >= 2
    store = await JobStore.open(path)
    assert await store.schema_version() == newest
    await store.close()
    store = await JobStore.open(path)  # again: nothing to apply, nothing breaks
    assert await store.schema_version() == newest
    await store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_the_trackers_query_uses_its_index(tmp_path: Path) -> None:
    store = await JobStore.open(tmp_path / "db.sqlite3")
    assert "USING INDEX jobs_due" in await store.explain_due()
    await store.close()


async def test_the_tracker_sleeps_until_the_next_job_not_already_due(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock],
) -> None:
    store, service, _, _, clock = parts
    soon = await service.create("generate", fox(), ORIGIN)
    later = await service.create("generate", fox(), ORIGIN)
    await store.update(soon.id, next_poll_at=clock.now - 1)  # due, so being worked on
    await store.update(later.id, next_poll_at=clock.now + 5)
    assert await store.next_due_at() == clock.now - 1
    assert await store.next_due_at(after=clock.now) == clock.now + 5
    await store.update(later.id, status=Status.DELIVERED)  # inactive: never due
    assert await store.next_due_at(after=clock.now) is None


async def test_a_job_is_written_before_pika_is_called(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    _, service, *_ = parts
    job = await service.create("generate", fox(), ORIGIN)
    assert job.status is Status.SUBMITTING
    assert await calls(local) == []
    sent = await service.send(job.id)
    assert sent.status is Status.RUNNING and sent.pika_job_id
    again = await service.send(job.id)  # a second send does nothing
    assert again.pika_job_id == sent.pika_job_id
    assert await calls(local) == ["/web/generate"]


# --- crashes around the paid call ------------------------------------------------------------


async def test_a_job_in_flight_at_a_crash_is_failed_and_never_resent(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, notifier, _ = parts
    job = await service.create("generate", fox(), ORIGIN)
    await store.update(job.id, status=Status.SENDING, active=0)  # the crash hit mid-call
    assert await service.settle_interrupted() == (0, 1)
    settled = await store.get(job.id)
    assert settled is not None and settled.status is Status.FAILED
    assert settled.last_error == INTERRUPTED
    await tracker.tick()
    await asyncio.sleep(0.2)
    assert notifier.failures == [f"failed: {INTERRUPTED}"]
    assert await calls(local) == []  # never paid for twice
    final = await store.get(job.id)
    assert final is not None and not final.active


async def test_a_job_never_sent_before_a_crash_is_sent_after_it(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, *_ = parts
    job = await service.create("generate", fox(), ORIGIN)
    assert await service.settle_interrupted() == (1, 0)
    await tracker.tick()
    await asyncio.sleep(0.5)
    assert (await store.get(job.id)).status in (Status.RUNNING, Status.DELIVERING,  # type: ignore[union-attr]
                                                 Status.DELIVERED)  # fmt: skip
    assert await calls(local) == ["/web/generate"]


async def test_an_unanswered_paid_call_fails_the_job_without_retrying(
    tmp_path: Path, local: LocalPika
) -> None:
    store = await JobStore.open(tmp_path / "db.sqlite3")
    async with PikaClient("k", local.base_url, timeout=0.3) as pika:
        local.behaviour.latency = 1.0
        service = JobService(store, pika, Settings())
        job = await service.submit("generate", fox(), ORIGIN)
    assert job.status is Status.FAILED
    assert job.last_error is not None and "cannot tell whether the job started" in job.last_error
    assert await calls(local) == ["/web/generate"]
    await store.close()


# --- the tracker -----------------------------------------------------------------------------


async def test_every_transition_from_sent_to_delivered(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, notifier, clock = parts
    job = await service.submit("generate", fox(), ORIGIN)
    assert job.status is Status.RUNNING
    running = await store.update(job.id, status=Status.RUNNING)
    await tracker.apply(
        running, JobState(job_id="x", status=JobStatus.PENDING, raw_status="pending", progress=40)
    )
    polled = await store.get(job.id)
    assert polled is not None and (polled.progress, polled.pika_status) == (40, "pending")
    assert notifier.shown == [40]
    await tracker.apply(
        polled, JobState(job_id="x", status=JobStatus.RUNNING, raw_status="rendering", progress=41)
    )
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
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock],
) -> None:
    store, service, tracker, _, clock = parts
    job = await service.submit("generate", fox(), ORIGIN)
    gaps = []
    for _ in range(15):
        current = await store.get(job.id)
        assert current is not None
        await tracker.apply(current, JobState(job_id="x", status=JobStatus.RUNNING,
                                              raw_status="mystery", progress=10))  # fmt: skip
        after = await store.get(job.id)
        assert after is not None and after.status is Status.RUNNING
        gaps.append(round(after.next_poll_at - clock.now, 2))
    assert gaps[0] == 1.0
    assert gaps == sorted(gaps)
    assert gaps[-1] == 12.0  # the ceiling: twelve poll intervals


async def test_a_job_past_its_timeout_is_timed_out_and_the_user_told_once(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock],
) -> None:
    store, service, tracker, notifier, clock = parts
    job = await service.submit("generate", fox(), ORIGIN)
    clock.now += 11 * 60
    current = await store.get(job.id)
    assert current is not None
    await tracker.apply(
        current, JobState(job_id="x", status=JobStatus.PENDING, raw_status="pending", progress=5)
    )
    final = await store.get(job.id)
    assert final is not None and final.status is Status.TIMED_OUT and not final.active
    assert notifier.failures == [
        "timed_out: Pika did not finish this video within 10 minutes, so the bot gave up."
    ]
    assert await tracker.tick() == 0  # nothing left to do for it


async def test_pika_failure_is_told_once_with_its_reason(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    _, service, tracker, notifier, _ = parts
    local.behaviour.fail_jobs = 1
    job = await rendered(local, await service.submit("generate", fox(), ORIGIN))
    await tracker.poll(job)
    await tracker.poll(job)  # a stale second poll changes nothing
    assert notifier.failures == [
        "failed: Pika could not make this video: The generation failed (simulated failure)"
    ]


async def test_pika_down_backs_off_and_then_recovers(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, notifier, _ = parts
    job = await service.submit("generate", fox(), ORIGIN)
    local.behaviour.error_rate = 1.0
    await tracker.poll(job)
    after = await store.get(job.id)
    assert after is not None and after.status is Status.RUNNING and after.poll_attempts == 1
    assert after.last_error is not None and "trouble" in after.last_error
    local.behaviour.error_rate = 0.0
    await tracker.poll(await rendered(local, after))
    assert notifier.delivered == [job.id]


async def test_undeliverable_is_final_and_the_requester_dmd_once(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, notifier, _ = parts
    notifier.fail_with = Undeliverable("the channel no longer exists")
    job = await rendered(local, await service.submit("generate", fox(), ORIGIN))
    await tracker.poll(job)
    final = await store.get(job.id)
    assert final is not None and final.status is Status.UNDELIVERABLE and not final.active
    assert notifier.undeliverable == [job.id]


async def test_discord_trouble_retries_delivery_a_bounded_number_of_times(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, notifier, _ = parts
    notifier.fail_with = DeliveryFailed("Discord error 503")
    job = await rendered(local, await service.submit("generate", fox(), ORIGIN))
    await tracker.poll(job)
    for _ in range(10):
        current = await store.get(job.id)
        assert current is not None
        if current.status is not Status.DELIVERING:
            break
        await tracker.deliver(current)
    final = await store.get(job.id)
    assert final is not None and final.status is Status.UNDELIVERABLE
    assert final.delivery_attempts == MAX_DELIVERY_ATTEMPTS == 6
    assert notifier.undeliverable == [job.id]
    assert notifier.looked == [job.id] * 5  # before every retry, for a post that got through


async def test_a_retry_finds_a_post_that_got_through_and_does_not_post_again(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, notifier, _ = parts
    notifier.fail_with = DeliveryFailed("Discord error 504")  # the post may have got through
    job = await rendered(local, await service.submit("generate", fox(), ORIGIN))
    await tracker.poll(job)
    assert notifier.looked == []  # a first attempt has nothing to look for
    notifier.fail_with, notifier.posted_before = None, 77
    current = await store.get(job.id)
    assert current is not None and current.status is Status.DELIVERING
    await tracker.deliver(current)
    final = await store.get(job.id)
    assert final is not None and final.status is Status.DELIVERED
    assert final.result_message_id == 77 and not final.active
    assert notifier.delivered == [] and notifier.looked == [job.id]
    assert notifier.adorned == [job.id]


async def test_a_result_posted_before_a_crash_is_not_posted_again(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock],
) -> None:
    store, service, tracker, notifier, _ = parts
    job = await service.submit("generate", fox(), ORIGIN)
    posted = await store.update(job.id, status=Status.DELIVERING, result_message_id=99,
                                result_url="https://x/a.mp4")  # fmt: skip
    await tracker.deliver(posted)
    final = await store.get(job.id)
    assert final is not None and final.status is Status.DELIVERED and not final.active
    assert notifier.delivered == []
    assert notifier.adorned == [job.id]


async def test_a_result_recorded_just_before_a_crash_gets_its_reactions_after_it(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock],
) -> None:
    store, service, tracker, notifier, clock = parts
    job = await service.submit("generate", fox(), ORIGIN)
    # The crash: the result was posted and recorded, its reactions never added.
    await store.update(job.id, status=Status.DELIVERED, active=1, result_message_id=99,
                       result_url="https://x/a.mp4", next_poll_at=clock.now)  # fmt: skip
    await tracker.tick()
    await asyncio.sleep(0.2)
    assert notifier.adorned == [job.id]
    assert notifier.delivered == []  # not posted again
    final = await store.get(job.id)
    assert final is not None and final.status is Status.DELIVERED and not final.active
    assert await tracker.tick() == 0


# --- follow-ups ------------------------------------------------------------------------------


async def test_follow_ups_are_created_once_and_only_for_allowed_members(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, *_ = parts
    job = await rendered(local, await service.submit("generate", fox(), ORIGIN))
    await tracker.poll(job)
    follow_ups = FollowUps(store, service, Guardrails(store, SettingsStore(store.db, store.clock)))
    with pytest.raises(FollowUpRefused, match="Only the member who made this video"):
        await follow_ups.start("extend", job.id, 999, may_moderate=False)
    results = await asyncio.gather(
        *[follow_ups.start("extend", job.id, ORIGIN.user_id, may_moderate=False) for _ in range(5)]
    )
    assert [created for _, created in results].count(True) == 1
    assert len({j.id for j, _ in results}) == 1
    moderator, created = await follow_ups.start("upscale", job.id, 999, may_moderate=True)
    assert created and moderator.user_id == 999


async def test_reroll_needs_a_seed_and_extend_respects_15_seconds(
    parts: tuple[JobStore, JobService, Tracker, Recorder, Clock], local: LocalPika
) -> None:
    store, service, tracker, *_ = parts
    job = await rendered(local, await service.submit("generate", fox(), ORIGIN))
    await tracker.poll(job)
    delivered = await store.update(job.id, duration=12.0)
    follow_ups = FollowUps(store, service, Guardrails(store, SettingsStore(store.db, store.clock)))
    with pytest.raises(FollowUpRefused, match="Pika stops at 15 s"):
        await follow_ups.start("extend", delivered.id, ORIGIN.user_id, may_moderate=False)
    upscale, _ = await follow_ups.start("upscale", delivered.id, ORIGIN.user_id, may_moderate=False)
    await store.update(upscale.id, status=Status.DELIVERED, result_url="https://x/up.mp4")
    with pytest.raises(FollowUpRefused, match="no seed to re-roll"):
        await follow_ups.start("reroll", upscale.id, ORIGIN.user_id, may_moderate=False)


async def test_requests_carry_a_per_job_webhook_when_push_is_on(tmp_path: Path) -> None:
    store = await JobStore.open(tmp_path / "db.sqlite3")
    settings = Settings(webhook_public_url="https://bot.example.org/")
    async with httpx.AsyncClient() as _, PikaClient("k", "http://127.0.0.1:9") as pika:
        service = JobService(store, pika, settings)
        one = await service.create("generate", fox(), ORIGIN)
        two = await service.create("generate", fox(), ORIGIN)
    urls: list[Any] = [one.request["webhookOverride"], two.request["webhookOverride"]]
    assert urls[0].startswith("https://bot.example.org/pika/webhook/")
    assert urls[0] != urls[1] and one.webhook_secret and urls[0].endswith(one.webhook_secret)
    assert await store.by_webhook_secret(one.webhook_secret) == one
    await store.close()
