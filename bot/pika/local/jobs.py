"""The local Pika's jobs: how one starts, how far along it is, and its job.json on disk.

A job file names its request by the model's stable `key`, never by a Python class name, so a
renamed model still reads its old jobs. Files written before keys existed are mapped once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot.pika import kinds
from bot.pika.local.faults import JobFaults
from bot.pika.models import Options, PikaRequestModel

log = logging.getLogger(__name__)
WORK_DIR = ".work"  # inputs of renders under way; nothing in it outlives a start-up


def request_models() -> dict[str, type[PikaRequestModel]]:
    """Every request model by its key: what a job file's `request_key` names."""
    return {model.key: model for record in kinds.KINDS.values() for model in record.requests}


# Job files written before request keys held the model's class name, as "kind". Frozen: these are
# the names of that release, whatever the classes are called now.
LEGACY_KINDS: dict[str, str] = {
    "Generate10Request": "generate-1.0",
    "Generate15Request": "generate-1.5",
    "Generate20Request": "generate-2.0",
    "Generate21Request": "generate-2.1",
    "AdditionsRequest": "additions",
    "SwapRequest": "swap",
    "RepromptRequest": "reprompt",
    "EditRequest": "edit",
    "InpaintRequest": "inpaint",
    "OutpaintRequest": "outpaint",
    "ExtendRequest": "extend",
    "LipSyncRequest": "lipsync",
    "UpscaleRequest": "upscale",
}


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return words[:60] or "video"


@dataclass
class LocalJob:
    """A job of the local Pika; its metadata is saved as job.json beside its files."""

    id: str
    request_type: str  # what Pika reports as requestType: generate, extend or upscale
    request_key: str  # the request model's `key`
    body: dict[str, Any]
    seed: int
    created_at: float
    seconds: float
    result_name: str
    outcome: str = "normal"  # normal | fail | stall | forget
    delayed: bool = False
    webhook: str | None = None
    source_video: str | None = None  # what an upscale job upscales
    error: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    rendered: bool = False  # the render ended, with a video or with `error`
    notified: bool = False
    render_started_at: float | None = None  # a restart resumes the render within its time cap
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @classmethod
    def start(
        cls,
        request: PikaRequestModel,
        body: dict[str, Any],
        request_type: str,
        faults: JobFaults,
    ) -> LocalJob:
        """A new job for a validated request, its seed drawn unless the request fixes one."""
        options = getattr(request, "options", None)
        seed = options.parameters.seed if isinstance(options, Options) else None
        if seed is None:
            seed = secrets.randbelow(2**31)
        prompt = str(getattr(request, "prompt_text", None) or "")
        suffix = "_upscaled" if request_type == "upscale" else ""
        return cls(
            id=str(uuid.uuid4()),
            request_type=request_type,
            request_key=request.key,
            body=body,
            seed=seed,
            created_at=time.time(),
            seconds=faults.seconds,
            result_name=f"{_slug(prompt)}_seed{seed}{suffix}.mp4",
            outcome=faults.outcome,
            delayed=faults.delayed,
            webhook=getattr(request, "webhook_override", None),
        )

    def request(self) -> PikaRequestModel:
        """The request the job was made from, read again by the model its key names."""
        model = request_models().get(self.request_key)
        if model is None:
            raise ValueError(f"job {self.id}: no request model has the key {self.request_key!r}")
        return model.model_validate(self.body)

    def status(self, now: float) -> tuple[str, int]:
        """Pika's status and progress for the job at `now`: it advances with the clock."""
        fraction = (now - self.created_at) / self.seconds if self.seconds > 0 else 1.0
        if self.error is not None:
            return "failed", min(99, int(fraction * 100))
        if self.outcome == "stall":
            return "pending", min(50, int(fraction * 100))
        if fraction >= 1 and self.rendered:
            return ("failed", 99) if self.outcome == "fail" else ("finished", 100)
        if self.delayed and fraction < 0.5:
            return "delayed", 0
        if fraction < 0.1:
            return "queued", 0
        return "pending", max(1, min(99, int(fraction * 100)))

    def save(self, directory: Path) -> None:
        """Write job.json atomically."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "done"}
        path = directory / self.id / "job.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data))
            tmp.replace(path)
        except OSError:
            tmp.unlink(missing_ok=True)  # a full disk keeps no half-written file
            raise

    @classmethod
    def load(cls, path: Path) -> LocalJob:
        """Read job.json, in today's format or the one before request keys."""
        data = json.loads(path.read_text())
        if "kind" in data:
            legacy = data.pop("kind")
            if legacy not in LEGACY_KINDS:
                raise ValueError(f"{path}: unknown request class {legacy!r}")
            data["request_key"] = LEGACY_KINDS[legacy]
        job = cls(**data)
        if job.rendered:
            job.done.set()
        return job


def remove_leftovers(files_dir: Path) -> int:
    """At start-up: remove what a killed process left half-written (partial videos, job files
    being replaced, fetched inputs); return how many were removed."""
    removed = 0
    for path in [*files_dir.glob("*/.*.partial"), *files_dir.glob("*/job.tmp")]:
        path.unlink(missing_ok=True)
        removed += 1
    work = files_dir / WORK_DIR
    if work.exists():
        removed += sum(1 for _ in work.iterdir())
        shutil.rmtree(work, ignore_errors=True)
    return removed


def expired(job: LocalJob, now: float, keep_seconds: float) -> bool:
    """Whether a job is over and older than the time its files are kept."""
    return job.rendered and job.notified and now - job.created_at > keep_seconds


def remove_job_files(files_dir: Path, job_id: str) -> None:
    """Delete a job's folder: its video, poster, thumbnail and job.json."""
    shutil.rmtree(files_dir / job_id, ignore_errors=True)
