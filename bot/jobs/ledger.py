"""The ledger of Pika's answers, written ahead of the database: a job id Pika gave is never lost.

When Pika accepts a paid call, the bot appends one line (our job id, Pika's job id, when) to a
small file (in DATA_DIR: beside a SQLite database by default) before it writes the same to the
database. If that write fails (the database locked, the disk full), `JobService` retries it
until it succeeds; if the process dies first, the process that takes over its jobs (itself
restarted, or another sharing the database and the folder) reads the ledger and resumes the job
the database still has in `sending` with the id Pika gave, instead of treating it as an unknown
outcome.

Each process writes a ledger of its own (`<database>-accepted-<process id>.jsonl`, the id random
for each start), so that no process ever empties lines another one still needs; a process that
settles a job reads every ledger in its folder, and removes those of processes that stopped once
none of their lines is needed (`JobService.tidy_ledgers`).

A line is written with one `write` on a file opened for appending and is in the operating
system's hands when `write` returns: it survives a crash of the process, like a committed write
of the database in WAL mode with synchronous=NORMAL. A write the disk cut short (full) is taken
back, so that a torn line is only ever the last one of a process that died. The file is emptied
whenever every line in it has reached the database, so it stays a few kilobytes; under a load
that never lets every line reach the database at once, it is rewritten with only the lines still
needed whenever it has doubled since (an atomic replace: a process taking over reads the old
file or the new one).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from bot.storage import FOLDER_MODE, Leases, Status

log = logging.getLogger(__name__)

# Empty the file once every line has reached the database and it is at least this long.
COMPACT_BYTES = 64 * 1024


@dataclass(frozen=True)
class Accepted:
    """Pika accepted our job `job_id` as `pika_job_id` (None for an upscale); its time at Pika
    counts from `at`, when the paid call was sent."""

    job_id: str
    pika_job_id: str | None
    at: float


class Ledger:
    """An append-only file of `Accepted` lines, one JSON object each; the files beside it whose
    names start with `family` are the ledgers of other processes."""

    def __init__(self, path: Path, family: str | None = None) -> None:
        self.path = path
        self.family = family or path.stem
        self._pending: set[str] = set()  # written here, not yet in the database
        self._compact_at = COMPACT_BYTES  # the size at which the file is made small again

    @classmethod
    def of_process(cls, base: Path, owner: str) -> Ledger:
        """The ledger of the process `owner` (its leases' id), beside `base` (LEDGER's name
        for the database: `Settings.ledger_path`), whose other processes' ledgers it reads."""
        family = base.stem
        return cls(base.with_name(f"{family}-{owner}.jsonl"), family)

    def others(self) -> list[Path]:
        """The ledgers of other processes on the same database (an older bot's, unnamed, too)."""
        pattern = f"{glob.escape(self.family)}*.jsonl"
        return sorted(p for p in self.path.parent.glob(pattern) if p != self.path)

    def owner_of(self, other: Path) -> str:
        """The process id a ledger of `others()` belongs to ("" for an older bot's)."""
        return other.stem.removeprefix(self.family).removeprefix("-")

    def find(self, job_id: str) -> Accepted | None:
        """The latest entry for `job_id`, in this ledger or another process's."""
        for path in (self.path, *self.others()):
            for entry in reversed(read_entries(path)):
                if entry.job_id == job_id:
                    return entry
        return None

    def write(self, entry: Accepted) -> bool:
        """Append an entry; False (and a warning) if the file cannot take it."""
        line = _line(entry)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND
        try:
            try:
                fd = os.open(self.path, flags, 0o600)
            except FileNotFoundError:  # its folder is made once, not checked on every entry
                self.path.parent.mkdir(FOLDER_MODE, parents=True, exist_ok=True)
                fd = os.open(self.path, flags, 0o600)
            try:
                whole = _append(fd, (line + "\n").encode())
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("Job %s: could not write the ledger (%s)", entry.job_id, exc)
            return False
        if not whole:
            log.warning("Job %s: could not write the ledger (the disk is full)", entry.job_id)
            return False
        self._pending.add(entry.job_id)
        return True

    def stored(self, job_id: str) -> None:
        """The entry of `job_id` reached the database; once the file is long, keep only the
        lines still needed (none when every entry has reached the database)."""
        self._pending.discard(job_id)
        try:
            if self.path.stat().st_size < (
                COMPACT_BYTES if not self._pending else self._compact_at
            ):
                return
            if not self._pending:
                self.path.write_bytes(b"")
                self._compact_at = COMPACT_BYTES
                return
            kept = [e for e in read_entries(self.path) if e.job_id in self._pending]
            partial = self.path.with_name(self.path.name + ".partial")
            partial.write_text("".join(_line(e) + "\n" for e in kept))
            os.chmod(partial, 0o600)
            partial.replace(self.path)
            self._compact_at = max(COMPACT_BYTES, 2 * self.path.stat().st_size)
        except OSError:
            pass  # missing, or not writable now: tried again on the next entry

    async def tidy(self, leases: Leases) -> None:
        """Remove the ledgers of processes that stopped (no live lease, nothing written for a
        lease) once none of their entries is for a job still in `sending`."""
        for other in self.others():
            try:
                # A process that holds no lease may still be alive, and about to write.
                if other.stat().st_mtime > time.time() - leases.seconds:
                    continue
            except FileNotFoundError:
                continue
            owner = self.owner_of(other)
            if owner and await leases.live(owner):
                continue
            jobs = await leases.rows([entry.job_id for entry in read_entries(other)])
            if any(job.status is Status.SENDING for job in jobs):
                continue
            log.info("Removing the ledger of a stopped process: %s", other.name)
            other.unlink(missing_ok=True)

    def entries(self) -> list[Accepted]:
        """Every readable entry of this ledger, oldest first."""
        return read_entries(self.path)


def _append(fd: int, data: bytes) -> bool:
    """Append `data` whole, or not at all: a write cut short (the disk full after a part of it)
    is taken back, else the next entry would be appended to the torn line and be unreadable with
    it. False when it was cut short."""
    before = os.fstat(fd).st_size
    if os.write(fd, data) == len(data):
        return True
    os.ftruncate(fd, before)
    return False


def _line(entry: Accepted) -> str:
    return json.dumps({"job": entry.job_id, "pika": entry.pika_job_id, "at": entry.at})


def read_entries(path: Path) -> list[Accepted]:
    """Every readable entry of the ledger at `path`, oldest first: a torn last line from a
    crash, or a line the disk damaged (bytes that are not even text), is skipped, and a file
    that cannot be read has none; neither hides the other entries or ledgers."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("Ledger %s cannot be read (%s); skipping it", path, exc)
        return []
    found = []
    for line in content.splitlines():
        try:
            data = json.loads(line)  # bytes: what is not UTF-8 is a ValueError of this line
            found.append(Accepted(str(data["job"]), data["pika"], float(data["at"])))
        except (ValueError, KeyError, TypeError):
            log.warning("Ledger %s: skipping an unreadable line", path)
    return found
