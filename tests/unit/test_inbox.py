"""A clean stop and the interactions being handled (`bot/inbox.py`)."""

from __future__ import annotations

import asyncio

from bot.inbox import Inbox, Tell


async def test_a_stop_cuts_off_what_was_not_written_tells_it_and_waits_for_the_rest() -> None:
    inbox = Inbox()
    told: list[str] = []
    go_on = asyncio.Event()
    steps: list[str] = []

    def teller(name: str) -> Tell:
        async def tell() -> None:
            told.append(name)

        return tell

    async def probing() -> None:  # a request whose member's files are being read
        inbox.received(teller("probing"))
        inbox.preparing()
        await asyncio.Event().wait()  # a probe that would outlast any grace
        steps.append("probing went on")

    async def admitted() -> None:  # a request written before the stop: it is answered
        inbox.received(teller("admitted"))
        inbox.preparing()
        assert inbox.admits()
        await go_on.wait()
        steps.append("admitted answered")

    async def waiting() -> None:  # a request waiting for its turn to be answered
        inbox.received(teller("waiting"))
        inbox.preparing()
        await go_on.wait()
        steps.append("waiting went on")

    tasks = [asyncio.ensure_future(f()) for f in (probing, admitted, waiting)]
    await asyncio.sleep(0)
    assert inbox.handling == 3
    stopping = asyncio.ensure_future(inbox.stop(5))
    await asyncio.sleep(0.01)
    assert told == ["probing", "waiting"]  # cut off at once: nothing was written for them
    assert tasks[0].cancelled() and tasks[2].cancelled()
    assert not stopping.done()  # the admitted one is still being answered
    go_on.set()
    await stopping
    assert steps == ["admitted answered"]
    assert inbox.handling == 0
    assert not inbox.received(teller("after"))  # the caller tells that member itself
    assert not inbox.preparing()  # nor prepared (a probe could outlast the grace)
    assert not inbox.admits()  # and nothing is written once the stop began
