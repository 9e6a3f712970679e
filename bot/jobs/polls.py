"""The tracker's steps at Pika: a poll and what its answer changes, and pushes.

A running job's next poll is planned from what Pika reported and how long recent jobs of its
kind took (`estimates.py`): just after its expected finish, never sooner than
POLL_INTERVAL_SECONDS after its last poll, never later than `CEILING_INTERVALS` intervals, and
not after its time-out; a job found still running after its expected finish is polled less and
less often. With push configured polls are only a safety net, at the ceiling, and a push makes
the job due at once. Pika's failed statuses (`failed`, `error` and their kin:
`FAILED_STATUSES`) end the job; unknown statuses keep it running; a job Pika answers 404 about,
poll after poll for minutes, is one it no longer knows and ends as failed (`NOT_FOUND_POLLS`);
no final status by JOB_TIMEOUT_MINUTES times it out. A poll's result is written with the next
batch; a step before a side effect (the result about to be posted, a failure about to be told)
is written at once, compare-and-set on the status, and makes the job the winner's (its lease)
for what follows.

`PollSteps` is half of `Tracker` (`tracker.py`), which holds the state named below.
"""

from __future__ import annotations

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
from bot.pika.errors import (
    PikaAuthError,
    PikaError,
    PikaPlanError,
    PikaRateLimited,
    PikaRejected,
)
from bot.pika.kinds import Polling
from bot.pika.kinds import kind as kind_of
from bot.pika.models import JobResponse, JobState, JobStatus
from bot.storage import WRITE_ERRORS, Job, JobStore, Status

log = logging.getLogger(__name__)

CEILING_INTERVALS = 6
MAX_CEILING = 60.0
PROGRESS_EDIT_SECONDS = 3.0
# A job whose progress stands still still has its working message refreshed this often, so the
# expected end it shows is recomputed and never lies in the past for long.
PROGRESS_REFRESH_SECONDS = 20.0
# A job Pika answers 404 about (get-job, or get-upscale-job by its video) this many polls in a
# row, the first of them at least NOT_FOUND_SECONDS ago, is one Pika no longer knows: it ends as
# failed then rather than at its time-out, half an hour later. Both must hold: Pika may not find
# a job it has just made (nothing documents how soon one can be read), and one stray 404, or a
# few in quick succession while Pika's store catches up, must not end a job that will finish.
NOT_FOUND_POLLS = 5
NOT_FOUND_SECONDS = 120.0


class PollSteps:
    """Polls and pushes of running jobs; the tracker's loop decides when."""

    store: JobStore
    pika: PikaClient
    settings: Settings
    service: JobService
    notifier: Notifier
    durations: Durations
    outbox: Outbox
    polls: int
    _jobs: dict[str, Job]
    _polls: Schedule
    _busy: set[str]
    _writes: dict[str, dict[str, Any]]
    _last_poll: dict[str, float]
    _last_eta: dict[str, float]
    _late: dict[str, int]
    _shown_at: dict[str, float]
    _early_pushes: dict[str, str | None]  # pushes before the paid call's answer: Pika's id
    _pushed_at: dict[str, float]
    _push_pending: set[str]
    _key_refused: set[str]  # jobs whose latest poll Pika refused for the bot's key
    _failed_polls: dict[str, int]  # polls in a row that got no answer, by job
    _not_found: dict[str, tuple[int, float]]  # 404s in a row, and when the first came, by job

    def _track(self, job: Job, due: float) -> None:
        """Make the job due at `due` (the tracker's)."""
        raise NotImplementedError

    def _dirty(self) -> None:
        """A write waits for the next batch (the tracker's)."""
        raise NotImplementedError

    def may_act(self) -> bool:
        """Whether this process's leases are renewed in time (the tracker's)."""
        raise NotImplementedError

    @property
    def interval(self) -> float:
        """POLL_INTERVAL_SECONDS: the least time between two polls of a job."""
        return self.settings.poll_interval_seconds

    def ceiling(self) -> float:
        """The longest time between two polls: a few intervals, at most a minute."""
        return max(self.interval, min(MAX_CEILING, self.interval * CEILING_INTERVALS))

    def _delay(self, job: Job, now: float) -> float:
        """How long until a running job's next poll."""
        if listening(job):  # no Pika id to poll by: wait for the push until the time-out
            return max(0.0, self._deadline(job) - now)
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
            await self.end(job, "pika_outcome_unknown", job.last_error or "", Status.FAILED)
            return
        self.polls += 1
        try:
            if polled_by is Polling.VIDEO_URL:
                answer = await self.pika.get_upscale_job(str(job.request["video"]))
            else:
                answer = await self.pika.get_job(job.pika_job_id or "")
        except PikaError as exc:
            if self._not_known(job, exc, now):
                log.warning(
                    "Job %s: Pika has answered %d polls in a row that it has no such job (%s); "
                    "ending it",
                    job.id,
                    self._not_found[job.id][0],
                    exc.describe(),
                )
                await self.end(job, "pika_job_gone", exc.describe(), Status.FAILED)
                return
            # Backing off by the polls that failed in a row, not by all the job's polls.
            failed = self._failed_polls.get(job.id, 0)
            self._failed_polls[job.id] = failed + 1
            wait = min(self.ceiling(), self.interval * 1.5 ** min(failed, 20))
            if isinstance(exc, PikaRateLimited) and exc.retry_after:
                # Honoured up to a minute: an hour asked (by a proxy, say) would put the poll at
                # the job's time-out, and a video made meanwhile would wait for it.
                wait = max(wait, min(exc.retry_after, MAX_CEILING))
            log.info("Job %s: poll failed (%s); next in %.1fs", job.id, exc.describe(), wait)
            # A read needs no plan: 401 or 403 on one is the key refused (as in the key check).
            if isinstance(exc, PikaAuthError | PikaPlanError):
                self._key_refused.add(job.id)
            else:
                self._key_refused.discard(job.id)
            job = dataclasses.replace(
                job,
                poll_attempts=job.poll_attempts + 1,
                last_error=self.service.redact(exc.describe()),
            )
            await self._reschedule(job, now, now + wait)
            return
        await self.apply(job, answer.state(job.pika_job_id or ""), now)

    def _not_known(self, job: Job, exc: PikaError, now: float) -> bool:
        """Count a failed poll: whether Pika has now answered 404 about the job often enough,
        for long enough, to be taken at its word (NOT_FOUND_POLLS, NOT_FOUND_SECONDS). Any
        other outcome breaks the run: only 404s in a row count."""
        if not isinstance(exc, PikaRejected) or exc.status != 404:
            self._not_found.pop(job.id, None)
            return False
        count, since = self._not_found.get(job.id, (0, now))
        self._not_found[job.id] = (count + 1, since)
        return count + 1 >= NOT_FOUND_POLLS and now - since >= NOT_FOUND_SECONDS

    async def apply(self, job: Job, state: JobState, now: float | None = None) -> None:
        """Move a running job on according to what Pika says."""
        now = self.store.clock() if now is None else now
        self._key_refused.discard(job.id)
        self._failed_polls.pop(job.id, None)
        self._not_found.pop(job.id, None)
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
                **self.store.leases.taken(now),  # the process that moved it on delivers it
            )
            if moved is not None:
                if job.accepted_at is not None:
                    self.durations.record(job.kind, seconds)
                self.outbox.recorded.add(job.id)
                self._track(moved, now)
            return
        if state.status is JobStatus.FAILED:
            log.info("Job %s: Pika reports it failed: %s", job.id, state.reason or "-")
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
        shown_at = self._shown_at.get(job.id)
        news = changed and (shown_at is None or now - shown_at >= PROGRESS_EDIT_SECONDS)
        # Expected to be done, on time, before another edit would be allowed: the result will
        # replace the message first, so an edit now would only flicker (and cost a request).
        ending = eta is not None and now < eta < now + PROGRESS_EDIT_SECONDS
        if ending and not self._late.get(job.id):
            news = False
        stale = now - (job.created_at if shown_at is None else shown_at) >= PROGRESS_REFRESH_SECONDS
        # Not from an answer that came after the leases may have ended (this process hung with
        # the poll in flight): the job may be another's, its working message made its result.
        if (news or stale) and self.may_act():
            self._shown_at[job.id] = now
            try:
                self.notifier.progress(job)
            except Exception as exc:  # progress is cosmetic; delivery decides the job's fate
                log.warning("Job %s: could not show progress: %s", job.id, exc)

    async def _reschedule(self, job: Job, now: float, due: float) -> bool:
        """Poll the job again at `due` (by its deadline at the latest), its poll written with
        the next batch; or time it out: True if it timed out."""
        if now >= self._deadline(job):
            await self.time_out(job)
            return True
        if job.id in self._push_pending:  # a push came while this poll was in flight
            self._push_pending.discard(job.id)
            due = min(due, now + self.interval)
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

    async def time_out(self, job: Job) -> None:
        """End a job that reached JOB_TIMEOUT_MINUTES without a final status; its member is
        told why: the time, or the bot's key, if Pika refused it at the latest poll (polls go
        on until then, for an owner may mend the key)."""
        minutes = f"{self.settings.job_timeout_minutes:g}"
        if job.id in self._key_refused:  # the owner reads why in `last_error`
            await self.end(job, "pika_auth", job.last_error or "", Status.TIMED_OUT)
        else:
            await self.end(job, "timed_out", minutes, Status.TIMED_OUT)

    async def unforeseen(self, job: Job) -> None:
        """A poll failed in a way nobody foresaw (a bug, an answer no PikaError names): ask
        again at the ceiling, or time the job out once past its deadline. Rescheduled there
        instead, it would be due at once, and polled again and again without end."""
        now = self.store.clock()
        if now < self._deadline(job):
            self._track(job, now + self.ceiling())
            return
        try:
            await self.time_out(job)
        except Exception:
            log.exception("Job %s: could not time it out; trying again", job.id)
            self._track(job, now + self.ceiling())

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
            last_error=self.service.redact(detail)[:500],
            next_poll_at=now,
            finished_at=now,
            **self.store.leases.taken(now),  # the process that ended it tells its requester
        )
        if ended is not None:
            JOURNAL.ended(ended)
            self._track(ended, now)

    # --- pushes -----------------------------------------------------------------------------

    async def pushed(self, job: Job, pika_id: str | None) -> bool:
        """A webhook said this job changed. A job being polled is polled at once, but not
        sooner than an interval after its last poll, so that however many pushes come it is
        asked about at most once an interval; a job listening since its paid call's outcome
        was unknown adopts the Pika job the push names, once Pika confirms it; a push that
        comes before the paid call's answer is kept for when it does. Returns whether this is
        the job's first push in an interval (the receiver logs only those)."""
        now = self.store.clock()
        first = now - self._pushed_at.get(job.id, now - self.interval) >= self.interval
        if first:
            self._pushed_at[job.id] = now
        tracked = self._jobs.get(job.id)
        # Kept for the paid call's answer, unless the row was read before the call ended and
        # the job is followed already (kept then, it would wait for an answer that came). A
        # later push that names no job keeps the one an earlier push named.
        if job.status is Status.SENDING and (tracked is None or tracked.status is Status.SENDING):
            named = self._early_pushes.get(job.id)
            self._early_pushes[job.id] = pika_id or named
            if pika_id and pika_id != named:
                # In the row too: if this process dies before the answer, its taker adopts it.
                try:
                    await self.store.leases.mark_due(job.id, pika_id)
                except WRITE_ERRORS as exc:
                    log.warning("Job %s: could not record its push (%s)", job.id, exc)
            return first
        if tracked is None and job.status is Status.RUNNING:
            # Held here but not followed this moment (paused after a lapse, or just claimed):
            # recorded in the row, the push reaches whoever follows the job next (`hold`).
            await self.store.leases.mark_due(job.id, pika_id)
            return False
        if tracked is None or tracked.status is not Status.RUNNING:
            self._pushed_at.pop(job.id, None)  # remembered only for the jobs followed
            log.debug("Job %s: push ignored, the job is %s", job.id, job.status.value)
            return False
        if listening(tracked):
            if pika_id:  # listening since the paid call's outcome was unknown
                await self.adopt(tracked, pika_id)
            return first
        self._last_eta[job.id] = now  # a push says it ended about now
        if job.id in self._busy:  # the poll in flight may have been answered before the push
            self._push_pending.add(job.id)
        last = self._last_poll.get(job.id)
        due = now if last is None else max(now, last + self.interval)
        self._track(tracked, min(due, self._polls.when(job.id) or due))
        return first

    async def adopt(self, job: Job, pika_id: str) -> None:
        """Take the Pika job a push named as this listening job's, once Pika confirms it."""
        if job.id in self._busy:
            return
        self._busy.add(job.id)
        try:
            try:
                answer = await self.pika.get_job(pika_id)
            except PikaError as exc:
                # The push was answered and will not come again: kept in the row, it is tried
                # again at the holder's next renewal (this process's, or a taker's) until the
                # job's time-out, rather than the video Pika made being lost.
                log.info("Job %s: could not confirm the pushed job (%s)", job.id, exc.describe())
                try:
                    await self.store.leases.mark_due(job.id, pika_id)
                except WRITE_ERRORS as write:
                    log.warning("Job %s: could not keep the pushed job (%s)", job.id, write)
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


def listening(job: Job) -> bool:
    """Whether a running job has no Pika id to poll by: its paid call's outcome was unknown,
    and it waits for Pika's push to name its job."""
    return (
        job.status is Status.RUNNING
        and job.pika_job_id is None
        and kind_of(job.kind).polled_by is Polling.JOB_ID
    )


def belongs(answer: JobResponse, job: Job) -> bool:
    """Whether Pika's answer about a pushed job fits the job listening for it: where the answer
    names its webhook URL, it must be this job's (its secret is in it)."""
    extra = answer.job.model_extra if answer.job is not None else None
    url = (extra or {}).get("webhookUrl")
    if not isinstance(url, str) or not url:
        return True
    return job.webhook_secret is not None and url.endswith(job.webhook_secret)
