"""The tracker: follows every active job to its end, polling Pika by each job's progress.

It holds the jobs this process works on in memory (`_jobs`: what a lease would claim when
several processes share the work), each due at a time in one of two schedules:

- polls (jobs `running` at Pika), taken in due order by at most `POLL_CONCURRENCY` polls in
  flight. A job's next poll is planned from what Pika reported and how long recent jobs of its
  kind took (`estimates.py`): just after its expected finish, never sooner than
  POLL_INTERVAL_SECONDS after its last poll, never later than `CEILING_INTERVALS` intervals,
  and not after its time-out. With push configured polls are only a safety net, at the
  ceiling: a push makes the job due at once (`pushed`). Pika's `failed` and `error` statuses end
  the job; unknown statuses keep it running; no final status by JOB_TIMEOUT_MINUTES times it out.
- the rest (a result to post, a failure to tell, an answer never recorded), handed to the
  outbox (`outbox.py`), which runs beside the polls: a poll never waits behind a delivery.

Poll results are written in batches every `FLUSH_SECONDS` (a crash only costs a poll again);
every step that comes before a side effect (a result about to be posted, a failure about to be
told) is written at once, compare-and-set on the status, so each happens exactly once. Every
`RESYNC_SECONDS` the store's active jobs are compared with the ones in memory, as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Any

from bot.config import Settings
from bot.jobs.estimates import Durations, next_poll, observed
from bot.jobs.journal import JOURNAL
from bot.jobs.outbox import Notifier, Outbox
from bot.jobs.schedule import Schedule
from bot.jobs.service import JobService
from bot.pika.client import PikaClient
from bot.pika.errors import PikaError, PikaRateLimited
from bot.pika.kinds import Polling
from bot.pika.kinds import kind as kind_of
from bot.pika.models import JobResponse, JobState, JobStatus
from bot.storage import WRITE_ERRORS, Job, JobStore, Status

log = logging.getLogger(__name__)

POLL_CONCURRENCY = 64
CEILING_INTERVALS = 6
MAX_CEILING = 60.0
PROGRESS_EDIT_SECONDS = 3.0
FLUSH_SECONDS = 0.5
FLUSH_ROWS = 2000
RESYNC_SECONDS = 30.0
DURATIONS_PER_KIND = 20


class Tracker:
    """Polls, delivers and notifies until every job has ended."""

    def __init__(
        self,
        store: JobStore,
        pika: PikaClient,
        service: JobService,
        notifier: Notifier,
        settings: Settings,
        durations: Durations | None = None,
    ) -> None:
        self.store = store
        self.pika = pika
        self.service = service
        self.notifier = notifier
        self.settings = settings
        self.durations = durations or Durations()
        self.outbox = Outbox(
            store, notifier, settings, later=self._later, ended=self.follow, closed=self._closed
        )
        self._jobs: dict[str, Job] = {}  # the active jobs this process works on
        self._polls = Schedule()
        self._others = Schedule()
        self._busy: set[str] = set()  # a poll or an outbox step is working on these
        self._polling = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: dict[str, dict[str, Any]] = {}  # poll results not yet written
        self._closing: set[str] = set()  # ended jobs whose `active = 0` is not yet written
        self._last_poll: dict[str, float] = {}
        self._last_eta: dict[str, float] = {}  # when each job was last expected to finish
        self._late: dict[str, int] = {}  # polls in a row that found a job past its expected end
        self._shown_at: dict[str, float] = {}
        self._early_pushes: set[str] = set()
        self._dirty_since: float | None = None  # when the oldest unwritten result came
        self._wake = asyncio.Event()
        self.polls = 0

    # --- what the tracker follows -----------------------------------------------------------

    @property
    def interval(self) -> float:
        """POLL_INTERVAL_SECONDS: the least time between two polls of a job."""
        return self.settings.poll_interval_seconds

    def ceiling(self) -> float:
        """The longest time between two polls: a few intervals, at most a minute."""
        return max(self.interval, min(MAX_CEILING, self.interval * CEILING_INTERVALS))

    async def load(self) -> int:
        """At start-up: the durations of recent jobs, and every active job in the store."""
        self.durations.seed(await self.store.durations(DURATIONS_PER_KIND))
        jobs = await self.store.active()
        for job in jobs:
            self._track(job, job.next_poll_at)
        return len(jobs)

    def follow(self, job: Job) -> None:
        """A job moved on outside the tracker (sent to Pika, failed, cancelled): follow it."""
        now = self.store.clock()
        if job.status is Status.RUNNING:
            due = now if job.id in self._early_pushes else now + self._delay(job, now)
            self._early_pushes.discard(job.id)
            eta = self.durations.eta(job, now)
            if eta is not None:
                self._last_eta[job.id] = eta
            self._track(job, due)
        elif job.active:
            self._track(job, now)

    def _track(self, job: Job, due: float) -> None:
        if job.status is Status.RUNNING:
            due = min(due, self._deadline(job))
            if job.next_poll_at != due:  # what the job in memory says is what is planned
                job = dataclasses.replace(job, next_poll_at=due)
            self._jobs[job.id] = job
            self._others.cancel(job.id)
            self._polls.at(job.id, due)
        else:
            self._jobs[job.id] = job
            self._polls.cancel(job.id)
            self._others.at(job.id, due)
        self._wake.set()

    def _later(self, job: Job, when: float) -> None:
        self._track(job, when)

    def _closed(self, job_id: str) -> None:
        """Nothing is left to do for a job: forget it, and mark it inactive with the next
        batch (adding its reactions again after a crash is harmless)."""
        self._forget(job_id)
        self._closing.add(job_id)
        self._dirty()

    def _forget(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)
        self._polls.cancel(job_id)
        self._others.cancel(job_id)
        self._writes.pop(job_id, None)
        for memo in (self._last_poll, self._last_eta, self._shown_at, self._late):
            memo.pop(job_id, None)

    def wake(self) -> None:
        """Look at the schedules now."""
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until cancelled."""
        resync_at = self.store.clock()
        while True:
            self._wake.clear()
            now = self.store.clock()
            try:
                self.tick(now)
                if self._flush_due(now):
                    await self.flush()
                if now >= resync_at:
                    await self.flush()  # what the store says active must be so
                    await self.resync()
                    resync_at = now + RESYNC_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Tracker: unexpected error; going on")
            wake_at = [resync_at]
            if self._dirty_since is not None:
                wake_at.append(self._dirty_since + FLUSH_SECONDS)
            if self._polling < POLL_CONCURRENCY and (due := self._polls.next_at()) is not None:
                wake_at.append(due)
            if (due := self._others.next_at()) is not None:
                wake_at.append(due)
            delay = min(wake_at) - self.store.clock()
            if delay > 0:
                # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that comes
                # as the event is set, and the tracker would then outlive a shutdown.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()

    def _flush_due(self, now: float) -> bool:
        """Whether the batch is due: its oldest write waited `FLUSH_SECONDS`, or it is big."""
        if self._dirty_since is None:
            return False
        return now >= self._dirty_since + FLUSH_SECONDS or len(self._writes) >= FLUSH_ROWS

    def _dirty(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = self.store.clock()

    async def stop(self) -> None:
        """Stop the work in flight (its state is in the store either way); write what waits."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(*WRITE_ERRORS):
            await self.flush()

    def tick(self, now: float | None = None) -> int:
        """Start work on every job due by `now` that a poll slot or the outbox can take."""
        now = self.store.clock() if now is None else now
        started = 0
        while self._polling < POLL_CONCURRENCY and (job_id := self._polls.pop_due(now)):
            started += self._start(job_id, poll=True)
        while job_id := self._others.pop_due(now):
            started += self._start(job_id, poll=False)
        return started

    def _start(self, job_id: str, *, poll: bool) -> int:
        job = self._jobs.get(job_id)
        if job is None:
            return 0
        if job_id in self._busy:  # its work in flight reschedules it; look again soon
            self._track(job, self.store.clock() + self.interval)
            return 0
        self._busy.add(job_id)
        JOURNAL.taken(job, self.store.clock() - job.next_poll_at)
        if poll:
            self._polling += 1
        task = asyncio.ensure_future(self._poll_task(job) if poll else self._advance(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return 1

    async def idle(self) -> None:
        """Wait until no work is in flight (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def flush(self) -> None:
        """Write the batched poll results and the ends of delivered jobs."""
        writes, self._writes = self._writes, {}
        closing, self._closing = self._closing, set()
        self._dirty_since = None
        try:
            await self.store.update_many(writes, expected=[Status.RUNNING])
            await self.store.update_many(
                {job_id: {"active": 0, "interaction_token": None} for job_id in closing}
            )
        except WRITE_ERRORS:
            self._writes = writes | self._writes  # newer results win; tried again next time
            self._closing |= closing
            self._dirty()
            raise

    async def resync(self) -> None:
        """Follow any active job of the store that is not in memory (a safety net)."""
        known = self._jobs.keys() | self._closing
        for job_id in await self.store.active_ids() - known:
            job = await self.store.get(job_id)
            if job is not None and job.active and job_id not in self._jobs:
                log.info("Tracker: following job %s, found in the store", job_id)
                self._track(job, job.next_poll_at)

    # --- polls ------------------------------------------------------------------------------

    async def _poll_task(self, job: Job) -> None:
        try:
            await self.poll(job)
        except Exception:
            log.exception("Tracker: job %s failed to advance", job.id)
            if job.id in self._jobs and job.id not in self._polls:
                self._track(job, self.store.clock() + self.ceiling())
        finally:
            self._polling -= 1
            self._busy.discard(job.id)
            self._wake.set()

    def _delay(self, job: Job, now: float) -> float:
        """How long until a running job's next poll."""
        if job.webhook_secret and self.settings.webhook_public_url is not None:
            return self.ceiling()  # push wins; polling is a safety net
        eta = self.durations.eta(job, now)
        return next_poll(eta, now, self.interval, self.ceiling(), self._late.get(job.id, 0))

    def _deadline(self, job: Job) -> float:
        return job.created_at + self.settings.job_timeout_minutes * 60

    async def poll(self, job: Job) -> None:
        """Ask Pika about a running job and act on its answer."""
        now = self.store.clock()
        polled_by = kind_of(job.kind).polled_by
        if job.pika_job_id is None and polled_by is Polling.JOB_ID:
            # Listening for a push since the paid call's outcome was unknown: none came.
            await self.end(job, "outcome_unknown", job.last_error or "", Status.FAILED)
            return
        self.polls += 1
        try:
            if polled_by is Polling.VIDEO_URL:
                answer = await self.pika.get_upscale_job(str(job.request["video"]))
            else:
                answer = await self.pika.get_job(job.pika_job_id or "")
        except PikaError as exc:
            wait = min(self.ceiling(), self.interval * 1.5 ** min(job.poll_attempts, 20))
            if isinstance(exc, PikaRateLimited) and exc.retry_after:
                wait = max(wait, exc.retry_after)
            log.info("Job %s: poll failed (%s); next in %.1fs", job.id, exc.describe(), wait)
            job = dataclasses.replace(
                job, poll_attempts=job.poll_attempts + 1, last_error=exc.describe()
            )
            await self._reschedule(job, now, now + wait)
            return
        await self.apply(job, answer.state(job.pika_job_id or ""), now)

    async def apply(self, job: Job, state: JobState, now: float | None = None) -> None:
        """Move a running job on according to what Pika says."""
        now = self.store.clock() if now is None else now
        last_poll = self._last_poll.get(job.id)
        self._last_poll[job.id] = now
        if state.status is JobStatus.FINISHED:
            seconds = observed(job, self._last_eta.get(job.id), last_poll, now)
            self._writes.pop(job.id, None)
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
                pika_seconds=seconds if job.accepted_at is not None else None,
                delivery_attempts=job.delivery_attempts + 1,
                next_poll_at=now,
            )
            if moved is not None:
                if job.accepted_at is not None:
                    self.durations.record(job.kind, seconds)
                self.outbox.recorded.add(job.id)
                self._track(moved, now)
            return
        if state.status is JobStatus.FAILED:
            await self.end(job, "pika_failed", state.reason or "", Status.FAILED)
            return
        changed = (state.raw_status, state.progress) != (job.pika_status, job.progress)
        if state.raw_status and state.raw_status != job.pika_status:
            JOURNAL.status(job, state.raw_status)
        job = dataclasses.replace(
            job,
            pika_status=state.raw_status,
            progress=state.progress,
            poll_attempts=job.poll_attempts + 1,
            last_error=None,
        )
        # Found running after the finish it was expected at: a late job, polled less often.
        expected = self._last_eta.get(job.id)
        if expected is None or expected > now:
            self._late.pop(job.id, None)
        else:
            self._late[job.id] = self._late.get(job.id, 0) + 1
        eta = self.durations.eta(job, now)
        if eta is not None:
            self._last_eta[job.id] = eta
        else:
            self._late[job.id] = job.poll_attempts  # nothing known: intervals grow
        if await self._reschedule(job, now, now + self._delay(job, now)):
            return
        if changed and now - self._shown_at.get(job.id, 0.0) >= PROGRESS_EDIT_SECONDS:
            self._shown_at[job.id] = now
            try:
                self.notifier.progress(job)
            except Exception as exc:  # progress is cosmetic; delivery decides the job's fate
                log.warning("Job %s: could not show progress: %s", job.id, exc)

    async def _reschedule(self, job: Job, now: float, due: float) -> bool:
        """Poll the job again at `due` (by its deadline at the latest), its poll written with
        the next batch; or time it out: True if it timed out."""
        if now >= self._deadline(job):
            minutes = f"{self.settings.job_timeout_minutes:g}"
            await self.end(job, "timed_out", minutes, Status.TIMED_OUT)
            return True
        job = dataclasses.replace(job, next_poll_at=min(due, self._deadline(job)))
        self._writes[job.id] = {
            "pika_status": job.pika_status,
            "progress": job.progress,
            "poll_attempts": job.poll_attempts,
            "last_error": job.last_error,
            "next_poll_at": job.next_poll_at,
        }
        self._dirty()
        self._track(job, job.next_poll_at)
        return False

    async def end(self, job: Job, failure: str, detail: str, status: Status) -> None:
        """End a running job without a video, and tell its requester at once."""
        self._writes.pop(job.id, None)
        now = self.store.clock()
        ended = await self.store.transition(
            job.id,
            [Status.RUNNING],
            status=status,
            active=1,
            pika_status=job.pika_status,
            failure=failure,
            last_error=detail[:500],
            next_poll_at=now,
            finished_at=now,
        )
        if ended is not None:
            JOURNAL.ended(ended)
            self._track(ended, now)

    # --- pushes -----------------------------------------------------------------------------

    async def pushed(self, job: Job, pika_id: str | None) -> None:
        """A webhook said this job changed. A job being polled is polled at once (but not
        sooner than an interval after its last poll); a job listening since its paid call's
        outcome was unknown adopts the Pika job the push names, once Pika confirms it; a push
        that comes before the paid call's answer is kept for when it does."""
        if job.status is Status.SENDING:
            self._early_pushes.add(job.id)
            return
        tracked = self._jobs.get(job.id)
        if tracked is None or tracked.status is not Status.RUNNING:
            log.info("Job %s: push ignored, the job is %s", job.id, job.status.value)
            return
        if tracked.pika_job_id is None and kind_of(tracked.kind).polled_by is Polling.JOB_ID:
            if pika_id:  # listening since the paid call's outcome was unknown
                await self.adopt(tracked, pika_id)
            return
        now = self.store.clock()
        last = self._last_poll.get(job.id)
        due = now if last is None else max(now, last + self.interval)
        self._track(tracked, min(due, self._polls.when(job.id) or due))

    async def adopt(self, job: Job, pika_id: str) -> None:
        """Take the Pika job a push named as this listening job's, once Pika confirms it."""
        if job.id in self._busy:
            return
        self._busy.add(job.id)
        try:
            try:
                answer = await self.pika.get_job(pika_id)
            except PikaError as exc:
                log.info("Job %s: could not confirm the pushed job (%s)", job.id, exc.describe())
                return
            if not belongs(answer, job):
                log.warning("Job %s: a push named a Pika job that is not this one's", job.id)
                return
            adopted = await self.store.transition(job.id, [Status.RUNNING], pika_job_id=pika_id)
            if adopted is None:
                return
            log.info("Job %s: adopted Pika job %s from its push", job.id, pika_id)
            self._jobs[job.id] = adopted
            await self.apply(adopted, answer.state(pika_id))
        finally:
            self._busy.discard(job.id)

    # --- everything else goes to the outbox --------------------------------------------------

    async def _advance(self, job: Job) -> None:
        try:
            if job.status is Status.SUBMITTING:
                cancelled = await self.service.cancel_unanswered(job.id, tell=True)
                if cancelled is None:  # it moved on meanwhile; the store says where
                    fresh = await self.store.get(job.id)
                    if fresh is not None and fresh.active:
                        self._track(fresh, fresh.next_poll_at)
                    else:
                        self._forget(job.id)
            elif job.status is Status.DELIVERING:
                await self.outbox.deliver(job)
            elif job.status is Status.DELIVERED:
                await self.outbox.settle_delivered(job)
            elif job.status.is_final:
                await self.outbox.tell(job)
            else:
                self._forget(job.id)
        except Exception:
            log.exception("Tracker: job %s failed to advance", job.id)
            if job.id in self._jobs and job.id not in self._others:
                self._track(job, self.store.clock() + self.ceiling())
        finally:
            self._busy.discard(job.id)
            self._wake.set()


def belongs(answer: JobResponse, job: Job) -> bool:
    """Whether Pika's answer about a pushed job fits the job listening for it: where the answer
    names its webhook URL, it must be this job's (its secret is in it)."""
    extra = answer.job.model_extra if answer.job is not None else None
    url = (extra or {}).get("webhookUrl")
    if not isinstance(url, str) or not url:
        return True
    return job.webhook_secret is not None and url.endswith(job.webhook_secret)
