"""A result's persistent buttons and embed, the Retry button, and the Info embed."""

from __future__ import annotations

import re

from bot.discord.results import (
    CONTROLS,
    REACTIONS,
    RETRY,
    ControlButton,
    control_id,
    info_embed,
    result_embed,
    result_message,
    result_view,
    retry_view,
    video_filename,
    video_line,
)
from bot.discord.texts import undeliverable_text
from bot.storage import Job, Status

LOCAL = "http://127.0.0.1:8765/files/j/v.mp4"
# Pika's result URLs carry the prompt: 300 characters of Japanese are 2,700 once encoded.
LONG = "https://cdn.pika.art/v1/abc/" + "%E7%8C%AB" * 300 + "_seed1.mp4"


def job(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": "abcdefghij",
        "kind": "generate",
        "request": {"promptText": "a fox", "options": {"aspectRatio": "9:16"}},
        "channel_id": 2,
        "user_id": 3,
        "guild_id": 1,
        "status": Status.DELIVERED,
        "next_poll_at": 0.0,
        "created_at": 1_700_000_000.0,
        "updated_at": 0.0,
        "seed": 7,
        "duration": 3.0,
        "result_url": "https://cdn.example.org/v.mp4",
        "poster_url": "https://cdn.example.org/p.jpg",
        "result_message_id": 99,
    }
    return Job(**(values | changes))  # type: ignore[arg-type]


def test_every_buttons_custom_id_matches_the_persistent_template() -> None:
    template = re.compile(ControlButton.__discord_ui_compiled_template__.pattern)
    for control in (*CONTROLS, RETRY):
        match = template.fullmatch(control_id(control.action, "abcdefghij"))
        assert match is not None and match["action"] == control.action
        assert len(control_id(control.action, "abcdefghij")) <= 100  # Discord's limit
    assert template.fullmatch("pika:explode:abcdefghij") is None
    assert template.fullmatch("pika:extend:ABC") is None
    assert control_id("retry", "abcdefghij") == "pika:retry:abcdefghij"


def test_reactions_mirror_the_buttons_except_info() -> None:
    assert list(REACTIONS.values()) == ["extend", "upscale", "reroll"]


def test_buttons_are_labelled_in_the_members_language() -> None:
    labels = [item.item.label for item in result_view(job(locale="de")).children]  # type: ignore[attr-defined]
    assert labels == ["Verlängern", "Hochskalieren", "Neu würfeln", "Info"]
    [retry] = retry_view(job(locale="pt-BR")).children
    assert retry.item.label == "Tentar de novo"  # type: ignore[attr-defined]


def test_the_public_embed_says_what_was_made_without_ids() -> None:
    embed = result_embed(job(parent_job_id="parent0000"), parent_link="https://discord.com/x")
    fields = {f.name: f.value for f in embed.fields}
    assert embed.title == "a fox"
    assert fields == {
        "Model": "Pika 1.0",
        "Seed": "7",
        "Aspect ratio": "9:16",
        "Length": "3 s",
        "Made from": "[this video](https://discord.com/x)",
    }
    assert "abcdefghij" not in str(embed.to_dict()) and "parent0000" not in str(embed.to_dict())


def test_an_upscale_and_a_video_without_a_shape_show_no_empty_fields() -> None:
    embed = result_embed(job(kind="upscale", request={"video": "https://x/v.mp4"}))
    assert [f.name for f in embed.fields] == ["Length"]


def test_an_upscale_is_shown_and_named_under_the_prompt_it_was_made_from() -> None:
    parent = job(request={"promptText": "Ein Fuchs läuft"}, result_message_id=77)
    upscale = job(kind="upscale", request={"video": "https://x/v.mp4"}, parent_job_id=parent.id)
    sent = result_message(upscale, parent, None, None)
    assert sent["embed"].title == "Ein Fuchs läuft"
    assert video_filename(upscale, "Ein Fuchs läuft") == "ein-fuchs-lauft.mp4"
    assert result_message(upscale, None, None, None)["embed"].title == "Upscale"


def test_a_lip_sync_shows_neither_a_model_nor_a_seed_it_never_had() -> None:
    request = {"video": "https://x/v.mp4", "speech": "https://x/a.wav", "speechEnd": 2}
    embed = result_embed(job(kind="lipsync", request=request, seed=None))
    assert [f.name for f in embed.fields] == ["Length"]


def test_a_kind_with_a_seed_shows_it_or_says_it_was_random() -> None:
    fields = {f.name: f.value for f in result_embed(job(kind="extend", seed=None)).fields}
    assert fields["Seed"] == "random" and fields["Model"] == "Pika 1.0"


def test_info_says_where_the_video_is_truthfully() -> None:
    link = "https://discord.com/channels/1/2/99"
    assert video_line(job(), "en", result_link=link, posted="uploaded") == (
        f"uploaded in [the result]({link})"
    )
    linked = video_line(job(), "en", result_link=link, posted="linked")
    assert linked == "too large to upload; [open it](https://cdn.example.org/v.mp4)"
    local = video_line(job(result_url=LOCAL), "en", result_link=link, posted="linked")
    assert "127.0.0.1" not in local and "bot's own machine" in local
    assert video_line(job(), "en", result_link=link, posted="deleted") == (
        "the result message was deleted"
    )


def test_the_info_embed_has_the_id_the_options_and_the_defaults_used() -> None:
    embed = info_embed(job(personal={"aspect_ratio": "9:16", "motion": 3}), "en", video="uploaded")
    fields = {f.name: f.value for f in embed.fields}
    assert fields["Job"] == "`abcdefghij`"
    assert fields["Status"] == "ready"
    assert fields["Video"] == "uploaded"
    assert fields["Your defaults used"] == "Aspect ratio 9:16, Motion 3"


def test_a_video_too_large_to_upload_is_linked_within_discords_limits() -> None:
    linked = result_message(job(), None, None, None)["embed"]
    assert linked.url == "https://cdn.example.org/v.mp4"
    assert "[open the video](https://cdn.example.org/v.mp4)" in (linked.description or "")
    assert linked.image.url == "https://cdn.example.org/p.jpg"
    # A link past Discord's 2,048 characters in an embed made every post of the result
    # refused (400), six times, then "Discord kept failing": its first frame is shown instead.
    sent = result_message(job(result_url=LONG, poster_url=LONG + ".jpg"), None, None, b"jpeg")
    embed = sent["embed"]
    assert embed.url is None and LONG not in (embed.description or "")
    assert "link is too long for Discord" in (embed.description or "")
    assert embed.image.url == "attachment://poster.jpg"
    assert [f.filename for f in sent["attachments"]] == ["poster.jpg"]


def test_info_points_to_the_result_when_the_link_does_not_fit_a_field() -> None:
    link = "https://discord.com/channels/1/2/99"
    line = video_line(job(result_url=LONG), "en", result_link=link, posted="linked")
    assert line == f"in [the result]({link})"  # a link cut at 1,024 characters opens nothing
    embed = info_embed(job(result_url=LONG), "en", video=line)
    assert all(len(field.value or "") <= 1024 for field in embed.fields)


# Pika names a result after its prompt (`<prompt>_seed<seed>.mp4`), and a URL's path may hold
# spaces (encoded), brackets and parentheses: a member's prompt can end our link and add its own.
PROMPTED = "https://cdn.pika.art/v1/u/fox)%20[Claim%20your%20prize](https://evil.example/_seed1.mp4"
MASKED_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")


def test_a_result_link_made_from_a_prompt_stays_one_link_to_the_video() -> None:
    prompted = job(result_url=PROMPTED, poster_url=None)
    texts = {
        "the result": str(result_message(prompted, None, None, None)["embed"].description),
        "info": video_line(prompted, "en", result_link="https://x.example/", posted="linked"),
    }
    for where, text in texts.items():
        links = MASKED_LINK.findall(text)
        assert len(links) == 1, (where, text)
        target = links[0][1]
        assert target.startswith("https://cdn.pika.art/v1/u/fox") and target.endswith(
            "_seed1.mp4"
        ), (where, text)
    dm = undeliverable_text(prompted)
    assert not MASKED_LINK.search(dm) and "_seed1.mp4" in dm


def test_only_a_simulated_result_says_it_is_simulated() -> None:
    assert "Simulated" not in str(result_embed(job()).footer.text)
    footer = str(result_embed(job(), simulated=True).footer.text)
    assert footer.startswith("⏩ extend")
    assert "Simulated by this bot's built-in local Pika" in footer


def test_the_video_file_is_named_after_the_prompt_with_its_accents_dropped() -> None:
    # Cut at each accented letter, "läuft über die Straße" was named l-uft-ber-die-stra-e.mp4.
    def named(prompt: str) -> str:
        return video_filename(job(request={"promptText": prompt}))

    assert named("Ein Fuchs läuft über die Straße 🦊") == "ein-fuchs-lauft-uber-die-strasse.mp4"
    assert named("un café, l'été") == "un-cafe-l-ete.mp4"
    assert named("雪の中の狐") == "pika-video.mp4"


def test_a_long_prompt_full_of_markdown_is_cut_as_words_in_the_title() -> None:
    """Escaped, 250 asterisks are 500 characters: cut after escaping, the title ended in a lone
    backslash, and nothing said the prompt was cut."""
    prompt = "a " + "*" * 600
    for embed in (result_embed(job(request={"promptText": prompt})),
                  info_embed(job(request={"promptText": prompt}), "en", video="-")):  # fmt: skip
        title = embed.title or ""
        assert len(title) <= 256 and title.endswith("\\*…"), title
        assert title.startswith("a \\*\\*")


def test_a_prompt_with_nothing_to_show_is_titled_by_its_kind() -> None:
    invisible = job(request={"promptText": "\u202e\u200f"})
    assert result_embed(invisible).title == "Video"
    assert info_embed(invisible, "fr", video="-").title == "Vidéo"
