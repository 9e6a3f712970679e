"""Validation entry points: a body in, a request model (or every broken rule, named) out.

The same functions serve the bot, before it spends a credit, and the local Pika, on arrival.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, get_args

from pydantic import ValidationError

from bot.pika.errors import InvalidRequest, Problem
from bot.pika.media import MediaFacts
from bot.pika.models.fields import PikaBody, PikaModelName
from bot.pika.models.requests import (
    AdditionsRequest,
    AdjustRequest,
    Generate10Request,
    Generate15Request,
    Generate20Request,
    Generate21Request,
    InpaintRequest,
    OutpaintRequest,
    PikaRequestModel,
    SwapRequest,
)
from bot.pika.rules import FIELD, english, rule_of


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.startswith(("function-", "union[", "tagged-union[")):
            text += f".{part}" if text else part
    return text


def problems_of(error: ValidationError) -> list[Problem]:
    """Turn a pydantic error into problems that name the vendor field and its rule: in English,
    and as a catalogue key with what fills it (`bot.pika.rules`)."""
    found: list[Problem] = []
    for item in error.errors():
        field = _loc(item["loc"])
        rule = english(item)
        key, params = rule_of(item)
        named = (item.get("ctx") or {}).get(FIELD)
        if isinstance(named, str):
            # A rule the model checks as a whole names its field itself.
            field = f"{field}.{named}" if field and not named.startswith(field) else named
        elif not field or item["type"] in ("value_error", "assertion_error"):
            # Older model-level rules say which field they concern as "field: rule".
            head, sep, tail = rule.partition(": ")
            if sep and " " not in head:
                field = f"{field}.{head}" if field and not head.startswith(field) else head
                rule = tail
                params = {"text": tail} if key == "rule.vendor" else params
        problem = Problem(field, rule, key, params)
        if problem not in found:
            found.append(problem)
    return found


R = TypeVar("R", bound=PikaBody)


def validate_request(cls: type[R], data: Mapping[str, Any], facts: MediaFacts | None = None) -> R:
    """Validate a body against one model; raise InvalidRequest naming every broken rule."""
    try:
        return cls.model_validate(data, context={"media": facts or MediaFacts()})
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None


GENERATE_MODELS: dict[str, type[PikaRequestModel]] = {
    "1.0": Generate10Request,
    "1.5": Generate15Request,
    "2.0": Generate20Request,
    "2.1": Generate21Request,
}
# Every model `generate_model_for` may pick: the body's `model` field (and swapPrompt) decides.
GENERATE_FAMILY: frozenset[type[PikaRequestModel]] = frozenset(
    {*GENERATE_MODELS.values(), AdditionsRequest, SwapRequest}
)


def generate_model_for(body: Mapping[str, Any]) -> type[PikaRequestModel]:
    """Which model describes a body sent to POST /web/generate.

    Without a model the body is model 1.0; reprompt and edit bodies are 1.0 bodies too, so the
    1.0 model (a superset of their fields) reads them.
    """
    model = body.get("model")
    if model is None:
        return Generate10Request
    if model == "Turbo":
        return SwapRequest if body.get("swapPrompt") is not None else AdditionsRequest
    if model not in GENERATE_MODELS:
        names = ", ".join(repr(name) for name in get_args(PikaModelName))
        choices = {"choices": [str(name) for name in get_args(PikaModelName)]}
        raise InvalidRequest([Problem("model", f"must be one of {names}", "rule.choice", choices)])
    return GENERATE_MODELS[str(model)]


def parse_generate(body: Mapping[str, Any], facts: MediaFacts | None = None) -> PikaRequestModel:
    """Validate any body of POST /web/generate against the model that describes it."""
    return validate_request(generate_model_for(body), body, facts)


def parse_adjust(body: Mapping[str, Any], facts: MediaFacts | None = None) -> AdjustRequest:
    """Validate a body of POST /web/adjust (inpainting or outpainting)."""
    mode = body.get("mode")
    if mode == "inpainting":
        return validate_request(InpaintRequest, body, facts)
    if mode == "outpainting":
        return validate_request(OutpaintRequest, body, facts)
    modes = ["inpainting", "outpainting"]
    english = ", ".join(repr(m) for m in modes)
    raise InvalidRequest(
        [Problem("mode", f"must be one of {english}", "rule.choice", {"choices": modes})]
    )
