"""Counting the bot's round trips to the database: every call aiosqlite hands to its thread,
and every statement asyncpg sends to PostgreSQL."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiosqlite
import asyncpg

# asyncpg's statements, each one exchange with the server (a statement it has not seen before
# is prepared first, in the same call).
ASYNCPG_CALLS = ("execute", "executemany", "fetch")


@dataclass
class RoundTrips:
    """How many round trips were made, and by which callable of the connection."""

    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    statements: list[str] = field(default_factory=list)  # the SQL of each, where it has one

    @property
    def total(self) -> int:
        """Round trips in all."""
        return sum(self.calls.values())


def install(count: RoundTrips) -> Any:
    """Count every call of `aiosqlite.Connection._execute` (the one way to its thread) from
    now on; returns the original, to put back."""
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        count.calls[getattr(fn, "__name__", repr(fn))] += 1
        count.statements.append(str(args[0])[:80] if args else "")
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    return original


def _counting(count: RoundTrips, name: str, original: Any) -> Any:
    async def counted(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        count.calls[name] += 1
        count.statements.append(query[:80])
        return await original(self, query, *args, **kwargs)

    return counted


@contextlib.contextmanager
def counting_round_trips() -> Iterator[RoundTrips]:
    """Count round trips inside the block, on SQLite and PostgreSQL."""
    count = RoundTrips()
    original = install(count)
    asyncpg_originals = {name: getattr(asyncpg.Connection, name) for name in ASYNCPG_CALLS}
    for name, method in asyncpg_originals.items():
        setattr(asyncpg.Connection, name, _counting(count, name, method))
    try:
        yield count
    finally:
        aiosqlite.Connection._execute = original  # type: ignore[method-assign]
        for name, method in asyncpg_originals.items():
            setattr(asyncpg.Connection, name, method)
