"""A clock that tests move by hand."""

from __future__ import annotations


class Clock:
    """Stands in for `time.time`: it says `now`, and `now` moves only when a test moves it."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
