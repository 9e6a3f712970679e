"""The paid call's fault policy, end to end: each branch loses nothing and pays nothing twice.

Pika did not start the job (500, 429): retried, paid once. The outcome is unknown (the answer
lost): with push, the job is adopted when Pika pushes it; without, the member is told and gets a
Retry button. The database refuses Pika's answer: retried until it takes it, and a crash
meanwhile is resumed from the ledger. The interaction cannot be answered: cancelled before any
paid call, and not counted.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    allow_running,
    generate,
    results,
    retry_button,
    start_bot,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import GENERAL, REQUESTER
from tests.helpers.local_pika import behave, calls_to, pika_calls
from tests.helpers.ports import reserved_port


def paid(calls: list[dict[str, object]]) -> int:
    """How many create calls Pika took: the ones that made a job (answered or not)."""
    return len([c for c in calls if c["status"] in (200, "lost", 504)])


async def test_with_a_third_of_pikas_answers_500_and_a_tenth_429_every_job_is_paid_once(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await allow_running(fake, 5)
    await behave(pika, error_rate=0.3, rate_limit_rate=0.1, retry_after=0)
    for n in range(5):
        await fake.wait_for_response(generate(fake, f"unlucky fox {n}"))
    await fake.wait_for(lambda: len(results(fake)) == 5, timeout=60, what="five results")
    creates = await calls_to(pika, "/web/generate")
    assert paid(creates) == 5 == len(pika.jobs)  # each paid once, none twice
    assert {c["status"] for c in creates} >= {200}
    assert len(creates) > 5  # some were refused, and tried again
    assert "Traceback" not in bot.log


async def test_a_lost_answer_tells_the_member_and_retry_asks_again(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, lose_answers=1)  # Pika makes the job; its answer never arrives
    interaction = generate(fake, "lost fox")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    await fake.wait_for(lambda: working.content.startswith("❌"), what="the failure")
    assert "cannot tell whether it started this video" in working.content
    assert "nothing is charged twice" in working.content
    assert paid(await calls_to(pika, "/web/generate")) == 1  # not sent again by the bot
    press = fake.press(REQUESTER, working, retry_button(working))
    assert (await fake.wait_for_response(press))["type"] == 4
    await fake.wait_for(lambda: results(fake), what="the retried result")
    again = results(fake)[0]
    assert again.id == fake.replies(press)[0].id  # the press's answer became the result
    assert again.embeds[0]["title"] == "lost fox"
    assert paid(await calls_to(pika, "/web/generate")) == 2  # the member chose to ask again


async def test_a_lost_answer_with_push_is_adopted_when_pika_pushes_the_job(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    listen = f"127.0.0.1:{reserved_port()}"
    bot = await start_bot(
        fake, pika, tmp_path, WEBHOOK_PUBLIC_URL=f"http://{listen}", HTTP_LISTEN=listen
    )
    try:
        await behave(pika, lose_answers=1, job_seconds=1)
        interaction = generate(fake, "pushed fox")
        await fake.wait_for_response(interaction)
        await bot.wait_for_log("listening for a push from Pika")
        await fake.wait_for(lambda: results(fake), what="the result Pika pushed")
        assert results(fake)[0].id == fake.replies(interaction)[0].id
        await bot.wait_for_log("adopted Pika job")
        creates = await calls_to(pika, "/web/generate")
        assert [c["status"] for c in creates] == ["lost"]  # paid once, never sent again
    finally:
        await bot.stop()


def status_of(workdir: Path) -> str | None:
    """The status of the one job in the bot's database, if there is one."""
    with sqlite3.connect(f"file:{workdir / 'bot.sqlite3'}?mode=ro", uri=True) as db:
        row = db.execute("SELECT status FROM jobs").fetchone()
    return str(row[0]) if row else None


async def locked_while_pika_answers(fake: FakeDiscord, pika: LocalPika, workdir: Path) -> None:
    """Ask for a video, and hold the database's write lock from the paid call until Pika's
    answer is in the ledger; the caller releases the lock."""
    await behave(pika, latency=1.5)  # the paid call takes a moment
    await fake.wait_for_response(generate(fake, "patient fox"))
    await fake.wait_for(lambda: status_of(workdir) == "sending", what="the paid call")


def written_ledger(workdir: Path) -> Path | None:
    """The bot process's ledger of Pika's ids, once a line is in it (`<db>-accepted-<id>`)."""
    found = [p for p in workdir.glob("bot-accepted-*.jsonl") if p.read_text()]
    return found[0] if found else None


async def test_pikas_answer_is_written_once_the_database_takes_it_again(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess, tmp_path: Path
) -> None:
    await locked_while_pika_answers(fake, pika, tmp_path)
    with sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None) as db:
        db.execute("BEGIN EXCLUSIVE")  # another writer holds the database
        await fake.wait_for(lambda: written_ledger(tmp_path), what="the ledger")
        await behave(pika, latency=0)
        await bot.wait_for_log("the database refused it", timeout=20)
        db.execute("COMMIT")
    await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
    assert paid(await calls_to(pika, "/web/generate")) == 1


async def test_a_crash_before_the_database_took_pikas_answer_resumes_from_the_ledger(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_bot(fake, pika, tmp_path)
    await locked_while_pika_answers(fake, pika, tmp_path)
    with sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None) as db:
        db.execute("BEGIN EXCLUSIVE")
        await fake.wait_for(lambda: written_ledger(tmp_path), what="the ledger")
        ledger = written_ledger(tmp_path)
        await bot.kill()  # the id Pika gave is in the ledger only
        db.execute("COMMIT")
    assert status_of(tmp_path) == "sending"
    await behave(pika, latency=0)
    again = await start_bot(fake, pika, tmp_path)
    try:
        await again.wait_for_log("resumed from the ledger")
        await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
        assert paid(await calls_to(pika, "/web/generate")) == 1  # not sent again
        assert ledger is not None and not ledger.exists()  # the dead process's, needed no more
    finally:
        await again.stop()


async def test_an_interaction_answered_too_late_is_cancelled_before_any_paid_call(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    fake.interaction_deadline = 0.0  # every answer comes after Discord's deadline
    interaction = generate(fake, "too late")
    await bot.wait_for_log("could not be answered")
    assert interaction.callbacks == []  # Discord refused the answer: the member saw it fail
    await asyncio.sleep(0.5)
    assert await pika_calls(pika) == []  # nothing paid
    fake.interaction_deadline = 3.0
    usage = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "usage"))
    assert "made **0** of your **20**;" in usage["data"]["content"]  # not counted
    await fake.wait_for_response(generate(fake, "in time"))
    await fake.wait_for(lambda: results(fake), what="the result")
