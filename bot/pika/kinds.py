"""Stand-in for the kinds catalogue being written in the pika re-layering (replaced on merge)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.pika.media import MediaFacts
from bot.pika.models import (
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
    """How a running job is asked about."""

    JOB_ID = "job_id"
    VIDEO_URL = "video_url"


@dataclass(frozen=True)
class JobKind:
    """Vendor facts about one kind of job."""

    name: str
    parser: Callable[[Mapping[str, Any], MediaFacts | None], PikaRequestModel]
    requests: tuple[type[PikaRequestModel], ...]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    paid_feature: bool = False
    has_seed: bool = True
    polled_by: Polling = Polling.JOB_ID

    def parse(self, body: Mapping[str, Any], facts: MediaFacts | None = None) -> PikaRequestModel:
        """Validate a stored vendor body."""
        return self.parser(body, facts)


def _model(cls: type[PikaRequestModel]) -> Callable[..., PikaRequestModel]:
    return lambda body, facts: validate_request(cls, body, facts)


KINDS: dict[str, JobKind] = {
    k.name: k
    for k in (
        JobKind("generate", parse_generate, (Generate10Request, Generate21Request)),
        JobKind("pikaffect", parse_generate, (Generate15Request,), {"model": "1.5"}),
        JobKind("ingredients", parse_generate, (Generate20Request,), {"model": "2.0"}),
        JobKind("additions", parse_generate, (AdditionsRequest,), {"model": "Turbo"}),
        JobKind("swap", parse_generate, (SwapRequest,), {"model": "Turbo"}),
        JobKind("reprompt", _model(RepromptRequest), (RepromptRequest,)),
        JobKind("edit", _model(EditRequest), (EditRequest,)),
        JobKind("inpaint", _model(InpaintRequest), (InpaintRequest,), {"mode": "inpainting"}),
        JobKind("outpaint", _model(OutpaintRequest), (OutpaintRequest,), {"mode": "outpainting"}),
        JobKind("extend", _model(ExtendRequest), (ExtendRequest,), paid_feature=True),
        JobKind(
            "upscale",
            _model(UpscaleRequest),
            (UpscaleRequest,),
            paid_feature=True,
            has_seed=False,
            polled_by=Polling.VIDEO_URL,
        ),
        JobKind("lipsync", _model(LipSyncRequest), (LipSyncRequest,), has_seed=False),
    )
}


def kind(name: str) -> JobKind:
    """The kind called `name`."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}") from None
