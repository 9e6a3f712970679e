"""Downloading a result: through the safe fetcher, capped, in memory within a budget or else in
a temporary file, and cleaned up."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.discord import downloads
from bot.discord.downloads import Budget, TooLarge, downloaded
from bot.safe_fetch import FetchError, SafeFetcher
from tests.helpers.origins import origin_of
from tests.helpers.web import serving


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

    async with serving(video, "/{size}.mp4") as base:
        yield base


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where downloads make their temporary files, watched by the test."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def uploaded(video: downloads.Spool) -> bytes:
    """What an upload of the download would send."""
    file = video.file("result.mp4")
    assert file.filename == "result.mp4"
    return bytes(file.fp.read())


async def test_a_small_video_is_kept_in_memory_and_its_budget_given_back(
    server: str, temp_dir: Path
) -> None:
    fetcher = SafeFetcher([origin_of(server)])
    budget = Budget(10_000)
    async with downloaded(fetcher, f"{server}/1000.mp4", 1000, budget) as video:
        assert video.read_bytes() == b"v" * 1000
        assert uploaded(video) == uploaded(video) == b"v" * 1000  # each upload gets its own
        assert list(temp_dir.iterdir()) == []  # no file made
        assert budget.free == 9000
    assert budget.free == 10_000
    await fetcher.aclose()


async def test_a_video_over_the_memory_share_goes_to_a_file_then_is_removed(
    server: str, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "IN_MEMORY_BYTES", 50_000)
    fetcher = SafeFetcher([origin_of(server)])
    budget = Budget(1_000_000)
    async with downloaded(fetcher, f"{server}/200000.mp4", 300_000, budget) as video:
        (made,) = temp_dir.iterdir()
        assert made.read_bytes() == b"v" * 200_000 == uploaded(video) == video.read_bytes()
        assert budget.free == 1_000_000  # what it held in memory before, given back
    assert list(temp_dir.iterdir()) == []
    await fetcher.aclose()


async def test_downloads_at_once_keep_no_more_in_memory_than_the_budget(
    server: str, temp_dir: Path
) -> None:
    fetcher = SafeFetcher([origin_of(server)])
    budget = Budget(150_000)
    async with (
        downloaded(fetcher, f"{server}/100000.mp4", 200_000, budget) as first,
        downloaded(fetcher, f"{server}/100000.mp4", 200_000, budget) as second,
    ):
        assert budget.free >= 0
        assert len(list(temp_dir.iterdir())) == 1  # the second did not fit: on disk
        assert first.read_bytes() == second.read_bytes() == b"v" * 100_000
    assert budget.free == 150_000 and list(temp_dir.iterdir()) == []
    await fetcher.aclose()


async def test_a_video_over_the_limit_stops_the_download(server: str, temp_dir: Path) -> None:
    fetcher = SafeFetcher([origin_of(server)])
    budget = Budget(1_000_000)
    with pytest.raises(TooLarge):
        async with downloaded(fetcher, f"{server}/200000.mp4", 100_000, budget):
            pass
    assert budget.free == 1_000_000 and list(temp_dir.iterdir()) == []
    await fetcher.aclose()


async def test_a_result_link_to_a_private_address_is_not_downloaded(server: str) -> None:
    fetcher = SafeFetcher()  # the server is on loopback, and not allowed
    with pytest.raises(FetchError):
        async with downloaded(fetcher, f"{server}/1000.mp4", 1000):
            pass
    await fetcher.aclose()


def test_a_download_too_large_for_memory_is_written_in_the_folder_given(tmp_path: Path) -> None:
    # The process's own (bot/scratch.py), whose leftovers a start-up after a crash removes.
    spool = downloads.Spool(Budget(0), tmp_path)  # no memory to spare: to a file at once
    spool.write(b"v" * (downloads.IN_MEMORY_BYTES + 1))
    spool.finish()
    assert spool.path is not None and spool.path.parent == tmp_path
    spool.close()
    assert list(tmp_path.iterdir()) == []
