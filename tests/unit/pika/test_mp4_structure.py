"""An MP4's declared counts, read from its boxes before FFmpeg opens (and indexes) it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.pika import mp4_structure
from bot.pika.media_probe import MediaRefused, video_facts
from bot.pika.mp4_structure import Declared, Track
from tests.media import mp4, mp4_declaring

ROOT = Path(__file__).resolve().parents[3]


def test_a_clips_tracks_and_counts_are_read_from_its_boxes(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4(seconds=2.0, fps=12))
    found = mp4_structure.declared(clip)
    assert [(t.handler, t.samples) for t in found.tracks] == [(b"vide", 24)]
    assert mp4_structure.problem(found, max_frames=1800) is None


def test_a_clip_declaring_millions_of_frames_is_refused_before_ffmpeg_indexes_them(
    tmp_path: Path,
) -> None:
    # Two real frames, ten million declared: FFmpeg's index of them took 700 MB and 3 s when
    # the file was opened, before its frame count was looked at (fifty million: 3.5 GB).
    clip = tmp_path / "claims.mp4"
    clip.write_bytes(mp4_declaring(10_000_000))
    with pytest.raises(MediaRefused) as refused:
        video_facts(clip)
    assert refused.value.problem == "too_many_frames"
    assert refused.value.numbers == {"frames": 10_000_000, "limit": 1800}
    # The same refusal in a process of its own, whose peak memory says what it cost.
    # VmHWM, not ru_maxrss: Linux carries the parent's peak (a test worker's) over an exec.
    probe = (
        "import sys; from pathlib import Path\n"
        "from bot.pika.media_probe import MediaRefused, video_facts\n"
        "try:\n    video_facts(Path(sys.argv[1]))\nexcept MediaRefused:\n    pass\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(int(peak.split()[1]) // 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(clip)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) < 300, done.stdout  # MB; the index alone was 700


@pytest.mark.parametrize(
    "found",
    [
        Declared(tracks=[Track(b"soun", samples=200_000)]),  # each one indexed
        Declared(tracks=[Track(b"soun", samples=1000, chunks=200_000)]),
        Declared(fragment_samples=200_000),
    ],
)
def test_any_track_or_fragments_past_the_index_cap_are_refused(found: Declared) -> None:
    assert mp4_structure.problem(found, max_frames=1800) == ("not_mp4", {})


def test_a_video_past_the_frame_cap_but_cheap_to_index_is_left_to_the_reading() -> None:
    # 40 s at 60 frames a second: the reading of the file says "is 40 s long; at most 30 s",
    # which a member understands better than a count of frames.
    long = Declared(tracks=[Track(b"vide", samples=2400)])
    assert mp4_structure.problem(long, max_frames=1800) is None


def test_audio_of_one_sample_size_is_indexed_by_chunk_and_may_hold_many_samples() -> None:
    pcm = Track(b"soun", samples=30 * 192_000, sample_size=4, chunks=3000)  # 30 s at 192 kHz
    assert mp4_structure.problem(Declared(tracks=[pcm]), max_frames=1800) is None


def test_boxes_that_do_not_hold_together_are_unreadable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes((100).to_bytes(4, "big") + b"moov" + b"\0" * 20)  # 100 bytes claimed
    with pytest.raises(mp4_structure.Unreadable):
        mp4_structure.declared(broken)
    with pytest.raises(MediaRefused) as refused:
        video_facts(broken)
    assert refused.value.problem == "not_mp4"
    countless = tmp_path / "countless.mp4"  # walked in Python: the boxes are counted
    countless.write_bytes(b"\0\0\0\x08free" * (mp4_structure.MAX_BOXES + 1))
    with pytest.raises(mp4_structure.Unreadable):
        mp4_structure.declared(countless)
