"""How the local Pika draws each request: one recipe per request model, by its stable key."""

from __future__ import annotations

from pathlib import Path

from bot.pika import kinds
from bot.pika.local import spec
from bot.pika.models import Generate21Request, Options
from bot.safe_fetch import SafeFetcher


def test_every_request_model_has_a_recipe() -> None:
    keys = {model.key for record in kinds.KINDS.values() for model in record.requests}
    assert keys == set(spec.RECIPES)


async def test_a_generation_from_text_is_labelled_by_its_recipe(tmp_path: Path) -> None:
    request = Generate21Request(model="2.1", prompt_text="a fox", options=Options.default())
    drawn = await spec.render_spec(request, 7, SafeFetcher(), tmp_path)
    assert drawn.label == "local Pika · model 2.1 · seed 7"
    assert drawn.prompt == "a fox" and drawn.video is None and drawn.image is None
