"""Benchmark of scaling out: 1,000 jobs across two guilds, finishing together at Pika, delivered
by one bot process on SQLite, one on PostgreSQL, and two on PostgreSQL (shards 0 and 1 of 2, each
guild on its own shard), against the fake Discord and the local Pika over real sockets.

Members ask in waves of `WAVE`, each wave once the one before is answered, so that what is
measured is delivery, not how many interactions one machine can acknowledge in 3 s (the burst
benchmark measures that). Once every job is at Pika, each is given the same finish time, a few
seconds ahead, so that all of them finish together. Then:
- delivered per second: jobs over the time from that finish to the last result in a channel;
- finish-to-post p50 / p99: per job, from its finish to its result in the channel;
- peak RSS of each bot process (VmHWM), and Pika calls per job (the create included).
The rate limits of the fake are off: the figures are what the processes themselves can do
(Discord's own limits on one bot token would cap every configuration alike).

PostgreSQL is the machine's own server binaries in a throwaway cluster (as the tests start
it), or the server at TEST_POSTGRES_URL.
Run: `.venv/bin/python benchmarks/scale_out.py [--jobs 1000] [--setup NAME]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.burst import peak_rss_mb, percentile, wait_until
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.render import RenderResult
from tests.e2e.harness import BotProcess, bot_env, results
from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import GENERAL, GUILD_2, GUILD_ID, STUDIO, Message, User
from tests.helpers.databases import new_postgres_database
from tests.helpers.local_pika import prerendered
from tests.helpers.postgres import throwaway_server

FIRST_MEMBER = 960_000_000_000_000_000
WAVE = 50  # asks sent at once
FINISH_AHEAD = 3.0  # seconds from the last create to the common finish
JOB_SECONDS = 600.0  # until the common finish is set, no job ends
SETUPS = {  # name: (database, the shard ids of each process)
    "sqlite-1": ("sqlite", ["0,1"]),
    "postgres-1": ("postgresql", ["0,1"]),
    "postgres-2": ("postgresql", ["0", "1"]),
}


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server: TEST_POSTGRES_URL, or a throwaway one for this run."""
    if given := os.environ.get("TEST_POSTGRES_URL"):
        yield given
        return
    with throwaway_server() as url:
        yield url


@contextlib.asynccontextmanager
async def running_bots(
    fake: FakeDiscord, pika: LocalPika, workdir: Path, database_url: str, shards: list[str]
) -> AsyncIterator[list[BotProcess]]:
    """One `python -m bot` per entry of `shards` (its DISCORD_SHARD_IDS, of 2 shards), each in
    its own folder (its own ledger), all on `database_url`; ready; stopped after the block."""
    bots = []
    for n, ids in enumerate(shards):
        folder = workdir / f"process-{n}"
        folder.mkdir()
        env = bot_env(
            fake,
            folder,
            PIKA_API_KEY=pika.api_key,
            PIKA_BASE_URL=pika.base_url,
            DATABASE_URL=database_url,
            DISCORD_GUILD_ID="",  # commands synced globally: both guilds have them
            DISCORD_SHARD_COUNT="2",
            DISCORD_SHARD_IDS=ids,
            POLL_INTERVAL_SECONDS="1",
            JOB_LEASE_SECONDS="30",  # as deployed (the end-to-end harness holds jobs for 3 s)
        )
        bots.append(BotProcess(env, folder))
    try:
        for bot in bots:
            await bot.start()
        for bot in bots:
            await bot.wait_ready(timeout=120)
        yield bots
    finally:
        for bot in bots:
            await bot.stop(timeout=60)


def members(fake: FakeDiscord, count: int) -> list[tuple[int, int]]:
    """`count` members, half asking in the first guild's GENERAL, half in the second's STUDIO."""
    asking = []
    for n in range(count):
        member = FIRST_MEMBER + n
        guild, channel = (GUILD_ID, GENERAL) if n % 2 == 0 else (GUILD_2, STUDIO)
        fake.users[member] = User(member, f"member{n}")
        fake.guilds[guild].members.append(member)
        asking.append((member, channel))
    return asking


async def ask_in_waves(fake: FakeDiscord, asking: list[tuple[int, int]]) -> list[Interaction]:
    """Every member asks for one video, `WAVE` at a time, each wave once the last is answered."""
    asked: list[Interaction] = []
    for start in range(0, len(asking), WAVE):
        wave = [
            fake.slash(member, channel, "pika", "generate", {"prompt": f"scale {n}"})
            for n, (member, channel) in enumerate(asking[start : start + WAVE], start)
        ]
        await wait_until(lambda: all(i.answered_at for i in wave), 60, "a wave's answers")  # noqa: B023
        asked += wave
    return asked


async def run_setup(
    name: str, workdir: Path, video: RenderResult, jobs: int, server: str | None
) -> dict[str, Any]:
    """One setup's run: every job asked, finished together, delivered; its figures."""
    dialect, shards = SETUPS[name]
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(
            running_fake_discord(heartbeat_ms=10_000, check_contract=False)
        )
        pika = await stack.enter_async_context(
            running_local_pika(
                job_seconds=JOB_SECONDS, files_dir=workdir / "pika", prerendered=video
            )
        )
        if dialect == "postgresql":
            assert server is not None
            url = await stack.enter_async_context(new_postgres_database(server))
        else:
            url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        bots = await stack.enter_async_context(running_bots(fake, pika, workdir, url, shards))
        asking = members(fake, jobs)
        asked = await ask_in_waves(fake, asking)
        answered = sum(1 for i in asked if i.answered_at)
        slowest = max((i.answered_at or math.inf) - i.sent_at for i in asked)
        try:
            await wait_until(lambda: len(pika.jobs) >= jobs, 120, "every job at Pika")
        except RuntimeError as exc:  # say how far it got, and how slow the answers were
            raise RuntimeError(
                f"{exc}: {len(pika.jobs)} there; slowest answer {slowest:.1f} s"
            ) from exc
        finish = time.time() + FINISH_AHEAD
        for job in pika.jobs.values():
            job.seconds = finish - job.created_at

        def posted() -> list[Message]:
            return results(fake, GENERAL) + results(fake, STUDIO)

        await wait_until(lambda: len(posted()) >= jobs, 600, "every result")
        offset = time.time() - time.monotonic()
        posts = [m.created + offset for m in posted()]
        gaps = [at - finish for at in posts]
        return {
            "processes": len(bots),
            "answered": answered,
            "delivered": len(posts),
            "per_second": len(posts) / max(max(posts) - finish, 1e-9),
            "post_p50": percentile(gaps, 0.5),
            "post_p99": percentile(gaps, 0.99),
            "rss_mb": [peak_rss_mb(b.process.pid) for b in bots if b.process],
            "pika_per_job": len(pika.requests) / jobs,
        }


def report(name: str, figures: dict[str, Any]) -> None:
    """One setup's figures on one line."""
    rss = " + ".join(f"{mb:.0f}" for mb in figures["rss_mb"])
    print(
        f"  {name:<11} {figures['delivered']:>5} delivered ({figures['answered']} answered)"
        f"  {figures['per_second']:7.1f} /s   finish-to-post p50 {figures['post_p50']:5.2f} s"
        f"  p99 {figures['post_p99']:5.2f} s   peak RSS {rss} MB"
        f"   Pika calls/job {figures['pika_per_job']:.2f}",
        flush=True,
    )


async def main() -> None:
    """Run the setups asked for and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=[*SETUPS, "all"], default="all")
    parser.add_argument("--jobs", type=int, default=1000, help="jobs across the two guilds")
    args = parser.parse_args()
    wanted = list(SETUPS) if args.setup == "all" else [args.setup]
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{args.jobs} jobs across two guilds, finishing together, POLL_INTERVAL_SECONDS=1")
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="pika-scale-") as tmp:
        server = None
        if any(SETUPS[name][0] == "postgresql" for name in wanted):
            server = stack.enter_context(postgres_server())
        workdir = Path(tmp)
        video = await prerendered(workdir)
        for name in wanted:
            folder = workdir / name
            folder.mkdir()
            figures = await run_setup(name, folder, video, args.jobs, server)
            report(name, figures)


if __name__ == "__main__":
    asyncio.run(main())
