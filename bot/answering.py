"""Members' first answers come before everything else the bot has to do.

Discord drops an interaction that is not answered within three seconds of being sent, so in a
burst (two hundred members asking at once) the answers race one clock. Two rules keep them
ahead of it:

- **In arrival order, a few at a time.** Each request prepares its answer (intake, admission,
  the working message) in a `turn`; at most `ANSWERS_AT_ONCE` turns run together and the rest
  wait in arrival order. Run all at once, the event loop would take every request one step at a
  time in turn, so the first answer would go out only when nearly all of them were ready: past
  three seconds on a busy machine, every one of them is lost together. In order, the first
  ones are answered at once and a machine too slow for the whole burst loses only its tail.
  Several turns run together because an answer waits on the network (the database, Discord's
  reply), not only on this process.
- **Paid calls wait for pending answers.** A job's call to Pika (and what follows it: the
  ledger, the database, the tracker) waits while any member still waits for a first answer, for
  at most `PAID_CALL_WAIT` seconds: a paid call has no deadline, an answer does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

ANSWERS_AT_ONCE = 16
PAID_CALL_WAIT = 3.0  # Discord's deadline: an answer still pending past it is lost anyway


class Turn:
    """One request's turn to prepare its answer; `done` (once answered, or refused) lets the
    next request in and, with no answer left pending, lets paid calls go."""

    def __init__(self, end: Callable[[bool], None]) -> None:
        self._end = end
        self.held = False  # it has its place among the turns running (not still waiting)
        self._over = False

    def done(self) -> None:
        """The member has their first answer (or will not get one from this turn)."""
        if not self._over:
            self._over = True
            self._end(self.held)

    def after(self, hold: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`hold` (a private acknowledgement before slow checks), ending the turn once made."""

        async def held() -> None:
            try:
                await hold()
            finally:
                self.done()

        return held


class Answering:
    """The turns of the requests being answered, and the wait of the paid calls."""

    def __init__(self, at_once: int = ANSWERS_AT_ONCE, paid_wait: float = PAID_CALL_WAIT) -> None:
        self._slots = asyncio.Semaphore(at_once)
        self._paid_wait = paid_wait
        self._pending = 0
        self._quiet = asyncio.Event()
        self._quiet.set()

    @property
    def pending(self) -> int:
        """Requests whose first answer has not been made yet (waiting for a turn, or in one)."""
        return self._pending

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[Turn]:
        """Wait for a turn (in arrival order) and hold it until the block ends or `done`."""
        self._pending += 1
        self._quiet.clear()
        turn = Turn(self._end)
        try:
            await self._slots.acquire()
            turn.held = True
            yield turn
        finally:
            turn.done()

    async def quiet(self) -> None:
        """Return once no answer is pending, or after `PAID_CALL_WAIT` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._paid_wait):
                await self._quiet.wait()

    def _end(self, held: bool) -> None:
        if held:
            self._slots.release()
        self._pending -= 1
        if not self._pending:
            self._quiet.set()
