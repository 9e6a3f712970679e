"""Downloading a result: through the safe fetcher, streamed to a temporary file, capped, and
cleaned up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.discord.downloads import TooLarge, downloaded
from bot.safe_fetch import FetchError, SafeFetcher
from tests.helpers.origins import origin_of


@pytest.fixture
async def server() -> AsyncIterator[str]:
    async def video(request: web.Request) -> web.StreamResponse:
        size = int(request.match_info["size"])
        response = web.StreamResponse()
        response.enable_chunked_encoding()  # no Content-Length: the cap must count bytes
        await response.prepare(request)
        await response.write(b"v" * size)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/{size}.mp4", video)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_a_video_within_the_limit_is_saved_then_removed(server: str) -> None:
    fetcher = SafeFetcher([origin_of(server)])
    async with downloaded(fetcher, f"{server}/1000.mp4", 1000) as path:
        assert path.read_bytes() == b"v" * 1000
        saved = Path(path)
    assert not saved.exists()
    await fetcher.aclose()


async def test_a_video_over_the_limit_stops_the_download(server: str) -> None:
    fetcher = SafeFetcher([origin_of(server)])
    with pytest.raises(TooLarge):
        async with downloaded(fetcher, f"{server}/200000.mp4", 100_000):
            pass
    await fetcher.aclose()


async def test_a_result_link_to_a_private_address_is_not_downloaded(server: str) -> None:
    fetcher = SafeFetcher()  # the server is on loopback, and not allowed
    with pytest.raises(FetchError):
        async with downloaded(fetcher, f"{server}/1000.mp4", 1000):
            pass
    await fetcher.aclose()
