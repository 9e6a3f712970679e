"""The kind catalogue: every request model has a route and one kind; each kind reads its bodies."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from bot.pika.errors import InvalidRequest
from bot.pika.kinds import KINDS, JobKind, Polling, kind
from bot.pika.models import (
    Generate10Request,
    Generate15Request,
    Generate21Request,
    LipSyncRequest,
    Options,
    PikaRequestModel,
    UpscaleRequest,
)
from bot.pika.models import requests as bodies

VID = "https://cdn.pika.art/v1/abc/fox_seed1.mp4"


def request_models() -> list[type[PikaRequestModel]]:
    """Every concrete request model the models package defines."""
    return [
        cls
        for name, cls in inspect.getmembers(bodies, inspect.isclass)
        if issubclass(cls, PikaRequestModel)
        and cls.__module__ == bodies.__name__
        and not name.startswith("_")
        and cls is not PikaRequestModel
    ]


def body(**fields: Any) -> dict[str, Any]:
    return {"promptText": "a fox", "options": Options.default().payload()} | fields


def test_every_kind_sends_models_with_a_route_and_a_key() -> None:
    for record in KINDS.values():
        for model in record.requests:
            assert model.route.startswith("/web/"), model
            assert model.key, model


def test_every_request_model_belongs_to_exactly_one_kind() -> None:
    models = request_models()
    owners = {m: [k.name for k in KINDS.values() if m in k.requests] for m in models}
    assert len(owners) == 13
    assert {model.__name__: names for model, names in owners.items() if len(names) != 1} == {}


def test_request_keys_are_unique() -> None:
    keys = [model.key for model in request_models()]
    assert len(keys) == len(set(keys))


def test_the_catalogue_holds_the_twelve_stored_kinds() -> None:
    assert list(KINDS) == [
        "generate",
        "pikaffect",
        "ingredients",
        "additions",
        "swap",
        "reprompt",
        "edit",
        "inpaint",
        "outpaint",
        "extend",
        "upscale",
        "lipsync",
    ]
    assert all(name == record.name for name, record in KINDS.items())


def test_vendor_facts_of_each_kind() -> None:
    assert {r.name for r in KINDS.values() if r.paid_feature} == {"extend", "upscale"}
    assert {r.name for r in KINDS.values() if not r.has_seed} == {"upscale", "lipsync"}
    assert {r.name for r in KINDS.values() if r.polled_by is Polling.VIDEO_URL} == {"upscale"}
    assert {r.name for r in KINDS.values() if r.model is None} == {"upscale", "lipsync"}
    assert {r.name for r in KINDS.values() if r.model_choice} == {"generate"}
    assert {r.name for r in KINDS.values() if r.once_per_video} == {"upscale"}
    on_video = {"reprompt", "edit", "inpaint", "outpaint", "extend"}
    assert {r.name for r in KINDS.values() if r.inherits} == on_video
    assert {r.name for r in KINDS.values() if r.on_video} == on_video | {"upscale", "lipsync"}


def test_what_a_kind_takes_is_read_from_its_models() -> None:
    assert kind("lipsync").takes("speech_end") and not kind("lipsync").takes("options")
    assert kind("generate").takes("options") and not kind("generate").takes("speech_end")


def test_the_fields_a_kind_fixes_come_from_its_models() -> None:
    assert {name: dict(record.fixed) for name, record in KINDS.items() if record.fixed} == {
        "pikaffect": {"model": "1.5"},
        "ingredients": {"model": "2.0"},
        "additions": {"model": "Turbo"},
        "swap": {"model": "Turbo"},
        "inpaint": {"mode": "inpainting"},
        "outpaint": {"mode": "outpainting"},
    }


def test_generate_reads_each_of_its_models_by_the_body() -> None:
    assert type(kind("generate").parse(body())) is Generate10Request
    assert type(kind("generate").parse(body(model="2.1"))) is Generate21Request
    assert type(kind("pikaffect").parse(body(model="1.5", image=VID[:-4] + ".png"))) is (
        Generate15Request
    )


def test_a_body_of_another_kind_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        kind("generate").parse(body(model="1.5", pikaffect="Peel", video=VID))
    assert str(caught.value) == "model: does not make a generate job"


def test_single_model_kinds_validate_with_their_model() -> None:
    assert kind("upscale").parse({"video": VID}) == UpscaleRequest(video=VID)
    lipsync = {"video": VID, "speech": "https://x.org/a.wav", "speechStart": 0, "speechEnd": 1}
    assert type(kind("lipsync").parse(lipsync)) is LipSyncRequest
    with pytest.raises(InvalidRequest, match="video: is required"):
        kind("extend").parse(body())


def test_an_unknown_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown job kind 'dance'"):
        kind("dance")


def test_a_kind_needs_a_model_and_only_generate_bodies_may_share_one() -> None:
    with pytest.raises(ValueError, match="sends no request model"):
        JobKind("nothing", ())
    with pytest.raises(ValueError, match="only generate bodies may share a kind"):
        JobKind("mixed", (UpscaleRequest, LipSyncRequest))


def test_a_kind_that_works_on_a_video_says_so() -> None:
    with pytest.raises(ValueError, match="works on a video"):
        JobKind("again", (UpscaleRequest,), once_per_video=True)
    with pytest.raises(ValueError, match="works on a video"):
        JobKind("again", (UpscaleRequest,), inherits=True)
