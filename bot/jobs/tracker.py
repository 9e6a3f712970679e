"""The tracker: one background task that brings every job to an end.

It picks due jobs from the store (indexed by next poll time), works on them with bounded
concurrency, and moves each one on: running -> polled with per-job backoff; finished -> delivered;
failed or error -> the requester told; no final status by JOB_TIMEOUT_MINUTES -> timed out and
told. Unknown statuses count as still running. Nothing loops forever: polls back off to a
ceiling and stop at the timeout; deliveries are retried a bounded number of times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from bot.config import Settings
from bot.jobs.journal import JOURNAL
from bot.jobs.service import JobService
from bot.pika.client import PikaClient
from bot.pika.errors import PikaError, PikaRateLimited
from bot.pika.kinds import Polling
from bot.pika.kinds import kind as kind_of
from bot.pika.models import JobState, JobStatus
from bot.storage import Job, JobStore, Status

log = logging.getLogger(__name__)

MAX_CONCURRENT = 8
DUE_BATCH = 200  # due jobs taken per scan of the store
MAX_DELIVERY_ATTEMPTS = 6
PROGRESS_EDIT_SECONDS = 3.0
# A job whose progress stands still still has its working message refreshed this often, so the
# expected end it shows is recomputed and never lies in the past for long.
PROGRESS_REFRESH_SECONDS = 20.0
PUSHED_POLL_FACTOR = 6  # with webhook push, polling is only a safety net
CEILING_INTERVALS = 12
MAX_REMEMBERED_POLLS = 100_000


def remember(times: dict[str, float], job_id: str, at: float) -> None:
    """Record a time for a job, forgetting the oldest past MAX_REMEMBERED_POLLS jobs."""
    times.pop(job_id, None)
    times[job_id] = at
    if len(times) > MAX_REMEMBERED_POLLS:
        del times[next(iter(times))]


class Undeliverable(Exception):
    """The result can never be posted where it was asked for (channel gone, no permission)."""


class DeliveryFailed(Exception):
    """Posting failed for now (Discord trouble); worth another try later."""


class Notifier(Protocol):
    """What the tracker needs from the Discord side."""

    async def progress(self, job: Job) -> None:
        """Show the job's status and progress on its "working on it" message."""

    async def deliver(self, job: Job) -> int:
        """Post the result; return the message id. Raise Undeliverable or DeliveryFailed."""

    async def find_posted(self, job: Job) -> int | None:
        """The result message an earlier attempt may have posted, if it can be found."""

    async def adorn(self, job: Job) -> None:
        """After the result is recorded: add its reactions and mark the request done."""

    async def tell_failure(self, job: Job) -> None:
        """Tell the requester the job failed or timed out, and why."""

    async def tell_undeliverable(self, job: Job) -> None:
        """Tell the requester (by DM) that the result could not be posted."""


class Tracker:
    """Polls, delivers and notifies until every job has ended."""

    def __init__(
        self,
        store: JobStore,
        pika: PikaClient,
        service: JobService,
        notifier: Notifier,
        settings: Settings,
    ) -> None:
        self.store = store
        self.pika = pika
        self.service = service
        self.notifier = notifier
        self.settings = settings
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)
        self._working: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.polls = 0
        self.ticks = 0
        self._scanned_at = 0.0
        self._backlog = False
        # For coalescing pushes: when each job was last asked about, and last pushed.
        self._polled_at: dict[str, float] = {}
        self._pushed_at: dict[str, float] = {}

    def wake(self) -> None:
        """Look for due jobs now (after a submission or a webhook push)."""
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until cancelled."""
        while True:
            self._wake.clear()  # before the scan: a wake-up during it means scan again
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Tracker: unexpected error; going on")
            await self._sleep_until_due()

    async def stop(self) -> None:
        """Wait for jobs being worked on (their state is in the store either way)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def tick(self) -> int:
        """Start work on every due job not already being worked on; return how many."""
        self.ticks += 1
        self._scanned_at = self.store.clock()
        due = await self.store.due(self._scanned_at, limit=DUE_BATCH)
        self._backlog = len(due) >= DUE_BATCH
        started = 0
        for job in due:
            if job.id in self._working:
                continue
            self._working.add(job.id)
            task = asyncio.ensure_future(self._work(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _sleep_until_due(self) -> None:
        # Every job the last scan found is being worked on, and stays out of the next scan until
        # rescheduled; so sleep until a job that was not due at that scan comes due, or a wake-up.
        if self._backlog:  # more were due than one scan takes; the workers wake the loop
            delay = 1.0
        else:
            next_due = await self.store.next_due_at(self._scanned_at)
            delay = 1.0 if next_due is None else next_due - self.store.clock()
        delay = min(max(delay, 0.02), 1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)

    async def _work(self, job: Job) -> None:
        try:
            async with self._slots:
                JOURNAL.taken(job, self.store.clock() - job.next_poll_at)
                fresh = await self.store.get(job.id)
                if fresh is not None and fresh.active:
                    await self.advance(fresh)
        except Exception:
            log.exception("Tracker: job %s failed to advance", job.id)
            await self.store.update(job.id, next_poll_at=self.store.clock() + self.ceiling())
        finally:
            self._working.discard(job.id)
            if self._backlog and len(self._working) <= DUE_BATCH // 2:
                self.wake()  # half of the last batch is done: take the next

    # --- one step of one job ----------------------------------------------------------------

    async def advance(self, job: Job) -> None:
        """Do the next thing a job needs."""
        if job.status is Status.SUBMITTING:
            await self.service.send(job.id)
        elif job.status is Status.RUNNING:
            await self.poll(job)
        elif job.status is Status.DELIVERING:
            await self.deliver(job)
        elif job.status is Status.DELIVERED:
            await self.settle_delivered(job)
        elif job.status in (Status.FAILED, Status.TIMED_OUT):
            await self.notifier.tell_failure(job)
            await self.store.update(job.id, active=0)
        elif job.status is Status.UNDELIVERABLE:
            await self.notifier.tell_undeliverable(job)
            await self.store.update(job.id, active=0)
        else:
            await self.store.update(job.id, active=0)

    def interval(self, job: Job) -> float:
        """Time to the next poll: short at first, growing to a ceiling."""
        base = self.settings.poll_interval_seconds
        if job.webhook_secret:
            base *= PUSHED_POLL_FACTOR
        return min(self.ceiling(), base * 1.5 ** min(job.poll_attempts, 20))

    def ceiling(self) -> float:
        """The longest time between two polls: twelve intervals, at most a minute."""
        interval = self.settings.poll_interval_seconds
        return max(interval, min(60.0, interval * CEILING_INTERVALS))

    def timed_out(self, job: Job) -> bool:
        """Whether the job has had longer than JOB_TIMEOUT_MINUTES."""
        age = self.store.clock() - job.created_at
        return age > self.settings.job_timeout_minutes * 60

    async def poll(self, job: Job) -> None:
        """Ask Pika about a running job and act on its answer."""
        self.polls += 1
        remember(self._polled_at, job.id, self.store.clock())
        try:
            if kind_of(job.kind).polled_by is Polling.VIDEO_URL:
                answer = await self.pika.get_upscale_job(str(job.request["video"]))
            else:
                answer = await self.pika.get_job(job.pika_job_id or "")
        except PikaError as exc:
            wait = self.interval(job)
            if isinstance(exc, PikaRateLimited) and exc.retry_after:
                wait = max(wait, exc.retry_after)
            log.info("Job %s: poll failed (%s); next in %.1fs", job.id, exc.describe(), wait)
            job = await self.store.update(
                job.id,
                poll_attempts=job.poll_attempts + 1,
                last_error=self.service.redact(exc.describe()),
                next_poll_at=self.store.clock() + wait,
            )
            await self._check_timeout(job)
            return
        await self.apply(job, answer.state(job.pika_job_id or ""))

    async def apply(self, job: Job, state: JobState) -> None:
        """Move a running job on according to what Pika says."""
        if state.status is JobStatus.FINISHED:
            moved = await self.store.transition(
                job.id,
                [Status.RUNNING],
                status=Status.DELIVERING,
                pika_status=state.raw_status,
                progress=100,
                result_url=state.result_url,
                poster_url=state.poster_url,
                thumbnail_url=state.thumbnail_url,
                duration=state.duration,
                seed=state.seed,
                next_poll_at=self.store.clock(),
            )
            if moved:
                fresh = await self.store.get(job.id)
                assert fresh is not None
                await self.deliver(fresh)
            return
        if state.status is JobStatus.FAILED:
            if await self.store.transition(job.id, [Status.RUNNING], pika_status=state.raw_status):
                log.info("Job %s: Pika reports it failed: %s", job.id, state.reason or "-")
                await self.end(job, "pika_failed", state.reason or "")
            return
        changed = (state.raw_status, state.progress) != (job.pika_status, job.progress)
        new_status = state.raw_status != job.pika_status
        job = await self.store.update(
            job.id,
            pika_status=state.raw_status,
            progress=state.progress,
            poll_attempts=job.poll_attempts + 1,
            last_error=None,
            next_poll_at=self.store.clock() + self.interval(job),
        )
        if new_status and state.raw_status:
            JOURNAL.status(job, state.raw_status)
        if await self._check_timeout(job):
            return
        now = self.store.clock()
        edited = job.progress_edited_at
        news = changed and (edited is None or now - edited >= PROGRESS_EDIT_SECONDS)
        if news or now - (edited or job.created_at) >= PROGRESS_REFRESH_SECONDS:
            await self.store.update(job.id, progress_edited_at=now)
            try:
                await self.notifier.progress(job)
            except Exception as exc:  # progress is cosmetic; delivery decides the job's fate
                log.warning("Job %s: could not show progress: %s", job.id, exc)

    async def _check_timeout(self, job: Job) -> bool:
        if not self.timed_out(job):
            return False
        minutes = f"{self.settings.job_timeout_minutes:g}"
        if await self.store.transition(job.id, [Status.RUNNING], pika_status=job.pika_status):
            await self.end(job, "timed_out", minutes, Status.TIMED_OUT)
        return True

    async def end(
        self, job: Job, failure: str, detail: str, status: Status = Status.FAILED
    ) -> None:
        """End a job without a video and tell its requester at once."""
        await self.advance(await self.service.fail(job, failure, detail, status))

    async def deliver(self, job: Job) -> None:
        """Post a finished job's result exactly once."""
        if job.result_message_id is not None:  # posted before a crash, not yet recorded
            job = await self.store.update(job.id, status=Status.DELIVERED, active=1)
            JOURNAL.delivered(job)
            await self.settle_delivered(job)
            return
        # Each attempt is recorded before it is made: the next one (after a crash, or a failure
        # that may have come after Discord took the post) then looks for the post first.
        attempt = job.delivery_attempts + 1
        job = await self.store.update(job.id, delivery_attempts=attempt)
        try:
            message_id = await self.notifier.find_posted(job) if attempt > 1 else None
            if message_id is None:
                message_id = await self.notifier.deliver(job)
            else:
                log.info("Job %s: its result was already posted", job.id)
        except Undeliverable as exc:
            log.warning("Job %s: undeliverable: %s", job.id, exc)
            await self.end(job, "undeliverable", str(exc), Status.UNDELIVERABLE)
            return
        except DeliveryFailed as exc:
            if attempt >= MAX_DELIVERY_ATTEMPTS:
                await self.end(job, "discord", str(exc), Status.UNDELIVERABLE)
                return
            wait = min(self.ceiling(), 2.0 * 2**attempt)
            log.warning("Job %s: delivery failed (%s); retry in %.0fs", job.id, exc, wait)
            await self.store.update(
                job.id, last_error=str(exc), next_poll_at=self.store.clock() + wait
            )
            return
        # Recorded before the reactions go on, so a member who reacts at once finds the job;
        # active until they are on, so a crash in between adds them after the restart.
        job = await self.store.update(
            job.id,
            status=Status.DELIVERED,
            result_message_id=message_id,
            active=1,
            finished_at=self.store.clock(),
        )
        JOURNAL.delivered(job)
        await self.settle_delivered(job)

    async def settle_delivered(self, job: Job) -> None:
        """Put the reactions on a posted result and "done" on its request; then rest."""
        try:
            await self.notifier.adorn(job)
        except Exception as exc:  # cosmetic: the video and its buttons are posted
            log.warning("Job %s: could not add reactions: %s", job.id, exc)
        await self.store.update(job.id, active=0)

    async def pushed(self, job: Job) -> bool:
        """A webhook said this job changed: make it due, so that the tracker's bounded workers
        confirm it with Pika soon instead of at its next scheduled poll. Pushes are coalesced:
        a job is asked about at most once per poll interval, however many pushes come, and a
        push is never lost (the job is due within an interval of its last get-job). Returns
        whether this is the first push for the job in a poll interval."""
        if job.status is not Status.RUNNING:
            return False
        now = self.store.clock()
        interval = self.settings.poll_interval_seconds
        last_poll = self._polled_at.get(job.id)
        due = now if last_poll is None else max(now, last_poll + interval)
        first = now - self._pushed_at.get(job.id, -interval) >= interval
        if first:
            remember(self._pushed_at, job.id, now)
        if job.next_poll_at > due:
            await self.store.update(job.id, next_poll_at=due)
            self.wake()
        return first
