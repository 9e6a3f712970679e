"""Temporary files: in a folder of the process's own, and what dead processes left removed at
start-up, never a living process's."""

from __future__ import annotations

import os
import time
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


def test_the_bots_stale_files_in_the_systems_temporary_folder_go_at_start_up(
    tmp_path: Path,
) -> None:
    # Earlier versions wrote downloads and probes in the system's temporary folder: a process
    # killed midway left them there for ever.
    system, elsewhere = tmp_path / "tmp", tmp_path / "elsewhere"
    system.mkdir()
    elsewhere.mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600

    def made(path: Path, data: bytes = b"half a video", *, old: bool = True) -> Path:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        if old:
            os.utime(path, (two_days_ago, two_days_ago))
        return path

    dead_video = made(system / "pika-video-a1b2.mp4")
    dead_probe = made(system / "pika-probe-c3d4" / "fox.png").parent
    os.utime(dead_probe, (two_days_ago, two_days_ago))
    living_video = made(system / "pika-video-e5f6.mp4", old=False)  # being written now
    living_probe = made(system / "pika-probe-g7h8" / "old.png").parent
    made(living_probe / "new.png", old=False)  # a living probe's folder: a file written now
    os.utime(living_probe, (two_days_ago, two_days_ago))
    others = [
        made(system / "pika-video-notes.txt"),  # not a name of the bot's files
        made(system / "someone-video-1.mp4"),
        made(system / "pika-local-1" / "video.mp4"),
    ]
    target = made(elsewhere / "precious.mp4")
    link = system / "pika-video-link.mp4"
    link.symlink_to(target)
    os.utime(link, (two_days_ago, two_days_ago), follow_symlinks=False)
    with own_scratch(tmp_path / "data", system_temp=system):
        assert not dead_video.exists() and not dead_probe.exists()
        assert living_video.exists() and (living_probe / "old.png").exists()
        assert all(other.exists() for other in others)
        assert link.is_symlink() and target.read_bytes() == b"half a video"
