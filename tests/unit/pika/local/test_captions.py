"""The prompt the local Pika draws at the bottom of its videos, as members read it."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.pika.local.render import RenderSpec, _overlay_text, drawable


def caption(prompt: str) -> np.ndarray:
    """The caption layer of a 640x360 video of `prompt`."""
    spec = RenderSpec(width=640, height=360, fps=24, seconds=1, seed=1, prompt=prompt)
    return np.asarray(_overlay_text(spec, (640, 360)))


@pytest.mark.parametrize(
    ("prompt", "as_drawn"),
    [
        # Pillow's built-in font has no accented letter: each was drawn as an empty box.
        ("un café sous la neige épaisse", "un cafe sous la neige epaisse"),
        ("ein Fuchs läuft über die Straße", "ein Fuchs lauft uber die Strasse"),
        ("a fox 🦊 in the snow 🔥", "a fox in the snow"),
    ],
)
def test_letters_the_font_lacks_are_drawn_plainly_never_as_boxes(
    prompt: str, as_drawn: str
) -> None:
    assert drawable(prompt) == as_drawn
    assert np.array_equal(caption(prompt), caption(as_drawn))


def test_a_prompt_the_font_cannot_draw_at_all_leaves_no_empty_band() -> None:
    assert np.array_equal(caption("雪の中を走る狐"), caption(""))


def test_over_a_video_the_old_label_and_caption_never_show_through() -> None:
    # An extension's frames come from a video of ours, with its own label and caption where
    # the new ones go: through a see-through band a member read both, drawn over each other.
    spec = RenderSpec(
        width=640, height=360, fps=24, seconds=1, seed=1, prompt="a fox", label="local Pika"
    )
    extension = replace(spec, video=Path("source.mp4"), video_mode="extend")
    layer = _overlay_text(extension, (640, 360))
    under = [Image.new("RGBA", (640, 360), colour) for colour in ("black", "white")]
    seen = [np.asarray(Image.alpha_composite(frame, layer)) for frame in under]
    label_band, caption_band = slice(0, 18), slice(330, 360)
    for band in (label_band, caption_band):
        assert np.array_equal(seen[0][band], seen[1][band])


def test_a_prompt_too_long_for_three_lines_is_drawn_cut_not_as_if_complete() -> None:
    long = " ".join(f"word{n}" for n in range(60))
    # What fits on three lines of a 640x360 caption (58 characters a line), word for word:
    # drawn the same as the long prompt, a member could not tell it was cut.
    fitting = " ".join(textwrap.wrap(long, 58)[:3])
    assert not np.array_equal(caption(long), caption(fitting))
    assert np.array_equal(caption(long), caption(long + " and more words"))
