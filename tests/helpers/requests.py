"""Valid Pika requests to start from; a test changes only the fields it is about."""

from __future__ import annotations

from typing import Any

from bot.pika.models import Generate10Request, Options


def fox(**fields: Any) -> Generate10Request:
    """A text-to-video request for "a fox" with the default options; `fields` override any field."""
    return Generate10Request(**({"prompt_text": "a fox", "options": Options.default()} | fields))
