"""The local Pika's renders: how many at once, how long each may take, and what they fetch.

A job's inputs are fetched only when its render starts, inside one of `max_renders` slots, so
queued jobs hold nothing in memory. The render runs in a thread with a `Budget`: a deadline
(the render-time cap, counted from the job's first start, so a restart does not grant a new
one) and the stop switch pulled at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.pika.local.jobs import WORK_DIR, LocalJob
from bot.pika.local.render import Budget, RenderError, RenderResult, RenderStopped, render
from bot.pika.local.spec import render_spec
from bot.pika.media_probe import LIMITS, MediaLimits
from bot.safe_fetch import SafeFetcher

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capacity:
    """What the local Pika may spend: renders at once, seconds per render, input limits, and
    how long finished jobs' files are kept."""

    max_renders: int = 2
    render_seconds: float = 300.0
    keep_days: float = 7.0
    limits: MediaLimits = LIMITS


class Renders:
    """Makes jobs' videos within the capacity."""

    def __init__(
        self, capacity: Capacity, fetcher: SafeFetcher, prerendered: RenderResult | None = None
    ) -> None:
        self.capacity = capacity
        self.fetcher = fetcher
        # Every job's video is this one, linked and never rendered again: what benchmarks use,
        # so that what they measure is not rendering.
        self.prerendered = prerendered
        self._slots = asyncio.Semaphore(capacity.max_renders)
        self._stopping = threading.Event()
        self._futures: set[asyncio.Future[RenderResult]] = set()

    def stop(self) -> None:
        """Tell every render thread to end at its next frame."""
        self._stopping.set()

    async def wait(self) -> None:
        """Wait for the render threads still running (they end soon after `stop`)."""
        await asyncio.gather(*self._futures, return_exceptions=True)

    async def make(self, job: LocalJob, files_dir: Path) -> None:
        """Make the job's video within its slot and time cap, or record why it cannot be made.

        The cap runs from the first start of the render: a render cut short by a restart
        resumes with what is left of it, and one past it fails for good."""
        if self.prerendered is not None:
            link_prerendered(self.prerendered, job, files_dir / job.id)
            return
        async with self._slots:
            cap = self.capacity.render_seconds
            if job.render_started_at is None:
                job.render_started_at = time.time()
                job.save(files_dir)
            left = job.render_started_at + cap - time.time()
            if left <= 0:
                job.error = f"the render took longer than {cap:g} s"
                return
            workdir = files_dir / WORK_DIR / job.id
            workdir.mkdir(parents=True, exist_ok=True)
            try:
                async with asyncio.timeout(left):
                    spec = await render_spec(
                        job.request(), job.seed, self.fetcher, workdir, self.capacity.limits
                    )
                budget = Budget(
                    time.monotonic() + job.render_started_at + cap - time.time(),
                    cap,
                    self._stopping,
                    self.capacity.limits,
                )
                # A thread cannot be cancelled: keep its future so shutdown waits for it.
                future = asyncio.get_running_loop().run_in_executor(
                    None, render, spec, files_dir / job.id, job.result_name, budget
                )
                self._futures.add(future)
                future.add_done_callback(self._futures.discard)
                result: RenderResult = await asyncio.shield(future)
            except TimeoutError:
                job.error = f"the render took longer than {cap:g} s"
                return
            except RenderError as exc:
                job.error = str(exc)
                return
            except RenderStopped:
                raise asyncio.CancelledError from None
            except Exception:
                log.exception("Local Pika: job %s could not be rendered", job.id)
                job.error = "internal error while rendering"
                return
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        job.duration, job.width, job.height = result.seconds, result.width, result.height


def link_prerendered(done: RenderResult, job: LocalJob, folder: Path) -> None:
    """Give the job the files of a video made once (hard links: no copy, no render)."""
    folder.mkdir(parents=True, exist_ok=True)
    for source, name in (
        (done.video, job.result_name),
        (done.poster, "poster.jpg"),
        (done.thumbnail, "thumbnail.jpg"),
    ):
        with contextlib.suppress(FileExistsError):
            os.link(source, folder / name)
    job.duration, job.width, job.height = done.seconds, done.width, done.height
