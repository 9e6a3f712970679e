"""How long Pika takes, by kind of job, when a running job should be done, and where a job
stands for the member who asked.

`Durations` keeps the latest observed durations of each kind of job in memory (seeded from the
store at start-up, `seed`) and answers two questions:

- `expected_seconds(kind)`: the median of the latest `WINDOW` durations of that kind, from Pika
  accepting a job to finishing it; None until one is known.
- `eta(job, now)`: the moment (a time like `time.time()`) the job is expected to finish. It
  extrapolates Pika's progress over the time the job has run (`accepted_at`), and leans on the
  kind's median while the progress says little (the first percents); None when neither is known.

The tracker plans its polls from `eta` (`next_poll`), and records each finished job's duration
(`observed`). `Estimates` tells the working message the same story in the member's terms
(`Standing`): the job's place in line while Pika has not started it, and when it should be done,
from the same durations (a prior for a kind not seen yet), refined by Pika's progress, never
in the past, and never before that of a job ahead of it in line (of a kind that takes longer).

The line (`Line`) is kept in memory too, so that a working message is written with no database
read: a member's first answer must not queue behind every other request's writes. It is read
from the store at start-up (`Estimates.load`), then follows the journal: a job joins when
admitted and leaves when Pika starts it or it ends. The journal tells only this process's
jobs, so the line is read again from the store in the background, at most every
`LINE_REFRESH_SECONDS` while it is used (the steps heard during that read are applied over it):
other processes' jobs come and go within that time.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import logging
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.jobs.journal import JOURNAL, JobEvent
from bot.storage import Job, JobReports

log = logging.getLogger(__name__)

WINDOW = 20  # durations kept per kind
# Progress below this many percent says little about the rest: the median weighs more.
TRUSTED_PROGRESS = 50.0
# A poll aimed at the expected finish comes this long after it (a share of the poll interval),
# so that a job finishing on time is found finished rather than at 99%. Small, because the
# estimate already errs late (a job's time counts from before its paid call was sent, and Pika's
# whole percents round down); every hundredth of a second here is one in each result's delay.
SLACK_SHARE = 0.05
MAX_SLACK = 0.25
PRIOR_SECONDS = 90.0  # a kind never seen here yet: about what Pika takes
# The least time left ever shown: a job past its estimate is "in a few seconds", and its
# message is refreshed before long (PROGRESS_REFRESH_SECONDS in polls.py).
SOON_SECONDS = 10.0
LINE_REFRESH_SECONDS = 10.0


class Durations:
    """The latest Pika durations of each kind, and the estimates made from them."""

    def __init__(self) -> None:
        self._seen: dict[str, collections.deque[float]] = {}

    def seed(self, observed: Iterable[tuple[str, float]]) -> None:
        """Start from durations read from the store (oldest first)."""
        for kind, seconds in observed:
            self.record(kind, seconds)

    def record(self, kind: str, seconds: float) -> None:
        """A job of `kind` took `seconds` at Pika."""
        if seconds > 0:
            self._seen.setdefault(kind, collections.deque(maxlen=WINDOW)).append(seconds)

    def expected_seconds(self, kind: str) -> float | None:
        """How long a job of `kind` usually takes at Pika (the median of the latest)."""
        seen = self._seen.get(kind)
        return statistics.median(seen) if seen else None

    def eta(self, job: Job, now: float) -> float | None:
        """When `job` is expected to finish at Pika; None when nothing is known yet."""
        started = job.accepted_at
        if started is None:
            return None
        expected = self.expected_seconds(job.kind)
        by_history = started + expected if expected is not None else None
        running = now - started
        if not 0 < job.progress < 100 or running <= 0:
            return by_history
        by_progress = started + running * 100.0 / job.progress
        if by_history is None or by_history < now:  # overdue: only the progress knows
            return by_progress
        weight = min(1.0, job.progress / TRUSTED_PROGRESS)
        return weight * by_progress + (1 - weight) * by_history


def observed(job: Job, last_eta: float | None, last_poll: float | None, seen_at: float) -> float:
    """How long Pika took with a job first seen finished at `seen_at`: the finish came after the
    last poll that found it running (`last_poll`); the estimate made then (`last_eta`) is the
    best guess within that span, and its middle is the guess without one."""
    started = job.accepted_at if job.accepted_at is not None else job.created_at
    low = max(started, last_poll if last_poll is not None else started)
    finish = min(max(last_eta, low), seen_at) if last_eta is not None else (low + seen_at) / 2
    return max(0.0, finish - started)


def next_poll(eta: float | None, now: float, interval: float, ceiling: float, late: int) -> float:
    """The delay to a job's next poll: just after its expected finish, never sooner than one
    interval after this poll nor later than the ceiling. A job with no estimate, or found still
    running after its expected finish (`late`: how many polls in a row did), is polled less and
    less often: the interval grows by half each time, up to the ceiling."""
    growing = interval * 1.5 ** min(max(late, 1), 20)
    if eta is None:
        return min(ceiling, growing)
    slack = min(MAX_SLACK, SLACK_SHARE * interval)
    planned = max(interval, eta + slack - now)
    return min(ceiling, max(planned, growing) if late else planned)


@dataclass(frozen=True)
class Standing:
    """Where a job stands, for the member: its place in line (None once Pika works on it) and
    when it should be done (a Unix time)."""

    place: int | None
    eta: float


def remaining(job: Job, expected: float, now: float) -> float:
    """Seconds until the job should be done, as a member is told.

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


class Line:
    """The jobs waiting for Pika to start them, oldest first (by when they were asked for)."""

    def __init__(self) -> None:
        self._order: list[tuple[float, str]] = []  # (asked at, id), sorted
        self._keys: dict[str, tuple[float, str]] = {}
        self._kinds: dict[str, str] = {}  # id -> kind
        # The same keys by kind: the last job of each kind ahead of one is found in log time.
        self._by_kind: dict[str, list[tuple[float, str]]] = {}
        self._heard: list[JobEvent] | None = None  # the steps heard while the store is read

    def __len__(self) -> int:
        return len(self._order)

    def join(self, job_id: str, created_at: float, kind: str) -> None:
        """The job waits in line (again: nothing changes)."""
        if job_id not in self._keys:
            key = (created_at, job_id)
            self._keys[job_id] = key
            self._kinds[job_id] = kind
            bisect.insort(self._order, key)
            bisect.insort(self._by_kind.setdefault(kind, []), key)

    def leave(self, job_id: str) -> None:
        """The job no longer waits: Pika started it, or it ended."""
        key = self._keys.pop(job_id, None)
        if key is not None:
            del self._order[bisect.bisect_left(self._order, key)]
            kind = self._kinds.pop(job_id)
            same = self._by_kind[kind]
            del same[bisect.bisect_left(same, key)]
            if not same:
                del self._by_kind[kind]

    def latest_ahead(self, job: Job) -> list[tuple[str, float]]:
        """For each kind with a job ahead of `job` in line, the latest asked of them, as
        (kind, asked at): of the jobs of one kind, that one is expected to be done last."""
        key = (job.created_at, job.id)
        found: list[tuple[str, float]] = []
        for kind, same in self._by_kind.items():
            before = bisect.bisect_left(same, key)
            if before:
                found.append((kind, same[before - 1][0]))
        return found

    def place(self, job: Job) -> int | None:
        """The job's place in line (1: next); None once Pika works on it. Only the journal
        puts a job in line: a copy of a job read before it ended must not bring it back."""
        if not job.waiting:
            self.leave(job.id)
            return None
        return bisect.bisect_left(self._order, (job.created_at, job.id)) + 1

    def heard(self, event: JobEvent) -> None:
        """A step of a job's life, from the journal."""
        if event.job_id is None:
            return
        if event.step == "admitted" and event.created_at is not None:
            self.join(event.job_id, event.created_at, event.kind)
            if self._heard is not None:
                self._heard.append(event)
        elif event.step in ("delivered", "ended") or (event.step == "status" and not event.waiting):
            self.leave(event.job_id)
            if self._heard is not None:
                self._heard.append(event)

    def reading(self) -> None:
        """The store is being read: keep the steps heard from now on, for `replace`."""
        self._heard = []

    def replace(self, read: list[tuple[float, str, str]] | None) -> None:
        """The line as the store had it, (asked at, id, kind) (None: the read failed, keep this
        one), with the steps heard since `reading` applied over it."""
        later, self._heard = self._heard or [], None
        if read is None:
            return
        self._order, self._keys, self._kinds, self._by_kind = [], {}, {}, {}
        for created_at, job_id, kind in read:
            self.join(job_id, created_at, kind)
        for event in later:
            self.heard(event)


class Estimates:
    """Each job's standing, from the tracker's `Durations` and the line, both in memory."""

    def __init__(
        self, durations: Durations, reports: JobReports, clock: Callable[[], float]
    ) -> None:
        self.durations = durations
        self.reports = reports
        self.clock = clock
        self.line = Line()
        self._unsubscribe: Callable[[], None] | None = None
        self._read_at = 0.0
        self._reading: asyncio.Future[None] | None = None

    async def load(self) -> None:
        """At start-up: the line as the store has it, then kept by the journal."""
        if self._unsubscribe is None:
            self._unsubscribe = JOURNAL.subscribe(self.line.heard)
        await self._read_line()

    async def _read_line(self) -> None:
        self.line.reading()
        self._read_at = self.clock()
        read: list[tuple[float, str, str]] | None = None
        try:
            read = await self.reports.in_line()
        except Exception as exc:  # the line is cosmetic: keep the one in memory
            log.info("Could not read the line of waiting jobs: %s", exc)
        finally:
            self.line.replace(read)

    def _refresh(self) -> None:
        """Read the line again in the background when it is old (never on an answer's path)."""
        stale = self.clock() - self._read_at >= LINE_REFRESH_SECONDS
        if self._unsubscribe is not None and stale and self._reading is None:
            self._reading = asyncio.ensure_future(self._read_line())
            self._reading.add_done_callback(lambda _: setattr(self, "_reading", None))

    def close(self) -> None:
        """Stop following the journal."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._reading is not None:
            self._reading.cancel()

    def expected_seconds(self, kind: str) -> float:
        """The typical time a job of this kind takes on this bot (a prior until one is seen)."""
        return self.durations.expected_seconds(kind) or PRIOR_SECONDS

    def eta(self, job: Job, now: float | None = None) -> float:
        """When the job should be done, as a Unix time."""
        now = self.clock() if now is None else now
        return now + remaining(job, self.expected_seconds(job.kind), now)

    async def standing(self, job: Job) -> Standing:
        """The job's place in line and its expected end, as the working message shows them:
        never before that of a job ahead of it in line, whose kind may take longer (or have no
        history yet), so that "place 2" never reads as ready before "place 1"."""
        self._refresh()
        now = self.clock()
        place = self.line.place(job)
        eta = self.eta(job, now)
        if place is not None:
            for kind, asked_at in self.line.latest_ahead(job):
                # As `remaining` says it of a job still waiting: its expectation less its wait.
                ahead = max(SOON_SECONDS, self.expected_seconds(kind) - max(0.0, now - asked_at))
                eta = max(eta, now + ahead)
        return Standing(place, eta)
