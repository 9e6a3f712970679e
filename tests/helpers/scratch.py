"""Other bot processes' folders of temporary files (`bot/scratch.py`): one whose process lives
on, and one whose process was killed with a download under way."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A process that takes its folder as the bot does, writes a download's file in it and waits.
HOLDER = """
import sys, time
from pathlib import Path
from bot.scratch import own_scratch
with own_scratch(Path(sys.argv[1])) as folder:
    (folder / "pika-video-half.mp4").write_bytes(b"half a video")
    print(folder, flush=True)
    time.sleep(600)
"""


@contextlib.asynccontextmanager
async def holding(files_dir: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """A living process holding its folder under `files_dir`, with a file in it; killed when the
    block ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLDER,
        str(files_dir),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        folder = Path(line.decode().strip())
        assert folder.is_dir(), line
        yield process, folder
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def left_by_a_killed_process(files_dir: Path) -> Path:
    """The folder, and its half-written file, of a process killed (SIGKILL) under `files_dir`."""
    async with holding(files_dir) as (process, folder):
        process.kill()
        await process.wait()
    assert (folder / "pika-video-half.mp4").exists()
    return folder
