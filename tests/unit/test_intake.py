"""Intake: option values by option name -> the vendor body, and vendor rules named back as
options."""

from __future__ import annotations

from typing import Any

import pytest

from bot import intake
from bot.discord.wording import explain
from bot.errors import InputError
from bot.intake import Media, build, field_of, option_name, read, vendor_options
from bot.pika.media import MediaFacts
from bot.pika.models import (
    Generate10Request,
    Generate15Request,
    Generate20Request,
    Generate21Request,
    InpaintRequest,
    LipSyncRequest,
    OutpaintRequest,
)
from bot.storage import Job, Status

PNG = Media("https://cdn.discordapp.com/a/fox.png", "fox.png", "image/png")
MP4 = "https://cdn.example.org/clip.mp4"


def request(kind: str, **values: Any) -> Any:
    return build(read(kind, values))


def problems(kind: str, **values: Any) -> dict[str, str]:
    with pytest.raises(InputError) as caught:
        request(kind, **values)
    return {option: key for option, key, _ in caught.value.problems}


def parent(**changes: Any) -> Job:
    values: dict[str, Any] = {
        "id": "parent0000",
        "kind": "generate",
        "request": {
            "promptText": "a fox",
            "options": {
                "aspectRatio": "9:16",
                "frameRate": 12,
                "parameters": {"guidanceScale": 20, "motion": 2},
            },
        },
        "channel_id": 2,
        "user_id": 3,
        "status": Status.DELIVERED,
        "next_poll_at": 0.0,
        "created_at": 0.0,
        "updated_at": 0.0,
        "result_url": MP4,
        "duration": 7.0,
    }
    return Job(**(values | changes))


def test_options_map_to_vendor_fields_and_back() -> None:
    for option in ("prompt", "swap_prompt", "effect", "mode", "speech_end", "x", "seed", "pan"):
        assert option_name(field_of(option)) == option
    assert field_of("ingredient_3") == "ingredients[2]"
    assert option_name("ingredients[2]") == "ingredient_3"
    assert field_of("frame_rate") == "options.frameRate"


def test_a_generate_body_from_option_values() -> None:
    made = request("generate", prompt="a fox", image=PNG, frame_rate=12, zoom="in", seed=4)
    assert isinstance(made, Generate10Request)
    body = made.payload()
    assert body["promptText"] == "a fox" and body["image"] == PNG.url
    assert "model" not in body  # model 1.0 is sent as the vendor's examples send it: no model
    assert body["options"]["frameRate"] == 12
    assert body["options"]["camera"] == {"rotate": None, "zoom": "in", "tilt": None, "pan": None}
    assert body["options"]["parameters"]["seed"] == 4


def test_each_kind_gets_its_fixed_fields() -> None:
    assert isinstance(request("generate", prompt="x", model="2.1"), Generate21Request)
    effect = request("pikaffect", effect="Melt", image=PNG)
    assert isinstance(effect, Generate15Request) and effect.model == "1.5"
    mixed = request(
        "ingredients", ingredient_1=PNG, ingredient_2_url=f"{PNG.url}?2", mode="creative"
    )
    assert isinstance(mixed, Generate20Request)
    assert mixed.ingredients == [PNG.url, f"{PNG.url}?2"] and mixed.ingredients_mode == "creative"
    area = request("inpaint", video_url=MP4, prompt="x", x=10, y=0, width=50, height=100)
    assert isinstance(area, InpaintRequest) and area.mode == "inpainting" and area.area.x == 10
    canvas = request(
        "outpaint", video_url=MP4, prompt="x", aspect_ratio="1:1", x=0, y=0, width=100, height=100
    )
    assert isinstance(canvas, OutpaintRequest) and canvas.options.aspect_ratio == "1:1"


def test_layers_of_options_members_over_results_over_server_over_pika() -> None:
    options = vendor_options(
        {"motion": 4, "seed": None},
        base={"frameRate": 12, "parameters": {"motion": 2, "guidanceScale": 20}},
        server={"frame_rate": 8, "aspect_ratio": "1:1", "guidance_scale": 6},
    )
    assert options["parameters"]["motion"] == 4  # the member's own value
    assert options["frameRate"] == 12 and options["parameters"]["guidanceScale"] == 20  # result
    assert options["aspectRatio"] == "1:1"  # the server's default
    assert options["parameters"]["seed"] is None  # an unset value never hides a lower layer


def test_a_result_of_ours_lends_its_prompt_options_and_length() -> None:
    draft = read("reprompt", {"video_url": MP4, "frame_rate": 6})
    made = build(draft, parent=parent())
    assert made.payload()["promptText"] == "a fox"
    assert made.payload()["options"]["frameRate"] == 6
    assert made.payload()["options"]["aspectRatio"] == "9:16"
    speech = "https://cdn.example.org/voice.wav"
    synced = build(read("lipsync", {"video_url": MP4, "speech_url": speech}), parent=parent())
    assert isinstance(synced, LipSyncRequest) and synced.speech_end == 7.0


def test_generate_does_not_inherit_from_a_result() -> None:
    made = build(read("generate", {"video_url": MP4, "prompt": "new"}), parent=parent())
    assert made.payload()["promptText"] == "new"
    assert made.payload()["options"]["frameRate"] == 24


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        (
            "generate",
            {"prompt": "x", "image": PNG, "image_url": PNG.url},
            {"image": "rule.either_not_both"},
        ),
        (
            "generate",
            {"prompt": "x", "image": Media("https://x/a.txt", "a.txt", "text/plain")},
            {"image": "rule.media.image"},
        ),
        (
            "generate",
            {"prompt": "x", "video": Media("https://x/a.mov", "a.mov", "video/quicktime")},
            {"video": "rule.media.video"},
        ),
        ("ingredients", {"prompt": "x"}, {"ingredient_1": "rule.attach_or_url"}),
        ("pikaffect", {"effect": "Melt"}, {"image": "rule.effect_needs_media"}),
        ("additions", {"prompt": "x", "image": PNG}, {"video": "rule.attach_or_url"}),
        ("lipsync", {"video_url": MP4}, {"speech": "rule.attach_or_url"}),
    ],
)
def test_media_rules_name_the_option(
    kind: str, values: dict[str, Any], expected: dict[str, str]
) -> None:
    assert problems(kind, **values) == expected


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("generate", {"prompt": "x", "image": PNG, "video_url": MP4}),
        ("pikaffect", {"effect": "Melt", "image_url": PNG.url, "video_url": MP4}),
    ],
)
def test_an_image_and_a_video_together_are_refused_naming_both(
    kind: str, values: dict[str, Any]
) -> None:
    # Pika makes the video from one of them: the other would be paid for and ignored.
    assert problems(kind, **values) == {"image, video": "rule.image_or_video"}


def test_a_speech_start_past_the_speech_is_refused_naming_speech_start() -> None:
    # speech_end left out is worked out by the bot: the member set only speech_start, and was
    # told speech_end "must be at most the speech's length (12 s > 3 s)".
    speech = "https://cdn.example.org/voice.wav"
    facts = MediaFacts(durations={MP4: 2.0, speech: 3.0})
    draft = read("lipsync", {"video_url": MP4, "speech_url": speech, "speech_start": 10.0})
    with pytest.raises(InputError) as caught:
        build(draft, probed=facts)
    [(option, key, params)] = caught.value.problems
    assert (option, key) == ("speech_start", "rule.speech_start_past_end")
    assert params == {"start": 10, "speech": 3}


def test_a_vendor_rule_on_an_ingredient_names_the_option_the_member_filled() -> None:
    # Ingredients 1 and 3 given, 2 left out: the vendor's second item is the member's third.
    found = problems(
        "ingredients", ingredient_1=PNG, ingredient_3_url="https://cdn.example.org/notes.txt"
    )
    assert found == {"ingredient_3_url": "rule.url.image"}  # the link, as given
    found = problems("ingredients", ingredient_1=PNG, ingredient_4_url="ftp://x.example/a.png")
    assert found == {"ingredient_4_url": "rule.url_scheme"}  # a link that is none, as given


def test_a_link_that_is_none_names_the_url_option_the_member_filled() -> None:
    # It read "video: must be an http:// or https:// URL", naming the option the member had
    # left empty, not the one they filled.
    for value in ("not a link", "ftp://x.example/a.mp4", "https://x.example/" + "a" * 2100):
        with pytest.raises(InputError) as caught:
            read("upscale", {"video_url": value})
        assert caught.value.problems == [("video_url", "rule.url_scheme", {})]


@pytest.mark.parametrize(
    ("kind", "values", "option", "words"),
    [
        ("generate", {"prompt": "x", "frame_rate": 0}, "frame_rate", "must be between 1 and 24"),
        ("generate", {"prompt": "x", "model": "3.0"}, "model", "must be one of"),
        ("generate", {"prompt": "x", "model": "2.1", "style": "Anime"}, "style", "only model 1.0"),
        (
            "swap",
            {"swap_prompt": " ", "prompt": "x", "video_url": MP4, "image": PNG},
            "swap_prompt",
            "must not be empty",
        ),
        (
            "inpaint",
            {"video_url": MP4, "x": 60, "y": 0, "width": 50, "height": 100},
            "x",
            "x + width must be at most 100 (got 60 + 50)",
        ),
        (
            "lipsync",
            {"video_url": MP4, "speech_url": "https://x/v.wav", "speech_start": 3, "speech_end": 1},
            "speech_end",
            "must be after speech_start (got 3 to 1)",
        ),
        ("generate", {}, "prompt", "give a prompt, an image or a video"),
    ],
)
def test_vendor_rules_come_back_in_option_words(
    kind: str, values: dict[str, Any], option: str, words: str
) -> None:
    with pytest.raises(InputError) as caught:
        request(kind, **values)
    # Each is a rule of the catalogue (said in the member's language), none Pika's English.
    assert all(key != "rule.vendor" for _, key, _ in caught.value.problems)
    text = explain(caught.value)
    assert f"{option}: {words}" in text
    assert "speechStart" not in text and "promptText" not in text


def test_an_unknown_kind_is_a_bug_not_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        read("teleport", {})


def test_only_known_media_options_are_paired() -> None:
    assert intake.media_kind("ingredient_4") is intake.MEDIA_KINDS["ingredient"]
    assert intake.media_kind("prompt") is None


@pytest.mark.parametrize(
    ("kind", "values", "lengths", "lang", "told"),
    [
        (
            "extend",
            {"video_url": MP4},
            {MP4: 12.0},
            "fr",
            "vidéo_url : dure 12 s ; une prolongation ajoute 4 s et Pika s'arrête à 15 s",
        ),
        (
            "lipsync",
            {"video_url": MP4, "speech_url": f"{MP4}.wav", "speech_start": 10.0},
            {MP4: 2.0, f"{MP4}.wav": 3.0},
            "de",
            "sprache_anfang: muss vor dem Ende der Sprachaufnahme liegen (10 s >= 3 s)",
        ),
        (
            "lipsync",
            {"video_url": MP4, "speech_url": f"{MP4}.wav", "speech_end": 2.5},
            {MP4: 2.0, f"{MP4}.wav": 3.0},
            "es",
            "fin_voz: fin_voz - inicio_voz no puede superar la duración del vídeo (2.5 s > 2 s)",
        ),
        (
            "lipsync",
            {"video_url": MP4, "speech_url": f"{MP4}.wav", "speech_end": 3.5},
            {MP4: 4.0, f"{MP4}.wav": 3.0},
            "pt-BR",
            "fim_fala: pode ser no máximo a duração da fala (3.5 s > 3 s)",
        ),
    ],
)
def test_rules_on_the_lengths_found_are_told_in_the_members_language(
    kind: str, values: dict[str, Any], lengths: dict[str, float], lang: str, told: str
) -> None:
    # They came from the request models in English: "video: is 12 s long; an extend adds 4 s
    # and Pika stops at 15 s" to a French member too.
    with pytest.raises(InputError) as caught:
        build(read(kind, values), probed=MediaFacts(durations=lengths))
    assert explain(caught.value, lang) == f"⚠️ {told}"


def test_a_link_python_cannot_split_is_refused_by_the_bots_own_rule() -> None:
    """`http://[::1/x.png` (a `[` never closed): the member read Python's "Invalid IPv6 URL", in
    English whatever their language."""
    with pytest.raises(InputError) as caught:
        build(read("generate", {"prompt": "x", "image_url": "http://[::1/x.png"}))
    assert explain(caught.value, "fr") == "⚠️ image_url : doit être une URL http:// ou https://"
