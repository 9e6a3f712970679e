"""Holds: members' private "thinking" answers kept while their requests are handled.

A request that must wait (its media probed, or its turn behind others in a burst) is first
acknowledged privately, and that "thinking" shows until the bot edits it. A process killed in
between would leave it thinking for good: nothing else knows of it. So the hold is written as it
is made (`record`) and removed once its request was answered (`take_back`); it carries a lease
of the process handling it, renewed with the jobs' while its token lasts (`renew`). A hold whose
lease ended is taken, and removed, by whichever process claims first (`orphaned`), which then
resolves it while the interaction's token still edits it (a job admitted for it tells its member
itself: `admitted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.storage.backend import Database
from bot.storage.leases import Leases
from bot.storage.records import in_guild

RECORD_SQL = (
    "INSERT INTO holds (interaction_id, token, guild_id, user_id, locale, made_at, claimed_by, "
    "claimed_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# Removed by the process that made it, if it still holds it (see `take_back`).
TAKE_BACK_SQL = (
    "DELETE FROM holds WHERE interaction_id = ? AND claimed_by = ? RETURNING interaction_id"
)
# How long an interaction's token edits its hold (`TOKEN_SECONDS` in bot/discord/answers.py). A
# hold older is renewed no more: one whose request was answered but could not be forgotten (the
# database away then, an answer that failed) is taken and dropped, its token with it, once its
# lease ends, rather than kept for as long as its process lives.
KEPT_SECONDS = 15 * 60
RENEW_SQL = "UPDATE holds SET claimed_until = ? WHERE claimed_by = ? AND made_at > ?"
RELEASE_SQL = "UPDATE holds SET claimed_until = 0 WHERE claimed_by = ?"
# Taken by deleting it: two processes that claim at once never both get one.
ORPHANED_SQL = (
    "DELETE FROM holds WHERE claimed_until < ? "
    "RETURNING interaction_id, token, guild_id, user_id, locale, made_at"
)
# A job admitted for the hold's interaction (the token is written with the job; by the index of
# the member's jobs, from when the hold was made: `in_guild`, since `guild_id IS ?` reads every
# job on PostgreSQL).
ADMITTED_SQL = (
    "SELECT COUNT(*) FROM jobs WHERE {guild} AND user_id = ? AND created_at >= ? "
    "AND interaction_token = ?"
)


def admitted_sql(hold: Hold) -> tuple[str, list[Any]]:
    """The statement that counts the jobs admitted for `hold`, and its parameters."""
    guild, params = in_guild(hold.guild_id)
    return ADMITTED_SQL.format(guild=guild), [*params, hold.user_id, hold.made_at, hold.token]


@dataclass(frozen=True)
class Hold:
    """A private "thinking" answer: its interaction, whose token (a credential) edits it for 15
    minutes from `made_at`; who it is for, and their Discord language."""

    interaction_id: int
    token: str = field(repr=False)
    guild_id: int | None
    user_id: int
    locale: str | None
    made_at: float


class Holds:
    """The hold statements of one process (its `Leases` give its id and lease)."""

    def __init__(self, db: Database, leases: Leases) -> None:
        self._db = db
        self._leases = leases

    async def record(self, hold: Hold) -> None:
        """Write a hold as this process's (as it is made)."""
        params = (
            hold.interaction_id,
            hold.token,
            hold.guild_id,
            hold.user_id,
            hold.locale,
            hold.made_at,
            self._leases.owner,
            self._leases.until(),
        )
        await self._db.execute(RECORD_SQL, params)

    async def take_back(self, interaction_id: int) -> bool:
        """Remove a hold of this process's once its request is answered; False if it
        is no longer this process's: another took it (this one was held up past its lease,
        the database away) and told the member the bot restarted."""
        rows = await self._db.fetch(TAKE_BACK_SQL, (interaction_id, self._leases.owner))
        return bool(rows)

    async def renew(self) -> None:
        """Extend the lease of every hold this process handles while its token lasts."""
        kept_since = self._leases.clock() - KEPT_SECONDS
        params = (self._leases.until(), self._leases.owner, kept_since)
        await self._db.execute(RENEW_SQL, params)

    async def release(self) -> None:
        """A clean stop: the holds left are anyone's to resolve at once."""
        await self._db.execute(RELEASE_SQL, (self._leases.owner,))

    async def orphaned(self) -> list[Hold]:
        """Take (and remove) every hold whose process's lease ended."""
        rows = await self._db.fetch(ORPHANED_SQL, (self._leases.clock(),))
        return [
            Hold(
                int(r[0]),
                str(r[1]),
                None if r[2] is None else int(r[2]),
                int(r[3]),
                None if r[4] is None else str(r[4]),
                float(r[5]),
            )
            for r in rows
        ]

    async def admitted(self, hold: Hold) -> bool:
        """Whether a job was admitted for the hold's interaction: its own take-over tells the
        member, in the hold's place when it still shows."""
        return int(await self._db.fetch_value(*admitted_sql(hold))) > 0
