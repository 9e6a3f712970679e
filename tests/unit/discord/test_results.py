"""A result's persistent buttons and embed."""

from __future__ import annotations

import re

from bot.discord.results import CONTROLS, REACTIONS, ControlButton, control_id, result_embed
from bot.storage import Job, Status


def test_every_buttons_custom_id_matches_the_persistent_template() -> None:
    template = re.compile(ControlButton.__discord_ui_compiled_template__.pattern)
    for control in CONTROLS:
        match = template.fullmatch(control_id(control.action, "abcdefghij"))
        assert match is not None and match["action"] == control.action
        assert len(control_id(control.action, "abcdefghij")) <= 100  # Discord's limit
    assert template.fullmatch("pika:explode:abcdefghij") is None
    assert template.fullmatch("pika:extend:ABC") is None


def test_reactions_mirror_the_buttons_except_info() -> None:
    assert list(REACTIONS.values()) == ["extend", "upscale", "reroll"]


def test_the_embed_says_what_was_made() -> None:
    job = Job(
        id="abcdefghij",
        kind="generate",
        request={"promptText": "a fox", "options": {"aspectRatio": "9:16"}},
        channel_id=2,
        user_id=3,
        status=Status.DELIVERED,
        next_poll_at=0.0,
        created_at=0.0,
        updated_at=0.0,
        seed=7,
        duration=3.0,
        result_url="https://x/v.mp4",
        poster_url="https://x/p.jpg",
    )
    embed = result_embed(job, linked=True)
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "a fox" and embed.url == "https://x/v.mp4"
    assert fields == {
        "Model": "1.0",
        "Seed": "7",
        "Aspect ratio": "9:16",
        "Length": "3 s",
        "Job": "`abcdefghij`",
    }
    assert embed.image.url == "https://x/p.jpg"
    assert result_embed(job, linked=False).url is None
