"""Durable jobs end to end: submission, tracking, delivery, faults and restarts; the main path,
a failure, and the crash and restart tests on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import re
import sqlite3
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from aiohttp import web

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    DEFERRED,
    BotProcess,
    bot_env,
    button,
    delivered,
    failures,
    generate,
    on_both_databases,
    prerendered_videos,
    private_answer,
    public_answer,
    results,
    retry_button,
    start_bot,
    until,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.state import Recorded
from tests.fake_discord.world import (
    ADMIN,
    APP_ID,
    GENERAL,
    GUILD_ID,
    MEMBER,
    REQUESTER,
    THREAD,
    User,
)
from tests.helpers.databases import DatabaseUnderTest
from tests.helpers.local_pika import behave, calls_to, pika_calls, wait_for_call
from tests.helpers.ports import reserved_port
from tests.media import inspect

FIRST_OF_A_CROWD = 960_000_000_000_000_000  # members of the burst test, none of the world's


@on_both_databases
async def test_generate_is_delivered_with_the_video_in_place_of_the_working_message(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    asked = {"prompt": "a red fox in the snow", "frame_rate": 12}
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate", asked)
    callback = await fake.wait_for_response(interaction)
    assert callback["type"] == 4
    working = fake.replies(interaction)[0]
    assert not working.ephemeral
    assert "a red fox in the snow" in working.content and f"<@{REQUESTER}>" in working.content
    posted = await fake.wait_for(lambda: results(fake), what="the result")
    result = posted[0]
    # A new message, so that its mention pings the member (an edit never does), sent as a
    # follow-up of the interaction: no channel post, so no channel rate limit spent on it.
    [follow_up] = fake.requests_to("POST", rf"^/webhooks/\d+/{interaction.token}$")
    assert follow_up.body["allowed_mentions"]["users"] == [REQUESTER]
    assert fake.requests_to("POST", rf"^/channels/{GENERAL}/messages$") == []
    assert f"<@{REQUESTER}>" in result.content
    assert len(result.attachments) == 1 and result.attachments[0].filename.endswith(".mp4")
    clip = inspect(result.attachments[0].data)
    assert clip.fps == 12 and clip.seconds == pytest.approx(3.0)
    fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
    assert fields["Model"] == "Pika 1.0" and fields["Aspect ratio"] == "16:9"
    assert fields["Length"] == "3 s"
    buttons = [c["custom_id"] for row in result.components for c in row["components"]]
    assert [b.split(":")[1] for b in buttons] == ["extend", "upscale", "reroll", "info"]
    await fake.wait_for(lambda: len(result.reactions) == 3, what="three reactions")
    assert list(result.reactions) == ["⏩", "⬆️", "🔁"]
    assert all(who == [APP_ID] for who in result.reactions.values())
    # One message is left for the job: the working message made way for the result.
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    assert fake.requests_to("DELETE", rf"^/webhooks/\d+/{interaction.token}/messages/{working.id}$")
    assert fake.channel_messages(GENERAL) == [result]
    creates = await calls_to(pika, "/web/generate")
    assert len(creates) == 1
    # The bot asks Discord only for the events it uses: the reactions on its result, not every
    # message of the channel (its own posts included) to be parsed for nothing.
    fake.post_as(MEMBER, GENERAL, "nice fox")
    session = fake.session
    assert session is not None
    assert len(session.received("MESSAGE_REACTION_ADD")) >= 3
    assert not [e for e in session.sent if e["t"] and e["t"].startswith(("MESSAGE_C", "TYPING"))]
    assert creates[0]["body"]["options"]["frameRate"] == 12
    # All of it ran on uvloop, the bot's loop where it installs (bot/event_loop.py).
    assert re.search(r"Starting on uvloop \d", bot.log)


async def test_progress_is_shown_on_the_working_message_until_the_result_replaces_it(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, job_seconds=5)
    interaction = generate(fake, "slow fox")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    edits = await fake.wait_for(
        lambda: [
            r
            for r in fake.requests_to("PATCH", rf"/messages/{working.id}$")
            if "%" in (r.body or {}).get("content", "")
        ],
        what="a progress edit",
    )
    shown = edits[0].body["content"]
    assert re.search(r"▰+▱* \d+% · ready <t:\d+:R>", shown), shown
    assert "pending" not in shown and "Status" not in shown
    assert edits[0].path.startswith("/webhooks/")  # through the interaction, not the channel
    await fake.wait_for(lambda: results(fake), what="the result")
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    result = results(fake)[0]
    last_edit = fake.requests_to("PATCH", rf"/messages/{working.id}$")[-1]
    assert last_edit.at < fake.requests_to("POST", r"^/webhooks/\d+/[^/]+$")[-1].at
    assert result.id != working.id and fake.channel_messages(GENERAL) == [result]


@on_both_databases
async def test_a_failed_job_ends_with_its_message_saying_why_and_a_retry_button(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, fail_jobs=1)
    interaction = generate(fake, "doomed fox")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    failure = (
        await fake.wait_for(
            lambda: failures(fake),
            what="the failure",
        )
    )[0]
    assert f"<@{REQUESTER}>" in failure.content
    assert "Pika could not make this video" in failure.content
    assert "simulated failure" not in failure.content  # Pika's own words stay in the log
    await bot.wait_for_log("Pika reports it failed: .*simulated failure")
    assert retry_button(failure).startswith("pika:retry:")
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    polls = len([c for c in await pika_calls(pika) if c["path"].startswith("/web/jobs/")])
    await asyncio.sleep(1.0)  # no retry storm: one message, and polling stopped
    assert [m.id for m in fake.channel_messages(GENERAL)] == [failure.id]
    assert len([c for c in await pika_calls(pika) if c["path"].startswith("/web/jobs/")]) == polls


async def test_a_job_pika_describes_oddly_is_delivered_as_any_other(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # A createdAt in milliseconds (no datetime holds it read as seconds) made the paid call's
    # answer unreadable, and the member was told Pika may not have started the video; a seed
    # past 64 bits failed the write that hands a finished job to delivery.
    odd = {"job": {"createdAt": 1764353000000}, "video": {"seed": 2**64}}
    await behave(pika, odd_fields=odd)
    await fake.wait_for_response(generate(fake, "an oddly described fox"))
    posted = await fake.wait_for(lambda: results(fake) or failures(fake), what="the outcome")
    assert posted == results(fake) and len(posted[0].attachments) == 1
    assert len(await calls_to(pika, "/web/generate")) == 1


async def test_a_job_with_no_final_status_times_out_and_says_so(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    await behave(pika, stall_jobs=1)
    bot = await start_bot(fake, pika, tmp_path, JOB_TIMEOUT_MINUTES="0.05")
    try:
        await fake.wait_for_response(generate(fake, "stuck fox"))
        message = await fake.wait_for(
            lambda: failures(fake),
            what="a time-out message",
        )
        assert "Pika took longer than 0.05 minutes" in message[0].content
    finally:
        await bot.stop()


async def test_a_job_whose_key_is_revoked_while_it_runs_says_so_when_it_times_out(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    await behave(pika, stall_jobs=1)
    bot = await start_bot(fake, pika, tmp_path, JOB_TIMEOUT_MINUTES="0.05")
    try:
        await fake.wait_for_response(generate(fake, "a fox nobody may poll"))
        await wait_for_call(pika, "/web/generate")
        pika.faults.api_key = "revoked at Pika"  # every poll from now on is answered 401
        message = await fake.wait_for(lambda: failures(fake), what="the failure")
        assert "Pika refused the bot's key" in message[0].content
        assert "took longer" not in message[0].content
    finally:
        await bot.stop()


async def test_webhook_push_delivers_at_once_and_a_bad_secret_changes_nothing(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    listen = f"127.0.0.1:{reserved_port()}"
    public = f"http://{listen}"
    # Polling this slow would take a minute; only the push can deliver within the wait below.
    bot = await start_bot(
        fake,
        pika,
        tmp_path,
        WEBHOOK_PUBLIC_URL=public,
        HTTP_LISTEN="",  # blank: unset, so the old name below still places the server
        WEBHOOK_LISTEN=listen,
        POLL_INTERVAL_SECONDS="30",
    )
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            bad = await http.post(f"{public}/pika/webhook/not-a-secret", json={"job": {}})
            assert bad.status_code == 404
        await behave(pika, job_seconds=1)
        await fake.wait_for_response(generate(fake, "pushed fox"))
        create = await wait_for_call(pika, "/web/generate")
        assert create["body"]["webhookOverride"].startswith(f"{public}/pika/webhook/")
        await fake.wait_for(lambda: results(fake), timeout=15, what="the pushed result")
        polls = [c for c in await pika_calls(pika) if c["path"].startswith("/web/jobs/")]
        assert len(polls) == 1  # the confirming get-job call, nothing else
        await bot.wait_for_log("pushed by Pika; confirming")
    finally:
        await bot.stop()


async def test_a_video_over_the_upload_limit_is_described_not_linked_to_an_address_of_ours(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    fake.upload_limit = 2000  # this guild refuses uploads over 2 kB
    await fake.wait_for_response(generate(fake, "big fox"))
    result = (await fake.wait_for(lambda: results(fake), what="the result"))[0]
    assert not any(a.filename.endswith(".mp4") for a in result.attachments)
    embed = result.embeds[0]
    # The local Pika's videos live on 127.0.0.1: a link members cannot open is never shown.
    assert "127.0.0.1" not in str(embed) and "127.0.0.1" not in result.content
    assert "too large to upload here" in embed["description"]
    assert "url" not in embed
    # The video is refused, then its first frame (over 2 kB too); the description goes in.
    tries = [
        r
        for r in fake.requests_to("POST", r"^/webhooks/\d+/[^/]+$")
        if "your video is ready" in (r.body or {}).get("content", "")
    ]
    assert [(r.status, bool(r.files)) for r in tries] == [(413, True), (413, True), (200, False)]
    info = await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "info")))
    video = next(f for f in info["data"]["embeds"][0]["fields"] if f["name"] == "Video")
    assert "too large to upload" in video["value"] and "127.0.0.1" not in video["value"]


async def test_a_deleted_channel_gives_an_undeliverable_job_and_a_dm(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, job_seconds=1.5)
    await fake.wait_for_response(generate(fake, "lost fox"))
    fake.delete_channel(GENERAL)
    dm = await fake.wait_for(lambda: fake.dm_messages(REQUESTER), what="a DM")
    assert "could not post it where you asked: that channel no longer exists" in dm[0].content
    assert "127.0.0.1" not in dm[0].content and "simulated" in dm[0].content
    await asyncio.sleep(1.0)
    assert len(fake.dm_messages(REQUESTER)) == 1  # no retry storm
    assert "Traceback" not in bot.log


async def test_a_request_in_a_thread_is_answered_in_the_thread(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await fake.wait_for_response(generate(fake, "thread fox", channel=THREAD))
    await fake.wait_for(lambda: results(fake, THREAD), what="the result in the thread")
    assert results(fake, GENERAL) == []


@prerendered_videos
async def test_sigkill_with_ten_jobs_running_loses_nothing_and_posts_nothing_twice(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    await behave(pika, job_seconds=6)
    bot = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    raised = fake.slash(ADMIN, GENERAL, "pika-admin", "limits", {"running": 10})
    assert (await fake.wait_for_response(raised))["data"]["content"].startswith("✅")
    interactions = [generate(fake, f"fox number {n}") for n in range(10)]
    for interaction in interactions:
        await fake.wait_for_response(interaction)
    await fake.wait_for(lambda: len(pika.jobs) >= 10, what="ten jobs at Pika")
    # Killed once the bot has heard Pika's answer for all ten (a job killed mid-call is settled
    # differently: see the crash tests in tests/unit/test_jobs.py), and before any result is posted.
    await until(lambda: recorded(database, 10), what="ten Pika ids in the database")
    await bot.kill()
    assert results(fake) == []
    again = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    try:
        await fake.wait_for(lambda: len(results(fake)) >= 10, timeout=60, what="ten results")
        await asyncio.sleep(1.0)
        posted = results(fake)
        assert len(posted) == 10
        prompts = sorted(m.embeds[0]["title"] for m in posted)
        assert prompts == sorted(f"fox number {n}" for n in range(10))
        creates = await calls_to(pika, "/web/generate")
        assert len(creates) == 10  # nothing was paid for twice
    finally:
        await again.stop()


async def recorded(database: DatabaseUnderTest, jobs: int) -> bool:
    """Whether that many jobs in the bot's database carry the id Pika gave them."""
    found = await database.value("SELECT COUNT(*) FROM jobs WHERE pika_job_id IS NOT NULL")
    return int(found) >= jobs


async def crash_before_the_result_is_recorded(
    database: DatabaseUnderTest, kind: str = "generate"
) -> None:
    """The crash: Discord has the result of the latest job of `kind` (a fixed word), but the
    database never recorded it."""
    latest = f"SELECT id FROM jobs WHERE kind = '{kind}' ORDER BY created_at DESC LIMIT 1"  # noqa: S608
    crash = "UPDATE jobs SET status = 'delivering', active = 1, result_message_id = NULL"
    await database.execute(f"{crash}, next_poll_at = 0 WHERE id = ({latest})")


async def test_a_result_sent_before_a_crash_is_found_in_the_channel_not_sent_again(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path, database: DatabaseUnderTest
) -> None:
    bot = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    interaction = generate(fake, "only once")
    await fake.wait_for_response(interaction)
    await fake.wait_for(lambda: results(fake), what="the result")
    await bot.stop()
    await crash_before_the_result_is_recorded(database)
    bot = await start_bot(fake, pika, tmp_path, DATABASE_URL=database.url)
    try:
        await bot.wait_for_log(r"delivered as message")
        await bot.wait_for_log("its result was already posted")  # found in the channel
        assert len(results(fake)) == 1
        sent = [r for r in fake.requests_to("POST", r"^/webhooks/\d+/[^/]+$") if r.files]
        assert len(sent) == 1  # one upload, as a follow-up of the command
        assert fake.requests_to("POST", rf"/channels/{GENERAL}/messages$") == []
    finally:
        await bot.stop()


async def test_a_post_that_reached_discord_before_a_crash_is_matched_by_its_nonce(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """A job started by a reaction has no interaction: its result is posted with the bot's
    token and the job's nonce. Without Read Message History, the nonce is what Discord uses to
    keep one copy when the post is sent again after a crash. (A follow-up carries no nonce:
    sent just before a crash, without Read Message History, it could be sent twice. The invite
    link asks for Read Message History.)"""
    await behave(pika, job_seconds=1.5)
    bot = await start_bot(fake, pika, tmp_path)
    try:
        source = await delivered(fake, "only once")
        fake.react(REQUESTER, source, "⏩")
        await fake.wait_for(lambda: len(results(fake)) == 2, what="the extended result")
    finally:
        await bot.stop()
    await crash_before_the_result_is_recorded(DatabaseUnderTest.sqlite_in(tmp_path), "extend")
    fake.channels[GENERAL].history_hidden = True
    bot = await start_bot(fake, pika, tmp_path)
    try:

        def posts() -> list[Recorded]:
            return [
                r for r in fake.requests_to("POST", rf"/channels/{GENERAL}/messages$") if r.files
            ]

        await fake.wait_for(lambda: len(posts()) == 2, what="the post sent again")
        assert len({r.body["nonce"] for r in posts()}) == 1
        assert all(r.body["enforce_nonce"] for r in posts())
        await asyncio.sleep(0.5)
        assert len(results(fake)) == 2  # Discord matched the nonce: still one copy of each
    finally:
        await bot.stop()


async def test_a_result_whose_reactions_a_crash_cut_off_gets_them_after_the_restart(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_bot(fake, pika, tmp_path)
    await fake.wait_for_response(generate(fake, "bare fox"))
    result = (await fake.wait_for(lambda: results(fake), what="the result"))[0]
    await fake.wait_for(lambda: len(result.reactions) == 3, what="the reactions")
    await bot.stop()
    # The crash: the result was posted and recorded, but its reactions never went on.
    result.reactions.clear()
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        db.execute("UPDATE jobs SET active = 1, next_poll_at = 0")
    bot = await start_bot(fake, pika, tmp_path)
    try:
        await fake.wait_for(lambda: len(result.reactions) == 3, what="the reactions again")
        assert sorted(result.reactions) == sorted(["⏩", "⬆️", "🔁"])
        assert len(results(fake)) == 1  # the video itself is not posted again
    finally:
        await bot.stop()


async def test_a_channel_that_forbids_the_bot_gives_an_undeliverable_job_and_a_dm(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, job_seconds=1.0)
    interaction = generate(fake, "shut out")
    await fake.wait_for_response(interaction)
    fake.expire(interaction)  # no interaction token to edit the answer with any more...
    fake.channels[GENERAL].forbidden = True  # ...and the bot lost Send Messages there
    dm = await fake.wait_for(lambda: fake.dm_messages(REQUESTER), what="a DM")
    assert "could not post it where you asked: Discord refused the post" in dm[0].content
    await asyncio.sleep(1.0)
    assert len(fake.dm_messages(REQUESTER)) == 1
    assert results(fake) == []


ECHOED_KEY = "pk_live/9f8e7d6c+5b4a3f2e1d0c=x"


async def test_pika_errors_are_told_in_the_bots_words_and_the_key_never_leaks(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """A Pika that echoes the Authorization header back, in every form, in its error text."""

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    async def refuse(request: web.Request) -> web.Response:
        sent = request.headers.get("Authorization", "")
        key = sent.removeprefix("Bearer ")
        echo = (
            f"invalid credentials {sent} ({b64(sent)}; {b64(key)}; {quote(key, safe='')}; "
            f"starts {key[:12]}) <@&{ADMIN}> [click](https://evil.example)"
        )
        return web.json_response({"message": echo}, status=400)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stub = f"http://127.0.0.1:{runner.addresses[0][1]}"
    bot = BotProcess(bot_env(fake, tmp_path, PIKA_API_KEY=ECHOED_KEY, PIKA_BASE_URL=stub), tmp_path)
    try:
        await bot.start()
        await bot.wait_ready()
        await fake.wait_for_response(generate(fake, "a fox"))
        told = await fake.wait_for(
            lambda: [m for m in fake.channel_messages(GENERAL) if "❌" in m.content],
            what="the failure",
        )
        await bot.wait_for_log("Pika refused or failed")
    finally:
        await bot.stop()
        await runner.cleanup()
    assert "could not be made. Pika refused this request." in told[0].content
    with sqlite3.connect(tmp_path / "bot.sqlite3") as db:
        stored = " ".join(str(row[0]) for row in db.execute("SELECT last_error FROM jobs"))
    seen = {"the channel": told[0].content, "the log": bot.log, "the database": stored}
    forms = [ECHOED_KEY, b64(ECHOED_KEY), quote(ECHOED_KEY, safe=""), ECHOED_KEY[:8]]
    forms.append(b64("Bearer " + ECHOED_KEY)[8:24])  # the key's own part of the header's base64
    for where, text in seen.items():
        for form in forms:
            assert form not in text, (where, form)
    assert "invalid credentials" in bot.log and "[redacted]" in stored  # the owner sees why


async def closed_unanswered(reader: asyncio.StreamReader) -> bool:
    """Wait until the server closes a connection; whether it did so without answering."""
    try:
        return b"HTTP" not in await reader.read()
    except ConnectionResetError:
        return True


async def test_the_webhook_receiver_cannot_be_held_open_and_pushes_are_coalesced(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    host, port = "127.0.0.1", reserved_port()
    public = f"http://{host}:{port}"
    bot = await start_bot(
        fake,
        pika,
        tmp_path,
        WEBHOOK_PUBLIC_URL=public,
        HTTP_LISTEN=f"{host}:{port}",
        POLL_INTERVAL_SECONDS="30",
    )
    silent: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(150):  # connections that never send a byte (more than the cap)
            silent.append(await asyncio.open_connection(host, port))
        trickle = await asyncio.open_connection(host, port)
        trickle[1].write(b"POST /pika/webhook/x HTTP/1.1\r\nHost: a\r\n")  # never finished
        # The bot still answers members at once.
        usage = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "usage"))
        assert usage["type"] == 4
        # Every one of them is closed by the bot within seconds, without a line of log each.
        lines_before = len(bot.lines)
        closed = [closed_unanswered(reader) for reader, _ in [*silent, trickle]]
        assert all(await asyncio.wait_for(asyncio.gather(*closed), 15))
        assert len(bot.lines) - lines_before <= 2
        # A stalled job pushed 100 times is asked about once (then once a poll interval).
        await behave(pika, stall_jobs=1)
        await fake.wait_for_response(generate(fake, "pushed a lot"))
        create = await wait_for_call(pika, "/web/generate")
        hook = create["body"]["webhookOverride"]
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=16)) as http:
            pushes = [http.post(hook, json={"job": {"status": "finished"}}) for _ in range(100)]
            answers = await asyncio.gather(*pushes)
        assert all(a.status_code == 200 for a in answers)
        await bot.wait_for_log("pushed by Pika; confirming")
        await asyncio.sleep(1.0)  # time for any extra get-job call (a negative check)
        polls = [c for c in await pika_calls(pika) if c["path"].startswith("/web/jobs/")]
        assert len(polls) == 1, len(polls)
        assert sum("pushed by Pika" in line for line in bot.lines) == 1
    finally:
        for _, writer in silent:
            writer.close()
        await bot.stop()


@prerendered_videos
async def test_a_burst_bigger_than_the_bots_turns_is_held_at_once_then_answered_in_public(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Thirty members ask at once, more than the bot prepares answers for together: those whose
    turn is behind others are acknowledged privately at once (so none races Discord's three
    seconds), then get their public working message in their turn, and their private answer
    says it started below. Each gets exactly one result, and each is paid once."""
    members = [FIRST_OF_A_CROWD + n for n in range(30)]
    for member in members:
        fake.users[member] = User(member, f"member{member - FIRST_OF_A_CROWD}")
    fake.guilds[GUILD_ID].members.extend(members)
    asked = [generate(fake, f"crowd {n}", user=m) for n, m in enumerate(members)]
    callbacks = [await fake.wait_for_response(i) for i in asked]
    held = [i for i, c in zip(asked, callbacks, strict=True) if c["type"] == DEFERRED]
    assert held, "every request found a free turn: the burst did not test holding"
    assert all(c["data"]["flags"] & 64 for c in callbacks if c["type"] == DEFERRED)
    for n, interaction in enumerate(asked):
        public = await public_answer(fake, interaction)
        assert f"crowd {n}" in public.content and f"<@{members[n]}>" in public.content
    for interaction in held:
        assert await private_answer(fake, interaction) == "✅ Your video is starting (see below)."
    await fake.wait_for(lambda: len(results(fake)) >= 30, timeout=60, what="thirty results")
    await asyncio.sleep(1.0)  # a second post of any of them would come now
    assert sorted(m.content.split(">")[0] for m in results(fake)) == sorted(
        f"<@{m}" for m in members
    )
    assert len(await calls_to(pika, "/web/generate")) == 30
