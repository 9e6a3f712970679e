"""Members' first answers come before everything else the bot has to do.

Discord drops an interaction that is not answered within three seconds of being sent, so in a
burst (two hundred members asking at once) the answers race one clock. Three rules keep them
ahead of it:

- **In arrival order, a few at a time.** Each request prepares its answer (intake, admission,
  the working message) in a `turn`; at most `ANSWERS_AT_ONCE` turns run together and the rest
  wait in arrival order. Run all at once, the event loop would take every request one step at a
  time in turn, so the first answer would go out only when nearly all of them were ready: past
  three seconds on a busy machine, every one of them is lost together. In order, the first
  ones are answered at once. Several turns run together because an answer waits on the network
  (the database, Discord's reply), not only on this process; not many, because the turns being
  prepared compete with the holds of the requests behind them (sixteen turns put the last
  hold of a 200-request burst 1.3-1.6 times the floor bot's last answer; eight, 0.7-1.5).
- **Held at once when its turn is behind others.** A request that finds every turn taken is
  acknowledged privately first ("thinking", the same private hold as before probing media), so
  no member of a burst waits for the rest of the burst to hear back, however slow the machine:
  the deadline is met by the hold, and its public answer follows in its turn (two more calls
  to Discord: the public message, and the private one saying the job started below).
- **Paid calls wait for pending answers.** A job's call to Pika (and what follows it: the
  ledger, the database, the tracker) waits while any member still waits for a first answer, for
  at most `PAID_CALL_WAIT` seconds: a paid call has no deadline, an answer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)

ANSWERS_AT_ONCE = 8
PAID_CALL_WAIT = 3.0  # Discord's deadline: an answer still pending past it is lost anyway


class Turn:
    """One request's turn to prepare its answer. `answered` (a first answer made, public or a
    private hold) lets paid calls go once no other answer is pending; `done` also lets the next
    request into the turns."""

    def __init__(self, answering: Answering) -> None:
        self._answering = answering
        self.held = False  # it has its place among the turns running (not still waiting)
        self._answered = False
        self._released = False

    def answered(self) -> None:
        """The member has a first answer: Discord's deadline is met."""
        if not self._answered:
            self._answered = True
            self._answering._answered()

    def done(self) -> None:
        """The member has their first answer (or will not get one from this turn)."""
        self.answered()
        if self.held and not self._released:
            self._released = True
            self._answering._slots.release()

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
    async def turn(self, hold: Callable[[], Awaitable[None]] | None = None) -> AsyncIterator[Turn]:
        """Wait for a turn (in arrival order) and hold it until the block ends or `done`.
        `hold` acknowledges the member privately; it is made first when every turn is taken."""
        self._pending += 1
        self._quiet.clear()
        turn = Turn(self)
        try:
            if hold is not None and self._slots.locked():
                await self._hold_early(hold)
                turn.answered()
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

    @staticmethod
    async def _hold_early(hold: Callable[[], Awaitable[None]]) -> None:
        try:
            await hold()
        except Exception:
            log.warning("Could not acknowledge a request waiting for its turn", exc_info=True)

    def _answered(self) -> None:
        self._pending -= 1
        if not self._pending:
            self._quiet.set()
