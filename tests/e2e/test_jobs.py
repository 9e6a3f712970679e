"""Durable jobs end to end: submission, tracking, delivery, faults and restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.pika.local.server import LocalPika
from tests.e2e.harness import BotProcess, bot_env
from tests.fake_discord.server import FakeDiscord
from tests.fake_discord.world import APP_ID, GENERAL, REQUESTER, THREAD, Message
from tests.media import inspect


def results(fake: FakeDiscord, channel: int = GENERAL) -> list[Message]:
    """The bot's result posts in a channel."""
    return [m for m in fake.channel_messages(channel) if "your video is ready" in m.content]


async def pika_calls(pika: LocalPika) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{pika.base_url}/_local/requests",
                                  headers={"Authorization": f"Bearer {pika.api_key}"})  # fmt: skip
    return list(response.json())


async def behave(pika: LocalPika, **settings: Any) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(f"{pika.base_url}/_local/behaviour", json=settings,
                                   headers={"Authorization": f"Bearer {pika.api_key}"})  # fmt: skip
    response.raise_for_status()


async def test_generate_is_delivered_as_a_reply_with_the_video(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate",
                             {"prompt": "a red fox in the snow", "frame_rate": 12})  # fmt: skip
    callback = await fake.wait_for_response(interaction)
    assert callback["type"] == 4
    working = fake.replies(interaction)[0]
    assert not working.ephemeral
    assert "a red fox in the snow" in working.content and f"<@{REQUESTER}>" in working.content
    posted = await fake.wait_for(lambda: results(fake), what="the result")
    result = posted[0]
    assert result.reference is not None and int(result.reference["message_id"]) == working.id
    assert f"<@{REQUESTER}>" in result.content
    assert len(result.attachments) == 1 and result.attachments[0].filename.endswith(".mp4")
    clip = inspect(result.attachments[0].data)
    assert clip.fps == 12 and clip.seconds == pytest.approx(3.0)
    fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
    assert fields["Model"] == "1.0" and fields["Aspect ratio"] == "16:9"
    assert fields["Length"] == "3 s"
    buttons = [c["custom_id"] for row in result.components for c in row["components"]]
    assert [b.split(":")[1] for b in buttons] == ["extend", "upscale", "reroll", "info"]
    await fake.wait_for(lambda: len(result.reactions) == 3, what="three reactions")
    assert list(result.reactions) == ["⏩", "⬆️", "🔁"]
    assert all(who == [APP_ID] for who in result.reactions.values())
    creates = [c for c in await pika_calls(pika) if c["path"] == "/web/generate"]
    assert len(creates) == 1
    assert creates[0]["body"]["options"]["frameRate"] == 12
