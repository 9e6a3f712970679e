"""Controls pressed again, however they are pressed: the same job within the repeat window,
the one upscale of a video at any time, and a new take later on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    button,
    delivered,
    notes_to,
    prerendered_videos,
    results,
    start_bot,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import GENERAL, GUILD_ID, REQUESTER, Message
from tests.helpers.local_pika import calls_to


@pytest.fixture
async def result(fake: FakeDiscord, bot: BotProcess) -> Message:
    """A result of the requester's, with the bot's three reactions on it."""
    return await delivered(fake)


@prerendered_videos
async def test_an_upscale_asked_again_anywhere_points_to_it_and_costs_nothing(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "upscale")))
    upscaled = (await fake.wait_for(lambda: results(fake)[1:], what="the upscale"))[0]
    link = f"https://discord.com/channels/{GUILD_ID}/{GENERAL}/{upscaled.id}"
    told = f"🔁 This video already has an upscale, at no extra cost: {link}"
    again = await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "upscale")))
    assert again["data"]["content"] == told and again["data"]["flags"] == 64
    menu = await fake.wait_for_response(fake.context_menu(REQUESTER, result, "Upscale video"))
    assert menu["data"]["content"] == told
    fake.react(REQUESTER, result, "⬆️")
    note = await fake.wait_for(lambda: notes_to(fake, REQUESTER), what="the reaction's note")
    assert note[0].content == f"<@{REQUESTER}> {told}"
    assert len(await calls_to(pika, "/web/upscale")) == 1


async def test_the_extend_menu_used_twice_extends_once(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    first = fake.context_menu(REQUESTER, result, "Extend video")
    second = fake.context_menu(REQUESTER, result, "Extend video")
    assert (await fake.wait_for_response(first))["type"] == 4
    answer = await fake.wait_for_response(second)
    assert answer["data"]["content"].startswith("🔁 Already on it: https://discord.com/")
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the extended video")
    assert len(await calls_to(pika, "/web/extend")) == 1


async def test_a_later_extend_or_reroll_is_a_new_take(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    window = 1.0  # the least the setting takes: each press below comes after it
    bot = await start_bot(fake, pika, tmp_path, REPEAT_PRESS_SECONDS=f"{window:g}")
    try:
        result = await delivered(fake, "again and again")
        pressed = time.monotonic()
        for count in (2, 3):
            await asyncio.sleep(max(0.0, pressed + window + 0.2 - time.monotonic()))
            pressed = time.monotonic()
            fake.remove_reaction(REQUESTER, result, "⏩")
            fake.react(REQUESTER, result, "⏩")
            await fake.wait_for(results_reach(fake, count), what="an extension")
        await asyncio.sleep(max(0.0, pressed + window + 0.2 - time.monotonic()))
        press = fake.press(REQUESTER, result, button(result, "reroll"))
        assert (await fake.wait_for_response(press))["type"] == 4
        await fake.wait_for(lambda: len(results(fake)) == 4, what="the re-roll")
        assert len(await calls_to(pika, "/web/extend")) == 2
    finally:
        await bot.stop()


def results_reach(fake: FakeDiscord, count: int) -> Callable[[], bool]:
    """A condition: `count` results are posted."""
    return lambda: len(results(fake)) >= count
