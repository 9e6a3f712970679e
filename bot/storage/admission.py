"""Admission in one statement: a job row is inserted only if the member's and the server's limits
allow it, so caps are exact under any concurrency, with no lock held in Python.

SQLite runs an `INSERT ... SELECT ... WHERE` as one write transaction: it takes the database's
write lock before it reads the counts, so two admissions, even from two processes, never both
see the room for one more job. PostgreSQL's twin is the same statement inside a transaction that
first takes `pg_advisory_xact_lock(<the server's id>)`, which serialises the admissions of one
server and lets other servers' run side by side.

Which rows count (`counted`, see `bot/storage/jobs.py`):
- the running cap counts a member's jobs whose status is one of ACTIVE (submitting, sending,
  running, delivering), counted or not: they occupy Pika or the bot right now;
- the daily quotas and the cooldown count the jobs created since the start of the quota day
  (since `now - cooldown`) whose `counted` is 1: every job except those that ended without Pika
  ever accepting them (refused, or cancelled before the paid call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.storage.jobs import Job


@dataclass(frozen=True)
class Limits:
    """The limits one admission must respect, resolved by the guardrails from the settings."""

    running: int  # a member's jobs that have not ended
    member_daily: int  # a member's counted jobs since `day_start`
    server_daily: int | None  # the server's counted jobs since `day_start` (None: no quota)
    day_start: float  # the start of the server's quota day, as a time
    cooldown: float = 0.0  # seconds between two counted jobs of a member (0: none)
    duplicate_of: tuple[str, ...] = ()  # statuses in which a twin refuses this job
    # What makes a twin: the same kind, and the same parent (a follow-up of one result) or the
    # same failed job asked again (a retry).
    twin_column: Literal["parent_job_id", "retry_of"] = "parent_job_id"


@dataclass(frozen=True)
class Refused:
    """Nothing was inserted: the counts as they were just after, and the twin found, if any."""

    running: int
    today: int
    server_today: int
    last_counted: float | None  # when the member's latest counted job was created
    twin: Job | None = None  # the follow-up that already exists (a double click)

    def broken(self, limits: Limits, now: float) -> str | None:
        """Which limit refused the job, in the order a member is told; None if none does now
        (the counts changed between the insert and this read: admit again)."""
        if self.twin is not None:
            return "duplicate"
        if self.running >= limits.running:
            return "running"
        if self.today >= limits.member_daily:
            return "member_quota"
        if limits.server_daily is not None and self.server_today >= limits.server_daily:
            return "server_quota"
        last = self.last_counted
        if limits.cooldown > 0 and last is not None and now - last < limits.cooldown:
            return "cooldown"
        return None


# The member's jobs that have not ended (the running cap).
RUNNING = (
    "SELECT COUNT(*) FROM jobs WHERE guild_id = :guild AND user_id = :user AND status IN ({active})"
)
# The member's and the server's counted jobs of the quota day.
MEMBER_TODAY = (
    "SELECT COUNT(*) FROM jobs WHERE guild_id = :guild AND user_id = :user "
    "AND created_at >= :day AND counted = 1"
)
SERVER_TODAY = (
    "SELECT COUNT(*) FROM jobs WHERE guild_id = :guild AND created_at >= :day AND counted = 1"
)
LAST_COUNTED = (
    "SELECT MAX(created_at) FROM jobs WHERE guild_id = :guild AND user_id = :user AND counted = 1"
)
# A twin (same kind, and the same parent or the same job retried) in a blocking status.
TWIN = (
    "SELECT id FROM jobs WHERE {column} = :twin AND kind = :kind "
    "AND status IN ({blocking}) ORDER BY created_at DESC LIMIT 1"
)


def admit_sql(columns: list[str], active: str, blocking: str | None, twin_column: str) -> str:
    """The conditional insert: the row's values, kept only if every limit has room."""
    conditions = [
        f"({RUNNING.format(active=active)}) < :running",
        f"({MEMBER_TODAY}) < :member_daily",
        f"(:server_daily IS NULL OR ({SERVER_TODAY}) < :server_daily)",
        "(:cooldown <= 0 OR NOT EXISTS (SELECT 1 FROM jobs WHERE guild_id = :guild "
        "AND user_id = :user AND counted = 1 AND created_at > :now - :cooldown))",
    ]
    if blocking is not None:
        twin = TWIN.format(column=twin_column, blocking=blocking)
        conditions.append(f"NOT EXISTS ({twin})")
    values = ", ".join(f":v_{name}" for name in columns)
    return (
        f"INSERT INTO jobs ({', '.join(columns)}) SELECT {values} "
        f"WHERE {' AND '.join(conditions)} RETURNING *"
    )


def counts_sql(active: str, blocking: str | None, twin_column: str) -> str:
    """One read of every count admission checks, to say which limit refused."""
    twin = "NULL"
    if blocking is not None:
        twin = f"({TWIN.format(column=twin_column, blocking=blocking)})"
    return (
        f"SELECT ({RUNNING.format(active=active)}), ({MEMBER_TODAY}), ({SERVER_TODAY}), "
        f"({LAST_COUNTED}), {twin}"
    )


def parameters(row: dict[str, Any], limits: Limits) -> dict[str, Any]:
    """The named parameters of both statements, for the new job's `row`."""
    values = {f"v_{name}": value for name, value in row.items()}
    return values | {
        "guild": row["guild_id"],
        "user": row["user_id"],
        "now": row["created_at"],
        "day": limits.day_start,
        "running": limits.running,
        "member_daily": limits.member_daily,
        "server_daily": limits.server_daily,
        "cooldown": limits.cooldown,
        "twin": row.get(limits.twin_column),
        "kind": row["kind"],
    }
