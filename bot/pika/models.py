"""Pydantic models of every request and response of the Pika Web Bot API.

One model per request body on the vendor page, Python-style field names with the vendor's
camelCase as aliases. Every rule of the page is a validator whose message names the field and the
rule, so a bad request is refused before it can cost a credit. The same models validate what the
embedded local Pika receives: one source of truth for the contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from bot.pika.errors import InvalidRequest, Problem
from bot.pika.media import MediaFacts, MediaKind, check_http_url, check_media_url

MAX_PROMPT_CHARS = 1000
MAX_VIDEO_SECONDS = 15.0
EXTEND_SECONDS = 4.0
GENERATE_SECONDS = 3.0
MAX_INGREDIENTS = 4

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

ASPECT_RATIOS: tuple[AspectRatio, ...] = ("16:9", "9:16", "1:1", "5:2", "4:5", "4:3")
STYLES: tuple[Style, ...] = Style.__args__  # type: ignore[attr-defined]
PIKAFFECTS: tuple[Pikaffect, ...] = Pikaffect.__args__  # type: ignore[attr-defined]

N = TypeVar("N", int, float)


def _between(low: float, high: float) -> Callable[[N], N]:
    def check(value: N) -> N:
        if not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return check


def _text(max_chars: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > max_chars:
            raise ValueError(f"must be at most {max_chars} characters (got {len(value)})")
        return value

    return check


def _required_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _media(kind: MediaKind) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        facts = info.context.get("media") if isinstance(info.context, Mapping) else None
        return check_media_url(value, kind, facts if isinstance(facts, MediaFacts) else None)

    return check


Number = int | float
FrameRate = Annotated[int, AfterValidator(_between(1, 24))]
Motion = Annotated[int, AfterValidator(_between(1, 4))]
GuidanceScale = Annotated[Number, AfterValidator(_between(5, 25))]
Percent = Annotated[Number, AfterValidator(_between(0, 100))]
Seed = Annotated[int, AfterValidator(_between(0, 2**53 - 1))]
Seconds = Annotated[Number, AfterValidator(_between(0, 3600))]
Prompt = Annotated[str, AfterValidator(_text(MAX_PROMPT_CHARS))]
RequiredPrompt = Annotated[
    str, AfterValidator(_text(MAX_PROMPT_CHARS)), AfterValidator(_required_text)
]
Ref = Annotated[str, AfterValidator(_text(200))]
ImageUrl = Annotated[str, AfterValidator(_media(MediaKind.IMAGE))]
VideoUrl = Annotated[str, AfterValidator(_media(MediaKind.VIDEO))]
SpeechUrl = Annotated[str, AfterValidator(_media(MediaKind.SPEECH))]
WebhookUrl = Annotated[str, AfterValidator(check_http_url)]


class PikaRequestModel(BaseModel):
    """Base of request models: camelCase aliases, unknown fields refused, exact vendor JSON."""

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


class Camera(PikaRequestModel):
    """Camera movement; each axis is null or one of its two directions."""

    keep_null = frozenset({"rotate", "zoom", "tilt", "pan"})
    rotate: Rotate | None = None
    zoom: Zoom | None = None
    tilt: Tilt | None = None
    pan: Pan | None = None


class Parameters(PikaRequestModel):
    """Generation parameters: motion strength, prompt guidance, negative prompt, seed."""

    keep_null = frozenset({"seed"})
    guidance_scale: GuidanceScale
    motion: Motion
    negative_prompt: Prompt = ""
    seed: Seed | None = None


class Options(PikaRequestModel):
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


class Area(PikaRequestModel):
    """A rectangle over the video, in percent of its width and height."""

    x: Percent
    y: Percent
    width: Percent
    height: Percent

    @model_validator(mode="after")
    def _inside(self) -> Self:
        if self.x + self.width > 100:
            raise ValueError(f"x + width must be at most 100 (got {self.x:g} + {self.width:g})")
        if self.y + self.height > 100:
            raise ValueError(f"y + height must be at most 100 (got {self.y:g} + {self.height:g})")
        return self


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


def _only(models: tuple[str, ...]) -> str:
    return "model " + " or ".join(models)


class _Generate(_Generating):
    """Base of the generate bodies; refuses fields that belong to another model."""

    model_name: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _model_specific(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        for key, models in MODEL_ONLY.items():
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
            value = data.get(key, data.get(snake))
            if value is not None and value is not False and cls.model_name not in models:
                raise ValueError(f"{key}: only {_only(models)} accepts {key}")
        return data


class Generate10Request(_Generate):
    """Generate with model 1.0: text, image or video to video, with style and sound effects."""

    model_name = "1.0"
    model: Literal["1.0"] | None = None
    image: ImageUrl | None = None
    video: VideoUrl | None = None
    sfx: bool | None = None
    style: Style | None = None

    @model_validator(mode="after")
    def _has_input(self) -> Self:
        if not (self.prompt_text or "").strip() and not self.image and not self.video:
            raise ValueError("promptText: give a prompt, an image or a video")
        return self


class Generate15Request(_Generate):
    """Generate with model 1.5: a Pikaffect applied to an image or a video."""

    model_name = "1.5"
    model: Literal["1.5"]
    pikaffect: Pikaffect | None = None
    image: ImageUrl | None = None
    video: VideoUrl | None = None

    @model_validator(mode="after")
    def _has_input(self) -> Self:
        if not (self.prompt_text or "").strip() and not self.image and not self.video:
            raise ValueError("promptText: give a prompt, an image or a video")
        return self


class Generate20Request(_Generate):
    """Generate with model 2.0: scene ingredients (up to four images)."""

    model_name = "2.0"
    model: Literal["2.0"]
    ingredients_mode: IngredientsMode | None = None
    ingredients: list[ImageUrl] | None = None
    image: ImageUrl | None = None

    @field_validator("ingredients")
    @classmethod
    def _count(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not 1 <= len(value) <= MAX_INGREDIENTS:
            raise ValueError(f"must hold 1 to {MAX_INGREDIENTS} images (got {len(value)})")
        return value

    @model_validator(mode="after")
    def _has_input(self) -> Self:
        if not (self.prompt_text or "").strip() and not self.image and not self.ingredients:
            raise ValueError("promptText: give a prompt, an image or ingredients")
        return self


class Generate21Request(_Generate):
    """Generate with model 2.1: text or image to video."""

    model_name = "2.1"
    model: Literal["2.1"]
    image: ImageUrl | None = None

    @model_validator(mode="after")
    def _has_input(self) -> Self:
        if not (self.prompt_text or "").strip() and not self.image:
            raise ValueError("promptText: give a prompt or an image")
        return self


class AdditionsRequest(_Generate):
    """Pika Additions (Turbo): add an image's content into a video."""

    model_name = "Turbo"
    model: Literal["Turbo"]
    prompt_text: RequiredPrompt
    video: VideoUrl
    image: ImageUrl


class SwapRequest(_Generate):
    """Pika Swap (Turbo): swap an area of a video, described by swapPrompt, for the prompt."""

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

    video: VideoUrl


class EditRequest(_Generating):
    """Edit (1.0): new options over an existing video and its prompt (POST /web/generate)."""

    video: VideoUrl
    style: Style | None = None


# --- /web/adjust -----------------------------------------------------------------------------


class InpaintRequest(_Generating):
    """Modify Region (inpainting, 1.0): regenerate the area of an existing video."""

    mode: Literal["inpainting"] = "inpainting"
    video: VideoUrl
    area: Area
    style: Style | None = None


class OutpaintRequest(_Generating):
    """Extend Canvas (outpainting, 1.0): pad an existing video to a new aspect ratio."""

    mode: Literal["outpainting"] = "outpainting"
    prompt_text: RequiredPrompt
    video: VideoUrl
    area: Area

    @model_validator(mode="after")
    def _aspect_ratio(self) -> Self:
        if self.options.aspect_ratio is None:
            raise ValueError("options.aspectRatio: is required when outpainting")
        return self


AdjustRequest = InpaintRequest | OutpaintRequest


def _known_duration(info: ValidationInfo, url: str) -> float | None:
    facts = info.context.get("media") if isinstance(info.context, Mapping) else None
    return facts.durations.get(url) if isinstance(facts, MediaFacts) else None


# --- /web/extend, /web/lipSync, /web/upscale, /web/jobs/upscaled -----------------------------


class ExtendRequest(_Generating):
    """Extend (1.0): add four seconds to an existing video."""

    video: VideoUrl

    @field_validator("video")
    @classmethod
    def _room_left(cls, value: str, info: ValidationInfo) -> str:
        length = _known_duration(info, value)
        if length is not None and length + EXTEND_SECONDS > MAX_VIDEO_SECONDS:
            raise ValueError(
                f"is {length:g} s long; an extend adds {EXTEND_SECONDS:g} s and Pika stops at "
                f"{MAX_VIDEO_SECONDS:g} s"
            )
        return value


class LipSyncRequest(_Job):
    """Lip sync: speech from a .wav file laid over a video between speechStart and speechEnd."""

    video: VideoUrl
    speech: SpeechUrl
    speech_start: Seconds
    speech_end: Seconds

    @model_validator(mode="after")
    def _span(self, info: ValidationInfo) -> Self:
        if self.speech_start >= self.speech_end:
            raise ValueError(
                f"speechEnd: must be after speechStart (got {self.speech_start:g} to "
                f"{self.speech_end:g})"
            )
        length = _known_duration(info, self.video)
        span = self.speech_end - self.speech_start
        if length is not None and span > length:
            raise ValueError(
                f"speechEnd: speechEnd - speechStart must be at most the video's length "
                f"({span:g} s > {length:g} s)"
            )
        return self


class UpscaleRequest(PikaRequestModel):
    """Upscale a video made by the Pika Web Bot."""

    video: VideoUrl


class UpscaleJobRequest(PikaRequestModel):
    """Look up an upscale job by the original video's URL."""

    video: VideoUrl


AnyRequest = (
    GenerateRequest
    | RepromptRequest
    | EditRequest
    | AdjustRequest
    | ExtendRequest
    | LipSyncRequest
    | UpscaleRequest
)


# --- validation entry points -----------------------------------------------------------------

_ERROR_RULES: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not accepted by this request",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.startswith(("function-", "union[", "tagged-union[")):
            text += f".{part}" if text else part
    return text


def problems_of(error: ValidationError) -> list[Problem]:
    """Turn a pydantic error into problems that name the vendor field and its rule."""
    found: list[Problem] = []
    for item in error.errors():
        field = _loc(item["loc"])
        kind = item["type"]
        if kind == "literal_error":
            rule = f"must be one of {item.get('ctx', {}).get('expected', '')}"
        elif kind in _ERROR_RULES:
            rule = _ERROR_RULES[kind]
        else:
            rule = str(item["msg"]).removeprefix("Value error, ")
        if not field or kind in ("value_error", "assertion_error"):
            # Model-level rules say which field they concern as "field: rule".
            head, sep, tail = rule.partition(": ")
            if sep and " " not in head:
                field = f"{field}.{head}" if field and not head.startswith(field) else head
                rule = tail
        problem = Problem(field, rule)
        if problem not in found:
            found.append(problem)
    return found


R = TypeVar("R", bound=PikaRequestModel)


def validate_request(cls: type[R], data: Mapping[str, Any], facts: MediaFacts | None = None) -> R:
    """Validate a request body; raise InvalidRequest naming every broken rule."""
    try:
        return cls.model_validate(data, context={"media": facts or MediaFacts()})
    except ValidationError as exc:
        raise InvalidRequest(problems_of(exc)) from None


GENERATE_MODELS: dict[str, type[_Generate]] = {
    "1.0": Generate10Request,
    "1.5": Generate15Request,
    "2.0": Generate20Request,
    "2.1": Generate21Request,
}


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
        raise InvalidRequest(
            [Problem("model", "must be one of '1.0', '1.5', '2.0', '2.1', 'Turbo'")]
        )
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
    raise InvalidRequest([Problem("mode", "must be one of 'inpainting', 'outpainting'")])


# --- responses -------------------------------------------------------------------------------


class PikaResponseModel(BaseModel):
    """Base of response models: tolerant of extra and missing fields."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="allow"
    )


def _created_at(value: Any) -> datetime | None:
    """createdAt comes as an ISO string, as {_seconds, _nanoseconds}, or as {}."""
    if isinstance(value, Mapping):
        seconds = value.get("_seconds")
        if isinstance(seconds, int | float):
            nanos = value.get("_nanoseconds", 0)
            nanos = nanos if isinstance(nanos, int | float) else 0
            return datetime.fromtimestamp(seconds + nanos / 1e9, tz=UTC)
        return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _lenient_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


class PikaVideo(PikaResponseModel):
    """A video as Pika reports it; any field may be missing."""

    id: str | None = None
    job_id: str | None = None
    status: str | None = None
    progress: float | None = None
    result_url: str | None = None
    image_thumb: str | None = None
    video_poster: str | None = None
    duration: float | None = None
    seed: int | None = None

    @field_validator("progress", "duration", mode="before")
    @classmethod
    def _number(cls, value: Any) -> float | None:
        return _lenient_number(value)

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, value: Any) -> int | None:
        number = _lenient_number(value)
        return int(number) if number is not None and number.is_integer() else None

    @field_validator("status", "result_url", "image_thumb", "video_poster", "id", "job_id",
                     mode="before")  # fmt: skip
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return value if isinstance(value, str) else None


class PikaJob(PikaResponseModel):
    """A job as Pika reports it."""

    id: str | None = None
    pika_job_id: str | None = None
    status: str | None = None
    request_type: str | None = None
    prompt_text: str | None = None
    params: dict[str, Any] | None = None
    created_at: datetime | None = None
    upscaled: bool | None = None
    adjusted: bool | None = None
    extended: int | None = None

    @field_validator("created_at", mode="before")
    @classmethod
    def _when(cls, value: Any) -> datetime | None:
        return _created_at(value)

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, value: Any) -> dict[str, Any] | None:
        return dict(value) if isinstance(value, Mapping) else None

    @field_validator("status", "request_type", "prompt_text", "id", "pika_job_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str | None:
        return value if isinstance(value, str) else None

    @field_validator("upscaled", "adjusted", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool | None:
        return value if isinstance(value, bool) else None

    @field_validator("extended", mode="before")
    @classmethod
    def _count(cls, value: Any) -> int | None:
        number = _lenient_number(value)
        return int(number) if number is not None else None


class JobStatus(StrEnum):
    """A job's status, normalised. Unknown statuses read as RUNNING."""

    QUEUED = "queued"
    PENDING = "pending"
    DELAYED = "delayed"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        """Whether the job will not change any more."""
        return self in (JobStatus.FINISHED, JobStatus.FAILED)


FAILED_STATUSES = frozenset({"failed", "error", "errored", "cancelled", "canceled", "rejected"})


class JobState(BaseModel):
    """What the bot needs to know of a job at Pika, read defensively from any answer shape."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    status: JobStatus
    raw_status: str | None
    progress: int
    result_url: str | None = None
    thumbnail_url: str | None = None
    poster_url: str | None = None
    duration: float | None = None
    seed: int | None = None
    reason: str | None = None


def _reason(*sources: BaseModel | None) -> str | None:
    for source in sources:
        extra = source.model_extra if source is not None else None
        for key in ("error", "errorMessage", "failureReason", "reason", "message"):
            value = (extra or {}).get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:300]
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return str(value["message"])[:300]
    return None


def job_state(job: PikaJob | None, video: PikaVideo | None, fallback_id: str = "") -> JobState:
    """Normalise a job and its first video: status from the video, else from the job."""
    raw = (video.status if video and video.status else None) or (job.status if job else None)
    key = (raw or "").strip().lower()
    result_url = video.result_url if video and video.result_url else None
    if key in FAILED_STATUSES:
        status = JobStatus.FAILED
    elif key == "finished":
        # Finished with no result URL yet is not done: keep polling until it appears or times out.
        status = JobStatus.FINISHED if result_url else JobStatus.PENDING
    elif key in ("queued", "pending", "delayed"):
        status = JobStatus(key)
    else:
        status = JobStatus.RUNNING
    progress = video.progress if video and video.progress is not None else 0.0
    progress_value = 100 if status is JobStatus.FINISHED else int(min(max(progress, 0), 100))
    job_id = (
        (job.id or job.pika_job_id if job else None)
        or (video.job_id if video else None)
        or fallback_id
    )
    return JobState(
        job_id=job_id,
        status=status,
        raw_status=raw,
        progress=progress_value,
        result_url=result_url,
        thumbnail_url=video.image_thumb if video else None,
        poster_url=video.video_poster if video else None,
        duration=video.duration if video else None,
        seed=video.seed if video else None,
        reason=_reason(video, job) if status is JobStatus.FAILED else None,
    )


class CreateJobResponse(PikaResponseModel):
    """The answer to every create call but upscale: `{job, video}`."""

    job: PikaJob | None = None
    video: PikaVideo | None = None

    @property
    def job_id(self) -> str | None:
        """The job id, from job.id, job.pikaJobId or video.jobId, whichever is present."""
        if self.job and (self.job.id or self.job.pika_job_id):
            return self.job.id or self.job.pika_job_id
        return self.video.job_id or self.video.id if self.video else None

    def state(self) -> JobState:
        """The job's state at creation."""
        return job_state(self.job, self.video, self.job_id or "")


class JobResponse(PikaResponseModel):
    """The answer of get job and get upscale job: `{job, videos: [...]}`."""

    job: PikaJob | None = None
    videos: list[PikaVideo] = Field(default_factory=list)

    @field_validator("videos", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return [value]
        return value if isinstance(value, list) else []

    def state(self, fallback_id: str = "") -> JobState:
        """The job's current state."""
        return job_state(self.job, self.videos[0] if self.videos else None, fallback_id)


class UpscaleStartResponse(PikaResponseModel):
    """The answer to POST /web/upscale: `{success, video, message}`."""

    success: bool | None = None
    video: str | None = None
    message: str | None = None
