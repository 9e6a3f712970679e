"""Fixtures: a local Pika on a loopback port, a client for it, and a server for input media."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.pika.client import PikaClient
from bot.pika.local.app import LocalPika, running_local_pika
from bot.pika.models import JobState
from bot.safe_fetch import AllowedHost
from tests.helpers.origins import origin_of


class MediaServer:
    """Serves files put into it, as a CDN would; anything else is 404."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.asked: list[str] = []  # every name asked for, in order
        self.gates: dict[str, asyncio.Event] = {}  # names whose answer waits for their event
        self.base_url = ""
        self.app = web.Application()
        self.app.router.add_get("/{name}", self._serve)

    async def _serve(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.asked.append(name)
        if name in self.gates:
            await self.gates[name].wait()
        if name not in self.files:
            raise web.HTTPNotFound()
        body, content_type = self.files[name]
        return web.Response(body=body, content_type=content_type)

    def put(self, name: str, body: bytes, content_type: str) -> str:
        """Serve `body` at /name and return its URL."""
        self.files[name] = (body, content_type)
        return f"{self.base_url}/{name}"

    @property
    def origin(self) -> AllowedHost:
        """This server's host:port, to allow a local Pika to fetch from it."""
        return origin_of(self.base_url)

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[MediaServer]:
        """Serve on a free loopback port until the block ends."""
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield self
        finally:
            for gate in self.gates.values():
                gate.set()
            await runner.cleanup()


@pytest.fixture
async def media() -> AsyncIterator[MediaServer]:
    async with MediaServer().serving() as server:
        yield server


@pytest.fixture
async def local(media: MediaServer) -> AsyncIterator[LocalPika]:
    """A local Pika that may fetch from the media server (on loopback, so allowed by name)."""
    async with running_local_pika(job_seconds=0, allowed_hosts=[media.origin]) as pika:
        yield pika


@pytest.fixture
async def client(local: LocalPika) -> AsyncIterator[PikaClient]:
    async with PikaClient(local.api_key, local.base_url, backoff_base=0.01) as c:
        yield c


async def finish(client: PikaClient, job_id: str, *, upscale_of: str | None = None) -> JobState:
    """Poll until the job is final (30 s at most)."""
    for _ in range(600):
        answer = await (
            client.get_upscale_job(upscale_of) if upscale_of else client.get_job(job_id)
        )
        state = answer.state(job_id)
        if state.status.is_final:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


async def download(url: str) -> bytes:
    """GET a URL's bytes."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(url)
        response.raise_for_status()
        return response.content
