"""One pydantic model per request body of the Pika Web Bot API.

Field names are Python-style with the vendor's camelCase as aliases. Every rule of the vendor page
is a validator whose message names the field and the rule, so a bad request is refused before it
can cost a credit. Each model that starts a job names the route it is posted to and a stable key,
checked when the class is made: a model without a route cannot be sent by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import ValidationInfo, field_validator, model_validator
from pydantic.alias_generators import to_snake

from bot.pika.models.fields import (
    EXTEND_SECONDS,
    MAX_INGREDIENTS,
    MAX_VIDEO_SECONDS,
    Area,
    ImageUrl,
    IngredientsMode,
    Options,
    PikaBody,
    Pikaffect,
    Prompt,
    Ref,
    RequiredPrompt,
    Seconds,
    SpeechUrl,
    Style,
    VideoUrl,
    WebhookUrl,
    media_facts,
)
from bot.pika.rules import broken


class PikaRequestModel(PikaBody):
    """A body that starts a job: the route it is posted to and a key that names it for good.

    `key` is stored (the local Pika's job files keep it), so it never changes once released;
    the class name may. Classes whose name starts with `_` are shared bases and need neither.
    """

    route: ClassVar[str]
    key: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return
        route = getattr(cls, "route", None)
        if not (isinstance(route, str) and route.startswith("/")):
            raise TypeError(f"{cls.__name__} has no route: set `route = '/web/...'` on it")
        if not isinstance(cls.__dict__.get("key"), str):
            raise TypeError(f"{cls.__name__} has no key of its own: set `key = '...'` on it")


class _Job(PikaRequestModel):
    """Fields every request that starts a job may carry."""

    ref: Ref | None = None
    webhook_override: WebhookUrl | None = None


class _Generating(_Job):
    """A job that takes options and an optional prompt."""

    prompt_text: Prompt | None = None
    options: Options


# --- /web/generate ---------------------------------------------------------------------------

# Model-specific fields: which models accept them (the vendor page's "Model X only" notes).
MODEL_ONLY: dict[str, tuple[str, ...]] = {
    "pikaffect": ("1.5",),
    "ingredients": ("2.0",),
    "ingredientsMode": ("2.0",),
    "sfx": ("1.0",),
    "style": ("1.0",),
    "video": ("1.0", "1.5", "Turbo"),
    "swapPrompt": ("Turbo",),
}

# How the input fields a generation may start from are named in "give a prompt, ..." messages
# (the rule's key is `rule.needs_input.<the inputs, joined by _>`).
_INPUT_WORDS = {"image": "an image", "video": "a video", "ingredients": "ingredients"}


class _Generate(_Generating):
    """Base of the generate bodies; refuses fields that belong to another model.

    A body without a prompt needs one of `inputs` to start from; the Turbo bodies require their
    inputs field by field instead.
    """

    route = "/web/generate"
    model_name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _model_specific(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        for alias, models in MODEL_ONLY.items():
            value = data.get(alias, data.get(to_snake(alias)))
            if value is not None and value is not False and cls.model_name not in models:
                raise broken(
                    "rule.model_only",
                    "only model {models} accepts {option}",
                    field=alias,
                    option=alias,
                    models=" / ".join(models),
                )
        return data

    @model_validator(mode="after")
    def _has_input(self) -> Self:
        if not self.inputs or (self.prompt_text or "").strip():
            return self
        if any(getattr(self, name) for name in self.inputs):
            return self
        *others, last = ["a prompt", *(_INPUT_WORDS[name] for name in self.inputs)]
        raise broken(
            f"rule.needs_input.{'_'.join(self.inputs)}",
            f"give {', '.join(others)} or {last}",
            field="promptText",
        )


class Generate10Request(_Generate):
    """Generate with model 1.0: text, image or video to video, with style and sound effects."""

    key = "generate-1.0"
    model_name = "1.0"
    inputs = ("image", "video")
    model: Literal["1.0"] | None = None
    image: ImageUrl | None = None
    video: VideoUrl | None = None
    sfx: bool | None = None
    style: Style | None = None


class Generate15Request(_Generate):
    """Generate with model 1.5: a Pikaffect applied to an image or a video."""

    key = "generate-1.5"
    model_name = "1.5"
    inputs = ("image", "video")
    model: Literal["1.5"]
    pikaffect: Pikaffect | None = None
    image: ImageUrl | None = None
    video: VideoUrl | None = None


class Generate20Request(_Generate):
    """Generate with model 2.0: scene ingredients (up to four images)."""

    key = "generate-2.0"
    model_name = "2.0"
    inputs = ("image", "ingredients")
    model: Literal["2.0"]
    ingredients_mode: IngredientsMode | None = None
    ingredients: list[ImageUrl] | None = None
    image: ImageUrl | None = None

    @field_validator("ingredients")
    @classmethod
    def _count(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not 1 <= len(value) <= MAX_INGREDIENTS:
            raise broken(
                "rule.ingredients_count",
                "must hold {low} to {high} images (got {count})",
                low=1,
                high=MAX_INGREDIENTS,
                count=len(value),
            )
        return value


class Generate21Request(_Generate):
    """Generate with model 2.1: text or image to video."""

    key = "generate-2.1"
    model_name = "2.1"
    inputs = ("image",)
    model: Literal["2.1"]
    image: ImageUrl | None = None


class AdditionsRequest(_Generate):
    """Pika Additions (Turbo): add an image's content into a video."""

    key = "additions"
    model_name = "Turbo"
    model: Literal["Turbo"]
    prompt_text: RequiredPrompt
    video: VideoUrl
    image: ImageUrl


class SwapRequest(_Generate):
    """Pika Swap (Turbo): swap an area of a video, described by swapPrompt, for the prompt."""

    key = "swap"
    model_name = "Turbo"
    model: Literal["Turbo"]
    swap_prompt: RequiredPrompt
    prompt_text: RequiredPrompt
    video: VideoUrl
    image: ImageUrl


GenerateRequest = (
    Generate10Request
    | Generate15Request
    | Generate20Request
    | Generate21Request
    | AdditionsRequest
    | SwapRequest
)


class RepromptRequest(_Generating):
    """Reprompt (1.0): a new prompt over an existing video and its options (POST /web/generate)."""

    route = "/web/generate"
    key = "reprompt"
    video: VideoUrl


class EditRequest(_Generating):
    """Edit (1.0): new options over an existing video and its prompt (POST /web/generate)."""

    route = "/web/generate"
    key = "edit"
    video: VideoUrl
    style: Style | None = None


# --- /web/adjust -----------------------------------------------------------------------------


class InpaintRequest(_Generating):
    """Modify Region (inpainting, 1.0): regenerate the area of an existing video."""

    route = "/web/adjust"
    key = "inpaint"
    mode: Literal["inpainting"] = "inpainting"
    video: VideoUrl
    area: Area
    style: Style | None = None


class OutpaintRequest(_Generating):
    """Extend Canvas (outpainting, 1.0): pad an existing video to a new aspect ratio."""

    route = "/web/adjust"
    key = "outpaint"
    mode: Literal["outpainting"] = "outpainting"
    prompt_text: RequiredPrompt
    video: VideoUrl
    area: Area

    @model_validator(mode="after")
    def _aspect_ratio(self) -> Self:
        if self.options.aspect_ratio is None:
            raise broken(
                "rule.outpaint_aspect_ratio",
                "is required when outpainting",
                field="options.aspectRatio",
            )
        return self


AdjustRequest = InpaintRequest | OutpaintRequest


def _known_duration(info: ValidationInfo, url: str) -> float | None:
    facts = media_facts(info)
    return facts.durations.get(url) if facts is not None else None


# --- /web/extend, /web/lipSync, /web/upscale, /web/jobs/upscaled -----------------------------


class ExtendRequest(_Generating):
    """Extend (1.0): add four seconds to an existing video."""

    route = "/web/extend"
    key = "extend"
    video: VideoUrl

    @field_validator("video")
    @classmethod
    def _room_left(cls, value: str, info: ValidationInfo) -> str:
        length = _known_duration(info, value)
        if length is not None and length + EXTEND_SECONDS > MAX_VIDEO_SECONDS:
            raise broken(
                "rule.extend_too_long",
                "is {length} s long; an extend adds {adds} s and Pika stops at {limit} s",
                length=length,
                adds=EXTEND_SECONDS,
                limit=MAX_VIDEO_SECONDS,
            )
        return value


class LipSyncRequest(_Job):
    """Lip sync: speech from a .wav file laid over a video between speechStart and speechEnd."""

    route = "/web/lipSync"
    key = "lipsync"
    video: VideoUrl
    speech: SpeechUrl
    speech_start: Seconds
    speech_end: Seconds

    @model_validator(mode="after")
    def _span(self, info: ValidationInfo) -> Self:
        speech = _known_duration(info, self.speech)
        if speech is not None and self.speech_start >= speech:  # before a derived speechEnd
            raise broken(
                "rule.speech_start_past_end",
                "must be before the end of the speech ({start} s >= {speech} s)",
                field="speechStart",
                start=float(self.speech_start),
                speech=speech,
            )
        if self.speech_start >= self.speech_end:
            raise broken(
                "rule.speech_end_before_start",
                "must be after {other} (got {start} to {end})",
                field="speechEnd",
                other="speechStart",
                start=float(self.speech_start),
                end=float(self.speech_end),
            )
        length = _known_duration(info, self.video)
        span = self.speech_end - self.speech_start
        if length is not None and span > length + 0.05:
            raise broken(
                "rule.speech_span_too_long",
                "{option} - {other} must be at most the video's length ({span} s > {length} s)",
                field="speechEnd",
                option="speechEnd",
                other="speechStart",
                span=float(span),
                length=length,
            )
        if speech is not None and self.speech_end > speech + 0.05:
            raise broken(
                "rule.speech_end_past_speech",
                "must be at most the speech's length ({end} s > {speech} s)",
                field="speechEnd",
                end=float(self.speech_end),
                speech=speech,
            )
        return self


class UpscaleRequest(PikaRequestModel):
    """Upscale a video made by the Pika Web Bot; Pika answers without a job id (see the client)."""

    route = "/web/upscale"
    key = "upscale"
    video: VideoUrl


class UpscaleJobRequest(PikaBody):
    """Look up an upscale job by the original video's URL (a query: it starts nothing)."""

    video: VideoUrl
