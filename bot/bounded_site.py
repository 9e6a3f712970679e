"""An inbound HTTP server that nobody can hold open: the bounds every route of the bot is served
within (`bot/ops/server.py`: the push route, /healthz, /readyz and /metrics).

- a request's head must arrive within `header_seconds` of the connection (or of the previous
  answer): a silent or trickling client is dropped (aiohttp's keep-alive timer, which also
  runs before the first request);
- its body must arrive within `body_seconds` and be at most `max_body` bytes;
- every connection serves one request, then closes;
- at most `max_connections` are open at once: more are closed as they come, before any byte
  is read;
- nothing is logged per refused connection: a count, at most once a minute, within a minute
  of the first refusal it counts (or when the server stops).

Use `bounded_app(bounds)` for the application, `bounds.runner_options()` for its AppRunner
and `BoundedSite` to serve it (or `BoundedServer`, which does all three).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SUMMARY_EVERY = 60.0


@dataclass(frozen=True)
class Bounds:
    """The limits of one server."""

    header_seconds: float = 5.0
    body_seconds: float = 5.0
    max_body: int = 64 * 1024
    max_connections: int = 64
    max_headers: int = 32
    max_line: int = 4096

    def runner_options(self) -> dict[str, Any]:
        """The AppRunner's (aiohttp's request handler's) share of the bounds."""
        return {
            "access_log": None,
            # aiohttp's keep-alive timer also runs before the first request: a client that has
            # not sent a whole request head by then is dropped.
            "keepalive_timeout": self.header_seconds,
            "max_headers": self.max_headers,
            "max_line_size": self.max_line,
            "max_field_size": self.max_line,
            "lingering_time": 0,
        }


def bounded_app(bounds: Bounds) -> web.Application:
    """An application whose requests are read within the bounds, then answered and closed."""

    @web.middleware
    async def within_bounds(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            async with asyncio.timeout(bounds.body_seconds):
                await request.read()  # kept by aiohttp for the handler; over max_body: 413
        except TimeoutError:
            response: web.StreamResponse = web.Response(status=408, text="too slow")
        else:
            response = await handler(request)
        response.force_close()
        return response

    return web.Application(client_max_size=bounds.max_body, middlewares=[within_bounds])


class _Refused(asyncio.Protocol):
    """A connection over the cap: closed at once, unread."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class BoundedSite(web.BaseSite):
    """A TCP site that closes connections over the cap before aiohttp sees them."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, bounds: Bounds) -> None:
        super().__init__(runner)
        self._host, self._port, self._bounds = host, port, bounds
        self.refused = 0
        self._reported_at = time.monotonic()
        # Handlers handed out in the accept burst under way, connected or not yet (see _protocol).
        self._opening: list[asyncio.BaseProtocol] = []
        self._settling = False
        self._report: asyncio.TimerHandle | None = None

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        self._server = await asyncio.get_running_loop().create_server(
            self._protocol, self._host, self._port, reuse_address=True
        )
        if self._server.sockets:
            self._port = int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> asyncio.BaseProtocol:
        server = self._runner.server
        assert server is not None
        # aiohttp counts a connection once its handler is connected, and no loop connects a
        # handler as it makes it: both schedule `connection_made` with call_soon. asyncio's
        # loop (3.11) accepts a whole burst in one turn and makes all its handlers in the next
        # (a task each), so a burst would pass the cap unseen; uvloop 0.23 (libuv 1.52, which
        # accepts one connection per poll) connects each before it accepts the next, unless
        # one poll reports the listener twice. So the handlers handed out and not yet
        # connected count too. `_settle`, scheduled with the first of a turn's handlers, runs
        # in the next turn ahead of their `connection_made`s; a handler made in that turn
        # comes from an accept that ran after them all, so it is made after they are
        # connected (callbacks run in the order scheduled, and I/O callbacks after those).
        connected = set(server.connections)
        opening = sum(1 for handler in self._opening if handler not in connected)
        if len(connected) + opening < self._bounds.max_connections:
            handler = server()
            self._opening.append(handler)
            if not self._settling:
                self._settling = True
                asyncio.get_running_loop().call_soon(self._settle)
            return handler
        self.refused += 1
        if self._report is None:
            # Reported when the minute since the last report is up, whether or not another
            # connection is refused by then: a flood followed by quiet is counted too.
            due = max(0.0, self._reported_at + SUMMARY_EVERY - time.monotonic())
            self._report = asyncio.get_running_loop().call_later(due, self._report_refused)
        return _Refused()

    def _settle(self) -> None:
        self._opening.clear()
        self._settling = False

    def _report_refused(self) -> None:
        self._report = None
        log.warning(
            "%s: %d connection(s) over the cap of %d refused in the last minute",
            self.name,
            self.refused,
            self._bounds.max_connections,
        )
        self.refused, self._reported_at = 0, time.monotonic()

    async def stop(self) -> None:
        """Stop listening; refusals not yet reported are reported now."""
        if self._report is not None:
            self._report.cancel()
            self._report_refused()
        await super().stop()


class BoundedServer:
    """Serves an application (made by `bounded_app`) on host:port within `bounds`."""

    def __init__(self, app: web.Application, host: str, port: int, bounds: Bounds) -> None:
        self.app, self.host, self.port, self.bounds = app, host, port, bounds
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen."""
        self._runner = web.AppRunner(self.app, **self.bounds.runner_options())
        await self._runner.setup()
        await BoundedSite(self._runner, self.host, self.port, self.bounds).start()

    async def stop(self) -> None:
        """Stop listening and close every connection."""
        if self._runner is not None:
            await self._runner.cleanup()
