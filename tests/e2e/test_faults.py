"""The paid call's fault policy, end to end: each branch loses nothing and pays nothing twice.

Pika did not start the job (500, 429): retried, paid once. The outcome is unknown (the answer
lost): with push, the job is adopted when Pika pushes it; without, the member is told and gets a
Retry button. Pika no longer knows a job it took: the member is told so, with Retry, long before
the time-out. The database refuses Pika's answer: retried until it takes it, and a crash
meanwhile is resumed from the ledger. The interaction cannot be answered: cancelled before any
paid call, and not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from pathlib import Path

from bot.jobs.polls import NOT_FOUND_POLLS
from bot.pika.local.app import LocalPika
from bot.storage.sqlite import open_sqlite
from tests.e2e.harness import (
    DEFERRED,
    LOADING,
    BotProcess,
    allow_running,
    bot_env,
    delivered,
    failures,
    generate,
    on_both_databases,
    results,
    retry_button,
    short_waits,
    start_bot,
    until,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import Interaction
from tests.fake_discord.world import GENERAL, REQUESTER, Message
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.local_pika import behave, calls_to, pika_calls
from tests.helpers.ports import reserved_port
from tests.media import png


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
    failure = (
        await fake.wait_for(
            lambda: failures(fake),
            what="the failure",
        )
    )[0]
    assert "cannot tell whether it started this video" in failure.content
    assert "nothing is charged twice" in failure.content
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    assert paid(await calls_to(pika, "/web/generate")) == 1  # not sent again by the bot
    press = fake.press(REQUESTER, failure, retry_button(failure))
    assert (await fake.wait_for_response(press))["type"] == 4
    await fake.wait_for(lambda: results(fake), what="the retried result")
    again = results(fake)[0]
    await fake.wait_for(lambda: fake.replies(press)[0].deleted, what="the retry's working message")
    assert again.embeds[0]["title"] == "lost fox"
    assert paid(await calls_to(pika, "/web/generate")) == 2  # the member chose to ask again


@short_waits(NOT_FOUND_SECONDS=2)
async def test_a_job_pika_no_longer_knows_is_told_with_retry_long_before_its_time_out(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # Pika took the job, then answers 404 to every poll of it. Before, the bot polled it for
    # JOB_TIMEOUT_MINUTES (30 here) and only then told the member it took too long.
    await behave(pika, forget_jobs=1)
    interaction = generate(fake, "forgotten fox")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    failure = (await fake.wait_for(lambda: failures(fake), what="the failure"))[0]
    assert "Pika no longer knows this job" in failure.content
    assert "Job not found" not in failure.content  # Pika's words stay in the log
    assert "took longer" not in failure.content
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    polls = [c for c in await pika_calls(pika) if c["path"].startswith("/web/jobs/")]
    assert len(polls) >= NOT_FOUND_POLLS and {c["status"] for c in polls} == {404}
    assert paid(await calls_to(pika, "/web/generate")) == 1  # nothing sent again by the bot
    await asyncio.sleep(1.0)  # polling stopped: no poll of the ended job
    assert len([c for c in await pika_calls(pika) if c["path"].startswith("/web/jobs/")]) == len(
        polls
    )
    press = fake.press(REQUESTER, failure, retry_button(failure))
    assert (await fake.wait_for_response(press))["type"] == 4
    await fake.wait_for(lambda: results(fake), what="the retried result")
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
        await fake.wait_for(lambda: fake.replies(interaction)[0].deleted, what="tidy up")
        await bot.wait_for_log("adopted Pika job")
        creates = await calls_to(pika, "/web/generate")
        assert [c["status"] for c in creates] == ["lost"]  # paid once, never sent again
    finally:
        await bot.stop()


async def paid_call_under_way(fake: FakeDiscord, pika: LocalPika, db: DatabaseUnderTest) -> None:
    """Ask for a video, and return while Pika takes a moment over the paid call."""
    await behave(pika, latency=1.5)
    await fake.wait_for_response(generate(fake, "patient fox"))

    async def sending() -> bool:
        return bool(await db.value("SELECT status FROM jobs") == "sending")

    await until(sending, what="the paid call")


def written_ledger(workdir: Path, db: DatabaseUnderTest) -> Path | None:
    """The ledger of Pika's ids of the bot process started in `workdir`, once a line is in it:
    `<name>-accepted-<process id>.jsonl`, beside its SQLite file and named after it, or in
    ./data with PostgreSQL."""
    folder, name = (workdir, "bot") if db.dialect == "sqlite" else (workdir / "data", "pika-bot")
    found = [p for p in folder.glob(f"{name}-accepted-*.jsonl") if p.read_text()]
    return found[0] if found else None


async def test_pikas_answer_is_written_once_the_database_takes_it_again(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess, tmp_path: Path
) -> None:
    db = DatabaseUnderTest.sqlite_in(tmp_path)  # SQLite refuses a write past its busy timeout
    await paid_call_under_way(fake, pika, db)
    async with db.writes_held():  # another writer holds the database
        await fake.wait_for(lambda: written_ledger(tmp_path, db), what="the ledger")
        await behave(pika, latency=0)
        await bot.wait_for_log("the database refused it", timeout=20)
    await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
    assert paid(await calls_to(pika, "/web/generate")) == 1


async def test_a_crash_before_the_database_took_pikas_answer_resumes_from_the_ledger(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    bot = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    await paid_call_under_way(fake, pika, database)
    async with database.writes_held():
        await fake.wait_for(lambda: written_ledger(tmp_path, database), what="the ledger")
        ledger = written_ledger(tmp_path, database)
        await bot.kill()  # the id Pika gave is in the ledger only
    assert await database.value("SELECT status FROM jobs") == "sending"
    await behave(pika, latency=0)
    again = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    try:
        await again.wait_for_log("resumed from the ledger")
        await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
        assert paid(await calls_to(pika, "/web/generate")) == 1  # not sent again
        # The dead process's ledger, needed no more, is removed once nothing was written to it
        # for a lease: at the resume, or at one of the renewals after it (the result may come
        # first; the bot now starts 1.5 s sooner in the harness, and came after it until then).
        assert ledger is not None
        await fake.wait_for(lambda: not ledger.exists(), timeout=45, what="the ledger removed")
    finally:
        await again.stop()


async def test_a_database_locked_as_the_bot_starts_holds_the_jobs_back_only_while_it_is(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    db = DatabaseUnderTest.sqlite_in(tmp_path)
    assert db.path is not None
    await (await open_sqlite(db.path)).close()  # an earlier run made the file
    keys = {"PIKA_API_KEY": pika.api_key, "PIKA_BASE_URL": pika.base_url}
    bot = BotProcess(bot_env(fake, tmp_path, **keys), tmp_path)
    try:
        async with db.writes_held():  # another writer holds it past the bot's busy timeout
            await bot.start()
            await bot.wait_ready()
            await bot.wait_for_log("cannot take the jobs yet")
        await fake.wait_for_response(generate(fake, "fox after the lock"))
        await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
    finally:
        await bot.stop()


async def test_a_paid_call_in_flight_at_sigterm_gets_pikas_answer_before_the_bot_stops(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    db = DatabaseUnderTest.sqlite_in(tmp_path)
    bot = await start_bot(fake, pika, tmp_path, JOB_LEASE_SECONDS="3")
    await paid_call_under_way(fake, pika, db)  # Pika takes 1.5 s to answer
    assert await bot.stop() == 0  # a deploy: SIGTERM while Pika makes the job
    await behave(pika, latency=0)
    again = await start_bot(fake, pika, tmp_path, JOB_LEASE_SECONDS="3")
    try:
        await fake.wait_for(lambda: results(fake) or failures(fake), timeout=30, what="an end")
        assert results(fake) and not failures(fake)  # not "may have started: retry"
        assert paid(await calls_to(pika, "/web/generate")) == 1
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


async def test_a_bot_killed_between_its_public_answer_and_recording_it_replaces_that_answer(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """Discord took the public answer (the working message shows) and the bot died before it
    recorded it. The restarted bot cancels the job, nothing paid, and tells the member in place
    of that answer that the bot stopped: before, its failure came as a second message, blaming
    Discord for an answer the member saw, and the working message said "working on it" for
    ever."""
    bot = await start_bot(fake, pika, tmp_path)
    assert bot.process is not None
    pid = bot.process.pid
    fake.answer_taken = lambda _: os.kill(pid, signal.SIGKILL)  # before the bot reads the reply
    interaction = generate(fake, "fox of a crash")
    await bot.exit_code()
    fake.answer_taken = None
    assert interaction.original_id is not None
    working = fake.messages[interaction.original_id]
    assert not working.ephemeral and "fox of a crash" in working.content
    again = await start_bot(fake, pika, tmp_path)
    try:
        failure = (await fake.wait_for(lambda: failures(fake), timeout=30, what="the failure"))[0]
        # Not "Discord did not get the bot's answer in time": the member saw it.
        assert "The bot stopped before sending this to Pika" in failure.content
        assert "nothing was charged" in failure.content
        await fake.wait_for(lambda: working.deleted, what="the working message removed")
        assert [m.id for m in fake.channel_messages(GENERAL)] == [failure.id]
        assert await pika_calls(pika) == []  # nothing paid
        db = DatabaseUnderTest.sqlite_in(tmp_path)  # the answer found is recorded, as if in time
        assert await db.value("SELECT status_message_id FROM jobs") == working.id
    finally:
        await again.stop()


FOX_PNG = {"image": ("fox.png", png(), "image/png")}  # a member's file: probed, after a hold


@on_both_databases
async def test_a_bot_killed_while_holding_a_member_privately_tells_them_it_restarted(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    """The bot held a member privately ("thinking") and was killed while it probed their file,
    before asking anything of Pika. Before, that "thinking" stayed for good; the restarted bot
    now says there, in the member's language, that it restarted, nothing was made or paid, and
    to ask again (no job was made: there is nothing to retry)."""
    fake.locales[REQUESTER] = "fr"
    bot = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    assert bot.process is not None
    pid = bot.process.pid
    fake.file_served = lambda: os.kill(pid, signal.SIGKILL)  # as the probe fetches the file
    ask = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"}, FOX_PNG)
    await bot.exit_code()
    fake.file_served = None
    assert ask.callbacks[0]["type"] == DEFERRED
    assert ask.original_id is not None
    hold = fake.messages[ask.original_id]
    assert hold.ephemeral and hold.flags & LOADING  # "thinking"
    again = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    try:
        await fake.wait_for(lambda: not hold.flags & LOADING, timeout=30, what="the hold told")
        assert hold.content == (
            "🔄 Le bot a redémarré avant de pouvoir répondre à ceci : rien n'a été fait ni "
            "facturé. Redemande, s'il te plaît."
        )
        assert hold.ephemeral and not hold.components
        assert fake.channel_messages(GENERAL) == []  # nothing public was ever shown
        assert await pika_calls(pika) == []  # nothing paid
        assert await database.value("SELECT COUNT(*) FROM jobs") == 0
        assert await database.value("SELECT COUNT(*) FROM holds") == 0
    finally:
        await again.stop()


async def test_a_held_request_whose_hold_another_process_took_is_neither_answered_nor_paid(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """A process held up past its lease while it probed a member's file (its database away):
    another process took its hold and told the member the bot restarted, to ask again. Back,
    the first must not go on to answer in public and pay: a member who asked again would pay
    twice. (The test plays the other process: it takes the hold's row as the probe starts.)"""
    bot = await start_bot(fake, pika, tmp_path)
    path = tmp_path / "bot.sqlite3"

    def taken() -> None:
        with contextlib.closing(sqlite3.connect(path)) as db, db:
            assert db.execute("DELETE FROM holds").rowcount == 1

    fake.file_served = taken
    try:
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"}, FOX_PNG)
        await bot.wait_for_log(r"its private hold was taken by another process")
        db = DatabaseUnderTest.sqlite_in(tmp_path)
        await fake.wait_for(
            lambda: bool(bot.log.count("could not be answered (hold taken over)")),
            what="the job cancelled",
        )
        assert await pika_calls(pika) == []  # nothing paid
        assert fake.channel_messages(GENERAL) == []  # nothing public shown
        rows = await db.fetch("SELECT status, failure, counted FROM jobs")
        assert [tuple(r) for r in rows] == [("failed", "not_acknowledged", 0)]  # not counted
    finally:
        fake.file_served = None
        await bot.stop()


async def test_a_bot_killed_after_admitting_a_held_request_tells_the_member_in_the_hold(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """The bot held a member privately, probed their file, admitted the job, and was killed
    before its edit of the hold reached Discord. The job is cancelled, nothing paid, and the
    hold itself says so, with Retry: before, the failure went to a follow-up and the hold (all
    the member saw) was never edited as such."""
    bot = await start_bot(fake, pika, tmp_path)
    assert bot.process is not None
    pid = bot.process.pid
    ask: Interaction | None = None

    def editing(interaction: Interaction) -> bool:
        if interaction is not ask:
            return False
        os.kill(pid, signal.SIGKILL)
        return True  # the edit never reached Discord

    fake.edit_arriving = editing
    ask = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"}, FOX_PNG)
    await bot.exit_code()
    fake.edit_arriving = None
    assert ask.original_id is not None
    hold = fake.messages[ask.original_id]
    assert hold.flags & LOADING
    db = DatabaseUnderTest.sqlite_in(tmp_path)
    assert await db.value("SELECT status FROM jobs") == "submitting"  # admitted, unanswered
    again = await start_bot(fake, pika, tmp_path)
    try:
        await fake.wait_for(lambda: not hold.flags & LOADING, timeout=30, what="the hold told")
        assert "The bot stopped before sending this to Pika" in hold.content
        assert "nothing was charged" in hold.content
        assert hold.ephemeral and retry_button(hold).startswith("pika:retry:")
        assert fake.channel_messages(GENERAL) == []  # the channel never saw this request
        assert await pika_calls(pika) == []  # nothing paid
        await until(
            lambda: db.value("SELECT COUNT(*) FROM jobs WHERE status = 'failed' AND active = 0"),
            what="the failure recorded as told",
            timeout=20,
        )
    finally:
        await again.stop()


async def test_a_bot_killed_between_a_private_hold_and_its_public_answer_says_it_stopped(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """Held privately while its file was checked ("your files check out; the video is starting
    (see below)"), the bot died before the public working message: the restarted bot cancels
    the job, nothing paid, and the failure below says the bot stopped. Before, it blamed
    Discord for not getting an answer the member had read."""
    bot = await start_bot(fake, pika, tmp_path)
    fake.rate_limit("POST", r"^/webhooks/\d+/[^/]+$", retry_after=60)  # the public follow-up
    image = {"image": ("fox.png", png(), "image/png")}
    ask = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "held fox"}, image)
    await fake.wait_for(
        lambda: any(r.method == "POST" and r.status == 429 for r in fake.requests),
        what="the public answer held",
    )
    await bot.kill()
    assert ask.original_id is not None
    assert "see below" in fake.messages[ask.original_id].content
    again = await start_bot(fake, pika, tmp_path)
    try:
        failure = (await fake.wait_for(lambda: failures(fake), timeout=30, what="the failure"))[0]
        assert "The bot stopped before sending this to Pika" in failure.content
        assert [m.id for m in fake.channel_messages(GENERAL)] == [failure.id]
        assert await pika_calls(pika) == []  # nothing paid
    finally:
        await again.stop()


async def test_a_bot_killed_between_a_reactions_working_message_and_recording_it_replaces_it(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    """A reaction's job has no interaction: its working message is a post of the bot's, in
    reply to the result reacted to. Posted, and the bot died before it recorded it: the
    restarted bot cancels the job, nothing paid, and tells the member in place of that
    message. Before, the failure came as a second message, blaming Discord, and the working
    message said "waiting in line" for ever (no token to find it with)."""
    bot = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    result = await delivered(fake, "fox of a reaction")
    assert bot.process is not None
    pid = bot.process.pid

    def kill(message: Message) -> None:
        if str(message.nonce).startswith("working-"):  # before the bot reads the reply
            os.kill(pid, signal.SIGKILL)

    fake.post_taken = kill
    fake.react(REQUESTER, result, "⬆️")
    await bot.exit_code()
    fake.post_taken = None
    working = fake.channel_messages(GENERAL)[-1]
    assert "Upscale" in working.content and working.reference is not None
    again = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    try:
        failure = (await fake.wait_for(lambda: failures(fake), timeout=30, what="the failure"))[0]
        assert "The bot stopped before sending this to Pika" in failure.content
        await fake.wait_for(lambda: working.deleted, what="the working message removed")
        assert [m.id for m in fake.channel_messages(GENERAL)] == [result.id, failure.id]
        assert await calls_to(pika, "/web/upscale") == []  # nothing paid
        upscale = "SELECT status_message_id FROM jobs WHERE kind = 'upscale'"
        assert await database.value(upscale) == working.id  # known, as if recorded in time
    finally:
        await again.stop()


async def test_a_bot_killed_before_a_reactions_working_message_blames_no_discord_answer(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """The bot died after admitting a reaction's job, before its working message was posted:
    the failure says the bot stopped, not that Discord missed an answer (a reaction has none)."""
    bot = await start_bot(fake, pika, tmp_path)
    result = await delivered(fake, "fox before its post")
    fake.rate_limit("POST", rf"/channels/{GENERAL}/messages$", retry_after=60)  # held there
    fake.react(REQUESTER, result, "⬆️")
    await fake.wait_for(
        lambda: any(r.method == "POST" and r.status == 429 for r in fake.requests),
        what="the working message held",
    )
    await bot.kill()
    again = await start_bot(fake, pika, tmp_path)
    try:
        failure = (await fake.wait_for(lambda: failures(fake), timeout=30, what="the failure"))[0]
        assert "The bot stopped before sending this to Pika" in failure.content
        assert [m.id for m in fake.channel_messages(GENERAL)] == [result.id, failure.id]
        assert await calls_to(pika, "/web/upscale") == []  # nothing paid
    finally:
        await again.stop()
