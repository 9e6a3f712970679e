"""Inputs that cannot hurt, as a hostile member would try them: links to the bot's own machine,
files that lie about what they are, spans longer than the video. Each is refused privately,
naming the option, before Pika is called; the member is acknowledged within Discord's 3 s."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    generate,
    private_answer,
    public_answer,
    results,
    retry_button,
    start_bot,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import GENERAL, MEMBER, REQUESTER
from tests.helpers.local_pika import pika_calls
from tests.helpers.origins import allowed_hosts_setting
from tests.media import huge_mp4, huge_png, long_claim_mp4, mp4, png, wav


class Server:
    """A loopback web server that records what it was asked: a secret service on the bot's
    machine, or (allowed by name) a media host whose links redirect."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.base_url = ""
        self.target = ""  # where /redirect.png sends a client

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Server]:
        """Serve on a free port until the block ends."""

        async def handle(request: web.Request) -> web.StreamResponse:
            self.asked.append(request.path)
            if request.path == "/redirect.png":
                raise web.HTTPFound(self.target)
            return web.Response(body=png((9, 9, 9)), content_type="image/png")

        app = web.Application()
        app.router.add_get("/{name}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield self
        finally:
            await runner.cleanup()


@pytest.fixture
async def secret() -> AsyncIterator[Server]:
    async with Server().serving() as server:
        yield server


async def test_links_to_internal_addresses_are_refused_and_never_fetched(
    fake: FakeDiscord, pika: LocalPika, secret: Server, tmp_path: Path
) -> None:
    async with Server().serving() as media:
        media.target = f"{secret.base_url}/secret.png"  # a public-looking link to loopback
        allowed = allowed_hosts_setting(fake.base_url, pika.base_url, media.base_url)
        bot = await start_bot(fake, pika, tmp_path, ALLOWED_PRIVATE_HOSTS=allowed)
        try:
            port = secret.base_url.rsplit(":", 1)[1]
            links = [
                f"{secret.base_url}/secret.png",
                f"http://localhost:{port}/secret.png",
                f"http://[::1]:{port}/secret.png",
                f"http://0.0.0.0:{port}/secret.png",
                f"http://2130706433:{port}/secret.png",
                "http://169.254.169.254/latest/meta-data/iam.png",
                "http://10.0.0.5/inside.png",
                f"{media.base_url}/redirect.png",
            ]
            for link in links:
                ask = fake.slash(
                    REQUESTER, GENERAL, "pika", "generate", {"prompt": "x", "image_url": link}
                )
                text = await private_answer(fake, ask)
                assert text.startswith("⚠️ image_url: could not be fetched"), (link, text)
        finally:
            await bot.stop()
    assert secret.asked == []
    assert media.asked == ["/redirect.png"]
    assert await pika_calls(pika) == []
    assert fake.channel_messages(GENERAL) == []


async def test_a_link_with_a_password_is_refused_before_it_is_fetched_or_sent(
    fake: FakeDiscord, pika: LocalPika, tmp_path: Path
) -> None:
    """A media link carrying a user name and password (or a host dressed as one, before an
    `@`) is refused naming the option: never fetched, never sent on to Pika."""
    async with Server().serving() as media:
        allowed = allowed_hosts_setting(fake.base_url, pika.base_url, media.base_url)
        bot = await start_bot(fake, pika, tmp_path, ALLOWED_PRIVATE_HOSTS=allowed)
        try:
            host = media.base_url.removeprefix("http://")
            for link in (
                f"http://member:hunter2@{host}/fox.png",
                f"http://cdn.example@{host}/x.png",
            ):
                ask = fake.slash(
                    REQUESTER, GENERAL, "pika", "generate", {"prompt": "x", "image_url": link}
                )
                text = await private_answer(fake, ask)
                assert "must not carry a user name or password" in text, (link, text)
                assert "hunter2" not in text
        finally:
            await bot.stop()
    assert media.asked == []
    assert await pika_calls(pika) == []
    assert fake.channel_messages(GENERAL) == []


async def test_files_are_probed_before_paying_and_refusals_name_the_option(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    hostile: list[tuple[str, dict[str, Any], dict[str, tuple[str, bytes, str]], str]] = [
        ("generate", {"prompt": "x"}, {"video": ("long.mp4", long_claim_mp4(), "video/mp4")},
         "video: is 36000.0 s long; at most 30 s"),
        ("generate", {"prompt": "x"}, {"video": ("huge.mp4", huge_mp4(), "video/mp4")},
         "video: is 8192x8192"),
        ("ingredients", {"prompt": "x"}, {"ingredient_1": ("bomb.png", huge_png(), "image/png")},
         "ingredient_1: is 13000x13000 pixels; at most 24 million pixels"),
        ("generate", {"prompt": "x"}, {"image": ("fake.png", b"GIF89a not really", "image/png")},
         "image: is not a PNG, JPEG, WebP or GIF image"),
        # A span longer than a video the bot did not make (2 s), and than the speech (3 s).
        ("lipsync", {"speech_end": 2.5}, {"video": ("clip.mp4", mp4(seconds=2.0), "video/mp4"),
                                         "speech": ("voice.wav", wav(seconds=3.0), "audio/wav")},
         "speech_end: speech_end - speech_start must be at most the video's length (2.5 s > 2 s)"),
        ("lipsync", {"speech_start": 1, "speech_end": 3.5},
         {"video": ("clip.mp4", mp4(seconds=3.0), "video/mp4"),
          "speech": ("voice.wav", wav(seconds=3.0), "audio/wav")},
         "speech_end: must be at most the speech's length (3.5 s > 3 s)"),
        ("extend", {}, {"video": ("twelve.mp4", mp4(seconds=12.0, fps=4), "video/mp4")},
         "video: is 12 s long; an extend adds 4 s and Pika stops at 15 s"),
    ]  # fmt: skip
    for sub, options, files, rule in hostile:
        ask = fake.slash(REQUESTER, GENERAL, "pika", sub, options, files)
        text = await private_answer(fake, ask)
        assert rule in text, (sub, text)
        assert ask.callbacks[0]["type"] == 5  # acknowledged at once, privately, then probed
    assert await pika_calls(pika) == []
    assert fake.channel_messages(GENERAL) == []
    # A file that checks out: the private acknowledgement says so, the job is public.
    files = {"video": ("clip.mp4", mp4(seconds=2.0), "video/mp4"),
             "speech": ("voice.wav", wav(seconds=3.0), "audio/wav")}  # fmt: skip
    ask = fake.slash(REQUESTER, GENERAL, "pika", "lipsync", {}, files)
    working = await public_answer(fake, ask)
    assert "Lip sync" in working.content
    assert await private_answer(fake, ask) == (
        "✅ Your files check out; the video is starting (see below)."
    )
    await fake.wait_for(lambda: results(fake), timeout=30, what="the lip sync")
    sent = [c for c in await pika_calls(pika) if c["path"] == "/web/lipSync"]
    assert sent[0]["body"]["speechEnd"] == 2.0  # the default span is the video's length


async def test_member_text_is_shown_as_text_and_pings_nobody_but_the_requester(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    prompt = (
        f"a fox [free nitro](https://evil.example) <@{MEMBER}> @everyone\n"
        "# BIG HEADING\nStatus: done · job `0000000000`"
    )
    interaction = generate(fake, prompt)
    await fake.wait_for_response(interaction)
    await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
    await fake.wait_for(lambda: len(results(fake)[0].reactions) == 3, what="the reactions")
    working = fake.replies(interaction)[0]  # as it read before the result took its place
    unescaped_link = re.compile(r"(?<!\\)\[free nitro\]\(")
    assert not unescaped_link.search(working.content)  # the masked link shows as text
    assert not any(line.startswith("#") for line in working.content.splitlines())
    status_lines = [line for line in working.content.splitlines() if line.startswith("Status:")]
    assert not status_lines  # the member's fake status line stays inside their quote
    assert f"<@{MEMBER}>" not in working.content and "@everyone" not in working.content
    embed_title = results(fake)[0].embeds[0]["title"]
    assert not unescaped_link.search(embed_title)
    # Every message the bot posted or edited says whom it may ping: at most the requester.
    writes = [
        r
        for r in fake.requests
        if r.method in ("POST", "PATCH") and re.search(r"/messages|/webhooks/|/callback", r.path)
    ]
    assert writes
    for write in writes:
        body = write.body or {}
        data = body.get("data", body) if "/callback" in write.path else body
        if "content" not in data:
            continue
        mentions = data.get("allowed_mentions")
        assert mentions is not None, write
        assert mentions.get("parse", []) == [], write
        assert {str(u) for u in mentions.get("users", [])} <= {str(REQUESTER)}, write
        assert not mentions.get("roles"), write


async def test_characters_that_show_nothing_stay_out_of_the_public_messages(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # A bell, a terminal's escape sequence, a NUL and zero-width characters in a prompt were
    # posted as they were, in the working message and the result's embed.
    interaction = generate(fake, "a f\u200box\x07 at\x00 dusk\x1b[2J\ufeff \u2063")
    await fake.wait_for_response(interaction)
    result = (await fake.wait_for(lambda: results(fake), timeout=30, what="the result"))[0]
    working = fake.replies(interaction)[0]
    for text in (working.content, result.embeds[0]["title"], result.content):
        unseen = [c for c in text if unicodedata.category(c) in ("Cc", "Cf", "Cs")]
        assert set(unseen) <= {"\n"}, ascii(text)  # the bot's own lines only
    assert "a fox at dusk\\[2J" in working.content


# What Discord would act on in a bot's message: a link (followed, and unfurled into a preview
# of the page under the message), a server's invite (shown as a card with a Join button), and
# the angle-bracket forms it shows as a channel, a command, a date or another server's emoji.
ACTED_ON = re.compile(
    r"[a-z]+://|discord(?:app)?\.(?:gg|com)/|(?<!\\)<(?:#|/|t:|a?:\w+:)", re.IGNORECASE
)


async def test_links_invites_and_channel_forms_in_a_prompt_show_as_text(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """A prompt with a link, an invite and Discord's angle-bracket forms: the public working
    message and the result show them as typed, and Discord has nothing to unfurl or render."""
    prompt = (
        f"a fox https://evil.example/shock.gif join discord.gg/raid <#{GENERAL}> "
        "</pika generate:123456789012345678> <t:0:R> <:pika:123456789012345678> "
        "[**free** ||nitro||](x)"
    )
    interaction = generate(fake, prompt)
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    await fake.wait_for(lambda: results(fake), timeout=30, what="the result")
    embed = results(fake)[0].embeds[0]
    quote = working.content.split("“", 1)[1].split("”", 1)[0]  # the bot's own ETA is a <t:>
    for text in (quote, embed["title"], embed.get("description", "")):
        assert not ACTED_ON.search(text), text
        # Markdown inside what looks like a masked link is escaped too.
        assert not re.search(r"[*|]", re.sub(r"\\.", "", text)), text
    # Still the member's words, as they typed them.
    assert "evil.example/shock.gif" in quote and "\\<t:0:R>" in quote


async def test_a_held_request_whose_public_message_is_refused_offers_a_retry_that_works(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Held privately while its image was probed, then its public message refused by Discord:
    the job is cancelled before Pika is paid, the private answer says so with a Retry button,
    and the Retry makes the video (paid once)."""
    fake.lose_followups = 1
    ask = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"},
                     {"image": ("fox.png", png(), "image/png")})  # fmt: skip
    lost = "Discord did not get the bot's answer in time"
    await fake.wait_for(
        lambda: ask.original_id is not None and lost in fake.messages[ask.original_id].content,
        what="the private answer that the request was cancelled",
    )
    assert ask.original_id is not None
    answer = fake.messages[ask.original_id]
    assert answer.ephemeral and await pika_calls(pika) == []
    fake.press(REQUESTER, answer, retry_button(answer))
    await fake.wait_for(lambda: results(fake), timeout=30, what="the retried video")
    paid = [c for c in await pika_calls(pika) if not c["path"].startswith("/web/jobs/")]
    assert [c["path"] for c in paid] == ["/web/generate"]


async def test_a_public_answer_whose_reply_is_lost_but_shown_goes_on(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Discord showed the public working message, but the connection dropped before its reply:
    the bot reads the answer back, finds it there, and the job goes on into a video, paid once,
    with no error and no second message."""
    fake.lose_callback_replies = 1
    ask = generate(fake, "a fox")
    await fake.wait_for(lambda: results(fake), timeout=30, what="the video")
    assert ask.original_id is not None
    working = fake.messages[ask.original_id]
    await fake.wait_for(
        lambda: working.deleted or "your video is ready" in working.content,
        what="the working message replaced by the result",
    )
    paid = [c for c in await pika_calls(pika) if not c["path"].startswith("/web/jobs/")]
    assert [c["path"] for c in paid] == ["/web/generate"]
    assert fake.channel_messages(GENERAL) == results(fake)  # no error, nothing left behind


async def test_a_public_answer_discord_took_before_answering_500_goes_on(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Discord took the working message, then answered 500: discord.py sends the answer again,
    and Discord refuses it as already acknowledged. The job was cancelled then, its member told
    to press Retry under a message that had just said "working"; now the bot reads the answer
    back, finds its own, and the job goes on into a video, paid once."""
    fake.fail_callbacks_after_answer = 1
    ask = generate(fake, "a fox")
    await fake.wait_for(lambda: results(fake), timeout=30, what="the video")
    assert ask.original_id is not None and len(ask.callbacks) == 1
    paid = [c for c in await pika_calls(pika) if not c["path"].startswith("/web/jobs/")]
    assert [c["path"] for c in paid] == ["/web/generate"]
    working = fake.messages[ask.original_id]
    await fake.wait_for(
        lambda: working.deleted or "your video is ready" in working.content,
        what="the working message replaced by the result",
    )
    assert fake.channel_messages(GENERAL) == results(fake)  # no error, nothing left behind


async def test_a_held_request_whose_public_follow_up_reply_is_lost_goes_on_with_it(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """Held privately while its image was probed, then its public working message posted but
    its reply lost: the bot finds the message in the channel (by the interaction it names) and
    the job goes on with it, so no working message is left behind, and Pika is paid once."""
    fake.lose_followup_replies = 1
    ask = fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "a fox"},
                     {"image": ("fox.png", png(), "image/png")})  # fmt: skip
    await fake.wait_for(lambda: results(fake), timeout=30, what="the video")
    working = fake.messages[ask.followups[0]]  # the public working message, posted first
    await fake.wait_for(
        lambda: working.deleted or "your video is ready" in working.content,
        what="the working message replaced by the result",
    )
    paid = [c for c in await pika_calls(pika) if not c["path"].startswith("/web/jobs/")]
    assert [c["path"] for c in paid] == ["/web/generate"]
    assert ask.original_id is not None
    assert "Discord did not get" not in fake.messages[ask.original_id].content
