"""How long a job will take: from recent jobs of the same kind on this bot, refined by the
progress Pika reports, and where it stands in line while Pika has not started it.

The working message shows both (`Standing`). The expectation is the median time from request to
posted result of the latest delivered jobs of a kind; a kind this bot has not delivered yet uses
a prior. While Pika reports progress, the time left is blended from the expectation and from the
pace so far, trusting the pace more as the progress grows.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass

from bot.storage import Job, JobReports

SAMPLES = 20  # latest delivered jobs of a kind that make its expectation
CACHE_SECONDS = 30.0  # an expectation is read again from the store after this long
PRIOR_SECONDS = 90.0  # a kind never delivered here yet: about what Pika takes
# The least time left ever shown: a job past its estimate is "in a few seconds", and its
# message is refreshed before long (PROGRESS_REFRESH_SECONDS in tracker.py).
SOON_SECONDS = 10.0


@dataclass(frozen=True)
class Standing:
    """Where a job stands, for the member: its place in line (None once Pika works on it) and
    when it should be done (a Unix time)."""

    place: int | None
    eta: float


def remaining(job: Job, expected: float, now: float) -> float:
    """Seconds until the job should be done.

    Before any progress: the expectation less the time already spent. With progress p (0-100)
    after `elapsed` seconds, the pace says `elapsed * (100 - p) / p`; the two are blended with
    weight p / 100 on the pace. Never below SOON_SECONDS, so a late job never shows a time that
    has passed.
    """
    elapsed = max(0.0, now - job.created_at)
    by_expectation = expected - elapsed
    progress = min(max(job.progress, 0), 100)
    if 0 < progress < 100 and not job.waiting:
        by_pace = elapsed * (100 - progress) / progress
        weight = progress / 100
        left = (1 - weight) * by_expectation + weight * by_pace
    else:
        left = by_expectation
    return max(SOON_SECONDS, left)


class Estimates:
    """Expected durations by kind, read from the store, and each job's standing."""

    def __init__(self, reports: JobReports, clock: Callable[[], float]) -> None:
        self.reports = reports
        self.clock = clock
        # When the durations were read, and the latest durations of each kind.
        self._cache: tuple[float, dict[str, list[float]]] | None = None

    async def expected_seconds(self, kind: str) -> float:
        """The typical time from request to posted result of this kind of job on this bot."""
        now = self.clock()
        if self._cache is None or now - self._cache[0] >= CACHE_SECONDS:
            self._cache = (now, await self.reports.durations(SAMPLES))
        durations = [d for d in self._cache[1].get(kind, []) if d > 0]
        return statistics.median(durations) if durations else PRIOR_SECONDS

    async def eta(self, job: Job, now: float | None = None) -> float:
        """When the job should be done, as a Unix time."""
        now = self.clock() if now is None else now
        return now + remaining(job, await self.expected_seconds(job.kind), now)

    async def standing(self, job: Job) -> Standing:
        """The job's place in line and its expected end, as the working message shows them."""
        return Standing(await self.reports.place_in_line(job), await self.eta(job))
