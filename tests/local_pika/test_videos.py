"""Every kind of request through the real client comes back as a playable MP4 that follows it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.pika.client import PikaClient
from bot.pika.errors import PikaRejected
from bot.pika.models import (
    AdditionsRequest,
    EditRequest,
    ExtendRequest,
    Generate10Request,
    Generate15Request,
    Generate20Request,
    Generate21Request,
    InpaintRequest,
    JobState,
    JobStatus,
    LipSyncRequest,
    Options,
    OutpaintRequest,
    RepromptRequest,
    SwapRequest,
    UpscaleRequest,
)
from tests.local_pika.conftest import MediaServer, download, finish
from tests.media import frames, inspect, mp4, png, slideshow, wav


def opts(**changes: Any) -> Options:
    return Options.default(**changes)


def params(seed: int | None = 7, motion: int = 1) -> dict[str, Any]:
    return {"guidanceScale": 12, "motion": motion, "seed": seed}


async def made(client: PikaClient, request: Any) -> tuple[JobState, bytes]:
    created = await client.submit(request)
    assert hasattr(created, "job_id") and created.job_id
    state = await finish(client, created.job_id)
    assert state.status is JobStatus.FINISHED, state.reason
    assert state.result_url and state.result_url.endswith(".mp4")
    return state, await download(state.result_url)


async def source(client: PikaClient, media: MediaServer, seconds: float = 2.0) -> tuple[str, bytes]:
    data = mp4(seconds=seconds, fps=12, size=(320, 180))
    return media.put(f"source{seconds}.mp4", data, "video/mp4"), data


def mean(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.asarray(frame[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0))


# --- generation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("16:9", (640, 360)),
        ("9:16", (360, 640)),
        ("1:1", (480, 480)),
        ("5:2", (800, 320)),
        ("4:5", (384, 480)),
        ("4:3", (480, 360)),
    ],
)
async def test_size_follows_aspect_ratio(
    client: PikaClient, ratio: str, size: tuple[int, int]
) -> None:
    _, data = await made(
        client, Generate10Request(prompt_text="a fox", options=opts(aspectRatio=ratio, frameRate=8))
    )
    clip = inspect(data)
    assert (clip.width, clip.height) == size
    assert clip.video_codec == "h264"


@pytest.mark.parametrize("fps", [1, 12, 24])
async def test_generation_is_3_seconds_at_the_requested_frame_rate(
    client: PikaClient, fps: int
) -> None:
    state, data = await made(
        client, Generate10Request(prompt_text="a fox", options=opts(frameRate=fps))
    )
    clip = inspect(data)
    assert clip.fps == fps
    assert clip.seconds == pytest.approx(3.0)
    assert clip.frame_count == 3 * fps
    assert state.duration == pytest.approx(3.0)


async def test_same_seed_same_file_other_seed_other_file(client: PikaClient) -> None:
    def request(seed: int) -> Generate10Request:
        return Generate10Request(prompt_text="a fox", options=opts(parameters=params(seed)))

    _, first = await made(client, request(42))
    _, again = await made(client, request(42))
    _, other = await made(client, request(43))
    assert first == again
    assert first != other


async def test_seed_is_reported_and_named_in_the_file(client: PikaClient) -> None:
    state, _ = await made(
        client, Generate10Request(prompt_text="Robed villain", options=opts(parameters=params(99)))
    )
    assert state.seed == 99
    assert state.result_url is not None and state.result_url.endswith("robed_villain_seed99.mp4")
    assert state.poster_url and (await download(state.poster_url))[:2] == b"\xff\xd8"
    assert state.thumbnail_url and (await download(state.thumbnail_url))[:2] == b"\xff\xd8"


async def test_the_prompt_is_drawn_in_the_picture(client: PikaClient) -> None:
    async def first_frame(prompt: str) -> np.ndarray:
        request = Generate10Request(prompt_text=prompt, options=opts(parameters=params(5)))
        return frames((await made(client, request))[1])[0].astype(int)

    a, b = await first_frame("a fox"), await first_frame("a completely different prompt")
    caption = slice(300, 360)  # the bottom band of a 640x360 frame
    assert np.abs(a[caption] - b[caption]).mean() > 3
    assert np.abs(a[40:280] - b[40:280]).mean() < 1  # the scene itself is the same seed's


# --- camera ----------------------------------------------------------------------------------


def _grey(frame: np.ndarray) -> np.ndarray:
    # The scene only: no label at the top, no caption at the bottom.
    return np.asarray(frame[40:280, 40:600].mean(axis=2), dtype=np.float32)


def best_shift(first: np.ndarray, last: np.ndarray, axis: int) -> int:
    a, b = _grey(first), _grey(last)
    errors = {}
    for shift in range(-60, 61):
        moved = np.roll(a, shift, axis=axis)
        inner = moved[70:-70, 70:-70] if axis else moved[10:-10, 70:-70]
        target = b[70:-70, 70:-70] if axis else b[10:-10, 70:-70]
        errors[shift] = float(np.abs(inner - target).mean())
    return min(errors, key=lambda k: errors[k])


def best_scale(first: np.ndarray, last: np.ndarray) -> float:
    a, b = Image.fromarray(first), _grey(last)
    errors = {}
    for step in range(-8, 9):
        scale = 1 + 0.025 * step
        w, h = round(640 * scale), round(360 * scale)
        scaled = a.resize((w, h), Image.Resampling.BILINEAR)
        left, top = (w - 640) // 2, (h - 360) // 2
        crop = scaled.crop((left, top, left + 640, top + 360))
        errors[scale] = float(np.abs(_grey(np.asarray(crop)) - b)[40:-40, 60:-60].mean())
    return min(errors, key=lambda k: errors[k])


def best_angle(first: np.ndarray, last: np.ndarray) -> float:
    a, b = Image.fromarray(first), _grey(last)
    errors = {}
    for step in range(-12, 13):
        angle = step * 1.0
        turned = np.asarray(a.rotate(angle, Image.Resampling.BILINEAR))  # positive: anticlockwise
        errors[angle] = float(np.abs(_grey(turned) - b)[40:-40, 80:-80].mean())
    return min(errors, key=lambda k: errors[k])


async def camera_clip(
    client: PikaClient, motion: int, **camera: str
) -> tuple[np.ndarray, np.ndarray]:
    request = Generate10Request(
        prompt_text="camera", options=opts(camera=camera, parameters=params(11, motion))
    )
    clip = frames((await made(client, request))[1])
    return clip[0], clip[-1]


async def test_pan_moves_the_scene_against_the_camera_with_motion_as_strength(
    client: PikaClient,
) -> None:
    right1 = best_shift(*await camera_clip(client, 1, pan="right"), axis=1)
    right4 = best_shift(*await camera_clip(client, 4, pan="right"), axis=1)
    left4 = best_shift(*await camera_clip(client, 4, pan="left"), axis=1)
    assert right1 < 0  # the camera goes right, so the scene slides left
    assert right4 < right1  # stronger motion, further
    assert left4 == -right4


async def test_tilt_up_moves_the_scene_down(client: PikaClient) -> None:
    up = best_shift(*await camera_clip(client, 3, tilt="up"), axis=0)
    down = best_shift(*await camera_clip(client, 3, tilt="down"), axis=0)
    assert up > 0 > down


async def test_zoom_in_grows_the_scene_and_zoom_out_shrinks_it(client: PikaClient) -> None:
    zoom_in = best_scale(*await camera_clip(client, 4, zoom="in"))
    zoom_out = best_scale(*await camera_clip(client, 4, zoom="out"))
    still = best_scale(*await camera_clip(client, 4))
    assert zoom_in > 1.1
    assert zoom_out < 0.95
    assert still == 1.0


async def test_rotate_turns_the_scene(client: PikaClient) -> None:
    cw = best_angle(*await camera_clip(client, 4, rotate="cw"))
    ccw = best_angle(*await camera_clip(client, 4, rotate="ccw"))
    assert cw > 5  # the camera turns clockwise, so the scene turns anticlockwise
    assert ccw == -cw


# --- inputs ----------------------------------------------------------------------------------


async def test_an_input_image_is_animated(client: PikaClient, media: MediaServer) -> None:
    image = media.put("green.png", png((0, 200, 0)), "image/png")
    _, data = await made(client, Generate21Request(model="2.1", image=image, options=opts()))
    clip = frames(data)
    assert len(clip) == 72
    assert mean(clip[0], (100, 60, 540, 280))[1] > 150  # the picture is the green image


async def test_pikaffect_on_an_image_changes_it_over_the_clip(
    client: PikaClient, media: MediaServer
) -> None:
    image = media.put("blue.png", png((0, 0, 220)), "image/png")
    request = Generate15Request(model="1.5", pikaffect="Peel", image=image, options=opts())
    clip = frames((await made(client, request))[1])
    assert np.abs(clip[0].astype(int) - clip[-1].astype(int)).mean() > 10


async def test_ingredients_all_appear(client: PikaClient, media: MediaServer) -> None:
    red = media.put("red.png", png((230, 0, 0)), "image/png")
    blue = media.put("blue2.png", png((0, 0, 230)), "image/png")
    request = Generate20Request(
        model="2.0", ingredients=[red, blue], ingredients_mode="creative", options=opts()
    )
    first = frames((await made(client, request))[1])[0]
    left, right = mean(first, (20, 60, 300, 280)), mean(first, (340, 60, 620, 280))
    assert left[0] > 180 > left[2]
    assert right[2] > 180 > right[0]


async def test_additions_put_the_image_into_the_video(
    client: PikaClient, media: MediaServer
) -> None:
    video, _ = await source(client, media)
    image = media.put("yellow.png", png((250, 250, 0)), "image/png")
    request = AdditionsRequest(
        model="Turbo", prompt_text="add the sun", video=video, image=image, options=opts()
    )
    clip = frames((await made(client, request))[1])
    assert (clip[0].shape[1], clip[0].shape[0]) == (320, 180)  # the video's own size
    centre = mean(clip[-1], (150, 80, 170, 100))
    assert centre[0] > 200 and centre[1] > 200 and centre[2] < 80


async def test_swap_replaces_an_area_with_the_image(client: PikaClient, media: MediaServer) -> None:
    video, _ = await source(client, media)
    image = media.put("white.png", png((255, 255, 255)), "image/png")
    request = SwapRequest(
        model="Turbo",
        swap_prompt="the middle",
        prompt_text="a white box",
        video=video,
        image=image,
        options=opts(),
    )
    clip = frames((await made(client, request))[1])
    assert mean(clip[5], (110, 60, 210, 120)).min() > 230


async def test_reprompt_uses_the_source_frames(client: PikaClient, media: MediaServer) -> None:
    video, data = await source(client, media)
    _, out = await made(
        client, RepromptRequest(video=video, prompt_text="new prompt", options=opts(frameRate=12))
    )
    ours, theirs = frames(out), frames(data)
    clip = inspect(out)
    assert (clip.width, clip.height, clip.fps) == (320, 180, 12)
    assert clip.seconds == pytest.approx(2.0)
    middle = (slice(40, 120), slice(40, 280))
    assert np.abs(ours[6][middle].astype(int) - theirs[6][middle].astype(int)).mean() < 12


async def test_edit_applies_the_style(client: PikaClient, media: MediaServer) -> None:
    video, _ = await source(client, media)
    _, out = await made(client, EditRequest(video=video, style="Black & white", options=opts()))
    frame = frames(out)[3][40:120].astype(int)
    assert np.abs(frame[..., 0] - frame[..., 2]).mean() < 4  # grey: red and blue agree


async def test_inpainting_changes_only_the_area(client: PikaClient, media: MediaServer) -> None:
    video, data = await source(client, media)
    area = {"x": 50, "y": 0, "width": 50, "height": 50}
    _, out = await made(
        client,
        InpaintRequest(video=video, area=area, options=opts(frameRate=12)),
    )
    ours, theirs = frames(out)[6].astype(int), frames(data)[6].astype(int)
    inside = np.abs(ours[10:80, 170:310] - theirs[10:80, 170:310]).mean()
    outside = np.abs(ours[10:80, 10:150] - theirs[10:80, 10:150]).mean()
    assert outside < 12
    assert inside > 30


async def test_outpainting_pads_the_source_to_the_new_aspect_ratio(
    client: PikaClient, media: MediaServer
) -> None:
    video, data = await source(client, media)
    area = {"x": 0, "y": 0, "width": 100, "height": 100}
    _, out = await made(
        client,
        OutpaintRequest(
            video=video,
            prompt_text="wider",
            area=area,
            options=opts(aspectRatio="1:1"),
        ),
    )
    clip = inspect(out)
    assert (clip.width, clip.height) == (480, 480)
    frame = frames(out)[0].astype(int)
    # The 16:9 source fills the middle band (480x270); above and below is padding.
    band = np.asarray(Image.fromarray(frames(data)[0]).resize((480, 270))).astype(int)
    assert np.abs(frame[140:250, 40:440] - band[35:145, 40:440]).mean() < 15
    assert frame[40:90].mean() < frame[140:250].mean()  # the padding is dimmed


async def test_extend_adds_four_seconds(client: PikaClient, media: MediaServer) -> None:
    video, _ = await source(client, media)
    state, out = await made(client, ExtendRequest(video=video, options=opts()))
    clip = inspect(out)
    assert clip.seconds == pytest.approx(6.0)
    assert state.duration == pytest.approx(6.0)


async def test_extend_past_15_seconds_is_refused(client: PikaClient) -> None:
    state, _ = await made(client, Generate10Request(prompt_text="x", options=opts(frameRate=4)))
    for expected in (7.0, 11.0, 15.0):
        assert state.result_url is not None
        state, _ = await made(client, ExtendRequest(video=state.result_url, options=opts()))
        assert state.duration == pytest.approx(expected)
    assert state.result_url is not None
    # The service knows its own video is 15 s long: the request is refused before any job.
    with pytest.raises(PikaRejected, match="Pika stops at 15 s"):
        await client.extend(ExtendRequest(video=state.result_url, options=opts()))


async def test_extend_of_a_long_foreign_video_fails_with_a_reason(
    client: PikaClient, media: MediaServer
) -> None:
    video, _ = await source(client, media, seconds=12.0)
    created = await client.extend(ExtendRequest(video=video, options=opts()))
    assert created.job_id is not None
    state = await finish(client, created.job_id)
    assert state.status is JobStatus.FAILED
    assert state.reason is not None and "15 s" in state.reason


async def test_extend_of_a_slideshow_under_one_frame_a_second_is_made(
    client: PikaClient, media: MediaServer
) -> None:
    # Two stills five seconds apart: about 0.4 frames a second, which once rounded was 0 (a
    # division by zero, and the member's paid job failed with an internal error).
    video = media.put("slides.mp4", slideshow(2, every=5.0), "video/mp4")
    _, out = await made(client, ExtendRequest(video=video, options=opts()))
    clip = inspect(out)
    assert clip.fps >= 1 and clip.seconds > 8.0


async def test_lip_sync_adds_the_speech_as_aac(client: PikaClient, media: MediaServer) -> None:
    video, _ = await source(client, media)
    speech = media.put("voice.wav", wav(seconds=4.0), "audio/wav")
    _, out = await made(
        client, LipSyncRequest(video=video, speech=speech, speech_start=1.0, speech_end=2.5)
    )
    clip = inspect(out)
    assert clip.audio_codec == "aac"
    assert clip.audio_seconds == pytest.approx(1.5, abs=0.1)
    assert clip.seconds == pytest.approx(2.0)
    mouth = [mean(f, (150, 90, 170, 110)) for f in frames(out)]
    reds = [m[0] - m[1] for m in mouth]
    assert max(reds) - min(reds) > 40  # the mouth opens and closes with the sound


async def test_upscale_doubles_width_and_height(client: PikaClient) -> None:
    state, original = await made(client, Generate10Request(prompt_text="x", options=opts()))
    assert state.result_url is not None
    started = await client.upscale(UpscaleRequest(video=state.result_url))
    assert started.success is True
    up = await finish(client, "", upscale_of=state.result_url)
    assert up.status is JobStatus.FINISHED and up.result_url
    assert up.result_url.endswith("_upscaled.mp4")
    clip, source_clip = inspect(await download(up.result_url)), inspect(original)
    assert (clip.width, clip.height) == (2 * source_clip.width, 2 * source_clip.height)
    assert clip.seconds == pytest.approx(source_clip.seconds)


async def test_upscale_of_a_video_not_made_by_pika_is_refused(
    client: PikaClient, media: MediaServer
) -> None:
    video, _ = await source(client, media)
    with pytest.raises(PikaRejected, match="generated by the Pika Web Bot"):
        await client.upscale(UpscaleRequest(video=video))
