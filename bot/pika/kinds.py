"""The catalogue of job kinds: one record per kind, the single home of what the vendor decides.

A kind is what the jobs table stores and members ask for ("generate", "upscale", ...). Its record
says which request models a job of that kind may send, whether it needs the owner's paid plan,
whether a re-roll with a new seed makes sense, and how Pika is asked about it afterwards. Display
titles are not vendor facts and live with the wording members read, keyed by `name`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, get_args, get_origin

from bot.pika.errors import InvalidRequest, Problem
from bot.pika.media import MediaFacts
from bot.pika.models import (
    GENERATE_FAMILY,
    AdditionsRequest,
    EditRequest,
    ExtendRequest,
    Generate10Request,
    Generate15Request,
    Generate20Request,
    Generate21Request,
    InpaintRequest,
    LipSyncRequest,
    OutpaintRequest,
    PikaRequestModel,
    RepromptRequest,
    SwapRequest,
    UpscaleRequest,
    parse_generate,
    validate_request,
)


class Polling(StrEnum):
    """How a running job is looked up at Pika."""

    JOB_ID = "job_id"  # GET /web/jobs/{id}, with the id Pika gave at creation
    VIDEO_URL = "video_url"  # POST /web/jobs/upscaled, with the source video's URL


@dataclass(frozen=True)
class JobKind:
    """Everything the vendor decides about one kind of job."""

    name: str  # as stored in the jobs table
    requests: tuple[type[PikaRequestModel], ...]  # the request models a job of this kind may send
    paid_feature: bool = False  # needs the owner's paid plan: the paid-features switch applies
    has_seed: bool = True  # a re-roll with a new seed makes sense
    polled_by: Polling = Polling.JOB_ID

    def __post_init__(self) -> None:
        # parse() reads a body with parse_generate when the body's `model` field picks among
        # the kind's models, and with the kind's only model otherwise.
        if not self.requests:
            raise ValueError(f"job kind {self.name!r} sends no request model")
        if len(self.requests) > 1 and not set(self.requests) <= GENERATE_FAMILY:
            raise ValueError(f"job kind {self.name!r}: only generate bodies may share a kind")

    @property
    def fixed(self) -> Mapping[str, Any]:
        """The vendor fields every body of this kind carries with one value (a model, a mode).

        Read from the models: a field typed with a single Literal value in each of them.
        """
        shared = [_fixed_fields(model) for model in self.requests]
        return {k: v for k, v in shared[0].items() if all(f.get(k) == v for f in shared[1:])}

    def parse(self, body: Mapping[str, Any], facts: MediaFacts | None = None) -> PikaRequestModel:
        """Validate a vendor body (a new or a stored one) into its model; raises InvalidRequest."""
        request: PikaRequestModel
        if set(self.requests) <= GENERATE_FAMILY:
            request = parse_generate(body, facts)
        else:
            request = validate_request(self.requests[0], body, facts)
        if type(request) not in self.requests:
            raise InvalidRequest([Problem("model", f"does not make a {self.name} job")])
        return request


def _fixed_fields(model: type[PikaRequestModel]) -> dict[str, Any]:
    fixed: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        values = get_args(info.annotation)
        if get_origin(info.annotation) is Literal and len(values) == 1:
            fixed[info.alias or name] = values[0]
    return fixed


KINDS: Mapping[str, JobKind] = MappingProxyType(
    {
        record.name: record
        for record in (
            JobKind("generate", (Generate10Request, Generate21Request)),
            JobKind("pikaffect", (Generate15Request,)),
            JobKind("ingredients", (Generate20Request,)),
            JobKind("additions", (AdditionsRequest,)),
            JobKind("swap", (SwapRequest,)),
            JobKind("reprompt", (RepromptRequest,)),
            JobKind("edit", (EditRequest,)),
            JobKind("inpaint", (InpaintRequest,)),
            JobKind("outpaint", (OutpaintRequest,)),
            JobKind("extend", (ExtendRequest,), paid_feature=True),
            JobKind(
                "upscale",
                (UpscaleRequest,),
                paid_feature=True,
                has_seed=False,
                polled_by=Polling.VIDEO_URL,
            ),
            JobKind("lipsync", (LipSyncRequest,), has_seed=False),
        )
    }
)


def kind(name: str) -> JobKind:
    """The record of the kind called `name`; ValueError if there is none."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
