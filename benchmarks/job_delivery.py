"""Benchmark: how fast finished jobs are noticed and handed to delivery, polling vs push.

For N jobs (10, 100, 1000) that all finish at Pika at the same moment, prints the seconds from
that moment to each job's delivery (median and p99), the Pika calls per job (create + polls,
and the webhook's confirming get-job), and the process's peak memory.

Real parts: the SQLite store, the httpx Pika client, the job service, the tracker and the
webhook receiver. Stand-ins: a small Pika HTTP server (job ids, statuses, webhook pushes; no
rendering, so 1000 jobs take seconds) and a delivery that records the time instead of posting
to Discord (Discord's own latency is not measured here).
Run: `.venv/bin/python benchmarks/job_delivery.py` (about a minute).
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings
from bot.jobs.service import JobService, Origin
from bot.jobs.tracker import Tracker
from bot.jobs.webhook import WebhookReceiver
from bot.ops.metrics import Metrics
from bot.ops.server import HttpServer
from bot.pika.client import PikaClient
from bot.pika.models import Generate10Request, Options
from bot.storage import Job, open_storage

POLL_INTERVAL = 2.0


class StandInPika:
    """Answers create and get-job; every job finishes at `finish_at`, then pushes if asked."""

    def __init__(self) -> None:
        self.finish_at = float("inf")
        self.calls = 0
        self.hooks: dict[str, str] = {}
        self.app = web.Application()
        self.app.router.add_post("/web/generate", self.create)
        self.app.router.add_get("/web/jobs/{job_id}", self.get)

    async def create(self, request: web.Request) -> web.Response:
        self.calls += 1
        body = await request.json()
        job_id = str(uuid.uuid4())
        if body.get("webhookOverride"):
            self.hooks[job_id] = body["webhookOverride"]
        return web.json_response({"job": {"id": job_id, "status": "queued"}, "video": {}})

    async def get(self, request: web.Request) -> web.Response:
        self.calls += 1
        job_id = request.match_info["job_id"]
        done = time.monotonic() >= self.finish_at
        video = {
            "status": "finished" if done else "pending",
            "progress": 100 if done else 50,
            "resultUrl": f"https://cdn.example/{job_id}.mp4" if done else "",
        }
        return web.json_response({"job": {"id": job_id}, "videos": [video]})

    async def push_all(self) -> None:
        # Bounded like a real sender: httpcore's pool slows down badly with 1000 queued requests.
        slots = asyncio.Semaphore(50)
        async with httpx.AsyncClient(timeout=30) as http:

            async def push(job_id: str, url: str) -> None:
                async with slots:
                    await http.post(url, json={"job": {"id": job_id}})

            await asyncio.gather(*[push(job_id, url) for job_id, url in self.hooks.items()])


class Stopwatch:
    """A Notifier that records when each job would have been posted."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def progress(self, job: Job) -> None:
        """Nothing to show."""

    async def deliver(self, job: Job) -> int:
        self.at[job.id] = time.monotonic()
        return len(self.at)

    async def find_posted(self, job: Job) -> int | None:
        """Never posted before."""
        return None

    async def adorn(self, job: Job) -> None:
        """Nothing to adorn."""

    async def tell_failure(self, job: Job) -> None:
        raise AssertionError(f"job {job.id} failed: {job.last_error}")

    async def tell_undeliverable(self, job: Job) -> None:
        raise AssertionError(f"job {job.id} undeliverable")


async def no_checks() -> dict[str, str]:
    """The benchmark serves only the push route; nothing to be ready for."""
    return {}


async def serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, runner.addresses[0][1]


async def measure(count: int, push: bool) -> dict[str, Any]:
    pika = StandInPika()
    runner, port = await serve(pika.app)
    server = HttpServer("127.0.0.1", 0, metrics=Metrics(), ready_checks=no_checks, push=True)
    hook_port = 0
    with tempfile.TemporaryDirectory() as tmp:
        if push:
            await server.start()
            hook_port = server.port
        settings = Settings(
            poll_interval_seconds=POLL_INTERVAL,
            job_timeout_minutes=30,
            webhook_public_url=f"http://127.0.0.1:{hook_port}" if push else None,
        )
        storage = await open_storage(Path(tmp) / "bench.sqlite3")
        store = storage.jobs
        stopwatch = Stopwatch()
        async with PikaClient("bench", f"http://127.0.0.1:{port}") as client:
            service = JobService(store, client, settings)
            tracker = Tracker(store, client, service, stopwatch, settings)
            service.wake = tracker.wake
            server.webhook = WebhookReceiver(store, tracker).push
            request = Generate10Request(prompt_text="bench", options=Options.default())
            slots = asyncio.Semaphore(50)  # submissions arrive as members type, not all at once

            async def submit() -> None:
                async with slots:
                    job = await service.create("generate", request, Origin(1, 2, 3))
                    await service.send(job.id)

            await asyncio.gather(*[submit() for _ in range(count)])
            loop = asyncio.create_task(tracker.run())
            pika.finish_at = time.monotonic() + 3.0
            await asyncio.sleep(3.0)
            if push:
                await pika.push_all()
            while len(stopwatch.at) < count:  # noqa: ASYNC110 - a benchmark's simple wait
                await asyncio.sleep(0.01)
            loop.cancel()
            await tracker.stop()
            await server.stop()
        await storage.close()
    await runner.cleanup()
    lags = sorted(at - pika.finish_at for at in stopwatch.at.values())
    return {
        "median": statistics.median(lags),
        "p99": lags[max(0, round(0.99 * len(lags)) - 1)],
        "calls": pika.calls / count,
        "ticks": tracker.ticks,
    }


async def main() -> None:
    """Print one line per N and mode, then peak memory."""
    print(f"poll interval {POLL_INTERVAL:g} s; all jobs finish at Pika at the same moment")
    print(
        f"{'mode':<8} {'N':>5} {'median s':>9} {'p99 s':>8} {'Pika calls/job':>15} "
        f"{'store scans':>12}"
    )
    for push in (False, True):
        for count in (10, 100, 1000):
            figures = await measure(count, push)
            mode = "push" if push else "polling"
            print(
                f"{mode:<8} {count:>5} {figures['median']:>9.3f} {figures['p99']:>8.3f} "
                f"{figures['calls']:>15.2f} {figures['ticks']:>12}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.1f} MiB (whole process, stand-in Pika included)")


if __name__ == "__main__":
    asyncio.run(main())
