"""The local Pika's fault switches: what a test or a developer sets at /_local/behaviour.

Every API call passes the middleware, which checks the key, logs the call and may answer 429 or
500 instead; every new job asks `next_job` whether it fails, stalls, is forgotten or is delayed
first. The JSON
helpers at the top give every answer of the local Pika, faulty or not, the vendor's shapes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.pika.kinds import KINDS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The routes that create a job (a paid call at the real Pika), from the kinds catalogue.
CREATE_ROUTES = frozenset(model.route for kind in KINDS.values() for model in kind.requests)
Outcome = Literal["normal", "fail", "stall", "forget"]


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer as Pika sends it (`application/json`, no charset)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def error_response(status: int, message: str, **extra: Any) -> web.Response:
    """An error in Pika's shape: `{"error": {"message": ...}}`."""
    return json_response({"error": {"message": message, **extra}}, status)


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object body; anything else is answered 400 in Pika's error shape."""
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


class Behaviour(BaseModel):
    """Faults to simulate, switched by tests or a developer at POST /_local/behaviour."""

    model_config = ConfigDict(extra="forbid")

    fail_jobs: int = Field(default=0, ge=0, description="the next N jobs end 'failed'")
    delay_jobs: int = Field(default=0, ge=0, description="the next N jobs go 'delayed' first")
    stall_jobs: int = Field(default=0, ge=0, description="the next N jobs never finish")
    forget_jobs: int = Field(
        default=0,
        ge=0,
        description="the next N jobs are answered as made, then forgotten: get-job (or the "
        "upscale's get-upscale-job) answers 404 for them, as for a job Pika lost",
    )
    error_rate: float = Field(default=0.0, ge=0, le=1, description="share of API calls -> 500")
    server_errors: int = Field(default=0, ge=0, description="the next N API calls -> 500")
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1, description="share of calls -> 429")
    rate_limit_requests: int = Field(default=0, ge=0, description="the next N calls -> 429")
    lose_answers: int = Field(
        default=0,
        ge=0,
        description="the next N create calls make their job, and the "
        "connection drops before the answer (the outcome is unknown to the caller)",
    )
    gateway_timeouts: int = Field(
        default=0, ge=0, description="the next N create calls make their job, then answer 504"
    )
    retry_after: float = Field(default=1.0, ge=0, description="Retry-After sent with 429")
    latency: float = Field(default=0.0, ge=0, le=60, description="seconds before each answer")
    odd_fields: dict[Literal["job", "video"], dict[str, Any]] = Field(
        default_factory=dict,
        description="fields laid over every answer's job and video, as an odd Pika may send "
        "them (a createdAt in milliseconds, a seed past 64 bits)",
    )
    job_seconds: float | None = Field(default=None, ge=0, le=600, description="job length")


@dataclass(frozen=True)
class JobFaults:
    """What the switches decided for one new job."""

    outcome: Outcome
    delayed: bool
    seconds: float


class Faults:
    """The switches, the log of API calls, and the middleware that applies them to each call."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.behaviour = Behaviour()
        self.requests: collections.deque[dict[str, Any]] = collections.deque(maxlen=10_000)
        self._random = random.Random(0)

    def routes(self) -> list[web.RouteDef]:
        """The switchboard: GET and POST /_local/behaviour, GET and DELETE /_local/requests."""
        return [
            web.get("/_local/behaviour", self._get_behaviour),
            web.post("/_local/behaviour", self._set_behaviour),
            web.get("/_local/requests", self._get_requests),
            web.delete("/_local/requests", self._clear_requests),
        ]

    def dressed(self, view: dict[str, Any], part: Literal["job", "video"]) -> dict[str, Any]:
        """A job's or video's view in an answer, with the odd fields switched on laid over it."""
        return view | self.behaviour.odd_fields.get(part, {})

    def next_job(self, job_seconds: float) -> JobFaults:
        """Spend one of the job switches, if any is set, on a new job."""
        behaviour = self.behaviour
        outcome: Outcome = "normal"
        if behaviour.fail_jobs:
            behaviour.fail_jobs -= 1
            outcome = "fail"
        elif behaviour.stall_jobs:
            behaviour.stall_jobs -= 1
            outcome = "stall"
        elif behaviour.forget_jobs:
            behaviour.forget_jobs -= 1
            outcome = "forget"
        delayed = behaviour.delay_jobs > 0
        if delayed:
            behaviour.delay_jobs -= 1
        seconds = job_seconds if behaviour.job_seconds is None else behaviour.job_seconds
        return JobFaults(outcome, delayed, seconds)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Check the key on /web/ and /_local/ calls; log, slow down or fail the API calls."""
        if not request.path.startswith(("/web/", "/_local/")):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self.api_key}".encode()):
            return error_response(401, "Unauthorized: a valid API key is required")
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
        limited = behaviour.rate_limit_rate and self._random.random() < behaviour.rate_limit_rate
        if behaviour.rate_limit_requests > 0 or limited:
            behaviour.rate_limit_requests = max(0, behaviour.rate_limit_requests - 1)
            record["status"] = 429
            retry_after = {"Retry-After": f"{behaviour.retry_after:g}"}
            return json_response({"error": {"message": "Too many requests"}}, 429, retry_after)
        failing = behaviour.error_rate and self._random.random() < behaviour.error_rate
        if behaviour.server_errors > 0 or failing:
            behaviour.server_errors = max(0, behaviour.server_errors - 1)
            record["status"] = 500
            return error_response(500, "Internal server error (simulated)")
        response = await handler(request)
        record["status"] = response.status
        if request.method == "POST" and request.path in CREATE_ROUTES and response.status == 200:
            return self._after_create(request, record, response)
        return response

    def _after_create(
        self, request: web.Request, record: dict[str, Any], response: web.StreamResponse
    ) -> web.StreamResponse:
        """The job is made; its answer may still be lost (a dropped connection) or a 504."""
        behaviour = self.behaviour
        if behaviour.lose_answers > 0:
            behaviour.lose_answers -= 1
            record["status"] = "lost"
            if request.transport is not None:
                request.transport.abort()  # the caller never reads an answer
            return response
        if behaviour.gateway_timeouts > 0:
            behaviour.gateway_timeouts -= 1
            record["status"] = 504
            return error_response(504, "Gateway timeout (simulated)")
        return response

    async def _get_behaviour(self, request: web.Request) -> web.Response:
        return json_response(self.behaviour.model_dump())

    async def _set_behaviour(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            self.behaviour = Behaviour.model_validate(self.behaviour.model_dump() | body)
        except ValidationError as exc:
            return error_response(400, str(exc.errors()[0]["msg"]))
        return json_response(self.behaviour.model_dump())

    async def _get_requests(self, request: web.Request) -> web.Response:
        return json_response(list(self.requests))

    async def _clear_requests(self, request: web.Request) -> web.Response:
        self.requests.clear()
        return json_response([])
