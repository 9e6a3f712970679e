"""The process's own folder for temporary files, and the start-up sweep of dead processes' ones.

A result download too large for memory (`bot/discord/downloads.py`) and a member's media being
probed (`bot/probe.py`) are written to temporary files, removed when done; a process killed
midway (SIGKILL, out of memory, the power cut) leaves them for ever, and a crash loop fills the
disk. So they go to a folder of this process's own, `<DATA_DIR>/tmp/<pid>-<random>`, which the
process holds locked (`flock` on the folder) for its whole life. The kernel lets go of a lock
when its process dies, however it dies, so at start-up a folder whose lock can be taken is a
dead process's, and is removed; a living process's (another bot on this host, or on another one
sharing DATA_DIR) stays locked, and stays. The pid in the name is for people reading the
folder: liveness is the lock's, since pids are reused, and mean nothing across containers.

Windows has no `flock`, nor have some network file systems: there, each process still has its
own folder, and nothing is swept (a living process's files must stay).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.storage import FOLDER_MODE

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

SCRATCH = "tmp"  # under DATA_DIR
ATTEMPTS = 5  # folders made in turn, should sweeps of other processes keep taking them


class CannotLock(OSError):
    """The file system of DATA_DIR does not lock (Windows, some network file systems)."""


def _locked(folder: Path) -> int | None:
    """Open `folder` and take its lock without waiting: the descriptor that holds it, or None
    when another process holds it (or the folder went); CannotLock where nothing locks."""
    if sys.platform == "win32":
        raise CannotLock("no flock on Windows")
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # held
        os.close(fd)
        return None
    except OSError as exc:
        os.close(fd)
        raise CannotLock(exc.errno, exc.strerror) from None
    return fd


def sweep(root: Path) -> int:
    """Remove the folders under `root` that no living process holds; return how many went.
    Raises CannotLock where nothing locks: then nothing is removed."""
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for folder in root.iterdir():
            if not folder.is_dir() or folder.is_symlink():
                continue
            fd = _locked(folder)
            if fd is None:  # a living process's
                continue
            try:
                shutil.rmtree(folder, ignore_errors=True)
            finally:
                os.close(fd)
            removed += 1
    return removed


@contextlib.contextmanager
def own_scratch(files_dir: Path) -> Iterator[Path]:
    """This process's folder for temporary files, under `files_dir`, held for the block; what
    dead processes left there is removed first, and this one's when the block ends."""
    root = files_dir / SCRATCH
    root.mkdir(FOLDER_MODE, parents=True, exist_ok=True)
    try:
        removed = sweep(root)
    except CannotLock as exc:
        log.warning(
            "Temporary files that stopped processes left in %s are not removed at start-up: "
            "its file system cannot lock them (%s)",
            root,
            exc.strerror or exc,
        )
    else:
        if removed:
            log.info("Removed the temporary files of %d stopped process(es) in %s", removed, root)
    folder, fd = _make(root)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if fd is not None:
            os.close(fd)


def _make(root: Path) -> tuple[Path, int | None]:
    """A new folder under `root`, locked: another process's sweep may take a folder between its
    making and its lock (it is not locked yet), so the lock is checked to be on the folder
    still there, else another is made."""
    for _ in range(ATTEMPTS):
        folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
        try:
            fd = _locked(folder)
        except CannotLock:  # never swept either: it is as safe unlocked
            return folder, None
        if fd is None:
            continue
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(folder))
        except OSError:
            same = False
        if same:
            return folder, fd
        os.close(fd)
    raise OSError(f"could not keep a folder of this process's own in {root}")
