"""Read-only figures over the jobs table for the owner's status view, the metrics and the
estimates members see (a job's place in line, how long a kind of job takes).

Nothing here writes; each method is one query, the same on SQLite and PostgreSQL (times are
seconds since the epoch: a duration is a subtraction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.storage.backend import Database
from bot.storage.records import ACTIVE, in_guild

_ACTIVE_MARKS = ", ".join("?" for _ in ACTIVE)
# A job waits in line until Pika starts working on it: not yet sent, or sent and reported
# queued (or delayed) by Pika.
_WAITING_SQL = (
    "(status IN ('submitting', 'sending') OR "
    "(status = 'running' AND (pika_status IS NULL OR pika_status IN ('queued', 'delayed'))))"
)


@dataclass(frozen=True)
class Tally:
    """How many jobs of one kind share a status (and a failure, for the ended ones)."""

    kind: str
    status: str
    pika_status: str | None
    failure: str | None
    count: int


class JobReports:
    """Counts and durations of jobs, by kind."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def not_ended(
        self, guild_id: int | None = None, *, everywhere: bool = False
    ) -> list[Tally]:
        """Jobs that have not ended, by kind, status and Pika's status (in one server, or
        across the bot with `everywhere`)."""
        sql = (
            "SELECT kind, status, pika_status, NULL, COUNT(*) FROM jobs "  # noqa: S608 - fixed marks
            f"WHERE status IN ({_ACTIVE_MARKS})"
        )
        params: list[Any] = [s.value for s in ACTIVE]
        if not everywhere:
            guild, values = in_guild(guild_id)
            sql += f" AND {guild}"
            params += values
        return await self._tallies(sql + " GROUP BY kind, status, pika_status", params)

    async def since(self, guild_id: int | None, moment: float) -> list[Tally]:
        """Jobs asked for in a server since `moment`, by kind, status and failure."""
        guild, params = in_guild(guild_id)
        return await self._tallies(
            "SELECT kind, status, NULL, failure, COUNT(*) FROM jobs "  # noqa: S608 - fixed text
            f"WHERE {guild} AND created_at >= ? GROUP BY kind, status, failure",
            [*params, moment],
        )

    async def durations(self, per_kind: int = 50) -> dict[str, list[float]]:
        """Seconds from asked to delivered of the latest `per_kind` delivered jobs of each kind,
        across the bot (Pika's speed does not depend on the server)."""
        rows = await self._db.fetch(
            "SELECT kind, seconds FROM ("
            " SELECT kind, finished_at - created_at AS seconds, ROW_NUMBER() OVER"
            " (PARTITION BY kind ORDER BY finished_at DESC) AS n FROM jobs"
            " WHERE status = 'delivered' AND finished_at IS NOT NULL"
            ") AS latest WHERE n <= ?",
            (per_kind,),
        )
        found: dict[str, list[float]] = {}
        for kind, seconds in rows:
            found.setdefault(str(kind), []).append(float(seconds))
        return found

    async def _tallies(self, sql: str, params: list[Any]) -> list[Tally]:
        rows = await self._db.fetch(sql, params)
        return [Tally(str(k), str(s), p, f, int(n)) for k, s, p, f, n in rows]

    async def in_line(self) -> list[tuple[float, str, str]]:
        """The jobs waiting for Pika to start them (not sent yet, or queued at Pika), oldest
        first, as (asked at, id, kind): the line that the estimates then keep in memory."""
        rows = await self._db.fetch(
            f"SELECT created_at, id, kind FROM jobs WHERE {_WAITING_SQL} "  # noqa: S608 - fixed text
            "ORDER BY created_at, id"
        )
        return [(float(created), str(job_id), str(kind)) for created, job_id, kind in rows]
