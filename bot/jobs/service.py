"""Submission: validated request -> job row -> Pika call -> row updated with Pika's answer.

A crash can leave a job in two states, settled differently at start-up (`settle_interrupted`):
- SUBMITTING: the row was written but Pika was never called. Sending it now is safe.
- SENDING: the paid call was in flight. Pika may or may not have started (and charged for) the
  job, and there is no way to ask it. Sending again could pay twice, so the job is failed and
  the requester told why; it is never re-sent. The same holds when the call times out
  (`PikaOutcomeUnknown`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.jobs.store import Job, JobStore, Status
from bot.pika.client import PikaClient
from bot.pika.errors import PikaError
from bot.pika.media import MediaFacts
from bot.pika.models import (
    CreateJobResponse,
    EditRequest,
    ExtendRequest,
    InpaintRequest,
    LipSyncRequest,
    OutpaintRequest,
    PikaRequestModel,
    RepromptRequest,
    UpscaleRequest,
    parse_generate,
    validate_request,
)

log = logging.getLogger(__name__)

Parser = Callable[[Mapping[str, Any], MediaFacts | None], PikaRequestModel]


def _model(cls: type[PikaRequestModel]) -> Parser:
    return lambda body, facts: validate_request(cls, body, facts)


# Every kind of job, and how its stored request body is read back.
KINDS: dict[str, Parser] = {
    "generate": parse_generate,
    "pikaffect": parse_generate,
    "ingredients": parse_generate,
    "additions": parse_generate,
    "swap": parse_generate,
    "reprompt": _model(RepromptRequest),
    "edit": _model(EditRequest),
    "inpaint": _model(InpaintRequest),
    "outpaint": _model(OutpaintRequest),
    "extend": _model(ExtendRequest),
    "upscale": _model(UpscaleRequest),
    "lipsync": _model(LipSyncRequest),
}

# A new job is sent by whoever created it; the tracker sends it only if that did not happen.
SEND_GRACE_SECONDS = 30.0

INTERRUPTED = (
    "The bot restarted while this job was being sent to Pika, so it cannot tell whether Pika "
    "started it. It was not sent again, so you are never charged twice; please ask again."
)


@dataclass(frozen=True)
class Origin:
    """Where a request came from, and so where its result goes."""

    guild_id: int | None
    channel_id: int
    user_id: int
    thread_id: int | None = None


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

    def webhook_url(self, secret: str) -> str | None:
        """The push URL for a job, when push is configured."""
        base = self.settings.webhook_public_url
        return f"{str(base).rstrip('/')}/pika/webhook/{secret}" if base else None

    def prepare(self, request: PikaRequestModel) -> tuple[PikaRequestModel, str | None]:
        """Add a per-job webhook URL to the request, where the route accepts one."""
        if (
            self.settings.webhook_public_url is None
            or "webhook_override" not in type(request).model_fields
        ):
            return request, None
        secret = secrets.token_urlsafe(24)
        return request.model_copy(update={"webhook_override": self.webhook_url(secret)}), secret

    async def create(
        self,
        kind: str,
        request: PikaRequestModel,
        origin: Origin,
        *,
        parent_job_id: str | None = None,
    ) -> Job:
        """Write the job (status SUBMITTING) before anything is sent to Pika."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        request, secret = self.prepare(request)
        return await self.store.create(
            kind=kind, request=request.payload(), guild_id=origin.guild_id,
            channel_id=origin.thread_id or origin.channel_id, thread_id=origin.thread_id,
            user_id=origin.user_id, parent_job_id=parent_job_id, webhook_secret=secret,
            due_in=SEND_GRACE_SECONDS,
        )  # fmt: skip

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
            request = KINDS[job.kind](job.request, None)
            answer = await self.pika.submit(request)
        except PikaError as exc:
            log.info("Job %s: Pika refused or failed: %s", job.id, exc.describe())
            job = await self.fail(job, exc.describe())
        except ValueError as exc:  # the stored body no longer validates
            job = await self.fail(job, f"The request is invalid: {exc}")
        else:
            pika_id = answer.job_id if isinstance(answer, CreateJobResponse) else None
            job = await self.store.update(
                job.id, status=Status.RUNNING, pika_job_id=pika_id,
                pika_status="queued", next_poll_at=self.store.clock() + self.first_poll_delay(),
            )  # fmt: skip
            log.info("Job %s: sent to Pika as %s", job.id, pika_id or "an upscale")
        self.wake()
        return job

    def first_poll_delay(self) -> float:
        """How long after sending the first poll comes."""
        return self.settings.poll_interval_seconds

    async def fail(self, job: Job, reason: str, status: Status = Status.FAILED) -> Job:
        """End a job; it stays active until its requester has been told."""
        return await self.store.update(
            job.id, status=status, active=1, last_error=reason[:500],
            next_poll_at=self.store.clock(), finished_at=self.store.clock(),
        )  # fmt: skip

    async def start(self, job_id: str, status_message_id: int | None) -> Job:
        """Record the "working on it" message, then make the paid call."""
        if status_message_id is not None:
            await self.store.update(job_id, status_message_id=status_message_id)
        return await self.send(job_id)

    async def submit(self, kind: str, request: PikaRequestModel, origin: Origin) -> Job:
        """Create and send in one go."""
        job = await self.create(kind, request, origin)
        return await self.send(job.id)

    async def settle_interrupted(self) -> tuple[int, int]:
        """At start-up: send what was never sent; fail what may have been (see module doc)."""
        unsent = await self.store.by_status(Status.SUBMITTING)
        unknown = await self.store.by_status(Status.SENDING)
        for job in unknown:
            log.warning("Job %s was in flight when the bot stopped; not re-sending it", job.id)
            await self.fail(job, INTERRUPTED)
        for job in unsent:
            await self.store.update(job.id, next_poll_at=self.store.clock())
        return len(unsent), len(unknown)
