"""The tracker: follows every active job to its end, polling Pika by each job's progress.

It holds the jobs this process works on in memory (`_jobs`): those whose lease it holds, when
several processes share the database (`holding.py`: claimed, renewed, lost, taken over), each
due at a time in one of two schedules:

- polls (jobs `running` at Pika), taken in due order by at most `POLL_CONCURRENCY` polls in
  flight; how a poll is planned and what its answer does is in `polls.py`;
- the rest (a result to post, a failure to tell, an answer never recorded), handed to the
  outbox (`outbox.py`), which runs beside the polls: a poll never waits behind a delivery.

Polls are taken on a grid whose step is a twentieth of the poll interval (`POLL_GRAIN`; a quarter
of a second at the default 5 s) once `GRAIN_FULL_AT` jobs are followed: a poll due between two
points of it waits for the next, with the others due by then. Each poll is at most one step
late, and the process wakes a few times a second for its polls instead of once per poll: with
thousands of jobs followed, each wake-up and each lone request cost more CPU than the poll
itself, while polls sent together share the event loop's turns (`benchmarks/burst.py`, its
tracked run). With fewer jobs the step shrinks in proportion: there is little to gather, and
every hundredth of a second a poll waits is one in its result's delay.

Poll results are written in batches every `FLUSH_SECONDS` (a crash only costs a poll again);
every step that comes before a side effect (a result about to be posted, a failure about to be
told) is written at once, compare-and-set on the status, so each happens exactly once, whichever
process wins it. Every third of JOB_LEASE_SECONDS the leases are renewed and free or expired
jobs claimed (`Holding.hold`), which is also the safety net that follows a held job memory
missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
from collections.abc import Coroutine
from typing import Any

from bot.config import Settings
from bot.jobs.estimates import Durations
from bot.jobs.holding import Holding
from bot.jobs.journal import JOURNAL
from bot.jobs.outbox import Notifier, Outbox
from bot.jobs.polls import PollSteps, listening
from bot.jobs.schedule import Schedule
from bot.jobs.service import JobService
from bot.jobs.wakeups import LocalWakeups, Wakeups
from bot.pika.client import PikaClient
from bot.storage import WRITE_ERRORS, Job, JobStore, Status

log = logging.getLogger(__name__)

POLL_CONCURRENCY = 64
POLL_GRAIN = 1 / 20  # of the poll interval: how late a poll may be taken, to go with others
GRAIN_FULL_AT = 1000  # jobs followed from which the grid has its full step
FLUSH_SECONDS = 0.5
FLUSH_ROWS = 2000
DURATIONS_PER_KIND = 20


class Tracker(PollSteps, Holding):
    """Polls, delivers and notifies until every job it holds has ended."""

    def __init__(
        self,
        store: JobStore,
        pika: PikaClient,
        service: JobService,
        notifier: Notifier,
        settings: Settings,
        durations: Durations | None = None,
        wakeups: Wakeups | None = None,
    ) -> None:
        self.store = store
        self.pika = pika
        self.service = service
        self.notifier = notifier
        # Only the tracker knows whether its leases still hold; what acts on its jobs outside
        # it (the paid call's re-sends, a post after a long download) asks it. Set here, so
        # that no tracker can be built without them asking (the app once set them by hand).
        service.may_act = notifier.may_post = self.may_act
        self.settings = settings
        self.durations = durations or Durations()
        self.outbox = Outbox(
            store,
            notifier,
            settings,
            later=self._later,
            ended=self.follow,
            closed=self._closed,
            dropped=self._forget,
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
        self._key_refused: set[str] = set()  # latest poll refused for the bot's key
        self._failed_polls: dict[str, int] = {}  # polls in a row that got no answer
        self._not_found: dict[str, tuple[int, float]] = {}  # 404s in a row, since when
        self._dirty_since: float | None = None  # when the oldest unwritten result came
        self._wake = asyncio.Event()
        self.polls = 0
        self._running: dict[str, asyncio.Task[None]] = {}
        self._seen_push: dict[str, float | None] = {}
        self._forwarded: dict[str, tuple[float, str | None]] = {}
        self._held_until: float | None = None
        self._hold_at = store.clock()
        self._held_at = float("-inf")  # when `hold` last ran from the loop
        self.paused = False
        self.wakeups = wakeups or LocalWakeups()
        self.wakeups.subscribe(self.on_wakeup)

    # --- what the tracker follows -----------------------------------------------------------

    async def load(self) -> int:
        """At start-up: the durations of recent jobs, and every active job this process holds
        or can claim; returns how many it follows. A database that refuses now (locked past its
        busy timeout, unreachable) holds the jobs back only until then: `run` claims them at
        its first renewal that succeeds."""
        try:
            self.durations.seed(await self.store.durations(DURATIONS_PER_KIND))
            return await self.take_jobs()
        except WRITE_ERRORS as exc:
            log.warning("Tracker: cannot take the jobs yet (%s); trying again", exc)
            return len(self._jobs)

    def follow(self, job: Job) -> None:
        """A job moved on outside the tracker (sent to Pika, failed, cancelled): follow it."""
        now = self.store.clock()
        if job.status is Status.RUNNING:
            pushed = job.id in self._early_pushes
            # Or recorded in the row: pushed before this process took over a dead one's call.
            early_id = self._early_pushes.pop(job.id, None) or job.pushed_pika_job_id
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
            # By its deadline at the latest; once past it, an interval from now at the latest,
            # never "due already" unless asked: a job that cannot be ended then must not spin.
            deadline, now = self._deadline(job), self.store.clock()
            due = min(due, deadline if deadline > now else now + self.interval)
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
        self._key_refused.discard(job_id)
        self._early_pushes.pop(job_id, None)
        self._seen_push.pop(job_id, None)
        memos = (self._last_poll, self._last_eta, self._shown_at, self._late, self._pushed_at)
        for memo in (*memos, self._failed_polls, self._not_found):
            memo.pop(job_id, None)

    def wake(self) -> None:
        """Look at the schedules now."""
        self._wake.set()

    def may_act(self) -> bool:
        """Whether this process may start a step on the jobs it holds: its leases are renewed
        in time (another process may take them over otherwise)."""
        return not self.paused and not self.lapsed(self.store.clock())

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until cancelled."""
        self._hold_at = self.store.clock()
        while True:
            self._wake.clear()
            now = self.store.clock()
            try:
                await self.keep_leases(now)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Tracker: unexpected error while holding jobs; going on")
            try:
                self.tick(now)
                if self._flush_due(now):
                    try:
                        await self.flush()
                    except WRITE_ERRORS as exc:
                        # The database away (PostgreSQL stopped, a full disk): the batch is
                        # kept for the next turn, as the lease step says of the same write.
                        log.warning(
                            "Tracker: could not write the jobs' steps (%s); trying again", exc
                        )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Tracker: unexpected error; going on")
            wake_at = [self._hold_at]
            if not self.paused:  # paused, nothing starts before the next renewal
                if self._dirty_since is not None:
                    wake_at.append(self._dirty_since + FLUSH_SECONDS)
                due = self._polls.next_at() if self._polling < POLL_CONCURRENCY else None
                if due is not None:
                    wake_at.append(on_grain(due, self.grain()))
                if (due := self._others.next_at()) is not None:
                    wake_at.append(due)
            await self.sleep_until(min(wake_at))

    async def sleep_until(self, when: float) -> None:
        """Wait until `when` by the store's clock, or until something wakes the loop (`wake`).
        The loop's one wait: a test may replace it, to make time pass exactly to `when`."""
        delay = when - self.store.clock()
        if delay > 0:
            # Not asyncio.wait_for: on Python 3.11 it can swallow a cancellation that comes
            # as the event is set, and the tracker would then outlive a shutdown.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    def grain(self) -> float:
        """The step of the polls' grid: `POLL_GRAIN` of the interval once `GRAIN_FULL_AT` jobs
        are followed, less in proportion below."""
        return self.interval * POLL_GRAIN * min(1.0, len(self._polls) / GRAIN_FULL_AT)

    def _flush_due(self, now: float) -> bool:
        """Whether the batch is due: its oldest write waited `FLUSH_SECONDS`, or it is big."""
        if self._dirty_since is None:
            return False
        return now >= self._dirty_since + FLUSH_SECONDS or len(self._writes) >= FLUSH_ROWS

    def _dirty(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = self.store.clock()

    async def stop(self) -> None:
        """Stop the work in flight (its state is in the store either way); write what waits,
        and release the leases for other processes to take the jobs at once."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(*WRITE_ERRORS):
            await self.flush()
            await self.release()
        # Its jobs are the others' now: a push that still comes (the HTTP server stops last)
        # is recorded for them (`forward`), not acted on here.
        for job_id in list(self._jobs):
            self._forget(job_id)

    def tick(self, now: float | None = None) -> int:
        """Start work on every job due by `now` that a poll slot or the outbox can take."""
        now = self.store.clock() if now is None else now
        started = 0
        if self.paused:  # leases may have ended: nothing starts until a renewal succeeds
            return 0
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
        self._running[job_id] = task
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda done: self._ran(job_id, done))
        return 1

    def _ran(self, job_id: str, task: asyncio.Task[None]) -> None:
        if self._running.get(job_id) is task:
            del self._running[job_id]

    async def idle(self) -> None:
        """Wait until no work is in flight (for tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def flush(self) -> None:
        """Write the batched poll results and the ends of delivered jobs."""
        writes, self._writes = self._writes, {}
        closing, self._closing = self._closing, set()
        self._dirty_since = None
        ended = {"active": 0, "interaction_token": None, "claimed_by": None, "claimed_until": 0}
        try:
            # Only the jobs this process still holds: one taken over is another's to write.
            await self.store.update_many(writes, expected=[Status.RUNNING], held=True)
            await self.store.update_many({job_id: ended for job_id in closing}, held=True)
        except WRITE_ERRORS:
            self._writes = writes | self._writes  # newer results win; tried again next time
            self._closing |= closing
            self._dirty()
            raise

    # --- polls ------------------------------------------------------------------------------

    async def _poll_task(self, job: Job) -> None:
        try:
            await self.poll(job)
        except Exception:
            log.exception("Tracker: job %s failed to advance", job.id)
            if job.id in self._jobs and job.id not in self._polls:
                await self.unforeseen(job)
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
                    if (
                        fresh is not None
                        and fresh.active
                        and fresh.status is not Status.SENDING
                        and fresh.claimed_by == self.owner  # not one another process won
                    ):
                        self._track(fresh, fresh.next_poll_at)
                    else:
                        self._forget(job.id)
            elif job.status is Status.SENDING:  # taken over from a process that stopped
                if await self.service.settle(job) is job:  # this process's call, in flight
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


def on_grain(due: float, step: float) -> float:
    """The first point of the polls' grid (of `step` seconds) at or after `due`; never before
    it (`ceil(due / step) * step` can round to a hair before `due`, and a wake-up there would
    find nothing due and go round again without waiting); `due` itself with no grid."""
    if step <= 0:
        return due
    return max(due, math.ceil(due / step) * step)
