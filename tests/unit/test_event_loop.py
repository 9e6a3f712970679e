"""The event loop a process runs on (bot/event_loop.py)."""

from __future__ import annotations

import asyncio
import importlib.metadata

import pytest

from bot import event_loop


async def loop_and_answer() -> tuple[type[asyncio.AbstractEventLoop], str, int]:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()), event_loop.name(), 42


def test_a_process_runs_on_uvloop_where_it_is_installed() -> None:
    uvloop = pytest.importorskip("uvloop")  # not on Windows, where it has no build
    loop, name, answer = event_loop.run(loop_and_answer())
    assert issubclass(loop, uvloop.Loop) and answer == 42
    assert name == f"uvloop {importlib.metadata.version('uvloop')}"


def test_without_uvloop_a_process_runs_on_asyncio_s_own_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(event_loop, "uvloop", None)
    loop, name, answer = event_loop.run(loop_and_answer())
    assert issubclass(loop, asyncio.BaseEventLoop) and answer == 42  # uvloop's is not one
    assert name == "asyncio"


def test_the_name_is_the_running_loop_s_not_the_one_installed() -> None:
    """The start-up log is the proof of which loop the bot runs on (the end-to-end tests read
    it): a process started with `asyncio.run` must not be reported as running on uvloop."""
    _, name, _ = asyncio.run(loop_and_answer())
    assert name == "asyncio"
