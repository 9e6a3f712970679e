"""Two `python -m bot` processes on one SQLite file (WAL), against the fake Discord and the local
Pika: each request is delivered once; the jobs of a process killed while they run are delivered
by the other within the lease and a poll; a restart posts nothing twice and pays nothing twice.

The fake Discord sends gateway events to the session that identified last, as it always did: the
second process started receives the members' requests; the first one still works on every job
it holds or takes over (delivery is REST, with the interaction's token or the bot's).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from pathlib import Path

from bot.pika.local.app import LocalPika
from tests.e2e.harness import BotProcess, allow_running, generate, results, start_bot
from tests.fake_discord import FakeDiscord
from tests.helpers.local_pika import behave, calls_to

LEASE = 3.0  # JOB_LEASE_SECONDS of the end-to-end bots (harness.py)
POLL = 0.2  # their POLL_INTERVAL_SECONDS
READY = "your video is ready"
FIRST = ["first fox 1", "first fox 2"]
SECOND = ["second fox 1", "second fox 2", "second fox 3"]


def owner_of(bot: BotProcess) -> str:
    """The process's id in `claimed_by`, from its start-up line."""
    found = re.search(r"claims as ([0-9a-f]+)", bot.log)
    assert found is not None, bot.log
    return found[1]


def holders(workdir: Path) -> Counter[str | None]:
    """How many running jobs each process holds."""
    with sqlite3.connect(f"file:{workdir / 'bot.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT claimed_by FROM jobs WHERE status = 'running'").fetchall()
    return Counter(row[0] for row in rows)


def delivered_by(bot: BotProcess) -> list[str]:
    """The jobs whose result this process posted, from its journal lines."""
    return re.findall(r"Job (\w+) \([^)]*\): delivered as message", bot.log)


def result_writes(fake: FakeDiscord) -> int:
    """Requests that put a result in the channel: the working message edited into it (through
    the interaction's token or the bot's), or a new post."""
    count = 0
    for request in fake.requests:
        body = request.body if isinstance(request.body, dict) else {}
        if request.method in ("PATCH", "POST") and READY in str(body.get("content") or ""):
            count += request.status < 300
    return count


async def ask(fake: FakeDiscord, prompts: list[str]) -> None:
    for prompt in prompts:
        await fake.wait_for_response(generate(fake, prompt))


async def test_two_processes_deliver_each_job_once_and_take_over_a_killed_ones_jobs(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    await behave(pika, job_seconds=2)
    first = await start_bot(fake, pika, tmp_path)
    await allow_running(fake, 10)
    await ask(fake, FIRST)  # admitted, so held, by the first process
    second = await start_bot(fake, pika, tmp_path)  # now the gateway's events go to this one
    await fake.wait_for(lambda: len(results(fake)) == 2, timeout=30, what="the first two results")
    await ask(fake, SECOND)
    await fake.wait_for(
        lambda: holders(tmp_path)[owner_of(second)] == 3, what="the second process's running jobs"
    )
    await second.kill()  # while its three jobs run at Pika
    killed_at = time.monotonic()
    # Taken over once the lease ends (and a renewal interval), polled at once, delivered.
    bound = LEASE + LEASE / 3 + 6 * POLL + 10.0  # the last term: delivery on a loaded machine
    await fake.wait_for(lambda: len(results(fake)) == 5, timeout=bound, what="all five results")
    took = time.monotonic() - killed_at
    print(f"the killed process's jobs were delivered {took:.1f} s after the kill")
    await fake.wait_for(lambda: len(delivered_by(first)) == 5, what="the first's journal lines")
    assert delivered_by(second) == []
    assert re.search(r"took 3 job\(s\) that no live process held", first.log)

    again = await start_bot(fake, pika, tmp_path)  # the killed process, restarted
    try:
        await ask(fake, ["third fox"])
        await fake.wait_for(lambda: len(results(fake)) == 6, timeout=30, what="the sixth result")
        await again.wait_for_log(r"delivered as message")
        asked = [*FIRST, *SECOND, "third fox"]
        assert sorted(m.embeds[0]["title"] for m in results(fake)) == sorted(asked)
        assert result_writes(fake) == 6  # each result written once: none twice
        assert len(await calls_to(pika, "/web/generate")) == 6  # each paid once
        everyone = delivered_by(first) + delivered_by(second) + delivered_by(again)
        assert sorted(Counter(everyone).values()) == [1] * 6
        assert not list(tmp_path.glob(f"bot-accepted-{owner_of(second)}.jsonl"))
    finally:
        await again.stop()
        await first.stop()
