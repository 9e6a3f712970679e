"""The real bot against the fake Discord: log in, sync, READY, survive faults, shut down."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import discord
import pytest

from bot.discord.target import point_discord_at
from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    DEFERRED,
    BotProcess,
    allow_running,
    bot_env,
    failures,
    generate,
    launch,
    results,
    start_bot,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.contract import load_contract, spec_path
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import APP_ID, GENERAL, GUILD_ID, REQUESTER, TOKEN, Message
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.local_pika import behave, calls_to
from tests.helpers.scratch import holding, left_by_a_killed_process
from tests.media import png


async def help_answer(fake: FakeDiscord) -> str:
    """The text of `/pika-help`, checked to be an ephemeral message."""
    interaction = fake.slash(REQUESTER, GENERAL, "pika-help")
    callback = await fake.wait_for_response(interaction)
    assert callback["type"] == 4
    assert callback["data"]["flags"] == 64  # ephemeral
    return str(callback["data"]["content"])


async def test_logs_in_syncs_commands_and_reaches_ready_with_the_local_pika(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    bot = BotProcess(bot_env(fake, tmp_path), tmp_path)  # no PIKA_API_KEY: the local Pika
    await bot.start()
    try:
        await bot.wait_ready()
        assert [r.path for r in fake.requests[:2]] == ["/users/@me", "/oauth2/applications/@me"]
        sync = fake.requests_to("PUT", rf"^/applications/\d+/guilds/{GUILD_ID}/commands$")
        assert len(sync) == 1
        assert "pika-help" in [c["name"] for c in fake.commands[GUILD_ID]]
        assert fake.identifies == 1
        await bot.wait_for_log(r"videos are simulated by the local Pika")
        invite = await bot.wait_for_log(r"Invite link: ")
        assert "scope=bot+applications.commands" in invite
        needed = discord.Permissions(
            view_channel=True,
            send_messages=True,
            send_messages_in_threads=True,
            embed_links=True,
            attach_files=True,
            read_message_history=True,
            add_reactions=True,
            manage_messages=True,
        )
        assert f"permissions={needed.value}" in invite
        assert "simulated" in await help_answer(fake)
        await fake.wait_for(lambda: fake.heartbeats >= 1, what="a heartbeat")
        assert TOKEN not in bot.log
    finally:
        assert await bot.stop() == 0


async def test_results_of_the_local_pika_say_they_are_simulated(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    # Without a Pika key the result's fields still read "Pika 1.0": a member who never read
    # /pika-help would take the demo video for Pika's work, and the owner's credits as spent.
    env = bot_env(fake, tmp_path, LOCAL_PIKA_JOB_SECONDS="0.5")
    bot = BotProcess(env, tmp_path)  # no PIKA_API_KEY: the local Pika
    await bot.start()
    try:
        await bot.wait_ready()
        fake.locales[REQUESTER] = "fr"
        await fake.wait_for_response(generate(fake, "un renard"))
        await fake.wait_for(lambda: results_in(fake), timeout=60, what="the result")
        result = results_in(fake)[0]
        assert result.attachments[0].filename.endswith(".mp4")
        footer = result.embeds[0]["footer"]["text"]
        assert "Simulée par le Pika local" in footer, footer
    finally:
        assert await bot.stop() == 0


def results_in(fake: FakeDiscord) -> list[Message]:
    """The bot's posts in the general channel that carry a video."""
    return [m for m in fake.channel_messages(GENERAL) if m.attachments and m.embeds]


async def test_survives_a_dropped_gateway_and_goes_on(fake: FakeDiscord, bot: BotProcess) -> None:
    assert "credits" in await help_answer(fake)
    await fake.drop_gateway()
    await fake.wait_for(lambda: fake.resumes == 1, what="a RESUME")
    assert fake.identifies == 1  # resumed, not a new session
    assert "credits" in await help_answer(fake)


async def test_events_sent_while_disconnected_arrive_after_resume(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    await fake.drop_gateway()
    interaction = fake.slash(REQUESTER, GENERAL, "pika-help")  # sent into the gap
    await fake.wait_for(lambda: fake.resumes == 1, what="a RESUME")
    await fake.wait_for_response(interaction)


async def test_rides_out_a_rate_limit(fake: FakeDiscord, bot: BotProcess) -> None:
    fake.rate_limit("POST", r"/interactions/.*/callback$", retry_after=0.3)
    interaction = fake.slash(REQUESTER, GENERAL, "pika-help")
    await fake.wait_for_response(interaction)
    statuses = [r.status for r in fake.requests_to("POST", r"/callback$")]
    assert statuses == [429, 200]


async def test_temporary_files_a_killed_process_left_go_at_start_up_and_a_living_ones_stay(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    # A bot killed with a download under way left its file in the system's temporary folder,
    # for ever: a crash loop filled the disk. Another bot on the host is still downloading.
    system = tmp_path / "system-tmp"  # the system's temporary folder, as TMPDIR names it
    system.mkdir()
    left_there = system / "pika-video-k9x2.mp4"  # by an earlier version, killed two days ago
    left_there.write_bytes(b"half a video")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(left_there, (two_days_ago, two_days_ago))
    async with holding(tmp_path) as (_, living):
        dead = await left_by_a_killed_process(tmp_path)  # after: a start-up sweeps the dead
        # Its DATA_DIR: the SQLite file's folder.
        bot = await start_bot(fake, pika, tmp_path, TMPDIR=str(system))
        try:
            assert bot.process is not None
            assert not dead.exists()
            assert not left_there.exists()
            assert (living / "pika-video-half.mp4").read_bytes() == b"half a video"
            [mine] = (tmp_path / "tmp").glob(f"{bot.process.pid}-*")
        finally:
            await bot.stop()
        assert not mine.exists()  # a clean stop takes its folder with it
        assert (living / "pika-video-half.mp4").exists()


async def test_sigterm_shuts_down_cleanly(fake: FakeDiscord, bot: BotProcess) -> None:
    assert await bot.stop(signal.SIGTERM) == 0
    assert "Stopped" in bot.log
    assert "Traceback" not in bot.log
    assert fake.session is not None
    await fake.wait_for(lambda: fake.session and fake.session.ws is None, what="socket closed")


async def test_a_sigterm_while_the_database_is_being_opened_stops_cleanly(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """A deploy's SIGTERM while the bot was still opening its database (its migrations, or
    waiting for another process's lock on the file): the process was killed by the signal
    (exit 143), nothing closed and no word in the log. Now it stops cleanly, and the next
    start finds the database whole."""
    database = DatabaseUnderTest.sqlite_in(tmp_path)
    args, launcher = launch()
    env = bot_env(fake, tmp_path, PIKA_API_KEY=pika.api_key, PIKA_BASE_URL=pika.base_url)
    bot = BotProcess(env | launcher, tmp_path, args)
    async with database.writes_held():  # the bot waits at its migrations for the file
        await bot.start()
        await bot.wait_for_log(r"Starting on ")
        assert await bot.stop() == 0
    assert "Stopped during start-up" in bot.log
    assert "Traceback" not in bot.log
    again = await start_bot(fake, pika, tmp_path)
    try:
        await fake.wait_for_response(generate(fake, "a fox after a stopped start"))
        await fake.wait_for(lambda: results(fake), what="the result")
    finally:
        assert await again.stop() == 0


async def test_sigterm_stops_it_promptly_while_discord_is_unreachable(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    fake.refuse_gateway = True  # every reconnect fails, and discord.py's backoff grows
    await fake.drop_gateway()
    # Signalled as soon as a backoff of 5 s or more begins: waited out, it would outlast the 3 s.
    await bot.wait_for_log(r"retrying in ([5-9]|\d\d+)s", timeout=40)
    assert await bot.stop(signal.SIGTERM, timeout=3) == 0
    assert "Stopped" in bot.log


async def test_without_a_token_it_says_how_to_get_one(fake: FakeDiscord, tmp_path: Path) -> None:
    env = bot_env(fake, tmp_path)
    del env["DISCORD_TOKEN"]
    bot = BotProcess(env, tmp_path)
    await bot.start()
    assert await bot.exit_code() == 2
    assert "DISCORD_TOKEN is not set" in bot.log
    assert "Traceback" not in bot.log
    assert fake.requests == []


async def test_a_rejected_token_exits_with_a_clear_message(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = BotProcess(
        bot_env(
            fake,
            tmp_path,
            DISCORD_TOKEN="not-the-token",
            PIKA_API_KEY=pika.api_key,
            PIKA_BASE_URL=pika.base_url,
        ),
        tmp_path,
    )
    await bot.start()
    assert await bot.exit_code() == 2
    assert "Discord rejected DISCORD_TOKEN" in bot.log
    assert "Traceback" not in bot.log
    assert "not-the-token" not in bot.log
    assert [r.status for r in fake.requests] == [401]


@pytest.mark.skipif(
    load_contract() is None, reason=f"Discord's OpenAPI description is not at {spec_path()}"
)
async def test_the_contract_check_catches_a_payload_discord_would_refuse(
    fake: FakeDiscord,
) -> None:
    """discord.py's own HTTP client sends two bodies that break Discord's rules."""
    point_discord_at(fake.api_url, fake.gateway_url)
    client = discord.Client(intents=discord.Intents.none())
    try:
        await client.login(TOKEN)
        with pytest.raises(discord.HTTPException) as caught:
            await client.http.send_message(
                GENERAL, params=discord.http.handle_message_parameters(content="x" * 4001)
            )
        assert caught.value.status == 400 and caught.value.code == 50035
        with pytest.raises(discord.HTTPException):
            await client.http.send_message(
                GENERAL,
                params=discord.http.handle_message_parameters(embed=discord.Embed(title="t" * 300)),
            )
    finally:
        await client.close()
    assert [v.message.split(":")[0] for v in fake.violations] == ["content", "embeds/0/title"]
    fake.violations.clear()  # caught on purpose: the fixture must not fail this test
    await asyncio.sleep(0)


async def test_a_guild_id_of_a_server_the_bot_is_not_in_says_so_and_exits_2(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """DISCORD_GUILD_ID set to a server the bot was not invited to (or a channel's id): Discord
    refuses the command sync with 403 Missing Access."""
    env = bot_env(
        fake,
        tmp_path,
        DISCORD_GUILD_ID=str(GENERAL),
        PIKA_API_KEY=pika.api_key,
        PIKA_BASE_URL=pika.base_url,
    )
    bot = BotProcess(env, tmp_path)
    await bot.start()
    assert await bot.exit_code() == 2
    assert "Traceback" not in bot.log
    assert f"Invite link: https://discord.com/oauth2/authorize?client_id={APP_ID}" in bot.log
    assert (
        f"Discord refused the commands for DISCORD_GUILD_ID {GENERAL} (HTTP 403, code 50001): "
        "the bot is not in that server, or the id is not a server's." in bot.log
    )


async def test_a_sigterm_while_a_new_job_is_answered_lets_the_job_go_on(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """A deploy's SIGTERM while a new job's member is being answered: the stop closed the bot's
    connection to Discord under the answer ("Session is closed" tracebacks in the log), and at
    the next start the job was cancelled, its member told that Discord never had the answer,
    though the working message showed. Now the stop waits for the answer and the paid call."""
    bot = await start_bot(fake, pika, tmp_path)
    await behave(pika, job_seconds=0.5)
    fake.rate_limit("POST", r"/interactions/.*/callback$", retry_after=1.5)  # a late answer
    generate(fake, "a fox at a deploy")
    await bot.wait_for_log(r"admitted, asked by member")
    assert await bot.stop() == 0
    assert "Traceback" not in bot.log
    again = await start_bot(fake, pika, tmp_path)
    try:
        await fake.wait_for(lambda: results(fake), what="the result")
        assert failures(fake) == []
        assert len(await calls_to(pika, "/web/generate")) == 1
    finally:
        assert await again.stop() == 0


RESTARTING = "🔄 The bot is restarting: nothing was made or paid for. Please ask again in a minute."


def what_was_said(fake: FakeDiscord, interaction: Interaction) -> str:
    """What a member who asked for a video sees last: "working" (the public working message,
    at once or after a private hold), the private text put in place of the hold, or the
    private answer; "nothing" when the bot never answered."""
    if not interaction.callbacks:
        return "nothing"
    callback = interaction.callbacks[0]
    if callback["type"] != DEFERRED:
        private = (callback["data"].get("flags") or 0) & 64
        return str(callback["data"]["content"]) if private else "working"
    if interaction.followups:
        return "working"
    assert interaction.original_id is not None
    return fake.messages[interaction.original_id].content or "thinking"


async def test_a_sigterm_in_the_first_instant_of_a_burst_answers_every_request(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """A deploy's SIGTERM just as a burst of /pika generate came in: the requests received
    but not yet admitted (their files being checked, or waiting for their turn) met a closed
    connection to Discord, and their members saw "thinking" for ever, or "the application did
    not respond". Now each one is answered before the bot closes anything: admitted and
    answered within the stop's grace, or told the bot is restarting, nothing made or paid."""
    bot = await start_bot(fake, pika, tmp_path)
    await allow_running(fake, 20)
    fake.attachments_served.clear()  # the members' files come slowly: their probes are under way
    image = {"image": ("fox.png", png(), "image/png")}
    probed = [
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": f"a fox {n}"}, image)
        for n in range(3)
    ]
    plain = [generate(fake, f"a plain fox {n}") for n in range(12)]
    await fake.wait_for(lambda: all(i.callbacks for i in probed), what="the holds of the probes")
    try:
        assert await bot.stop() == 0
    finally:
        fake.attachments_served.set()
    said = {i.id: what_was_said(fake, i) for i in probed + plain}
    assert [said[i.id] for i in probed] == [RESTARTING] * 3
    assert set(said.values()) <= {"working", RESTARTING}, said
    # Paid for exactly the jobs whose members were told they started, and nothing else.
    working = sum(1 for text in said.values() if text == "working")
    assert len(await calls_to(pika, "/web/generate")) == working
    assert "Traceback" not in bot.log
