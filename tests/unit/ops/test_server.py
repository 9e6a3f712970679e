"""The one HTTP server: health always, readiness by part, metrics, and the push route only when
push is on (answering 503 until the receiver exists); one body cap for every route."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

import httpx
import pytest
from aiohttp import web

from bot.ops.metrics import Metrics
from bot.ops.server import BOUNDS, HttpServer

T = TypeVar("T")


class Parts:
    def __init__(self) -> None:
        self.states = {"discord": "ok", "database": "ok", "pika": "ok"}

    async def __call__(self) -> Mapping[str, str]:
        return self.states


@pytest.fixture
async def served() -> AsyncIterator[tuple[HttpServer, Parts]]:
    parts = Parts()
    server = HttpServer("127.0.0.1", 0, metrics=Metrics(), ready_checks=parts, push=True)
    await server.start()
    yield server, parts
    await server.stop()


async def test_health_and_readiness(served: tuple[HttpServer, Parts]) -> None:
    server, parts = served
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        parts.states["pika"] = "unreachable: no answer (ConnectError)"
        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["pika"] == "unreachable: no answer (ConnectError)"
        metrics = (await http.get("/metrics")).text
    assert 'pika_bot_up{part="pika"} 0.0' in metrics
    assert 'pika_bot_up{part="discord"} 1.0' in metrics


async def test_the_push_route_waits_for_its_receiver_and_bodies_are_capped(
    served: tuple[HttpServer, Parts],
) -> None:
    server, _ = served
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post("/pika/webhook/abc", json={})).status_code == 503

        async def receiver(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response({"secret": request.match_info["secret"]})

        server.webhook = receiver
        assert (await http.post("/pika/webhook/abc", json={})).json() == {"secret": "abc"}
        huge = await http.post("/pika/webhook/abc", content=b"x" * (BOUNDS.max_body + 1))
        assert huge.status_code == 413


async def test_no_push_route_without_push_and_a_taken_port_is_an_os_error() -> None:
    first = HttpServer("127.0.0.1", 0, metrics=Metrics(), ready_checks=Parts())
    await first.start()
    try:
        async with httpx.AsyncClient(base_url=first.url) as http:
            assert (await http.post("/pika/webhook/abc", json={})).status_code == 404
        second = HttpServer("127.0.0.1", first.port, metrics=Metrics(), ready_checks=Parts())
        with pytest.raises(OSError):
            await second.start()
    finally:
        await first.stop()


class SlowParts(Parts):
    """Readiness checks that count their runs and take a while (a write to the database)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self.gate = asyncio.Event()

    async def __call__(self) -> Mapping[str, str]:
        self.runs += 1
        await self.gate.wait()
        return self.states


async def test_a_flood_of_probes_and_scrapes_costs_the_database_one_check_at_a_time() -> None:
    """The server answers whoever reaches it (Pika's pushes need it reachable): a burst of
    readiness probes or metrics scrapes must not become a burst of database statements beside
    the members' admissions."""
    parts, refreshes = SlowParts(), 0

    async def refresh() -> None:
        nonlocal refreshes
        refreshes += 1
        await parts.gate.wait()

    server = HttpServer(
        "127.0.0.1", 0, metrics=Metrics(), ready_checks=parts, refresh_metrics=refresh
    )
    arrived, all_in = 0, asyncio.Event()

    def counted(call: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        async def arrive() -> T:
            nonlocal arrived
            arrived += 1
            if arrived == 40:
                all_in.set()
            return await call()

        return arrive

    server.ready_checks = counted(server.ready_checks)
    assert server.refresh_metrics is not None
    server.refresh_metrics = counted(server.refresh_metrics)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            probes = [asyncio.ensure_future(http.get("/readyz")) for _ in range(20)]
            scrapes = [asyncio.ensure_future(http.get("/metrics")) for _ in range(20)]
            await asyncio.wait_for(all_in.wait(), 30)  # every request is being answered
            parts.gate.set()
            answers = await asyncio.gather(*probes, *scrapes)
            assert [a.status_code for a in answers] == [200] * 40
            assert all(a.json()["status"] == "ready" for a in answers[:20])
            assert (parts.runs, refreshes) == (1, 1)
            parts.states["pika"] = "unreachable"
            again = await http.get("/readyz")  # after the burst: checked afresh
            assert again.status_code == 503 and parts.runs == 2
    finally:
        await server.stop()
