"""Temporary files: in a folder of the process's own, and what dead processes left removed at
start-up, never a living process's."""

from __future__ import annotations

import os
from pathlib import Path

from bot.scratch import own_scratch
from tests.helpers.scratch import holding, left_by_a_killed_process


async def test_a_killed_processs_files_go_at_start_up_and_a_living_ones_stay(
    tmp_path: Path,
) -> None:
    async with holding(tmp_path) as (_, living):
        dead = await left_by_a_killed_process(tmp_path)  # after: a start-up sweeps the dead
        with own_scratch(tmp_path) as mine:
            assert not dead.exists()
            assert (living / "pika-video-half.mp4").read_bytes() == b"half a video"
            assert mine.parent == dead.parent and mine.name.startswith(f"{os.getpid()}-")
            (mine / "pika-video-x.mp4").write_bytes(b"x")
            # Another start-up on the host while this process lives leaves its files too.
            with own_scratch(tmp_path) as another:
                assert another != mine and (mine / "pika-video-x.mp4").exists()
            assert not another.exists()  # a clean stop takes its folder with it
        assert not mine.exists()
        assert (living / "pika-video-half.mp4").exists()
