"""When each job is next due: a heap of times in memory, so that finding the due jobs among ten
thousand costs a few comparisons and no database query."""

from __future__ import annotations

import heapq
import itertools


class Schedule:
    """Job ids by the time they are due; setting a job's time again replaces the earlier one."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str]] = []
        self._due: dict[str, tuple[float, int]] = {}  # the live entry of each job
        self._order = itertools.count()  # ties go first in, first out

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._due

    def at(self, job_id: str, when: float) -> None:
        """Make `job_id` due at `when` (instead of any earlier time it had)."""
        entry = (when, next(self._order))
        self._due[job_id] = entry
        heapq.heappush(self._heap, (*entry, job_id))
        if len(self._heap) > 2 * len(self._due) + 64:  # drop replaced entries now and then
            self._heap = [(w, n, j) for j, (w, n) in self._due.items()]
            heapq.heapify(self._heap)

    def when(self, job_id: str) -> float | None:
        """When `job_id` is due, if it is scheduled."""
        entry = self._due.get(job_id)
        return entry[0] if entry else None

    def cancel(self, job_id: str) -> None:
        """Forget `job_id`."""
        self._due.pop(job_id, None)

    def next_at(self) -> float | None:
        """When the earliest job is due."""
        self._skip_replaced()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> str | None:
        """The earliest job due by `now`, taken off the schedule; None if none is due."""
        self._skip_replaced()
        if not self._heap or self._heap[0][0] > now:
            return None
        job_id = heapq.heappop(self._heap)[2]
        del self._due[job_id]
        return job_id

    def _skip_replaced(self) -> None:
        while self._heap:
            when, order, job_id = self._heap[0]
            if self._due.get(job_id) == (when, order):
                return
            heapq.heappop(self._heap)
