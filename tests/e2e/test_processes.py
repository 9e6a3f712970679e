"""Two `python -m bot` processes, gateway shards 0 and 1 of 2, on one database, against the fake
Discord (one guild per shard: `GUILD_ID` on shard 0, `GUILD_2` on shard 1) and one local Pika.

Each process hears only its shard's guild, so the jobs a member asks for are admitted, and
held, by the process of the member's guild; any process delivers any job it holds (delivery is
REST). On PostgreSQL (the documented way to run several processes) and on one SQLite file
(allowed): requests in both guilds are delivered once each; the jobs of the process killed
while they run at Pika are taken over and delivered by the other within the lease and a poll;
after its restart nothing is posted twice and nothing paid twice, and the dead one's ledger is
removed; twenty simultaneous asks, ten in each guild, with a running cap of two start two in
each. On PostgreSQL: a result the dead process posted before its row said so (a follow-up, or a
post in the channel) is found by the process that takes the job over, not posted again.

Each process runs in a folder of its own, as each container has its own volume: with
PostgreSQL its ledger is in its own ./data.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    delivered,
    failures,
    generate,
    results,
    start_sharded,
    until,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import GENERAL, REQUESTER, REQUESTER_2, STUDIO
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.local_pika import behave, calls_to

LEASE = 3.0  # JOB_LEASE_SECONDS of the end-to-end bots (harness.py)
POLL = 0.2  # their POLL_INTERVAL_SECONDS
READY = "your video is ready"


async def start_shard(
    fake: FakeDiscord, pika: LocalPika, folder: Path, shard: int, database: DatabaseUnderTest
) -> BotProcess:
    """The process of shard `shard` of 2, in its own folder, on the shared database."""
    folder.mkdir(exist_ok=True)
    return await start_sharded(
        fake,
        pika,
        folder,
        DATABASE_URL=database.url,
        DISCORD_SHARD_COUNT="2",
        DISCORD_SHARD_IDS=str(shard),
    )


def owner_of(bot: BotProcess) -> str:
    """The process's id in `claimed_by`, from its start-up line."""
    found = re.search(r"claims as ([0-9a-f]+)", bot.log)
    assert found is not None, bot.log
    return found[1]


def delivered_by(bot: BotProcess) -> list[str]:
    """The jobs whose result this process posted, from its journal lines."""
    return re.findall(r"Job (\w+) \([^)]*\): delivered as message", bot.log)


def result_writes(fake: FakeDiscord) -> int:
    """Requests that put a result in a channel: a follow-up or a post (through the
    interaction's token or the bot's), or the working message edited into it."""
    count = 0
    for request in fake.requests:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method in ("PATCH", "POST") and READY in str(body.get("content") or ""):
            count += request.status < 300
    return count


async def ask(fake: FakeDiscord, channel: int, user: int, prompts: list[str]) -> None:
    """Members ask for videos one after the other, each request answered."""
    for prompt in prompts:
        await fake.wait_for_response(generate(fake, prompt, channel, user))


async def held_running(database: DatabaseUnderTest, owner: str, jobs: int) -> bool:
    """Whether the process `owner` holds `jobs` jobs running at Pika."""
    sql = "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND claimed_by = ?"
    return int(await database.value(sql, owner)) == jobs


async def test_two_shard_processes_share_the_jobs_take_over_a_killed_one_and_cap_exactly(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    await behave(pika, job_seconds=2)
    first, second = await asyncio.gather(
        start_shard(fake, pika, tmp_path / "shard-0", 0, database),
        start_shard(fake, pika, tmp_path / "shard-1", 1, database),
    )
    again: BotProcess | None = None
    try:
        # Requests in both guilds: each delivered once, by the process of its guild.
        await ask(fake, GENERAL, REQUESTER, ["fox in the first guild"])
        await ask(fake, STUDIO, REQUESTER_2, ["owl in the second guild"])
        await fake.wait_for(lambda: results(fake, GENERAL), what="the first guild's result")
        await fake.wait_for(lambda: results(fake, STUDIO), what="the second guild's result")
        await fake.wait_for(lambda: delivered_by(first) and delivered_by(second), what="journal")
        assert (len(delivered_by(first)), len(delivered_by(second))) == (1, 1)
        await until(lambda: all_done(database), what="both jobs done (reactions on)")

        # The second guild's process is killed while its two jobs run at Pika.
        await ask(fake, STUDIO, REQUESTER_2, ["owl two", "owl three"])
        dead = owner_of(second)
        await until(lambda: held_running(database, dead, 2), what="its two jobs running")
        await second.kill()
        killed_at = time.monotonic()
        # Taken over once its lease ends (at the first's next claim, every third of a lease),
        # polled at once, delivered: the last term is delivery on a loaded machine.
        bound = LEASE + LEASE / 3 + POLL + 10.0
        await fake.wait_for(
            lambda: len(results(fake, STUDIO)) == 3, timeout=bound, what="the killed one's jobs"
        )
        print(f"delivered {time.monotonic() - killed_at:.1f} s after the kill (lease {LEASE} s)")
        await fake.wait_for(lambda: len(delivered_by(first)) == 3, what="the first's journal")
        # Both taken over from the dead process (in one claim, or two when their leases, taken
        # at their inserts, ended on either side of a claim).
        taken = re.findall(r"took (\d+) job\(s\) that no live process held", first.log)
        assert sum(int(n) for n in taken) == 2

        # Restarted: it serves its guild again, and nothing is posted or paid twice.
        again = await start_shard(fake, pika, tmp_path / "shard-1", 1, database)
        await ask(fake, STUDIO, REQUESTER_2, ["owl four"])
        await fake.wait_for(lambda: len(results(fake, STUDIO)) == 4, what="the fourth owl")
        await again.wait_for_log(r"delivered as message")
        titles = sorted(
            m.embeds[0]["title"] for m in results(fake, GENERAL) + results(fake, STUDIO)
        )
        asked = ["fox in the first guild", "owl in the second guild", "owl two", "owl three"]
        assert titles == sorted([*asked, "owl four"])
        assert result_writes(fake) == 5  # each result written once: none twice
        assert len(await calls_to(pika, "/web/generate")) == 5  # each paid once
        everyone = delivered_by(first) + delivered_by(second) + delivered_by(again)
        assert sorted(Counter(everyone).values()) == [1] * 5
        # The dead process's ledger (in its own folder with PostgreSQL), needed no more, is
        # removed once a process that can see it starts.
        assert not ledgers_of(tmp_path, dead)

        # Twenty asks at once, ten in each guild (each to its own process), with a running
        # cap of two for each member: exactly two start in each guild.
        await until(lambda: all_done(database), what="every earlier job done")
        rows = int(await database.value("SELECT COUNT(*) FROM jobs"))
        burst = [
            generate(fake, f"{animal} {n}", channel, user)
            for n in range(10)
            for animal, channel, user in (("fox", GENERAL, REQUESTER), ("owl", STUDIO, REQUESTER_2))
        ]
        for interaction in burst:
            await fake.wait_for_response(interaction)
        assert int(await database.value("SELECT COUNT(*) FROM jobs")) == rows + 4  # admitted
        await fake.wait_for(
            lambda: len(results(fake, GENERAL)) == 3 and len(results(fake, STUDIO)) == 6,
            timeout=30,
            what="the four admitted jobs' results",
        )
        assert len(await calls_to(pika, "/web/generate")) == 9  # the burst paid four: two each
    finally:
        for bot in (again, first):
            if bot is not None:
                await bot.stop()


def ledgers_of(folder: Path, owner: str) -> list[Path]:
    """The ledgers of Pika's ids of the process `owner` under `folder`."""
    return list(folder.rglob(f"*-accepted-{owner}.jsonl"))


async def all_done(database: DatabaseUnderTest) -> bool:
    """Whether no job in the database has anything left to do."""
    return int(await database.value("SELECT COUNT(*) FROM jobs WHERE active = 1")) == 0


async def test_a_delivery_taken_over_finds_the_result_the_dead_process_posted(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, postgres_url: str
) -> None:
    """The crash: the second guild's process posted two results, a follow-up of the command
    and (for a job a reaction started, with no interaction) a post with the bot's token, then
    died before its database rows said so. The other process takes both jobs over once the dead
    one's lease ends, finds each result in the channel, and posts neither again."""
    database = DatabaseUnderTest("postgresql", postgres_url)
    first, second = await asyncio.gather(
        start_shard(fake, pika, tmp_path / "shard-0", 0, database),
        start_shard(fake, pika, tmp_path / "shard-1", 1, database),
    )
    try:
        await ask(fake, STUDIO, REQUESTER_2, ["owl once"])
        await fake.wait_for(lambda: results(fake, STUDIO), what="the follow-up result")
        source = results(fake, STUDIO)[0]
        await fake.wait_for(lambda: len(source.reactions) == 3, what="the bot's reactions")
        fake.react(REQUESTER_2, source, "⏩")  # an extend, with no interaction token
        await fake.wait_for(lambda: len(results(fake, STUDIO)) == 2, what="the posted result")
        await until(lambda: all_done(database), what="both jobs done")
        uploads = uploads_to(fake)
        assert uploads == {"follow-up": 1, "post": 1}  # one result by each path
        dead = owner_of(second)
        await second.kill()
        crash = (
            "UPDATE jobs SET status = 'delivering', active = 1, result_message_id = NULL, "
            "next_poll_at = 0, claimed_by = ?, claimed_until = ?"
        )
        await database.execute(crash, dead, time.time() + LEASE)  # its lease, not yet ended
        await first.wait_for_log(r"took 2 job\(s\) that no live process held", timeout=LEASE + 20)
        await until(lambda: all_done(database), what="both jobs recorded as delivered")
        assert first.log.count("its result was already posted") == 2
        assert len(results(fake, STUDIO)) == 2 and uploads_to(fake) == uploads  # none again
        ids = sorted(int(v) for (v,) in await database.fetch("SELECT result_message_id FROM jobs"))
        assert ids == sorted(m.id for m in results(fake, STUDIO))  # the posts found, recorded
    finally:
        await first.stop()


def uploads_to(fake: FakeDiscord) -> dict[str, int]:
    """How many requests uploaded a video into the second guild's channel, by path: a
    follow-up of an interaction (the interaction's token), or a post (the bot's token)."""
    follow_ups = fake.requests_to("POST", r"^/webhooks/\d+/[^/]+$")
    posts = fake.requests_to("POST", rf"/channels/{STUDIO}/messages$")
    return {
        "follow-up": sum(1 for r in follow_ups if r.files),
        "post": sum(1 for r in posts if r.files),
    }


async def test_an_answer_made_after_another_process_cancelled_its_job_is_withdrawn(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    """The process answering a reaction is held up past its lease (stopped, as a stalled
    event loop would be) just before its working message goes out; the other process takes
    the job over, cancels it, nothing paid, and tells the member. When the first one wakes,
    its working message goes out after all: it is removed, since no job records it. Before,
    it said "waiting in line" for ever under the failure."""
    first = await start_shard(fake, pika, tmp_path / "shard-0", 0, database)
    second: BotProcess | None = None
    try:
        result = await delivered(fake, "fox of a stall")
        fake.rate_limit("POST", rf"/channels/{GENERAL}/messages$", retry_after=1.0)
        fake.react(REQUESTER, result, "⬆️")
        await fake.wait_for(
            lambda: any(r.method == "POST" and r.status == 429 for r in fake.requests),
            what="the working message held",
        )
        assert first.process is not None
        os.kill(first.process.pid, signal.SIGSTOP)
        try:
            second = await start_shard(fake, pika, tmp_path / "shard-1", 1, database)
            failure = (await fake.wait_for(lambda: failures(fake), timeout=30, what="a failure"))[0]
            assert "The bot stopped before sending this to Pika" in failure.content
        finally:
            os.kill(first.process.pid, signal.SIGCONT)
        late = await fake.wait_for(
            lambda: [m for m in fake.messages.values() if m.content.startswith("🎬 **Upscale")],
            what="the late working message",
        )
        await fake.wait_for(lambda: late[0].deleted, what="the late working message removed")
        assert [m.id for m in fake.channel_messages(GENERAL)] == [result.id, failure.id]
        assert await calls_to(pika, "/web/upscale") == []  # nothing paid
    finally:
        await first.stop()
        if second is not None:
            await second.stop()
