"""The catalogue of job kinds: one record per kind, the single home of what the vendor decides.

A kind is what the jobs table stores and members ask for ("generate", "upscale", ...). Its record
says which request models a job of that kind may send, whether it needs the owner's paid plan,
whether a re-roll with a new seed makes sense, which Pika model it runs on, whether it works on an
existing video, and how Pika is asked about it afterwards. Code outside this module reads these
fields and never compares kind names. Display titles are not vendor facts and live with the
wording members read, keyed by `name`.
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
    """Everything the vendor decides about one kind of job.

    - `name`: as stored in the jobs table.
    - `requests`: the request models a job of this kind may send.
    - `paid_feature`: needs the owner's paid plan, so the server's paid-features switch applies.
    - `has_seed`: its video comes from a seed, so the result shows it and a re-roll with a new
      seed makes sense.
    - `model`: the Pika model a body of this kind runs on when it names none (shown with the
      result); None for endpoints that have no model choice (upscale, lip sync).
    - `on_video`: works on an existing video (its `video` field); when that video is a result of
      ours, the job records it as its parent and knows its length.
    - `inherits`: (with `on_video`) a result of ours lends its prompt and options as defaults.
    - `once_per_video`: a video gets one job of this kind, whoever asks and whenever: asking
      again points to that job, nothing is paid twice, and its result does not get another.
    - `polled_by`: how Pika is asked about a running job.
    """

    name: str
    requests: tuple[type[PikaRequestModel], ...]
    paid_feature: bool = False
    has_seed: bool = True
    model: str | None = "1.0"
    on_video: bool = False
    inherits: bool = False
    once_per_video: bool = False
    polled_by: Polling = Polling.JOB_ID

    def __post_init__(self) -> None:
        # parse() reads a body with parse_generate when the body's `model` field picks among
        # the kind's models, and with the kind's only model otherwise.
        if not self.requests:
            raise ValueError(f"job kind {self.name!r} sends no request model")
        if len(self.requests) > 1 and not set(self.requests) <= GENERATE_FAMILY:
            raise ValueError(f"job kind {self.name!r}: only generate bodies may share a kind")
        if (self.inherits or self.once_per_video) and not self.on_video:
            raise ValueError(f"job kind {self.name!r} works on a video: set on_video=True")

    @property
    def model_choice(self) -> bool:
        """The body's `model` field picks among several models (members may choose one)."""
        return len(self.requests) > 1

    def takes(self, field: str) -> bool:
        """Some request model of this kind has the vendor field `field` (snake_case name)."""
        return any(field in model.model_fields for model in self.requests)

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
            JobKind("reprompt", (RepromptRequest,), on_video=True, inherits=True),
            JobKind("edit", (EditRequest,), on_video=True, inherits=True),
            JobKind("inpaint", (InpaintRequest,), on_video=True, inherits=True),
            JobKind("outpaint", (OutpaintRequest,), on_video=True, inherits=True),
            JobKind("extend", (ExtendRequest,), paid_feature=True, on_video=True, inherits=True),
            JobKind(
                "upscale",
                (UpscaleRequest,),
                paid_feature=True,
                has_seed=False,
                model=None,
                on_video=True,
                once_per_video=True,
                polled_by=Polling.VIDEO_URL,
            ),
            JobKind("lipsync", (LipSyncRequest,), has_seed=False, model=None, on_video=True),
        )
    }
)


def kind(name: str) -> JobKind:
    """The record of the kind called `name`; ValueError if there is none."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
