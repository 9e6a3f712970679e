"""The garbage collector, set for a server that allocates in bursts and keeps what it starts with.

With CPython's defaults (a collection of the young generation every 700 new container objects,
and now and then a full one), one burst of 200 requests ran about 150 collections, two of them
full: a full one walks every object the process holds, most of them made at start-up and kept
for its life (the modules, discord.py's cache, pydantic's schemas). They took 0.27 s of the
burst's CPU, 88 ms of it while the members were still waiting for their first answer
(`benchmarks/burst.py`). Two settings remove most of that:

- `tune`, at start: the young generation is collected every `YOUNG_THRESHOLD` new containers.
  Cycles are still found, in batches; the few thousand objects more that a batch lets live a
  while longer are a few hundred kilobytes.
- `freeze_startup`, once connected: what start-up made moves to the permanent generation, which
  no collection walks again. Those objects are still freed by their reference counts; only a
  cycle among them would now stay, and start-up's own garbage is collected first. (Such a
  cycle does come once: discord.py's first guild cache is full of cycles, and a session started
  afresh replaces it; that one copy of the cache stays, not one per reconnection.)
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # CPython's default is 700


def tune() -> None:
    """Collect the young generation less often (the older generations keep their rhythm)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def freeze_startup() -> None:
    """Collect start-up's garbage, then exempt everything alive from future collections; once
    (a reconnection that says "ready" again is not a start-up)."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
