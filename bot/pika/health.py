"""What the bot knows of Pika's health, learnt from every call it makes (`PikaCall`).

Pika "answers" when the last call got an HTTP answer that is not a server error; the last
error is the latest call that went wrong for reasons of Pika or the network (no answer, 5xx, a
refused key, a rate limit), never a member's bad request (400, 404). While Pika does not
answer, `keep_checking` asks it again now and then with the key check, which spends no credit,
so the view recovers without waiting for a member's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.pika.client import PikaCall
from bot.pika.errors import PikaError

RECHECK_SECONDS = 60.0


class PikaState(StrEnum):
    """Pika as the bot last found it."""

    UNKNOWN = "unknown"  # not asked yet
    OK = "ok"
    UNREACHABLE = "unreachable"  # no answer: cannot connect, timed out, connection lost
    FAILING = "failing"  # answers with server errors
    KEY_REFUSED = "key_refused"  # 401 or 403


@dataclass(frozen=True)
class PikaProblem:
    """The latest thing that went wrong with Pika: what, on which route, when."""

    text: str
    route: str
    at: float


class PikaHealth:
    """Pika's state and last error, updated by every call the client makes."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.state = PikaState.UNKNOWN
        self.since: float | None = None  # when the state last changed
        self.last_answer_at: float | None = None
        self.last_problem: PikaProblem | None = None

    @property
    def ready(self) -> bool:
        """Whether jobs can be sent now."""
        return self.state is PikaState.OK

    def observe(self, call: PikaCall) -> None:
        """Learn from one call (the client's observer)."""
        now = self.clock()
        if call.status is None:
            self._set(PikaState.UNREACHABLE, now)
            self.last_problem = PikaProblem(f"no answer ({call.error})", call.route, now)
            return
        self.last_answer_at = now
        if call.status >= 500:
            self._set(PikaState.FAILING, now)
            self.last_problem = PikaProblem(f"HTTP {call.status}", call.route, now)
        elif call.status in (401, 403):
            self._set(PikaState.KEY_REFUSED, now)
            self.last_problem = PikaProblem(f"key refused (HTTP {call.status})", call.route, now)
        elif call.status == 429:
            self._set(PikaState.OK, now)
            self.last_problem = PikaProblem("rate limited (HTTP 429)", call.route, now)
        else:
            self._set(PikaState.OK, now)

    def _set(self, state: PikaState, now: float) -> None:
        if state is not self.state:
            self.state, self.since = state, now

    async def keep_checking(
        self, check: Callable[[], Awaitable[None]], every: float = RECHECK_SECONDS
    ) -> None:
        """Until cancelled: while Pika is not OK, run `check` (whose call updates the state)
        every `every` seconds."""
        while True:
            await asyncio.sleep(every)
            if self.state is not PikaState.OK:
                with contextlib.suppress(PikaError, TimeoutError):
                    await asyncio.wait_for(check(), every)
