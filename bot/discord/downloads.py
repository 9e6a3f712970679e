"""A result's file fetched for upload: Pika's link, through the safe fetcher, streamed to a
temporary file within the channel's upload limit, removed when done."""

from __future__ import annotations

import contextlib
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
    with tempfile.TemporaryDirectory(prefix="pika-video-") as folder:
        path = Path(folder) / "video.mp4"
        try:
            await fetcher.download(url, path, "the video", limit)
        except FetchTooLarge:
            raise TooLarge from None
        yield path
