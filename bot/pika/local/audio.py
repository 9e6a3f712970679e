"""Sound for the local Pika's lip-sync videos: the speech span decoded, encoded as AAC, and
how loud it is during each video frame (which opens the drawn mouth)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import av.audio.fifo
import av.audio.resampler
import av.container
import numpy as np

AUDIO_RATE = 44100


@dataclass(frozen=True)
class Speech:
    """A WAV file and the span of it [start, end] seconds laid over the video from its start."""

    wav: bytes
    start: float
    end: float


class SpeechError(Exception):
    """The speech cannot be used; the message says why."""


def decode_speech(speech: Speech, max_seconds: float) -> np.ndarray:
    """The WAV's samples in [start, end] (at most max_seconds), mono float32 at AUDIO_RATE."""
    resampler = av.audio.resampler.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(speech.wav), mode="r", format="wav") as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except (av.FFmpegError, IndexError) as exc:
        raise SpeechError("the speech could not be read as a WAV file") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    span = min(speech.end, speech.start + max_seconds)
    part = samples[int(speech.start * AUDIO_RATE) : int(span * AUDIO_RATE)]
    if part.size == 0:
        raise SpeechError("the speech has no sound between speechStart and speechEnd")
    return part.astype(np.float32)


def encode_audio(
    container: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray
) -> None:
    fifo = av.audio.fifo.AudioFifo()
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = AUDIO_RATE
    frame.pts = 0
    resampler = av.audio.resampler.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE)
    for out in resampler.resample(frame):
        fifo.write(out)
    size = stream.codec_context.frame_size or 1024
    while fifo.samples >= size:
        for packet in stream.encode(fifo.read(size)):
            container.mux(packet)
    rest = fifo.read()
    if rest is not None:
        for packet in stream.encode(rest):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def levels_of(samples: np.ndarray, fps: int, seconds: float) -> np.ndarray:
    """Loudness (0-1) of the speech during each video frame."""
    per_frame = AUDIO_RATE / fps
    count = max(1, round(seconds * fps))
    levels = np.zeros(count, dtype=np.float32)
    for index in range(count):
        chunk = samples[int(index * per_frame) : int((index + 1) * per_frame)]
        if chunk.size:
            levels[index] = float(np.sqrt(np.mean(chunk**2)))
    peak = float(levels.max()) or 1.0
    return levels / peak
