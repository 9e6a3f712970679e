"""Test media: images, speech and videos made on the spot, and PyAV readers for what comes back."""

from __future__ import annotations

import functools
import io
import wave
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image


def png(colour: tuple[int, int, int] = (255, 0, 0), size: tuple[int, int] = (64, 48)) -> bytes:
    """A solid-colour PNG."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def wav(seconds: float = 4.0, rate: int = 16000) -> bytes:
    """A tone that pulses on and off twice a second, so loudness changes visibly."""
    t = np.arange(int(seconds * rate)) / rate
    gate = (np.sin(2 * np.pi * 2 * t) > 0).astype(np.float32)
    samples = (0.6 * np.sin(2 * np.pi * 440 * t) * gate * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def mp4(
    seconds: float = 2.0, fps: int = 12, size: tuple[int, int] = (320, 180), seed: int = 1
) -> bytes:
    """A textured clip whose pattern drifts, encoded with PyAV."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 256, (h // 10 + 1, w // 10 + 1, 3), dtype=np.uint8)
    big = np.kron(base, np.ones((10, 10, 1), dtype=np.uint8))[:h, :w]
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.roll(big, index, axis=1), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def slideshow(pictures: int = 2, every: float = 5.0) -> bytes:
    """A 64x64 MP4 showing a new still every `every` seconds: a frame rate well under one."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for index in range(pictures):
            still = np.full((64, 64, 3), 40 * index % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(still, format="rgb24")
            frame.pts = round(index * every * 24)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


# --- hostile media: small files that claim to be enormous ------------------------------------


@functools.cache
def huge_mp4(side: int = 8192) -> bytes:
    """A ~200 KB MP4 of two black frames of side x side pixels (decoded: 100 MB a frame)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = side, side, "yuv420p"
        frame = av.VideoFrame(side, side, "yuv420p")
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        for pts in range(2):
            frame.pts = pts
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@functools.cache
def long_claim_mp4(hours: float = 10.0) -> bytes:
    """A ~2 KB MP4 whose second frame is stamped `hours` after its first: it claims that long."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        for pts in (0, round(24 * 3600 * hours)):
            frame.pts = pts
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _boxes(
    data: bytes | bytearray, start: int, end: int, path: str = ""
) -> dict[str, tuple[int, int]]:
    """Where each box of an MP4 starts and its size, by its path (`/moov/trak/...`)."""
    found: dict[str, tuple[int, int]] = {}
    at = start
    while at + 8 <= end:
        size, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8].decode()
        found.setdefault(f"{path}/{kind}", (at, size))
        if kind in ("moov", "trak", "mdia", "minf", "stbl"):
            found |= _boxes(data, at + 8, at + size, f"{path}/{kind}")
        at += size
    return found


@functools.cache
def mp4_declaring(frames: int) -> bytes:
    """A ~2 KB MP4 of two frames whose tables declare `frames` frames of one byte each (a
    constant size takes no room): what FFmpeg indexes when it opens the file."""
    data = bytearray(mp4(seconds=0.25, fps=8, size=(64, 64)))
    boxes = _boxes(data, 0, len(data))
    stbl = "/moov/trak/mdia/minf/stbl"
    at = boxes[f"{stbl}/stts"][0]
    data[at + 16 : at + 20] = frames.to_bytes(4, "big")  # the first entry's sample count
    at = boxes[f"{stbl}/stsz"][0]
    data[at + 12 : at + 20] = (1).to_bytes(4, "big") + frames.to_bytes(4, "big")
    at = boxes[f"{stbl}/stsc"][0]
    data[at + 20 : at + 24] = frames.to_bytes(4, "big")  # samples per chunk
    return bytes(data)


@functools.cache
def huge_png(side: int = 13000) -> bytes:
    """A ~20 KB PNG of side x side pixels (one bit each: cheap to make, 500 MB decoded as RGB)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Clip:
    """What a person would check of a video file."""

    width: int
    height: int
    fps: float
    seconds: float
    frame_count: int
    audio_codec: str | None
    audio_seconds: float | None
    video_codec: str


def inspect(data: bytes) -> Clip:
    """Decode a whole MP4 and report its properties."""
    with av.open(io.BytesIO(data), mode="r") as container:
        video = container.streams.video[0]
        frames = sum(1 for _ in container.decode(video=0))
        audio = container.streams.audio[0] if container.streams.audio else None
        audio_seconds = None
        if audio is not None and audio.duration is not None and audio.time_base is not None:
            audio_seconds = float(audio.duration * audio.time_base)
        fps = float(video.average_rate or 0)
        return Clip(
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=fps,
            seconds=frames / fps if fps else 0.0,
            frame_count=frames,
            audio_codec=audio.codec_context.name if audio is not None else None,
            audio_seconds=audio_seconds,
            video_codec=video.codec_context.name,
        )


def frames(data: bytes) -> list[np.ndarray]:
    """Every frame as an RGB array."""
    with av.open(io.BytesIO(data), mode="r") as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
