"""What members see of a job, end to end: plain words from request to result, their place in
line and when it should be ready, one message left per job, Retry, Info and `/pika job`, their
own defaults, and autocomplete."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    admin,
    button,
    delivered,
    failures,
    generate,
    results,
    transcript,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import ADMIN, GENERAL, GUILD_ID, MEMBER, REQUESTER
from tests.helpers.local_pika import behave, calls_to, wait_for_call
from tests.media import frames

# What members must never read in public: Pika's status and route names, our job states, the
# local Pika's address.
VENDOR_WORDS = re.compile(
    r"\b(pending|queued|delayed|submitting|sending|running|delivering|finished|Status)\b"
    r"|/web/|127\.0\.0\.1|requestType|pikaJobId",
    re.IGNORECASE,
)
JOB_ID = re.compile(r"\b[a-z0-9]{10}\b")
ETA = re.compile(r"ready <t:\d+:R>")


def picture() -> bytes:
    """A photo-like image: a sun over a field."""
    image = Image.new("RGB", (320, 240), (90, 150, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 160, 320, 240), fill=(60, 140, 60))
    draw.ellipse((200, 30, 270, 100), fill=(250, 220, 80))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def job_ids(fake: FakeDiscord) -> set[str]:
    """The ids of every job the bot made so far, read from the custom ids of its buttons."""
    return {
        str(c["custom_id"]).rsplit(":", 1)[1]
        for m in fake.messages.values()
        for row in m.components
        for c in row["components"]
    }


async def test_a_job_as_a_member_sees_it_from_request_to_result(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, job_seconds=4)
    interaction = generate(fake, "a red fox in the snow")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    result = (await fake.wait_for(lambda: results(fake), what="the result"))[0]
    await fake.wait_for(lambda: working.deleted and len(result.reactions) == 3, what="tidy up")
    seen = transcript(fake)
    print("\n".join(seen))  # the closing note quotes it
    public = "\n".join(seen)
    ids = job_ids(fake) | {j.id for j in pika.jobs.values()}
    assert ids and not any(i in public for i in ids)  # no job id, ours or Pika's
    assert not VENDOR_WORDS.search(public), VENDOR_WORDS.search(public)
    assert seen[0].startswith(f"posts: 🎬 **Video** for <@{REQUESTER}> “a red fox in the snow”")
    assert ETA.search(seen[0])
    assert any(re.search(r"▰+▱* \d+% · ready <t:\d+:R>", line) for line in seen[1:-2])
    assert seen[-2].startswith(f"posts: <@{REQUESTER}> your video is ready.")
    assert seen[-1] == "removes the working message"
    assert fake.channel_messages(GENERAL) == [result]  # one message left for the job


async def test_while_waiting_a_member_sees_their_place_in_line_and_when_it_should_be_ready(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await admin(fake, "limits", {"running": 5})
    await behave(pika, delay_jobs=3, job_seconds=30)  # Pika holds them "delayed" for 15 s
    asked = [generate(fake, f"fox in line {n}") for n in range(3)]
    working = []
    for interaction in asked:
        await fake.wait_for_response(interaction)
        working.append(fake.replies(interaction)[0])
        await wait_for_call(pika, "/web/generate")
    places = [re.search(r"place \*\*(\d+)\*\*", w.content) for w in working]
    assert [int(p[1]) for p in places if p] == [1, 2, 3]
    assert all(ETA.search(w.content) for w in working)
    assert not any(VENDOR_WORDS.search(w.content) for w in working)


async def test_a_failure_says_what_to_do_and_retry_makes_the_video(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await behave(pika, fail_jobs=1)
    interaction = generate(fake, "unlucky fox")
    await fake.wait_for_response(interaction)
    working = fake.replies(interaction)[0]
    failed = (
        await fake.wait_for(
            lambda: failures(fake),
            what="the failure",
        )
    )[0]
    await fake.wait_for(lambda: working.deleted, what="the working message removed")
    assert "press **Retry**" in failed.content and not VENDOR_WORDS.search(failed.content)
    retry = button(failed, "retry")
    first = fake.press(REQUESTER, failed, retry)
    assert (await fake.wait_for_response(first))["type"] == 4  # a new working message
    again = await fake.wait_for_response(fake.press(REQUESTER, failed, retry))
    assert again["data"]["flags"] == 64 and again["data"]["content"].startswith("🔁 ")
    result = (await fake.wait_for(lambda: results(fake), what="the retried video"))[0]
    await fake.wait_for(lambda: fake.replies(first)[0].deleted, what="tidy up")
    # One message per job: the failure of the first, the video of the second.
    assert fake.channel_messages(GENERAL) == [failed, result]
    bodies = [c["body"] for c in await calls_to(pika, "/web/generate")]
    assert len(bodies) == 2 and bodies[0]["promptText"] == bodies[1]["promptText"]
    late = await fake.wait_for_response(fake.press(REQUESTER, failed, retry))
    link = f"https://discord.com/channels/{GUILD_ID}/{GENERAL}/{result.id}"
    assert late["data"]["content"] == f"🔁 Already done: {link}"
    stranger = await fake.wait_for_response(fake.press(MEMBER, failed, retry))
    # A failure has no video and one button: "who made this video ... its buttons and
    # reactions" was not about it.
    assert stranger["data"]["content"] == (
        "⛔ Only the member who asked for this video, or a moderator, can retry it."
    )
    assert len(await calls_to(pika, "/web/generate")) == 2


async def test_info_and_job_tell_where_the_video_is_privately_unless_shared(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    result = await delivered(fake, "well documented fox")
    [job_id] = job_ids(fake)
    link = f"https://discord.com/channels/{GUILD_ID}/{GENERAL}/{result.id}"
    info = await fake.wait_for_response(fake.press(MEMBER, result, button(result, "info")))
    assert info["data"]["flags"] == 64
    fields = {f["name"]: f["value"] for f in info["data"]["embeds"][0]["fields"]}
    assert fields["Job"] == f"`{job_id}`"
    assert fields["Video"] == f"uploaded in [the result]({link})"  # it was uploaded, not linked
    assert fields["Status"] == "ready"
    private = await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "job", {"job_id": job_id})
    )
    assert private["data"]["flags"] == 64
    assert private["data"]["embeds"][0]["fields"] == info["data"]["embeds"][0]["fields"]
    assert not private["data"].get("components")  # no second set of buttons, no repost
    shared = await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "job", {"job_id": job_id, "share": True})
    )
    assert not (shared["data"].get("flags") or 0) & 64
    assert not any(a for a in shared["data"].get("attachments") or [])
    everything = str([m.embeds for m in fake.messages.values()]) + str(info)
    assert "127.0.0.1" not in everything


async def test_personal_defaults_fill_requests_under_the_servers_and_show_in_info(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    answer = await fake.wait_for_response(
        fake.slash(
            REQUESTER,
            GENERAL,
            "pika",
            "settings",
            {"aspect_ratio": "9:16", "motion": 3, "zoom": "in", "mention": False},
        )
    )
    shown = answer["data"]["content"]
    assert answer["data"]["flags"] == 64 and shown.startswith("✅ Saved.")
    assert "Aspect ratio: `9:16`" in shown and "Mention me when a video is ready: no" in shown
    await admin(fake, "defaults", {"motion": 2})
    mine = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "settings"))
    assert "Motion: `3` (the server's default, `2`, applies)" in mine["data"]["content"]
    result = await delivered(fake, "my kind of fox")
    body = (await wait_for_call(pika, "/web/generate"))["body"]
    assert body["options"]["aspectRatio"] == "9:16" and body["options"]["camera"]["zoom"] == "in"
    assert body["options"]["parameters"]["motion"] == 2  # the server's default wins
    post = next(  # the working message edited into the result: no new message, no ping
        r.body
        for r in fake.requests_to("PATCH", rf"/messages/{result.id}$")
        if "your video is ready" in (r.body or {}).get("content", "")
    )
    assert not post["allowed_mentions"].get("users")  # no ping, as asked
    info = await fake.wait_for_response(fake.press(REQUESTER, result, button(result, "info")))
    fields = {f["name"]: f["value"] for f in info["data"]["embeds"][0]["fields"]}
    assert fields["Your defaults used"] == "Aspect ratio 9:16, Zoom in"
    # Not to anyone else, privately or in public: they are not theirs, and the requester's own
    # (their negative prompt too) are theirs to show.
    job_id = fields["Job"].strip("`")
    for answer in (
        await fake.wait_for_response(fake.press(MEMBER, result, button(result, "info"))),
        await fake.wait_for_response(
            fake.slash(MEMBER, GENERAL, "pika", "job", {"job_id": job_id})
        ),
        await fake.wait_for_response(
            fake.slash(REQUESTER, GENERAL, "pika", "job", {"job_id": job_id, "share": True})
        ),
    ):
        names = [f["name"] for f in answer["data"]["embeds"][0]["fields"]]
        assert "Status" in names and "Your defaults used" not in names
    others = await fake.wait_for_response(fake.slash(MEMBER, GENERAL, "pika", "settings"))
    assert "Aspect ratio: not set" in others["data"]["content"]


async def test_autocomplete_finds_a_members_videos_by_prompt_and_time_zones_by_city(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await delivered(fake, "a fox on the moon")
    await delivered(fake, "a cat in the rain")
    typed = fake.autocomplete(REQUESTER, GENERAL, "pika", "job", "job_id", "moon")
    answer = await fake.wait_for_response(typed)
    assert answer["type"] == 8
    [choice] = answer["data"]["choices"]
    assert "a fox on the moon" in choice["name"] and JOB_ID.fullmatch(choice["value"])
    assert choice["value"] in job_ids(fake)
    everything = await fake.wait_for_response(
        fake.autocomplete(REQUESTER, GENERAL, "pika", "job", "job_id", "")
    )
    assert len(everything["data"]["choices"]) == 2
    strangers = await fake.wait_for_response(
        fake.autocomplete(MEMBER, GENERAL, "pika", "job", "job_id", "")
    )
    assert strangers["data"]["choices"] == []  # only one's own videos
    zones = await fake.wait_for_response(
        fake.autocomplete(ADMIN, GENERAL, "pika-admin", "timezone", "zone", "paris")
    )
    assert zones["data"]["choices"][0] == {"name": "Europe/Paris", "value": "Europe/Paris"}


async def test_a_suggestion_reads_its_status_after_a_prompt_that_turns_text_around(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    """A right-to-left override in a prompt: the suggestion's status after it read reversed.
    The prompt reads on one line, as typed."""
    await delivered(fake, "a fox\u202e on\tthe\nmoon")
    answer = await fake.wait_for_response(
        fake.autocomplete(REQUESTER, GENERAL, "pika", "job", "job_id", "fox")
    )
    [choice] = answer["data"]["choices"]
    assert choice["name"] == "Video · a fox on the moon · ready", choice


async def test_the_videos_members_get_from_the_local_pika_move(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await admin(fake, "limits", {"running": 5})
    image = ("photo.png", picture(), "image/png")
    asks = [
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "calm", "motion": 1}),
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": "lively", "motion": 4}),
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"motion": 1}, {"image": image}),
    ]
    for interaction in asks:
        await fake.wait_for_response(interaction)
    await fake.wait_for(lambda: len(results(fake)) == 3, timeout=60, what="three videos")
    for result in results(fake):
        shown = frames(result.attachments[0].data)
        moved = np.abs(shown[0].astype(int) - shown[-1].astype(int))[30:300].mean()
        assert moved > 3, (result.embeds[0]["title"], moved)


def add_jobs(path: Path, count: int, status: str, prompt: str, age: float) -> None:
    """Jobs of the requester asked `age` seconds ago (the latest last), written into the bot's
    database, held by another process (so that this bot only lists them)."""
    now = time.time()
    with sqlite3.connect(path) as db:
        for n in range(count):
            active = int(status != "delivered")
            db.execute(
                "INSERT INTO jobs (id, kind, request, channel_id, user_id, status, active, "
                "next_poll_at, created_at, updated_at, guild_id, result_message_id, "
                "claimed_by, claimed_until) VALUES (?, 'ingredients', ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, 'elsewhere', ?)",
                (
                    f"{status[:4]}{n:06d}",
                    json.dumps({"promptText": f"{prompt} {n}"}),
                    GENERAL,
                    REQUESTER,
                    status,
                    active,
                    now + 3600,
                    now - age + n,
                    now,
                    GUILD_ID,
                    None if active else 10**18 + n,
                    now + 3600,
                ),
            )


async def test_a_members_long_listings_fit_in_one_answer(
    fake: FakeDiscord, bot: BotProcess, tmp_path: Path
) -> None:
    # Ten videos with prompts of a sentence, listed in Spanish, and forty in the making (a
    # server may let a member run fifty): past Discord's 2,000 characters `/pika jobs` and
    # `/pika usage` were refused, and the member saw "The application did not respond".
    prompt = "un zorro que corre por un bosque nevado al amanecer, luz de cine, muy detallado"
    add_jobs(tmp_path / "bot.sqlite3", 40, "running", "a_fox_in_the_*snow*", age=2000)
    add_jobs(tmp_path / "bot.sqlite3", 10, "delivered", prompt, age=1000)
    fake.locales[REQUESTER] = "es-ES"
    listed = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "jobs"))
    text = listed["data"]["content"]
    assert len(text) <= 2000 and "un zorro que corre" in text
    shown = text.count("https://discord.com/channels/")
    assert shown >= 8 and (shown == 10 or f"… y {10 - shown} más" in text)
    usage = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "usage"))
    text = usage["data"]["content"]
    assert len(text) <= 2000 and "a\\_fox\\_in\\_the\\_\\*snow\\*" in text
    running = text.count("a\\_fox")
    assert f"… y {40 - running} más" in text


async def test_long_personal_and_server_negative_prompts_fit_the_settings_answer(
    fake: FakeDiscord, bot: BotProcess
) -> None:
    # A member who avoids a paragraph, on a server whose owner avoids another: the line that
    # says the server's wins held both, 2,000 characters and more, and Discord refused the
    # answer ("The application did not respond") although the defaults were saved.
    await admin(fake, "defaults", {"negative_prompt": "blurry, " * 124})
    theirs = "`grainy`, *dark* @everyone " * 37
    answer = await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "settings", {"negative_prompt": theirs})
    )
    text = answer["data"]["content"]
    assert answer["data"]["flags"] == 64 and text.startswith("✅ Saved.")
    assert len(text) <= 2000 and "Avoid: `ˋgrainyˋ, *dark* @everyone" in text
    assert "(the server's default, `blurry, blurry," in text
    assert "Mention me when a video is ready: yes" in text  # nothing after it is lost


async def test_a_member_behind_in_line_is_never_told_an_earlier_time_than_the_one_ahead(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    # An upscale (a kind with no history here: about 90 s) then a video (a few seconds, by the
    # one made before): "place 2" read as ready more than a minute before "place 1".
    result = await delivered(fake, "a fox that sets the pace")
    await admin(fake, "limits", {"running": 5})
    await behave(pika, delay_jobs=2, job_seconds=30)  # Pika holds them "delayed" first
    upscale = fake.press(REQUESTER, result, button(result, "upscale"))
    await fake.wait_for_response(upscale)
    await wait_for_call(pika, "/web/upscale")
    behind = generate(fake, "a fox behind an upscale")
    await fake.wait_for_response(behind)
    ahead_text, behind_text = fake.replies(upscale)[0].content, fake.replies(behind)[0].content
    assert "place **1**" in ahead_text and "place **2**" in behind_text
    ahead_eta, behind_eta = (
        int(re.search(r"ready <t:(\d+):R>", text)[1])  # type: ignore[index]
        for text in (ahead_text, behind_text)
    )
    assert behind_eta >= ahead_eta
