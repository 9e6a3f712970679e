"""Discord's rate limits, enforced by the fake: the bot's results ride them out, paced by
Discord's headers, and its own reactions never hold a result back."""

from __future__ import annotations

from bot.pika.local.app import LocalPika
from tests.e2e.harness import BotProcess, allow_running, generate, results
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import GENERAL
from tests.helpers.local_pika import behave


async def test_results_and_their_reactions_keep_within_the_limits(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await allow_running(fake, 8)
    fake.limits.enabled = True
    asked = [generate(fake, f"fox {n}") for n in range(8)]
    for interaction in asked:
        await fake.wait_for_response(interaction)
    posted = await fake.wait_for(lambda: len(results(fake)) == 8, timeout=30, what="8 results")
    assert posted
    # 24 reactions at one per 0.25 s in one channel: six seconds at the least, never refused
    # twice in a row, and none of it held a result back (the results went through each
    # interaction's own webhook, which no channel limit counts).
    await fake.wait_for(
        lambda: all(len(m.reactions) == 3 for m in results(fake)), timeout=30, what="reactions"
    )
    puts = [r for r in fake.requests_to("PUT", r"/reactions/") if r.status == 204]
    assert len(puts) == 24
    assert puts[-1].at - puts[0].at >= 23 * 0.25 * 0.9
    assert fake.limits.refusals == []  # discord.py waited as the headers said
    last_result = max(m.edited_at or m.created for m in results(fake))
    assert last_result < puts[-1].at  # every result was in before the reactions were done


async def test_replies_into_one_channel_are_paced_by_discord_and_all_delivered(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await allow_running(fake, 7)
    await behave(pika, job_seconds=1.5)
    asked = [generate(fake, f"fox {n}") for n in range(7)]
    for interaction in asked:
        await fake.wait_for_response(interaction)
    for interaction in asked:  # tokens past their 15 minutes: each result is a channel post
        fake.expire(interaction)
    fake.limits.enabled = True
    await fake.wait_for(lambda: len(results(fake)) == 7, timeout=40, what="7 results")
    posts = [
        r
        for r in fake.requests_to("POST", rf"^/channels/{GENERAL}/messages$")
        if r.status == 200 and r.files
    ]
    assert len(posts) == 7
    # Five posts per five seconds in a channel: the sixth waited for the next window.
    assert posts[5].at - posts[0].at >= 4.5
    assert fake.limits.refused_twice == 0
