"""Render the local Pika's videos: real H.264 MP4 files that visibly follow their request.

Frames are composed with Pillow (the drawing itself is in `frames.py`) and encoded with PyAV
(which ships FFmpeg) one at a time, so memory stays bounded by a few frames whatever the length.
The same spec gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import textwrap
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import av
import av.container
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.pika.local.audio import (
    AUDIO_RATE,
    Speech,
    SpeechError,
    decode_speech,
    encode_audio,
    levels_of,
)
from bot.pika.local.frames import (
    STYLE_FILTERS,
    CameraMove,
    apply_effect,
    area_box,
    background,
    camera_transform,
    cover,
    mouth,
    outpaint,
)
from bot.pika.local.scene import drift, moving
from bot.pika.media_probe import LIMITS, MediaLimits, MediaRefused, check_frame, check_pixels

# Output sizes by aspect ratio (even numbers, as H.264 in yuv420p requires).
SIZES: dict[str, tuple[int, int]] = {
    "16:9": (640, 360),
    "9:16": (360, 640),
    "1:1": (480, 480),
    "5:2": (800, 320),
    "4:5": (384, 480),
    "4:3": (480, 360),
}
MAX_OUTPUT_SIDE = 1280  # edits of a larger video are rendered at this size, so they end in time
ENCODER_THREADS = 2  # fixed, so that the same spec encodes to the same bytes on every machine


class RenderError(Exception):
    """The inputs cannot make a video (unreadable media, impossible length, too slow)."""


class RenderStopped(Exception):
    """The local Pika is shutting down: the render ends unfinished, to resume after a restart."""


@dataclass(frozen=True)
class Budget:
    """How long a render may take (a `time.monotonic()` deadline), and the switch that stops
    every render at shutdown. A thread cannot be cancelled: it checks both at every frame."""

    deadline: float = float("inf")
    seconds: float = float("inf")  # the cap, for the error text
    stop: threading.Event = field(default_factory=threading.Event)
    limits: MediaLimits = LIMITS

    def check(self) -> None:
        """RenderStopped at shutdown; RenderError once the deadline has passed."""
        if self.stop.is_set():
            raise RenderStopped
        if time.monotonic() > self.deadline:
            raise RenderError(f"the render took longer than {self.seconds:g} s")


@dataclass(frozen=True)
class RenderSpec:
    """Everything that decides a video's pixels and sound."""

    width: int
    height: int
    fps: int
    seconds: float
    seed: int
    prompt: str = ""
    label: str = ""
    camera: CameraMove = field(default_factory=CameraMove)
    image: bytes | Path | None = None  # an input's bytes, or its file
    ingredients: tuple[bytes | Path, ...] = ()
    video: Path | None = None
    # How the source video is used: frames in place, fitted into an area of a larger canvas
    # (outpainting), or frames first then the clip continued (extend).
    video_mode: Literal["frames", "outpaint", "extend"] = "frames"
    area: tuple[float, float, float, float] | None = None  # x, y, w, h in percent
    inpaint: bool = False
    overlay: bytes | Path | None = None  # Additions: content added into the video
    swap: bytes | Path | None = None  # Swap: replaces the middle of the video
    style: str | None = None
    effect: str | None = None
    speech: Speech | None = None
    text_scale: float = 1.0


@dataclass(frozen=True)
class RenderResult:
    """What was written, and the properties a client can check."""

    video: Path
    poster: Path
    thumbnail: Path
    width: int
    height: int
    fps: int
    seconds: float
    has_audio: bool


@dataclass(frozen=True)
class VideoInfo:
    """Size, rate and length of a video file."""

    width: int
    height: int
    fps: float
    seconds: float
    has_audio: bool


def probe(path: Path) -> VideoInfo:
    """Read a video's size, frame rate, length and whether it has sound."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate or stream.guessed_rate or 24)
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            else:
                seconds = (stream.frames or 0) / fps
            return VideoInfo(
                stream.codec_context.width,
                stream.codec_context.height,
                fps,
                seconds,
                bool(container.streams.audio),
            )
    except (av.FFmpegError, IndexError) as exc:
        raise RenderError("the video could not be read as an MP4 file") from exc


def even_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """A size of the same shape that fits in `max_side`, with even sides (as H.264 needs)."""
    scale = min(1.0, max_side / max(width, height, 1))
    w, h = max(2, round(width * scale)), max(2, round(height * scale))
    return w - w % 2, h - h % 2


def size_for(aspect_ratio: str | None) -> tuple[int, int]:
    """The output size for an aspect ratio (16:9 when none is given)."""
    return SIZES.get(aspect_ratio or "16:9", SIZES["16:9"])


def load_image(data: bytes | Path, fit: tuple[int, int] = (MAX_OUTPUT_SIDE,) * 2) -> Image.Image:
    """Decode a PNG, JPEG, WebP or GIF (its first frame) into RGB, no larger than needed to
    cover `fit`: only one full-size image is ever in memory, however many a request names."""
    try:
        with Image.open(data if isinstance(data, Path) else io.BytesIO(data)) as image:
            check_pixels(*image.size)
            image.draft("RGB", fit)  # JPEG decodes straight at a reduced scale
            image.seek(0)
            factor = max(1, min(image.width // max(1, fit[0]), image.height // max(1, fit[1])))
            reduced = image.reduce(factor) if factor > 1 else image
            return reduced.convert("RGB")
    except MediaRefused:
        raise RenderError("the image has too many pixels") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RenderError("the image could not be read") from exc


# --- source video ----------------------------------------------------------------------------


class FrameReader:
    """Frames of a video by time, read forward once; past the end the last frame holds."""

    def __init__(self, path: Path, limits: MediaLimits = LIMITS) -> None:
        try:
            self._container = av.open(str(path))
            self._frames = self._container.decode(video=0)
        except av.FFmpegError as exc:
            raise RenderError("the video could not be read as an MP4 file") from exc
        self._limits = limits
        self._decoded = 0
        self._current: Image.Image | None = None
        self._next: av.VideoFrame | None = None
        self._done = False

    def at(self, seconds: float) -> Image.Image:
        """The frame showing at `seconds`."""
        while not self._done:
            if self._next is None:
                try:
                    self._next = next(self._frames)
                except StopIteration:
                    self._done = True
                    break
                except av.FFmpegError as exc:
                    raise RenderError("the video could not be decoded") from exc
                # The header was checked; the frames themselves may still say otherwise.
                self._decoded += 1
                if self._decoded > self._limits.max_video_frames:
                    raise RenderError("the video has more frames than it claims")
                try:
                    check_frame(self._next.width, self._next.height, self._limits)
                except MediaRefused:
                    raise RenderError("the video has frames larger than it claims") from None
            if self._current is not None and (self._next.time or 0.0) > seconds + 1e-6:
                break
            self._current = Image.fromarray(self._next.to_ndarray(format="rgb24"))
            self._next = None
        if self._current is None:
            raise RenderError("the video has no frames")
        return self._current

    def close(self) -> None:
        """Release the decoder."""
        self._container.close()


# --- text ------------------------------------------------------------------------------------


# Letters Pillow's built-in font lacks, spelled with ones it has.
SPELLED = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "—": "-",
    "–": "-",
}


# Capped: the characters asked about come from members' prompts.
@functools.lru_cache(maxsize=4096)
def _has_glyph(char: str) -> bool:
    """Whether Pillow's built-in font draws `char` itself: it has no accented letters, emoji or
    CJK, and draws each of them as the same empty box (its glyph for a missing character)."""
    font = ImageFont.load_default(size=20)
    missing = font.getmask("\U0010fffd")
    drawn = font.getmask(char)
    return drawn.size != missing.size or bytes(drawn) != bytes(missing)


def drawable(text: str) -> str:
    """`text` as the caption can draw it: accented letters without their accents (café ->
    cafe), other characters the font lacks (emoji, CJK) left out, rather than drawn as boxes."""
    kept: list[str] = []
    for char in text:
        if char.isspace() or _has_glyph(char):
            kept.append(char)
            continue
        plain = SPELLED.get(char) or "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        kept.extend(c for c in plain if _has_glyph(c))
    return " ".join("".join(kept).split())


def _overlay_text(spec: RenderSpec, size: tuple[int, int]) -> Image.Image:
    """The prompt as a caption at the bottom and a label at the top, on a transparent layer.

    Over a video's frames the bands are opaque: a video of ours already carries a label and a
    caption there, and through a see-through band the two were drawn over each other."""
    width, height = size
    over_video = spec.video is not None
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    body = max(12, round(min(width, height) / 18 * spec.text_scale))
    font = ImageFont.load_default(size=body)
    small = ImageFont.load_default(size=max(10, round(body * 0.7)))
    caption = drawable(spec.prompt)
    if caption:
        chars = max(10, int(width / (body * 0.55)))
        # Three lines at most; a prompt cut short ends in "…", not mid-word as if complete.
        lines = textwrap.wrap(caption, chars, max_lines=3, placeholder=" …")
        line_h = round(body * 1.25)
        top = height - line_h * len(lines) - body // 2
        draw.rectangle(
            (0, top - body // 4, width, height), fill=(0, 0, 0, 255 if over_video else 150)
        )
        for index, line in enumerate(lines):
            draw.text((body // 2, top + index * line_h), line, font=font, fill=(255, 255, 255, 255))
    if spec.label:
        draw.rectangle((0, 0, width, round(body * 1.1)), fill=(0, 0, 0, 255 if over_video else 110))
        draw.text((body // 3, body // 8), spec.label, font=small, fill=(255, 230, 120, 255))
    return layer


# --- the pipeline ----------------------------------------------------------------------------


def _frames(spec: RenderSpec, reader: FrameReader | None) -> Iterator[Image.Image]:
    size = (spec.width, spec.height)
    count = max(1, round(spec.seconds * spec.fps))
    source: Callable[[float], Image.Image] | None = None
    if reader is None:
        part = (max(2, spec.width // max(1, len(spec.ingredients))), spec.height)
        source = moving(
            spec.seed,
            size,
            spec.camera,
            image=load_image(spec.image, size) if spec.image is not None else None,
            ingredients=[load_image(b, part) for b in spec.ingredients],
        )
    source_seconds = probe(spec.video).seconds if spec.video and spec.video_mode == "extend" else 0
    overlay = load_image(spec.overlay, size) if spec.overlay else None
    swap = load_image(spec.swap, size) if spec.swap else None
    inpaint_fill = background(spec.seed, size) if spec.inpaint else None
    for index in range(count):
        t = index / spec.fps
        progress = index / max(1, count - 1)
        if reader is None:
            assert source is not None
            frame = camera_transform(source(progress), spec.camera, progress)
        elif spec.video_mode == "outpaint":
            frame = outpaint(reader.at(t), size, spec.area or (0, 0, 100, 100))
        elif spec.video_mode == "extend" and t >= source_seconds:
            tail = (t - source_seconds) / max(1e-6, spec.seconds - source_seconds)
            # The clip continued: its last frame, pushed in on, so the new seconds move too.
            continued = drift(cover(reader.at(t), size), tail, spec.camera.strength)
            frame = camera_transform(continued, spec.camera, tail)
        elif spec.video_mode == "extend":
            frame = cover(reader.at(t), size)
        else:
            frame = cover(reader.at(t), size)
            if not spec.inpaint:
                frame = camera_transform(frame, spec.camera, progress)
        if spec.style in STYLE_FILTERS:
            frame = STYLE_FILTERS[spec.style](frame)
        if spec.effect:
            frame = apply_effect(frame, spec.effect, progress)
        if inpaint_fill is not None and spec.area:
            box = area_box(spec.area, size)
            frame = frame.copy()
            frame.paste(inpaint_fill.crop(box), box[:2])
        if swap is not None:
            box = area_box((30, 25, 40, 50), size)
            frame = frame.copy()
            frame.paste(cover(swap, (box[2] - box[0], box[3] - box[1])), box[:2])
        if overlay is not None:
            side = int(min(size) * (0.25 + 0.2 * progress))
            thing = cover(overlay, (side, side))
            frame = frame.copy()
            frame.paste(thing, ((size[0] - side) // 2, (size[1] - side) // 2))
        yield frame


def render(
    spec: RenderSpec, out_dir: Path, name: str, budget: Budget | None = None
) -> RenderResult:
    """Write `name` (an MP4), poster.jpg and thumbnail.jpg into out_dir, within `budget`.

    The video is written to a `.partial` file first and renamed when complete; a render that
    fails or is stopped leaves no partial file behind."""
    if spec.width % 2 or spec.height % 2:
        raise RenderError("width and height must be even")
    budget = budget or Budget()
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / name
    partial = out_dir / f".{name}.{uuid.uuid4().hex}.partial"
    try:
        return _render(spec, out_dir, video_path, partial, budget)
    finally:
        partial.unlink(missing_ok=True)


def _render(
    spec: RenderSpec, out_dir: Path, video_path: Path, partial: Path, budget: Budget
) -> RenderResult:
    reader = FrameReader(spec.video, budget.limits) if spec.video else None
    try:
        samples = decode_speech(spec.speech, spec.seconds) if spec.speech else None
    except SpeechError as exc:
        raise RenderError(str(exc)) from None
    levels = levels_of(samples, spec.fps, spec.seconds) if samples is not None else None
    text = _overlay_text(spec, (spec.width, spec.height))
    poster: Image.Image | None = None
    try:
        with av.open(str(partial), "w", format="mp4") as container:
            stream = container.add_stream(
                "libx264", rate=spec.fps, options={"preset": "veryfast", "crf": "23"}
            )
            stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
            stream.codec_context.thread_count = ENCODER_THREADS
            if samples is not None:
                # Streams are declared before the first packet; the muxer interleaves them.
                audio = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
                encode_audio(container, audio, samples)
            for index, frame in enumerate(_frames(spec, reader)):
                budget.check()
                if levels is not None:
                    frame = mouth(frame, float(levels[min(index, len(levels) - 1)]))
                frame = frame.copy()  # the source may be shared between frames
                frame.paste(text, (0, 0), text)
                if poster is None:
                    poster = frame.copy()
                video_frame = av.VideoFrame.from_ndarray(np.asarray(frame), format="rgb24")
                video_frame.pts = index
                for packet in stream.encode(video_frame):
                    container.mux(packet)
            for packet in stream.encode(None):
                container.mux(packet)
    finally:
        if reader is not None:
            reader.close()
    partial.replace(video_path)
    assert poster is not None
    poster_path, thumb_path = out_dir / "poster.jpg", out_dir / "thumbnail.jpg"
    poster.save(poster_path, "JPEG", quality=85)
    thumb = poster.copy()
    thumb.thumbnail((spec.width // 3, spec.height // 3))
    thumb.save(thumb_path, "JPEG", quality=80)
    return RenderResult(
        video_path,
        poster_path,
        thumb_path,
        spec.width,
        spec.height,
        spec.fps,
        max(1, round(spec.seconds * spec.fps)) / spec.fps,
        samples is not None,
    )
