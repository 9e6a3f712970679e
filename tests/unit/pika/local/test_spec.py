"""How the local Pika draws each request: one recipe per request model, by its stable key."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
from aiohttp import web
from PIL import Image

from bot.pika import kinds
from bot.pika.local import spec
from bot.pika.local.render import RenderSpec
from bot.pika.models import Generate20Request, Generate21Request, Options
from bot.safe_fetch import SafeFetcher
from tests.helpers.origins import origin_of
from tests.helpers.web import in_pieces, serving


def test_every_request_model_has_a_recipe() -> None:
    keys = {model.key for record in kinds.KINDS.values() for model in record.requests}
    assert keys == set(spec.RECIPES)


async def test_a_generation_from_text_is_labelled_by_its_recipe(tmp_path: Path) -> None:
    request = Generate21Request(model="2.1", prompt_text="a fox", options=Options.default())
    drawn = await spec.render_spec(request, 7, SafeFetcher(), tmp_path)
    assert drawn.label == "local Pika · model 2.1 · seed 7"
    assert drawn.prompt == "a fox" and drawn.video is None and drawn.image is None


async def test_input_images_are_kept_on_disk_not_in_memory(tmp_path: Path) -> None:
    """Four ingredients of up to 64 MiB each were held in memory for the whole render, two
    renders at once: over half a gigabyte. On disk, fetching them holds a few pieces."""
    pixels = np.random.default_rng(1).integers(0, 256, (1600, 1600, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG", compress_level=0)
    big = out.getvalue()

    async def serve(request: web.Request) -> web.StreamResponse:
        return await in_pieces(request, big)

    async with serving(serve) as base:
        drawn, peak = await render_measured(base, tmp_path)
    assert len(drawn.ingredients) == 4 and len(big) > 7_000_000
    assert peak < 3_000_000, peak  # four files of 7.7 MB


async def render_measured(base: str, tmp_path: Path) -> tuple[RenderSpec, int]:
    """A render of four ingredients from `base`, after one to warm up; its peak memory."""
    fetcher = SafeFetcher([origin_of(base)])
    urls = [f"{base}/{n}.png" for n in range(4)]
    request = Generate20Request(model="2.0", ingredients=urls, options=Options.default())
    (tmp_path / "warm-up").mkdir()
    (tmp_path / "measured").mkdir()
    try:
        await spec.render_spec(request, 7, fetcher, tmp_path / "warm-up")
        tracemalloc.start()
        drawn = await spec.render_spec(request, 7, fetcher, tmp_path / "measured")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await fetcher.aclose()
    return drawn, peak
