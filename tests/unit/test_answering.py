"""Members' first answers before paid calls, in arrival order, a few at a time."""

from __future__ import annotations

import asyncio

import pytest

from bot.answering import Answering


async def test_turns_are_taken_in_arrival_order_a_few_at_a_time() -> None:
    answering = Answering(at_once=2)
    entered: list[int] = []
    release = {n: asyncio.Event() for n in range(4)}
    turned = {n: asyncio.Event() for n in range(4)}

    async def request(n: int) -> None:
        async with answering.turn():
            entered.append(n)
            turned[n].set()
            await release[n].wait()

    tasks = [asyncio.ensure_future(request(n)) for n in range(4)]
    await turned[1].wait()
    await asyncio.sleep(0.05)  # the two behind would have come in by now
    assert entered == [0, 1] and answering.pending == 4
    release[1].set()
    await turned[2].wait()
    assert entered == [0, 1, 2]
    for event in release.values():
        event.set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3] and answering.pending == 0


async def test_a_private_hold_ends_the_turn_and_lets_paid_calls_go() -> None:
    answering = Answering(at_once=1, paid_wait=60)
    held = asyncio.Event()
    probed = asyncio.Event()

    async def hold() -> None:
        held.set()

    async def request_with_media() -> None:
        async with answering.turn() as turn:
            await turn.after(hold)()
            await probed.wait()  # fetching the files takes its time, the member has an answer

    task = asyncio.ensure_future(request_with_media())
    await held.wait()
    await asyncio.wait_for(answering.quiet(), 5)  # nothing pending: paid calls go at once
    async with asyncio.timeout(5):
        async with answering.turn():  # and the next request has its turn
            pass
    probed.set()
    await task


async def test_paid_calls_wait_for_pending_answers_at_most_a_while() -> None:
    answering = Answering(at_once=4, paid_wait=0.2)
    waiting = asyncio.Event()

    async def unanswered() -> None:
        async with answering.turn():
            await waiting.wait()

    task = asyncio.ensure_future(unanswered())
    await asyncio.sleep(0)
    quiet = asyncio.ensure_future(answering.quiet())
    await asyncio.sleep(0.05)
    assert not quiet.done()  # an answer is pending
    await asyncio.wait_for(quiet, 5)  # but not for ever
    waiting.set()
    await task
    assert answering.pending == 0


async def test_a_request_that_finds_every_turn_taken_is_held_at_once() -> None:
    """Its turn may be far behind a burst; Discord's three seconds are not. It is held
    privately at once, stops counting as pending (paid calls may go), and still prepares its
    public answer in its turn, after the one before it."""
    answering = Answering(at_once=1, paid_wait=60)
    order: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        order.append("second held")

    async def first() -> None:
        async with answering.turn(hold=None):
            first_in.set()
            await release.wait()
            order.append("first answered")

    async def second() -> None:
        async with answering.turn(hold=hold):
            order.append("second's turn")

    one = asyncio.ensure_future(first())
    await first_in.wait()
    two = asyncio.ensure_future(second())
    await asyncio.sleep(0.05)
    assert order == ["second held"] and answering.pending == 1  # the first still waits
    release.set()
    await asyncio.gather(one, two)
    assert order == ["second held", "first answered", "second's turn"]
    assert answering.pending == 0


async def test_a_request_with_a_free_turn_is_not_held() -> None:
    """Held only when it must wait: a lone request is answered in public at once, in one call."""
    answering = Answering(at_once=2)
    held: list[int] = []

    async def hold() -> None:
        held.append(1)

    async with answering.turn(hold=hold), answering.turn(hold=hold):
        pass
    assert held == []


async def test_a_hold_that_fails_still_leaves_the_request_its_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hold Discord refused (the interaction expired): the request goes on to its turn, whose
    answer fails too and cancels the job before any paid call (see bot/submit.py)."""
    answering = Answering(at_once=1)

    async def refused() -> None:
        raise RuntimeError("Unknown interaction")

    blocker = asyncio.Event()

    async def first() -> None:
        async with answering.turn():
            await blocker.wait()

    task = asyncio.ensure_future(first())
    await asyncio.sleep(0)
    turned = False

    async def second() -> None:
        nonlocal turned
        async with answering.turn(hold=refused):
            turned = True

    waiting = asyncio.ensure_future(second())
    await asyncio.sleep(0.05)
    blocker.set()
    await asyncio.gather(task, waiting)
    assert turned and answering.pending == 0
    assert "Could not acknowledge a request waiting for its turn" in caplog.text
