"""Leases: which process works on which job, when several processes share one database.

A process holds a job while the job's `claimed_by` is the process's id; `claimed_until` says
until when, unless renewed. A process polls and delivers only the jobs it holds:

- a job it admits is claimed in its insert (`Leases.at_insert`, no extra round trip);
- free jobs, and jobs whose lease ended (their process died, or stopped renewing), are claimed
  in batches (`claim`), so that another process takes over a dead one's jobs within a lease and
  a third (it claims every third of a lease);
- every lease the process holds is renewed by one statement, well before it ends (`renew`),
  which also says which jobs the process still holds (a job missing from it was lost to
  another process) and which received a push somewhere else (`mark_due`);
- a clean stop releases them all (`release`), so that another process takes them at once.

Holding a job is what lets a process start a side effect on it; the step itself stays
compare-and-set on the job's status, so that it happens once even when two processes race.
Times are each process's own clock: processes on several machines need their clocks in step
(NTP), to well within a lease; on PostgreSQL start-up checks it against the server's clock
(`postgres.check_clock`).

Every statement is standard SQL with `?` placeholders and RETURNING. The one that PostgreSQL
needs written differently is the claim (`claim_sql`, by dialect).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.storage.backend import Database, Dialect, Row
from bot.storage.records import Job, Status

DEFAULT_LEASE_SECONDS = 30.0
CLAIM_BATCH = 500  # jobs one claim statement takes at most
ROWS_BATCH = 500  # ids one read by id names at most
# A status by its stored value: a renewal reads thousands, and Status(value) is 20 times slower.
STATUSES = {status.value: status for status in Status}

# Renews every lease of a process on the jobs it still has work on, and says which those are.
RENEW_SQL = (
    "UPDATE jobs SET claimed_until = ? WHERE claimed_by = ? AND active = 1 "
    "RETURNING id, status, pushed_at, pushed_pika_job_id"
)
# A job in `sending` keeps its lease on a clean stop: its paid call may still be answered, and
# a job is settled as interrupted only once its lease has ended.
RELEASE_SQL = (
    "UPDATE jobs SET claimed_by = NULL, claimed_until = 0 "
    "WHERE claimed_by = ? AND status <> 'sending'"
)
# A push received by a process that may not hold the job: a running job with a Pika id to poll
# by becomes due now (a job listening for the push of a call whose outcome was unknown keeps its
# time-out as its due time), and the push is recorded for the holder to honour.
MARK_DUE_SQL = (
    "UPDATE jobs SET next_poll_at = CASE WHEN status = ? AND pika_job_id IS NOT NULL "
    "AND next_poll_at > ? THEN ? ELSE next_poll_at END, pushed_at = ?, "
    "pushed_pika_job_id = COALESCE(?, pushed_pika_job_id) WHERE id = ? AND active = 1 "
    "RETURNING claimed_by"
)
MINE_SQL = "SELECT * FROM jobs WHERE claimed_by = ? AND active = 1 ORDER BY created_at"
# Whether a process still holds a live lease (its ledger of Pika ids may still grow).
LIVE_SQL = "SELECT COUNT(*) FROM jobs WHERE claimed_by = ? AND claimed_until >= ?"


def claim_sql(dialect: Dialect) -> str:
    """The claim: up to `?` active jobs whose lease ended before `?` (a job no process holds has
    `claimed_until` 0), soonest due first, taken for this process in one statement, returned
    whole (one range of the index on `active, claimed_until`, then a sort of what it found).

    SQLite takes its write lock before the inner SELECT reads, so two processes' claims never
    take the same job. On PostgreSQL the inner SELECT locks the rows it picks and skips the rows
    another claim is locking (`FOR UPDATE SKIP LOCKED`): concurrent claims take different jobs
    instead of waiting for each other."""
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"unknown dialect: {dialect!r}")
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else ""
    return (
        "UPDATE jobs SET claimed_by = ?, claimed_until = ? WHERE id IN ("  # noqa: S608 - fixed
        "SELECT id FROM jobs WHERE active = 1 AND claimed_until < ? "
        f"ORDER BY next_poll_at LIMIT ?{lock}) RETURNING *"
    )


def new_owner() -> str:
    """A process's id for its leases: random for each start, so that a restarted process never
    mistakes its predecessor's leases for its own."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class Held:
    """A job the renewal found this process still holding, and the latest push it received in
    another process, if any."""

    job_id: str
    status: Status
    pushed_at: float | None
    pushed_pika_job_id: str | None


class Leases:
    """The lease statements of one process (`owner`), on the jobs store's database (the claim
    written for its dialect)."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], float],
        read: Callable[[Row], Awaitable[Job | None]],
        seconds: float = DEFAULT_LEASE_SECONDS,
        owner: str | None = None,
    ) -> None:
        self._db = db
        self.clock = clock
        self._read = read  # a row as a Job (an unreadable row is marked failed and skipped)
        self.seconds = seconds
        self.owner = owner or new_owner()
        self._claim_sql = claim_sql(db.dialect)

    def until(self, now: float | None = None) -> float:
        """When a lease taken or renewed now ends."""
        return (self.clock() if now is None else now) + self.seconds

    def at_insert(self, now: float) -> dict[str, Any]:
        """The columns that make a new job this process's from its insert."""
        return {"claimed_by": self.owner, "claimed_until": self.until(now)}

    def taken(self, now: float | None = None) -> dict[str, Any]:
        """The columns a compare-and-set step sets to hold the job it moves on (its winner is
        the process that does what follows)."""
        return {"claimed_by": self.owner, "claimed_until": self.until(now)}

    async def claim(self, limit: int = CLAIM_BATCH) -> list[Job]:
        """Take up to `limit` free or expired active jobs, soonest due first."""
        now = self.clock()
        params = (self.owner, self.until(now), now, limit)
        rows = await self._db.fetch(self._claim_sql, params)
        jobs = [await self._read(row) for row in rows]
        return [job for job in jobs if job is not None]

    async def renew(self) -> list[Held]:
        """Extend every lease this process holds on an active job; the jobs it holds."""
        rows = await self._db.fetch(RENEW_SQL, (self.until(), self.owner))
        return [
            Held(str(row[0]), STATUSES[row[1]], row[2], None if row[3] is None else str(row[3]))
            for row in rows
        ]

    async def release(self) -> None:
        """Give up every lease (a clean stop), so that other processes take the jobs at once."""
        await self._db.execute(RELEASE_SQL, (self.owner,))

    async def mine(self) -> list[Job]:
        """The active jobs this process holds, whole, oldest first."""
        rows = await self._db.fetch(MINE_SQL, (self.owner,))
        jobs = [await self._read(row) for row in rows]
        return [job for job in jobs if job is not None]

    async def rows(self, job_ids: Sequence[str]) -> list[Job]:
        """Jobs by id, whole (those this process holds and does not follow)."""
        found: list[Job] = []
        for start in range(0, len(job_ids), ROWS_BATCH):
            chunk = list(job_ids[start : start + ROWS_BATCH])
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT * FROM jobs WHERE id IN ({marks})"  # noqa: S608 - marks only
            for row in await self._db.fetch(sql, chunk):
                job = await self._read(row)
                if job is not None:
                    found.append(job)
        return found

    async def mark_due(self, job_id: str, pika_job_id: str | None) -> tuple[bool, str | None]:
        """Record a push for a job this process may not hold: whether the job is active, and
        which process holds it (None: none)."""
        now = self.clock()
        params = (Status.RUNNING.value, now, now, now, pika_job_id, job_id)
        row = await self._db.fetch_one(MARK_DUE_SQL, params)
        if row is None:
            return False, None
        holder = row[0]
        return True, None if holder is None else str(holder)

    async def live(self, owner: str) -> bool:
        """Whether the process `owner` holds a lease that has not ended."""
        return int(await self._db.fetch_value(LIVE_SQL, (owner, self.clock()))) > 0
