"""Discord misbehaving while results and failures go out: answers lost after Discord acted,
server errors after it posted, refusals that never end. Each job still leaves one message."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    button,
    delivered,
    failures,
    generate,
    results,
    short_waits,
    start_bot,
    until,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import GENERAL, REQUESTER, THREAD
from tests.helpers.local_pika import behave, calls_to, pika_calls


async def test_a_failure_whose_follow_up_reply_was_lost_is_told_once(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Discord posts the failure, then the connection drops before its reply: the next attempt
    must not post (and ping) it again."""
    await behave(pika, fail_jobs=1)
    interaction = generate(fake, "doomed fox")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    fake.lose_followup_replies = 1
    await fake.wait_for(lambda: failures(fake), what="the failure")
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    await asyncio.sleep(1.5)  # several of the tracker's retry intervals at 0.2 s polls
    assert len(failures(fake)) == 1, [m.content for m in failures(fake)]
    assert fake.channel_messages(GENERAL) == failures(fake)


async def test_a_result_discord_posted_before_answering_500_is_posted_once(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """A 500 does not say that Discord did nothing: the follow-up that carried the result may
    be in the channel. Sent again at once, it would be a second copy pinging the member."""
    interaction = generate(fake, "a fox once")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    fake.fail_followups_after_post = 1
    await fake.wait_for(lambda: results(fake), what="the result")
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    await bot.wait_for_log(r"delivered as message")
    await asyncio.sleep(1.0)
    assert len(results(fake)) == 1
    assert fake.channel_messages(GENERAL) == results(fake)


@short_waits(FIRST_ANSWER_SECONDS=5)
async def test_an_answer_discord_rate_limits_for_an_hour_frees_the_member_at_once(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """discord.py obeys a 429's Retry-After, however long. An answer waited for an hour would
    hold the job as running (the member's cap) and one of the bot's answering turns, though
    Discord refuses any answer after 3 s: the job is cancelled unpaid instead, at once."""
    fake.rate_limit("POST", r"/interactions/.*/callback$", retry_after=3600)
    stuck = generate(fake, "never answered")
    await bot.wait_for_log("could not be answered", timeout=30)
    assert stuck.callbacks == []
    assert await pika_calls(pika) == []  # nothing paid
    # The cap is two jobs at once: both new ones start.
    asked = [generate(fake, f"fox {n}") for n in range(2)]
    for interaction in asked:
        callback = await fake.wait_for_response(interaction)
        assert callback["type"] == 4 and not (callback["data"].get("flags") or 0) & 64, callback
    await fake.wait_for(lambda: len(results(fake)) == 2, what="two results")


async def test_a_token_dead_before_its_time_still_leaves_one_message_for_the_job(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Discord stops taking the interaction's token before the bot expects (its 15 minutes
    counted from an earlier time, a token revoked): the result goes out with the bot's token,
    and the working message must go too, not stay "working" beside it for ever."""
    await behave(pika, job_seconds=1.5)
    interaction = generate(fake, "a fox with a dead token")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    fake.expire(interaction)
    await fake.wait_for(lambda: results(fake), what="the result")
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    assert fake.channel_messages(GENERAL) == results(fake)


@short_waits(CHORE_SECONDS=5)
async def test_a_reaction_rate_limited_for_an_hour_holds_no_other_job_of_the_channel(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """The bot's own reactions are cosmetic chores, one at a time per channel. One that
    Discord rate-limits for an hour (discord.py waits as told) must not keep the next job's
    working message "working" beside its result for that hour."""
    fake.rate_limit("PUT", r"/reactions/", retry_after=3600)
    first = generate(fake, "first fox")
    await fake.wait_for_response(first)
    await fake.wait_for(lambda: results(fake), what="the first result")
    await fake.wait_for_request("PUT", r"/reactions/")  # refused, waited on
    second = generate(fake, "second fox")
    await fake.wait_for_response(second)
    working = fake.replies(second)[0]
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the second result")
    await fake.wait_for(lambda: working.deleted, timeout=30, what="its working message removed")
    assert fake.channel_messages(GENERAL) == results(fake)


async def test_a_members_own_default_is_shown_in_info_as_text_not_markup(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """The requester's own negative prompt default, shown to them in Info, is member text, and
    must not render as a masked link or markup there (others' Info does not show it)."""
    bait = "[free nitro](https://evil.example) **now** ||@everyone||"
    saved = fake.slash(REQUESTER, GENERAL, "pika", "settings", {"negative_prompt": bait})
    assert (await fake.wait_for_response(saved))["data"]["content"].startswith("✅ Saved.")
    interaction = generate(fake, "a fox with defaults")
    await fake.wait_for_response(interaction)
    result = (await fake.wait_for(lambda: results(fake), what="the result"))[0]
    info = await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "info")))
    fields = {f["name"]: f["value"] for f in info["data"]["embeds"][0]["fields"]}
    mine = fields["Your defaults used"]
    assert "free nitro" in mine
    bare = re.sub(r"\\.", "", mine)  # what markdown would read, escaped characters taken out
    assert "[" not in bare and "*" not in bare and "||" not in bare, mine


@short_waits(FIRST_ANSWER_SECONDS=5)
async def test_a_reaction_whose_working_message_is_rate_limited_for_an_hour_goes_on(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """A reaction's job is announced by a post with the bot's token, which discord.py would hold
    for a 429's hour: the job counted as running all along. The post is given up in time and
    sent again with its nonce (Discord keeps one copy), and the job goes on."""
    source = await delivered(fake, "a fox to extend")
    fake.rate_limit("POST", rf"^/channels/{GENERAL}/messages$", retry_after=3600)
    fake.react(REQUESTER, source, "⏩")
    await fake.wait_for(lambda: len(results(fake)) == 2, timeout=40, what="the extended result")
    assert len(await calls_to(pika, "/web/extend")) == 1


async def test_a_failure_told_just_before_a_crash_is_not_told_again_after_the_restart(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """The crash: Discord has the failure message, the database never wrote that it was told.
    After the restart the bot finds the message instead of pinging the member again."""
    await behave(pika, fail_jobs=1)
    bot = await start_bot(fake, pika, tmp_path)
    try:
        await fake.wait_for_response(generate(fake, "doomed fox"))
        await fake.wait_for(lambda: failures(fake), what="the failure")
        await bot.wait_for_log("failed")
    finally:
        await bot.stop()
    await restart_with_the_job_unsettled(fake, pika, tmp_path)
    assert len(failures(fake)) == 1
    assert fake.channel_messages(GENERAL) == failures(fake)


async def restart_with_the_job_unsettled(fake: FakeDiscord, pika: LocalPika, workdir: Path) -> None:
    """The crash's aftermath: the database forgets that the job's last step was done, and a
    new bot works on it until it is settled again."""
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        db.execute("UPDATE jobs SET active = 1, next_poll_at = 0")
    bot = await start_bot(fake, pika, workdir)
    try:
        await until(lambda: settled(workdir), what="the job settled again")
    finally:
        await bot.stop()


async def settled(workdir: Path) -> bool:
    """Whether no job of the bot's database is left to work on."""
    with sqlite3.connect(workdir / "bot.sqlite3") as db:
        return bool(db.execute("SELECT COUNT(*) FROM jobs WHERE active = 1").fetchone()[0] == 0)


async def test_a_thread_locked_meanwhile_gives_an_undeliverable_job_and_a_dm(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """A moderator archives and locks the thread while the video is made: Discord refuses
    every post there (400), now and later. The member gets the video's news by DM, once,
    instead of minutes of retries and then nothing."""
    await behave(pika, job_seconds=1.0)
    interaction = generate(fake, "a fox in a thread", channel=THREAD)
    await fake.wait_for_response(interaction)
    fake.expire(interaction)  # no token: the bot's own posts
    fake.channels[THREAD].locked = True
    dm = await fake.wait_for(lambda: fake.dm_messages(REQUESTER), what="a DM")
    assert "could not post it where you asked: Discord refused the post" in dm[0].content
    await asyncio.sleep(1.0)
    assert len(fake.dm_messages(REQUESTER)) == 1
    assert results(fake, THREAD) == []


@short_waits(PROGRESS_EDIT_SECONDS=1)
async def test_a_working_message_the_bot_may_no_longer_edit_is_not_edited_again_and_again(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Past its token's time, progress is edited with the bot's token; in a channel that took
    the bot's permission away each edit is a 403, and Discord bans a bot for a flood of those
    (10,000 in 10 minutes, from every job of every such channel). One refusal is enough."""
    await behave(pika, job_seconds=3)  # time for three progress edits, one a second
    interaction = generate(fake, "a slow fox")
    await fake.wait_for_response(interaction)
    fake.expire(interaction)
    fake.channels[GENERAL].forbidden = True
    await fake.wait_for(lambda: fake.dm_messages(REQUESTER), timeout=30, what="a DM")
    edits = fake.requests_to("PATCH", rf"^/channels/{GENERAL}/messages/\d+$")
    assert [r.status for r in edits if r.status == 403] == [403], [r.status for r in edits]


async def test_a_dm_sent_just_before_a_crash_is_not_sent_again_after_the_restart(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """The crash: the member has the DM saying the result could not be posted, the database
    never wrote that they were told. A DM has no history the bot may read: its nonce makes
    Discord keep one copy when it is sent again."""
    await behave(pika, job_seconds=1.0)
    bot = await start_bot(fake, pika, tmp_path)
    try:
        await fake.wait_for_response(generate(fake, "a fox with nowhere to go"))
        fake.delete_channel(GENERAL)
        await fake.wait_for(lambda: fake.dm_messages(REQUESTER), what="a DM")
        await until(lambda: settled(tmp_path), what="the job settled")
    finally:
        await bot.stop()
    await restart_with_the_job_unsettled(fake, pika, tmp_path)
    assert len(fake.dm_messages(REQUESTER)) == 1
