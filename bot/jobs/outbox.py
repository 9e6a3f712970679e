"""What a job that left Pika owes its requester, handed to Discord exactly once: its result, or
why it ended without one.

The outbox works beside the polls, never in their way: a delivery takes one of
`DELIVERY_CONCURRENCY` slots only while it downloads and posts (Discord's rate limits pace the
posts themselves, see `bot/discord/delivery.py`), and nothing a poll needs is held meanwhile.
Exactly once: each delivery attempt is recorded before it is made, so a later attempt (after a
crash, or a failure that may have come after Discord took the post) first looks for the post
an earlier one made. With several processes, an attempt is recorded only while this process
holds the job's lease (compare-and-set on the status and the holder), and extends it: a process
that took the job over after this one stopped renewing makes the next attempt, which looks for
this one's post first. Delivery is retried `MAX_DELIVERY_ATTEMPTS` times at most, with growing
waits; a result that can never be posted where it was asked for is sent to its requester by DM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from bot.config import Settings
from bot.jobs.journal import JOURNAL
from bot.storage import Hold, Job, JobStore, Status

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 6
# A job's recorded attempts (`delivery_attempts`) past which its end is no longer told: those of
# a delivery that failed, then those of telling so.
TOLD_AT_MOST = 2 * MAX_DELIVERY_ATTEMPTS
# A job told (or given up on) rests: no longer followed, its token forgotten, held by no one.
RESTING: dict[str, object] = {
    "active": 0,
    "interaction_token": None,
    "claimed_by": None,
    "claimed_until": 0,
}
# Downloads and posts in flight at once: a bound on open files and connections, far above what
# Discord lets one bot post at once, so that Discord, not this bound, sets the pace.
DELIVERY_CONCURRENCY = 64


class Undeliverable(Exception):
    """The result can never be posted where it was asked for (channel gone, no permission)."""


class DeliveryFailed(Exception):
    """Posting failed for now (Discord trouble); worth another try later."""


class Notifier(Protocol):
    """What the job core needs from the Discord side."""

    # Whether this process may still post for the jobs it holds: the tracker that is given
    # this notifier sets it to its own `may_act` (its leases renewed in time).
    may_post: Callable[[], bool]

    def progress(self, job: Job) -> None:
        """Show the job's status and progress on its working message (queued: returns at
        once, and a newer progress of the same job replaces one not yet shown)."""

    async def deliver(self, job: Job) -> int:
        """Post the result; return its message id. Raise Undeliverable or DeliveryFailed."""

    async def find_posted(self, job: Job) -> int | None:
        """The result message an earlier attempt may have posted, if it can be found."""

    async def adorn(self, job: Job) -> None:
        """After the result is recorded: add its reactions and remove a working message left
        behind."""

    async def tell_failure(self, job: Job) -> None:
        """Tell the requester the job failed or timed out, and why; after an earlier attempt
        (`delivery_attempts` > 1), unless that one is found to have told. Raise DeliveryFailed
        while Discord fails."""

    async def tell_undeliverable(self, job: Job) -> None:
        """Tell the requester (by DM) that the result could not be posted."""

    async def resolve_hold(self, hold: Hold) -> None:
        """A member's private "thinking" left by a process that stopped before answering:
        say there, while it still shows, that the bot restarted and nothing was made or paid
        (a job admitted for it tells its member itself). Never raises."""


class Outbox:
    """Delivers results and tells failures; the tracker hands it jobs and takes them back."""

    def __init__(
        self,
        store: JobStore,
        notifier: Notifier,
        settings: Settings,
        *,
        later: Callable[[Job, float], None],
        ended: Callable[[Job], None],
        closed: Callable[[str], None],
        dropped: Callable[[str], None] = lambda job_id: None,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.settings = settings
        self._later = later  # the job is due again at a time (a delivery retry)
        self._ended = ended  # the job ended without a video: tell its requester
        self._closed = closed  # nothing is left to do for the job
        self._dropped = dropped  # another process holds the job, or moved it on: forget it
        self._slots = asyncio.Semaphore(DELIVERY_CONCURRENCY)
        # Jobs whose next attempt is recorded (as `delivery_attempts`) but not yet made. Any
        # other job in `delivering` (read from the store after a restart) may have made its
        # recorded attempt: its next one is recorded first, and looks for that post.
        self.recorded: set[str] = set()
        self._tells: dict[str, int] = {}  # failed attempts to tell a job's end, by job

    def retry_wait(self, attempt: int) -> float:
        """How long after a failed attempt the next one comes."""
        interval = self.settings.poll_interval_seconds
        return float(min(max(interval, 60.0), 2.0 * 2**attempt))

    async def deliver(self, job: Job) -> None:
        """Post a finished job's result exactly once."""
        if job.result_message_id is not None:  # posted before a crash, not yet recorded
            done = await self._record(job, held=True, status=Status.DELIVERED, active=1)
            if done is not None:
                JOURNAL.delivered(done)
                await self.settle_delivered(done)
            return
        attempt = job.delivery_attempts
        if job.id in self.recorded:
            self.recorded.discard(job.id)
        else:
            attempt += 1
            recorded = await self._record(job, held=True, delivery_attempts=attempt)
            if recorded is None:
                return
            job = recorded
        try:
            async with self._slots:
                message_id = await self.notifier.find_posted(job) if attempt > 1 else None
                if message_id is None:
                    message_id = await self.notifier.deliver(job)
                else:
                    log.info("Job %s: its result was already posted", job.id)
        except Undeliverable as exc:
            log.warning("Job %s: undeliverable: %s", job.id, exc)
            await self._end(job, "undeliverable", str(exc))
            return
        except Exception as exc:
            # A failed attempt, whatever it raised (DeliveryFailed, or a surprise: logged in
            # full): counted, so that attempts end, and the next one looks for this one's post.
            if not isinstance(exc, DeliveryFailed):
                log.exception("Job %s: unexpected error while delivering", job.id)
                exc = DeliveryFailed("delivery.discord_error")
            if attempt >= MAX_DELIVERY_ATTEMPTS:
                await self._end(job, "discord", str(exc))
                return
            wait = self.retry_wait(attempt)
            log.warning("Job %s: delivery failed (%s); retry in %.0fs", job.id, exc, wait)
            retry_at = self.store.clock() + wait
            # Recorded before the next attempt: it looks for the post this one may have made.
            retried = await self._record(
                job,
                held=True,
                last_error=str(exc)[:500],
                next_poll_at=retry_at,
                delivery_attempts=attempt + 1,
            )
            if retried is not None:
                self.recorded.add(job.id)
                self._later(retried, retry_at)
            return
        # Recorded before the reactions go on, so a member who reacts at once finds the job;
        # active until they are on, so a crash in between adds them after the restart. Whoever
        # holds the job now: the post is made.
        done = await self._record(
            job,
            held=False,
            status=Status.DELIVERED,
            result_message_id=message_id,
            active=1,
            finished_at=self.store.clock(),
        )
        if done is not None:
            JOURNAL.delivered(done)
            await self.settle_delivered(done)

    async def _record(self, job: Job, *, held: bool, **changes: object) -> Job | None:
        """A step of a job in `delivering`, compare-and-set on its status (and, with `held`, on
        this process holding it), which makes (or keeps) the job this process's; None, and the
        job forgotten, when another process holds it or moved it on."""
        changes |= self.store.leases.taken()
        done = await self.store.transition(job.id, [Status.DELIVERING], held=held, **changes)
        if done is None:
            log.info("Job %s: moved on or held by another process; leaving it", job.id)
            self.recorded.discard(job.id)
            self._dropped(job.id)
        return done

    async def settle_delivered(self, job: Job) -> None:
        """Put the reactions on a posted result (and remove a working message it did not
        replace); then rest."""
        try:
            await self.notifier.adorn(job)
        except Exception as exc:  # cosmetic: the video and its buttons are posted
            log.warning("Job %s: could not add reactions: %s", job.id, exc)
        self._closed(job.id)

    async def tell(self, job: Job) -> None:
        """Tell the requester why the job ended without a video, once: each attempt is
        recorded (`delivery_attempts`) before it is made, so that one after an attempt that may
        have told (its answer lost, a crash) looks for that message first. Retried a few times
        while Discord fails, then given up."""
        attempt = job.delivery_attempts + 1
        if attempt > TOLD_AT_MOST:
            # The count in memory starts again in each process; this one, the job's own, ends
            # the tries of a bot in a crash loop too.
            rested = await self.store.transition(job.id, [job.status], held=True, **RESTING)
            if rested is not None:
                log.warning("Job %s: could not tell its requester; giving up", job.id)
            self._tells.pop(job.id, None)
            self._closed(job.id)
            return
        recorded = await self.store.transition(
            job.id, [job.status], held=True, delivery_attempts=attempt
        )
        if recorded is None:
            log.info("Job %s: moved on meanwhile; leaving it", job.id)
            self._tells.pop(job.id, None)
            self._dropped(job.id)
            return
        job = recorded
        try:
            if job.status is Status.UNDELIVERABLE:
                await self.notifier.tell_undeliverable(job)
            else:
                await self.notifier.tell_failure(job)
        except Exception as exc:  # DeliveryFailed, or a surprise (logged in full): counted
            if not isinstance(exc, DeliveryFailed):
                log.exception("Job %s: unexpected error while telling", job.id)
            tries = self._tells.get(job.id, 0) + 1
            if tries < MAX_DELIVERY_ATTEMPTS:
                self._tells[job.id] = tries
                wait = self.retry_wait(tries)
                log.warning("Job %s: telling failed (%s); retry in %.0fs", job.id, exc, wait)
                self._later(job, self.store.clock() + wait)
                return
            log.warning("Job %s: could not tell its requester (%s); giving up", job.id, exc)
        self._tells.pop(job.id, None)
        # Written at once, not in a batch: a second telling would be a second message.
        await self.store.update(job.id, **RESTING)
        self._closed(job.id)

    async def _end(self, job: Job, failure: str, detail: str) -> None:
        now = self.store.clock()
        ended = await self._record(
            job,
            held=True,
            status=Status.UNDELIVERABLE,
            active=1,
            failure=failure,
            last_error=detail[:500],
            next_poll_at=now,
            finished_at=now,
        )
        if ended is not None:
            JOURNAL.ended(ended)
            self._ended(ended)
