"""What a media file really is, read from its bytes, and the limits it must stay within.

A file's name and content type are claims; so are the size and length in its headers. Both the
bot (before it pays for a job) and the local Pika (before it renders one) read a file here:
an image by its structure (`image_structure`: a PNG's chunks, a JPEG's markers, a GIF's
blocks, so that a file cut short is refused before it is paid for) and header (format,
width, height), an MP4
by its container and first frame (size, rate, length, frames), a WAV by decoding it (its real
length). Nothing is decoded whole before its claimed size has been checked against
`MediaLimits`, so a 20 KB PNG that claims 13000x13000 pixels or a 2 KB MP4 that claims ten
hours costs nothing to refuse.

A refusal is a `MediaRefused` with a short code (`problem`) and the numbers it concerns; the
caller turns it into words (the bot's wording catalogue, or the local Pika's job error).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from bot.pika import image_structure, mp4_structure

IMAGE_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF"})
# Pillow's names for files of those formats: a JPEG with more pictures after its first (a
# phone's Ultra HDR gain map, a depth map) is "MPO" to Pillow and a JPEG to everyone else.
FORMAT_OF = {"MPO": "JPEG"}


@dataclass(frozen=True)
class MediaLimits:
    """The most an input may be, in bytes, pixels, seconds and frames."""

    max_bytes: int = 64 * 1024 * 1024
    max_image_pixels: int = 24_000_000  # 6000 x 4000
    max_video_side: int = 4096
    max_video_pixels: int = 4096 * 2304  # a 4K frame
    max_video_seconds: float = 30.0
    max_video_frames: int = 1800  # 30 s at 60 fps
    max_speech_seconds: float = 120.0


LIMITS = MediaLimits()


class MediaRefused(Exception):
    """A file is not what it claims, or is over a limit: `problem` says which, `numbers` how."""

    def __init__(self, problem: str, **numbers: Any) -> None:
        self.problem = problem
        self.numbers = numbers
        details = ", ".join(f"{k}={v}" for k, v in numbers.items())
        super().__init__(f"{problem}({details})")


@dataclass(frozen=True)
class ImageFacts:
    """An image's format and size."""

    format: str
    width: int
    height: int


@dataclass(frozen=True)
class VideoFacts:
    """A video's size, rate, length and frame count."""

    width: int
    height: int
    fps: float
    seconds: float
    frames: int
    has_audio: bool


def image_facts(data: bytes | Path, limits: MediaLimits = LIMITS) -> ImageFacts:
    """Read an image's header (nothing is decoded whole), from its bytes or its file;
    MediaRefused if it is not a PNG, JPEG, WebP or GIF, or has more pixels than allowed."""
    if _size(data) > limits.max_bytes:
        raise MediaRefused("too_large", limit_mib=limits.max_bytes >> 20)
    try:
        if not image_structure.whole(data):  # before Pillow walks it, at Python's speed
            raise MediaRefused("not_image")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(_source(data))
        with image:
            width, height = image.size
            found = FORMAT_OF.get(image.format or "", image.format or "")
            if found not in IMAGE_FORMATS:
                raise MediaRefused("not_image")
            check_pixels(width, height, limits)
    except MediaRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
        raise MediaRefused("not_image") from None
    return ImageFacts(found, width, height)


def _size(data: bytes | Path) -> int:
    return data.stat().st_size if isinstance(data, Path) else len(data)


def _source(data: bytes | Path) -> io.BytesIO | Path:
    """What PyAV and Pillow read: the file itself, or the bytes (`io.BytesIO` shares them)."""
    return data if isinstance(data, Path) else io.BytesIO(data)


def check_pixels(width: int, height: int, limits: MediaLimits = LIMITS) -> None:
    """MediaRefused when an image has more pixels than allowed."""
    if width <= 0 or height <= 0 or width * height > limits.max_image_pixels:
        raise MediaRefused(
            "too_many_pixels",
            width=width,
            height=height,
            limit=f"{limits.max_image_pixels / 1e6:g} million",
        )


def video_facts(path: Path, limits: MediaLimits = LIMITS) -> VideoFacts:
    """Read an MP4's container and decode its first frame; MediaRefused if it is not an MP4
    with a video stream, or its size, length or frames are over the limits."""
    if path.stat().st_size > limits.max_bytes:
        raise MediaRefused("too_large", limit_mib=limits.max_bytes >> 20)
    try:  # before FFmpeg opens it: opening builds an index of every sample declared
        refused = mp4_structure.problem(mp4_structure.declared(path), limits.max_video_frames)
    except (mp4_structure.Unreadable, OSError):
        raise MediaRefused("not_mp4") from None
    if refused is not None:
        raise MediaRefused(refused[0], **refused[1])
    av = _pyav()
    try:
        # Nothing is decoded while the container is read (FFmpeg would decode a frame to
        # probe the stream, 100 MB for an 8192x8192 one): frames only once sizes are checked.
        options = {"skip_frame": "all"}
        with av.open(str(path), options=options, metadata_errors="ignore") as container:
            if "mp4" not in container.format.name.split(","):
                raise MediaRefused("not_mp4")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            check_frame(width, height, limits)
            fps = float(stream.average_rate or stream.guessed_rate or 0) or 24.0
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / av.time_base
            else:
                seconds = (stream.frames or 0) / fps
            frames = stream.frames or round(seconds * fps)
            if seconds > limits.max_video_seconds:
                raise MediaRefused(
                    "too_long", seconds=round(seconds, 1), limit=limits.max_video_seconds
                )
            if frames > limits.max_video_frames:
                raise MediaRefused("too_many_frames", frames=frames, limit=limits.max_video_frames)
            stream.codec_context.skip_frame = "DEFAULT"
            first = next(container.decode(video=0), None)
            if first is None:
                raise MediaRefused("not_mp4")
            check_frame(first.width, first.height, limits)
            return VideoFacts(width, height, fps, seconds, frames, bool(container.streams.audio))
    except MediaRefused:
        raise
    except (av.FFmpegError, IndexError, ValueError, OSError):
        raise MediaRefused("not_mp4") from None


def _pyav() -> Any:
    """PyAV, imported on first use: FFmpeg's libraries are about 24 MB of resident memory,
    which a bot whose members send no video or audio never needs."""
    import av

    return av


def check_frame(width: int, height: int, limits: MediaLimits = LIMITS) -> None:
    """MediaRefused when a video frame is larger than allowed."""
    side = limits.max_video_side
    if (
        width <= 0
        or height <= 0
        or max(width, height) > side
        or width * height > limits.max_video_pixels
    ):
        raise MediaRefused("frame_too_large", width=width, height=height, side=side)


def speech_seconds(data: bytes | Path, limits: MediaLimits = LIMITS) -> float:
    """A WAV's real length, by decoding it (its header may lie), from its bytes or its file;
    MediaRefused if it is not a WAV or is longer than allowed."""
    if _size(data) > limits.max_bytes:
        raise MediaRefused("too_large", limit_mib=limits.max_bytes >> 20)
    samples = 0
    rate = 0
    av = _pyav()
    try:
        source = str(data) if isinstance(data, Path) else io.BytesIO(data)
        with av.open(source, mode="r", format="wav") as container:
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or 0
            longest = limits.max_speech_seconds
            for frame in container.decode(audio=0):
                samples += frame.samples
                if rate and samples / rate > longest:
                    raise MediaRefused("too_long", seconds=round(samples / rate, 1), limit=longest)
    except MediaRefused:
        raise
    except (av.FFmpegError, IndexError, ValueError, OSError):
        raise MediaRefused("not_wav") from None
    if not rate or not samples:
        raise MediaRefused("not_wav")
    return samples / rate
