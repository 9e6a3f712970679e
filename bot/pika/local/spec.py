"""Request -> RenderSpec: how the local Pika draws each kind of request.

The inputs a request names (image, video, ingredients, speech) are fetched through the safe
fetcher (no internal addresses, a byte cap) when the render starts, and read by
`media_probe` before anything is decoded: an input over the limits fails the job with a reason
instead of taking the machine's memory. The recipe of each request model (`RECIPES`, by its
stable key) then says what `render.py` draws from them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.pika.local.audio import Speech
from bot.pika.local.frames import CameraMove
from bot.pika.local.render import (
    MAX_OUTPUT_SIDE,
    RenderError,
    RenderSpec,
    even_size,
    size_for,
)
from bot.pika.media_probe import (
    LIMITS,
    MediaLimits,
    MediaRefused,
    VideoFacts,
    image_facts,
    speech_seconds,
    video_facts,
)
from bot.pika.models import (
    EXTEND_SECONDS,
    GENERATE_SECONDS,
    MAX_VIDEO_SECONDS,
    Options,
    PikaRequestModel,
)
from bot.safe_fetch import FetchError, FetchTooLarge, SafeFetcher


def refusal_text(what: str, exc: MediaRefused) -> str:
    """A refused input in the words of the local Pika's job errors."""
    n = exc.numbers
    texts = {
        "too_large": f"the {what} is larger than {n.get('limit_mib')} MiB",
        "not_image": f"the {what} is not a PNG, JPEG, WebP or GIF image",
        "not_mp4": f"the {what} could not be read as an MP4 file",
        "not_wav": f"the {what} could not be read as a WAV file",
        "too_many_pixels": (
            f"the {what} is {n.get('width')}x{n.get('height')} pixels; "
            f"at most {n.get('limit')} pixels"
        ),
        "frame_too_large": (
            f"the {what} is {n.get('width')}x{n.get('height')}; "
            f"at most {n.get('side')} pixels a side"
        ),
        "too_long": f"the {what} is {n.get('seconds')} s long; at most {n.get('limit')} s",
        "too_many_frames": f"the {what} has {n.get('frames')} frames; at most {n.get('limit')}",
    }
    return texts.get(exc.problem, f"the {what} cannot be used")


async def fetch(fetcher: SafeFetcher, url: str, what: str, limits: MediaLimits) -> bytes:
    """GET an input through the safe fetcher; RenderError names it when it cannot be had."""
    try:
        return await fetcher.fetch(url, f"the {what}", limits.max_bytes)
    except FetchTooLarge:
        raise RenderError(f"the {what} is larger than {limits.max_bytes >> 20} MiB") from None
    except FetchError as exc:
        raise RenderError(str(exc)) from None


async def fetch_image(
    fetcher: SafeFetcher, url: str, what: str, limits: MediaLimits, path: Path
) -> Path:
    """An image input written to `path` (kept on disk until the render reads it: four
    ingredients of 64 MiB held in memory for a whole render, two renders at once, were half
    a gigabyte), its structure and header checked before anything decodes it."""
    try:
        await fetcher.download(url, path, f"the {what}", limits.max_bytes)
    except FetchTooLarge:
        raise RenderError(f"the {what} is larger than {limits.max_bytes >> 20} MiB") from None
    except FetchError as exc:
        raise RenderError(str(exc)) from None
    try:
        await asyncio.to_thread(image_facts, path, limits)
    except MediaRefused as exc:
        raise RenderError(refusal_text(what, exc)) from None
    return path


async def fetch_video(
    fetcher: SafeFetcher, url: str, path: Path, limits: MediaLimits
) -> VideoFacts:
    """A video input written to `path`, its size, length and frames checked."""
    try:
        await fetcher.download(url, path, "the video", limits.max_bytes)
    except FetchTooLarge:
        raise RenderError(f"the video is larger than {limits.max_bytes >> 20} MiB") from None
    except FetchError as exc:
        raise RenderError(str(exc)) from None
    try:
        return await asyncio.to_thread(video_facts, path, limits)
    except MediaRefused as exc:
        raise RenderError(refusal_text("video", exc)) from None


def rate_of(video: VideoFacts) -> int:
    """The whole frame rate a render keeps from a source video: at least 1 (a slideshow of
    stills seconds apart is under one frame a second) and at most 60 (the most frames a
    source may have in the longest one, `MediaLimits`)."""
    return max(1, min(60, round(video.fps)))


@dataclass(frozen=True)
class Inputs:
    """A request with its inputs fetched and checked, and the spec drawn from them so far."""

    request: Any  # the request model; each recipe reads the fields of its own
    spec: RenderSpec
    video: VideoFacts | None
    image: Path | None
    ingredients: tuple[Path, ...]
    fetcher: SafeFetcher
    limits: MediaLimits


Draw = Callable[[Inputs], Awaitable[RenderSpec]]


async def as_given(i: Inputs) -> RenderSpec:
    """A video worked on is redrawn as it is (reprompt, edit, a generation from a video); else
    the image or ingredients are shown."""
    if i.spec.video is not None or (i.image is None and not i.ingredients):
        return i.spec
    return replace(i.spec, image=i.image, ingredients=i.ingredients)


async def additions(i: Inputs) -> RenderSpec:
    """The image laid over the video."""
    return replace(i.spec, overlay=i.image)


async def swap(i: Inputs) -> RenderSpec:
    """The image swapped into the video, the prompt saying what for what."""
    prompt = f"{i.request.swap_prompt} -> {i.request.prompt_text}"
    return replace(i.spec, swap=i.image, prompt=prompt)


async def inpaint(i: Inputs) -> RenderSpec:
    """The area of the video redrawn."""
    a = i.request.area
    return replace(i.spec, inpaint=True, area=(a.x, a.y, a.width, a.height))


async def outpaint(i: Inputs) -> RenderSpec:
    """The video padded to the canvas of the requested aspect ratio."""
    a = i.request.area
    width, height = size_for(i.request.options.aspect_ratio)
    return replace(
        i.spec,
        video_mode="outpaint",
        area=(a.x, a.y, a.width, a.height),
        width=width,
        height=height,
    )


async def extend(i: Inputs) -> RenderSpec:
    """Four seconds more after the video, refused past Pika's longest video."""
    assert i.video is not None
    total = i.video.seconds + EXTEND_SECONDS
    if total > MAX_VIDEO_SECONDS + 0.05:
        raise RenderError(
            f"the video is {i.video.seconds:.1f} s long; extended it would pass "
            f"{MAX_VIDEO_SECONDS:g} s"
        )
    return replace(i.spec, video_mode="extend", seconds=total, fps=rate_of(i.video))


async def lipsync(i: Inputs) -> RenderSpec:
    """The speech, fetched and checked, laid over the video's span."""
    assert i.video is not None
    speech = await fetch(i.fetcher, i.request.speech, "speech", i.limits)
    try:
        await asyncio.to_thread(speech_seconds, speech, i.limits)
    except MediaRefused as exc:
        raise RenderError(refusal_text("speech", exc)) from None
    span = Speech(speech, float(i.request.speech_start), float(i.request.speech_end))
    return replace(i.spec, speech=span, fps=rate_of(i.video))


async def upscale(i: Inputs) -> RenderSpec:
    """The video at twice its size, unlabelled."""
    assert i.video is not None
    width, height = i.video.width, i.video.height
    if max(width, height) * 2 > i.limits.max_video_side:
        raise RenderError(f"the video is {width}x{height}; too large to upscale")
    return replace(
        i.spec,
        width=width * 2,
        height=height * 2,
        fps=rate_of(i.video),
        text_scale=0.6,
        label="",
    )


@dataclass(frozen=True)
class Recipe:
    """How the local Pika draws one request model: the label at the top of the picture, and
    what it makes of the inputs."""

    title: str
    draw: Draw = as_given


# By the request model's stable key (`PikaRequestModel.key`); every model has one (a unit test
# checks), and a key missing here would be drawn as given and labelled with the key itself.
RECIPES: dict[str, Recipe] = {
    "generate-1.0": Recipe("model 1.0"),
    "generate-1.5": Recipe("model 1.5"),
    "generate-2.0": Recipe("model 2.0"),
    "generate-2.1": Recipe("model 2.1"),
    "additions": Recipe("Additions", additions),
    "reprompt": Recipe("reprompt"),
    "edit": Recipe("edit"),
    "swap": Recipe("Swap", swap),
    "inpaint": Recipe("inpainting", inpaint),
    "outpaint": Recipe("outpainting", outpaint),
    "extend": Recipe("extend", extend),
    "lipsync": Recipe("lip sync", lipsync),
    "upscale": Recipe("upscale", upscale),
}


async def render_spec(
    request: PikaRequestModel,
    seed: int,
    fetcher: SafeFetcher,
    workdir: Path,
    limits: MediaLimits = LIMITS,
) -> RenderSpec:
    """Fetch the request's inputs into `workdir`, check them, and decide what to draw."""
    recipe = RECIPES.get(request.key, Recipe(request.key))
    options = getattr(request, "options", None)
    video_path: Path | None = None
    info: VideoFacts | None = None
    source_url = getattr(request, "video", None)
    if isinstance(source_url, str):
        video_path = workdir / "source.mp4"
        info = await fetch_video(fetcher, source_url, video_path, limits)
    image = getattr(request, "image", None)
    image_file = (
        await fetch_image(fetcher, image, "image", limits, workdir / "image")
        if isinstance(image, str)
        else None
    )
    urls = getattr(request, "ingredients", None) or []
    ingredients = tuple(
        [
            await fetch_image(fetcher, u, "ingredient image", limits, workdir / f"ingredient{n}")
            for n, u in enumerate(urls)
        ]
    )
    camera = CameraMove()
    fps, ratio = 24, None
    if isinstance(options, Options):
        c = options.camera
        camera = CameraMove(c.zoom, c.pan, c.tilt, c.rotate, options.parameters.motion)
        fps, ratio = options.frame_rate, options.aspect_ratio
    width, height = size_for(ratio)
    if info is not None:
        # Edits of a video keep its shape (at a size the local Pika renders in time); only
        # outpainting changes the canvas (its recipe).
        width, height = even_size(info.width, info.height, MAX_OUTPUT_SIDE)
    spec = RenderSpec(
        width=width,
        height=height,
        fps=fps,
        seconds=info.seconds if info is not None else GENERATE_SECONDS,
        seed=seed,
        prompt=str(getattr(request, "prompt_text", None) or ""),
        label=f"local Pika · {recipe.title} · seed {seed}",
        camera=camera,
        video=video_path,
        style=getattr(request, "style", None),
        effect=getattr(request, "pikaffect", None),
    )
    inputs = Inputs(request, spec, info, image_file, ingredients, fetcher, limits)
    return await recipe.draw(inputs)
