"""What the local Pika answers about a job: the vendor's `job` and `video` shapes (see the
vendor's page in `shared/reference/pika-web-bot-api.txt` and `bot/pika/models/responses.py`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bot.pika.local.jobs import LocalJob

ACCOUNT_ID = "local-account"
USER_ID = "local-user"


def result_url(base_url: str, job: LocalJob) -> str:
    """Where the job's video is served."""
    return f"{base_url}/files/{job.id}/{job.result_name}"


def job_view(job: LocalJob, status: str | None = None) -> dict[str, Any]:
    """The job as Pika describes it (its request, without the push URL)."""
    body = {k: v for k, v in job.body.items() if k != "webhookOverride"}
    created = datetime.fromtimestamp(job.created_at, UTC).isoformat()
    return {
        "id": job.id,
        "pikaJobId": job.id,
        "accountId": ACCOUNT_ID,
        "status": status or job.status(time.time())[0],
        "requestType": job.request_type,
        "upscaled": job.request_type == "upscale",
        "adjusted": "mode" in body,
        "extended": 1 if job.request_type == "extend" else 0,
        "params": body | {"userId": USER_ID},
        "promptText": body.get("promptText", ""),
        "createdAt": created.replace("+00:00", "Z"),
        "webhookUrl": job.webhook or "",
    }


def video_view(job: LocalJob, base_url: str) -> dict[str, Any]:
    """The job's video as Pika describes it: its status and progress, its files once made."""
    status, progress = job.status(time.time())
    finished = status == "finished"
    base = f"{base_url}/files/{job.id}"
    view: dict[str, Any] = {
        "jobId": job.id,
        "pikaVideoId": job.id,
        "accountId": ACCOUNT_ID,
        "id": job.id,
        "duration": job.duration if finished else None,
        "feedback": 0,
        "seed": job.seed,
        "progress": progress,
        "status": status,
        "resultUrl": result_url(base_url, job) if finished else "",
        "imageThumb": f"{base}/thumbnail.jpg" if finished else "",
        "videoPoster": f"{base}/poster.jpg" if finished else "",
    }
    if status == "failed":
        view["error"] = job.error or "The generation failed (simulated failure)"
    return view
