"""The real bot on several gateway shards: one process running both shards of two serves both
guilds; a process naming one shard hears only that shard's guild; with no shard settings it
runs as many shards as Discord recommends; /readyz waits for every shard of the process; and a
count Discord refuses stops it with one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from bot.pika.local.app import LocalPika
from tests.e2e.harness import BotProcess, bot_env, generate, results, start_sharded
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import GENERAL, REQUESTER, REQUESTER_2, STUDIO


async def ready_checks(bot: BotProcess) -> tuple[int, dict[str, Any]]:
    """/readyz: its status and each part's state."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{await bot.http_url()}/readyz")
    return answer.status_code, answer.json()["checks"]


def sessions_that_got(fake: FakeDiscord, interaction: Interaction) -> list[tuple[int, int]]:
    """The shards of the gateway sessions that were sent this interaction."""
    return [
        s.shard or (0, 1)
        for s in fake.sessions
        if any(i["id"] == str(interaction.id) for i in s.received("INTERACTION_CREATE"))
    ]


async def help_answered(fake: FakeDiscord, user: int, channel: int) -> Interaction:
    """`/pika-help` in a channel, answered."""
    interaction = fake.slash(user, channel, "pika-help")
    await fake.wait_for_response(interaction)
    return interaction


async def delivered_once(fake: FakeDiscord, request: Interaction) -> None:
    """Wait until the request's result is posted in its channel with the bot's reactions, and
    its working message is gone: delivery is over, and the channel holds one result."""
    channel = request.channel_id
    await fake.wait_for(lambda: results(fake, channel), what=f"a result in {channel}")
    [result] = results(fake, channel)
    await fake.wait_for(lambda: len(result.reactions) == 3, what="the bot's reactions")
    await fake.wait_for(lambda: fake.replies(request)[0].deleted, what="working message removed")


async def test_one_process_with_both_shards_serves_both_guilds_once_each(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_sharded(fake, pika, tmp_path, DISCORD_SHARD_COUNT="2")
    try:
        await bot.wait_for_log(r"Gateway: shards 0, 1 of 2 in this process \(as set\)")
        assert sorted(s.shard for s in fake.sessions if s.shard) == [(0, 2), (1, 2)]
        first, second = fake.sessions_of(0)[0], fake.sessions_of(1)[0]
        # Discord starts one session per five seconds: the second IDENTIFY waited its turn. The
        # bot sends them five seconds apart; the fake's clock sees them when it reads them, and
        # a loaded machine may read the first one late (not the 0 s of IDENTIFYs all at once).
        assert second.identified_at - first.identified_at >= 4.0
        fox = generate(fake, "a fox on shard zero", GENERAL, REQUESTER)
        owl = generate(fake, "an owl on shard one", STUDIO, REQUESTER_2)
        for interaction in (fox, owl):
            await delivered_once(fake, interaction)
        [fox_result], [owl_result] = results(fake, GENERAL), results(fake, STUDIO)
        assert fox_result.content.startswith(f"<@{REQUESTER}>")
        assert owl_result.content.startswith(f"<@{REQUESTER_2}>")
        assert sessions_that_got(fake, fox) == [(0, 2)]
        assert sessions_that_got(fake, owl) == [(1, 2)]
        assert (await ready_checks(bot))[0] == 200
    finally:
        assert await bot.stop() == 0


async def test_a_process_naming_shard_0_hears_only_the_first_guild(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_sharded(fake, pika, tmp_path, DISCORD_SHARD_COUNT="2", DISCORD_SHARD_IDS="0")
    try:
        await bot.wait_for_log(r"Gateway: shard 0 of 2 in this process \(as set\)")
        assert [s.shard for s in fake.sessions] == [(0, 2)]
        unheard = fake.slash(REQUESTER_2, STUDIO, "pika-help")  # shard 1: no process runs it
        await help_answered(fake, REQUESTER, GENERAL)
        assert sessions_that_got(fake, unheard) == [] and unheard.callbacks == []
        assert "in 1 server(s)" in await bot.wait_for_log(r"Ready as ")
        # Ready: every shard of this process is connected (shard 1 is another's to run).
        assert await ready_checks(bot) == (200, {"discord": "ok", "database": "ok", "pika": "ok"})
    finally:
        assert await bot.stop() == 0


async def test_without_shard_settings_it_runs_the_shards_discord_recommends(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    fake.recommended_shards = 2
    bot = await start_sharded(fake, pika, tmp_path)
    try:
        await bot.wait_for_log(r"Gateway: shards 0, 1 of 2 in this process \(as Discord rec")
        assert len(fake.requests_to("GET", r"^/gateway/bot$")) == 1
        assert sorted(s.shard for s in fake.sessions if s.shard) == [(0, 2), (1, 2)]
        await help_answered(fake, REQUESTER, GENERAL)
        await help_answered(fake, REQUESTER_2, STUDIO)
        # Not ready while one of its shards is away; ready again once it is back.
        fake.refuse_gateway = True
        await fake.drop_gateway(shard_id=1)
        await bot.wait_for_log(r"Discord gateway: .*\(shard 1\)")
        status, checks = await ready_checks(bot)
        assert (status, checks["discord"]) == (503, "shard 1 of 2 disconnected")
        fake.refuse_gateway = False
        await bot.wait_for_log(r"Connected to the Discord gateway again \(shard 1\)")
        await fake.wait_for(lambda: fake.resumes == 1, what="shard 1 resumed")
        assert (await ready_checks(bot))[0] == 200
        assert fake.identifies == 2
    finally:
        assert await bot.stop() == 0


async def test_a_shard_count_discord_refuses_exits_2_in_one_line(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    fake.max_guilds_per_session = 1  # as Discord past 2,500 servers on one session
    env = bot_env(fake, tmp_path, PIKA_API_KEY=pika.api_key, PIKA_BASE_URL=pika.base_url)
    bot = BotProcess(env | {"DISCORD_SHARD_COUNT": "1"}, tmp_path)
    await bot.start()
    # It logs in and syncs its commands before the gateway refuses it: longer than a refusal
    # at start-up takes.
    assert await bot.exit_code(timeout=60) == 2
    errors = [line for line in bot.lines if " ERROR " in line]
    assert len(errors) == 1
    assert "Discord requires more gateway shards than 1" in errors[0]
    assert "raise DISCORD_SHARD_COUNT, or leave it unset" in errors[0]
    assert "Traceback" not in bot.log
