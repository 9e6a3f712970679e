"""The bounded inbound server: slow heads and bodies are cut, bodies capped, connections capped."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot import bounded_site
from bot.bounded_site import BoundedServer, BoundedSite, Bounds, bounded_app
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


# Held connections stay open (silent) until the header time-out: long enough to count them.
PATIENT = Bounds(header_seconds=5, max_connections=4)


@contextlib.asynccontextmanager
async def patient_server() -> AsyncIterator[tuple[int, web.AppRunner]]:
    """A server (as bot/ops/server.py makes one) on its port, and its runner to watch it."""
    runner = web.AppRunner(bounded_app(PATIENT), **PATIENT.runner_options())
    await runner.setup()
    await BoundedSite(runner, "127.0.0.1", port := reserved_port(), PATIENT).start()
    try:
        yield port, runner
    finally:
        await runner.cleanup()


async def all_closed(runner: web.AppRunner) -> None:
    """Wait (5 s at most) until the server has seen every connection it held closed."""
    assert runner.server is not None
    for _ in range(500):
        if not runner.server.connections:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"still held: {len(runner.server.connections)}")


async def held_open(port: int, count: int) -> int:
    """Open `count` connections at once; how many the server keeps open once those it refuses
    are closed (it closes them at once; give it 2 s on a busy machine)."""
    connections = await asyncio.gather(
        *(asyncio.open_connection("127.0.0.1", port) for _ in range(count))
    )

    def open_now() -> int:
        return sum(1 for reader, _ in connections if not reader.at_eof() and not reader.exception())

    for _ in range(100):
        if open_now() <= PATIENT.max_connections:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # any late close counts too
    held = open_now()
    for _, writer in connections:
        writer.close()
    return held


async def test_a_burst_of_connections_is_held_to_the_cap() -> None:
    # asyncio's loop (pytest's) makes a burst's handlers before it connects any of them.
    async with patient_server() as (port, _):
        assert await held_open(port, 20) == PATIENT.max_connections


async def test_a_burst_of_as_many_connections_as_the_cap_is_served_whole() -> None:
    async with patient_server() as (port, _):
        assert await held_open(port, PATIENT.max_connections) == PATIENT.max_connections


def test_a_burst_of_connections_is_held_to_the_cap_on_uvloop_too() -> None:
    uvloop = pytest.importorskip("uvloop")  # not on Windows, where it has no build

    async def bursts() -> tuple[int, int]:
        async with patient_server() as (port, runner):
            over = await held_open(port, 20)
            await all_closed(runner)
            return over, await held_open(port, PATIENT.max_connections)

    assert uvloop.run(bursts()) == (PATIENT.max_connections, PATIENT.max_connections)


async def test_refusals_are_logged_within_the_minute_even_when_none_follow(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A flood followed by quiet was never logged: the count only went out with a refusal a
    # minute after the last report.
    monkeypatch.setattr(bounded_site, "SUMMARY_EVERY", 0.3)
    caplog.set_level(logging.WARNING, logger=bounded_site.__name__)

    def reports() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == bounded_site.__name__]

    def reported() -> int:
        counts = [r.args[1] for r in reports() if isinstance(r.args, tuple)]
        return sum(count for count in counts if isinstance(count, int))

    async with patient_server() as (port, _):
        assert await held_open(port, PATIENT.max_connections + 3) == PATIENT.max_connections
        for _ in range(500):  # 5 s at most
            if reported() >= 3:
                break
            await asyncio.sleep(0.01)
    assert reported() == 3
    times = [r.created for r in reports()]
    assert all(later - earlier >= 0.29 for earlier, later in itertools.pairwise(times))


async def test_refusals_not_yet_logged_are_logged_when_the_server_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=bounded_site.__name__)
    async with patient_server() as (port, _):
        assert await held_open(port, PATIENT.max_connections + 2) == PATIENT.max_connections
        assert not [r for r in caplog.records if r.name == bounded_site.__name__]  # a minute
    (report,) = [r for r in caplog.records if r.name == bounded_site.__name__]
    assert isinstance(report.args, tuple) and report.args[1] == 2
