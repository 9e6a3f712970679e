"""Reactions, buttons and context menus on results, from each kind of member, across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    DEFERRED,
    BotProcess,
    allow_running,
    bot_env,
    button,
    delivered,
    failures,
    generate,
    notes_to,
    prerendered_videos,
    private_answer,
    public_answer,
    results,
    start_bot,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import (
    APP_ID,
    GENERAL,
    GUILD_ID,
    MEMBER,
    MODERATOR,
    REQUESTER,
    ROLE_MOD,
    VOICE,
    Message,
    User,
)
from tests.helpers.local_pika import behave, calls_to, pika_calls
from tests.media import mp4


def bot_messages(fake: FakeDiscord) -> list[Message]:
    """The bot's public messages in #general: one per job, once its result took the place of
    its working message."""
    return [m for m in fake.channel_messages(GENERAL) if m.author_id == APP_ID]


def working_messages(fake: FakeDiscord) -> list[Message]:
    """The bot's working messages left in #general (one per job in the making)."""
    return [m for m in fake.channel_messages(GENERAL) if m.content.startswith("🎬")]


@pytest.fixture
async def result(fake: FakeDiscord, bot: BotProcess) -> Message:
    """A result of the requester's, with the bot's three reactions on it."""
    return await delivered(fake)


async def test_requester_reaction_extends_the_video(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    fake.react(REQUESTER, result, "⏩")
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the extended result")
    extended = results(fake)[1]
    fields = {f["name"]: f["value"] for f in extended.embeds[0]["fields"]}
    assert fields["Length"] == "7 s"
    body = (await calls_to(pika, "/web/extend"))[0]["body"]
    source = next(j for j in pika.jobs.values() if j.request_type == "generate")
    assert body["video"] == pika.result_url(source)  # the result being extended
    assert body["promptText"] == "a fox"
    # The bot replied to the reaction that it was working; the new result answers the video.
    assert extended.reference is not None and int(extended.reference["message_id"]) == result.id
    await fake.wait_for(lambda: working_messages(fake) == [], what="working messages removed")
    assert len(bot_messages(fake)) == 2


@prerendered_videos
async def test_moderator_button_upscales(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    press = fake.press(MODERATOR, result, button(result, "upscale"))
    callback = await fake.wait_for_response(press)
    assert callback["type"] == 4 and not (callback["data"].get("flags") or 0) & 64
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the upscaled result")
    upscaled = results(fake)[1]
    assert f"<@{MODERATOR}>" in upscaled.content
    assert len(await calls_to(pika, "/web/upscale")) == 1


def labels(message: Message) -> list[str]:
    """The labels of a message's buttons, in order."""
    return [str(c["label"]) for row in message.components for c in row["components"]]


@prerendered_videos
async def test_an_upscale_offers_only_the_controls_that_can_work_on_it(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    # An upscaled video showed Upscale and Re-roll too, with their reactions and footer words:
    # each could only answer "already an upscale" or "cannot be re-rolled".
    await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "upscale")))
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the upscaled result")
    upscaled = results(fake)[1]
    assert labels(upscaled) == ["Extend", "Info"]
    assert upscaled.embeds[0]["footer"]["text"] == "⏩ extend"
    # Extend works on it; once its result has its three reactions, the channel's earlier
    # chores (the upscale's reactions) are done.
    fake.react(REQUESTER, upscaled, "⏩")
    await fake.wait_for(lambda: len(results(fake)) == 3, what="the extended upscale")
    extended = results(fake)[2]
    await fake.wait_for(lambda: len(extended.reactions) == 3, what="the extension's reactions")
    assert labels(extended) == ["Extend", "Upscale", "Re-roll", "Info"]
    assert {emoji for emoji, who in upscaled.reactions.items() if APP_ID in who} == {"⏩"}


@prerendered_videos
async def test_an_extend_of_an_upscale_asks_for_what_the_original_asked(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # An upscale has no prompt or options of its own: Extend on it (its only control) sent
    # Pika no prompt and the default 16:9, and its result was titled "Extension".
    options = {"prompt": "a tall fox", "aspect_ratio": "9:16"}
    await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "generate", options))
    result = (await fake.wait_for(lambda: results(fake), what="the result"))[0]
    await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "upscale")))
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the upscaled result")
    upscaled = results(fake)[1]
    # Shown and named under the prompt it was made from: it read "Upscale", pika-video.mp4.
    assert upscaled.embeds[0]["title"] == "a tall fox"
    assert upscaled.attachments[0].filename == "a-tall-fox.mp4"
    await fake.wait_for_response(fake.press(REQUESTER, upscaled, button(upscaled, "extend")))
    await fake.wait_for(lambda: len(results(fake)) == 3, what="the extended upscale")
    body = (await calls_to(pika, "/web/extend"))[0]["body"]
    assert body["video"] != (await calls_to(pika, "/web/upscale"))[0]["body"]["video"]
    assert body["promptText"] == "a tall fox"
    assert body["options"]["aspectRatio"] == "9:16"
    assert results(fake)[2].embeds[0]["title"] == "a tall fox"


async def test_an_upscale_is_headed_by_the_prompt_it_was_made_from_while_made_and_in_info(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # Its result showed "a red fox", while its working message, its Info and its failure
    # said "Upscale" alone.
    result = await delivered(fake, "a red fox")
    press = fake.press(REQUESTER, result, button(result, "upscale"))
    await fake.wait_for_response(press)
    assert f"**Upscale** for <@{REQUESTER}> “a red fox”" in fake.replies(press)[0].content
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the upscaled result")
    upscaled = results(fake)[1]
    info = await fake.wait_for_response(fake.press(REQUESTER, upscaled, button(upscaled, "info")))
    assert info["data"]["embeds"][0]["title"] == "a red fox"
    listed = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "jobs", {}))
    upscale_line = next(
        line for line in listed["data"]["content"].splitlines() if line.startswith("[Upscale](")
    )
    assert "“a red fox”" in upscale_line, upscale_line
    other = await delivered(fake, "a blue fox")
    await behave(pika, fail_jobs=1)
    await fake.wait_for_response(fake.press(REQUESTER, other, button(other, "upscale")))
    failed = (await fake.wait_for(lambda: failures(fake), what="the failure"))[0]
    assert "“a blue fox”" in failed.content, failed.content
    retry = fake.press(REQUESTER, failed, button(failed, "retry"))
    await fake.wait_for_response(retry)
    assert "“a blue fox”" in fake.replies(retry)[0].content  # a retry is headed the same


async def test_a_retry_reaction_on_a_failure_retries_it_as_its_button_does(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # A 🔁 on a failure was ignored without a word, while its Retry button answered.
    await behave(pika, fail_jobs=1)
    await fake.wait_for_response(generate(fake, "a fox that failed"))
    failed = (await fake.wait_for(lambda: failures(fake), what="the failure"))[0]
    fake.react(MEMBER, failed, "🔁")  # not theirs: taken off and explained, as the button says
    notes = await fake.wait_for(lambda: notes_to(fake, MEMBER), what="the note to the member")
    assert "Only the member who asked for this video, or a moderator, can retry it." in (
        notes[0].content
    )
    assert MEMBER not in failed.reactions.get("🔁", ())
    fake.react(REQUESTER, failed, "🔁")
    result = (await fake.wait_for(lambda: results(fake), what="the retried video"))[0]
    bodies = [c["body"] for c in await calls_to(pika, "/web/generate")]
    assert len(bodies) == 2 and bodies[0]["promptText"] == bodies[1]["promptText"]
    fake.react(REQUESTER, failed, "🔄")  # again, by Retry's own emoji: the guard points to it
    link = f"https://discord.com/channels/{GUILD_ID}/{GENERAL}/{result.id}"
    await fake.wait_for(
        lambda: [m for m in notes_to(fake, REQUESTER) if f"Already done: {link}" in m.content],
        what="the note pointing to the video",
    )
    assert len(await calls_to(pika, "/web/generate")) == 2


async def test_a_retry_reaction_on_a_failure_that_cannot_be_retried_is_told_why(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    """Pika refused the request: its failure has no Retry, since the same request would be
    refused again. A 🔁 on it was ignored without a word; now it is taken off and the member
    told why, in the failure's language. A 🔁 on a member's own message still starts nothing
    and says nothing."""
    fake.locales[REQUESTER] = "fr"

    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"message": "this prompt is not allowed"}, status=400)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    stub = f"http://127.0.0.1:{runner.addresses[0][1]}"
    bot = BotProcess(
        bot_env(fake, tmp_path, PIKA_API_KEY="refused-key", PIKA_BASE_URL=stub), tmp_path
    )
    try:
        await bot.start()
        await bot.wait_ready()
        await fake.wait_for_response(generate(fake, "un renard refusé"))
        failed = (await fake.wait_for(lambda: failures(fake), what="the failure"))[0]
        assert not failed.components  # no Retry: Pika would refuse it again
        own = fake.post_as(REQUESTER, GENERAL, "my own words")
        fake.react(REQUESTER, own, "🔁")
        fake.react(REQUESTER, failed, "🔁")
        notes = await fake.wait_for(lambda: notes_to(fake, REQUESTER), what="the note")
        assert notes[0].content.endswith(
            "Ceci ne peut pas être réessayé : redemandé tel quel, il échouerait de la même "
            "façon. Modifie la demande, puis redemande avec `/pika`."
        ), notes[0].content
        await fake.wait_for(lambda: REQUESTER not in failed.reactions.get("🔁", ()), what="off")
        assert REQUESTER in own.reactions.get("🔁", ())  # a member's message: left alone
        assert len(notes_to(fake, REQUESTER)) == 1
    finally:
        await bot.stop()
        await runner.cleanup()


async def test_refused_reactions_are_removed_and_explained_once_a_minute(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    paid_before = len(await pika_calls(pika))
    for n in range(15):  # fifteen reactions in a burst, by a member who may not use them
        emoji = ["🔁", "⏩", "⬆️"][n % 3]
        fake.react(MEMBER, result, emoji)
        await fake.wait_for_request(
            "DELETE", rf"/messages/{result.id}/reactions/.*/{MEMBER}$", count=n + 1
        )
    await fake.wait_for(lambda: notices(fake, MEMBER), what="the notice")
    # Nothing to wait for when nothing more comes: give a wrong second notice time to show.
    await asyncio.sleep(0.5)
    told = notices(fake, MEMBER)
    assert len(told) == 1  # not silent, and not fifteen messages either
    assert "or a moderator, can use its buttons and reactions." in told[0].content
    assert told[0].reference is None
    assert len(await pika_calls(pika)) == paid_before
    assert working_messages(fake) == []


def notices(fake: FakeDiscord, user: int) -> list[Message]:
    """The bot's notices to a member in #general about a refused reaction."""
    return [m for m in fake.channel_messages(GENERAL) if m.content.startswith(f"<@{user}> ⛔")]


async def test_another_members_button_gets_an_ephemeral_explanation(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    paid_before = len(await pika_calls(pika))
    callback = await fake.wait_for_response(fake.press(MEMBER, result, button(result, "extend")))
    assert callback["data"]["flags"] == 64
    assert "Only the member who made this video, or a moderator" in callback["data"]["content"]
    assert len(await pika_calls(pika)) == paid_before


async def test_a_double_click_and_a_double_reaction_start_one_job(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    first = fake.press(REQUESTER, result, button(result, "extend"))
    second = fake.press(REQUESTER, result, button(result, "extend"))
    fake.react(REQUESTER, result, "⏩")
    fake.react(MODERATOR, result, "⏩")
    await fake.wait_for_response(first)
    answer = await fake.wait_for_response(second)
    working = fake.replies(first)[0]
    link = f"https://discord.com/channels/{GUILD_ID}/{GENERAL}/{working.id}"
    assert answer["data"]["content"] == f"🔁 Already on it: {link}"
    assert answer["data"]["flags"] == 64
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the extended result")
    assert len(await calls_to(pika, "/web/extend")) == 1


async def test_reroll_is_the_same_request_with_a_new_seed(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    fake.react(REQUESTER, result, "🔁")
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the re-rolled result")
    first, again = [c["body"] for c in await calls_to(pika, "/web/generate")]
    assert again["promptText"] == first["promptText"]
    assert again["options"]["parameters"]["seed"] != first["options"]["parameters"]["seed"]


async def test_a_reaction_whose_working_message_reply_is_lost_posts_it_once_and_goes_on(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    """The working message of a re-roll is posted, but its reply is lost: the bot posts it
    again with the same nonce, Discord gives back the one it kept, and the job goes on."""
    fake.lose_post_replies = 1
    fake.react(REQUESTER, result, "🔁")
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the re-rolled result")
    assert len(await calls_to(pika, "/web/generate")) == 2  # the first video, and this one
    working = [m for m in fake.channel_messages(GENERAL) if m.content.startswith("🎬")]
    assert working == []  # one working message, replaced by the result or deleted


async def test_info_button_shows_the_job(fake: FakeDiscord, result: Message) -> None:
    answer = await fake.wait_for_response(fake.press(MEMBER, result, button(result, "info")))
    assert answer["data"]["flags"] == 64
    assert answer["data"]["embeds"][0]["title"] == "a fox"


@prerendered_videos
async def test_controls_on_results_from_before_a_restart_still_work(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    bot = await start_bot(fake, pika, tmp_path)
    result = await delivered(fake, "before the restart")
    assert await bot.stop() == 0
    bot = await start_bot(fake, pika, tmp_path)
    try:
        fake.react(REQUESTER, result, "⏩")
        await fake.wait_for(lambda: len(results(fake)) == 2, what="the extended result")
        press = fake.press(REQUESTER, result, button(result, "upscale"))
        await fake.wait_for_response(press)
        await fake.wait_for(lambda: len(results(fake)) == 3, what="the upscaled result")
    finally:
        await bot.stop()


async def test_extend_video_context_menu_on_a_message_with_an_mp4(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    clip = fake.attachment("holiday.mp4", mp4(seconds=2.0), "video/mp4")
    message = fake.post_as(MEMBER, GENERAL, "look at this", [clip])
    await public_answer(fake, fake.context_menu(MEMBER, message, "Extend video"))
    await fake.wait_for(lambda: results(fake), what="the extended video")
    body = (await calls_to(pika, "/web/extend"))[0]["body"]
    assert body["video"] == clip.url


@prerendered_videos
async def test_upscale_video_context_menu_on_a_result(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    await fake.wait_for_response(fake.context_menu(REQUESTER, result, "Upscale video"))
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the upscaled video")
    assert len(await calls_to(pika, "/web/upscale")) == 1


async def test_upscale_of_a_members_own_video_is_refused_before_anything_is_paid(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Pika upscales only the videos it made ("Must be generated by the Pika Web Bot"). A
    member's own MP4 was accepted (a public working message, a job counted), then failed at
    Pika; now it is refused at once, privately, naming the menu or the option, and nothing
    is fetched or paid."""
    clip = fake.attachment("mine.mp4", mp4(seconds=2.0), "video/mp4")
    posted = fake.post_as(REQUESTER, GENERAL, "", [clip])
    answer = await fake.wait_for_response(fake.context_menu(REQUESTER, posted, "Upscale video"))
    assert answer["data"]["flags"] == 64
    assert answer["data"]["content"] == (
        "⚠️ Upscale video: must be a video Pika made (a result of this bot, or a Pika result "
        "link); Pika upscales nothing else"
    )
    files = {"video": ("mine.mp4", mp4(seconds=2.0), "video/mp4")}
    asked = fake.slash(REQUESTER, GENERAL, "pika", "upscale", {}, files)
    assert (await private_answer(fake, asked)).startswith("⚠️ video: must be a video Pika made")
    linked = {"video_url": "https://example.com/mine.mp4"}
    asked = fake.slash(REQUESTER, GENERAL, "pika", "upscale", linked)
    assert (await private_answer(fake, asked)).startswith("⚠️ video_url: must be a video Pika")
    assert await pika_calls(pika) == []
    assert fake.channel_messages(GENERAL) == [posted]  # no working message, no failure


async def test_context_menu_on_a_message_without_video_is_refused(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # Each answer named an option, "video", that a menu does not have: now the menu used.
    message = fake.post_as(MEMBER, GENERAL, "just words")
    answer = await fake.wait_for_response(fake.context_menu(MEMBER, message, "Extend video"))
    assert answer["data"]["flags"] == 64
    assert answer["data"]["content"] == "⚠️ Extend video: this message has no MP4 video."
    fake.locales[MEMBER] = "fr"
    answer = await fake.wait_for_response(fake.context_menu(MEMBER, message, "Upscale video"))
    assert answer["data"]["content"] == (
        "⚠️ Agrandir la vidéo : ce message ne contient pas de vidéo MP4."
    )
    words = fake.attachment("words.mp4", b"not a video at all", "video/mp4")
    posted = fake.post_as(MEMBER, GENERAL, "", [words])
    refused = fake.context_menu(MEMBER, posted, "Extend video")
    assert await private_answer(fake, refused) == (
        "⚠️ Prolonger la vidéo : n'est pas une vidéo MP4 lisible"
    )
    assert await pika_calls(pika) == []


async def test_slow_pika_does_not_make_the_command_miss_its_deadline(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, latency=4.0)  # every Pika call takes longer than Discord's 3 s
    interaction = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "patient fox"})
    callback = await fake.wait_for_response(interaction, timeout=3.0)
    assert callback["type"] == 4
    await behave(pika, latency=0.0)
    await fake.wait_for(lambda: results(fake), timeout=30, what="the result")


@prerendered_videos
async def test_a_reaction_the_moment_the_result_appears_is_not_lost(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    fake.rate_limit("PUT", r"/reactions/", retry_after=1.0)  # the bot's own reactions come late
    await fake.wait_for_response(generate(fake, "quick"))
    result = (await fake.wait_for(lambda: results(fake), what="the result"))[0]
    fake.react(REQUESTER, result, "⏩")  # before the bot has finished with its result
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the extended result")
    press = fake.press(MODERATOR, result, button(result, "upscale"))
    assert not ((await fake.wait_for_response(press))["data"].get("flags") or 0) & 64


@prerendered_videos
async def test_a_burst_of_presses_beyond_the_turns_is_held_then_each_started_in_public(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Ten re-rolls pressed at once, more than the bot prepares answers for together: the
    presses behind the others are acknowledged privately at once, then each gets its public
    working message and its video, and each is paid once."""
    await allow_running(fake, 20)
    originals = [await delivered(fake, f"fox {n}") for n in range(10)]
    before = len(await calls_to(pika, "/web/generate"))
    presses = [fake.press(REQUESTER, r, button(r, "reroll")) for r in originals]
    callbacks = [await fake.wait_for_response(p) for p in presses]
    held = [p for p, c in zip(presses, callbacks, strict=True) if c["type"] == DEFERRED]
    assert held, "every press found a free turn: the burst did not test holding"
    for press in presses:
        assert not (await public_answer(fake, press)).ephemeral
    for press in held:
        assert await private_answer(fake, press) == "✅ Your video is starting (see below)."
    await fake.wait_for(lambda: len(results(fake)) >= 20, timeout=60, what="ten re-rolls")
    await asyncio.sleep(1.0)  # a second post of any of them would come now
    assert len(results(fake)) == 20
    assert len(await calls_to(pika, "/web/generate")) == before + 10


async def test_another_bots_reactions_start_nothing_and_get_no_note(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    # Voting bots add ⬆️ (and ⬇️) to every post of a channel, often with Manage Messages: as
    # a moderator it started a paid upscale of every result; without, every result got a
    # note to the bot and its vote taken off.
    voting_bot = APP_ID + 100
    fake.users[voting_bot] = User(voting_bot, "votes", bot=True, roles=[ROLE_MOD])
    fake.guilds[GUILD_ID].members.append(voting_bot)
    paid_before = len(await pika_calls(pika))
    for emoji in ("⬆️", "⏩", "🔁"):
        fake.react(voting_bot, result, emoji)
    # A member's reaction after the bot's is handled: the bot's came first and did nothing.
    fake.react(MEMBER, result, "⬆️")
    await fake.wait_for(lambda: notices(fake, MEMBER), what="the member's note")
    assert notices(fake, voting_bot) == [] and working_messages(fake) == []
    assert len(await pika_calls(pika)) == paid_before
    assert voting_bot in result.reactions["⬆️"]  # its vote stays


async def test_a_reactions_working_message_whose_replies_are_all_lost_is_found_and_goes_on(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    # Both tries of the working message reached the channel, and both replies were lost: the
    # job was cancelled, and its "waiting in line" message stayed under the result for ever.
    fake.lose_post_replies = 2
    fake.react(REQUESTER, result, "🔁")
    await fake.wait_for(lambda: len(results(fake)) == 2, what="the re-rolled result")
    assert len(await calls_to(pika, "/web/generate")) == 2  # the first video, and this one
    await fake.wait_for(lambda: working_messages(fake) == [], what="no working message left")


async def test_a_reaction_where_the_bot_can_no_longer_post_is_explained_by_dm(
    fake: FakeDiscord, pika: LocalPika, result: Message
) -> None:
    # The bot lost Send Messages in the channel: a reaction could start nothing (its working
    # message refused), and was left there with no word, though nothing is to be silent.
    fake.channels[GENERAL].forbidden = True
    paid_before = len(await pika_calls(pika))
    fake.react(REQUESTER, result, "⏩")
    dm = await fake.wait_for(lambda: fake.dm_messages(REQUESTER), what="a DM")
    assert f"The bot can no longer post in <#{GENERAL}>" in dm[0].content
    assert len(await pika_calls(pika)) == paid_before


async def test_a_result_in_a_voice_channels_chat_has_its_reactions_and_they_work(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # In a voice channel's text chat the result got no reactions (its footer still offered
    # them), a member's reaction started nothing, and the working message stayed beside it.
    await fake.wait_for_response(generate(fake, "a fox", channel=VOICE))
    await fake.wait_for(lambda: results(fake, VOICE), what="the result in the voice chat")
    result = results(fake, VOICE)[0]
    await fake.wait_for(lambda: len(result.reactions) == 3, what="the bot's reactions")
    await fake.wait_for(lambda: fake.channel_messages(VOICE) == [result], what="one message")
    fake.react(MEMBER, result, "🔁")  # refused, taken off and explained there too
    await fake.wait_for(lambda: notes_to(fake, MEMBER, VOICE), what="the note to the member")
    assert MEMBER not in result.reactions["🔁"]
    fake.react(REQUESTER, result, "⏩")
    await fake.wait_for(lambda: len(results(fake, VOICE)) == 2, what="the extended result")
    assert len(await calls_to(pika, "/web/extend")) == 1
