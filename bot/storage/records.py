"""What a job is: its statuses, its row (`Job`) and what a new one is made of (`NewJob`).

Which jobs count toward a member's quotas (`counted`): every job, from its insert on, except one
that ended without Pika ever accepting it: cancelled before the paid call (the interaction could
not be acknowledged), refused by Pika (an error answer, or 429/5xx until the retries ran out), or
whose stored request no longer validates. A job whose paid call may have reached Pika (the
outcome is unknown) stays counted: it may have been paid. `admission.py` has the counting itself.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Self, get_args, get_type_hints

from bot.storage.backend import Row


class Status(StrEnum):
    """Where a job is in its life.

    submitting: written; the member's interaction is not yet known to be answered (never sent).
    sending: answered, and the paid call is in flight (if we crash now, we cannot know whether
    Pika has it). running: Pika has it (or may have it: see `JobService`); the tracker follows
    it. delivering: finished at Pika; posting the result.
    delivered, failed, timed_out, undeliverable: final.
    """

    SUBMITTING = "submitting"
    SENDING = "sending"
    RUNNING = "running"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    UNDELIVERABLE = "undeliverable"

    @property
    def is_final(self) -> bool:
        """Whether the job will not change status any more."""
        return self in FINAL


FINAL = frozenset({Status.DELIVERED, Status.FAILED, Status.TIMED_OUT, Status.UNDELIVERABLE})
# Not ended: these count against a member's running jobs.
ACTIVE = (Status.SUBMITTING, Status.SENDING, Status.RUNNING, Status.DELIVERING)
_ACTIVE_SQL = ", ".join(f"'{s.value}'" for s in ACTIVE)
# Ended without a video: such a job never stands in the way of asking again.
UNMADE = (Status.FAILED, Status.TIMED_OUT, Status.UNDELIVERABLE)
_UNMADE_SQL = ", ".join(f"'{s.value}'" for s in UNMADE)
ID_ALPHABET = string.ascii_lowercase + string.digits


def in_guild(guild_id: int | None) -> tuple[str, list[Any]]:
    """A condition on `guild_id`, and its parameters, that both databases answer from an index
    (`guild_id IS ?` would not be one on PostgreSQL)."""
    if guild_id is None:
        return "guild_id IS NULL", []
    return "guild_id = ?", [guild_id]


def new_job_id() -> str:
    """A short id a person can type: 10 characters of a-z0-9."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(10))


# Slots: the tracker keeps every job it follows in memory (10,000 of them take 13 MB less).
@dataclass(frozen=True, slots=True)
class Job:
    """A row of the jobs table."""

    id: str
    kind: str
    request: dict[str, Any]
    channel_id: int
    user_id: int
    status: Status
    next_poll_at: float
    created_at: float
    updated_at: float
    guild_id: int | None = None
    thread_id: int | None = None
    pika_job_id: str | None = None
    status_message_id: int | None = None
    active: bool = True
    pika_status: str | None = None
    progress: int = 0
    result_url: str | None = None
    poster_url: str | None = None
    thumbnail_url: str | None = None
    duration: float | None = None
    seed: int | None = None
    poll_attempts: int = 0
    delivery_attempts: int = 0
    last_error: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    parent_job_id: str | None = None
    result_message_id: int | None = None
    progress_edited_at: float | None = None
    finished_at: float | None = None
    failure: str | None = None  # why it ended without a video: a key of the wording catalogue
    counted: bool = True  # counts toward quotas (see the module's docstring)
    accepted_at: float | None = None  # when the paid call Pika accepted was sent
    pika_seconds: float | None = None  # how long Pika took, as observed
    # A credential for 15 minutes: never logged (repr=False), cleared when the job ends.
    interaction_token: str | None = field(default=None, repr=False)
    retry_of: str | None = None  # the failed job whose Retry asked for this one
    locale: str | None = None  # the language the member asked in (Discord's locale code)
    mention: bool = True  # whether its messages mention (ping) the member
    personal: dict[str, Any] | None = None  # the member's own defaults that filled the request
    repeat_key: str | None = None  # shared by the jobs one control starts on one video
    # The process holding the job and until when (see `leases.py`); a push received elsewhere.
    claimed_by: str | None = None
    claimed_until: float = 0.0  # 0: no lease
    pushed_at: float | None = None
    pushed_pika_job_id: str | None = None
    # The prompt of the video it was made from, for a kind that takes none (an upscale, a lip
    # sync): what its messages are headed with, as its result is.
    lent_prompt: str | None = None

    @classmethod
    def from_row(cls, row: Row) -> Self:
        """Build from a database row."""
        data = dict(row)
        data["request"] = json.loads(data["request"])
        data["status"] = Status(data["status"])
        data["active"] = bool(data["active"])
        data["counted"] = bool(data["counted"])
        data["mention"] = bool(data["mention"])
        data["personal"] = json.loads(data["personal"]) if data["personal"] else None
        return cls(**data)

    @property
    def waiting(self) -> bool:
        """Whether the job waits in line: Pika has not started working on it yet."""
        if self.status in (Status.SUBMITTING, Status.SENDING):
            return True
        return self.status is Status.RUNNING and self.pika_status in (None, "queued", "delayed")

    @property
    def prompt(self) -> str:
        """The prompt, if the request has one."""
        return str(self.request.get("promptText") or "")

    @property
    def shown_prompt(self) -> str:
        """The prompt members read it under: its own, else the one it was lent."""
        return self.prompt or self.lent_prompt or ""


COLUMNS = frozenset(f.name for f in fields(Job))


def _sql_type(hint: Any) -> str:
    """The portable SQL type a column of this Python type is written as (see backend.py)."""
    kinds = [t for t in (get_args(hint) or (hint,)) if t is not type(None)]
    if kinds == [bool]:
        return "INTEGER"
    if kinds == [int]:
        return "BIGINT"
    if kinds == [float]:
        return "DOUBLE PRECISION"
    return "TEXT"  # text, a status, a JSON document


# Each column's SQL type, for the statements that must name it (a CAST in VALUES or SELECT).
COLUMN_TYPES = {name: _sql_type(hint) for name, hint in get_type_hints(Job).items()}


@dataclass(frozen=True)
class NewJob:
    """A job about to be written: what was asked, by whom, and where its result goes."""

    kind: str
    request: dict[str, Any]  # the vendor body, as it will be sent
    guild_id: int | None
    channel_id: int  # where the result is posted: the thread, when asked in one
    user_id: int
    thread_id: int | None = None
    parent_job_id: str | None = None  # the result a follow-up works on
    webhook_secret: str | None = None
    retry_of: str | None = None  # the failed job this one asks again
    due_in: float = 0.0  # when the tracker looks at it, if its creator has not moved it on
    locale: str | None = None
    mention: bool = True
    personal: dict[str, Any] | None = None
    repeat_key: str | None = None
    # The member's interaction, written with the row: a process that takes the job over before
    # the answer was recorded finds that answer with it (a credential: never logged).
    interaction_token: str | None = field(default=None, repr=False)
    lent_prompt: str | None = None


# Parameters of one batched UPDATE, below SQLite's limit of 32766 (and asyncpg's of 32767).
UPDATE_MANY_PARAMETERS = 30_000

# The columns a NewJob fills as they are; JSON and times are written by `JobStore._row`.
NEW_JOB_COLUMNS = tuple(
    f.name for f in fields(NewJob) if f.name not in ("request", "due_in", "personal")
)
