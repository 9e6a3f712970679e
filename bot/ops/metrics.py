"""The bot's Prometheus metrics, on a registry of their own (never prometheus_client's global
one, so that two bots in one process, or a test, never mix their counts).

Each family is fed at an edge of the bot, never from inside its logic: the job journal
(`job_event`), the Pika client's one request function (`pika_call`), discord.py's HTTP session
(`discord_middleware`, which sees every REST call and the gateway's handshake), a watcher of the
event loop (`watch_event_loop`), and, when /metrics is scraped, the jobs not ended
(`set_jobs_now`). `docs/grafana/pika-bot.json` charts them.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable

import aiohttp
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from bot.jobs.journal import JobEvent
from bot.pika.client import PikaCall

# Jobs take seconds to many minutes; a REST call or a poll, milliseconds to seconds.
JOB_BUCKETS = (5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600)
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
LOOP_INTERVAL = 0.5  # seconds between two looks at the event loop

_VERSION = re.compile(r"^.*?/api(?:/v\d+)?(?=/)")
_WORD = re.compile(r"^[a-z@][a-z0-9@_.-]{0,31}$")


def discord_route(path: str) -> str:
    """A Discord URL path as a label: ids, tokens and emoji replaced, so that no secret (an
    interaction's token) and no unbounded value becomes a label."""
    path = _VERSION.sub("", path)
    if not path.startswith("/"):
        return "other"
    out: list[str] = []
    for segment in path.strip("/").split("/"):
        if segment.isdigit():
            out.append("{id}")
        elif len(out) >= 2 and out[-1] == "{id}" and out[-2] in ("interactions", "webhooks"):
            out.append("{token}")
        elif out and out[-1] == "reactions":
            out.append("{emoji}")
        elif _WORD.match(segment):
            out.append(segment)
        else:
            out.append("{other}")
    return "/" + "/".join(out)


class Metrics:
    """Every family the bot exports, and the listeners that feed them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs_admitted = Counter(
            "pika_bot_jobs_admitted", "Jobs admitted (row written), by kind", ["kind"], registry=r
        )
        self.jobs_refused = Counter(
            "pika_bot_requests_refused",
            "Requests refused before they became jobs, by kind and rule",
            ["kind", "rule"],
            registry=r,
        )
        self.jobs_ended = Counter(
            "pika_bot_jobs_ended",
            "Jobs that ended, by kind, outcome (delivered, failed, timed_out, undeliverable) "
            "and reason (the failure, empty when delivered)",
            ["kind", "outcome", "reason"],
            registry=r,
        )
        self.job_seconds = Histogram(
            "pika_bot_job_duration_seconds",
            "Seconds from asked to ended, by kind and outcome",
            ["kind", "outcome"],
            buckets=JOB_BUCKETS,
            registry=r,
        )
        self.jobs_now = Gauge(
            "pika_bot_jobs_now",
            "Jobs not ended, by state (waiting: not yet started at Pika; running)",
            ["state"],
            registry=r,
        )
        self.pika_requests = Counter(
            "pika_bot_pika_requests",
            "Calls to Pika, by route and status (the HTTP status, or unreachable, timeout)",
            ["route", "status"],
            registry=r,
        )
        self.pika_seconds = Histogram(
            "pika_bot_pika_request_duration_seconds",
            "Seconds a call to Pika took, by route",
            ["route"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.discord_requests = Counter(
            "pika_bot_discord_requests",
            "HTTP requests to Discord, by method, route and status "
            "(429: rate limited; unreachable, timeout, cancelled)",
            ["method", "route", "status"],
            registry=r,
        )
        self.discord_seconds = Histogram(
            "pika_bot_discord_request_duration_seconds",
            "Seconds an HTTP request to Discord took, by method",
            ["method"],
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.tracker_lag = Histogram(
            "pika_bot_tracker_lag_seconds",
            "How late the tracker took due jobs",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.loop_lag = Histogram(
            "pika_bot_event_loop_lag_seconds",
            f"How late a {LOOP_INTERVAL}s timer of the event loop fired",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.up = Gauge(
            "pika_bot_up",
            "1 when the part (discord, pika, database) was working at the last look",
            ["part"],
            registry=r,
        )
        ProcessCollector(registry=r)

    def render(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)

    # --- listeners ---------------------------------------------------------------------------

    def job_event(self, event: JobEvent) -> None:
        """A step of a job (the journal's listener)."""
        if event.step == "admitted":
            self.jobs_admitted.labels(event.kind).inc()
        elif event.step == "refused":
            rule = (event.reason or "").split("(")[0].split(":")[0]
            self.jobs_refused.labels(event.kind, rule).inc()
        elif event.step in ("delivered", "ended"):
            outcome = event.outcome or event.step
            self.jobs_ended.labels(event.kind, outcome, event.reason or "").inc()
            if event.seconds is not None:
                self.job_seconds.labels(event.kind, outcome).observe(event.seconds)
        elif event.step == "taken" and event.seconds is not None:
            self.tracker_lag.observe(event.seconds)

    def pika_call(self, call: PikaCall) -> None:
        """One call to Pika (the client's observer)."""
        if call.status is not None:
            status = str(call.status)
        else:
            status = "timeout" if "Timeout" in (call.error or "") else "unreachable"
        self.pika_requests.labels(call.route, status).inc()
        self.pika_seconds.labels(call.route).observe(call.seconds)

    def set_jobs_now(self, waiting: int, running: int) -> None:
        """The jobs not ended, counted when /metrics is scraped."""
        self.jobs_now.labels("waiting").set(waiting)
        self.jobs_now.labels("running").set(running)

    def set_up(self, parts: Iterable[tuple[str, bool]]) -> None:
        """Which parts work, as found by the readiness checks."""
        for part, ok in parts:
            self.up.labels(part).set(1 if ok else 0)

    async def discord_middleware(
        self, request: aiohttp.ClientRequest, send: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        """Every request to Discord counted by its answer and timed: each of discord.py's
        retries (a 429 is one), follow-ups with an interaction's token, the gateway's
        handshake. A middleware, not a TraceConfig: with a trace, aiohttp sends a dozen signals
        per request (each an object and an await) whoever listens; a middleware is one call."""
        started = time.monotonic()
        status = "unreachable"
        try:
            response = await send(request)
            status = str(response.status)
            return response
        except TimeoutError:
            status = "timeout"
            raise
        except asyncio.CancelledError:  # stopped by the bot (a cap on an upload, shutdown)
            status = "cancelled"
            raise
        finally:
            method = request.method
            self.discord_requests.labels(method, discord_route(request.url.path), status).inc()
            self.discord_seconds.labels(method).observe(time.monotonic() - started)

    async def watch_event_loop(
        self, interval: float = LOOP_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Until cancelled: how late a short timer fires is how busy the event loop is."""
        while True:
            before = clock()
            await asyncio.sleep(interval)
            self.loop_lag.observe(max(0.0, clock() - before - interval))
