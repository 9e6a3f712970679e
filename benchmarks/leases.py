"""Benchmark: what holding jobs costs a process on SQLite, with a large history in the table.

Two processes (two stores) on one file with 100,000 ended jobs and 10,000 active ones. Prints
the time of: the first process's renewal of its leases on all 10,000 (one statement, every
third of a lease); the second's claim when nothing is free (what every process pays each third
of a lease); the take-over of all 10,000 once the first process's leases ended (claims of 500);
and the round trips of one renewal and one idle claim.
Run: `.venv/bin/python benchmarks/leases.py`.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.storage import Status, open_storage
from tests.helpers.clock import Clock
from tests.helpers.round_trips import counting_round_trips

ENDED, ACTIVE = 100_000, 10_000


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        clock = Clock()
        first = await open_storage(path, clock, lease_seconds=30)
        second = await open_storage(path, clock, lease_seconds=30)
        now = clock.now
        rows = []
        for n in range(ENDED + ACTIVE):
            active = n >= ENDED
            rows.append(
                (
                    f"job{n:07}",
                    (Status.RUNNING if active else Status.DELIVERED).value,
                    int(active),
                    now + n % 60,
                    now,
                    now,
                    first.jobs.leases.owner if active else None,
                    now + 30 if active else 0,
                )
            )
        async with first.database.transaction() as db:
            await db.execute_many(
                "INSERT INTO jobs (id, kind, request, channel_id, user_id, status, active, "
                "next_poll_at, created_at, updated_at, claimed_by, claimed_until) "
                "VALUES (?, 'generate', '{}', 1, 1, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        print(f"{ENDED} ended and {ACTIVE} active jobs, all active held by one process")

        started = time.perf_counter()
        with counting_round_trips() as renewal:
            held = await first.jobs.leases.renew()
        print(f"renewal of {len(held)} leases: {1000 * (time.perf_counter() - started):.1f} ms")
        started = time.perf_counter()
        with counting_round_trips() as idle:
            assert await second.jobs.leases.claim() == []
        print(f"a claim with nothing free: {1000 * (time.perf_counter() - started):.2f} ms")
        print(f"round trips: renewal {renewal.total}, idle claim {idle.total}")

        clock.now += 31
        started = time.perf_counter()
        taken = 0
        while jobs := await second.jobs.leases.claim():
            taken += len(jobs)
        took = time.perf_counter() - started
        print(f"take-over of {taken} jobs (claims of 500, rows returned whole): {took:.2f} s")
        await first.close()
        await second.close()


if __name__ == "__main__":
    asyncio.run(main())
