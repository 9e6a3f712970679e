"""The local Pika's clips move: every render changes from its first frame to its last at every
motion level, an input image is shown whole while it moves, and the prompt stays readable."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.pika.client import PikaClient
from bot.pika.models import CreateJobResponse, Generate10Request, Generate21Request, Options
from tests.local_pika.conftest import MediaServer, download, finish
from tests.media import frames

MOVES = 3.0  # mean absolute difference (0-255) that a person sees as motion, at the least
SCENE = (slice(30, 300), slice(0, 640))  # a 640x360 frame without its label and caption
CAPTION = (slice(322, 360), slice(0, 640))
CORNERS = {(0, 0): (255, 0, 0), (1, 0): (0, 255, 0), (0, 1): (0, 0, 255), (1, 1): (255, 0, 255)}


def options(motion: int, seed: int = 21) -> Options:
    return Options.default(parameters={"guidanceScale": 12, "motion": motion, "seed": seed})


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def picture() -> bytes:
    """A picture whose four corners carry four colours: cropping any part of it loses one."""
    image = Image.new("RGB", (320, 240), (240, 230, 200))
    draw = ImageDraw.Draw(image)
    draw.ellipse((100, 60, 220, 180), fill=(30, 120, 60))
    for (right, bottom), colour in CORNERS.items():
        x, y = right * 280, bottom * 200
        draw.rectangle((x, y, x + 39, y + 39), fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def clip(client: PikaClient, request: Any) -> list[np.ndarray]:
    created = await client.submit(request)
    assert isinstance(created, CreateJobResponse) and created.job_id
    state = await finish(client, created.job_id)
    assert state.result_url is not None, state.reason
    return frames(await download(state.result_url))


def has_colour(frame: np.ndarray, colour: tuple[int, int, int]) -> bool:
    """Whether a patch of this colour (8x8 pixels or more) is in the frame."""
    close = np.abs(frame.astype(int) - np.array(colour)).max(axis=2) < 60
    return int(close.sum()) >= 64


@pytest.mark.parametrize("motion", [1, 2, 3, 4])
async def test_a_prompt_alone_moves_at_every_motion_level(client: PikaClient, motion: int) -> None:
    shown = await clip(client, Generate10Request(prompt_text="a fox", options=options(motion)))
    first, last = shown[0], shown[-1]
    assert difference(first[SCENE], last[SCENE]) > MOVES
    middle = len(shown) // 2
    assert difference(shown[middle - 1][SCENE], shown[middle][SCENE]) > 0.05  # it flows
    assert difference(first[CAPTION], last[CAPTION]) < difference(first[SCENE], last[SCENE])


async def test_more_motion_moves_more(client: PikaClient) -> None:
    calm = await clip(client, Generate10Request(prompt_text="a fox", options=options(1)))
    lively = await clip(client, Generate10Request(prompt_text="a fox", options=options(4)))
    assert difference(lively[0][SCENE], lively[-1][SCENE]) > difference(
        calm[0][SCENE], calm[-1][SCENE]
    )


async def test_another_seed_is_another_scene(client: PikaClient) -> None:
    one = await clip(client, Generate10Request(prompt_text="a fox", options=options(2, seed=1)))
    two = await clip(client, Generate10Request(prompt_text="a fox", options=options(2, seed=2)))
    assert difference(one[0][SCENE], two[0][SCENE]) > 10


@pytest.mark.parametrize("motion", [1, 2, 3, 4])
async def test_an_image_moves_and_stays_whole_at_every_motion_level(
    client: PikaClient, media: MediaServer, motion: int
) -> None:
    image = media.put(f"corners{motion}.png", picture(), "image/png")
    request = Generate21Request(model="2.1", image=image, options=options(motion))
    shown = await clip(client, request)
    first, last = shown[0], shown[-1]
    assert difference(first[SCENE], last[SCENE]) > MOVES
    for frame in (first, shown[len(shown) // 2], last):
        assert all(has_colour(frame, colour) for colour in CORNERS.values())
