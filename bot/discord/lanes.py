"""The chores of each channel: progress edits, the bot's own reactions, "done" marks.

Results never queue here: each goes out as soon as it is ready, paced only by Discord's rate
limits (discord.py waits on each bucket as Discord's headers say). Chores are what may wait:
each channel runs its chores one at a time, so they follow its buckets' pace without piling
requests up; none starts while a result is being posted in its channel (`posting`), so a
chore never takes a place in a bucket a result needs; edits go before reactions (`low`); a
newer chore with the same key (a job's progress) replaces one still waiting; and all chores
together stay under `CHORES_PER_SECOND`, half of Discord's global limit of 50 requests a
second, so that they can never use up the budget results need.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

CHORES_PER_SECOND = 25.0
# How long one chore may take: discord.py waits out a 429's Retry-After however long (an hour
# for a reaction, once), and a chore that waits holds every later one of its channel.
CHORE_SECONDS = 15.0
MAX_WAITING = 1000  # chores waiting in one channel; past that, the oldest are dropped

Make = Callable[[], Awaitable[None]]
Queue = collections.OrderedDict[object, "Chore"]


@dataclass
class Chore:
    """One request to make when its turn comes; `done` resolves when it is made (or dropped)."""

    key: Hashable | None
    make: Make
    started: bool = False  # its request is being made (no longer droppable)
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class ChannelLanes:
    """One queue of chores per channel, worked by one task per channel while it has any."""

    def __init__(
        self, per_second: float = CHORES_PER_SECOND, chore_seconds: float | None = None
    ) -> None:
        # Per channel: the edits, then the reactions, each in the order they came.
        self._waiting: dict[int, tuple[Queue, Queue]] = {}
        self._running: dict[int, Chore] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._gap = 1.0 / per_second
        # CHORE_SECONDS is read now, not bound as a default when the module loads: the
        # end-to-end tests' launcher (tests/e2e/short_waits.py) shortens it in the bot's process.
        self._chore_seconds = CHORE_SECONDS if chore_seconds is None else chore_seconds
        self._next_start = 0.0
        self._order = 0
        self._posting: dict[int, int] = {}  # results being posted, by channel
        self._quiet: dict[int, asyncio.Event] = {}  # set while a channel posts no result

    @contextlib.asynccontextmanager
    async def posting(self, channel_id: int) -> AsyncIterator[None]:
        """A result is being posted in the channel: its chores wait until it is done."""
        self._posting[channel_id] = self._posting.get(channel_id, 0) + 1
        self._quiet.setdefault(channel_id, asyncio.Event()).clear()
        try:
            yield
        finally:
            self._posting[channel_id] -= 1
            if not self._posting[channel_id]:
                del self._posting[channel_id]
                self._quiet.pop(channel_id).set()

    def chore(
        self, channel_id: int, key: Hashable | None, make: Make, *, low: bool = False
    ) -> asyncio.Future[None]:
        """Queue a chore (`low`: after every edit waiting); one still waiting with the same
        key is replaced (and resolved)."""
        queues = self._waiting.setdefault(
            channel_id, (collections.OrderedDict(), collections.OrderedDict())
        )
        queue = queues[1 if low else 0]
        chore = Chore(key, make)
        if key is not None and key in queue:
            replaced = queue.pop(key)
            if not replaced.done.done():
                replaced.done.set_result(None)
        self._order += 1
        queue[key if key is not None else ("_", self._order)] = chore
        while len(queue) > MAX_WAITING:
            _, dropped = queue.popitem(last=False)
            if not dropped.done.done():
                dropped.done.set_result(None)
        if channel_id not in self._workers:
            self._workers[channel_id] = asyncio.ensure_future(self._work(channel_id))
        return chore.done

    async def settle(self, channel_id: int, key: Hashable) -> None:
        """Drop the chore waiting with `key`, and wait for the one with `key` being made: what
        a result does before it replaces a job's working message, so that no progress edit
        lands on top of it."""
        for queue in self._waiting.get(channel_id, ()):
            if key in queue:
                dropped = queue.pop(key)
                if not dropped.done.done():
                    dropped.done.set_result(None)
        running = self._running.get(channel_id)
        if running is not None and running.key == key:
            if not running.started:  # still waiting for its turn: drop it
                running.done.set_result(None)
            else:
                await asyncio.shield(running.done)

    async def close(self) -> None:
        """Stop every worker; what waits is dropped."""
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _work(self, channel_id: int) -> None:
        edits, reactions = self._waiting[channel_id]
        try:
            while edits or reactions:
                while channel_id in self._posting:
                    await self._quiet[channel_id].wait()
                if not (edits or reactions):  # a result settled them meanwhile
                    break
                _, chore = (edits or reactions).popitem(last=False)
                self._running[channel_id] = chore  # before the pace: `settle` must see it
                try:
                    await self._pace()
                    if chore.done.done():  # dropped by `settle` while it waited its turn
                        continue
                    chore.started = True
                    async with asyncio.timeout(self._chore_seconds):
                        await chore.make()
                except TimeoutError:  # cosmetic: given up, the channel's next chore goes on
                    log.info("A chore in channel %d took too long; dropped", channel_id)
                except Exception as exc:  # a chore is cosmetic: log it and go on
                    log.info("A chore in channel %d failed: %s", channel_id, exc)
                finally:
                    del self._running[channel_id]
                    if not chore.done.done():
                        chore.done.set_result(None)
        finally:
            self._workers.pop(channel_id, None)
            if not edits and not reactions:
                self._waiting.pop(channel_id, None)

    async def _pace(self) -> None:
        """Start chores no faster than the global share allows."""
        now = time.monotonic()
        start = max(now, self._next_start)
        self._next_start = start + self._gap
        if start > now:
            await asyncio.sleep(start - now)
