"""The local Pika's job files: a stable request key, and files from before keys still load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.pika.kinds import KINDS
from bot.pika.local.faults import JobFaults
from bot.pika.local.jobs import LEGACY_KINDS, LocalJob, request_models
from bot.pika.models import Generate10Request, Options, UpscaleRequest

VID = "https://cdn.pika.art/v1/abc/fox_seed1.mp4"
NORMAL = JobFaults("normal", delayed=False, seconds=8.0)


def fox() -> Generate10Request:
    return Generate10Request(prompt_text="A fox", options=Options.default())


def old_file(directory: Path, kind: str, body: dict[str, Any]) -> Path:
    """A rendered job's job.json as the release before request keys wrote it."""
    job = LocalJob.start(fox(), body, "generate", NORMAL)
    job.rendered = True
    job.save(directory)
    path = directory / job.id / "job.json"
    data = json.loads(path.read_text())
    del data["request_key"]
    path.write_text(json.dumps(data | {"kind": kind}))
    return path


def test_a_job_file_names_its_request_by_key_not_class(tmp_path: Path) -> None:
    job = LocalJob.start(fox(), fox().payload(), "generate", NORMAL)
    job.save(tmp_path)
    data = json.loads((tmp_path / job.id / "job.json").read_text())
    assert data["request_key"] == "generate-1.0"
    assert "Generate10Request" not in json.dumps(data)
    again = LocalJob.load(tmp_path / job.id / "job.json")
    assert again.request() == fox()


def test_a_job_file_from_before_request_keys_still_loads(tmp_path: Path) -> None:
    path = old_file(tmp_path, "Generate10Request", fox().payload())
    job = LocalJob.load(path)
    assert job.request_key == "generate-1.0"
    assert job.request() == fox()
    assert job.done.is_set()
    job.save(tmp_path)
    assert "kind" not in json.loads(path.read_text())


def test_every_old_class_name_maps_to_a_request_model_of_today() -> None:
    assert set(LEGACY_KINDS.values()) == set(request_models())
    assert len(request_models()) == sum(len(k.requests) for k in KINDS.values())


def test_an_unknown_old_class_name_is_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown request class 'DanceRequest'"):
        LocalJob.load(old_file(tmp_path, "DanceRequest", {}))


def test_a_key_no_model_has_fails_the_job_not_the_server() -> None:
    job = LocalJob.start(UpscaleRequest(video=VID), {"video": VID}, "upscale", NORMAL)
    job.request_key = "dance"
    with pytest.raises(ValueError, match="no request model has the key 'dance'"):
        job.request()


def test_the_seed_comes_from_the_request_else_is_drawn() -> None:
    parameters = {"guidanceScale": 12, "motion": 1, "seed": 42}
    seeded = Generate10Request(prompt_text="A fox", options=Options.default(parameters=parameters))
    assert LocalJob.start(seeded, seeded.payload(), "generate", NORMAL).seed == 42
    job = LocalJob.start(fox(), fox().payload(), "generate", NORMAL)
    assert 0 <= job.seed < 2**31
    assert job.result_name == f"a_fox_seed{job.seed}.mp4"
