"""Chaos soak: the bot's promise (nothing lost on a restart, nothing paid twice) tried at random.

The real bot (`python -m bot`, through tests/e2e/short_waits.py as the e2e harness runs it)
against the fake Discord and the local Pika (one pre-rendered video, so rendering is not the
bottleneck). Members send `/pika generate` at random (now and then a burst of twelve, so that
some answers are held privately first), each with a prompt of its own, and press (or react
with) re-roll, extend and upscale on results now and then; meanwhile:
- the bot is killed with SIGKILL at random moments: after a timer, right after an ask, right
  after Discord took an answer (before the bot could record it), during a paid call (a create
  request the local Pika has not answered yet), while polling, while posting (an upload, a
  delete or a callback the fake Discord just received); then started again;
- the local Pika's fault switches are changed at random (500 and 429 rates, latency, lost
  answers, 504s, forgotten, failed and delayed jobs, job length).
At the end the faults are switched off, every process runs, everything settles, and the
invariants are checked (see `check`): every request answered publicly ends with exactly one
result or one failure (in its channel or a DM), no duplicate results, no working message left
behind, each request's Pika job created at most once, nothing left active in the database,
and quotas count only jobs Pika accepted. A summary is printed; a violation exits 1.

Run (from the repository root):
    PYTHONPATH=. .venv/bin/python benchmarks/chaos.py --seed 1 --minutes 20
    PYTHONPATH=. .venv/bin/python benchmarks/chaos.py --seed 2 --minutes 20 --database postgresql
`--database postgresql` runs two bot processes (shards 0 and 1 of 2, one guild each) on one
database of a throwaway PostgreSQL server (tests/helpers/postgres.py), or of TEST_POSTGRES_URL;
`--processes 2` does the same on one SQLite file; `--push` gives each process a webhook URL,
which the local Pika pushes finished jobs to (a lost answer is then adopted). `--keep` keeps
the work folder (logs of every bot process, `bot-<slot>-<start>.log`) for a look after a
violation.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.discord.texts import failure_text, undeliverable_text
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.faults import CREATE_ROUTES, Behaviour
from bot.storage import Job, Status
from bot.storage.db import open_storage
from tests.e2e.harness import BotProcess, bot_env, launch
from tests.fake_discord import FakeDiscord, running_fake_discord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import (
    ADMIN,
    ADMIN_2,
    GENERAL,
    GUILD_2,
    GUILD_ID,
    STUDIO,
    Message,
    User,
)
from tests.helpers.databases import new_postgres_database
from tests.helpers.local_pika import prerendered
from tests.helpers.ports import reserved_port
from tests.helpers.postgres import throwaway_server

FIRST_MEMBER = 970_000_000_000_000_000
MEMBERS_PER_GUILD = 60  # enough that the default daily quota (20) rarely bites
LEASE = 3.0  # JOB_LEASE_SECONDS: a killed process's jobs are taken over within seconds
POLL = 0.3  # POLL_INTERVAL_SECONDS
SETTLE_SECONDS = 240.0  # at most, after the last restart, for everything to end
ACCEPTED = (200, "lost", 504)  # a create call that made a job at Pika (answered or not)
READY = "your video is ready"
KILL_MODES = ("timer", "after_ask", "answered", "paid_call", "polling", "posting")


@dataclass
class Ask:
    """One interaction a member sent: a generate (its prompt unique) or a control press."""

    interaction: Interaction
    member: int
    channel: int
    kind: str  # "generate", or the control's action
    prompt: str = ""

    def working_message(self, fake: FakeDiscord) -> int | None:
        """The public message that answered it (the answer itself, or a follow-up after a
        private hold), if any. Not a result or a failure its job posted as a follow-up of the
        interaction: a job whose process died before answering (or before its follow-up after
        a private hold) is cancelled by the process that takes it over, and that failure goes
        out through the interaction's token, as any job's does, with no working message."""
        i = self.interaction
        for callback in i.callbacks:
            if callback["type"] == 4 and not (callback["data"].get("flags") or 0) & 64:
                return i.original_id
        for message_id in i.followups:
            message = fake.messages.get(message_id)
            if message is not None and not message.ephemeral and not posted_as_an_end(message):
                return message_id
        return None


@dataclass
class Run:
    """What one soak did: the asks, the kills, the Pika calls seen, the processes started."""

    rng: random.Random
    fake: FakeDiscord
    pika: LocalPika
    workdir: Path
    database_url: str
    slots: int
    launch_args: tuple[str, ...]
    launch_env: dict[str, str]
    push_ports: dict[int, int]  # each slot's webhook port, when Pika pushes
    asks: list[Ask] = field(default_factory=list)
    pika_calls: list[dict[str, Any]] = field(default_factory=list)
    bots: dict[int, BotProcess] = field(default_factory=dict)
    starts: collections.Counter[int] = field(default_factory=collections.Counter)
    kills: collections.Counter[str] = field(default_factory=collections.Counter)
    faults_set: int = 0
    reactions: int = 0
    stopping: bool = False
    asked: asyncio.Event = field(default_factory=asyncio.Event)
    logs: list[Path] = field(default_factory=list)

    # --- the processes ---------------------------------------------------------------------

    async def start(self, slot: int) -> None:
        """Start the process of `slot` (its own folder, so its own ledger with PostgreSQL)."""
        folder = self.workdir / f"process-{slot}"
        folder.mkdir(exist_ok=True)
        settings = {
            "PIKA_API_KEY": self.pika.api_key,
            "PIKA_BASE_URL": self.pika.base_url,
            "DATABASE_URL": self.database_url,
            "POLL_INTERVAL_SECONDS": str(POLL),
            "JOB_LEASE_SECONDS": str(LEASE),
            "JOB_TIMEOUT_MINUTES": "3",
        }
        if slot in self.push_ports:  # the same port across restarts: Pika pushes to it
            listen = f"127.0.0.1:{self.push_ports[slot]}"
            settings |= {"WEBHOOK_PUBLIC_URL": f"http://{listen}", "HTTP_LISTEN": listen}
        if self.slots == 2:
            settings |= {
                "DISCORD_GUILD_ID": "",
                "DISCORD_SHARD_COUNT": "2",
                "DISCORD_SHARD_IDS": str(slot),
            }
        env = bot_env(self.fake, folder, **settings) | self.launch_env
        bot = BotProcess(env, folder, self.launch_args)
        self.starts[slot] += 1
        await bot.start()
        self.bots[slot] = bot
        await bot.wait_ready(timeout=120)

    def kill(self, slot: int, why: str) -> None:
        """SIGKILL the process of `slot` at once (no await between the decision and the kill)."""
        bot = self.bots.get(slot)
        if bot is None or bot.process is None or bot.process.returncode is not None:
            return
        os.kill(bot.process.pid, signal.SIGKILL)
        self.kills[why] += 1

    async def reap(self, slot: int) -> None:
        """Wait for a killed process's end and keep its log."""
        bot = self.bots[slot]
        with contextlib.suppress(Exception):
            await bot.exit_code(timeout=30)
        self.save_log(slot, bot)

    def save_log(self, slot: int, bot: BotProcess) -> None:
        """Keep a process's output in the work folder."""
        path = self.workdir / f"bot-{slot}-{self.starts[slot]}.log"
        path.write_text(bot.log + "\n")
        self.logs.append(path)

    # --- what members do -------------------------------------------------------------------

    def channels(self) -> list[tuple[int, int]]:
        """(guild, channel) pairs members ask in."""
        if self.slots == 2:
            return [(GUILD_ID, GENERAL), (GUILD_2, STUDIO)]
        return [(GUILD_ID, GENERAL)]

    def add_members(self) -> dict[int, list[int]]:
        """Members of each guild asked from."""
        found: dict[int, list[int]] = {}
        n = 0
        for guild, _ in self.channels():
            found[guild] = []
            for _ in range(MEMBERS_PER_GUILD):
                member = FIRST_MEMBER + n
                n += 1
                self.fake.users[member] = User(member, f"chaos{n}")
                self.fake.guilds[guild].members.append(member)
                found[guild].append(member)
        return found

    async def members_ask(self, seed: int, deadline: float) -> None:
        """Members send generates (and control presses) at random until `deadline`."""
        members = self.add_members()
        n = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.expovariate(2.0))
            guild, channel = self.rng.choice(self.channels())
            if self.rng.random() < 0.2 and self.press_a_control(channel):
                continue
            # Now and then a burst: answers past the bot's eight turns are held privately first,
            # then made public as follow-ups.
            for _ in range(12 if self.rng.random() < 0.03 else 1):
                member = self.rng.choice(members[guild])
                n += 1
                prompt = f"chaos s{seed} n{n} fox"
                options = {"prompt": prompt}
                interaction = self.fake.slash(member, channel, "pika", "generate", options)
                self.asks.append(Ask(interaction, member, channel, "generate", prompt))
            self.asked.set()

    def press_a_control(self, channel: int) -> bool:
        """Its requester presses re-roll, extend or upscale on a recent result in `channel`."""
        shown = [m for m in self.fake.channel_messages(channel) if READY in m.content][-10:]
        if not shown:
            return False
        result = self.rng.choice(shown)
        found = re.search(r"<@(\d+)>", result.content)
        action = self.rng.choice(["reroll", "extend", "upscale"])
        ids = [str(c["custom_id"]) for row in result.components for c in row["components"]]
        wanted = [i for i in ids if i.split(":")[1] == action]
        if found is None or not wanted:
            return False
        member = int(found[1])
        if self.rng.random() < 0.3:  # by a reaction: no interaction, the job's own checks hold
            emoji = {"extend": "⏩", "upscale": "⬆️", "reroll": "🔁"}[action]
            self.fake.react(member, result, emoji)
            self.reactions += 1
            return True
        interaction = self.fake.press(member, result, wanted[0])
        self.asks.append(Ask(interaction, member, channel, action))
        self.asked.set()
        return True

    # --- chaos -----------------------------------------------------------------------------

    async def switch_faults(self, deadline: float) -> None:
        """Change the local Pika's fault switches at random until `deadline`."""
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(4, 15))
            rng = self.rng
            calm = rng.random() < 0.35
            behaviour = Behaviour(
                job_seconds=rng.uniform(0.3, 4),
                latency=0 if calm else rng.choice([0, 0, 0.2, 0.8, 2.0]),
                error_rate=0 if calm else rng.choice([0, 0, 0.1, 0.3]),
                rate_limit_rate=0 if calm else rng.choice([0, 0, 0.1, 0.2]),
                retry_after=rng.choice([0, 0.5, 1.0]),
                lose_answers=0 if calm else rng.choice([0, 0, 1, 2]),
                gateway_timeouts=0 if calm else rng.choice([0, 0, 1]),
                forget_jobs=0 if calm else rng.choice([0, 0, 1]),
                fail_jobs=0 if calm else rng.choice([0, 0, 1, 2]),
                delay_jobs=0 if calm else rng.choice([0, 1, 3]),
            )
            self.pika.faults.behaviour = behaviour
            self.faults_set += 1

    async def killer(self, deadline: float) -> None:
        """Kill a process at a random moment of a random kind, restart it, until `deadline`."""
        while time.monotonic() < deadline:
            mode = self.rng.choice(KILL_MODES)
            await self.moment(mode, min(deadline, time.monotonic() + 25))
            if time.monotonic() >= deadline:
                return
            slots = list(self.bots)
            victims = slots if self.rng.random() < 0.15 else [self.rng.choice(slots)]
            for slot in victims:
                self.kill(slot, mode)
            for slot in victims:
                await self.reap(slot)
            await asyncio.sleep(self.rng.uniform(0, 3))
            for slot in victims:
                await self.start(slot)
            await asyncio.sleep(self.rng.uniform(2, 10))  # let some work happen

    async def moment(self, mode: str, until: float) -> None:
        """Return at a moment of the kind `mode`, or at `until`."""
        if mode == "timer":
            await asyncio.sleep(max(0.0, min(until - time.monotonic(), self.rng.uniform(1, 12))))
            return
        if mode == "after_ask":
            self.asked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.asked.wait(), max(0.0, until - time.monotonic()))
            await asyncio.sleep(self.rng.choice([0, 0, 0.05, 0.2, 0.5, 1.0]))
            return
        # The local Pika's log is drained as it goes: what is new is what was not there.
        seen_pika = {id(r) for r in self.pika.faults.requests}
        seen_fake = len(self.fake.requests)
        answered = {a.interaction.id for a in self.asks if a.interaction.callbacks}
        while time.monotonic() < until:
            if mode == "paid_call":
                if any(
                    r["path"] in CREATE_ROUTES and "status" not in r
                    for r in self.pika.faults.requests
                ):
                    return
            elif mode == "answered":  # Discord took an answer; the bot has yet to record it
                if any(
                    a.interaction.callbacks and a.interaction.id not in answered
                    for a in self.asks[-20:]
                ):
                    return
            elif mode == "polling":
                new = [r for r in self.pika.faults.requests if id(r) not in seen_pika]
                if any(r["path"].startswith("/web/jobs") for r in new):
                    return
            elif mode == "posting":
                made = self.fake.requests[seen_fake:]
                if any(r.files or r.method == "DELETE" or "callback" in r.path for r in made):
                    return
            await asyncio.sleep(0.005)

    async def keep_pika_calls(self) -> None:
        """Move the local Pika's call log (a bounded deque) into the run's, keeping each
        record (its status is filled in when answered)."""
        while True:
            self.drain_pika_calls()
            await asyncio.sleep(0.5)

    def drain_pika_calls(self) -> None:
        """Move what the local Pika logged that has an answer (the rest stays for the killer
        to see in flight)."""
        queue = self.pika.faults.requests
        while queue and "status" in queue[0]:
            self.pika_calls.append(queue.popleft())


# --- the invariants --------------------------------------------------------------------------


def canonical(body: Any) -> str:
    """A request body as one comparable string."""
    return json.dumps(body, sort_keys=True)


def job_of(message: Message) -> tuple[str, str] | None:
    """(action, job id) of the first button of ours on a message (info on a result, retry on a
    failure), if any."""
    for row in message.components:
        for component in row.get("components", []):
            parts = str(component.get("custom_id", "")).split(":")
            if len(parts) == 3 and parts[0] == "pika" and parts[1] in ("info", "retry"):
                return parts[1], parts[2]
    return None


def posted_as_an_end(message: Message) -> bool:
    """Whether a message was posted as a job's result or failure (it carries one of the job's
    buttons as it was sent): a working message is posted without buttons, and has one only
    once edited into its job's result or failure."""
    return job_of(message) is not None and not message.edited


def check(
    fake: FakeDiscord, asks: list[Ask], jobs: list[Job], calls: list[dict[str, Any]]
) -> list[str]:
    """Every invariant the promise makes, over what the fake Discord holds, the asks, the jobs
    in the database and the local Pika's calls: the list of violations (empty: kept)."""
    problems: list[str] = []
    shown = [m for m in fake.messages.values() if not m.deleted and not m.ephemeral]
    results: dict[str, list[Message]] = collections.defaultdict(list)
    retries: dict[str, list[Message]] = collections.defaultdict(list)
    by_text: dict[str, list[Message]] = collections.defaultdict(list)
    for message in shown:
        by_text[message.content].append(message)
        found = job_of(message)
        if found and found[0] == "info" and READY in message.content:
            results[found[1]].append(message)
        elif found and found[0] == "retry":
            retries[found[1]].append(message)
    by_id = {job.id: job for job in jobs}
    accepted: collections.Counter[str] = collections.Counter()
    for call in calls:
        if call["path"] in CREATE_ROUTES and call.get("status") in ACCEPTED:
            accepted[canonical(call["body"])] += 1
    bodies = collections.Counter(canonical(job.request) for job in jobs)

    public = {a.prompt for a in asks if a.kind == "generate" and a.working_message(fake)}
    for job in jobs:
        name = f"job {job.id} ({job.kind}, {job.prompt!r}, {job.status.value})"
        if job.active or not job.status.is_final:
            problems.append(f"{name}: still active after settling")
            continue
        # A failure with a Retry button is its own job's; one without is known by its words
        # only (two jobs of one member's same request can fail in the same words, each with
        # its own Retry: those are not each told twice).
        worded = [m for m in by_text.get(failure_text(job), []) if job_of(m) is None]
        told = retries[job.id] + worded
        told = list({m.id: m for m in told}.values())
        dms = [m for m in fake.dm_messages(job.user_id) if m.content == undeliverable_text(job)]
        made = results[job.id]
        if len(made) > 1:
            problems.append(f"{name}: {len(made)} results posted")
        if job.status is Status.DELIVERED:
            if len(made) != 1 or told:
                problems.append(f"{name}: delivered with {len(made)} results, {len(told)} failures")
            if not job.counted:
                problems.append(f"{name}: delivered but not counted")
        elif job.status is Status.UNDELIVERABLE:
            if not dms and not made:
                problems.append(f"{name}: undeliverable and no DM")
        else:
            # A job cancelled because its answer failed: the member saw Discord's own error,
            # unless the answer was shown after all (then it must be told).
            silent = job.failure == "not_acknowledged" and job.prompt not in public
            if made:
                problems.append(f"{name}: ended without a video, yet a result is shown")
            if len(told) > 1 or (not told and not silent):
                problems.append(f"{name}: told {len(told)} times of its failure")
        if job.status_message_id is not None and job.status_message_id not in {
            m.id for m in made + told
        }:
            left = fake.messages.get(job.status_message_id)
            if left is not None and not left.deleted:
                problems.append(f"{name}: its working message {left.id} is left behind")
        paid = accepted[canonical(job.request)]
        if paid > bodies[canonical(job.request)]:
            problems.append(f"{name}: Pika made {paid} jobs of its request")
        if not job.counted and paid and bodies[canonical(job.request)] == 1:
            problems.append(f"{name}: not counted, yet Pika accepted it")
        if job.counted and not paid and job.pika_job_id is None and job.failure is None:
            problems.append(f"{name}: counted, yet Pika never accepted it")

    by_prompt: dict[str, list[Job]] = collections.defaultdict(list)
    by_working: dict[int, Job] = {}
    for job in jobs:
        by_prompt[job.prompt].append(job)
        if job.status_message_id is not None:
            by_working[job.status_message_id] = job
    for ask in asks:
        working = ask.working_message(fake)
        what = f"{ask.kind} {ask.prompt or ''} by {ask.member} (interaction {ask.interaction.id})"
        if ask.kind == "generate":
            # Its own job: a re-roll of its result is a generate of the same prompt too.
            rows = [j for j in by_prompt[ask.prompt] if j.parent_job_id is None]
            if len(rows) > 1:
                problems.append(f"{what}: {len(rows)} jobs written")
            if working is not None and not rows:
                problems.append(f"{what}: answered publicly, but no job")
            if working is None and any(j.counted for j in rows):
                problems.append(f"{what}: never answered publicly, yet its job counts")
        elif working is not None and working not in by_working:
            # A press answered publicly, whose job never recorded its answer.
            problems.append(f"{what}: answered publicly ({working}), but no job recorded it")
        if working is not None:
            message = fake.messages[working]
            owner = by_working.get(working)
            own = owner is not None and (message.id in {m.id for m in results[owner.id]})
            failed_here = owner is not None and message.content == failure_text(owner)
            if not message.deleted and not own and not failed_here and job_of(message) is None:
                problems.append(f"{what}: its working message {working} is left behind")
    for job_id in results:
        if job_id not in by_id:
            problems.append(f"a result for job {job_id}, which the database does not have")
    problems += [f"the fake Discord: {v}" for v in fake.violations]
    return problems


async def read_jobs(database_url: str) -> list[Job]:
    """Every job row, through the bot's own store."""
    storage = await open_storage(database_url)
    try:
        rows = await storage.database.fetch("SELECT id FROM jobs")
        jobs = [await storage.jobs.get(str(row["id"])) for row in rows]
    finally:
        await storage.database.close()
    return [job for job in jobs if job is not None]


async def active_jobs(database_url: str) -> int:
    """How many jobs are still active."""
    storage = await open_storage(database_url)
    try:
        return int(await storage.database.fetch_value("SELECT COUNT(*) FROM jobs WHERE active = 1"))
    finally:
        await storage.database.close()


# --- the soak --------------------------------------------------------------------------------


async def soak(args: argparse.Namespace, workdir: Path, server: str | None) -> int:
    """One run: chaos for `args.minutes`, then settling, then the check. Exit status."""
    rng = random.Random(args.seed)
    video = await prerendered(workdir)
    slots = 2 if args.database == "postgresql" else args.processes
    async with contextlib.AsyncExitStack() as stack:
        fake = await stack.enter_async_context(
            running_fake_discord(heartbeat_ms=2000, check_contract=False)
        )
        pika = await stack.enter_async_context(
            running_local_pika(job_seconds=1.0, files_dir=workdir / "pika", prerendered=video)
        )
        pika.faults._random = random.Random(args.seed)  # its 500s and 429s, seeded too
        if args.database == "postgresql":
            assert server is not None
            url = await stack.enter_async_context(new_postgres_database(server))
        else:
            url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        launch_args, launch_env = launch({"NOT_FOUND_SECONDS": 3.0})
        ports = {slot: reserved_port() for slot in range(slots)} if args.push else {}
        run = Run(rng, fake, pika, workdir, url, slots, launch_args, launch_env, ports)
        await asyncio.gather(*(run.start(slot) for slot in range(slots)))
        await admin_limits(fake, slots)
        pushed = ", Pika pushes" if args.push else ""
        setup = f"{args.database}, {slots} process(es){pushed}"
        print(f"seed {args.seed}, {args.minutes:g} min, {setup}")
        keeper = asyncio.ensure_future(run.keep_pika_calls())
        deadline = time.monotonic() + args.minutes * 60
        chaos = [run.members_ask(args.seed, deadline), run.switch_faults(deadline)]
        await asyncio.gather(*chaos, run.killer(deadline))
        # Settle: faults off, every process running, everything ended.
        pika.faults.behaviour = Behaviour(job_seconds=1.0)
        for slot, bot in list(run.bots.items()):
            if bot.process is None or bot.process.returncode is not None:
                await run.start(slot)
        for _ in range(int(SETTLE_SECONDS)):  # a read of the database a second
            if not await active_jobs(url):
                break
            await asyncio.sleep(1)
        await asyncio.sleep(8)  # chores after the end: working messages removed, reactions
        keeper.cancel()
        for slot, bot in run.bots.items():
            await bot.stop(timeout=60)
            run.save_log(slot, bot)
        run.drain_pika_calls()
        run.pika_calls += list(pika.faults.requests)
        jobs = await read_jobs(url)
        problems = check(fake, run.asks, jobs, run.pika_calls)
        summarise(run, jobs, problems)
        return 1 if problems else 0


async def admin_limits(fake: FakeDiscord, slots: int) -> None:
    """Each member may run three jobs at once (the default, one, makes most asks refusals)."""
    for admin, channel in [(ADMIN, GENERAL), (ADMIN_2, STUDIO)][:slots]:
        answer = fake.slash(admin, channel, "pika-admin", "limits", {"running": 3})
        await fake.wait_for_response(answer, timeout=30)


def summarise(run: Run, jobs: list[Job], problems: list[str]) -> None:
    """The figures of the run, and each violation."""
    statuses = collections.Counter(job.status.value for job in jobs)
    failures = collections.Counter(job.failure for job in jobs if job.failure)
    public = sum(1 for a in run.asks if a.working_message(run.fake) is not None)
    unanswered = sum(1 for a in run.asks if not a.interaction.callbacks)
    creates = [c for c in run.pika_calls if c["path"] in CREATE_ROUTES]
    tracebacks = sum(path.read_text().count("Traceback") for path in run.logs)
    print(
        f"asks: {len(run.asks)} ({public} answered publicly, {unanswered} never answered); "
        f"reactions {run.reactions}"
    )
    print(f"kills: {sum(run.kills.values())} {dict(run.kills)}; starts {dict(run.starts)}")
    print(f"fault switches set: {run.faults_set}; Pika create calls {len(creates)}")
    print(f"jobs: {len(jobs)} {dict(statuses)}; failures {dict(failures)}")
    print(f"tracebacks in the bots' logs: {tracebacks}; logs in {run.workdir}")
    if problems:
        print(f"VIOLATIONS: {len(problems)}")
        for problem in problems:
            print(f"  - {problem}")
    else:
        print("no violation")


def main() -> int:
    """Parse the arguments and run one soak."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--processes", type=int, choices=[1, 2], default=1, help="on SQLite")
    parser.add_argument("--push", action="store_true", help="with WEBHOOK_PUBLIC_URL set")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix=f"pika-chaos-{args.seed}-"))
    try:
        with contextlib.ExitStack() as stack:
            server = None
            if args.database == "postgresql":
                server = os.environ.get("TEST_POSTGRES_URL") or stack.enter_context(
                    throwaway_server()
                )
            return asyncio.run(soak(args, workdir, server))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
