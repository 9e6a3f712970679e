"""A result's file fetched for upload: Pika's link, through the safe fetcher, within the
channel's upload limit.

A file that fits its share of a memory budget is kept in memory: in a burst of results, making,
writing and removing a temporary file for each was a third of a download's CPU. A larger one, or
one fetched while the budget is spent, goes to a temporary file (the bytes read so far moved
there), removed when done, in the process's own folder (`bot/scratch.py`: what a process killed
midway leaves there is removed at the next start-up). So a burst of large videos holds at most
`MEMORY_BUDGET` in memory.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import discord

from bot.safe_fetch import FetchTooLarge, SafeFetcher

IN_MEMORY_BYTES = 8 * 1024 * 1024  # a file up to this size may be kept in memory
MEMORY_BUDGET = 64 * 1024 * 1024  # all files kept in memory at once


class TooLarge(Exception):
    """The video is over the channel's upload limit."""


class Budget:
    """Bytes that downloads may keep in memory, shared by all of them."""

    def __init__(self, total: int) -> None:
        self.free = total

    def reserve(self, wanted: int) -> int:
        """Take up to `wanted` bytes; return how many were taken (each given back with
        `release`)."""
        taken = max(0, min(wanted, self.free))
        self.free -= taken
        return taken

    def release(self, taken: int) -> None:
        self.free += taken


BUDGET = Budget(MEMORY_BUDGET)


class Spool:
    """A download's bytes: in memory while they stay within `IN_MEMORY_BYTES` and the budget
    grants them, chunk by chunk; then in a temporary file in `folder` (None: the system's)."""

    def __init__(self, budget: Budget, folder: Path | None = None) -> None:
        self._budget = budget
        self._folder = folder
        self._held = 0  # bytes in memory, taken from the budget
        self._chunks: list[bytes] = []
        self._file: BinaryIO | None = None
        self.path: Path | None = None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        """Add the next chunk (the safe fetcher's sink)."""
        self.size += len(chunk)
        if self._file is None and self.size <= IN_MEMORY_BYTES:
            taken = self._budget.reserve(len(chunk))
            self._held += taken
            if taken == len(chunk):
                self._chunks.append(chunk)
                return
        if self._file is None:
            # One file, not a folder: a burst of large results makes and removes many.
            handle, name = tempfile.mkstemp(prefix="pika-video-", suffix=".mp4", dir=self._folder)
            self.path = Path(name)
            self._file = os.fdopen(handle, "wb")
            for held in self._chunks:
                self._file.write(held)
            self._chunks = []
            self._budget.release(self._held)
            self._held = 0
        self._file.write(chunk)

    def finish(self) -> None:
        """All bytes are in: the file, if any, is complete on disk; in memory, they are
        joined once, for every upload attempt to share."""
        if self._file is not None:
            self._file.close()
        else:
            self._chunks = [b"".join(self._chunks)]

    def read_bytes(self) -> bytes:
        """The whole body."""
        return self.path.read_bytes() if self.path is not None else b"".join(self._chunks)

    def file(self, filename: str) -> discord.File:
        """The body as a file to upload (a new one each time: a File is spent by one request;
        a BytesIO shares the bytes it is given until it is written to)."""
        if self.path is not None:
            return discord.File(self.path, filename=filename)
        return discord.File(io.BytesIO(b"".join(self._chunks)), filename=filename)

    def close(self) -> None:
        """Let go of the bytes, and remove the temporary file."""
        self._chunks = []
        self._budget.release(self._held)
        self._held = 0
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


@contextlib.asynccontextmanager
async def downloaded(
    fetcher: SafeFetcher,
    url: str,
    limit: int,
    budget: Budget = BUDGET,
    folder: Path | None = None,
) -> AsyncIterator[Spool]:
    """Fetch `url` (Pika's result link, through the safe fetcher); raise TooLarge past `limit`
    bytes. A file too large for memory is written in `folder` (None: the system's)."""
    spool = Spool(budget, folder)
    try:
        try:
            await fetcher.read_into(url, "the video", limit, spool.write)
        except FetchTooLarge:
            raise TooLarge from None
        spool.finish()
        yield spool
    finally:
        spool.close()
