"""The job store: one row per job, and every read and write of the jobs table.

Every write is one statement on the database (`backend.py`: SQLite or PostgreSQL), which
commits on its own: one round trip, no transaction held between two awaits. Writes that return
the row use RETURNING.

Which jobs count toward a member's quotas (`counted`): every job, from its insert on, except one
that ended without Pika ever accepting it: cancelled before the paid call (the interaction could
not be acknowledged), refused by Pika (an error answer, or 429/5xx until the retries ran out), or
whose stored request no longer validates. A job whose paid call may have reached Pika (the
outcome is unknown) stays counted: it may have been paid. `bot/storage/admission.py` has the
counting itself.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bot.storage.admission import (
    Limits,
    Refused,
    admit_sql,
    counts_sql,
    parameters,
    repeat_filter,
)
from bot.storage.backend import Database, Row
from bot.storage.holds import Holds
from bot.storage.leases import DEFAULT_LEASE_SECONDS, Leases
from bot.storage.records import (
    _ACTIVE_SQL,
    _UNMADE_SQL,
    COLUMN_TYPES,
    COLUMNS,
    NEW_JOB_COLUMNS,
    UPDATE_MANY_PARAMETERS,
    Job,
    NewJob,
    Status,
    in_guild,
    new_job_id,
)

log = logging.getLogger(__name__)


class JobStore:
    """All reads and writes of jobs, on the database `bot.storage.db` opened."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> None:
        self._db = db
        self.clock = clock
        self._unreadable: set[str] = set()  # rows already reported
        # This process's leases: the jobs it admits are its own from their insert.
        self.leases = Leases(db, clock, self._read, lease_seconds)
        # Members' private holds, leased with this process's jobs (see holds.py).
        self.holds = Holds(db, self.leases)

    # --- new jobs -------------------------------------------------------------------------

    async def create(self, new: NewJob) -> Job:
        """Write a new job in status `submitting`, with no limit checked (tests, tools)."""
        row = self._row(new)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        sql = f"INSERT INTO jobs ({names}) VALUES ({marks}) RETURNING *"  # noqa: S608 - fixed
        rows = await self._db.fetch(sql, list(row.values()))
        return Job.from_row(rows[0])

    async def admit(self, new: NewJob, limits: Limits) -> Job | Refused:
        """Insert the job only if `limits` allow it and it repeats no job (its `repeat_key`,
        see `repeated`), in one statement (see `admission.py`): a double click or a double
        reaction makes one job.

        Returns the new job, or what refused it: the counts read just after, in one more read,
        and the job it repeats, if any.
        """
        row = self._row(new)
        repeat = limits.repeat
        if repeat is not None:
            assert new.repeat_key is not None, "a repeat rule needs the job's repeat_key"
        params = parameters(row, limits)
        insert = admit_sql(list(row), _ACTIVE_SQL, _UNMADE_SQL, repeat)
        # One statement, with no other admission of the server in between, in any process.
        async with self._db.serialised(row["guild_id"] or 0) as db:
            inserted = await db.fetch(insert, params)
        if inserted:
            return Job.from_row(inserted[0])
        read = counts_sql(_ACTIVE_SQL, _UNMADE_SQL, repeat)
        counts = await self._db.fetch(read, params)
        running, today, server_today, last, twin_id = counts[0]
        twin = await self.get(twin_id) if twin_id is not None else None
        return Refused(int(running), int(today), int(server_today), last, twin)

    async def repeated(
        self, repeat_key: str, since: float, sticky: Sequence[Status] = ()
    ) -> Job | None:
        """The latest job that a new one with this key would repeat: not ended without a video,
        and created at `since` or later, or with a status in `sticky`."""
        same = repeat_filter(_UNMADE_SQL, tuple(Status(s).value for s in sticky))
        sql = f"SELECT * FROM jobs WHERE {same} ORDER BY created_at DESC LIMIT 1"  # noqa: S608
        params = {"repeat_key": repeat_key, "repeat_since": since}
        row = await self._db.fetch_one(sql, params)
        return await self._read(row) if row is not None else None

    def _row(self, new: NewJob) -> dict[str, Any]:
        """The columns of a new job: submitting, active, due in `due_in` seconds."""
        now = self.clock()
        row = {name: getattr(new, name) for name in NEW_JOB_COLUMNS}
        row |= {"id": new_job_id(), "request": json.dumps(new.request)}
        row["personal"] = json.dumps(new.personal) if new.personal else None
        row |= {"status": Status.SUBMITTING.value, "active": 1, "next_poll_at": now + new.due_in}
        return row | self.leases.at_insert(now) | {"created_at": now, "updated_at": now}

    # --- changes --------------------------------------------------------------------------

    async def update(self, job_id: str, **changes: Any) -> Job:
        """Change columns of a job; return it as it is now."""
        job = await self._set(job_id, None, changes)
        assert job is not None, f"no job {job_id}"
        return job

    async def transition(
        self, job_id: str, expected: Sequence[Status], *, held: bool = False, **changes: Any
    ) -> Job | None:
        """Change a job only if its status is one of `expected` (compare-and-set), and, with
        `held`, only while this process holds it (see `leases.py`); the job as it is now if it
        was changed, None if it was not."""
        return await self._set(job_id, expected, changes, held=held)

    async def _set(
        self,
        job_id: str,
        expected: Sequence[Status] | None,
        changes: dict[str, Any],
        *,
        held: bool = False,
    ) -> Job | None:
        sql, values, guard = self._update_sql(changes, expected)
        if held:
            sql += " AND claimed_by = ?"
            guard.append(self.leases.owner)
        params = [*values, job_id, *guard]
        row = await self._db.fetch_one(sql + " RETURNING *", params)
        return await self._read(row) if row is not None else None

    async def update_many(
        self,
        changes: Mapping[str, Mapping[str, Any]],
        expected: Sequence[Status] | None = None,
        *,
        held: bool = False,
    ) -> None:
        """Apply many jobs' changes (`{job_id: {column: value}}`), one statement per set of
        columns (`UPDATE ... FROM (VALUES ...)`, on both databases): how the tracker writes
        poll results in a batch. Jobs whose status is not in `expected`, and with `held` jobs
        this process does not hold, are left alone."""
        groups: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
        for job_id, columns in changes.items():
            values = self._values(dict(columns))
            groups.setdefault(tuple(sorted(values)), []).append((job_id, values))
        guard = ""
        statuses: list[Any] = []
        if expected is not None:
            guard = f" AND jobs.status IN ({', '.join('?' for _ in expected)})"
            statuses = [Status(s).value for s in expected]
        if held:
            guard += " AND jobs.claimed_by = ?"
            statuses.append(self.leases.owner)
        for names, rows in groups.items():
            chunk_size = max(1, UPDATE_MANY_PARAMETERS // (len(names) + 1))
            for start in range(0, len(rows), chunk_size):
                chunk = rows[start : start + chunk_size]
                # The first row names the columns' types (PostgreSQL reads a bare parameter in
                # VALUES as text); the other rows take them from it.
                typed = ", ".join(f"CAST(? AS {COLUMN_TYPES[n]})" for n in ("id", *names))
                bare = f"({', '.join('?' for _ in range(len(names) + 1))})"
                tuples = ", ".join([f"({typed})", *(bare for _ in chunk[1:])])
                assignments = ", ".join(f"{n} = v.column{i + 2}" for i, n in enumerate(names))
                sql = (
                    f"UPDATE jobs SET {assignments} FROM (VALUES {tuples}) AS v "  # noqa: S608
                    f"WHERE jobs.id = v.column1{guard}"
                )
                params = [p for job_id, v in chunk for p in (job_id, *(v[n] for n in names))]
                await self._db.execute(sql, [*params, *statuses])

    def _values(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The columns to write for `changes`: checked, as stored, with `updated_at`."""
        unknown = set(changes) - COLUMNS
        if unknown:
            raise ValueError(f"unknown job columns: {sorted(unknown)}")
        changes = {k: (v.value if isinstance(v, Status) else v) for k, v in changes.items()}
        if "status" in changes:
            changes.setdefault("active", 0 if Status(changes["status"]).is_final else 1)
        for name in ("request", "personal"):
            if isinstance(changes.get(name), dict):
                changes[name] = json.dumps(changes[name])
        for name in ("active", "counted", "mention"):
            if isinstance(changes.get(name), bool):
                changes[name] = int(changes[name])
        return changes | {"updated_at": self.clock()}

    def _update_sql(
        self, changes: dict[str, Any], expected: Sequence[Status] | None
    ) -> tuple[str, list[Any], list[Any]]:
        """`UPDATE jobs SET ... WHERE id = ? [AND status IN (...)]`, the values to set, and
        the statuses that guard it (the id goes between the two)."""
        changes = self._values(changes)
        names = sorted(changes)
        assignments = ", ".join(f"{name} = ?" for name in names)
        sql = f"UPDATE jobs SET {assignments} WHERE id = ?"  # noqa: S608 - names are checked
        guard: list[Any] = []
        if expected is not None:
            sql += f" AND status IN ({', '.join('?' for _ in expected)})"
            guard = [Status(s).value for s in expected]
        return sql, [changes[name] for name in names], guard

    # --- reads ----------------------------------------------------------------------------

    async def get(self, job_id: str) -> Job | None:
        """A job by our id."""
        return await self._one("SELECT * FROM jobs WHERE id = ?", job_id)

    async def durations(self, per_kind: int) -> list[tuple[str, float]]:
        """The latest observed Pika durations, up to `per_kind` of each kind, oldest first."""
        rows = await self._db.fetch(
            "SELECT kind, pika_seconds FROM (SELECT kind, pika_seconds, created_at, "
            "ROW_NUMBER() OVER (PARTITION BY kind ORDER BY created_at DESC) AS n FROM jobs "
            "WHERE pika_seconds IS NOT NULL) AS latest WHERE n <= ? ORDER BY created_at",
            (per_kind,),
        )
        return [(str(kind), float(seconds)) for kind, seconds in rows]

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
        guild, params = in_guild(guild_id)
        return await self._many(
            f"SELECT * FROM jobs WHERE {guild} AND user_id = ? "  # noqa: S608 - fixed text
            "ORDER BY created_at DESC LIMIT ?",
            *params,
            user_id,
            limit,
        )

    async def count_since(
        self, guild_id: int | None, since: float, user_id: int | None = None
    ) -> int:
        """Counted jobs created in a server (by one member, if given) since a moment: what the
        daily quotas see."""
        guild, params = in_guild(guild_id)
        sql = f"SELECT COUNT(*) FROM jobs WHERE {guild} AND created_at >= ? AND counted = 1"  # noqa: S608
        params.append(since)
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return int(await self._db.fetch_value(sql, params))

    async def running_jobs(self, guild_id: int | None, user_id: int | None = None) -> list[Job]:
        """Jobs in a server (of one member, if given) that have not ended."""
        guild, params = in_guild(guild_id)
        sql = f"SELECT * FROM jobs WHERE {guild} AND status IN ({_ACTIVE_SQL})"  # noqa: S608
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        return await self._many(sql + " ORDER BY created_at", *params)

    async def _one(self, sql: str, *params: Any) -> Job | None:
        row = await self._db.fetch_one(sql, params)
        return await self._read(row) if row is not None else None

    async def _many(self, sql: str, *params: Any) -> list[Job]:
        jobs = [await self._read(row) for row in await self._db.fetch(sql, params)]
        return [job for job in jobs if job is not None]

    async def _read(self, row: Row) -> Job | None:
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
                    [Status.FAILED.value, self.clock(), job_id],
                )
            return None
