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

Before this folder, those files went to the system's temporary folder (`pika-video-*.mp4`,
`pika-probe-*`), and a killed process's stayed there for ever. A start-up removes the bot's own
ones there too (`sweep_system_temp`): by those names only, never following a link, and only
when untouched for `STALE_SECONDS`, far longer than any download or probe takes, since a living
process of an older version on the host may still be writing one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bot.storage import FOLDER_MODE

if sys.platform != "win32":
    import fcntl

log = logging.getLogger(__name__)

SCRATCH = "tmp"  # under DATA_DIR
# The bot's own temporary files in the system's temporary folder, as earlier versions named them
# (`tempfile.mkstemp(prefix="pika-video-", suffix=".mp4")`, `TemporaryDirectory("pika-probe-")`).
SYSTEM_TEMP_FILES = ("pika-video-*.mp4",)
SYSTEM_TEMP_FOLDERS = ("pika-probe-*",)
# Untouched this long, one is a dead process's: a download takes two minutes at most, a probe 30 s.
STALE_SECONDS = 24 * 3600.0
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


def sweep_system_temp(folder: Path | None = None, now: float | None = None) -> int:
    """Remove the bot's own temporary files and folders that dead processes left in the
    system's temporary folder (`folder`), untouched for `STALE_SECONDS`; return how many went."""
    folder = folder if folder is not None else Path(tempfile.gettempdir())
    oldest = (time.time() if now is None else now) - STALE_SECONDS
    removed = 0
    for pattern, is_folder in [(p, False) for p in SYSTEM_TEMP_FILES] + [
        (p, True) for p in SYSTEM_TEMP_FOLDERS
    ]:
        for path in folder.glob(pattern):
            try:
                if _last_touched(path, is_folder) >= oldest:
                    continue
                if is_folder:
                    shutil.rmtree(path)
                else:
                    path.unlink()
            except (OSError, _NotOurs):  # another user's, a link, gone meanwhile: left
                continue
            removed += 1
    return removed


class _NotOurs(Exception):
    """A path of the bot's names that is not a file or folder this process may sweep."""


def _last_touched(path: Path, is_folder: bool) -> float:
    """When `path` (and, for a folder, what it holds) was last written. Raises _NotOurs for a
    link, a path of the other kind, or another user's."""
    found = path.lstat()
    kind = stat.S_ISDIR if is_folder else stat.S_ISREG
    if not kind(found.st_mode) or (hasattr(os, "getuid") and found.st_uid != os.getuid()):
        raise _NotOurs(path)
    touched = found.st_mtime
    if is_folder:
        for entry in os.scandir(path):
            touched = max(touched, entry.stat(follow_symlinks=False).st_mtime)
    return touched


@contextlib.contextmanager
def own_scratch(files_dir: Path, system_temp: Path | None = None) -> Iterator[Path]:
    """This process's folder for temporary files, under `files_dir`, held for the block; what
    dead processes left there, and the bot's stale files in the system's temporary folder
    (`system_temp`: by default the system's), are removed first, and this one's when the block
    ends."""
    stale = sweep_system_temp(system_temp)
    if stale:
        log.info(
            "Removed %d temporary file(s) of the bot older than %g hours from %s",
            stale,
            STALE_SECONDS / 3600,
            system_temp or tempfile.gettempdir(),
        )
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
