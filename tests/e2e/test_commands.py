"""Every `/pika` subcommand as a member uses it: the synced definitions, happy paths, bad input."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.pika.local.app import LocalPika
from tests.e2e.harness import (
    BotProcess,
    prerendered_videos,
    private_answer,
    public_answer,
    results,
)
from tests.fake_discord import FakeDiscord
from tests.fake_discord.world import ADMIN, GENERAL, GUILD_ID, REQUESTER, Message
from tests.helpers.local_pika import calls_to, pika_calls
from tests.media import mp4, png, wav

COMMON = [
    "aspect_ratio",
    "frame_rate",
    "motion",
    "guidance_scale",
    "negative_prompt",
    "seed",
    "zoom",
    "pan",
    "tilt",
    "rotate",
]
TABLE: dict[str, list[str]] = {
    "generate": ["prompt", "image", "image_url", "video", "video_url", "model", "style", "sfx",
                 *COMMON],
    "pikaffect": ["effect", "image", "image_url", "video", "video_url", "prompt", *COMMON],
    "ingredients": ["ingredient_1", "ingredient_1_url", "ingredient_2", "ingredient_2_url",
                    "ingredient_3", "ingredient_3_url", "ingredient_4", "ingredient_4_url",
                    "prompt", "mode", *COMMON],
    "additions": ["prompt", "video", "video_url", "image", "image_url", *COMMON],
    "swap": ["swap_prompt", "prompt", "video", "video_url", "image", "image_url", *COMMON],
    "reprompt": ["video", "video_url", "prompt", *COMMON],
    "edit": ["video", "video_url", "prompt", "style", *COMMON],
    "inpaint": ["video", "video_url", "prompt", "x", "y", "width", "height", "style", *COMMON],
    "outpaint": ["prompt", "aspect_ratio", "video", "video_url", "x", "y", "width", "height",
                 *[c for c in COMMON if c != "aspect_ratio"]],
    "extend": ["video", "video_url", "prompt", *COMMON],
    "upscale": ["video", "video_url"],
    "lipsync": ["video", "video_url", "speech", "speech_url", "speech_start", "speech_end"],
    "job": ["job_id", "share"],
    "jobs": [],
    "usage": [],
    "settings": ["aspect_ratio", "model", "motion", "guidance_scale", "negative_prompt", "zoom",
                 "pan", "tilt", "rotate", "mention", "reset"],
}  # fmt: skip
REQUIRED = {
    "pikaffect": {"effect"},
    "additions": {"prompt"},
    "swap": {"swap_prompt", "prompt"},
    "outpaint": {"prompt", "aspect_ratio"},
    "job": {"job_id"},
}


def subcommands(fake: FakeDiscord) -> dict[str, dict[str, Any]]:
    """The synced `/pika` subcommands by name."""
    pika = next(c for c in fake.commands[GUILD_ID] if c["name"] == "pika")
    return {s["name"]: s for s in pika["options"]}


def bounds(option: dict[str, Any]) -> tuple[Any, Any]:
    """The range Discord enforces on a number option."""
    return option["min_value"], option["max_value"]


async def test_the_synced_commands_match_the_table(fake: FakeDiscord, bot: BotProcess) -> None:
    synced = subcommands(fake)
    assert set(synced) == set(TABLE)
    for name, expected in TABLE.items():
        options = {o["name"]: o for o in synced[name].get("options", [])}
        assert set(options) == set(expected), name
        required = {o for o, spec in options.items() if spec.get("required")}
        assert required == REQUIRED.get(name, set()), name
    generate = {o["name"]: o for o in synced["generate"]["options"]}
    assert bounds(generate["frame_rate"]) == (1, 24)
    assert bounds(generate["motion"]) == (1, 4)
    assert bounds(generate["guidance_scale"]) == (5, 25)
    assert generate["prompt"]["max_length"] == 1000
    ratios = [c["value"] for c in generate["aspect_ratio"]["choices"]]
    assert ratios == ["16:9", "9:16", "1:1", "5:2", "4:5", "4:3"]
    assert [c["value"] for c in generate["model"]["choices"]] == ["1.0", "2.1"]
    camera = {
        "zoom": ["in", "out"],
        "pan": ["left", "right"],
        "tilt": ["up", "down"],
        "rotate": ["cw", "ccw"],
    }
    for axis, values in camera.items():
        assert [c["value"] for c in generate[axis]["choices"]] == values
    assert generate["image"]["type"] == 11 and generate["image_url"]["type"] == 3
    effects = {o["name"]: o for o in synced["pikaffect"]["options"]}["effect"]["choices"]
    assert len(effects) == 22
    inpaint = {o["name"]: o for o in synced["inpaint"]["options"]}
    assert bounds(inpaint["x"]) == (0, 100)
    menus = [c for c in fake.commands[GUILD_ID] if c["type"] == 3]
    assert sorted(m["name"] for m in menus) == ["Extend video", "Upscale video"]
    pika = next(c for c in fake.commands[GUILD_ID] if c["name"] == "pika")
    for command in (pika, *menus):  # servers only: in DMs no guardrails would apply
        assert command["contexts"] == [0], command["name"]


# --- happy paths -----------------------------------------------------------------------------


async def made_video(fake: FakeDiscord, pika: LocalPika, prompt: str = "a source") -> str:
    """A result of ours to work on; returns its Pika result URL."""
    await fake.wait_for_response(
        fake.slash(REQUESTER, GENERAL, "pika", "generate", {"prompt": prompt, "frame_rate": 8})
    )
    await fake.wait_for(lambda: results(fake), what="the source video")
    job = next(j for j in pika.jobs.values() if j.rendered and not j.error)
    return pika.result_url(job)


async def run(
    fake: FakeDiscord,
    sub: str,
    options: dict[str, Any],
    files: dict[str, tuple[str, bytes, str]] | None = None,
    count: int = 1,
) -> Message:
    """Use `/pika <sub>` as the requester; return the `count`-th result in #general."""
    interaction = fake.slash(REQUESTER, GENERAL, "pika", sub, options, files)
    await public_answer(fake, interaction)
    await fake.wait_for(lambda: len(results(fake)) >= count, timeout=30, what=f"the {sub} result")
    return results(fake)[count - 1]


async def sent(pika: LocalPika, path: str) -> dict[str, Any]:
    """The body of the latest call the local Pika received on `path`."""
    found = await calls_to(pika, path)
    assert found, f"no call to {path}"
    body: dict[str, Any] = found[-1]["body"]
    return body


IMAGE = ("cat.png", png((200, 120, 40)), "image/png")
VIDEO = ("clip.mp4", mp4(seconds=2.0), "video/mp4")
SPEECH = ("voice.wav", wav(seconds=3.0), "audio/wav")


async def test_generate_from_text_and_from_an_attached_image(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await run(
        fake,
        "generate",
        {
            "prompt": "a fox",
            "aspect_ratio": "9:16",
            "zoom": "in",
            "motion": 3,
            "seed": 5,
            "style": "Anime",
            "sfx": True,
        },
    )
    body = await sent(pika, "/web/generate")
    assert body["options"]["aspectRatio"] == "9:16" and body["options"]["camera"]["zoom"] == "in"
    assert body["options"]["parameters"] == {
        "guidanceScale": 12,
        "motion": 3,
        "negativePrompt": "",
        "seed": 5,
    }
    assert body["style"] == "Anime" and body["sfx"] is True and "model" not in body
    result = await run(
        fake, "generate", {"prompt": "the cat", "model": "2.1"}, {"image": IMAGE}, count=2
    )
    body = await sent(pika, "/web/generate")
    assert body["model"] == "2.1" and body["image"].endswith("/cat.png")
    assert result.attachments[0].filename.endswith(".mp4")


async def test_pikaffect_with_an_image_url(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    url = fake.attachment("dog.png", png(), "image/png").url
    await run(fake, "pikaffect", {"effect": "Melt", "image_url": url})
    body = await sent(pika, "/web/generate")
    assert (body["model"], body["pikaffect"], body["image"]) == ("1.5", "Melt", url)


async def test_ingredients_from_attachments_and_urls(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    second = fake.attachment("b.png", png((0, 0, 255)), "image/png").url
    await run(
        fake,
        "ingredients",
        {"prompt": "together", "mode": "creative", "ingredient_2_url": second},
        {"ingredient_1": IMAGE},
    )
    body = await sent(pika, "/web/generate")
    assert body["model"] == "2.0" and body["ingredientsMode"] == "creative"
    assert len(body["ingredients"]) == 2 and body["ingredients"][1] == second


async def test_additions_and_swap(fake: FakeDiscord, pika: LocalPika, bot: BotProcess) -> None:
    image_url = fake.attachment("sun.png", png((250, 250, 0)), "image/png").url
    await run(
        fake, "additions", {"prompt": "add the sun", "image_url": image_url}, {"video": VIDEO}
    )
    body = await sent(pika, "/web/generate")
    assert (
        body["model"] == "Turbo" and body["image"] == image_url and body["video"].endswith(".mp4")
    )
    await run(
        fake,
        "swap",
        {"swap_prompt": "the middle", "prompt": "a sun"},
        {"video": VIDEO, "image": IMAGE},
        count=2,
    )
    body = await sent(pika, "/web/generate")
    assert body["swapPrompt"] == "the middle" and body["promptText"] == "a sun"


async def test_reprompt_and_edit_take_a_known_results_prompt_and_options(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    source = await made_video(fake, pika, "robed villain")
    await run(fake, "reprompt", {"video_url": source, "prompt": "robed hero"}, count=2)
    body = await sent(pika, "/web/generate")
    assert body["video"] == source and body["promptText"] == "robed hero"
    assert body["options"]["frameRate"] == 8  # the source's options are the defaults
    await run(fake, "edit", {"video_url": source, "style": "Moody"}, count=3)
    body = await sent(pika, "/web/generate")
    assert body["promptText"] == "robed villain" and body["style"] == "Moody"


async def test_inpaint_and_outpaint(fake: FakeDiscord, pika: LocalPika, bot: BotProcess) -> None:
    await run(
        fake,
        "inpaint",
        {"prompt": "a moon", "x": 50, "y": 0, "width": 50, "height": 50},
        {"video": VIDEO},
    )
    body = await sent(pika, "/web/adjust")
    assert body["mode"] == "inpainting"
    assert body["area"] == {"x": 50.0, "y": 0.0, "width": 50.0, "height": 50.0}
    await run(
        fake, "outpaint", {"prompt": "wider", "aspect_ratio": "1:1"}, {"video": VIDEO}, count=2
    )
    body = await sent(pika, "/web/adjust")
    assert body["mode"] == "outpainting" and body["options"]["aspectRatio"] == "1:1"


@prerendered_videos
async def test_extend_upscale_and_lipsync(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    source = await made_video(fake, pika)
    await run(fake, "extend", {"video_url": source, "prompt": "and then"}, count=2)
    assert (await sent(pika, "/web/extend"))["video"] == source
    await run(fake, "upscale", {"video_url": source}, count=3)
    assert (await sent(pika, "/web/upscale")) == {"video": source}
    await run(
        fake,
        "lipsync",
        {"video_url": source, "speech_start": 0.5, "speech_end": 2.5},
        {"speech": SPEECH},
        count=4,
    )
    body = await sent(pika, "/web/lipSync")
    assert (body["speechStart"], body["speechEnd"]) == (0.5, 2.5)
    assert body["speech"].endswith("/voice.wav")


async def test_jobs_lists_a_members_videos_with_links_and_no_ids(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    await made_video(fake, pika, "listed fox")
    result = results(fake)[0]
    link = f"https://discord.com/channels/{GUILD_ID}/{GENERAL}/{result.id}"
    for _ in range(50):  # the result is posted a moment before the job is recorded as done
        listing = await fake.wait_for_response(fake.slash(REQUESTER, GENERAL, "pika", "jobs"))
        if "ready" in listing["data"]["content"]:
            break
        await asyncio.sleep(0.1)
    assert listing["data"]["flags"] == 64
    line = listing["data"]["content"]
    assert line.startswith(f"[Video]({link}) “listed fox” · ready · <t:")
    ids = {
        str(c["custom_id"]).rsplit(":", 1)[1]
        for row in result.components
        for c in row["components"]
    }
    assert not any(i in line for i in ids)


# --- bad input -------------------------------------------------------------------------------

TXT = ("notes.txt", b"hello", "text/plain")
MOV = ("clip.mov", b"\x00\x00\x00\x18ftypqt  ", "video/quicktime")
MP3 = ("voice.mp3", b"ID3", "audio/mpeg")
A = "https://cdn.example.org/a"
INVALID: list[tuple[str, dict[str, Any], dict[str, tuple[str, bytes, str]], str]] = [
    ("generate", {"prompt": "x", "frame_rate": 0}, {}, "frame_rate: must be between 1 and 24"),
    ("generate", {"prompt": "x", "frame_rate": 25}, {}, "frame_rate: must be between 1 and 24"),
    ("generate", {"prompt": "x", "motion": 0}, {}, "motion: must be between 1 and 4"),
    ("generate", {"prompt": "x", "motion": 5}, {}, "motion: must be between 1 and 4"),
    ("generate", {"prompt": "x", "guidance_scale": 4}, {}, "guidance_scale: must be between 5 and 25"),
    ("generate", {"prompt": "x", "guidance_scale": 26}, {}, "guidance_scale: must be between 5 and 25"),
    ("generate", {"prompt": "x", "aspect_ratio": "21:9"}, {}, "aspect_ratio: must be one of"),
    ("generate", {"prompt": "x", "zoom": "sideways"}, {}, "zoom: must be one of 'in', 'out'"),
    ("generate", {"prompt": "x", "pan": "up"}, {}, "pan: must be one of 'left', 'right'"),
    ("generate", {"prompt": "x", "rotate": "spin"}, {}, "rotate: must be one of 'cw', 'ccw'"),
    ("generate", {"prompt": "x", "model": "3.0"}, {}, "model: must be one of"),
    ("generate", {"prompt": "x", "model": "2.1", "style": "Anime"}, {}, "style: only model 1.0 accepts style"),
    ("generate", {"prompt": "p" * 1001}, {}, "prompt: must be at most 1000 characters"),
    ("generate", {"prompt": "x", "negative_prompt": "n" * 1001}, {}, "negative_prompt: must be at most 1000"),
    ("generate", {}, {}, "prompt: give a prompt, an image or a video"),
    ("generate", {"prompt": "x", "seed": -1}, {}, "seed: must be between 0 and"),
    ("generate", {"prompt": "x", "image_url": f"{A}.png"}, {"image": IMAGE}, "image: give either `image` or `image_url`, not both"),
    ("generate", {"prompt": "x", "image_url": "ftp://cdn.example.org/a.png"}, {}, "image_url: must be an http:// or https:// URL"),
    ("generate", {"prompt": "x", "image_url": f"{A}.bmp"}, {}, "image_url: must be a .png, .jpeg, .jpg, .webp or .gif image"),
    ("generate", {"prompt": "x"}, {"image": TXT}, "image: must be a .png, .jpeg, .jpg, .webp or .gif image"),
    ("generate", {"prompt": "x"}, {"video": MOV}, "video: must be an .mp4 video"),
    ("pikaffect", {"effect": "Vaporize", "image_url": f"{A}.png"}, {}, "effect: must be one of"),
    ("pikaffect", {"effect": "Melt"}, {}, "image: attach an image or a video"),
    ("ingredients", {"prompt": "x"}, {}, "ingredient_1: attach a file as `ingredient_1`"),
    ("ingredients", {"ingredient_1_url": f"{A}.png", "ingredient_2_url": f"{A}.mp4"}, {}, "ingredient_2_url: must be a .png"),
    ("ingredients", {"ingredient_1_url": f"{A}.png", "mode": "wild"}, {}, "mode: must be one of"),
    ("additions", {"prompt": "x", "image_url": f"{A}.png"}, {}, "video: attach a file as `video`"),
    ("additions", {"prompt": "x", "video_url": f"{A}.mp4"}, {}, "image: attach a file as `image`"),
    ("swap", {"swap_prompt": " ", "prompt": "x", "video_url": f"{A}.mp4", "image_url": f"{A}.png"}, {}, "swap_prompt: must not be empty"),
    ("reprompt", {"video_url": f"{A}.mp4"}, {"video": VIDEO}, "video: give either `video` or `video_url`, not both"),
    ("edit", {"video_url": f"{A}.mp4", "style": "Cyberpunk"}, {}, "style: must be one of"),
    ("inpaint", {"video_url": f"{A}.mp4", "x": 60, "width": 50}, {}, "x: x + width must be at most 100 (got 60 + 50)"),
    ("inpaint", {"video_url": f"{A}.mp4", "y": 50, "height": 60}, {}, "y + height must be at most 100"),
    ("inpaint", {"video_url": f"{A}.mp4", "x": 120, "width": 0}, {}, "x: must be between 0 and 100"),
    ("inpaint", {"prompt": "x"}, {}, "video: attach a file as `video`"),
    ("outpaint", {"prompt": "x", "aspect_ratio": "21:9", "video_url": f"{A}.mp4"}, {}, "aspect_ratio: must be one of"),
    ("extend", {"video_url": f"{A}.webm"}, {}, "video_url: must be an .mp4 video"),
    ("upscale", {"video_url": "not a url"}, {}, "video_url: must be an http:// or https:// URL"),
    ("lipsync", {"video_url": f"{A}.mp4", "speech_start": 3, "speech_end": 1}, {"speech": SPEECH}, "speech_end: must be after speech_start (got 3 to 1)"),
    ("lipsync", {"video_url": f"{A}.mp4"}, {"speech": MP3}, "speech: must be a .wav audio file"),
    ("lipsync", {"video_url": f"{A}.mp4"}, {}, "speech: attach a file as `speech`"),
    ("job", {"job_id": "nosuchjob0"}, {}, "job_id: none of your videos here has the id `nosuchjob0`"),
    # Crafted interactions, which Discord's client would never send: the bot checks by itself.
    ("generate", {"prompt": "x", "motion": True}, {}, "motion: must be a whole number"),
    ("generate", {"prompt": "x", "frame_rate": 2.5}, {}, "frame_rate: must be a whole number"),
    ("generate", {"prompt": "x", "model": "2.0"}, {}, "model: must be one of '1.0', '2.1'"),
    ("generate", {"prompt": "x", "sfx": 1}, {}, "sfx: must be true or false"),
    ("generate", {"prompt": 42}, {}, "prompt: must be text"),
    ("generate", {"prompt": "x", "image": "1234567890123"}, {}, "image: the file was not found; attach it again"),
    ("inpaint", {"video_url": f"{A}.mp4", "x": True}, {}, "x: must be a number"),
    ("lipsync", {"video_url": f"{A}.mp4", "speech_url": f"{A}.wav", "speech_end": 7200}, {}, "speech_end: must be between 0 and 3600"),
    ("job", {"job_id": "j" * 5000}, {}, "job_id: must be at most 40 characters (got 5000)"),
    ("pikaffect", {"image_url": f"{A}.png"}, {}, "effect: is required"),
    ("swap", {"video_url": f"{A}.mp4", "image_url": f"{A}.png"}, {}, "swap_prompt: is required\nprompt: is required"),
]  # fmt: skip


async def test_bad_input_is_answered_ephemerally_with_the_rule_and_costs_nothing(
    fake: FakeDiscord, pika: LocalPika, bot: BotProcess
) -> None:
    assert len(INVALID) >= 30
    for sub, options, files, rule in INVALID:
        interaction = fake.slash(REQUESTER, GENERAL, "pika", sub, options, files)
        text = await private_answer(fake, interaction)
        assert rule in text, (sub, options, text)
    assert await pika_calls(pika) == []  # not one call, paid or not
    assert fake.channel_messages(GENERAL) == []  # nothing public either


async def test_admin_options_are_checked_by_the_bot_too(fake: FakeDiscord, bot: BotProcess) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("blocked", {"add": "b" * 5000}, "add: must be at most 200 characters (got 5000)"),
        ("limits", {"running": 0}, "running: must be between 1 and 50"),
        ("paid-features", {"allowed": 1}, "allowed: must be true or false"),
        ("timezone", {}, "zone: is required"),
    ]
    for sub, options, rule in cases:
        answer = await fake.wait_for_response(
            fake.slash(ADMIN, GENERAL, "pika-admin", sub, options)
        )
        assert answer["data"]["flags"] == 64
        assert rule in answer["data"]["content"], (sub, answer["data"]["content"])
