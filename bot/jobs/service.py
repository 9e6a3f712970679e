"""The paid call: validated request -> job row -> Pika call -> row updated with Pika's answer.

A crash can leave a job in two states, settled differently at start-up (`settle_interrupted`):
- SUBMITTING: the row was written but Pika was never called. Sending it now is safe.
- SENDING: the paid call was in flight. Pika may or may not have started (and charged for) the
  job, and there is no way to ask it. Sending again could pay twice, so the job is failed and
  the requester told why; it is never re-sent. The same holds when the call times out
  (`PikaOutcomeUnknown`).
Any other exception during the call ends the job too, with a failure the requester is told: no
job is ever left in SENDING while the bot runs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bot.config import Settings
from bot.jobs.journal import JOURNAL
from bot.pika.client import PikaClient
from bot.pika.errors import InvalidRequest, PikaError
from bot.pika.kinds import kind as kind_of
from bot.pika.models import CreateJobResponse, PikaRequestModel
from bot.redaction import Redactor
from bot.storage import Job, JobStore, NewJob, Status

log = logging.getLogger(__name__)

# A new job is sent by whoever created it; the tracker sends it only if that did not happen.
SEND_GRACE_SECONDS = 30.0
WEBHOOK_PATH = "/pika/webhook/"


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
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.pika = pika
        self.settings = settings
        self.wake = wake
        # Vendor text may echo the key in any form: it is stored only once redacted.
        self.redact = Redactor(settings.secrets())

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
            due_in=SEND_GRACE_SECONDS,
        )

    async def create(
        self,
        kind: str,
        request: PikaRequestModel,
        origin: Origin,
        *,
        parent_job_id: str | None = None,
    ) -> Job:
        """Write the job (status SUBMITTING) before anything is sent to Pika."""
        return await self.store.create(
            self.new_job(kind, request, origin, parent_job_id=parent_job_id)
        )

    async def send(self, job_id: str) -> Job:
        """Make the paid call for a SUBMITTING job; any other job is left alone."""
        # Inactive while in flight: only start-up settles a job left in SENDING.
        claimed = await self.store.transition(
            job_id, [Status.SUBMITTING], status=Status.SENDING, active=0
        )
        job = await self.store.get(job_id)
        assert job is not None
        if not claimed:
            return job
        try:
            request = kind_of(job.kind).parse(job.request)
            answer = await self.pika.submit(request)
        except PikaError as exc:
            log.info("Job %s: Pika refused or failed: %s", job.id, exc.describe())
            job = await self.fail(job, exc.failure, exc.describe())
        except InvalidRequest as exc:  # the stored body no longer validates
            job = await self.fail(job, "invalid", str(exc))
        except Exception:
            # A bug of ours, or something unforeseen. Pika may have the job: never re-send it.
            log.exception("Job %s: the paid call failed unexpectedly", job.id)
            job = await self.fail(job, "internal", "")
        else:
            pika_id = answer.job_id if isinstance(answer, CreateJobResponse) else None
            job = await self.store.update(
                job.id,
                status=Status.RUNNING,
                pika_job_id=pika_id,
                pika_status="queued",
                next_poll_at=self.store.clock() + self.first_poll_delay(),
            )
            JOURNAL.sent(job)
        self.wake()
        return job

    def first_poll_delay(self) -> float:
        """How long after sending the first poll comes."""
        return self.settings.poll_interval_seconds

    async def fail(
        self, job: Job, failure: str, detail: str, status: Status = Status.FAILED
    ) -> Job:
        """End a job without a video: `failure` names why (`failure.*` in the wording), `detail`
        is kept for the owner (redacted; members never read a vendor's words). The job stays
        active until its requester has been told."""
        now = self.store.clock()
        job = await self.store.update(
            job.id,
            status=status,
            active=1,
            failure=failure,
            last_error=self.redact(detail)[:500],
            next_poll_at=now,
            finished_at=now,
        )
        JOURNAL.ended(job)
        return job

    async def start(self, job_id: str, status_message_id: int | None) -> Job:
        """Record the "working on it" message, then make the paid call."""
        if status_message_id is not None:
            await self.store.update(job_id, status_message_id=status_message_id)
        return await self.send(job_id)

    async def settle_interrupted(self) -> tuple[int, int]:
        """At start-up: send what was never sent; fail what may have been (see module doc)."""
        unsent = await self.store.by_status(Status.SUBMITTING)
        unknown = await self.store.by_status(Status.SENDING)
        for job in unknown:
            log.warning("Job %s was in flight when the bot stopped; not re-sending it", job.id)
            await self.fail(job, "interrupted", "")
        for job in unsent:
            await self.store.update(job.id, next_poll_at=self.store.clock())
        return len(unsent), len(unknown)
