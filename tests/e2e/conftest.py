"""End-to-end fixtures: a fake Discord, a local Pika, and the real bot between them."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.render import RenderResult
from tests.e2e.harness import RUNNING, STARTED, BotProcess, bot_env, launch
from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.helpers.local_pika import prerendered
from tests.helpers.origins import origin_of


@pytest.fixture(autouse=True)
async def no_bot_left_running() -> AsyncIterator[None]:
    """Whatever a test started, and however it ended, no bot outlives it; the logs of every
    bot it started are printed (pytest shows them when the test fails)."""
    yield
    for process in list(RUNNING):
        await process.kill()
    for number, process in enumerate(STARTED, 1):
        print(f"--- log of bot {number} of {len(STARTED)} ---\n{process.log}")
    STARTED.clear()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A fake Discord that fails the test if the bot sent it anything real Discord would refuse."""
    async with running_fake_discord(heartbeat_ms=1000) as discord:
        yield discord
        # Every test ends by checking that the bot sent nothing real Discord would refuse.
        assert not discord.violations, "\n".join(map(str, discord.violations))
        assert not discord.unhandled, f"requests the fake does not know: {discord.unhandled}"


@pytest.fixture(scope="session")
def prerendered_video(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    """One video, made once per worker by a local Pika of its own (in a thread of its own: its
    event loop is not the tests')."""
    workdir = tmp_path_factory.mktemp("prerendered")
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, prerendered(workdir)).result(timeout=120)


@pytest.fixture
async def pika(fake: FakeDiscord, request: pytest.FixtureRequest) -> AsyncIterator[LocalPika]:
    """A local Pika in this process, whose jobs take half a second; it may fetch the fake
    Discord's attachments (on loopback, so allowed by name). For a test marked
    `prerendered_videos`, every job's video is `prerendered_video`, never rendered."""
    video = None
    if request.node.get_closest_marker("prerendered"):
        video = request.getfixturevalue("prerendered_video")
    async with running_local_pika(
        job_seconds=0.5,
        api_key="e2e-pika-key",
        allowed_hosts=[origin_of(fake.base_url)],
        prerendered=video,
    ) as local:
        yield local


@pytest.fixture
async def bot(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[BotProcess]:
    """The bot, configured like a server owner with a Pika key, ready on the fake Discord; on a
    SQLite file in the test's folder, or on the test's `database` (once on SQLite and once on
    PostgreSQL) when the test is marked `on_both_databases`; with fixed waits cut when it is
    marked `short_waits(...)`."""
    database = {}
    if "database" in request.fixturenames:
        database = {"DATABASE_URL": request.getfixturevalue("database").url}
    keys = {"PIKA_API_KEY": pika.api_key, "PIKA_BASE_URL": pika.base_url}
    mark = request.node.get_closest_marker("short_waits")
    args, launcher = launch(mark.kwargs if mark else None)  # ready sooner; marked waits cut
    process = BotProcess(bot_env(fake, tmp_path, **keys, **database) | launcher, tmp_path, args)
    await process.start()
    try:
        await process.wait_ready()
        yield process
    finally:
        if process.process is not None and process.process.returncode is None:
            await process.stop()
