"""A result's file fetched for upload: Pika's link, through the safe fetcher, streamed to a
temporary file within the channel's upload limit, removed when done."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from bot.safe_fetch import FetchTooLarge, SafeFetcher


class TooLarge(Exception):
    """The video is over the channel's upload limit."""


@contextlib.asynccontextmanager
async def downloaded(fetcher: SafeFetcher, url: str, limit: int) -> AsyncIterator[Path]:
    """Fetch `url` (Pika's result link, through the safe fetcher) to a temporary file; raise
    TooLarge past `limit` bytes."""
    # One file, not a folder: a burst of results makes and removes hundreds of them.
    handle, name = tempfile.mkstemp(prefix="pika-video-", suffix=".mp4")
    os.close(handle)
    try:
        try:
            await fetcher.download(url, Path(name), "the video", limit)
        except FetchTooLarge:
            raise TooLarge from None
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
