"""The cache of documents read from the database: kept a while, forgotten on a change, a read
that a change crossed not kept, and bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.read_cache import ReadCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_document_is_kept_for_its_seconds_then_read_again() -> None:
    clock, reads = Clock(), []

    async def read() -> str:
        reads.append(clock.now)
        return f"v{len(reads)}"

    cache: ReadCache[int, str] = ReadCache(60, 10, clock)
    assert await cache.get(1, read) == "v1"
    clock.now += 59
    assert await cache.get(1, read) == "v1"
    clock.now += 1
    assert await cache.get(1, read) == "v2"
    cache.forget(1)
    assert await cache.get(1, read) == "v3"


async def test_a_read_a_forget_crossed_is_used_once_not_kept() -> None:
    # The read began before another process's change and may hold the document from before it.
    started, go = asyncio.Event(), asyncio.Event()
    documents = iter(["old", "new"])

    async def slow_read() -> str:
        started.set()
        await go.wait()
        return next(documents)

    async def read() -> str:
        return next(documents)

    cache: ReadCache[int, str] = ReadCache(60, 10, Clock())
    crossed = asyncio.create_task(cache.get(1, slow_read))
    await started.wait()
    cache.forget(1)
    go.set()
    assert await crossed == "old"
    assert await cache.get(1, read) == "new"


async def test_the_oldest_read_goes_first_past_the_bound() -> None:
    clock, reads = Clock(), []

    def reader(key: int) -> Callable[[], Awaitable[int]]:
        async def read() -> int:
            reads.append(key)
            return key

        return read

    cache: ReadCache[int, int] = ReadCache(60, 2, clock)
    for key in (1, 2):
        await cache.get(key, reader(key))
    clock.now += 30
    cache.forget(1)
    await cache.get(1, reader(1))  # read again: now the newest
    await cache.get(3, reader(3))  # past the bound: 2, the oldest read, goes
    await cache.get(1, reader(1))
    await cache.get(2, reader(2))
    assert reads == [1, 2, 1, 3, 2]
