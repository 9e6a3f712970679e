"""Every rule of the vendor page on both sides of its boundary, and the exact JSON sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.pika.errors import InvalidRequest
from bot.pika.media import MediaFacts
from bot.pika.models import (
    PIKAFFECTS,
    STYLES,
    AdditionsRequest,
    CreateJobResponse,
    EditRequest,
    ExtendRequest,
    Generate10Request,
    Generate15Request,
    Generate20Request,
    Generate21Request,
    InpaintRequest,
    JobResponse,
    JobStatus,
    LipSyncRequest,
    OutpaintRequest,
    PikaBody,
    PikaRequestModel,
    RepromptRequest,
    SwapRequest,
    UpscaleJobRequest,
    UpscaleRequest,
    parse_adjust,
    parse_generate,
    validate_request,
)

IMG = "https://cdn.example.org/a/image.jpg"
VID = "https://cdn.pika.art/v1/abc/robed_villain_seed1.mp4"
WAV = "https://cdn.example.org/a/voice.wav"


def options(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "aspectRatio": "16:9",
        "frameRate": 24,
        "camera": {"rotate": None, "zoom": None, "tilt": None, "pan": None},
        "parameters": {"guidanceScale": 12, "motion": 1, "negativePrompt": "", "seed": None},
        "extend": False,
    }
    return base | changes


def params(**changes: Any) -> dict[str, Any]:
    return options(parameters={"guidanceScale": 12, "motion": 1} | changes)


def problems(
    cls: type[PikaBody], body: dict[str, Any], facts: MediaFacts | None = None
) -> list[str]:
    with pytest.raises(InvalidRequest) as caught:
        validate_request(cls, body, facts)
    return [str(p) for p in caught.value.problems]


def ok(cls: type[PikaBody], body: dict[str, Any], facts: MediaFacts | None = None) -> PikaBody:
    return validate_request(cls, body, facts)


def gen(**fields: Any) -> dict[str, Any]:
    return {"promptText": "a fox", "options": options()} | fields


# --- numeric ranges, both sides ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "good"), [(0, False), (1, True), (24, True), (25, False)])
def test_frame_rate_is_1_to_24(value: int, good: bool) -> None:
    body = gen(options=options(frameRate=value))
    if good:
        ok(Generate10Request, body)
    else:
        assert problems(Generate10Request, body) == ["options.frameRate: must be between 1 and 24"]


@pytest.mark.parametrize(("value", "good"), [(0, False), (1, True), (4, True), (5, False)])
def test_motion_is_1_to_4(value: int, good: bool) -> None:
    body = gen(options=params(motion=value))
    if good:
        ok(Generate10Request, body)
    else:
        assert problems(Generate10Request, body) == [
            "options.parameters.motion: must be between 1 and 4"
        ]


@pytest.mark.parametrize(
    ("value", "good"),
    [(4, False), (4.99, False), (5, True), (25, True), (25.01, False), (26, False)],
)
def test_guidance_scale_is_5_to_25(value: float, good: bool) -> None:
    body = gen(options=params(guidanceScale=value))
    if good:
        ok(Generate10Request, body)
    else:
        assert problems(Generate10Request, body) == [
            "options.parameters.guidanceScale: must be between 5 and 25"
        ]


@pytest.mark.parametrize("field", ["frameRate"])
@pytest.mark.parametrize("value", ["fast", None, 12.5])
def test_frame_rate_must_be_a_whole_number(field: str, value: Any) -> None:
    msgs = problems(Generate10Request, gen(options=options(**{field: value})))
    assert msgs == [f"options.{field}: must be a whole number"]


def test_options_frame_rate_and_parameters_are_required() -> None:
    body = gen(options={"aspectRatio": "16:9"})
    assert problems(Generate10Request, body) == [
        "options.frameRate: is required",
        "options.parameters: is required",
    ]
    assert problems(Generate10Request, {"promptText": "x"}) == ["options: is required"]


def test_parameters_need_motion_and_guidance() -> None:
    body = gen(options=options(parameters={}))
    assert problems(Generate10Request, body) == [
        "options.parameters.guidanceScale: is required",
        "options.parameters.motion: is required",
    ]


@given(st.integers(min_value=-1000, max_value=1000))
def test_frame_rate_property(value: int) -> None:
    body = gen(options=options(frameRate=value))
    if 1 <= value <= 24:
        ok(Generate10Request, body)
    else:
        with pytest.raises(InvalidRequest):
            ok(Generate10Request, body)


# --- area ------------------------------------------------------------------------------------


def adjust(area: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"mode": "inpainting", "video": VID, "options": options(), "area": area} | fields


@pytest.mark.parametrize("key", ["x", "y", "width", "height"])
@pytest.mark.parametrize(("value", "good"), [(-1, False), (0, True), (100, True), (101, False)])
def test_area_values_are_0_to_100(key: str, value: int, good: bool) -> None:
    area = {"x": 0, "y": 0, "width": 0, "height": 0} | {key: value}
    if good:
        ok(InpaintRequest, adjust(area))
    else:
        assert f"area.{key}: must be between 0 and 100" in problems(InpaintRequest, adjust(area))


def test_x_plus_width_at_most_100() -> None:
    ok(InpaintRequest, adjust({"x": 80, "y": 0, "width": 20, "height": 10}))
    assert problems(InpaintRequest, adjust({"x": 80, "y": 0, "width": 21, "height": 10})) == [
        "area.x: x + width must be at most 100 (got 80 + 21)"
    ]


def test_y_plus_height_at_most_100() -> None:
    ok(InpaintRequest, adjust({"x": 0, "y": 50, "width": 10, "height": 50}))
    assert problems(InpaintRequest, adjust({"x": 0, "y": 50.5, "width": 10, "height": 50})) == [
        "area.y: y + height must be at most 100 (got 50.5 + 50)"
    ]


@given(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
def test_area_property(x: int, y: int, w: int, h: int) -> None:
    body = adjust({"x": x, "y": y, "width": w, "height": h})
    if x + w <= 100 and y + h <= 100:
        ok(InpaintRequest, body)
    else:
        with pytest.raises(InvalidRequest):
            ok(InpaintRequest, body)


def test_adjust_mode_must_be_known() -> None:
    with pytest.raises(InvalidRequest, match="mode: must be one of 'inpainting', 'outpainting'"):
        parse_adjust(adjust({"x": 0, "y": 0, "width": 1, "height": 1}, mode="warp"))
    assert isinstance(
        parse_adjust(adjust({"x": 0, "y": 0, "width": 1, "height": 1})), InpaintRequest
    )


def test_outpainting_needs_options_aspect_ratio() -> None:
    body = adjust(
        {"x": 0, "y": 0, "width": 100, "height": 100},
        mode="outpainting",
        promptText="wider",
        options=options(aspectRatio=None),
    )
    assert problems(OutpaintRequest, body) == ["options.aspectRatio: is required when outpainting"]
    body["options"]["aspectRatio"] = "1:1"
    assert isinstance(parse_adjust(body), OutpaintRequest)


def test_outpainting_needs_a_prompt() -> None:
    body = adjust({"x": 0, "y": 0, "width": 100, "height": 100}, mode="outpainting")
    assert problems(OutpaintRequest, body) == ["promptText: is required"]
    body["promptText"] = "   "
    assert problems(OutpaintRequest, body) == ["promptText: must not be empty"]


# --- enums -----------------------------------------------------------------------------------


@pytest.mark.parametrize("ratio", ["16:9", "9:16", "1:1", "5:2", "4:5", "4:3"])
def test_every_aspect_ratio_is_accepted(ratio: str) -> None:
    ok(Generate10Request, gen(options=options(aspectRatio=ratio)))


@pytest.mark.parametrize("ratio", ["21:9", "16x9", "", "3:4"])
def test_other_aspect_ratios_are_refused(ratio: str) -> None:
    msgs = problems(Generate10Request, gen(options=options(aspectRatio=ratio)))
    assert msgs == [
        "options.aspectRatio: must be one of '16:9', '9:16', '1:1', '5:2', '4:5' or '4:3'"
    ]


@pytest.mark.parametrize(
    ("axis", "good", "bad"),
    [
        ("zoom", ["in", "out"], "left"),
        ("pan", ["left", "right"], "up"),
        ("tilt", ["up", "down"], "in"),
        ("rotate", ["cw", "ccw"], "clockwise"),
    ],
)
def test_camera_axes(axis: str, good: list[str], bad: str) -> None:
    for value in good:
        ok(Generate10Request, gen(options=options(camera={axis: value})))
    msgs = problems(Generate10Request, gen(options=options(camera={axis: bad})))
    assert msgs[0].startswith(f"options.camera.{axis}: must be one of")


def test_camera_none_string_is_refused() -> None:
    """A known mistake of public clients: "none" is not null."""
    msgs = problems(Generate10Request, gen(options=options(camera={"zoom": "none"})))
    assert msgs == ["options.camera.zoom: must be one of 'in' or 'out'"]


@pytest.mark.parametrize("style", STYLES)
def test_every_style_is_accepted_with_model_1_0(style: str) -> None:
    ok(Generate10Request, gen(style=style))


def test_unknown_style_is_refused() -> None:
    assert problems(Generate10Request, gen(style="Cyberpunk"))[0].startswith(
        "style: must be one of 'Anime'"
    )


def test_there_are_22_pikaffects_all_accepted() -> None:
    assert len(PIKAFFECTS) == 22
    for effect in PIKAFFECTS:
        ok(Generate15Request, gen(model="1.5", pikaffect=effect, image=IMG))
    assert problems(Generate15Request, gen(model="1.5", pikaffect="Vaporize"))[0].startswith(
        "pikaffect: must be one of 'Peel'"
    )


def test_model_must_be_known() -> None:
    with pytest.raises(InvalidRequest, match="model: must be one of"):
        parse_generate(gen(model="3.0"))


def test_ingredients_mode_values() -> None:
    for mode in ("precise", "creative"):
        ok(Generate20Request, gen(model="2.0", ingredientsMode=mode, ingredients=[IMG]))
    assert problems(Generate20Request, gen(model="2.0", ingredientsMode="wild"))[0].startswith(
        "ingredientsMode: must be one of"
    )


# --- model-specific fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "field", "value", "only"),
    [
        ("1.0", "pikaffect", "Peel", "model 1.5"),
        ("2.1", "pikaffect", "Peel", "model 1.5"),
        ("1.0", "ingredients", [IMG], "model 2.0"),
        ("1.5", "ingredients", [IMG], "model 2.0"),
        ("2.1", "ingredientsMode", "precise", "model 2.0"),
        ("1.5", "sfx", True, "model 1.0"),
        ("2.0", "style", "Anime", "model 1.0"),
        ("2.1", "style", "Anime", "model 1.0"),
        ("2.0", "video", VID, "model 1.0 / 1.5 / Turbo"),
        ("2.1", "video", VID, "model 1.0 / 1.5 / Turbo"),
        ("1.0", "swapPrompt", "the dog", "model Turbo"),
    ],
)
def test_model_specific_fields_are_refused_on_other_models(
    model: str, field: str, value: Any, only: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_generate(gen(model=model, **{field: value}))
    assert [str(p) for p in caught.value.problems] == [f"{field}: only {only} accepts {field}"]


def test_model_specific_fields_are_accepted_on_their_model() -> None:
    assert isinstance(
        parse_generate(gen(model="1.5", pikaffect="Melt", video=VID)), Generate15Request
    )
    assert isinstance(parse_generate(gen(model="2.0", ingredients=[IMG, IMG])), Generate20Request)
    assert isinstance(parse_generate(gen(sfx=True, style="3D", video=VID)), Generate10Request)
    assert isinstance(parse_generate(gen(model="2.1", image=IMG)), Generate21Request)


def test_ingredients_hold_one_to_four_images() -> None:
    ok(Generate20Request, gen(model="2.0", ingredients=[IMG] * 4))
    assert problems(Generate20Request, gen(model="2.0", ingredients=[IMG] * 5)) == [
        "ingredients: must hold 1 to 4 images (got 5)"
    ]
    assert problems(Generate20Request, gen(model="2.0", ingredients=[VID])) == [
        "ingredients[0]: must be a .png, .jpeg, .jpg, .webp or .gif image"
    ]


def test_a_generation_needs_something_to_start_from() -> None:
    assert problems(Generate10Request, {"options": options()}) == [
        "promptText: give a prompt, an image or a video"
    ]
    ok(Generate10Request, {"options": options(), "image": IMG})


def test_turbo_additions_need_video_image_and_prompt() -> None:
    body = {"model": "Turbo", "options": options()}
    assert isinstance(
        parse_generate(body | {"promptText": "add a sword", "video": VID, "image": IMG}),
        AdditionsRequest,
    )
    assert problems(AdditionsRequest, body) == [
        "promptText: is required",
        "video: is required",
        "image: is required",
    ]


def test_turbo_swap_needs_swap_prompt() -> None:
    body = {
        "model": "Turbo",
        "options": options(),
        "promptText": "a villain",
        "video": VID,
        "image": IMG,
        "swapPrompt": "the woman in red",
    }
    assert isinstance(parse_generate(body), SwapRequest)
    assert problems(SwapRequest, body | {"swapPrompt": ""}) == ["swapPrompt: must not be empty"]
    del body["swapPrompt"]
    assert problems(SwapRequest, body) == ["swapPrompt: is required"]


# --- lip sync --------------------------------------------------------------------------------


def lipsync(start: float, end: float) -> dict[str, Any]:
    return {"video": VID, "speech": WAV, "speechStart": start, "speechEnd": end}


def test_speech_start_before_end() -> None:
    ok(LipSyncRequest, lipsync(0, 0.5))
    assert problems(LipSyncRequest, lipsync(2, 2)) == [
        "speechEnd: must be after speechStart (got 2 to 2)"
    ]
    assert problems(LipSyncRequest, lipsync(3, 1)) == [
        "speechEnd: must be after speechStart (got 3 to 1)"
    ]


def test_speech_span_at_most_video_length_when_known() -> None:
    facts = MediaFacts(durations={VID: 3.0})
    ok(LipSyncRequest, lipsync(1, 4), facts)
    assert problems(LipSyncRequest, lipsync(1, 4.5), facts) == [
        "speechEnd: speechEnd - speechStart must be at most the video's length (3.5 s > 3 s)"
    ]
    ok(LipSyncRequest, lipsync(1, 40))  # length unknown: Pika decides


def test_speech_times_are_not_negative() -> None:
    assert problems(LipSyncRequest, lipsync(-1, 2)) == ["speechStart: must be between 0 and 3600"]


def test_lip_sync_speech_must_be_wav() -> None:
    body = lipsync(0, 1) | {"speech": "https://x.org/voice.mp3"}
    assert problems(LipSyncRequest, body) == ["speech: must be a .wav audio file"]


def test_extend_refuses_past_15_seconds_when_length_known() -> None:
    body = {"video": VID, "options": options()}
    ok(ExtendRequest, body, MediaFacts(durations={VID: 11.0}))
    assert problems(ExtendRequest, body, MediaFacts(durations={VID: 11.5})) == [
        "video: is 11.5 s long; an extend adds 4 s and Pika stops at 15 s"
    ]


# --- media kinds and URLs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://x.org/a.png",
        "https://x.org/a.PNG",
        "http://x.org/a.jpeg",
        "https://x.org/a.jpg",
        "https://x.org/a.webp",
        "https://x.org/a.gif",
        "https://cdn.discordapp.com/attachments/1/2/a.png?ex=65&is=66&hm=ab",
    ],
)
def test_image_urls_by_extension(url: str) -> None:
    ok(Generate21Request, gen(model="2.1", image=url))


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("https://x.org/a.bmp", "must be a .png, .jpeg, .jpg, .webp or .gif image"),
        ("https://x.org/a.mp4", "must be a .png, .jpeg, .jpg, .webp or .gif image"),
        ("https://x.org/image", "must be a .png, .jpeg, .jpg, .webp or .gif image"),
        ("ftp://x.org/a.png", "must be an http:// or https:// URL"),
        ("file:///etc/a.png", "must be an http:// or https:// URL"),
        ("javascript:alert(1)//a.png", "must be an http:// or https:// URL"),
        ("/relative/a.png", "must be an http:// or https:// URL"),
        ("https://x.org/" + "a" * 2100 + ".png", "must be a URL of at most 2048 characters"),
    ],
)
def test_bad_image_urls(url: str, rule: str) -> None:
    assert problems(Generate21Request, gen(model="2.1", image=url)) == [f"image: {rule}"]


def test_a_known_content_type_vouches_for_a_url_without_extension() -> None:
    url = "https://media.example.org/blob/123"
    facts = MediaFacts(content_types={url: "image/webp"})
    ok(Generate21Request, gen(model="2.1", image=url), facts)
    wrong = MediaFacts(content_types={url: "text/html"})
    assert problems(Generate21Request, gen(model="2.1", image=url), wrong) == [
        "image: must be a .png, .jpeg, .jpg, .webp or .gif image"
    ]


def test_video_must_be_mp4() -> None:
    assert problems(RepromptRequest, {"video": "https://x.org/a.mov", "options": options()}) == [
        "video: must be an .mp4 video"
    ]
    ok(UpscaleRequest, {"video": VID})
    assert problems(UpscaleRequest, {"video": IMG}) == ["video: must be an .mp4 video"]


def test_webhook_override_must_be_http() -> None:
    ok(Generate10Request, gen(webhookOverride="https://bot.example.org/pika/webhook/s3cret"))
    assert problems(Generate10Request, gen(webhookOverride="ws://x")) == [
        "webhookOverride: must be an http:// or https:// URL"
    ]


# --- prompts ---------------------------------------------------------------------------------


def test_prompt_length_is_bounded() -> None:
    ok(Generate10Request, gen(promptText="p" * 1000))
    assert problems(Generate10Request, gen(promptText="p" * 1001)) == [
        "promptText: must be at most 1000 characters (got 1001)"
    ]
    assert problems(Generate10Request, gen(options=params(negativePrompt="n" * 1001))) == [
        "options.parameters.negativePrompt: must be at most 1000 characters (got 1001)"
    ]


def test_unknown_fields_are_refused() -> None:
    assert problems(Generate10Request, gen(colour="red")) == [
        "colour: is not accepted by this request"
    ]


def test_snake_case_names_work_in_python() -> None:
    req = Generate10Request.model_validate(
        {
            "prompt_text": "a fox",
            "options": {"frame_rate": 8, "parameters": {"guidance_scale": 10, "motion": 2}},
        }
    )
    assert req.payload()["options"]["frameRate"] == 8


def test_model_specific_fields_are_refused_by_their_python_names_too() -> None:
    body = gen(model="2.1", ingredients_mode="precise")
    assert problems(Generate21Request, body) == [
        "ingredientsMode: only model 2.0 accepts ingredientsMode"
    ]


# --- routes and keys -------------------------------------------------------------------------


def test_a_request_model_without_a_route_fails_when_defined() -> None:
    def define() -> None:
        class Orphan(PikaRequestModel):
            key = "orphan"

    with pytest.raises(TypeError, match="Orphan has no route"):
        define()


def test_a_request_model_must_name_its_own_key() -> None:
    def define() -> None:
        class Generate10Copy(Generate10Request):
            """Inherits the route, but would pass itself off as model 1.0 in stored jobs."""

    with pytest.raises(TypeError, match="Generate10Copy has no key of its own"):
        define()


def test_private_bases_need_no_route() -> None:
    class _Shared(PikaRequestModel):
        note: str = ""

    class Child(_Shared):
        route = "/web/child"
        key = "child"

    assert Child().payload() == {"note": ""}


# --- exact JSON ------------------------------------------------------------------------------

VENDOR_OPTIONS = {
    "aspectRatio": "16:9",
    "frameRate": 24,
    "camera": {"rotate": None, "zoom": None, "tilt": None, "pan": None},
    "parameters": {"guidanceScale": 12, "motion": 1, "negativePrompt": "", "seed": None},
    "extend": False,
}


@pytest.mark.parametrize(
    ("cls", "body"),
    [
        (Generate10Request, {"promptText": "robed villain lurking the streets", "image": IMG,
                             "options": VENDOR_OPTIONS}),
        (Generate15Request, {"promptText": "robed villain lurking the streets", "model": "1.5",
                             "pikaffect": "Peel", "image": IMG, "options": VENDOR_OPTIONS}),
        (Generate20Request, {"promptText": "robed villain lurking the streets", "model": "2.0",
                             "ingredientsMode": "precise", "ingredients": [IMG, IMG],
                             "options": VENDOR_OPTIONS}),
        (Generate21Request, {"promptText": "a fox", "model": "2.1", "options": VENDOR_OPTIONS}),
        (AdditionsRequest, {"model": "Turbo", "promptText": "Add a glowing sword", "video": VID,
                            "image": IMG, "options": VENDOR_OPTIONS}),
        (SwapRequest, {"swapPrompt": "the woman in red", "promptText": "a robed villain",
                       "model": "Turbo", "video": VID, "image": IMG, "options": VENDOR_OPTIONS}),
        (RepromptRequest, {"promptText": "new", "options": VENDOR_OPTIONS, "video": VID}),
        (EditRequest, {"promptText": "old", "options": VENDOR_OPTIONS, "video": VID,
                       "style": "Black & white"}),
        (InpaintRequest, {"promptText": "people on the moon", "options": VENDOR_OPTIONS,
                          "video": VID, "mode": "inpainting",
                          "area": {"x": 80, "y": 80, "width": 20, "height": 20}}),
        (OutpaintRequest, {"promptText": "people flying", "video": VID,
                           "options": VENDOR_OPTIONS | {"aspectRatio": "1:1"},
                           "mode": "outpainting",
                           "area": {"x": 0, "y": 0, "width": 100, "height": 100}}),
        (ExtendRequest, {"promptText": "robed villain", "options": VENDOR_OPTIONS, "video": VID}),
        (LipSyncRequest, {"video": VID, "speech": WAV, "speechStart": 2, "speechEnd": 5}),
        (UpscaleRequest, {"video": VID}),
        (UpscaleJobRequest, {"video": VID}),
    ],
)  # fmt: skip
def test_payload_is_exactly_the_vendor_json(cls: type[PikaBody], body: dict[str, Any]) -> None:
    assert ok(cls, body).payload() == body


def test_defaults_serialise_with_the_nulls_the_vendor_shows() -> None:
    req = Generate10Request(
        prompt_text="Dog",
        options={
            "frame_rate": 24,
            "aspect_ratio": "16:9",
            "parameters": {"guidance_scale": 12, "motion": 1},
        },
        ref="job-7",
    )
    assert req.payload() == {"promptText": "Dog", "options": VENDOR_OPTIONS, "ref": "job-7"}


# --- responses -------------------------------------------------------------------------------


def video(**fields: Any) -> dict[str, Any]:
    return {"id": "v1", "jobId": "j1", "status": "pending", "progress": 40} | fields


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2024-11-02T20:45:23.125Z", datetime(2024, 11, 2, 20, 45, 23, 125000, tzinfo=UTC)),
        (
            {"_seconds": 1704766446, "_nanoseconds": 451000000},
            datetime(2024, 1, 9, 2, 14, 6, 451000, tzinfo=UTC),
        ),
        ({}, None),
        ("not a date", None),
    ],
)
def test_created_at_forms(created: Any, expected: datetime | None) -> None:
    answer = JobResponse.model_validate({"job": {"id": "j1", "createdAt": created}, "videos": []})
    assert answer.job is not None and answer.job.created_at == expected


def test_status_is_read_from_the_video_else_the_job() -> None:
    on_video = JobResponse.model_validate({"job": {"id": "j1"}, "videos": [video()]})
    assert on_video.state().status is JobStatus.PENDING
    assert on_video.state().progress == 40
    on_job = JobResponse.model_validate({"job": {"id": "j1", "status": "queued"}, "videos": []})
    assert on_job.state().status is JobStatus.QUEUED


@pytest.mark.parametrize("raw", ["failed", "error", "FAILED"])
def test_failed_and_error_are_final_failures(raw: str) -> None:
    state = JobResponse.model_validate(
        {"job": {"id": "j1"}, "videos": [video(status=raw, error="NSFW content")]}
    ).state()
    assert state.status is JobStatus.FAILED and state.status.is_final
    assert state.reason == "NSFW content"


@pytest.mark.parametrize("raw", ["rendering", "", None, "delayed", "queued"])
def test_unknown_or_running_statuses_are_not_final(raw: str | None) -> None:
    state = JobResponse.model_validate({"job": {"id": "j1"}, "videos": [video(status=raw)]}).state()
    assert not state.status.is_final


def test_finished_needs_a_result_url() -> None:
    no_url = JobResponse.model_validate(
        {"job": {"id": "j1"}, "videos": [video(status="finished", resultUrl="")]}
    ).state()
    assert not no_url.status.is_final
    poster = "https://x/poster.jpg"
    finished = video(status="finished", resultUrl=VID, progress=99, videoPoster=poster, seed=7)
    done = JobResponse.model_validate({"job": {"id": "j1"}, "videos": [finished]}).state()
    assert done.status is JobStatus.FINISHED
    assert (done.result_url, done.progress, done.poster_url, done.seed) == (
        VID,
        100,
        "https://x/poster.jpg",
        7,
    )


def test_create_response_job_id_from_any_of_three_places() -> None:
    assert CreateJobResponse.model_validate({"job": {"id": "a"}}).job_id == "a"
    assert CreateJobResponse.model_validate({"job": {"pikaJobId": "b"}}).job_id == "b"
    assert CreateJobResponse.model_validate({"job": {}, "video": {"jobId": "c"}}).job_id == "c"
    assert CreateJobResponse.model_validate({"job": {}}).job_id is None


def test_responses_tolerate_extra_fields_and_odd_types() -> None:
    answer = JobResponse.model_validate(
        {
            "job": {"id": "j1", "somethingNew": 1, "params": None, "extended": "2"},
            "videos": [video(progress="55", duration="3", seed="x", extraThing=[1])],
            "meta": {},
        }
    )
    state = answer.state()
    assert state.progress == 55 and state.duration == 3.0 and state.seed is None
    assert answer.job is not None and answer.job.extended == 2


ODD_BUT_VALID = {
    "created at in milliseconds": {"job": {"createdAt": 1764353000000}},
    "created at past year 9999": {"job": {"createdAt": {"_seconds": 1e20}}},
    "created at decades ago": {"job": {"createdAt": -1e15}},
    "nanoseconds past any float": {"job": {"createdAt": {"_seconds": 1, "_nanoseconds": 10**400}}},
    "created at past any float": {"job": {"createdAt": 10**400}},
    "progress past any float": {"video": {"progress": 10**400}},
    "duration past any float": {"video": {"duration": 10**400}},
    "seed past any float": {"video": {"seed": 10**400}},
    "extended past any float": {"job": {"extended": 10**400}},
}


@pytest.mark.parametrize("odd", ODD_BUT_VALID.values(), ids=list(ODD_BUT_VALID))
def test_an_odd_value_in_one_field_never_hides_the_rest_of_the_answer(odd: dict[str, Any]) -> None:
    # A value no field expects reads as missing; the job's id, status and video still count.
    job = {"id": "j1"} | odd.get("job", {})
    finished = video(status="finished", resultUrl=VID) | odd.get("video", {})
    state = JobResponse.model_validate({"job": job, "videos": [finished]}).state()
    assert (state.job_id, state.status, state.result_url) == ("j1", JobStatus.FINISHED, VID)
    created = CreateJobResponse.model_validate({"job": job, "video": finished})
    assert created.job_id == "j1"


def test_a_job_or_video_of_another_shape_reads_as_missing() -> None:
    answer = JobResponse.model_validate(
        {"job": ["j1"], "videos": ["v1", video(status="finished", resultUrl=VID)]}
    )
    assert answer.state("j1").result_url == VID
    created = CreateJobResponse.model_validate({"job": "j1", "video": {"jobId": "j1"}})
    assert created.job_id == "j1"


def test_pikas_words_reach_the_log_as_one_short_line() -> None:
    # A status or a reason is logged as told: a newline in it forged log lines, and a status
    # of a megabyte was logged, and written to the job's row, at every poll that saw it.
    forged = "queued\n2026-11-28 18:00:00,000 ERROR   bot: forged " + "x" * 100_000
    running = JobResponse.model_validate({"job": {"id": "j1"}, "videos": [video(status=forged)]})
    state = running.state()
    assert state.status is JobStatus.RUNNING and state.raw_status is None
    reason = "NSFW\r\n2026-11-28 ERROR forged"
    failed = video(status="failed", error=reason)
    said = JobResponse.model_validate({"job": {"id": "j1"}, "videos": [failed]}).state().reason
    assert said == "NSFW 2026-11-28 ERROR forged"
