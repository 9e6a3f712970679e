"""The embedded local Pika: the vendor's seven routes, auth, validation and shapes, real videos.

Requests are validated by the same models the client uses. Jobs go queued -> pending (rising
progress) -> finished over `job_seconds`, rendered by `render.py` from the recipe in `spec.py`,
and are served from this server at the URLs it reports. Jobs and files persist in `files_dir`
(`jobs.py`), so a restarted bot finds its local jobs again. Failure behaviours for tests are
switched at `/_local/behaviour` (`faults.py`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.pika import kinds
from bot.pika.errors import InvalidRequest
from bot.pika.local.faults import Behaviour, Faults, error_response, json_object, json_response
from bot.pika.local.jobs import (
    LocalJob,
    expired,
    remove_job_files,
    remove_leftovers,
)
from bot.pika.local.render import RenderResult
from bot.pika.local.renders import Capacity, Renders
from bot.pika.local.views import ACCOUNT_ID, job_view, result_url, video_view
from bot.pika.media import MediaFacts
from bot.pika.models import (
    ExtendRequest,
    Generate10Request,
    InpaintRequest,
    PikaRequestModel,
    UpscaleJobRequest,
    UpscaleRequest,
    parse_adjust,
    parse_generate,
    validate_request,
)
from bot.safe_fetch import AllowedHost, SafeFetcher

log = logging.getLogger(__name__)

INSUFFICIENT_STORAGE = 507  # a create the local Pika's folder cannot take: made nothing


class CannotSave(Exception):
    """A new job's file cannot be written (a full disk, a folder gone): nothing was made."""

    def __init__(self, folder: Path, error: OSError) -> None:
        super().__init__(folder, error)
        self.folder, self.reason = folder, error.strerror or str(error)

    def response(self) -> web.Response:
        """The answer to the create call, and one line in the owner's log."""
        log.warning(
            "Local Pika: cannot save a new job in %s (DATA_DIR): %s", self.folder, self.reason
        )
        return error_response(
            INSUFFICIENT_STORAGE, f"The local Pika cannot save the job: {self.reason}."
        )


FETCH_SECONDS = 20.0
PRUNE_EVERY = 3600.0  # seconds between two sweeps of expired job files
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

Parser = Callable[[Mapping[str, Any], MediaFacts | None], PikaRequestModel]


def _one(model: type[PikaRequestModel]) -> Parser:
    return lambda body, facts: validate_request(model, body, facts)


# Routes that several request models share, and how a body tells them apart.
SHARED_ROUTES: dict[str, Parser] = {
    Generate10Request.route: parse_generate,
    InpaintRequest.route: parse_adjust,
}


def create_routes() -> dict[str, tuple[Parser, str]]:
    """The routes that create a job, from the kinds catalogue: how each reads its body, and the
    requestType Pika reports for its jobs. /web/upscale creates one too, but answers in a shape
    of its own, and is served apart."""
    models: dict[str, set[type[PikaRequestModel]]] = collections.defaultdict(set)
    for record in kinds.KINDS.values():
        for model in record.requests:
            models[model.route].add(model)
    models.pop(UpscaleRequest.route, None)
    routes: dict[str, tuple[Parser, str]] = {}
    for route, found in models.items():
        if route not in SHARED_ROUTES and len(found) > 1:
            raise ValueError(f"{route} is shared by {len(found)} models: add it to SHARED_ROUTES")
        parse = SHARED_ROUTES.get(route) or _one(next(iter(found)))
        routes[route] = (parse, "extend" if route == ExtendRequest.route else "generate")
    return routes


class LocalPika:
    """One local Pika: its jobs, its fault switches and the aiohttp `app` that serves them.


    With `prerendered`, every job's video is that one video (linked, not rendered again): what
    benchmarks use, so that what they measure is not rendering."""

    def __init__(
        self,
        api_key: str,
        job_seconds: float,
        files_dir: Path,
        *,
        capacity: Capacity | None = None,
        allowed_hosts: Iterable[AllowedHost] = (),
        prerendered: RenderResult | None = None,
    ) -> None:
        self.api_key = api_key
        self.job_seconds = job_seconds
        self.files_dir = files_dir
        self.capacity = capacity or Capacity()
        self.base_url = ""
        self.faults = Faults(api_key)
        self.jobs: dict[str, LocalJob] = {}
        self.upscales: dict[str, str] = {}  # original video URL -> upscale job id
        self._tasks: set[asyncio.Task[None]] = set()
        self.fetcher = SafeFetcher(allowed_hosts, timeout=FETCH_SECONDS)
        self.renders = Renders(self.capacity, self.fetcher, prerendered)
        self.app = self._make_app()

    @property
    def behaviour(self) -> Behaviour:
        """The fault switches now in force."""
        return self.faults.behaviour

    @property
    def requests(self) -> collections.deque[dict[str, Any]]:
        """The API calls received, oldest first (the last 10,000)."""
        return self.faults.requests

    # --- app --------------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self.faults.middleware], client_max_size=4 * 1024 * 1024)
        for route, (parse, request_type) in create_routes().items():
            app.router.add_post(route, self._creator(parse, request_type))
        app.router.add_post(UpscaleRequest.route, self._upscale)
        app.router.add_get("/web/jobs/{job_id}", self._get_job)
        app.router.add_post("/web/jobs/upscaled", self._get_upscale_job)
        app.router.add_get("/files/{job_id}/{name}", self._file)
        app.router.add_routes(self.faults.routes())
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _startup(self, app: web.Application) -> None:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        removed = remove_leftovers(self.files_dir)
        if removed:
            log.info("Local Pika: removed %d half-written file(s) left by a stop", removed)
        for path in sorted(self.files_dir.glob("*/job.json")):
            try:
                job = LocalJob.load(path)
            except (OSError, ValueError, TypeError):
                log.warning("Local Pika: skipping unreadable %s", path)
                continue
            self.jobs[job.id] = job
            if job.request_type == "upscale" and job.source_video:
                self.upscales[job.source_video] = job.id
            if not job.rendered or not job.notified:
                self._spawn(self._run(job))
        self._spawn(self._prune_forever())

    async def _cleanup(self, app: web.Application) -> None:
        self.renders.stop()  # render threads end at their next frame
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.renders.wait()
        await self.fetcher.aclose()

    def prune(self, now: float | None = None) -> int:
        """Delete the files of jobs older than `keep_days`; return how many went."""
        now = time.time() if now is None else now
        keep = self.capacity.keep_days * 86_400
        old = [job for job in self.jobs.values() if expired(job, now, keep)]
        for job in old:
            remove_job_files(self.files_dir, job.id)
            del self.jobs[job.id]
            if job.source_video and self.upscales.get(job.source_video) == job.id:
                del self.upscales[job.source_video]
        if old:
            log.info("Local Pika: deleted %d video(s) older than %g days", len(old), keep / 86_400)
        return len(old)

    async def _prune_forever(self) -> None:
        while True:
            self.prune()
            await asyncio.sleep(PRUNE_EVERY)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- create routes ----------------------------------------------------------------------

    def _facts(self) -> MediaFacts:
        """Lengths of the videos this server made, so extend and lip sync can be checked."""
        durations = {
            self.result_url(job): job.duration
            for job in self.jobs.values()
            if job.duration is not None and job.rendered
        }
        return MediaFacts(durations=durations)

    def _creator(
        self, parse: Parser, request_type: str
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def create(request: web.Request) -> web.Response:
            body = await json_object(request)
            try:
                model = parse(body, self._facts())
            except InvalidRequest as exc:
                problems = [{"field": p.field, "rule": p.rule} for p in exc.problems]
                return error_response(400, str(exc), problems=problems)
            try:
                job = self._new_job(model, body, request_type)
            except CannotSave as exc:
                return exc.response()
            video = {
                "accountId": ACCOUNT_ID,
                "id": job.id,
                "jobId": job.id,
                "status": "queued",
                "pikaVideoId": job.id,
                "webhookUrl": job.webhook or "",
            }
            dressed = self.faults.dressed
            return json_response(
                {
                    "job": dressed(job_view(job, status="queued"), "job"),
                    "video": dressed(video, "video"),
                }
            )

        return create

    async def _upscale(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            model = validate_request(UpscaleRequest, body)
        except InvalidRequest as exc:
            return error_response(400, str(exc))
        source = self._job_of_result(model.video)
        if source is None:
            return error_response(400, "video: must be a video generated by the Pika Web Bot")
        if model.video not in self.upscales:
            try:
                job = self._new_job(model, body, "upscale", source_video=model.video)
            except CannotSave as exc:
                return exc.response()
            self.upscales[model.video] = job.id
        return json_response(
            {
                "success": True,
                "video": model.video,
                "message": "Upscale job was started, please use the video url with the POST "
                "/web/jobs/upscaled endpoint to check the status of the job.",
            }
        )

    def _job_of_result(self, url: str) -> LocalJob | None:
        for job in self.jobs.values():
            if job.rendered and not job.error and self.result_url(job) == url:
                return job
        return None

    def _new_job(
        self,
        model: PikaRequestModel,
        body: dict[str, Any],
        request_type: str,
        source_video: str | None = None,
    ) -> LocalJob:
        """Make and start a job; CannotSave (nothing made) when its file cannot be written."""
        job = LocalJob.start(model, body, request_type, self.faults.next_job(self.job_seconds))
        job.source_video = source_video
        # Written before it is known or started: a job the disk cannot take is refused whole,
        # rather than kept in memory, unsaved, while its caller is told it failed.
        try:
            job.save(self.files_dir)
        except OSError as exc:
            raise CannotSave(self.files_dir, exc) from None
        self.jobs[job.id] = job
        self._spawn(self._run(job))
        log.info("Local Pika: job %s (%s) started", job.id, job.request_key)
        return job

    # --- rendering --------------------------------------------------------------------------

    async def _run(self, job: LocalJob) -> None:
        """Render the job, then, when its time is up, notify its webhook."""
        if job.outcome == "forget":  # never to be seen again: nothing to render or push
            return
        if not job.rendered:
            await self._render(job)
            job.rendered = True
            self._keep(job)
            job.done.set()
        if job.outcome == "stall":
            return
        wait = job.created_at + job.seconds - time.time()
        if wait > 0 and job.error is None:
            await asyncio.sleep(wait)
        if job.webhook and not job.notified:
            await self._notify(job)
        job.notified = True
        self._keep(job)

    def _keep(self, job: LocalJob) -> None:
        """Save a job's progress; when the disk cannot take it, the job goes on from memory
        (only a restart would lose it), said in one line rather than a task's traceback."""
        try:
            job.save(self.files_dir)
        except OSError as exc:
            log.warning(
                "Local Pika: cannot save job %s in %s (DATA_DIR): %s",
                job.id,
                self.files_dir,
                exc.strerror or exc,
            )

    async def _render(self, job: LocalJob) -> None:
        await self.renders.make(job, self.files_dir)

    async def _notify(self, job: LocalJob) -> None:
        payload = {"job": job_view(job), "videos": [video_view(job, self.base_url)]}
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT) as http:
            for attempt in range(3):
                try:
                    response = await http.post(job.webhook or "", json=payload)
                    if response.status_code < 500:
                        log.info("Local Pika: webhook for %s -> %d", job.id, response.status_code)
                        return
                except httpx.HTTPError as exc:
                    log.info("Local Pika: webhook for %s failed: %s", job.id, type(exc).__name__)
                await asyncio.sleep(0.5 * 2**attempt)

    # --- views ------------------------------------------------------------------------------

    def result_url(self, job: LocalJob) -> str:
        """Where the job's video is served."""
        return result_url(self.base_url, job)

    def _job_answer(self, job: LocalJob) -> dict[str, Any]:
        """The get-job answer: `{job, videos}`."""
        dressed = self.faults.dressed
        video = dressed(video_view(job, self.base_url), "video")
        return {"job": dressed(job_view(job), "job"), "videos": [video]}

    async def _get_job(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None or job.request_type == "upscale" or job.outcome == "forget":
            return error_response(404, "Job not found")
        return json_response(self._job_answer(job))

    async def _get_upscale_job(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            model = validate_request(UpscaleJobRequest, body)
        except InvalidRequest as exc:
            return error_response(400, str(exc))
        job = self.jobs.get(self.upscales.get(model.video, ""))
        if job is None or job.outcome == "forget":
            return error_response(404, "No upscale job for this video")
        return json_response(self._job_answer(job))

    async def _file(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.get(request.match_info["job_id"])
        name = request.match_info["name"]
        if job is None or job.status(time.time())[0] != "finished":
            raise web.HTTPNotFound()
        if name not in (job.result_name, "poster.jpg", "thumbnail.jpg"):
            raise web.HTTPNotFound()
        return web.FileResponse(self.files_dir / job.id / name)


@contextlib.asynccontextmanager
async def running_local_pika(
    *,
    job_seconds: float = 8.0,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    files_dir: Path | None = None,
    capacity: Capacity | None = None,
    allowed_hosts: Iterable[AllowedHost] = (),
    prerendered: RenderResult | None = None,
) -> AsyncIterator[LocalPika]:
    """Serve a local Pika until the block ends; port 0 picks a free port.

    It fetches inputs from public addresses, from `allowed_hosts`, and from itself (its own
    results, for extend, upscale and lip sync)."""
    with contextlib.ExitStack() as stack:
        if files_dir is None:
            files_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pika-")))
        pika = LocalPika(
            api_key or secrets.token_urlsafe(24),
            job_seconds,
            files_dir,
            capacity=capacity,
            allowed_hosts=allowed_hosts,
            prerendered=prerendered,
        )
        runner = web.AppRunner(pika.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        pika.base_url = f"http://{host}:{bound_port}"
        pika.fetcher.allow(AllowedHost(host, bound_port))
        try:
            yield pika
        finally:
            await runner.cleanup()
