"""What request bodies are made of: bounds, closed sets of values, field types, nested objects.

Each vendor bound and set is defined once, here. The bounds are plain ints, so that a command can
declare `app_commands.Range[int, FRAME_RATE.low, FRAME_RATE.high]` and a settings model
`Field(ge=FRAME_RATE.low, le=FRAME_RATE.high)` from the same numbers the request models check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot.pika.media import MediaFacts, MediaKind, check_http_url, check_media_url
from bot.pika.rules import broken

N = TypeVar("N", int, float)


@dataclass(frozen=True)
class Bounds:
    """An inclusive range of a numeric field, as the vendor page gives it."""

    low: int
    high: int

    def check(self, value: N) -> N:
        """The value itself, or the error naming the range (`rule.range`)."""
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise broken(
                "rule.range", "must be between {low} and {high}", low=self.low, high=self.high
            )
        return value


FRAME_RATE = Bounds(1, 24)
MOTION = Bounds(1, 4)
GUIDANCE_SCALE = Bounds(5, 25)
SEED = Bounds(0, 2**53 - 1)
PERCENT = Bounds(0, 100)
SECONDS = Bounds(0, 3600)

MAX_PROMPT_CHARS = 1000
MAX_REF_CHARS = 200
MAX_INGREDIENTS = 4
MAX_VIDEO_SECONDS = 15.0
EXTEND_SECONDS = 4.0
GENERATE_SECONDS = 3.0

AspectRatio = Literal["16:9", "9:16", "1:1", "5:2", "4:5", "4:3"]
Zoom = Literal["in", "out"]
Pan = Literal["left", "right"]
Tilt = Literal["up", "down"]
Rotate = Literal["cw", "ccw"]
Style = Literal["Anime", "Moody", "3D", "Watercolor", "Natural", "Claymation", "Black & white"]
Pikaffect = Literal[
    "Peel", "Poke", "Tear", "Levitate", "Decapitate", "Eye-pop", "Inflate", "Melt", "Explode",
    "Squish", "Crush", "Cake-ify", "Ta-da", "Deflate", "Crumble", "Dissolve", "Hearts Bouquet",
    "Proposal", "Love Bomb", "Cupid Strike", "Rose", "Crazy in Love",
]  # fmt: skip
PikaModelName = Literal["1.0", "1.5", "2.0", "2.1", "Turbo"]
IngredientsMode = Literal["precise", "creative"]
AdjustMode = Literal["inpainting", "outpainting"]

STYLES: tuple[Style, ...] = get_args(Style)
PIKAFFECTS: tuple[Pikaffect, ...] = get_args(Pikaffect)


def _text(max_chars: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > max_chars:
            raise broken(
                "rule.text_too_long",
                "must be at most {high} characters (got {length})",
                high=max_chars,
                length=len(value),
            )
        return value

    return check


def _required_text(value: str) -> str:
    if not value.strip():
        raise broken("rule.not_empty", "must not be empty")
    return value


def media_facts(info: ValidationInfo) -> MediaFacts | None:
    """What the caller knows of the media URLs (content types, lengths), passed as context."""
    facts = info.context.get("media") if isinstance(info.context, Mapping) else None
    return facts if isinstance(facts, MediaFacts) else None


def _media(kind: MediaKind) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        return check_media_url(value, kind, media_facts(info))

    return check


Number = int | float
FrameRate = Annotated[int, AfterValidator(FRAME_RATE.check)]
Motion = Annotated[int, AfterValidator(MOTION.check)]
GuidanceScale = Annotated[Number, AfterValidator(GUIDANCE_SCALE.check)]
Percent = Annotated[Number, AfterValidator(PERCENT.check)]
Seed = Annotated[int, AfterValidator(SEED.check)]
Seconds = Annotated[Number, AfterValidator(SECONDS.check)]
Prompt = Annotated[str, AfterValidator(_text(MAX_PROMPT_CHARS))]
RequiredPrompt = Annotated[
    str, AfterValidator(_text(MAX_PROMPT_CHARS)), AfterValidator(_required_text)
]
Ref = Annotated[str, AfterValidator(_text(MAX_REF_CHARS))]
ImageUrl = Annotated[str, AfterValidator(_media(MediaKind.IMAGE))]
VideoUrl = Annotated[str, AfterValidator(_media(MediaKind.VIDEO))]
SpeechUrl = Annotated[str, AfterValidator(_media(MediaKind.SPEECH))]
WebhookUrl = Annotated[str, AfterValidator(check_http_url)]


# --- nested objects --------------------------------------------------------------------------


class PikaBody(BaseModel):
    """A JSON object sent to Pika, whole or in part: camelCase aliases, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )
    # Fields that the vendor's examples send as null rather than leave out.
    keep_null: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name, info in type(self).model_fields.items():
            if name in self.keep_null:
                continue
            for key in (info.alias, name):
                if key is not None and key in data and data[key] is None:
                    del data[key]
        return data

    def payload(self) -> dict[str, Any]:
        """The JSON body to send, exactly as the vendor page shows it."""
        return self.model_dump(mode="json", by_alias=True)


class Camera(PikaBody):
    """Camera movement; each axis is null or one of its two directions."""

    keep_null = frozenset({"rotate", "zoom", "tilt", "pan"})
    rotate: Rotate | None = None
    zoom: Zoom | None = None
    tilt: Tilt | None = None
    pan: Pan | None = None


class Parameters(PikaBody):
    """Generation parameters: motion strength, prompt guidance, negative prompt, seed."""

    keep_null = frozenset({"seed"})
    guidance_scale: GuidanceScale
    motion: Motion
    negative_prompt: Prompt = ""
    seed: Seed | None = None


class Options(PikaBody):
    """Options, required by every generating request."""

    aspect_ratio: AspectRatio | None = None
    frame_rate: FrameRate
    camera: Camera = Field(default_factory=Camera)
    parameters: Parameters
    extend: bool = False

    @classmethod
    def default(cls, **changes: Any) -> Options:
        """The vendor example's options (16:9, 24 fps, motion 1, guidance 12), with changes."""
        base: dict[str, Any] = {
            "aspectRatio": "16:9",
            "frameRate": 24,
            "parameters": {"guidanceScale": 12, "motion": 1},
        }
        return cls.model_validate(base | changes)


class Area(PikaBody):
    """A rectangle over the video, in percent of its width and height."""

    x: Percent
    y: Percent
    width: Percent
    height: Percent

    @model_validator(mode="after")
    def _inside(self) -> Self:
        for start, size in (("x", "width"), ("y", "height")):
            if getattr(self, start) + getattr(self, size) > PERCENT.high:
                raise broken(
                    "rule.area_inside",
                    "{option} + {other} must be at most {limit} (got {start} + {size})",
                    field=start,
                    option=start,
                    other=size,
                    limit=PERCENT.high,
                    start=float(getattr(self, start)),
                    size=float(getattr(self, size)),
                )
        return self
