"""Admission in one statement: a job row is inserted only if the member's and the server's limits
allow it, so caps are exact under any concurrency, with no lock held in Python.

SQLite runs an `INSERT ... SELECT ... WHERE` as one write transaction: it takes the database's
write lock before it reads the counts, so two admissions, even from two processes, never both
see the room for one more job. PostgreSQL's twin is the same statement inside a transaction that
first takes `pg_advisory_xact_lock(<the server's id>)` (`Database.serialised`), which serialises
the admissions of one server across processes and lets other servers' run side by side; the
statement's snapshot is taken after the lock, so it counts every admission committed before.

Which rows count (`counted`, see `bot/storage/jobs.py`):
- the running cap counts a member's jobs whose status is one of ACTIVE (submitting, sending,
  running, delivering), counted or not: they occupy Pika or the bot right now;
- the daily quotas and the cooldown count the jobs created since the start of the quota day
  (since `now - cooldown`) whose `counted` is 1: every job except those that ended without Pika
  ever accepting them (refused, or cancelled before the paid call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.storage.records import COLUMN_TYPES

if TYPE_CHECKING:
    from bot.storage.records import Job


@dataclass(frozen=True)
class RepeatWindow:
    """When a new job is the same request as one made before (a control pressed again, see
    `bot.followups`): a job with the same `repeat_key` that did not end without a video, created
    at `since` or later, or whatever its age while its status is one of `sticky`."""

    since: float
    sticky: tuple[str, ...] = ()


@dataclass(frozen=True)
class Limits:
    """The limits one admission must respect, resolved by the guardrails from the settings."""

    running: int  # a member's jobs that have not ended
    member_daily: int  # a member's counted jobs since `day_start`
    server_daily: int | None  # the server's counted jobs since `day_start` (None: no quota)
    day_start: float  # the start of the server's quota day, as a time
    cooldown: float = 0.0  # seconds between two counted jobs of a member (0: none)
    repeat: RepeatWindow | None = None  # the job is not written when it repeats one (its twin)


@dataclass(frozen=True)
class Refused:
    """Nothing was inserted: the counts as they were just after, and the twin found, if any."""

    running: int
    today: int
    server_today: int
    last_counted: float | None  # when the member's latest counted job was created
    twin: Job | None = None  # the job this one repeats (a double click)

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


# Parameters whose type nothing else in the statement settles (see backend.py).
NOW = "CAST(:now AS DOUBLE PRECISION)"
COOLDOWN = "CAST(:cooldown AS DOUBLE PRECISION)"
SERVER_DAILY = "CAST(:server_daily AS BIGINT)"


def repeat_filter(unmade: str, sticky: tuple[str, ...]) -> str:
    """The jobs a new job with `:repeat_key` repeats (see `RepeatWindow`), as a WHERE clause."""
    kept = f"status IN ({', '.join(_literal(s) for s in sticky)})" if sticky else "1 = 0"
    return (
        f"repeat_key = :repeat_key AND status NOT IN ({unmade}) "
        f"AND (created_at >= :repeat_since OR {kept})"
    )


def _literal(status: str) -> str:
    if not status.isidentifier():  # statuses are fixed words; never member text
        raise ValueError(f"not a status: {status!r}")
    return f"'{status}'"


def _twin(unmade: str, repeat: RepeatWindow) -> str:
    return (
        f"SELECT id FROM jobs WHERE {repeat_filter(unmade, repeat.sticky)} "  # noqa: S608 - fixed
        "ORDER BY created_at DESC LIMIT 1"
    )


def admit_sql(columns: list[str], active: str, unmade: str, repeat: RepeatWindow | None) -> str:
    """The conditional insert: the row's values, kept only if every limit has room and the job
    repeats none."""
    conditions = [
        f"({RUNNING.format(active=active)}) < :running",
        f"({MEMBER_TODAY}) < :member_daily",
        f"({SERVER_DAILY} IS NULL OR ({SERVER_TODAY}) < {SERVER_DAILY})",
        f"({COOLDOWN} <= 0 OR NOT EXISTS (SELECT 1 FROM jobs WHERE guild_id = :guild "  # noqa: S608
        f"AND user_id = :user AND counted = 1 AND created_at > {NOW} - {COOLDOWN}))",
    ]
    if repeat is not None:
        conditions.append(f"NOT EXISTS ({_twin(unmade, repeat)})")
    # Typed, for PostgreSQL: a bare parameter in a SELECT list would be text.
    values = ", ".join(f"CAST(:v_{name} AS {COLUMN_TYPES[name]})" for name in columns)
    return (
        f"INSERT INTO jobs ({', '.join(columns)}) SELECT {values} "
        f"WHERE {' AND '.join(conditions)} RETURNING *"
    )


def counts_sql(active: str, unmade: str, repeat: RepeatWindow | None) -> str:
    """One read of every count admission checks, to say which limit refused."""
    twin = f"({_twin(unmade, repeat)})" if repeat is not None else "NULL"
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
        "repeat_key": row.get("repeat_key"),
        "repeat_since": limits.repeat.since if limits.repeat is not None else None,
    }
