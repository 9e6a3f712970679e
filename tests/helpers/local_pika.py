"""The local Pika's test-only routes (`/_local/...`): what it was asked, and its fault switches."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from bot.pika.client import KEY_CHECK_JOB_ID
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.local.render import RenderResult
from tests.helpers.requests import fox

KEY_CHECK_PATH = f"/web/jobs/{KEY_CHECK_JOB_ID}"


async def local_admin(pika: LocalPika, method: str, path: str, body: Any = None) -> Any:
    """Call one of the local Pika's test routes with its API key; fail on any error status."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.request(
            method,
            f"{pika.base_url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {pika.api_key}"},
        )
    response.raise_for_status()
    return response.json()


async def pika_calls(pika: LocalPika, *, key_checks: bool = False) -> list[dict[str, Any]]:
    """Every API call the local Pika received, oldest first: method, path, body and status;
    without the bot's checks of its key (get-jobs of an id no job has, which spend nothing),
    unless `key_checks`."""
    calls = list(await local_admin(pika, "GET", "/_local/requests"))
    return [c for c in calls if key_checks or c["path"] != KEY_CHECK_PATH]


async def calls_to(pika: LocalPika, path: str) -> list[dict[str, Any]]:
    """The calls the local Pika received on exactly `path`, oldest first."""
    return [c for c in await pika_calls(pika) if c["path"] == path]


async def wait_for_call(pika: LocalPika, path: str, timeout: float = 20.0) -> dict[str, Any]:
    """The first call the local Pika received on `path`, waiting for it if need be.

    The bot answers Discord first and makes the paid call after, so a test that has just seen
    the answer has not necessarily seen the call yet."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await calls_to(pika, path)
        if found:
            return found[0]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for a call to {path}")
        await asyncio.sleep(0.05)


async def behave(pika: LocalPika, **settings: Any) -> None:
    """Switch the local Pika's simulated faults and timings (latency, fail_jobs, job_seconds...)."""
    await local_admin(pika, "POST", "/_local/behaviour", settings)


async def prerendered(workdir: Path) -> RenderResult:
    """One video made by a local Pika of its own, in `workdir`: given to another as its
    `prerendered`, every job of that one is this video, linked at once, never rendered (what
    benchmarks use, so that what they measure is not rendering; and tests whose jobs' videos
    are not the point, so that a loaded machine's slow renders cannot fail them)."""
    async with running_local_pika(job_seconds=0, files_dir=workdir / "prerender") as pika:
        async with httpx.AsyncClient(timeout=60) as http:
            answer = await http.post(
                f"{pika.base_url}/web/generate",
                json=fox().payload(),
                headers={"Authorization": f"Bearer {pika.api_key}"},
            )
        job = pika.jobs[answer.json()["job"]["id"]]
        await asyncio.wait_for(job.done.wait(), 120)
        folder = workdir / "prerender" / job.id
        assert job.duration and job.width and job.height
        return RenderResult(
            video=folder / job.result_name,
            poster=folder / "poster.jpg",
            thumbnail=folder / "thumbnail.jpg",
            width=job.width,
            height=job.height,
            fps=24,
            seconds=job.duration,
            has_audio=False,
        )
