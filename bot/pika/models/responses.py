"""What Pika answers, read defensively: any field may be missing, oddly typed or extra.

`job_state` reduces any answer to the `JobState` the bot acts on.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from bot.pika.models.fields import SECONDS, SEED


class PikaResponseModel(BaseModel):
    """Base of response models: tolerant of extra and missing fields."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, extra="allow"
    )


def _created_at(value: Any) -> datetime | None:
    """createdAt comes as an ISO string, as {_seconds, _nanoseconds}, or as {}; a moment no
    datetime can hold (milliseconds read as seconds, past year 9999, past any float) reads as
    missing, never as an answer that cannot be read."""
    try:
        return _moment(value)
    except (ArithmeticError, ValueError, OSError):
        return None


def _moment(value: Any) -> datetime | None:
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


FLOAT_MAX = int(sys.float_info.max)


def _lenient_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):  # a JSON integer may be past any float
        return float(value) if abs(value) < FLOAT_MAX else None
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _object_or_none(value: Any) -> Any:
    return value if isinstance(value, Mapping | BaseModel) else None


# A text field of an answer: anything but a string reads as missing.
Text = Annotated[str | None, BeforeValidator(_text_or_none)]
MAX_STATUS_CHARS = 40


def _status_or_none(value: Any) -> str | None:
    """A status is a short word: anything else (a control character, a megabyte) reads as
    missing, so that what is logged and written of it stays one short line."""
    if not isinstance(value, str):
        return None
    word = value.strip()
    return word if 0 < len(word) <= MAX_STATUS_CHARS and word.isprintable() else None


def one_line(text: str, limit: int) -> str:
    """Vendor words as one line of at most `limit` characters: control characters and runs of
    white space become one space (a newline in them would forge a log line)."""
    printable = "".join(ch if ch.isprintable() else " " for ch in text[: limit * 4])
    return " ".join(printable.split())[:limit]


Status = Annotated[str | None, BeforeValidator(_status_or_none)]


class PikaVideo(PikaResponseModel):
    """A video as Pika reports it; any field may be missing."""

    id: Text = None
    job_id: Text = None
    status: Status = None
    progress: float | None = None
    result_url: Text = None
    image_thumb: Text = None
    video_poster: Text = None
    duration: float | None = None
    seed: int | None = None

    @field_validator("progress", mode="before")
    @classmethod
    def _number(cls, value: Any) -> float | None:
        return _lenient_number(value)

    @field_validator("duration", mode="before")
    @classmethod
    def _length(cls, value: Any) -> float | None:
        # A length no clip has (none, below zero, past an hour) is no length: the rules of a
        # follow-up (extend past 15 s, a speech span) must not refuse a request by it.
        seconds = _lenient_number(value)
        return seconds if seconds is not None and 0 < seconds <= SECONDS.high else None

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, value: Any) -> int | None:
        # Only a seed a request could carry again: one past 64 bits cannot even be stored.
        number = _lenient_number(value)
        if number is None or not number.is_integer() or not SEED.low <= number <= SEED.high:
            return None
        return int(number)


class PikaJob(PikaResponseModel):
    """A job as Pika reports it."""

    id: Text = None
    pika_job_id: Text = None
    status: Status = None
    request_type: Text = None
    prompt_text: Text = None
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
                return one_line(value, 300)
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return one_line(value["message"], 300)
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

    job: Annotated[PikaJob | None, BeforeValidator(_object_or_none)] = None
    video: Annotated[PikaVideo | None, BeforeValidator(_object_or_none)] = None

    @property
    def job_id(self) -> str | None:
        """The job id, from job.id, job.pikaJobId or video.jobId (or video.id), the first not
        blank: a blank id cannot be polled by."""
        named: list[str | None] = [self.job.id, self.job.pika_job_id] if self.job else []
        named += [self.video.job_id, self.video.id] if self.video else []
        return next((each for each in named if each and each.strip()), None)

    def state(self) -> JobState:
        """The job's state at creation."""
        return job_state(self.job, self.video, self.job_id or "")


class JobResponse(PikaResponseModel):
    """The answer of get job and get upscale job: `{job, videos: [...]}`."""

    job: Annotated[PikaJob | None, BeforeValidator(_object_or_none)] = None
    videos: list[PikaVideo] = Field(default_factory=list)

    @field_validator("videos", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return [value]
        # Only the objects: an entry of another shape says nothing of the job.
        return (
            [v for v in value if _object_or_none(v) is not None] if isinstance(value, list) else []
        )

    def is_about(self, job_id: str) -> bool:
        """Whether the answer may be about `job_id`: it names no job, or names it by one of its
        ids (job.id, job.pikaJobId, each video's jobId)."""
        named = {self.job.id, self.job.pika_job_id} if self.job is not None else set()
        named |= {video.job_id for video in self.videos}
        named.discard(None)
        return not named or job_id in named

    def state(self, fallback_id: str = "") -> JobState:
        """The job's current state."""
        return job_state(self.job, self.videos[0] if self.videos else None, fallback_id)


class UpscaleStartResponse(PikaResponseModel):
    """The answer to POST /web/upscale: `{success, video, message}`."""

    success: bool | None = None
    video: Text = None
    message: Text = None

    @field_validator("success", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool | None:
        if isinstance(value, str):
            return {"true": True, "false": False}.get(value.strip().lower())
        return value if isinstance(value, bool) else None
