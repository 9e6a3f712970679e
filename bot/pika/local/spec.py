"""Request -> RenderSpec: how the local Pika draws each kind of request.

The inputs a request names (image, video, ingredients, speech) are fetched over HTTP with a size
cap; the recipe per request model then says what `render.py` draws from them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import httpx

from bot.pika.local.frames import CameraMove
from bot.pika.local.render import RenderError, RenderSpec, Speech, probe, size_for
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

MAX_INPUT_BYTES = 64 * 1024 * 1024

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


class FetchError(Exception):
    """An input could not be fetched; the message says which and why."""


async def fetch(http: httpx.AsyncClient, url: str, what: str) -> bytes:
    """GET an input, refusing more than MAX_INPUT_BYTES; `what` names it in errors."""
    try:
        async with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchError(f"could not fetch the {what}: HTTP {response.status_code}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_INPUT_BYTES:
                    raise FetchError(f"the {what} is larger than {MAX_INPUT_BYTES >> 20} MiB")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise FetchError(f"could not fetch the {what}: {type(exc).__name__}") from None


async def render_spec(
    request: PikaRequestModel, seed: int, http: httpx.AsyncClient, workdir: Path
) -> RenderSpec:
    """Fetch the request's inputs into `workdir` and decide what to draw."""
    options = getattr(request, "options", None)
    video_path: Path | None = None
    source_url = getattr(request, "video", None)
    if isinstance(source_url, str):
        video_path = workdir / "source.mp4"
        video_path.write_bytes(await fetch(http, source_url, "video"))
    image = getattr(request, "image", None)
    image_bytes = await fetch(http, image, "image") if isinstance(image, str) else None
    urls = getattr(request, "ingredients", None) or []
    ingredients = tuple([await fetch(http, url, "ingredient image") for url in urls])
    camera = CameraMove()
    fps, ratio = 24, None
    if isinstance(options, Options):
        c = options.camera
        camera = CameraMove(c.zoom, c.pan, c.tilt, c.rotate, options.parameters.motion)
        fps, ratio = options.frame_rate, options.aspect_ratio
    info = await asyncio.to_thread(probe, video_path) if video_path else None
    width, height = size_for(ratio)
    if info is not None and not isinstance(request, OutpaintRequest):
        # Edits of a video keep its shape; only outpainting changes the canvas.
        width, height = info.width - info.width % 2, info.height - info.height % 2
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
        speech = await fetch(http, request.speech, "speech")
        span = Speech(speech, float(request.speech_start), float(request.speech_end))
        return replace(spec, speech=span, fps=round(info.fps))
    if isinstance(request, UpscaleRequest):
        assert info is not None
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
