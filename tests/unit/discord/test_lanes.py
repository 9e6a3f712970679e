"""A channel's chores: one at a time, edits before reactions, the newest progress only, and
none while a result is being posted there."""

from __future__ import annotations

import asyncio

from bot.discord.lanes import ChannelLanes, Make


class Log(list[str]):
    def chore(self, name: str, pause: float = 0.0) -> Make:
        async def make() -> None:
            self.append(f"start {name}")
            await asyncio.sleep(pause)
            self.append(f"end {name}")

        return make


async def test_edits_go_first_and_a_newer_progress_replaces_a_waiting_one() -> None:
    lanes, log = ChannelLanes(per_second=1000), Log()
    first = lanes.chore(1, None, log.chore("react 1", 0.05), low=True)
    await asyncio.sleep(0.01)  # under way
    lanes.chore(1, None, log.chore("react 2"), low=True)
    old = lanes.chore(1, ("edit", "j"), log.chore("progress 10%"))
    new = lanes.chore(1, ("edit", "j"), log.chore("progress 60%"))
    await asyncio.wait_for(asyncio.gather(first, old, new), 2)
    await asyncio.sleep(0.05)
    assert log == [
        "start react 1",
        "end react 1",
        "start progress 60%",
        "end progress 60%",
        "start react 2",
        "end react 2",
    ]  # one at a time; the edit jumped the reaction; 10% was never shown
    await lanes.close()


async def test_no_chore_starts_while_a_result_is_being_posted_in_its_channel() -> None:
    lanes, log = ChannelLanes(per_second=1000), Log()
    async with lanes.posting(1):
        lanes.chore(1, None, log.chore("react"), low=True)
        other = lanes.chore(2, None, log.chore("elsewhere"))
        await asyncio.wait_for(other, 1)
        await asyncio.sleep(0.05)
        assert log == ["start elsewhere", "end elsewhere"]  # another channel goes on
    await asyncio.sleep(0.05)
    assert log[-2:] == ["start react", "end react"]
    await lanes.close()


async def test_settling_drops_a_waiting_edit_and_waits_for_the_one_being_made() -> None:
    lanes, log = ChannelLanes(per_second=1000), Log()
    lanes.chore(1, ("edit", "a"), log.chore("edit a", 0.1))
    await asyncio.sleep(0.01)
    lanes.chore(1, ("edit", "b"), log.chore("edit b"))
    await lanes.settle(1, ("edit", "b"))  # waiting behind a: dropped before it starts
    await lanes.settle(1, ("edit", "a"))
    assert log[:2] == ["start edit a", "end edit a"]  # waited for the one under way to land
    await asyncio.sleep(0.05)
    assert "start edit b" not in log
    await lanes.close()


async def test_chores_keep_under_their_share_of_the_global_limit() -> None:
    lanes, log = ChannelLanes(per_second=20), Log()
    started = asyncio.get_running_loop().time()
    waits = [lanes.chore(c, None, log.chore(f"r{c}")) for c in range(6)]
    await asyncio.wait_for(asyncio.gather(*waits), 2)
    assert asyncio.get_running_loop().time() - started >= 5 / 20 * 0.9
    await lanes.close()


async def test_a_progress_edit_waiting_for_its_pace_is_dropped_when_the_result_settles() -> None:
    """The edit was taken from its queue and waited for the global pace when the result came:
    `settle` could not see it, and the progress landed on top of the result."""
    lanes, log = ChannelLanes(per_second=5), Log()  # a chore every 0.2 s
    lanes.chore(2, None, log.chore("elsewhere"))  # takes the first turn of the global pace
    lanes.chore(1, ("edit", "j"), log.chore("progress 70%"))
    await asyncio.sleep(0.05)  # taken from its queue, waiting for its turn
    await lanes.settle(1, ("edit", "j"))
    log.append("result")
    await asyncio.sleep(0.4)
    assert log == ["start elsewhere", "end elsewhere", "result"]
    await lanes.close()


async def test_a_chore_that_hangs_is_given_up_and_the_next_one_goes() -> None:
    """A reaction discord.py waits an hour for (a 429's Retry-After) holds its channel only
    for the chore's time limit."""
    lanes, log = ChannelLanes(per_second=1000, chore_seconds=0.1), Log()
    stuck = lanes.chore(1, None, log.chore("react", 3600), low=True)
    await asyncio.sleep(0.01)  # under way
    after = lanes.chore(1, ("edit", "j"), log.chore("remove working message"))
    await asyncio.wait_for(asyncio.gather(stuck, after), 2)
    assert log == ["start react", "start remove working message", "end remove working message"]
    await lanes.close()
