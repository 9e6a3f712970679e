"""Small HTTP servers for tests: one handler on a free loopback port, and a body sent in pieces."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

PIECE = 1 << 16


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], path: str = "/{name}"
) -> AsyncIterator[str]:
    """`handler` answering GET `path` on a free loopback port, until the block ends; its base
    URL."""
    app = web.Application()
    app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def in_pieces(request: web.Request, body: bytes) -> web.StreamResponse:
    """`body` sent in pieces, each before the next is made (so a server in the test's own
    process adds no copy of it to the test's memory count)."""
    response = web.StreamResponse()
    await response.prepare(request)
    for at in range(0, len(body), PIECE):
        await response.write(body[at : at + PIECE])
    return response
