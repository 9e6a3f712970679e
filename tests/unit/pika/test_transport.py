"""The bot's transport (httpx over aiohttp) names each fault by whether the request left, and the
paid call acts on it: retried when nothing was sent, never when the outcome is unknown."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.pika.answers import MAX_ANSWER_BYTES
from bot.pika.client import READ_ATTEMPTS, PikaClient
from bot.pika.errors import PikaBadResponse, PikaOutcomeUnknown, PikaServerError
from bot.pika.transport import shared_http_client
from tests.helpers.ports import reserved_port
from tests.helpers.requests import fox

CREATED = {"job": {"id": "job-1"}, "video": {"jobId": "job-1"}}


class Server:
    """A Pika stand-in whose answers a test chooses: 'ok', 'lost', 'slow' or 'cut'."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received = 0
        self.url = ""
        self.cookies: list[str | None] = []  # the Cookie header of each request

    async def job(self, request: web.Request) -> web.StreamResponse:
        self.cookies.append(request.headers.get("Cookie"))
        answer = web.json_response({"id": "job-1", "status": "pending"})
        answer.set_cookie("session", "tracked")  # a cookie the bot has no use for
        return answer

    async def create(self, request: web.Request) -> web.StreamResponse:
        self.received += 1
        await request.read()
        if self.mode == "lost" and request.transport is not None:
            request.transport.abort()  # the request arrived; its answer never leaves
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "cut":
            answer = web.StreamResponse(headers={"Content-Length": "1000"})
            await answer.prepare(request)
            await answer.write(b'{"job": ')
            if request.transport is not None:
                request.transport.abort()
            return answer
        return web.json_response(CREATED)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    stand_in = Server()
    app = web.Application()
    app.router.add_post("/web/generate", stand_in.create)
    app.router.add_get("/web/jobs/{id}", stand_in.job)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stand_in.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield stand_in
    await runner.cleanup()


@pytest.mark.parametrize(
    ("mode", "fault"),
    [("lost", httpx.ReadError), ("slow", httpx.ReadTimeout), ("cut", httpx.ReadError)],
)
async def test_a_fault_after_the_request_left_is_named_as_such(
    server: Server, mode: str, fault: type[Exception]
) -> None:
    server.mode = mode
    async with shared_http_client(timeout=0.5) as http:
        with pytest.raises(fault):
            await http.post(f"{server.url}/web/generate", json={})


async def test_a_refused_connection_is_named_as_nothing_sent() -> None:
    async with shared_http_client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(f"http://127.0.0.1:{reserved_port()}/web/generate", json={})


@pytest.mark.parametrize("mode", ["lost", "cut"])
async def test_a_paid_call_whose_answer_is_lost_is_sent_once(server: Server, mode: str) -> None:
    server.mode = mode
    async with shared_http_client() as http:
        client = PikaClient("k", server.url, http=http, backoff_base=0.01)
        with pytest.raises(PikaOutcomeUnknown):
            await client.generate(fox())
    assert server.received == 1


async def test_a_paid_call_that_cannot_connect_is_tried_again() -> None:
    async with shared_http_client() as http:
        client = PikaClient(
            "k", f"http://127.0.0.1:{reserved_port()}", http=http, max_attempts=3, backoff_base=0.01
        )
        with pytest.raises(PikaServerError, match="could not be reached"):
            await client.generate(fox())


async def test_an_answer_comes_through(server: Server) -> None:
    async with shared_http_client() as http:
        client = PikaClient("k", server.url, http=http)
        assert (await client.generate(fox())).job_id == "job-1"


async def test_the_client_keeps_no_cookie_from_one_call_to_the_next(server: Server) -> None:
    async with shared_http_client() as http:
        for _ in range(2):
            answer = await http.get(f"{server.url}/web/jobs/job-1")
            assert answer.status_code == 200
        http.cookies = {"given": "too"}
        await http.get(f"{server.url}/web/jobs/job-1")
        assert not http.cookies
    assert server.cookies == [None, None, None]


# --- answers that are hostile in their bytes --------------------------------------------------


class Hostile:
    """A Pika stand-in whose every answer is hostile in one way: 'drip' (one byte at a time,
    each well within the read time-out, never ending), 'endless' (bytes as fast as they go),
    'bomb' (a small gzip body that undoes to far more than any answer; 'x-gzip bomb' names it by
    gzip's old name), 'broken gzip', or
    'nested' (JSON nested deeper than Python's parser goes)."""

    def __init__(self) -> None:
        self.mode = "drip"
        self.received = 0
        self.sent = 0  # bytes of the answer's body written
        self.url = ""

    async def answer(self, request: web.Request) -> web.StreamResponse:
        self.received += 1
        await request.read()
        if self.mode == "broken gzip":
            return web.Response(
                body=b"this is not gzip" * 10,
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            )
        if self.mode in ("bomb", "x-gzip bomb"):
            pad = b" " * 50_000_000
            squeezed = gzip.compress(b'{"job": {"id": "job-1"}, "pad": "' + pad + b'"}')
            coding = "x-gzip" if self.mode == "x-gzip bomb" else "gzip"  # gzip's old name
            return web.Response(
                body=squeezed,
                headers={"Content-Encoding": coding, "Content-Type": "application/json"},
            )
        if self.mode == "nested":
            return web.Response(body=b"[" * 200_000, content_type="application/json")
        answer = web.StreamResponse(headers={"Content-Type": "application/json"})
        await answer.prepare(request)
        await answer.write(b'{"job": {"id": "job-1"}, "pad": "')
        piece = b" " if self.mode == "drip" else b" " * 65536
        with contextlib.suppress(ConnectionError):
            while True:
                await answer.write(piece)
                self.sent += len(piece)
                await asyncio.sleep(0.05 if self.mode == "drip" else 0)
        return answer


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    stand_in = Hostile()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", stand_in.answer)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stand_in.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield stand_in
    await runner.cleanup()


async def test_an_answer_that_drips_is_cut_off_by_the_calls_time_limit(hostile: Hostile) -> None:
    # Each byte comes well within the read time-out: only a limit on the whole call ends it.
    async with shared_http_client(timeout=0.5) as http:
        client = PikaClient(
            "k", hostile.url, http=http, timeout=0.5, call_timeout=1.0, backoff_base=0.01
        )
        async with asyncio.timeout(15):
            with pytest.raises(PikaServerError):
                await client.get_job("job-1")
            with pytest.raises(PikaOutcomeUnknown):  # sent: never sent again
                await client.generate(fox())
    assert hostile.received == READ_ATTEMPTS + 1


@pytest.mark.parametrize("mode", ["endless", "bomb", "x-gzip bomb"])
async def test_an_answer_past_the_size_cap_is_refused_not_read_whole(
    hostile: Hostile, mode: str
) -> None:
    hostile.mode = mode
    async with shared_http_client() as http:
        client = PikaClient("k", hostile.url, http=http, backoff_base=0.01)
        async with asyncio.timeout(15):
            with pytest.raises(PikaBadResponse, match="too large"):
                await client.get_job("job-1")
            with pytest.raises(PikaOutcomeUnknown, match="could not read"):
                await client.generate(fox())
    assert hostile.sent < 16 * MAX_ANSWER_BYTES


@pytest.mark.parametrize("mode", ["broken gzip", "nested"])
async def test_an_answer_that_cannot_be_undone_or_parsed_is_a_bad_response(
    hostile: Hostile, mode: str
) -> None:
    hostile.mode = mode
    async with shared_http_client() as http:
        client = PikaClient("k", hostile.url, http=http, backoff_base=0.01)
        with pytest.raises(PikaBadResponse):
            await client.get_job("job-1")
        with pytest.raises(PikaOutcomeUnknown, match="could not read"):
            await client.generate(fox())
    assert hostile.received == 2
