"""`python benchmarks/bench_bot.py`: the bot exactly as `python -m bot` runs it, plus the
benchmark's instruments, which change nothing it does: every database round trip is counted,
and every poll's lateness (how long after its planned time it was taken) is kept. On SIGUSR1
it writes them as JSON to the file named by BENCH_STATS.

With BENCH_PROFILE set to a path, the first SIGUSR1 also starts a cProfile of the event loop's
thread and the second writes it there (pstats format): in a burst, exactly the burst's work.
"""

from __future__ import annotations

import cProfile
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.jobs.tracker import Tracker
from bot.process import main
from bot.storage import Job
from tests.helpers.round_trips import RoundTrips, install

ROUND_TRIPS = RoundTrips()
LATENESS: list[tuple[float, float]] = []  # each poll: (its planned time, how late it came)
PROFILE: list[cProfile.Profile] = []  # the profile started by the first SIGUSR1 (BENCH_PROFILE)


def instrument() -> None:
    """Count round trips, and time every poll against its plan."""
    install(ROUND_TRIPS)
    original = Tracker.poll

    async def timed(self: Tracker, job: Job) -> None:
        LATENESS.append((job.next_poll_at, self.store.clock() - job.next_poll_at))
        await original(self, job)

    setattr(Tracker, "poll", timed)  # noqa: B010 - a method replaced on purpose


def dump(signum: int, frame: FrameType | None) -> None:
    """Write the counts so far where the benchmark reads them."""
    stats: dict[str, Any] = {"round_trips": ROUND_TRIPS.total, "lateness": LATENESS}
    path = Path(os.environ["BENCH_STATS"])
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(stats))
    partial.replace(path)
    if where := os.environ.get("BENCH_PROFILE"):
        if PROFILE:
            PROFILE[0].disable()
            PROFILE[0].dump_stats(where)
        else:
            PROFILE.append(cProfile.Profile())
            PROFILE[0].enable()


if __name__ == "__main__":
    instrument()
    signal.signal(signal.SIGUSR1, dump)
    sys.exit(main())
