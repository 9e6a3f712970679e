"""The SQLite job store: WAL, numbered migrations applied at start-up, one row per job."""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Self

import aiosqlite


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

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Self:
        """Build from a database row."""
        data = dict(row)
        data["request"] = json.loads(data["request"])
        data["status"] = Status(data["status"])
        data["active"] = bool(data["active"])
        return cls(**data)

    @property
    def prompt(self) -> str:
        """The prompt, if the request has one."""
        return str(self.request.get("promptText") or "")


COLUMNS = tuple(f.name for f in fields(Job))


class JobStore:
    """All reads and writes of jobs. One connection; SQLite serialises the writes."""

    def __init__(self, db: aiosqlite.Connection, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self.clock = clock

    @classmethod
    async def open(cls, path: Path, clock: Callable[[], float] = time.time) -> JobStore:
        """Open (creating if needed) the database at `path` and apply pending migrations."""
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db, clock)
        await store._migrate()
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()

    @property
    def db(self) -> aiosqlite.Connection:
        """The connection, shared with the settings store."""
        return self._db

    async def _migrate(self) -> None:
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "applied_at REAL NOT NULL)"
        )
        async with self._db.execute("SELECT version FROM schema_migrations") as cursor:
            done = {row[0] async for row in cursor}
        folder = resources.files("bot.jobs") / "migrations"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".sql"):
                continue
            version = int(entry.name.split("_", 1)[0])
            if version in done:
                continue
            await self._db.executescript(
                f"BEGIN;\n{entry.read_text()}\n"
                f"INSERT INTO schema_migrations VALUES ({version}, {self.clock()});\nCOMMIT;"
            )

    async def schema_version(self) -> int:
        """The newest migration applied."""
        async with self._db.execute("SELECT MAX(version) FROM schema_migrations") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    # --- writes ---------------------------------------------------------------------------

    async def create(
        self,
        *,
        kind: str,
        request: dict[str, Any],
        channel_id: int,
        user_id: int,
        guild_id: int | None = None,
        thread_id: int | None = None,
        parent_job_id: str | None = None,
        webhook_secret: str | None = None,
        status_message_id: int | None = None,
        job_id: str | None = None,
        due_in: float = 0.0,
    ) -> Job:
        """Write a new job in status `submitting`, due in `due_in` seconds."""
        values = self._new_row(
            kind, request, due_in, job_id, guild_id=guild_id, channel_id=channel_id,
            thread_id=thread_id, user_id=user_id, parent_job_id=parent_job_id,
            webhook_secret=webhook_secret, status_message_id=status_message_id,
        )  # fmt: skip
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        await self._db.execute(
            f"INSERT INTO jobs ({names}) VALUES ({marks})",  # noqa: S608 - fixed column names
            list(values.values()),
        )
        await self._db.commit()
        job = await self.get(values["id"])
        assert job is not None
        return job

    async def create_unique_follow_up(
        self, *, kind: str, parent_job_id: str, blocking: Sequence[Status], **values: Any
    ) -> tuple[Job, bool]:
        """Create a follow-up unless the parent already has one of this kind in `blocking`.

        Returns (job, created). The check and the insert are one statement, so a double click
        or a double reaction makes one job.
        """
        row = self._new_row(
            kind, values.pop("request"), float(values.pop("due_in", 0.0)),
            values.pop("job_id", None), parent_job_id=parent_job_id, **values,
        )  # fmt: skip
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        wanted = ", ".join("?" for _ in blocking)
        cursor = await self._db.execute(
            f"INSERT INTO jobs ({names}) SELECT {marks} WHERE NOT EXISTS (SELECT 1 FROM jobs "  # noqa: S608
            f"WHERE parent_job_id = ? AND kind = ? AND status IN ({wanted}))",
            [*row.values(), parent_job_id, kind, *[s.value for s in blocking]],
        )
        await self._db.commit()
        if cursor.rowcount == 1:
            job = await self.get(row["id"])
            assert job is not None
            return job, True
        async with self._db.execute(
            f"SELECT * FROM jobs WHERE parent_job_id = ? AND kind = ? AND status IN ({wanted}) "  # noqa: S608
            "ORDER BY created_at DESC LIMIT 1",
            [parent_job_id, kind, *[s.value for s in blocking]],
        ) as found:
            existing = await found.fetchone()
        assert existing is not None
        return Job.from_row(existing), False

    def _new_row(
        self, kind: str, request: dict[str, Any], due_in: float, job_id: str | None,
        **columns: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """The columns of a new job: submitting, active, due in `due_in` seconds."""
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown job columns: {sorted(unknown)}")
        now = self.clock()
        return {
            "id": job_id or new_job_id(), "kind": kind, "request": json.dumps(request),
            "status": Status.SUBMITTING.value, "active": 1, "next_poll_at": now + due_in,
            "created_at": now, "updated_at": now, **columns,
        }  # fmt: skip

    async def update(self, job_id: str, **changes: Any) -> Job:
        """Change columns of a job; return it as it is now."""
        await self._set(job_id, None, changes)
        job = await self.get(job_id)
        assert job is not None
        return job

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
            "SELECT COUNT(*) FROM jobs WHERE guild_id IS ? AND user_id = ? AND status IN "
            "('submitting', 'sending', 'running', 'delivering')",
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
        sql = ("SELECT * FROM jobs WHERE guild_id IS ? AND status IN ('submitting', 'sending', "
               "'running', 'delivering')")  # fmt: skip
        params: list[Any] = [guild_id]
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return await self._many(sql + " ORDER BY created_at", *params)

    async def count(self) -> int:
        """How many jobs there are."""
        async with self._db.execute("SELECT COUNT(*) FROM jobs") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def explain_due(self) -> str:
        """SQLite's plan for the tracker's query (to check that it uses its index)."""
        async with self._db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE active = 1 AND next_poll_at <= ? "
            "ORDER BY next_poll_at LIMIT ?",
            (0, 1),
        ) as cursor:
            return " ".join([str(row[-1]) async for row in cursor])

    async def _one(self, sql: str, *params: Any) -> Job | None:
        async with self._db.execute(sql, params) as cursor:
            row = await cursor.fetchone()
        return Job.from_row(row) if row else None

    async def _many(self, sql: str, *params: Any) -> list[Job]:
        async with self._db.execute(sql, params) as cursor:
            return [Job.from_row(row) async for row in cursor]
