"""Benchmark of the job engine: the real bot process under a burst of members, against the fake
Discord and the local Pika over real sockets, with a floor bot in the same run.

Scenarios (every one by default; `--scenario NAME` runs one):
- burst: 200 members of one server send `/pika generate` at once; 3 s jobs,
  POLL_INTERVAL_SECONDS=1, no rate limits. The floor bot (`floor_bot.py`, which only
  acknowledges) takes the same burst first, on a fake Discord of its own; the calls bot
  (`calls_bot.py`, which makes the bot's HTTP calls for each job through the same libraries,
  and nothing else) takes it last, for the CPU those calls alone cost.
- slow: the same burst with 60 s jobs at the default POLL_INTERVAL_SECONDS=5.
- limits: 200 results into one channel with Discord's rate limits on, twice: as the bot does it
  (each result a follow-up of its command's interaction, which pings its member and which no
  channel limit counts, then the working message deleted the same way), and with every token
  expired (each result posted with the bot's token, which the channel's limits count).
- tracked: 10,000 jobs of 60 s running at Pika, followed by the bot at POLL_INTERVAL_SECONDS=5.

The bot runs as `benchmarks/bench_bot.py`, which is `python -m bot` with counters (database
round trips, poll lateness); its CPU time and peak memory are read from /proc. Results are
pre-rendered (one video, linked for every job), so rendering is not measured, and the fake does
not check request bodies against Discord's OpenAPI description (the tests do), so that its own
work weighs as little as it can on a shared machine.
Run: `make bench`, or `.venv/bin/python benchmarks/burst.py [--scenario NAME] [--jobs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.jobs import LocalJob
from bot.pika.local.render import RenderResult
from bot.storage import open_storage
from tests.e2e.harness import BotProcess, bot_env, results
from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import GENERAL, GUILD_ID, User
from tests.helpers.local_pika import prerendered
from tests.helpers.requests import fox

ROOT = Path(__file__).resolve().parents[1]
FIRST_MEMBER = 950_000_000_000_000_000
TICK = os.sysconf("SC_CLK_TCK")
LOGS: Path | None = None  # where each bot's output is kept (`--logs`), for a run that went wrong
TRACKED_WINDOW = 24.0  # seconds the tracked scenario measures, before any of its jobs ends
SETTLE = 1.0  # seconds between a bot's READY and the members' first request
WARM_UP = 4.0  # seconds after start-up whose polls are catching up, not on time


# --- the processes ----------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, all its threads."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def loop_cpu_seconds(pid: int) -> float:
    """CPU time of a process's main thread (its event loop) so far; the rest of `cpu_seconds`
    is its other threads (the database's, discord.py's heartbeat, the garbage collector's
    share is in whichever thread it ran)."""
    return cpu_seconds_of(Path(f"/proc/{pid}/task/{pid}/stat"))


def cpu_seconds_of(stat: Path) -> float:
    """User and system CPU time read from a /proc stat file."""
    return sum(user_and_system(stat))


def system_cpu_seconds(pid: int) -> float:
    """CPU time a process spent in the kernel so far, all its threads: its system calls, and
    on loopback the receiving end's TCP work too, which the sender's `send` runs."""
    return user_and_system(Path(f"/proc/{pid}/stat"))[1]


def user_and_system(stat: Path) -> tuple[float, float]:
    """User and system CPU time, apart, read from a /proc stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


@dataclass
class Bot:
    """A bot process and what reads its instruments."""

    process: BotProcess
    stats_path: Path | None

    @property
    def pid(self) -> int:
        assert self.process.process is not None
        return self.process.process.pid

    async def stats(self) -> dict[str, Any]:
        """Round trips and poll lateness so far (SIGUSR1 makes the bot write them)."""
        assert self.stats_path is not None
        before = self.stats_path.stat().st_mtime_ns if self.stats_path.exists() else 0
        os.kill(self.pid, signal.SIGUSR1)
        for _ in range(200):
            if self.stats_path.exists() and self.stats_path.stat().st_mtime_ns != before:
                return dict(json.loads(self.stats_path.read_text()))
            await asyncio.sleep(0.02)
        raise RuntimeError("the bot did not write its stats")


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    pika: LocalPika | None,
    workdir: Path,
    *,
    floor: bool = False,
    script: str = "bench_bot.py",
    **settings: str,
) -> AsyncIterator[Bot]:
    """The bot (or the floor bot, or another `script` of this folder) on `fake`, ready;
    stopped at the end of the block."""
    stats = workdir / "stats.json"
    extra = {"PIKA_API_KEY": pika.api_key, "PIKA_BASE_URL": pika.base_url} if pika else {}
    # The lease as deployed (30 s): the end-to-end harness's 3 s, there for take-over tests,
    # renews every lease each second, 10,000 rows a second in the tracked run.
    settings = {"JOB_LEASE_SECONDS": "30"} | settings
    env = bot_env(fake, workdir, **extra, BENCH_STATS=str(stats), **settings)
    script = "floor_bot.py" if floor else script
    process = BotProcess(env, workdir, (str(ROOT / "benchmarks" / script),))
    await process.start()
    try:
        await process.wait_ready(timeout=120)
        # Members ask a bot that has started, not one still starting: READY is logged before
        # start-up's last steps (a full collection before the collector freezes what start-up
        # made; the tracker's first claim), which made every answer of a burst sent at READY
        # some 60 ms late in one run of three. Every bot gets the same pause.
        await asyncio.sleep(SETTLE)
        yield Bot(process, stats if script == "bench_bot.py" else None)
    finally:
        try:
            await process.stop(timeout=60)
        finally:
            if LOGS is not None:
                keep_log(LOGS / f"{workdir.name}.log", process.log)


def keep_log(path: Path, text: str) -> None:
    """Write a bot's output where `--logs` said."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def add_members(fake: FakeDiscord, count: int) -> list[int]:
    """`count` members of the fake's one server, who will each ask for one video."""
    members = [FIRST_MEMBER + n for n in range(count)]
    for member in members:
        fake.users[member] = User(member, f"member{member - FIRST_MEMBER}")
    # The fake refuses an interaction from someone who is not in the channel's guild.
    fake.guilds[GUILD_ID].members.extend(members)
    return members


# --- measuring a burst ------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of `values` fall (nearest rank)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    """Wait for `condition`, or fail saying what did not happen."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def ask_all(fake: FakeDiscord, members: list[int], label: str) -> list[Interaction]:
    """Every member sends `/pika generate` at once, each with a prompt of their own."""
    return [
        fake.slash(member, GENERAL, "pika", "generate", {"prompt": f"{label} {n}"})
        for n, member in enumerate(members)
    ]


@contextlib.contextmanager
def instrument_unpaused() -> Iterator[None]:
    """No garbage collection in this process while answers are timed. The fake Discord and the
    local Pika run here: they are the instrument, and its pauses were counted in the answer
    times of whichever bot was being timed. A full collection of this process took 94-148 ms
    in two of five bursts, in the floor bot's window, where it made the floor look slower than
    the bot; the young ones took 5-7 ms of the floor's window and 15-31 ms of the bot's (it has
    more calls, and the local Pika's, to answer)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def ask_and_time(
    fake: FakeDiscord, members: list[int], label: str
) -> tuple[list[Interaction], dict[str, Any]]:
    """Every member asks at once (`ask_all`), and their answers are timed (`acks`)."""
    with instrument_unpaused():
        asked = ask_all(fake, members, label)
        return asked, await acks(fake, asked)


async def acks(fake: FakeDiscord, asked: list[Interaction]) -> dict[str, Any]:
    """How long each interaction waited for its answer (infinity: never answered, as Discord
    refuses an answer past its deadline)."""
    last_chance = max(i.sent_at for i in asked) + fake.interaction_deadline + 2.0
    await wait_until(
        lambda: all(i.answered_at for i in asked) or time.monotonic() > last_chance,
        60,
        "every answer, or Discord's deadline",
    )
    waits = [(i.answered_at or math.inf) - i.sent_at for i in asked]
    await wait_until(
        lambda: all(public_at(fake, i) for i in asked if i.answered_at),
        60,
        "every public working message",
    )
    public = [(public_at(fake, i) or math.inf) - i.sent_at for i in asked if i.answered_at]
    return {
        "asked": len(asked),
        "answered": sum(1 for i in asked if i.answered_at),
        "ack_min": min(waits),
        "ack_p50": percentile(waits, 0.5),
        "ack_p99": percentile(waits, 0.99),
        "ack_max": max(waits),
        "public_p50": percentile(public, 0.5),
        "public_p99": percentile(public, 0.99),
    }


def public_at(fake: FakeDiscord, interaction: Interaction) -> float | None:
    """When the interaction's public working message appeared: its answer, or, when it was
    held privately first, its first public follow-up. None: not yet."""
    ids = [interaction.original_id, *interaction.followups]
    shown = [m for m in (fake.messages.get(i or 0) for i in ids) if m and not m.ephemeral]
    return min((m.created for m in shown), default=None)


def finish_to_post(fake: FakeDiscord, pika: LocalPika, label: str) -> list[float]:
    """For each job: seconds from its finish at Pika to its result in the channel."""
    offset = time.time() - time.monotonic()
    posted = {m.embeds[0]["title"]: m for m in results(fake) if m.embeds}
    gaps = []
    for job in pika.jobs.values():
        prompt = str(job.body.get("promptText", ""))
        message = posted.get(prompt)
        if prompt.startswith(label) and message is not None:
            at = (message.edited_at or message.created) + offset
            gaps.append(at - (job.created_at + job.seconds))
    return gaps


async def run_burst(
    fake: FakeDiscord, pika: LocalPika, bot: Bot, members: list[int], label: str, within: float
) -> dict[str, Any]:
    """The whole burst: asked at once, answered, made, delivered, adorned; with its costs."""
    before = {
        "at": time.time(),
        "cpu": cpu_seconds(bot.pid),
        "loop_cpu": loop_cpu_seconds(bot.pid),
        "system_cpu": system_cpu_seconds(bot.pid),
        "discord": len(fake.requests),
        "pika": len(pika.requests),
        "round_trips": (await bot.stats())["round_trips"],
    }
    _, figures = await ask_and_time(fake, members, label)
    count = len(members)
    done = figures["answered"]  # an unanswered request is cancelled before Pika is asked
    await wait_until(lambda: len(results(fake)) >= done, within, "every result")
    await wait_until(
        lambda: all(len(m.reactions) == 3 for m in results(fake)), within, "every reaction"
    )
    await asyncio.sleep(1.0)  # the batched end of each job
    gaps = finish_to_post(fake, pika, label)
    after = await bot.stats()
    lateness = [late for planned, late in after["lateness"] if planned >= before["at"]]
    return figures | {
        "late_p50": percentile(lateness, 0.5),
        "late_p99": percentile(lateness, 0.99),
        "delivered": len(gaps),
        "post_p50": percentile(gaps, 0.5),
        "post_p99": percentile(gaps, 0.99),
        "pika_per_job": (len(pika.requests) - before["pika"]) / count,
        "discord_per_job": (len(fake.requests) - before["discord"]) / count,
        "round_trips_per_job": (after["round_trips"] - before["round_trips"]) / count,
        "cpu_ms_per_job": 1000 * (cpu_seconds(bot.pid) - before["cpu"]) / count,
        "loop_cpu_ms_per_job": 1000 * (loop_cpu_seconds(bot.pid) - before["loop_cpu"]) / count,
        "system_cpu_ms_per_job": 1000
        * (system_cpu_seconds(bot.pid) - before["system_cpu"])
        / count,
        "peak_rss_mb": peak_rss_mb(bot.pid),
    }


# --- the scenarios ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def stage(
    workdir: Path, video: RenderResult, job_seconds: float, members: int
) -> AsyncIterator[tuple[FakeDiscord, LocalPika, list[int]]]:
    """A fake Discord with `members` members, and a local Pika serving `video`."""
    async with (
        running_fake_discord(heartbeat_ms=10_000, check_contract=False) as fake,
        running_local_pika(
            job_seconds=job_seconds, files_dir=workdir / "pika", prerendered=video
        ) as pika,
    ):
        yield fake, pika, add_members(fake, members)


async def floor_and_burst(workdir: Path, video: RenderResult, jobs: int) -> dict[str, Any]:
    """The floor bot's answers, then the bot's whole burst, 3 s jobs at a 1 s poll interval."""
    async with (
        stage(workdir / "floor", video, 3.0, jobs) as (fake, _, members),
        running_bot(fake, None, workdir / "floor", floor=True),
    ):
        _, floor = await ask_and_time(fake, members, "floor")
    async with (
        stage(workdir / "burst", video, 3.0, jobs) as (fake, pika, members),
        running_bot(fake, pika, workdir / "burst", POLL_INTERVAL_SECONDS="1") as bot,
    ):
        ours = await run_burst(fake, pika, bot, members, "burst", 120)
    async with (
        stage(workdir / "calls", video, 3.0, jobs) as (fake, pika, members),
        running_bot(fake, pika, workdir / "calls", script="calls_bot.py") as calls_bot,
    ):
        cpu, discord_before, pika_before = (
            cpu_seconds(calls_bot.pid),
            len(fake.requests),
            len(pika.requests),
        )
        ask_all(fake, members, "calls")
        await wait_until(lambda: len(results(fake)) >= jobs, 120, "every result")
        await wait_until(
            lambda: all(len(m.reactions) == 3 for m in results(fake)), 120, "every reaction"
        )
        calls = {
            "calls_cpu_ms_per_job": 1000 * (cpu_seconds(calls_bot.pid) - cpu) / jobs,
            "calls_discord_per_job": (len(fake.requests) - discord_before) / jobs,
            "calls_pika_per_job": (len(pika.requests) - pika_before) / jobs,
        }
    return {"floor": floor, "bot": ours | calls}


async def slow(workdir: Path, video: RenderResult, jobs: int) -> dict[str, Any]:
    """The burst with 60 s jobs, at the default poll interval."""
    async with (
        stage(workdir / "slow", video, 60.0, jobs) as (fake, pika, members),
        running_bot(fake, pika, workdir / "slow", POLL_INTERVAL_SECONDS="5") as bot,
    ):
        return await run_burst(fake, pika, bot, members, "slow", 240)


async def limits(workdir: Path, video: RenderResult, jobs: int, expired: bool) -> dict[str, Any]:
    """`jobs` results into one channel with the rate limits on: the time from the first job's
    finish to the last result, against the least the limits allow."""
    name = "expired" if expired else "edited"
    async with (
        stage(workdir / name, video, 3.0, jobs) as (fake, pika, members),
        running_bot(fake, pika, workdir / name, POLL_INTERVAL_SECONDS="1"),
    ):
        fake.limits.enabled = True
        asked, answers = await ask_and_time(fake, members, name)
        if expired:
            for interaction in asked:
                fake.expire(interaction)
        done = answers["answered"]  # an unanswered request is cancelled before Pika is asked
        await wait_until(lambda: len(results(fake)) >= done, 600, "every result")
        offset = time.time() - time.monotonic()
        finishes = [j.created_at + j.seconds for j in pika.jobs.values()]
        last_post = max((m.edited_at or m.created) for m in results(fake)) + offset
        spread = max(finishes) - min(finishes)
        # Expired tokens: every result is a post with the bot's token, 5 per 5 s per channel.
        least = max(spread, (math.ceil(jobs / 5) - 1) * 5.0) if expired else spread
        return answers | {
            "took": last_post - min(finishes),
            "least": least,
            "refused": len(fake.limits.refusals),
            "refused_in": sorted({key.split(":")[0] for _, key in fake.limits.refusals}),
            "refused_twice": fake.limits.refused_twice,
        }


async def seed_tracked(workdir: Path, pika: LocalPika, count: int) -> None:
    """`count` jobs of 60 s running at Pika, accepted over the last 30 s, in the bot's database
    as the bot leaves them (each planned for its poll 30 s after Pika took it), with the recent
    durations of its kind that it reads at start-up."""
    now = time.time()
    body = fox().payload()
    storage = await open_storage(workdir / "bot.sqlite3")
    await storage.close()
    rows = []
    for n in range(count):
        accepted = now - 30 * (n + 0.5) / count
        local = LocalJob(
            id=str(uuid.uuid4()),
            request_type="generate",
            request_key="generate-1.0",
            body=body,
            seed=n,
            created_at=accepted,
            seconds=60.0,
            result_name=f"tracked_{n}.mp4",
            rendered=True,
        )
        pika.jobs[local.id] = local
        rows.append((f"t{n:09d}", local.id, accepted, accepted + 30.0))
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        db.executemany(
            "INSERT INTO jobs (id, pika_job_id, kind, request, guild_id, channel_id, user_id, "
            "status, active, pika_status, accepted_at, next_poll_at, created_at, updated_at) "
            "VALUES (?, ?, 'generate', ?, ?, ?, ?, 'running', 1, 'pending', ?, ?, ?, ?)",
            [
                (i, p, json.dumps(body), GUILD_ID, GENERAL, FIRST_MEMBER, a, due, a, a)
                for i, p, a, due in rows
            ],
        )
        db.executemany(  # the durations the estimator starts from
            "INSERT INTO jobs (id, kind, request, guild_id, channel_id, user_id, status, active, "
            "pika_seconds, next_poll_at, created_at, updated_at) "
            "VALUES (?, 'generate', '{}', ?, ?, ?, 'delivered', 0, 60.0, 0, ?, ?)",
            [(f"d{n:09d}", GUILD_ID, GENERAL, FIRST_MEMBER, now - 3600, now) for n in range(20)],
        )


async def tracked(workdir: Path, video: RenderResult, count: int) -> dict[str, Any]:
    """10,000 running jobs followed for `TRACKED_WINDOW` seconds, none of which ends in it."""
    async with stage(workdir / "tracked", video, 60.0, 1) as (fake, pika, _):
        await seed_tracked(workdir / "tracked", pika, count)
        seeded = time.time()
        async with running_bot(fake, pika, workdir / "tracked", POLL_INTERVAL_SECONDS="5") as bot:
            start, cpu = time.time(), cpu_seconds(bot.pid)
            await asyncio.sleep(WARM_UP)
            warm, warm_cpu = time.time(), cpu_seconds(bot.pid)
            await asyncio.sleep(max(1.0, seeded + TRACKED_WINDOW - time.time()))
            end, end_cpu = time.time(), cpu_seconds(bot.pid)
            used, took = end_cpu - cpu, end - start
            # Polls planned once the bot was up and had caught up with the ones that came due
            # while it started (`WARM_UP`): the steady state of following 10,000 jobs.
            polls = (await bot.stats())["lateness"]
            lateness = [late for planned, late in polls if planned >= start + WARM_UP]
            return {
                "jobs": count,
                "window": took,
                "polls": len(lateness),
                "caught_up": len(polls) - len(lateness),
                "late_p50": percentile(lateness, 0.5),
                "late_p99": percentile(lateness, 0.99),
                "late_max": max(lateness, default=math.nan),
                "cores": used / took,
                # Once the start-up claim of every job and its backlog of due polls are over.
                "steady_cores": (end_cpu - warm_cpu) / (end - warm),
                "peak_rss_mb": peak_rss_mb(bot.pid),
            }


# --- the report -------------------------------------------------------------------------------


def row(name: str, figure: str, target: str) -> str:
    return f"  {name:<44} {figure:>18}   {target}"


def report(name: str, figures: dict[str, Any]) -> None:
    """Print one scenario's figures beside the issue's targets."""
    ms = 1000.0
    if name == "burst":
        floor, bot = figures["floor"], figures["bot"]
        print(f"\nburst: {bot['delivered']} members at once, 3 s jobs, POLL_INTERVAL_SECONDS=1")
        print(
            row(
                "floor bot ack min / p50 / p99 / max (ms)",
                f"{floor['ack_min'] * ms:.0f} / {floor['ack_p50'] * ms:.0f} / "
                f"{floor['ack_p99'] * ms:.0f} / {floor['ack_max'] * ms:.0f}",
                "",
            )
        )
        print(
            row(
                "bot ack min / p50 / p99 / max (ms)",
                f"{bot['ack_min'] * ms:.0f} / {bot['ack_p50'] * ms:.0f} / "
                f"{bot['ack_p99'] * ms:.0f} / {bot['ack_max'] * ms:.0f}",
                f"p99 <= 1.5 x floor = {1.5 * floor['ack_p99'] * ms:.0f}",
            )
        )
        print(
            row(
                "  public working message p50 / p99 (ms)",
                f"{bot['public_p50'] * ms:.0f} / {bot['public_p99'] * ms:.0f}",
                f"(floor's {floor['public_p99'] * ms:.0f})",
            )
        )
        print(row("answered", f"{bot['answered']} of {bot['asked']}", "all"))
        print(
            row(
                "finish-to-post p50 / p99 (s)",
                f"{bot['post_p50']:.2f} / {bot['post_p99']:.2f}",
                "p99 <= 1.5",
            )
        )
        print(
            row("poll lateness p50 / p99 (s)", f"{bot['late_p50']:.2f} / {bot['late_p99']:.2f}", "")
        )
        print(row("Pika calls per job", f"{bot['pika_per_job']:.2f}", "<= 3 (create included)"))
        print(row("Discord requests per job", f"{bot['discord_per_job']:.2f}", ""))
        print(row("database round trips per job", f"{bot['round_trips_per_job']:.2f}", "<= 15"))
        print(row("bot CPU per job (ms)", f"{bot['cpu_ms_per_job']:.2f}", "<= 8"))
        print(row("  of which its event loop's thread", f"{bot['loop_cpu_ms_per_job']:.2f}", ""))
        print(row("  of which in the kernel", f"{bot['system_cpu_ms_per_job']:.2f}", ""))
        print(
            row(
                "  the same HTTP calls alone (calls_bot.py)",
                f"{bot['calls_cpu_ms_per_job']:.2f}",
                f"({bot['calls_discord_per_job']:.2f} Discord requests and "
                f"{bot['calls_pika_per_job']:.2f} Pika calls per job)",
            )
        )
        print(row("bot peak RSS (MB)", f"{bot['peak_rss_mb']:.0f}", ""))
    elif name == "slow":
        print(f"\nslow: {figures['delivered']} members at once, 60 s jobs, POLL_INTERVAL_SECONDS=5")
        print(
            row(
                "finish-to-post p50 / p99 (s)",
                f"{figures['post_p50']:.2f} / {figures['post_p99']:.2f}",
                "p99 <= 5",
            )
        )
        print(
            row(
                "poll lateness p50 / p99 (s)",
                f"{figures['late_p50']:.2f} / {figures['late_p99']:.2f}",
                "",
            )
        )
        print(row("Pika calls per job", f"{figures['pika_per_job']:.2f}", "<= 6"))
        print(row("database round trips per job", f"{figures['round_trips_per_job']:.2f}", ""))
        print(row("bot CPU per job (ms)", f"{figures['cpu_ms_per_job']:.2f}", ""))
    elif name.startswith("limits"):
        edited = name == "limits"
        how = (
            "each a follow-up of its command's interaction, which no channel limit counts"
            if edited
            else "tokens expired: each posted with the bot's token, 5 per 5 s in a channel"
        )
        print(f"\n{name}: {figures['answered']} results into one channel, rate limits on ({how})")
        print(
            row(
                "bot ack p50 / p99 / max (ms)",
                f"{figures['ack_p50'] * ms:.0f} / "
                f"{figures['ack_p99'] * ms:.0f} / {figures['ack_max'] * ms:.0f}",
                "",
            )
        )
        print(row("answered", f"{figures['answered']} of {figures['asked']}", "all"))
        least, took = figures["least"], figures["took"]
        target = f"<= 1.2 x the jobs' spread, {least:.2f}" if edited else f"<= 1.2 x {least:.0f}"
        print(row("first finish to last result (s)", f"{took:.2f} (x {took / least:.2f})", target))
        print(
            row(
                "requests refused (429) / twice in a row",
                f"{figures['refused']} / {figures['refused_twice']} "
                f"{','.join(figures['refused_in'])}",
                "none twice in a row",
            )
        )
    elif name == "tracked":
        print(f"\ntracked: {figures['jobs']} jobs of 60 s followed for {figures['window']:.0f} s")
        print(row("polls taken (planned in the window)", f"{figures['polls']}", ""))
        print(
            row(
                f"polls due at start-up or in its first {WARM_UP:g} s",
                f"{figures['caught_up']}",
                "",
            )
        )
        print(
            row(
                "poll lateness p50 / p99 / max (s)",
                f"{figures['late_p50']:.2f} / "
                f"{figures['late_p99']:.2f} / {figures['late_max']:.2f}",
                "p99 <= 1",
            )
        )
        print(row("bot CPU (cores), whole window", f"{figures['cores']:.2f}", "< 0.5"))
        print(
            row(
                f"bot CPU (cores), after the first {WARM_UP:g} s",
                f"{figures['steady_cores']:.2f}",
                "",
            )
        )
        print(row("bot peak RSS (MB)", f"{figures['peak_rss_mb']:.0f}", "<= 150"))


async def main() -> None:
    """Run the scenarios asked for and print their figures beside the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        choices=["burst", "slow", "limits", "limits-expired", "tracked", "all"],
        default="all",
    )
    parser.add_argument("--jobs", type=int, default=200, help="members asking at once")
    parser.add_argument("--tracked", type=int, default=10_000, help="jobs in the tracked run")
    parser.add_argument("--logs", type=Path, help="a folder to keep each bot's output in")
    args = parser.parse_args()
    global LOGS
    LOGS = args.logs
    wanted = ["burst", "slow", "limits", "limits-expired", "tracked"]
    if args.scenario != "all":
        wanted = [args.scenario]
    print(f"cores: {os.cpu_count()} (figures vary on a machine shared with other work)")
    with tempfile.TemporaryDirectory(prefix="pika-bench-") as tmp:
        workdir = Path(tmp)
        video = await prerendered(workdir)
        for name in wanted:
            folder = workdir / name
            folder.mkdir()
            started = time.monotonic()
            if name == "burst":
                figures = await floor_and_burst(folder, video, args.jobs)
            elif name == "slow":
                figures = await slow(folder, video, args.jobs)
            elif name == "limits":
                figures = await limits(folder, video, args.jobs, expired=False)
            elif name == "limits-expired":
                figures = await limits(folder, video, args.jobs, expired=True)
            else:
                figures = await tracked(folder, video, args.tracked)
            report(name, figures)
            print(f"  ({time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
