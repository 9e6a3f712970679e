"""The tracker: follows every active job to its end, polling Pika by each job's progress.

It holds the jobs this process works on in memory (`_jobs`: what a lease would claim when
several processes share the work), each due at a time in one of two schedules:

- polls (jobs `running` at Pika), taken in due order by at most `POLL_CONCURRENCY` polls in
  flight; how a poll is planned and what its answer does is in `polls.py`;
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
from collections.abc import Coroutine
from typing import Any

from bot.config import Settings
from bot.jobs.estimates import Durations
from bot.jobs.journal import JOURNAL
from bot.jobs.outbox import Notifier, Outbox
from bot.jobs.polls import PollSteps, listening
from bot.jobs.schedule import Schedule
from bot.jobs.service import JobService
from bot.pika.client import PikaClient
from bot.storage import WRITE_ERRORS, Job, JobStore, Status

log = logging.getLogger(__name__)

POLL_CONCURRENCY = 64
FLUSH_SECONDS = 0.5
FLUSH_ROWS = 2000
RESYNC_SECONDS = 30.0
DURATIONS_PER_KIND = 20


class Tracker(PollSteps):
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
        self._early_pushes: dict[str, str | None] = {}
        self._pushed_at: dict[str, float] = {}  # each job's latest push counted as first
        self._push_pending: set[str] = set()  # pushed while a poll of theirs was in flight
        self._dirty_since: float | None = None  # when the oldest unwritten result came
        self._wake = asyncio.Event()
        self.polls = 0

    # --- what the tracker follows -----------------------------------------------------------

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
            pushed = job.id in self._early_pushes
            early_id = self._early_pushes.pop(job.id, None)
            if listening(job):  # only a push ends its wait; its time-out ends it otherwise
                self._track(job, self._deadline(job))
                if early_id:  # Pika pushed its job before the paid call's answer was lost
                    self._spawn(self.adopt(job, early_id))
                return
            due = now if pushed else now + self._delay(job, now)
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
        self._push_pending.discard(job_id)
        self._early_pushes.pop(job_id, None)
        for memo in (self._last_poll, self._last_eta, self._shown_at, self._late, self._pushed_at):
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

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the loop; `stop` cancels it with the rest."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
