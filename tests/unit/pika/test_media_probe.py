"""What a media file really is, read within the limits before anything decodes it whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.pika.media_probe import MediaLimits, MediaRefused, video_facts
from tests.media import mp4


def test_a_clip_within_the_limits_is_read_as_it_is(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4(seconds=2.0, fps=12))
    facts = video_facts(clip)
    assert (facts.width, facts.height) == (320, 180)
    assert facts.frames == 24 and facts.seconds == pytest.approx(2.0)


def test_a_clip_with_more_frames_than_the_cap_is_refused_naming_the_cap(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4(seconds=2.0, fps=12))  # 24 frames, well within 30 s
    with pytest.raises(MediaRefused) as refused:
        video_facts(clip, MediaLimits(max_video_frames=20))
    assert refused.value.problem == "too_many_frames"
    assert refused.value.numbers == {"frames": 24, "limit": 20}
