"""What a media file really is, read within the limits before anything decodes it whole."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.pika.media_probe import (
    ImageFacts,
    MediaLimits,
    MediaRefused,
    image_facts,
    video_facts,
)
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


def picture(form: str, **saved: object) -> bytes:
    """A 640x480 photo-like image (noise: every part of the file carries pixels)."""
    out = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(out, form, **saved)
    return out.getvalue()


@pytest.mark.parametrize(
    ("form", "saved"),
    [("JPEG", {}), ("JPEG", {"progressive": True}), ("GIF", {}), ("PNG", {})],
)
def test_an_image_cut_short_is_refused_before_anyone_pays_for_it(
    form: str, saved: dict[str, object], tmp_path: Path
) -> None:
    # A file whose upload was interrupted: its header is whole, its pixels are not. Pika
    # cannot use it, and a job on it would fail after the member paid.
    whole = picture(form, **saved)
    cut = tmp_path / "cut"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    assert image_facts(whole).format == form
    for short in (whole[: len(whole) // 2], cut):
        with pytest.raises(MediaRefused) as refused:
            image_facts(short)
        assert refused.value.problem == "not_image"


def test_a_jpeg_with_more_pictures_inside_is_read_as_the_jpeg_it_is() -> None:
    # Phones save photos with a second picture after the first (Ultra HDR's gain map, a
    # depth map: "MPF"); Pillow names them MPO, and they were refused as not a JPEG at all.
    photo, gain_map = Image.new("RGB", (640, 480), (200, 30, 30)), Image.new("L", (320, 240))
    out = io.BytesIO()
    photo.save(out, "MPO", save_all=True, append_images=[gain_map.convert("RGB")])
    assert out.getvalue()[:3] == b"\xff\xd8\xff"  # a JPEG file, as its name says
    assert image_facts(out.getvalue()) == ImageFacts("JPEG", 640, 480)
    with pytest.raises(MediaRefused):
        image_facts(out.getvalue()[: len(out.getvalue()) // 3])  # cut in its first picture
