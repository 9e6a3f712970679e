"""The bounded inbound server: slow heads and bodies are cut, bodies capped, connections capped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.bounded_site import BoundedServer, Bounds, bounded_app
from tests.helpers.ports import reserved_port

BOUNDS = Bounds(header_seconds=0.5, body_seconds=0.5, max_body=1000, max_connections=4)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app = bounded_app(BOUNDS)
    app.router.add_post("/echo", echo)
    port = reserved_port()
    running = BoundedServer(app, "127.0.0.1", port, BOUNDS)
    await running.start()
    yield f"127.0.0.1:{port}"
    await running.stop()


async def closed(reader: asyncio.StreamReader) -> bytes:
    try:
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        return b""


async def test_a_request_within_bounds_is_answered_and_the_connection_closed(server: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://{server}/echo", content=b"hello")
    assert answer.status_code == 200 and answer.text == "hello"
    assert answer.headers.get("Connection", "").lower() == "close"


async def test_bodies_over_the_cap_are_refused(server: str) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"http://{server}/echo", content=b"x" * 5000)
    assert answer.status_code == 413


async def test_silent_trickling_and_slow_body_clients_are_dropped(server: str) -> None:
    host, port = server.split(":")
    silent = await asyncio.open_connection(host, int(port))
    trickle = await asyncio.open_connection(host, int(port))
    trickle[1].write(b"POST /echo HTTP/1.1\r\nHost: x\r\n")
    slow = await asyncio.open_connection(host, int(port))
    slow[1].write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    started = asyncio.get_running_loop().time()
    assert await closed(silent[0]) == b""
    assert await closed(trickle[0]) == b""
    assert b"408" in await closed(slow[0])
    assert asyncio.get_running_loop().time() - started < 3


async def test_connections_over_the_cap_are_closed_at_once(server: str) -> None:
    host, port = server.split(":")
    held = [await asyncio.open_connection(host, int(port)) for _ in range(4)]
    extra = await asyncio.open_connection(host, int(port))
    assert await asyncio.wait_for(closed(extra[0]), 0.4) == b""  # before the header timeout
    for _, writer in held:
        writer.close()
