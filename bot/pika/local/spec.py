"""Request -> RenderSpec: how the local Pika draws each kind of request.

The inputs a request names (image, video, ingredients, speech) are fetched through the safe
fetcher (no internal addresses, a byte cap) when the render starts, and read by
`media_probe` before anything is decoded: an input over the limits fails the job with a reason
instead of taking the machine's memory. The recipe per request model then says what `render.py`
draws from them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

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
    AdditionsRequest,
    ExtendRequest,
    InpaintRequest,
    LipSyncRequest,
    Options,
    OutpaintRequest,
    PikaRequestModel,
    SwapRequest,
    UpscaleRequest,
)
from bot.safe_fetch import FetchError, FetchTooLarge, SafeFetcher

# The request named in the label at the top of the picture, by the request model's key.
TITLES = {
    "generate-1.0": "model 1.0",
    "generate-1.5": "model 1.5",
    "generate-2.0": "model 2.0",
    "generate-2.1": "model 2.1",
    "additions": "Additions",
    "swap": "Swap",
    "inpaint": "inpainting",
    "outpaint": "outpainting",
    "extend": "extend",
    "lipsync": "lip sync",
    "upscale": "upscale",
}


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


async def fetch_image(fetcher: SafeFetcher, url: str, what: str, limits: MediaLimits) -> bytes:
    """An image input, its header read and checked before anything decodes it."""
    data = await fetch(fetcher, url, what, limits)
    try:
        image_facts(data, limits)
    except MediaRefused as exc:
        raise RenderError(refusal_text(what, exc)) from None
    return data


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


async def render_spec(
    request: PikaRequestModel,
    seed: int,
    fetcher: SafeFetcher,
    workdir: Path,
    limits: MediaLimits = LIMITS,
) -> RenderSpec:
    """Fetch the request's inputs into `workdir`, check them, and decide what to draw."""
    options = getattr(request, "options", None)
    video_path: Path | None = None
    info: VideoFacts | None = None
    source_url = getattr(request, "video", None)
    if isinstance(source_url, str):
        video_path = workdir / "source.mp4"
        info = await fetch_video(fetcher, source_url, video_path, limits)
    image = getattr(request, "image", None)
    image_bytes = (
        await fetch_image(fetcher, image, "image", limits) if isinstance(image, str) else None
    )
    urls = getattr(request, "ingredients", None) or []
    ingredients = tuple([await fetch_image(fetcher, u, "ingredient image", limits) for u in urls])
    camera = CameraMove()
    fps, ratio = 24, None
    if isinstance(options, Options):
        c = options.camera
        camera = CameraMove(c.zoom, c.pan, c.tilt, c.rotate, options.parameters.motion)
        fps, ratio = options.frame_rate, options.aspect_ratio
    width, height = size_for(ratio)
    if info is not None and not isinstance(request, OutpaintRequest):
        # Edits of a video keep its shape (at a size the local Pika renders in time); only
        # outpainting changes the canvas.
        width, height = even_size(info.width, info.height, MAX_OUTPUT_SIDE)
    seconds = info.seconds if info is not None else GENERATE_SECONDS
    spec = RenderSpec(
        width=width,
        height=height,
        fps=fps,
        seconds=seconds,
        seed=seed,
        prompt=str(getattr(request, "prompt_text", None) or ""),
        label=f"local Pika · {TITLES.get(request.key, request.key)} · seed {seed}",
        camera=camera,
        video=video_path,
        style=getattr(request, "style", None),
        effect=getattr(request, "pikaffect", None),
    )
    if isinstance(request, AdditionsRequest):
        return replace(spec, overlay=image_bytes)
    if isinstance(request, SwapRequest):
        prompt = f"{request.swap_prompt} -> {request.prompt_text}"
        return replace(spec, swap=image_bytes, prompt=prompt)
    if isinstance(request, InpaintRequest):
        a = request.area
        return replace(spec, inpaint=True, area=(a.x, a.y, a.width, a.height))
    if isinstance(request, OutpaintRequest):
        a = request.area
        return replace(spec, video_mode="outpaint", area=(a.x, a.y, a.width, a.height))
    if isinstance(request, ExtendRequest):
        assert info is not None
        total = info.seconds + EXTEND_SECONDS
        if total > MAX_VIDEO_SECONDS + 0.05:
            raise RenderError(
                f"the video is {info.seconds:.1f} s long; extended it would pass "
                f"{MAX_VIDEO_SECONDS:g} s"
            )
        return replace(spec, video_mode="extend", seconds=total, fps=round(info.fps))
    if isinstance(request, LipSyncRequest):
        assert info is not None
        speech = await fetch(fetcher, request.speech, "speech", limits)
        try:
            await asyncio.to_thread(speech_seconds, speech, limits)
        except MediaRefused as exc:
            raise RenderError(refusal_text("speech", exc)) from None
        span = Speech(speech, float(request.speech_start), float(request.speech_end))
        return replace(spec, speech=span, fps=round(info.fps))
    if isinstance(request, UpscaleRequest):
        assert info is not None
        if max(info.width, info.height) * 2 > limits.max_video_side:
            raise RenderError(f"the video is {info.width}x{info.height}; too large to upscale")
        return replace(
            spec,
            width=info.width * 2,
            height=info.height * 2,
            fps=round(info.fps),
            text_scale=0.6,
            label="",
        )
    if video_path is not None:
        return spec  # reprompt, edit, or a 1.0/1.5 generation from a video
    if image_bytes is not None or ingredients:
        return replace(spec, image=image_bytes, ingredients=ingredients)
    return spec
