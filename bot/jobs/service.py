"""The paid call: a written job, its interaction answered, then Pika called exactly once.

The order is the bot's promise: the job row is written by admission (status `submitting`); the
member's interaction is answered; only then, in one write, the answer is recorded and the job
claimed for sending (`sending`); then Pika is called. The fault policy of the call:

- The interaction could not be answered (Discord's 3 s passed, or the answer failed): the job is
  cancelled before any paid call (`failure.not_acknowledged`, not counted toward quotas), so a
  member who saw "the application did not respond" and asks again never pays twice. A job left
  in `submitting` longer than `UNANSWERED_SECONDS` (its creator died) is cancelled the same way.
- Pika did not start the job (429, 500, 502, 503, or the connection refused or reset before the
  request was sent): the client retries with backoff and jitter for about a minute
  (`PikaClient`); then the member is told, and the job does not count toward quotas.
- The outcome is unknown (a timeout after the request was sent, 504, the connection lost while
  reading the answer, an answer that cannot be read, or a crash during the call): never re-sent.
  With push configured, the job keeps listening on its webhook URL until JOB_TIMEOUT_MINUTES
  (status `running` with no Pika id) and adopts the Pika job when a push for it arrives
  (`Tracker.pushed`): the result is delivered and nothing is paid twice. Without push the member
  is told plainly that Pika may have started it, with a Retry button.
- Pika answered, but the database write that records its job id fails (locked, disk full): the
  id is first appended to the write-ahead ledger (`ledger.py`), and the write is retried until
  it succeeds. If the process dies meanwhile, the process that takes the job over resumes it
  from the ledger (`settle`).

With several processes on one database, each step is taken only while this process holds the
job's lease (`bot/storage/leases.py`): the job is claimed at its insert, and the process that
takes over the job of one that died (its lease ended) cancels it if it was never answered, or
settles it as above if it was caught in its paid call; the paid call is never made twice.

Any other exception during the call ends the job with a failure its member is told about: no
job is ever left in `sending` while the bot runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.jobs.journal import JOURNAL
from bot.jobs.ledger import Accepted, Ledger
from bot.pika.client import PikaClient
from bot.pika.errors import InvalidRequest, PikaError, PikaOutcomeUnknown
from bot.pika.kinds import kind as kind_of
from bot.pika.models import CreateJobResponse, PikaRequestModel
from bot.redaction import Redactor
from bot.storage import WRITE_ERRORS, Job, JobStore, NewJob, Status

log = logging.getLogger(__name__)

# A job whose interaction answer was not recorded this long after it was written is cancelled:
# Discord allows 3 s for the answer, and a live creator records it right after.
UNANSWERED_SECONDS = 60.0
WEBHOOK_PATH = "/pika/webhook/"
# Retries of the write that records Pika's answer: quick at first, then every few seconds.
RECORD_RETRY_FIRST = 0.1
RECORD_RETRY_CAP = 5.0
# Failures a Retry button can help with: not a request that can never be valid or that Pika
# refused as it is (the member must change it), nor a video that was made and could not be
# posted (its requester got a link).
NOT_RETRYABLE = frozenset({"invalid", "undeliverable", "discord", "pika_rejected"})
# How long a clean stop waits for the paid calls in flight to be answered (Pika answers within
# a second or two; within Docker's default 10 s before it kills): one cut off is an unknown
# outcome, which a member without push is told with a Retry, and Pika's video is lost.
STOP_WAIT_SECONDS = 8.0
# Jobs resumed from a dead process's ledger tidy the ledgers at most this often: each tidy reads
# every job of every ledger, and a burst of take-overs after a crash would read them all for each.
TIDY_GAP_SECONDS = 1.0


def retryable(failure: str | None) -> bool:
    """Whether a job that ended with `failure` may be asked again with its Retry button."""
    return failure not in NOT_RETRYABLE


@dataclass(frozen=True)
class Origin:
    """Where a request came from, and so where its result goes."""

    guild_id: int | None
    channel_id: int  # where the result goes: the thread, when asked in one
    user_id: int
    in_thread: bool = False

    @property
    def thread_id(self) -> int | None:
        """The thread the result goes to, if any."""
        return self.channel_id if self.in_thread else None


class JobService:
    """Creates jobs and makes the paid call, exactly once per job."""

    def __init__(
        self,
        store: JobStore,
        pika: PikaClient,
        settings: Settings,
        ledger: Ledger,
        follow: Callable[[Job], None] = lambda job: None,
    ) -> None:
        self.store = store
        self.pika = pika
        self.settings = settings
        self.ledger = ledger
        self.follow = follow  # hands a job Pika has (or may have) to the tracker
        # Whether this process may still act on the jobs it holds (the tracker's, which sets
        # it: its leases renewed in time). A paid call Pika did not start is sent again only
        # while it may.
        self.may_act: Callable[[], bool] = lambda: True
        # Vendor text may echo the key in any form: it is stored only once redacted.
        self.redact = Redactor(settings.secrets())
        self.in_flight: set[str] = set()  # jobs whose paid call this process is making
        # Jobs admitted here whose member is being answered (`submitting`): their submission
        # moves them on itself, so a lease renewal need not read and follow them meanwhile.
        self.answering: set[str] = set()
        self._tidy_after = float("-inf")  # when a resumed job may tidy the ledgers again
        self._no_call = asyncio.Event()  # set while no paid call is in flight
        self._no_call.set()
        self._no_answer = asyncio.Event()  # set while no member of a new job is being answered
        self._no_answer.set()

    def answer_begins(self, job_id: str) -> None:
        """The job was admitted here and its member is being answered (then its paid call)."""
        self.answering.add(job_id)
        self._no_answer.clear()

    def answer_ends(self, job_id: str) -> None:
        """The job's submission is over: answered and sent, or cancelled."""
        self.answering.discard(job_id)
        if not self.answering:
            self._no_answer.set()

    # --- a new job ------------------------------------------------------------------------

    def webhook_url(self, secret: str) -> str | None:
        """The push URL for a job, when push is configured."""
        base = self.settings.webhook_public_url
        return f"{str(base).rstrip('/')}{WEBHOOK_PATH}{secret}" if base else None

    def prepare(self, request: PikaRequestModel) -> tuple[PikaRequestModel, str | None]:
        """Add a per-job webhook URL to the request, where the route accepts one."""
        if (
            self.settings.webhook_public_url is None
            or "webhook_override" not in type(request).model_fields
        ):
            return request, None
        secret = secrets.token_urlsafe(24)
        return request.model_copy(update={"webhook_override": self.webhook_url(secret)}), secret

    def new_job(
        self,
        kind: str,
        request: PikaRequestModel,
        origin: Origin,
        *,
        parent_job_id: str | None = None,
        retry_of: str | None = None,
    ) -> NewJob:
        """The row of a job (with its webhook URL, where push is on), ready to be written."""
        kind_of(kind)  # an unknown kind is a bug of ours: refuse it before anything is written
        request, secret = self.prepare(request)
        return NewJob(
            kind=kind,
            request=request.payload(),
            guild_id=origin.guild_id,
            channel_id=origin.channel_id,
            thread_id=origin.thread_id,
            user_id=origin.user_id,
            parent_job_id=parent_job_id,
            webhook_secret=secret,
            retry_of=retry_of,
            due_in=UNANSWERED_SECONDS,
        )

    async def create(
        self,
        kind: str,
        request: PikaRequestModel,
        origin: Origin,
        *,
        parent_job_id: str | None = None,
    ) -> Job:
        """Write a job (status `submitting`) without admission: for tools and tests."""
        return await self.store.create(
            self.new_job(kind, request, origin, parent_job_id=parent_job_id)
        )

    # --- the paid call --------------------------------------------------------------------

    async def start(
        self, job_id: str, status_message_id: int | None, token: str | None = None
    ) -> Job:
        """The member's interaction was answered: record the answer (its message, and the
        token that edits it) and make the paid call. A job no longer `submitting` (cancelled,
        or started already) is left alone."""
        # In flight from before the claim: a renewal that sees it in `sending` leaves it alone.
        self.in_flight.add(job_id)
        self._no_call.clear()
        try:
            # Only while this process holds the job: a process that took it over (this one
            # stalled past its lease) may be cancelling it.
            claimed = await self.store.transition(
                job_id,
                [Status.SUBMITTING],
                held=True,
                status=Status.SENDING,
                status_message_id=status_message_id,
                interaction_token=token,
                **self.store.leases.taken(),
            )
            if claimed is None:
                job = await self.store.get(job_id)
                assert job is not None
                return job
            return await self._send(claimed)
        finally:
            self.in_flight.discard(job_id)
            if not self.in_flight:
                self._no_call.set()

    async def calls_answered(self, seconds: float = STOP_WAIT_SECONDS) -> None:
        """A clean stop: wait, `seconds` at most, until no member of a job admitted here is
        being answered and no paid call is in flight, so that each answer is recorded and each
        of Pika's answers written rather than cut off. (Cut off between its public answer and
        its record, a job was cancelled at the next start as if Discord never had the answer.)"""
        if self.answering or self.in_flight:
            log.info(
                "Waiting for %d new job(s) being answered and %d paid call(s) in flight",
                len(self.answering),
                len(self.in_flight),
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._no_answer.wait()  # each one ends after its own paid call
                await self._no_call.wait()

    async def _send(self, job: Job) -> Job:
        # Pika's job starts between this moment and its answer: counting its time from here
        # errs on the late side, so that a poll planned from it comes after the finish.
        sent_at = self.store.clock()
        try:
            request = kind_of(job.kind).parse(job.request)
            answer = await self.pika.submit(request, self.may_act)
        except PikaOutcomeUnknown as exc:
            log.warning("Job %s: the paid call's outcome is unknown: %s", job.id, exc.describe())
            return await self.unknown_outcome(job, exc.failure, exc.describe())
        except PikaError as exc:
            log.info("Job %s: Pika refused or failed: %s", job.id, exc.describe())
            return await self.fail(job, exc.failure, exc.describe(), counted=False)
        except InvalidRequest as exc:  # the stored body no longer validates: never sent
            return await self.fail(job, "invalid", str(exc), counted=False)
        except Exception:
            # A bug of ours, or something unforeseen. Pika may have the job: never re-send it,
            # and settle it as any unknown outcome (listened for, or told "may have started").
            log.exception("Job %s: the paid call failed unexpectedly", job.id)
            return await self.unknown_outcome(job, "internal", "")
        pika_id = answer.job_id if isinstance(answer, CreateJobResponse) else None
        return await self.accepted(job, Accepted(job.id, pika_id, sent_at))

    async def accepted(self, job: Job, entry: Accepted) -> Job:
        """Pika has the job: write its id in the ledger, then in the database until it takes it."""
        self.ledger.write(entry)
        changes = {
            "status": Status.RUNNING,
            "pika_job_id": entry.pika_job_id,
            "pika_status": "queued",
            "accepted_at": entry.at,
            "next_poll_at": self.store.clock() + self.settings.poll_interval_seconds,
        }
        delay = RECORD_RETRY_FIRST
        while True:
            try:
                running = await self.store.transition(
                    job.id, [Status.SENDING], held=True, **changes
                )
                break
            except WRITE_ERRORS as exc:
                log.warning(
                    "Job %s: Pika has it as %s, but the database refused it (%s); retrying",
                    job.id,
                    entry.pika_job_id or "an upscale",
                    exc,
                )
                await asyncio.sleep(delay)
                delay = min(RECORD_RETRY_CAP, delay * 2)
        self.ledger.stored(job.id)
        if running is None:  # settled meanwhile by another process: theirs stands
            found = await self.store.get(job.id)
            assert found is not None
            return found
        JOURNAL.sent(running)
        self.follow(running)
        return running

    async def unknown_outcome(self, job: Job, failure: str, detail: str) -> Job:
        """Pika may have the job. With push, listen for it until the time-out; without, tell
        the member plainly, with a Retry button."""
        if job.webhook_secret is None or self.settings.webhook_public_url is None:
            return await self.fail(job, failure, detail)
        listening = await self.store.transition(
            job.id,
            [Status.SENDING, Status.SUBMITTING],
            held=True,
            status=Status.RUNNING,
            pika_job_id=None,
            pika_status=None,
            last_error=self.redact(detail)[:500],
            next_poll_at=job.created_at + self.settings.job_timeout_minutes * 60,
        )
        if listening is None:
            found = await self.store.get(job.id)
            assert found is not None
            return found
        log.info("Job %s: listening for a push from Pika", job.id)
        self.follow(listening)
        return listening

    async def fail(
        self,
        job: Job,
        failure: str,
        detail: str,
        status: Status = Status.FAILED,
        *,
        counted: bool = True,
    ) -> Job:
        """End a job without a video: `failure` names why (`failure.*` in the wording), `detail`
        fills it for the owner (redacted; members never read a vendor's words); `counted=False`
        when Pika never accepted it. The job stays active until its requester has been told;
        the tracker tells them. Only a job still in its paid call, held by this process: one
        that another process settled meanwhile is left as that process made it."""
        now = self.store.clock()
        ended = await self.store.transition(
            job.id,
            [Status.SENDING, Status.SUBMITTING],
            held=True,
            status=status,
            active=1,
            failure=failure,
            last_error=self.redact(detail)[:500],
            counted=counted,
            next_poll_at=now,
            finished_at=now,
        )
        if ended is None:
            found = await self.store.get(job.id)
            assert found is not None
            return found
        JOURNAL.ended(ended)
        self.follow(ended)
        return ended

    async def cancel_unanswered(self, job_id: str, *, tell: bool) -> Job | None:
        """Cancel a job whose interaction was never answered, before any paid call: nothing is
        charged and it does not count. `tell=False` when the member saw Discord's own "did not
        respond" (the answer failed as we sent it); else the requester is told, in place of
        the public answer if one shows (`Notifier.tell_failure`)."""
        now = self.store.clock()
        # To be told, the token stays: the telling looks with it for an answer of ours that
        # shows, unrecorded (its process stopped between answering and recording).
        token: dict[str, Any] = {} if tell else {"interaction_token": None}
        cancelled = await self.store.transition(
            job_id,
            [Status.SUBMITTING],
            status=Status.FAILED,
            active=1 if tell else 0,
            failure="not_acknowledged",
            last_error="",
            counted=False,
            next_poll_at=now,
            finished_at=now,
            **token,
            **self.store.leases.taken(now),  # the process that cancelled it tells its member
        )
        if cancelled is not None:
            JOURNAL.ended(cancelled)
            if tell:
                self.follow(cancelled)
        return cancelled

    # --- jobs of a process that stopped ---------------------------------------------------

    async def settle(self, job: Job) -> Job:
        """A job this process took over in `sending` (its process stopped during the paid call):
        resumed with the id Pika gave, if a ledger has it; else never re-sent, and listened for
        with push, or failed and told (`unknown_outcome`). A call of this process's own in
        flight is left to finish."""
        if job.id in self.in_flight:
            return job
        entry = self.ledger.find(job.id)
        if entry is not None:
            resumed = await self.store.transition(
                job.id,
                [Status.SENDING],
                held=True,
                status=Status.RUNNING,
                pika_job_id=entry.pika_job_id,
                pika_status="queued",
                accepted_at=entry.at,
                next_poll_at=self.store.clock(),
            )
            if resumed is not None:
                log.warning("Job %s: resumed from the ledger as %s", job.id, entry.pika_job_id)
                self.follow(resumed)
                if (now := self.store.clock()) >= self._tidy_after:  # else at a renewal soon
                    self._tidy_after = now + TIDY_GAP_SECONDS
                    await self.tidy_ledgers()
                return resumed
        log.warning("Job %s was in flight when its process stopped; not re-sending it", job.id)
        return await self.unknown_outcome(job, "interrupted", "")

    async def tidy_ledgers(self) -> None:
        """Remove the ledgers of processes that stopped (no live lease, nothing written for a
        lease) once none of their entries is for a job still in `sending`. A database that
        cannot answer now leaves them for the next time."""
        try:
            await self.ledger.tidy(self.store.leases)
        except WRITE_ERRORS as exc:
            log.warning("Could not tidy the ledgers of stopped processes (%s)", exc)
