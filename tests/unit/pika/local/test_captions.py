"""The prompt the local Pika draws at the bottom of its videos, as members read it."""

from __future__ import annotations

import numpy as np
import pytest

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
