"""Documents read from the database and kept in memory a while: a server's settings
(`bot/guardrails/settings.py`), a member's defaults (`bot/preferences.py`).

An entry is read again after `seconds`, so that a change made by hand, or one another process
could not tell, is seen within that time; `forget` drops it at once (this process changed it,
or another process said it did). A read that a `forget` crossed is used once and not kept: it
may hold the document from before the change it was told of. At most `most` entries are kept,
the oldest reads forgotten first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ReadCache(Generic[K, V]):
    """Read documents by key, each kept for `seconds` unless forgotten; `most` at once."""

    def __init__(self, seconds: float, most: int, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self.most = most
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}  # in the order they were read
        self._forgets = 0  # every `forget`: a read one crossed is not kept

    def forget(self, key: K) -> None:
        """Read `key` again next time."""
        self._forgets += 1
        self._entries.pop(key, None)

    async def get(self, key: K, read: Callable[[], Awaitable[V]]) -> V:
        """The kept document of `key`, or `read()`'s, kept unless a `forget` came meanwhile."""
        now = self._clock()
        kept = self._entries.get(key)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        forgets = self._forgets
        value = await read()
        if self._forgets == forgets:
            self._entries.pop(key, None)  # to the end: the newest read
            self._entries[key] = (now, value)
            while len(self._entries) > self.most:
                del self._entries[next(iter(self._entries))]
        return value
