"""A job's life, told once: one INFO line a step, and the same step to whoever listens (metrics).

Each line carries the job's id, kind and server, in the text and as fields of the record (so
`LOG_FORMAT=json` gives them to a log collector as `job_id`, `kind`, `guild_id`, `event`):

    Job k3j4h5m6n7 (generate, server 123): admitted, asked by member 456
    Job k3j4h5m6n7 (generate, server 123): sent to Pika as 0a1b2c
    Job k3j4h5m6n7 (generate, server 123): Pika says pending
    Job k3j4h5m6n7 (generate, server 123): delivered as message 789 after 41.2s
    Job k3j4h5m6n7 (generate, server 123): failed (pika_failed: the prompt was refused)

A request refused before it became a job (bad input, a guardrail) is told with its kind and
server, and no id. The call sites say what happened; this module says it the same way everywhere,
so that issue-hunting greps one format and the metrics hear every step.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage import Job

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    """One step of one job (or of a request refused before it was one)."""

    step: str  # refused, admitted, sent, status, delivered, ended, taken
    kind: str
    guild_id: int | None
    job_id: str | None = None
    outcome: str | None = None  # ended: the final status (delivered, failed, timed_out, ...)
    reason: str | None = None  # ended without a video: the failure key; refused: the rule
    seconds: float | None = None  # ended: from asked to ended; taken: how late it was taken
    created_at: float | None = None  # admitted: when it was asked for (its place in line)
    waiting: bool | None = None  # status: whether it still waits for Pika to start it


Listener = Callable[[JobEvent], None]


class Journal:
    """Says each step in the log and hands it to the listeners."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every step from now on; returns the call that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _tell(self, event: JobEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a listener's bug must never stop a job
                log.exception("Journal listener failed on %s", event.step)

    def _line(self, event: JobEvent, text: str, *args: object) -> None:
        where = f"server {event.guild_id}" if event.guild_id is not None else "a DM"
        subject = f"Job {event.job_id}" if event.job_id else "A request"
        fields = {
            "job_id": event.job_id,
            "kind": event.kind,
            "guild_id": event.guild_id,
            "event": event.step,
        }
        log.info(f"%s (%s, %s): {text}", subject, event.kind, where, *args, extra=fields)

    # --- the steps ---------------------------------------------------------------------------

    def refused(self, kind: str, guild_id: int | None, user_id: int, why: str) -> None:
        """A request refused before anything was written or paid (bad input, a guardrail)."""
        event = JobEvent("refused", kind, guild_id, reason=why)
        self._line(event, "refused for member %s: %s", user_id, why)
        self._tell(event)

    def admitted(self, job: Job) -> None:
        """The job row is written: it passed the guardrails."""
        event = JobEvent("admitted", job.kind, job.guild_id, job.id, created_at=job.created_at)
        self._line(event, "admitted, asked by member %s", job.user_id)
        self._tell(event)

    def sent(self, job: Job) -> None:
        """Pika took the paid call."""
        event = JobEvent("sent", job.kind, job.guild_id, job.id)
        self._line(event, "sent to Pika as %s", job.pika_job_id or "an upscale")
        self._tell(event)

    def status(self, job: Job, pika_status: str) -> None:
        """Pika reported a new status for the job."""
        waiting = dataclasses.replace(job, pika_status=pika_status).waiting
        event = JobEvent("status", job.kind, job.guild_id, job.id, waiting=waiting)
        self._line(event, "Pika says %s", pika_status)
        self._tell(event)

    def delivered(self, job: Job) -> None:
        """The result is posted."""
        seconds = _age(job)
        event = JobEvent("delivered", job.kind, job.guild_id, job.id, "delivered", None, seconds)
        self._line(event, "delivered as message %s after %.1fs", job.result_message_id, seconds)
        self._tell(event)

    def ended(self, job: Job) -> None:
        """The job ended without a video: failed, timed out or undeliverable, and why."""
        seconds = _age(job)
        event = JobEvent(
            "ended", job.kind, job.guild_id, job.id, job.status.value, job.failure, seconds
        )
        detail = f": {job.last_error}" if job.last_error else ""
        self._line(event, "%s (%s%s)", job.status.value, job.failure, detail)
        self._tell(event)

    def taken(self, job: Job, late: float) -> None:
        """The tracker took a due job, `late` seconds after it was due (not logged)."""
        self._tell(JobEvent("taken", job.kind, job.guild_id, job.id, seconds=max(0.0, late)))


def _age(job: Job) -> float:
    end = job.finished_at if job.finished_at is not None else job.updated_at
    return max(0.0, end - job.created_at)


# The bot's journal. Like a logger, it is found by import, so the job core needs no new wiring.
JOURNAL = Journal()
