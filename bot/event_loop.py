"""The event loop the processes run on: uvloop where it installs (Linux, macOS), asyncio's own
elsewhere (Windows, where uvloop has no build).

Every Discord request, Pika call, download and database answer goes through the loop's
callbacks and sockets, and uvloop runs them in C (libuv) where asyncio runs them in Python.
uvloop implements asyncio's loop interface, so nothing else changes: the unit tests run the
code on pytest's asyncio loop, the end-to-end tests run the bot as a process on uvloop, and
between them both loops are exercised. Its effect is measured by `benchmarks/burst.py`
(`--scenario burst`): see docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
from collections.abc import Coroutine
from typing import Any, TypeVar

try:
    import uvloop
except ImportError:  # no build for this platform
    uvloop = None  # type: ignore[assignment]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a process's main coroutine to its end, on uvloop when it is installed."""
    if uvloop is None:
        return asyncio.run(main)
    return uvloop.run(main)


def name() -> str:
    """The running loop's name (and uvloop's version), for the start-up log: the loop this
    process actually runs on, not merely the one installed, so that the log (which the
    end-to-end tests read) proves which loop served."""
    if uvloop is not None and isinstance(asyncio.get_running_loop(), uvloop.Loop):
        return f"uvloop {importlib.metadata.version('uvloop')}"
    return "asyncio"
