"""The job store: one row per job, and every read and write of the jobs table."""

from __future__ import annotations

import json
import logging
import secrets
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Self

import aiosqlite

log = logging.getLogger(__name__)


class Status(StrEnum):
    """Where a job is in its life.

    submitting: written, Pika not yet called (safe to send).
    sending: the paid call is in flight (if we crash now, we cannot know whether Pika has it).
    running: Pika has it; the tracker polls. delivering: finished at Pika; posting the result.
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


def new_job_id() -> str:
    """A short id a person can type: 10 characters of a-z0-9."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(10))


@dataclass(frozen=True)
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
    webhook_secret: str | None = None
    parent_job_id: str | None = None
    result_message_id: int | None = None
    progress_edited_at: float | None = None
    finished_at: float | None = None
    failure: str | None = None  # why it ended without a video: a key of the wording catalogue
    locale: str | None = None  # the language the member asked in (Discord's locale code)
    mention: bool = True  # whether its messages mention (ping) the member
    personal: dict[str, Any] | None = None  # the member's own defaults that filled the request
    repeat_key: str | None = None  # shared by the jobs one control starts on one video

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Self:
        """Build from a database row."""
        data = dict(row)
        data["request"] = json.loads(data["request"])
        data["status"] = Status(data["status"])
        data["active"] = bool(data["active"])
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


COLUMNS = tuple(f.name for f in fields(Job))


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
    due_in: float = 0.0  # when the tracker sends it, if its creator has not
    locale: str | None = None
    mention: bool = True
    personal: dict[str, Any] | None = None
    repeat_key: str | None = None


# The columns a NewJob fills as they are; JSON and times are written by `JobStore._row`.
NEW_JOB_COLUMNS = tuple(
    f.name for f in fields(NewJob) if f.name not in ("request", "due_in", "personal")
)


def _repeat_filter(key: str, since: float, sticky: Sequence[Status]) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of the jobs a new job with `key` repeats."""
    kept = f"status IN ({', '.join('?' for _ in sticky)})" if sticky else "0"
    same = f"repeat_key = ? AND status NOT IN ({_UNMADE_SQL}) AND (created_at >= ? OR {kept})"
    return same, [key, since, *[s.value for s in sticky]]


class JobStore:
    """All reads and writes of jobs, on the connection `bot.storage.db` opened."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock
        self._unreadable: set[str] = set()  # rows already reported

    # --- writes ---------------------------------------------------------------------------

    async def create(self, new: NewJob) -> Job:
        """Write a new job in status `submitting`, due in `new.due_in` seconds."""
        row = self._row(new)
        await self._db.execute(
            f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",  # noqa: S608 - fixed column names
            list(row.values()),
        )
        await self._db.commit()
        return await self._fetch(row["id"])

    async def create_unless_repeated(
        self, new: NewJob, since: float, sticky: Sequence[Status] = ()
    ) -> tuple[Job, bool]:
        """Create a job unless it is the same request as one made before (see `repeated`).

        Returns (job, created); on a repeat, the job found. The check and the insert are one
        statement, so a double click or a double reaction makes one job.
        """
        assert new.repeat_key is not None
        row = self._row(new)
        same, params = _repeat_filter(new.repeat_key, since, sticky)
        cursor = await self._db.execute(
            f"INSERT INTO jobs ({', '.join(row)}) SELECT {', '.join('?' for _ in row)} "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE {same})",
            [*row.values(), *params],
        )
        await self._db.commit()
        if cursor.rowcount == 1:
            return await self._fetch(row["id"]), True
        existing = await self.repeated(new.repeat_key, since, sticky)
        assert existing is not None
        return existing, False

    async def repeated(
        self, repeat_key: str, since: float, sticky: Sequence[Status] = ()
    ) -> Job | None:
        """The latest job that a new one with this key would repeat: not ended without a video,
        and created at `since` or later, or with a status in `sticky`."""
        same, params = _repeat_filter(repeat_key, since, sticky)
        return await self._one(
            f"SELECT * FROM jobs WHERE {same} ORDER BY created_at DESC LIMIT 1",  # noqa: S608
            *params,
        )

    def _row(self, new: NewJob) -> dict[str, Any]:
        """The columns of a new job: submitting, active, due in `due_in` seconds."""
        now = self.clock()
        row = {name: getattr(new, name) for name in NEW_JOB_COLUMNS}
        row |= {"id": new_job_id(), "request": json.dumps(new.request)}
        row["personal"] = json.dumps(new.personal) if new.personal else None
        row |= {"status": Status.SUBMITTING.value, "active": 1, "next_poll_at": now + new.due_in}
        return row | {"created_at": now, "updated_at": now}

    async def _fetch(self, job_id: str) -> Job:
        job = await self.get(job_id)
        assert job is not None
        return job

    async def update(self, job_id: str, **changes: Any) -> Job:
        """Change columns of a job; return it as it is now."""
        await self._set(job_id, None, changes)
        return await self._fetch(job_id)

    async def transition(self, job_id: str, expected: Sequence[Status], **changes: Any) -> bool:
        """Change a job only if its status is one of `expected`; True if it was changed."""
        return await self._set(job_id, expected, changes)

    async def _set(
        self, job_id: str, expected: Sequence[Status] | None, changes: dict[str, Any]
    ) -> bool:
        unknown = set(changes) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown job columns: {sorted(unknown)}")
        changes = {k: (v.value if isinstance(v, Status) else v) for k, v in changes.items()}
        if "status" in changes:
            changes.setdefault("active", 0 if Status(changes["status"]).is_final else 1)
        changes["updated_at"] = self.clock()
        if isinstance(changes.get("request"), dict):
            changes["request"] = json.dumps(changes["request"])
        assignments = ", ".join(f"{name} = ?" for name in changes)
        sql = f"UPDATE jobs SET {assignments} WHERE id = ?"  # noqa: S608 - names are checked
        params = [*changes.values(), job_id]
        if expected is not None:
            sql += f" AND status IN ({', '.join('?' for _ in expected)})"
            params += [s.value for s in expected]
        cursor = await self._db.execute(sql, params)
        await self._db.commit()
        return cursor.rowcount == 1

    # --- reads ----------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        """A job by our id."""
        return await self._one("SELECT * FROM jobs WHERE id = ?", job_id)

    async def due(self, now: float, limit: int = 100) -> list[Job]:
        """Active jobs whose next poll time has come, soonest first (uses jobs_due)."""
        return await self._many(
            "SELECT * FROM jobs WHERE active = 1 AND next_poll_at <= ? ORDER BY next_poll_at "
            "LIMIT ?",
            now,
            limit,
        )

    async def next_due_at(self, after: float = float("-inf")) -> float | None:
        """When the next active job due later than `after` is due (uses jobs_due)."""
        async with self._db.execute(
            "SELECT MIN(next_poll_at) FROM jobs WHERE active = 1 AND next_poll_at > ?", (after,)
        ) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def by_status(self, *statuses: Status) -> list[Job]:
        """Jobs in any of these statuses."""
        marks = ", ".join("?" for _ in statuses)
        return await self._many(
            f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY created_at",  # noqa: S608
            *[s.value for s in statuses],
        )

    async def by_result_message(self, message_id: int) -> Job | None:
        """The job whose result is the given Discord message."""
        return await self._one("SELECT * FROM jobs WHERE result_message_id = ?", message_id)

    async def by_result_url(self, url: str) -> Job | None:
        """The newest job whose result video is at `url`."""
        return await self._one(
            "SELECT * FROM jobs WHERE result_url = ? ORDER BY created_at DESC LIMIT 1", url
        )

    async def by_webhook_secret(self, secret: str) -> Job | None:
        """The job a webhook URL's secret belongs to."""
        return await self._one("SELECT * FROM jobs WHERE webhook_secret = ?", secret)

    async def recent_for_user(
        self, guild_id: int | None, user_id: int, limit: int = 10
    ) -> list[Job]:
        """A member's latest jobs in a server, newest first."""
        return await self._many(
            "SELECT * FROM jobs WHERE guild_id IS ? AND user_id = ? ORDER BY created_at DESC "
            "LIMIT ?",
            guild_id,
            user_id,
            limit,
        )

    async def count_running(self, guild_id: int | None, user_id: int) -> int:
        """A member's jobs that have not ended."""
        async with self._db.execute(
            f"SELECT COUNT(*) FROM jobs WHERE guild_id IS ? AND user_id = ? "  # noqa: S608
            f"AND status IN ({_ACTIVE_SQL})",
            (guild_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def count_since(
        self, guild_id: int | None, since: float, user_id: int | None = None
    ) -> int:
        """Jobs created in a server (by one member, if given) since a moment."""
        sql = "SELECT COUNT(*) FROM jobs WHERE guild_id IS ? AND created_at >= ?"
        params: list[Any] = [guild_id, since]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def last_created(self, guild_id: int | None, user_id: int) -> float | None:
        """When a member last asked for a job in a server."""
        async with self._db.execute(
            "SELECT MAX(created_at) FROM jobs WHERE guild_id IS ? AND user_id = ?",
            (guild_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def running_jobs(self, guild_id: int | None, user_id: int | None = None) -> list[Job]:
        """Jobs in a server (of one member, if given) that have not ended."""
        sql = f"SELECT * FROM jobs WHERE guild_id IS ? AND status IN ({_ACTIVE_SQL})"  # noqa: S608
        params: list[Any] = [guild_id]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return await self._many(sql + " ORDER BY created_at", *params)

    async def _one(self, sql: str, *params: Any) -> Job | None:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return await self._read(row) if row else None

    async def _many(self, sql: str, *params: Any) -> list[Job]:
        async with self._db.execute(sql, params) as cursor:
            rows = await cursor.fetchall()
        jobs = [await self._read(row) for row in rows]
        return [job for job in jobs if job is not None]

    async def _read(self, row: aiosqlite.Row) -> Job | None:
        """A row as a Job; a row that cannot be read is logged, marked failed and skipped, so
        one damaged row never stops the others (the tracker, listings, lookups)."""
        try:
            return Job.from_row(row)
        except (ValueError, TypeError, KeyError) as exc:
            job_id = str(row["id"])
            if job_id not in self._unreadable:
                self._unreadable.add(job_id)
                log.error("Job %s: unreadable row (%s); marked failed and skipped", job_id, exc)
                await self._db.execute(
                    "UPDATE jobs SET status = ?, active = 0, failure = 'unreadable', "
                    "finished_at = ? WHERE id = ?",
                    (Status.FAILED.value, self.clock(), job_id),
                )
                await self._db.commit()
            return None
