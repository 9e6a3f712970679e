"""The jobs this process holds, when several processes share one database.

A process works only on the jobs whose lease it holds (`bot/storage/leases.py`). Every third of
JOB_LEASE_SECONDS the tracker calls `hold`:

- one statement renews every lease the process holds and says which jobs those are: a job that
  is no longer among them was taken over by another process after this one failed to renew in
  time, and is dropped from memory, its work in flight stopped; a job held but not followed is
  read and followed (not one whose member this process is answering: its submission moves it
  on, and a burst's renewals would read every such row whole); a push another process
  recorded for one of them is honoured;
- one more claims, in batches, the jobs no process holds and those whose lease ended, soonest
  due first: the jobs of a process that died are taken over within a lease and a third. A job
  taken over before its member's interaction was answered (`submitting`) is cancelled at once,
  one caught in its paid call (`sending`) settled at once (`JobService.settle`);
- the ledgers of Pika ids of processes that stopped are removed once none of their lines is
  needed (`JobService.tidy_ledgers`).

If renewals fail for most of a lease (the database unreachable), the process stops its work in
flight and starts none until a renewal succeeds (`lapse`): another process may take its jobs by
then, and a result must not be posted by both.

A push may reach any process. The one that holds the job makes it due (`Tracker.pushed`);
another records it in the job's row (due now, and the Pika job it names) and wakes the holder
through `Wakeups` (`forward`); without a relay between processes, the holder reads it at its
next renewal.

`Holding` is a part of `Tracker` (`tracker.py`), which holds the state named below.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.config import Settings
from bot.jobs.outbox import Notifier
from bot.jobs.polls import listening
from bot.jobs.service import JobService
from bot.jobs.wakeups import JobDue, Wakeup, Wakeups
from bot.storage import WRITE_ERRORS, Job, JobStore, Leases, Status
from bot.storage.leases import CLAIM_BATCH

log = logging.getLogger(__name__)

HOLD_FRACTION = 3  # leases are renewed, and free jobs claimed, every third of a lease
# The part of a lease, before it ends, at which a process that could not renew stops its work.
LAPSE_MARGIN = 1 / 6
# A wake-up for a job another process may hold brings the next claim forward, but a burst of
# them makes at most one claim (and renewal of every lease) a second.
WAKE_CLAIM_GAP = 1.0
FORWARD_MEMORY = 10_000  # jobs whose latest forwarded push is remembered (a bound)


class Holding:
    """Leases renewed, jobs lost and taken over, pushes received for jobs held elsewhere."""

    store: JobStore
    service: JobService
    notifier: Notifier
    settings: Settings
    wakeups: Wakeups
    _jobs: dict[str, Job]
    _closing: set[str]
    _busy: set[str]
    _running: dict[str, asyncio.Task[None]]  # each job's work in flight (a poll or a step)
    _seen_push: dict[str, float | None]  # the latest push recorded elsewhere, seen per job
    # When a push was last forwarded to another process, and the Pika job pushes named, per job.
    _forwarded: dict[str, tuple[float, str | None]]
    _held_until: float | None  # when the leases end, as last renewed
    _hold_at: float  # when `hold` is next due
    _held_at: float  # when `hold` last ran from the loop
    paused: bool  # leases may have ended: no work starts until a renewal succeeds

    def _track(self, job: Job, due: float) -> None:
        """Make the job due at `due` (the tracker's)."""
        raise NotImplementedError

    def _forget(self, job_id: str) -> None:
        """Drop a job from memory (the tracker's)."""
        raise NotImplementedError

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` beside the loop (the tracker's)."""
        raise NotImplementedError

    def wake(self) -> None:
        """Look at the schedules now (the tracker's)."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Write the batched results (the tracker's)."""
        raise NotImplementedError

    async def pushed(self, job: Job, pika_id: str | None) -> bool:
        """A push for a job this process holds (`polls.py`)."""
        raise NotImplementedError

    async def adopt(self, job: Job, pika_id: str) -> None:
        """Take the Pika job a push named (`polls.py`)."""
        raise NotImplementedError

    @property
    def leases(self) -> Leases:
        """This process's leases."""
        return self.store.leases

    @property
    def owner(self) -> str:
        """This process's id in `claimed_by`."""
        return self.store.leases.owner

    def hold_every(self) -> float:
        """How often leases are renewed and free jobs claimed."""
        return self.leases.seconds / HOLD_FRACTION

    def holds(self, job: Job) -> bool:
        """Whether this process holds `job` (as read from the database, or followed)."""
        return job.id in self._jobs or job.claimed_by == self.owner

    # --- holding and taking over -------------------------------------------------------------

    async def keep_leases(self, now: float | None = None) -> None:
        """The tracker loop's lease step: `lapse` if the leases may end soon without a renewal
        (checked first, and again after); when due, write what waits and `hold`."""
        now = self.store.clock() if now is None else now
        # Before any await: a process that hung past its lease (stopped, its loop blocked)
        # stops its work in flight first, or a delivery resumed beside the renewal could post
        # a job that another process took over and posted meanwhile.
        if self.lapsed(now):
            self.lapse()
        if now >= self._hold_at:
            self._hold_at = now + self.hold_every()
            self._held_at = now
            try:
                await self.flush()  # what the store says active must be so
            except WRITE_ERRORS as exc:  # kept for the next turn; the leases still renewed
                log.warning("Tracker: could not write the jobs' steps (%s); trying again", exc)
            try:
                await self.hold()
            except WRITE_ERRORS as exc:
                log.warning("Tracker: could not renew leases (%s); trying again", exc)
        if self.lapsed(self.store.clock()):
            self.lapse()

    async def take_jobs(self) -> int:
        """At start-up: follow the jobs this process holds already, then claim every free or
        expired one. Returns how many jobs it follows."""
        for job in await self.leases.mine():
            if job.status is not Status.SENDING:  # its paid call is this process's, in flight
                self._seen_push[job.id] = job.pushed_at
                self._track(job, job.next_poll_at)
        self._held_until = self.leases.until()
        await self._claim()
        return len(self._jobs)

    async def hold(self) -> None:
        """Renew every lease; drop the jobs lost, follow the jobs held and not followed, honour
        the pushes other processes recorded; then claim free and expired jobs."""
        before = set(self._jobs)  # a job followed during the renewal is not taken for lost
        started = self.store.clock()
        held = await self.leases.renew()
        self._held_until = started + self.leases.seconds
        await self.store.holds.renew()
        if self.paused:
            log.info("Tracker: leases renewed; work goes on")
            self.paused = False
        ids = {h.job_id for h in held}
        for job_id in before - ids:
            if job_id in self._jobs:
                self._lost(job_id)
        unknown = [
            h.job_id
            for h in held
            # A job in `sending` whose call is not in flight here was left there by a fault
            # (the write that ends it refused): followed, it is settled as interrupted.
            if (h.status is not Status.SENDING or h.job_id not in self.service.in_flight)
            and h.job_id not in self._jobs
            and h.job_id not in self._closing
            and h.job_id not in self._busy
            and h.job_id not in self.service.answering  # its submission moves it on
        ]
        for job in await self.leases.rows(unknown) if unknown else []:
            if job.active and job.claimed_by == self.owner and job.id not in self._jobs:
                log.info("Tracker: following job %s, which this process holds", job.id)
                self._seen_push[job.id] = job.pushed_at
                self._track(job, job.next_poll_at)
                if listening(job) and job.pushed_pika_job_id:  # pushed while not followed
                    self._spawn(self.adopt(job, job.pushed_pika_job_id))
        for h in held:
            if h.pushed_at is not None and h.pushed_at != self._seen_push.get(h.job_id):
                self._seen_push[h.job_id] = h.pushed_at
                self._spawn(self.woken(h.job_id, h.pushed_pika_job_id))
        await self._claim()
        # A stopped process's ledger written within a lease of the start-up (a restart at once,
        # a crash loop) is kept then, in case its process still lives: removed here, later.
        await self.service.tidy_ledgers()

    async def _claim(self) -> None:
        for hold in await self.store.holds.orphaned():
            # A member's "thinking" whose process stopped before answering them.
            log.info("Tracker: resolving a private hold left by a process that stopped")
            self._spawn(self.notifier.resolve_hold(hold))
        taken = 0
        while True:
            jobs = await self.leases.claim()
            for job in jobs:
                self._taken(job)
            taken += len(jobs)
            if len(jobs) < CLAIM_BATCH:
                break
        if taken:
            log.info("Tracker: took %d job(s) that no live process held", taken)

    def _taken(self, job: Job) -> None:
        """Follow a job claimed from no process, or from one whose lease ended."""
        self._seen_push[job.id] = job.pushed_at
        now = self.store.clock()
        # Its process stopped before the member's answer was recorded, or during the paid call:
        # settled at once (cancelled, or resumed or settled without re-sending).
        unsettled = job.status in (Status.SUBMITTING, Status.SENDING)
        self._track(job, now if unsettled else job.next_poll_at)
        if listening(job) and job.pushed_pika_job_id:
            self._spawn(self.adopt(job, job.pushed_pika_job_id))

    def _lost(self, job_id: str) -> None:
        """Another process took the job over: stop its work in flight and forget it."""
        log.warning("Tracker: job %s is held by another process now; dropping it", job_id)
        task = self._running.get(job_id)
        if task is not None:
            task.cancel()
        self._forget(job_id)

    def lapsed(self, now: float) -> bool:
        """Whether the leases may end soon without a renewal: work must stop."""
        if self._held_until is None:
            return False
        return now >= self._held_until - self.leases.seconds * LAPSE_MARGIN

    def lapse(self) -> None:
        """Stop every job's work in flight and start none until a renewal succeeds; the jobs
        still held are read again then."""
        if self.paused:
            return
        log.warning(
            "Tracker: leases not renewed for most of %gs; work on %d job(s) stops until a "
            "renewal succeeds",
            self.leases.seconds,
            len(self._jobs),
        )
        self.paused = True
        for task in list(self._running.values()):
            task.cancel()
        for job_id in list(self._jobs):
            self._forget(job_id)

    async def release(self) -> None:
        """A clean stop: give every lease up, so that other processes take the jobs at once."""
        await self.leases.release()
        await self.store.holds.release()

    # --- pushes and wake-ups -----------------------------------------------------------------

    async def forward(self, job: Job, pika_id: str | None) -> bool:
        """A push for a job this process does not hold: make it due in the database and wake
        its holder, at most once per poll interval. Returns whether this push was forwarded."""
        now = self.store.clock()
        last, named = self._forwarded.get(job.id, (None, None))
        repeat = pika_id is None or pika_id == named  # one that names a new job is news
        if last is not None and now - last < self.settings.poll_interval_seconds and repeat:
            return False
        # Counted once recorded: a push the database refused (answered 500) is recorded when
        # Pika sends it again, not taken for a repeat.
        active, holder = await self.leases.mark_due(job.id, pika_id)
        if len(self._forwarded) >= FORWARD_MEMORY:
            self._forwarded.clear()
        self._forwarded[job.id] = (now, pika_id or named)
        if not active:
            return False
        log.info("Job %s: push forwarded to the process holding it (%s)", job.id, holder or "none")
        await self.wakeups.publish(JobDue(job.id, pika_id))
        return True

    def on_wakeup(self, wakeup: Wakeup) -> None:
        """A wake-up from this process or another: a job this process holds is made due; one
        it does not hold may be free: claim soon."""
        if not isinstance(wakeup, JobDue):
            return
        if wakeup.job_id in self._jobs:
            self._spawn(self.woken(wakeup.job_id, wakeup.pika_job_id))
        else:
            soonest = max(self.store.clock(), self._held_at + WAKE_CLAIM_GAP)
            self._hold_at = min(self._hold_at, soonest)
            self.wake()

    async def woken(self, job_id: str, pika_id: str | None) -> None:
        """Honour a push another process received for a job this process holds."""
        job = self._jobs.get(job_id)
        if job is None:  # a job in its paid call is not followed: the push is kept for it
            job = await self.store.get(job_id)
            if job is None or job.claimed_by != self.owner or job.status is not Status.SENDING:
                return
        await self.pushed(job, pika_id)
