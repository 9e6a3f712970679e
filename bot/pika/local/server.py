"""The embedded local Pika: the vendor's seven routes, auth, validation and shapes, real videos.

Requests are validated by the same models the client uses. Jobs go queued -> pending (rising
progress) -> finished over `job_seconds`, rendered by `render.py`, and are served from this
server at the URLs it reports. Jobs and files persist in `files_dir`, so a restarted bot finds
its local jobs again. Failure behaviours for tests are switched at `/_local/behaviour`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import json
import logging
import random
import re
import secrets
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.pika.errors import InvalidRequest
from bot.pika.local.render import (
    CameraMove,
    RenderError,
    RenderResult,
    RenderSpec,
    Speech,
    probe,
    render,
    size_for,
)
from bot.pika.media import MediaFacts
from bot.pika.models import (
    EXTEND_SECONDS,
    GENERATE_SECONDS,
    MAX_VIDEO_SECONDS,
    AdditionsRequest,
    EditRequest,
    ExtendRequest,
    Generate10Request,
    Generate15Request,
    Generate20Request,
    Generate21Request,
    InpaintRequest,
    LipSyncRequest,
    Options,
    OutpaintRequest,
    PikaRequestModel,
    RepromptRequest,
    SwapRequest,
    UpscaleJobRequest,
    UpscaleRequest,
    parse_adjust,
    parse_generate,
    validate_request,
)

log = logging.getLogger(__name__)

MAX_INPUT_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
ACCOUNT_ID = "local-account"
USER_ID = "local-user"


class Behaviour(BaseModel):
    """Faults to simulate, switched by tests or a developer at POST /_local/behaviour."""

    model_config = ConfigDict(extra="forbid")

    fail_jobs: int = Field(default=0, ge=0, description="the next N jobs end 'failed'")
    delay_jobs: int = Field(default=0, ge=0, description="the next N jobs go 'delayed' first")
    stall_jobs: int = Field(default=0, ge=0, description="the next N jobs never finish")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="share of API calls -> 500")
    rate_limit_requests: int = Field(default=0, ge=0, description="the next N calls -> 429")
    retry_after: float = Field(default=1.0, ge=0, description="Retry-After sent with 429")
    latency: float = Field(default=0.0, ge=0, le=60, description="seconds before each answer")
    job_seconds: float | None = Field(default=None, ge=0, le=600, description="job length")


@dataclass
class LocalJob:
    """A job of the local Pika; its metadata is saved as job.json beside its files."""

    id: str
    request_type: str
    kind: str
    body: dict[str, Any]
    seed: int
    created_at: float
    seconds: float
    result_name: str
    outcome: str = "normal"  # normal | fail | stall
    delayed: bool = False
    webhook: str | None = None
    source_video: str | None = None  # what an upscale job upscales
    error: str | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    rendered: bool = False
    notified: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def save(self, directory: Path) -> None:
        """Write job.json atomically."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "done"}
        path = directory / self.id / "job.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LocalJob:
        """Read job.json."""
        data = json.loads(path.read_text())
        job = cls(**data)
        if job.rendered:
            job.done.set()
        return job


class FetchError(Exception):
    """An input could not be fetched; the message says which and why."""


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return words[:60] or "video"


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": {"message": message, **extra}}, status)


class LocalPika:
    """The server's state and routes."""

    def __init__(self, api_key: str, job_seconds: float, files_dir: Path) -> None:
        self.api_key = api_key
        self.job_seconds = job_seconds
        self.files_dir = files_dir
        self.base_url = ""
        self.behaviour = Behaviour()
        self.jobs: dict[str, LocalJob] = {}
        self.upscales: dict[str, str] = {}  # original video URL -> upscale job id
        self.requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=10_000)
        self._random = random.Random(0)
        self._tasks: set[asyncio.Task[None]] = set()
        self._renders: set[asyncio.Future[RenderResult]] = set()
        self._render_slots = asyncio.Semaphore(2)
        self._http: httpx.AsyncClient | None = None
        self.app = self._make_app()

    # --- app --------------------------------------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._faults], client_max_size=4 * 1024 * 1024)
        app.router.add_post("/web/generate", self._generate)
        app.router.add_post("/web/adjust", self._adjust)
        app.router.add_post("/web/extend", self._extend)
        app.router.add_post("/web/lipSync", self._lip_sync)
        app.router.add_post("/web/upscale", self._upscale)
        app.router.add_get("/web/jobs/{job_id}", self._get_job)
        app.router.add_post("/web/jobs/upscaled", self._get_upscale_job)
        app.router.add_get("/files/{job_id}/{name}", self._file)
        app.router.add_get("/_local/behaviour", self._get_behaviour)
        app.router.add_post("/_local/behaviour", self._set_behaviour)
        app.router.add_get("/_local/requests", self._get_requests)
        app.router.add_delete("/_local/requests", self._clear_requests)
        app.on_startup.append(self._startup)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _startup(self, app: web.Application) -> None:
        self._http = httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)
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

    async def _cleanup(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._renders, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @web.middleware
    async def _faults(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith(("/web/", "/_local/")):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            return _error(401, "Unauthorized: a valid API key is required")
        if request.path.startswith("/_local/"):
            return await handler(request)
        behaviour = self.behaviour
        record: dict[str, Any] = {"method": request.method, "path": request.path, "body": None}
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                record["body"] = json.loads(await request.read())
        self.requests.append(record)
        if behaviour.latency:
            await asyncio.sleep(behaviour.latency)
        if behaviour.rate_limit_requests > 0:
            behaviour.rate_limit_requests -= 1
            record["status"] = 429
            return _json(
                {"error": {"message": "Too many requests"}},
                429,
                {"Retry-After": f"{behaviour.retry_after:g}"},
            )
        if behaviour.error_rate and self._random.random() < behaviour.error_rate:
            record["status"] = 500
            return _error(500, "Internal server error (simulated)")
        response = await handler(request)
        record["status"] = response.status
        return response

    # --- create routes ----------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": {"message": "The body must be JSON"}}),
                content_type="application/json",
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": {"message": "The body must be a JSON object"}}),
                content_type="application/json",
            )
        return body

    def _facts(self) -> MediaFacts:
        """Lengths of the videos this server made, so extend and lip sync can be checked."""
        durations = {
            self.result_url(job): job.duration
            for job in self.jobs.values()
            if job.duration is not None and job.rendered
        }
        return MediaFacts(durations=durations)

    async def _create(
        self,
        request: web.Request,
        parse: Callable[[dict[str, Any], MediaFacts], PikaRequestModel],
        request_type: str,
    ) -> web.Response:
        body = await self._body(request)
        try:
            model = parse(body, self._facts())
        except InvalidRequest as exc:
            problems = [{"field": p.field, "rule": p.rule} for p in exc.problems]
            return _error(400, str(exc), problems=problems)
        job = self._new_job(model, body, request_type)
        return _json({"job": self._job_view(job, status="queued"), "video": {
            "accountId": ACCOUNT_ID, "id": job.id, "jobId": job.id, "status": "queued",
            "pikaVideoId": job.id, "webhookUrl": job.webhook or "",
        }})  # fmt: skip

    async def _generate(self, request: web.Request) -> web.Response:
        return await self._create(request, parse_generate, "generate")

    async def _adjust(self, request: web.Request) -> web.Response:
        return await self._create(request, parse_adjust, "generate")

    async def _extend(self, request: web.Request) -> web.Response:
        return await self._create(
            request, lambda b, f: validate_request(ExtendRequest, b, f), "extend"
        )

    async def _lip_sync(self, request: web.Request) -> web.Response:
        return await self._create(
            request, lambda b, f: validate_request(LipSyncRequest, b, f), "generate"
        )

    async def _upscale(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            model = validate_request(UpscaleRequest, body)
        except InvalidRequest as exc:
            return _error(400, str(exc))
        source = self._job_of_result(model.video)
        if source is None:
            return _error(400, "video: must be a video generated by the Pika Web Bot")
        if model.video not in self.upscales:
            job = self._new_job(model, body, "upscale")
            job.source_video = model.video
            job.save(self.files_dir)
            self.upscales[model.video] = job.id
        return _json({
            "success": True,
            "video": model.video,
            "message": "Upscale job was started, please use the video url with the POST "
            "/web/jobs/upscaled endpoint to check the status of the job.",
        })  # fmt: skip

    def _job_of_result(self, url: str) -> LocalJob | None:
        for job in self.jobs.values():
            if job.rendered and not job.error and self.result_url(job) == url:
                return job
        return None

    def _new_job(
        self, model: PikaRequestModel, body: dict[str, Any], request_type: str
    ) -> LocalJob:
        behaviour = self.behaviour
        job_id = str(uuid.uuid4())
        options = getattr(model, "options", None)
        seed = options.parameters.seed if isinstance(options, Options) else None
        if seed is None:
            seed = secrets.randbelow(2**31)
        prompt = str(getattr(model, "prompt_text", None) or "")
        suffix = "_upscaled" if request_type == "upscale" else ""
        job = LocalJob(
            id=job_id,
            request_type=request_type,
            kind=type(model).__name__,
            body=body,
            seed=seed,
            created_at=time.time(),
            seconds=self.job_seconds if behaviour.job_seconds is None else behaviour.job_seconds,
            result_name=f"{_slug(prompt)}_seed{seed}{suffix}.mp4",
            webhook=getattr(model, "webhook_override", None),
        )
        if behaviour.fail_jobs:
            behaviour.fail_jobs -= 1
            job.outcome = "fail"
        elif behaviour.stall_jobs:
            behaviour.stall_jobs -= 1
            job.outcome = "stall"
        if behaviour.delay_jobs:
            behaviour.delay_jobs -= 1
            job.delayed = True
        self.jobs[job_id] = job
        job.save(self.files_dir)
        self._spawn(self._run(job))
        log.info("Local Pika: job %s (%s) started", job_id, job.kind)
        return job

    # --- rendering --------------------------------------------------------------------------

    async def _fetch(self, url: str, what: str) -> bytes:
        assert self._http is not None
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise FetchError(f"could not fetch the {what}: HTTP {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_INPUT_BYTES:
                        raise FetchError(f"the {what} is larger than {MAX_INPUT_BYTES >> 20} MiB")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FetchError(f"could not fetch the {what}: {type(exc).__name__}") from None

    async def _spec(self, job: LocalJob, workdir: Path) -> RenderSpec:
        """Fetch the job's inputs and decide what to draw."""
        model = _MODELS[job.kind].model_validate(job.body)
        options = getattr(model, "options", None)
        video_path: Path | None = None
        source_url = getattr(model, "video", None)
        if isinstance(source_url, str):
            video_path = workdir / "source.mp4"
            video_path.write_bytes(await self._fetch(source_url, "video"))
        image = getattr(model, "image", None)
        image_bytes = await self._fetch(image, "image") if isinstance(image, str) else None
        ingredients = tuple(
            [
                await self._fetch(u, "ingredient image")
                for u in getattr(model, "ingredients", None) or []
            ]
        )
        camera = CameraMove()
        fps, ratio = 24, None
        if isinstance(options, Options):
            c = options.camera
            camera = CameraMove(c.zoom, c.pan, c.tilt, c.rotate, options.parameters.motion)
            fps, ratio = options.frame_rate, options.aspect_ratio
        info = await asyncio.to_thread(probe, video_path) if video_path else None
        width, height = size_for(ratio)
        if info is not None and not isinstance(model, OutpaintRequest):
            # Edits of a video keep its shape; only outpainting changes the canvas.
            width, height = info.width - info.width % 2, info.height - info.height % 2
        seconds = info.seconds if info is not None else GENERATE_SECONDS
        label = f"local Pika · {_TITLES.get(job.kind, job.kind)} · seed {job.seed}"
        spec = RenderSpec(
            width=width, height=height, fps=fps, seconds=seconds, seed=job.seed,
            prompt=str(getattr(model, "prompt_text", None) or ""), label=label, camera=camera,
            video=video_path, style=getattr(model, "style", None),
            effect=getattr(model, "pikaffect", None),
        )  # fmt: skip
        if isinstance(model, AdditionsRequest):
            return replace(spec, overlay=image_bytes)
        if isinstance(model, SwapRequest):
            return replace(
                spec, swap=image_bytes, prompt=f"{model.swap_prompt} -> {model.prompt_text}"
            )
        if isinstance(model, InpaintRequest):
            a = model.area
            return replace(spec, inpaint=True, area=(a.x, a.y, a.width, a.height))
        if isinstance(model, OutpaintRequest):
            a = model.area
            return replace(spec, video_mode="outpaint", area=(a.x, a.y, a.width, a.height))
        if isinstance(model, ExtendRequest):
            assert info is not None
            total = info.seconds + EXTEND_SECONDS
            if total > MAX_VIDEO_SECONDS + 0.05:
                raise RenderError(
                    f"the video is {info.seconds:.1f} s long; extended it would pass "
                    f"{MAX_VIDEO_SECONDS:g} s"
                )
            return replace(spec, video_mode="extend", seconds=total, fps=round(info.fps))
        if isinstance(model, LipSyncRequest):
            assert info is not None
            speech = await self._fetch(model.speech, "speech")
            span = Speech(speech, float(model.speech_start), float(model.speech_end))
            return replace(spec, speech=span, fps=round(info.fps))
        if isinstance(model, UpscaleRequest):
            assert info is not None
            return replace(
                spec, width=info.width * 2, height=info.height * 2, fps=round(info.fps),
                text_scale=0.6, label="",
            )  # fmt: skip
        if video_path is not None:
            return spec  # reprompt, edit, or a 1.0/1.5 generation from a video
        if image_bytes is not None or ingredients:
            return replace(spec, image=image_bytes, ingredients=ingredients)
        return spec

    async def _run(self, job: LocalJob) -> None:
        """Render the job, then, when its time is up, notify its webhook."""
        if not job.rendered:
            with tempfile.TemporaryDirectory(prefix="local-pika-") as tmp:
                try:
                    spec = await self._spec(job, Path(tmp))
                    async with self._render_slots:
                        # A thread cannot be cancelled: keep its future so shutdown waits for it.
                        future = asyncio.get_running_loop().run_in_executor(
                            None, render, spec, self.files_dir / job.id, job.result_name
                        )
                        self._renders.add(future)
                        future.add_done_callback(self._renders.discard)
                        result: RenderResult = await asyncio.shield(future)
                    job.duration, job.width, job.height = (
                        result.seconds,
                        result.width,
                        result.height,
                    )
                except (FetchError, RenderError) as exc:
                    job.error = str(exc)
                except Exception:
                    log.exception("Local Pika: job %s could not be rendered", job.id)
                    job.error = "internal error while rendering"
            job.rendered = True
            job.save(self.files_dir)
            job.done.set()
        if job.outcome == "stall":
            return
        wait = job.created_at + job.seconds - time.time()
        if wait > 0 and job.error is None:
            await asyncio.sleep(wait)
        if job.webhook and not job.notified:
            await self._notify(job)
        job.notified = True
        job.save(self.files_dir)

    async def _notify(self, job: LocalJob) -> None:
        payload = {"job": self._job_view(job), "videos": [self._video_view(job)]}
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
        return f"{self.base_url}/files/{job.id}/{job.result_name}"

    def _status(self, job: LocalJob) -> tuple[str, int]:
        elapsed = time.time() - job.created_at
        fraction = elapsed / job.seconds if job.seconds > 0 else 1.0
        if job.error is not None:
            return "failed", min(99, int(fraction * 100))
        if job.outcome == "stall":
            return "pending", min(50, int(fraction * 100))
        if fraction >= 1 and job.rendered:
            return ("failed", 99) if job.outcome == "fail" else ("finished", 100)
        if job.delayed and fraction < 0.5:
            return "delayed", 0
        if fraction < 0.1:
            return "queued", 0
        return "pending", max(1, min(99, int(fraction * 100)))

    def _job_view(self, job: LocalJob, status: str | None = None) -> dict[str, Any]:
        body = {k: v for k, v in job.body.items() if k != "webhookOverride"}
        prompt = body.get("promptText", "")
        return {
            "id": job.id, "pikaJobId": job.id, "accountId": ACCOUNT_ID,
            "status": status or self._status(job)[0], "requestType": job.request_type,
            "upscaled": job.request_type == "upscale", "adjusted": "mode" in body,
            "extended": 1 if job.request_type == "extend" else 0,
            "params": body | {"userId": USER_ID}, "promptText": prompt,
            "createdAt": datetime.fromtimestamp(job.created_at, UTC).isoformat().replace(
                "+00:00", "Z"),
            "webhookUrl": job.webhook or "",
        }  # fmt: skip

    def _video_view(self, job: LocalJob) -> dict[str, Any]:
        status, progress = self._status(job)
        finished = status == "finished"
        base = f"{self.base_url}/files/{job.id}"
        view: dict[str, Any] = {
            "jobId": job.id, "pikaVideoId": job.id, "accountId": ACCOUNT_ID, "id": job.id,
            "duration": job.duration if finished else None, "feedback": 0, "seed": job.seed,
            "progress": progress, "status": status,
            "resultUrl": self.result_url(job) if finished else "",
            "imageThumb": f"{base}/thumbnail.jpg" if finished else "",
            "videoPoster": f"{base}/poster.jpg" if finished else "",
        }  # fmt: skip
        if status == "failed":
            view["error"] = job.error or "The generation failed (simulated failure)"
        return view

    async def _get_job(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None or job.request_type == "upscale":
            return _error(404, "Job not found")
        return _json({"job": self._job_view(job), "videos": [self._video_view(job)]})

    async def _get_upscale_job(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            model = validate_request(UpscaleJobRequest, body)
        except InvalidRequest as exc:
            return _error(400, str(exc))
        job = self.jobs.get(self.upscales.get(model.video, ""))
        if job is None:
            return _error(404, "No upscale job for this video")
        return _json({"job": self._job_view(job), "videos": [self._video_view(job)]})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        job = self.jobs.get(request.match_info["job_id"])
        name = request.match_info["name"]
        if job is None or self._status(job)[0] != "finished":
            raise web.HTTPNotFound()
        if name not in (job.result_name, "poster.jpg", "thumbnail.jpg"):
            raise web.HTTPNotFound()
        return web.FileResponse(self.files_dir / job.id / name)

    # --- admin ------------------------------------------------------------------------------

    async def _get_behaviour(self, request: web.Request) -> web.Response:
        return _json(self.behaviour.model_dump())

    async def _set_behaviour(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        try:
            self.behaviour = Behaviour.model_validate(self.behaviour.model_dump() | body)
        except ValidationError as exc:
            return _error(400, str(exc.errors()[0]["msg"]))
        return _json(self.behaviour.model_dump())

    async def _get_requests(self, request: web.Request) -> web.Response:
        return _json(list(self.requests))

    async def _clear_requests(self, request: web.Request) -> web.Response:
        self.requests.clear()
        return _json([])


_TITLES = {
    "Generate10Request": "model 1.0", "Generate15Request": "model 1.5",
    "Generate20Request": "model 2.0", "Generate21Request": "model 2.1",
    "AdditionsRequest": "Additions", "SwapRequest": "Swap", "InpaintRequest": "inpainting",
    "OutpaintRequest": "outpainting", "ExtendRequest": "extend", "LipSyncRequest": "lip sync",
    "UpscaleRequest": "upscale",
}  # fmt: skip

_MODELS: dict[str, type[PikaRequestModel]] = {
    cls.__name__: cls
    for cls in (
        Generate10Request, Generate15Request, Generate20Request, Generate21Request,
        AdditionsRequest, SwapRequest, RepromptRequest, EditRequest, InpaintRequest,
        OutpaintRequest, ExtendRequest, LipSyncRequest, UpscaleRequest,
    )
}  # fmt: skip


@contextlib.asynccontextmanager
async def running_local_pika(
    *,
    job_seconds: float = 8.0,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    files_dir: Path | None = None,
) -> AsyncIterator[LocalPika]:
    """Serve a local Pika until the block ends; port 0 picks a free port."""
    with contextlib.ExitStack() as stack:
        if files_dir is None:
            files_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pika-")))
        pika = LocalPika(api_key or secrets.token_urlsafe(24), job_seconds, files_dir)
        runner = web.AppRunner(pika.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        pika.base_url = f"http://{host}:{bound_port}"
        try:
            yield pika
        finally:
            await runner.cleanup()
