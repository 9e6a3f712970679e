"""The bot's one HTTP server, on HTTP_LISTEN: health, readiness and metrics always, and Pika's
webhook push when push is on.

    GET  /healthz              200 while the process and its event loop answer
    GET  /readyz               200 when the gateway is connected, the database takes writes and
                               Pika answers; 503 otherwise; the body names each part's state
    GET  /metrics              Prometheus' text format (bot.ops.metrics)
    POST /pika/webhook/{secret}  the push receiver (bot.jobs.webhook), when push is on

Every bound of the server is set here, once, so it holds for every route: the request head
within a few seconds of connecting, the body within a few seconds and 64 KiB, one request per
connection, a cap on open connections (`bot/bounded_site.py`), a readiness check and a metrics
refresh run one at a time and shared by the requests that come meanwhile (`Shared`: a flood of
probes is one database statement at a time), and a shutdown timeout. It
starts before the bot logs in to Discord, so that a supervisor sees a live process (and a
not-ready one) while Discord is unreachable; the push route answers 503 until the bot's set-up
has made its receiver.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Generic, TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.bounded_site import BoundedSite, Bounds, bounded_app
from bot.jobs.service import WEBHOOK_PATH
from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Each part's state: "ok", or a few words on what is wrong.
ReadyChecks = Callable[[], Awaitable[Mapping[str, str]]]
Refresh = Callable[[], Awaitable[None]]

BOUNDS = Bounds()  # a push is a small JSON document; a scrape sends no body at all
SHUTDOWN_SECONDS = 5.0
T = TypeVar("T")


class Shared(Generic[T]):
    """An async call whose overlapping calls share one run and its result: a readiness check
    or a metrics refresh (each a database statement) costs the database one statement at a
    time, however many probes and scrapes come at once (the server answers whoever reaches
    it, as Pika's pushes need)."""

    def __init__(self, call: Callable[[], Awaitable[T]]) -> None:
        self._call = call
        self._running: asyncio.Future[T] | None = None

    async def __call__(self) -> T:
        if self._running is None:
            self._running = asyncio.ensure_future(self._call())
            self._running.add_done_callback(self._ended)
        # Shielded: a client that goes away does not cancel the others' answer.
        return await asyncio.shield(self._running)

    def _ended(self, done: asyncio.Future[T]) -> None:
        if self._running is done:
            self._running = None
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have gone (it is logged as theirs)


class HttpServer:
    """Serves the routes above on one address."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        metrics: Metrics,
        ready_checks: ReadyChecks,
        refresh_metrics: Refresh | None = None,
        push: bool = False,
    ) -> None:
        self.host, self.port = host, port
        self.metrics = metrics
        self.ready_checks: ReadyChecks = Shared(ready_checks)
        self.refresh_metrics: Refresh | None = None
        if refresh_metrics is not None:
            self.refresh_metrics = Shared(refresh_metrics)
        self.webhook: Handler | None = None  # set once the bot has made its receiver
        self.app = bounded_app(BOUNDS)
        self.app.router.add_get("/healthz", self._healthz)
        self.app.router.add_get("/readyz", self._readyz)
        self.app.router.add_get("/metrics", self._metrics)
        if push:
            self.app.router.add_post(WEBHOOK_PATH + "{secret}", self._push)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Where the server is, once started (with the port it bound, for port 0)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listen; raises OSError when the address is taken."""
        self._runner = web.AppRunner(
            self.app, shutdown_timeout=SHUTDOWN_SECONDS, **BOUNDS.runner_options()
        )
        await self._runner.setup()
        site = BoundedSite(self._runner, self.host, self.port, BOUNDS)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = int(self._runner.addresses[0][1])
        log.info("HTTP server on %s (/healthz, /readyz, /metrics)", self.url)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, request: web.Request) -> web.Response:
        checks = dict(await self.ready_checks())
        self.metrics.set_up((part, state == "ok") for part, state in checks.items())
        ready = all(state == "ok" for state in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks}
        return web.json_response(body, status=200 if ready else 503, dumps=json.dumps)

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.refresh_metrics is not None:
            await self.refresh_metrics()
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def _push(self, request: web.Request) -> web.StreamResponse:
        if self.webhook is None:
            return web.json_response({"error": "starting"}, status=503)
        return await self.webhook(request)
