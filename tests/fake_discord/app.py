"""A fake Discord that the unchanged discord.py client talks to over real HTTP and websockets.

REST lives under /api/v10, the gateway at /gateway (several sessions at once, one per shard if
the bot shards: gateway.py), files at /attachments. Every request is
recorded; every JSON body is checked against Discord's OpenAPI description (see contract.py),
synced commands also against the naming and localisation rules it leaves out
(command_rules.py), and a body real Discord would refuse is refused here too (400, code 50035)
and kept in
`violations`, which the test fixtures turn into a failure. Anything the fake does not know is
answered 404 JSON and kept in `unhandled`.

Outages for start-up tests: a fake made with a `port` and not yet started is a Discord that
cannot be reached and comes up later (`start()`); `refuse_gateway` answers the websocket
handshake 503.

`FakeDiscord` is one object to tests; its parts are mixins over one state (state.py): the REST
routes (rest.py, interactions.py), the gateway (gateway.py) and what tests call (driver.py).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fake_discord.driver import Driver
from tests.fake_discord.gateway import Gateway
from tests.fake_discord.interactions import InteractionRoutes
from tests.fake_discord.limits import Verdict, refusal_headers
from tests.fake_discord.responses import API, error, form_error, rate_limited
from tests.fake_discord.rest import RestRoutes
from tests.fake_discord.state import RECORD, Recorded
from tests.fake_discord.world import TOKEN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeDiscord(Driver, InteractionRoutes, RestRoutes, Gateway):
    """Two guilds, their members and channels, the REST API, the gateway (sharded when the
    bot asks), and test helpers."""

    def __init__(
        self, *, heartbeat_ms: int = 41_250, check_contract: bool = True, port: int = 0
    ) -> None:
        super().__init__(heartbeat_ms=heartbeat_ms, check_contract=check_contract)
        self._runner: web.AppRunner | None = None
        # A fixed port (tests.helpers.ports.reserved_port) gives the URLs before the fake is up,
        # so a bot can be started against a Discord that comes up later.
        self.port = port
        if port:
            self.base_url = f"http://127.0.0.1:{port}"
        self.app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        self._add_interaction_routes(self.app.router)
        self._add_rest_routes(self.app.router)
        self.app.router.add_get("/gateway", self._gateway)
        self.app.router.add_get(f"{API}/gateway/bot", self._gateway_bot)
        self.app.router.add_route("*", "/{tail:.*}", self._unknown)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on loopback: on `port`, or a free port."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        """Close the gateway sessions and stop listening."""
        for session in self.sessions:
            if session.ws is not None:
                await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """What DISCORD_API_BASE_URL should be."""
        return f"{self.base_url}{API}"

    # --- recording and the contract ---------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record a REST request, then refuse it as Discord would (429 when a test asked for
        one or, with `limits` on, past a rate limit; 400 for a body breaking the contract; 401
        without the token) or hand it on."""
        if not request.path.startswith(API):
            return await handler(request)
        path = request.path.removeprefix(API)
        body, files = await _read_body(request)
        record = Recorded(request.method, path, dict(request.query), body, files)
        request[RECORD] = record
        self.requests.append(record)
        for limit in list(self.rate_limits):
            method, pattern, retry_after, is_global = limit
            if method == request.method and pattern.search(path):
                self.rate_limits.remove(limit)
                record.status = 429
                if is_global:
                    gate = Verdict({}, True, retry_after, is_global=True, key="global")
                    return rate_limited(retry_after, refusal_headers(gate), is_global=True)
                return rate_limited(retry_after)
        verdict = self.limits.check(request.method, path)
        if verdict is not None and verdict.refused:
            record.status = 429
            headers = refusal_headers(verdict)
            return rate_limited(verdict.retry_after, headers, is_global=verdict.is_global)
        if self.contract is not None and body is not None:
            found = self.contract.check(request.method, path, body)
            if found:
                self.violations.extend(found)
                record.status = 400
                return form_error({v.message.split(":")[0]: v.message for v in found})
        # Interaction callbacks and webhooks are authorized by their token in the path.
        token_in_path = path.startswith(("/interactions/", "/webhooks/"))
        if not token_in_path and request.headers.get("Authorization") != f"Bot {TOKEN}":
            record.status = 401
            return error(401, 0, "401: Unauthorized")
        response = await handler(request)
        record.status = response.status
        record.answered_at = time.monotonic()
        if verdict is not None:
            response.headers.update(verdict.headers)
        return response

    async def _unknown(self, request: web.Request) -> web.Response:
        self.unhandled.append(f"{request.method} {request.path}")
        return error(404, 0, "404: Not Found")


async def _read_body(request: web.Request) -> tuple[Any, list[tuple[str, bytes]]]:
    """The JSON body (of a multipart request: its payload_json) and any uploaded files."""
    if not request.can_read_body:
        return None, []
    if request.content_type.startswith("multipart/"):
        body: Any = None
        files: list[tuple[str, bytes]] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read()
            if part.name == "payload_json":
                body = json.loads(data)
            else:
                files.append((part.filename or part.name or "file", bytes(data)))
        return body, files
    raw = await request.read()
    return (json.loads(raw) if raw else None), []


@contextlib.asynccontextmanager
async def running_fake_discord(
    *, heartbeat_ms: int = 41_250, check_contract: bool = True, port: int = 0
) -> AsyncIterator[FakeDiscord]:
    """A started fake Discord, stopped at the end of the block."""
    fake = FakeDiscord(heartbeat_ms=heartbeat_ms, check_contract=check_contract, port=port)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
