"""The members' interactions this process is handling, and what a clean stop does with them.

Discord shows "the application did not respond" for an interaction that gets no answer, and a
stop that closes the connection to Discord and the database under a request being handled
leaves it so: nothing written, nothing paid, but the member never told. So each interaction is
`received` by the task that handles it (the command tree's, or a button's listener) with the
way to tell its member the bot is restarting, and a stop (`stop`):

- lets no request be written any more: a request that reaches admission after the stop began
  is refused (`admits` says no), its member told to ask again;
- cuts off at once the requests that nothing was written for yet (`preparing`: intake, a probe
  of the member's files, a wait for a turn), and tells each of their members, since a probe
  can outlast any grace;
- waits, within its grace, for the rest to be answered: a job admitted before the stop is
  answered and sent as usual, a refusal being told is told (`answering`), and other
  interactions (help, settings) finish.

Only then does the process close what they use. Nothing here knows Discord: the callers give
the telling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Tell = Callable[[], Awaitable[None]]


@dataclass
class _Handling:
    tell: Tell
    preparing: bool = False  # a request nothing was written for yet: a stop cuts it off


class Inbox:
    """The interactions being handled, by the task that handles each."""

    def __init__(self) -> None:
        self._handling: dict[asyncio.Task[object], _Handling] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self.closing = False

    @property
    def handling(self) -> int:
        """Interactions received and not yet handled to their end."""
        return len(self._handling)

    def received(self, tell: Tell) -> bool:
        """The current task handles a member's interaction until it ends; `tell` says to its
        member that the bot is restarting. False once the stop began: the caller tells the
        member so (the stop waits for that answer too)."""
        task = asyncio.current_task()
        if task is not None and task not in self._handling:
            self._handling[task] = _Handling(tell)
            self._idle.clear()
            task.add_done_callback(self._ended)
        return not self.closing

    def preparing(self) -> bool:
        """The current task prepares a request that nothing was written for yet. False once
        the stop began: the caller refuses it at once (the stop waits for that answer)."""
        if self.closing:
            return False
        handling = self._current()
        if handling is not None:
            handling.preparing = True
        return True

    def admits(self) -> bool:
        """Whether the current task's request may be written (admitted) now: no once the stop
        began. From a yes on, a stop no longer cuts it off: its member is answered."""
        handling = self._current()
        if handling is not None:
            handling.preparing = False
        return not self.closing

    def answering(self) -> None:
        """The current task answers its member now (a refusal, an error): a stop no longer
        cuts it off, which would replace that answer by "restarting" or add it to it, but waits
        for it (within the grace)."""
        handling = self._current()
        if handling is not None:
            handling.preparing = False

    async def stop(self, seconds: float) -> None:
        """A clean stop: no request written from now on; those nothing was written for are
        cut off and their members told; the rest are waited for, `seconds` at most."""
        self.closing = True
        # A button's press reaches its listener two tasks deep in discord.py (the button's,
        # then the event's): let the tasks already made start, and say they were received.
        for _ in range(3):
            await asyncio.sleep(0)
        cut = [(task, h.tell) for task, h in self._handling.items() if h.preparing]
        for task, _ in cut:
            task.cancel()
        if self._handling:
            log.info(
                "Stopping: %d request(s) not yet written are told to ask again; waiting for "
                "%d other interaction(s) being answered",
                len(cut),
                len(self._handling) - len(cut),
            )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await asyncio.gather(*(_told(task, tell) for task, tell in cut))
                await self._idle.wait()

    def _current(self) -> _Handling | None:
        task = asyncio.current_task()
        return self._handling.get(task) if task is not None else None

    def _ended(self, task: asyncio.Task[object]) -> None:
        self._handling.pop(task, None)
        if not self._handling:
            self._idle.set()


async def _told(task: asyncio.Task[object], tell: Tell) -> None:
    """Once the cut-off task has ended (nothing of it answers any more), tell its member."""
    await asyncio.wait([task])
    try:
        await tell()
    except Exception:
        log.warning("Could not tell a member that the bot is restarting", exc_info=True)
