"""Wake-ups between processes: what they carry, who hears them, and settings changed in one
process forgotten in the others (two processes on one SQLite file, joined by a relay); on a
real PostgreSQL, wired as the bot wires them, a push received by one process wakes the holder
of its job at once, and a settings change reaches the other process at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import share_settings
from bot.guardrails import ServerSettings
from bot.jobs.wakeups import (
    JobDue,
    LocalWakeups,
    RelayedWakeups,
    SettingsChanged,
    Wakeup,
    decode,
    encode,
)
from bot.pika.local.app import LocalPika
from bot.preferences import Preferences
from bot.storage import Storage, open_storage
from tests.helpers.clock import Clock
from tests.helpers.relay import Bus
from tests.unit.conftest import Stack, make_stack, push_to, rendered, sent


def test_a_wake_up_travels_as_a_short_text_and_nothing_else_is_read_as_one() -> None:
    for wakeup in (JobDue("abc", "p1"), JobDue("abc"), SettingsChanged(5), SettingsChanged(5, 7)):
        text = encode("me", wakeup)
        assert len(text) < 100 and decode(text) == ("me", wakeup)
    for junk in ("", "null", "[1]", '{"from": "x"}', '{"from": "x", "guild": "five"}'):
        assert decode(junk) is None


async def test_each_process_hears_a_wake_up_once_its_own_included() -> None:
    bus = Bus()
    first, second = RelayedWakeups(bus, "one"), RelayedWakeups(bus, "two")
    heard: dict[str, list[Wakeup]] = {"one": [], "two": []}
    first.subscribe(heard["one"].append)
    second.subscribe(heard["two"].append)
    await first.publish(JobDue("abc"))
    assert heard == {"one": [JobDue("abc")], "two": [JobDue("abc")]}  # the echo is skipped
    bus.receivers[1]("not a wake-up")  # ignored, and logged
    assert heard["two"] == [JobDue("abc")]


async def test_a_failing_handler_or_relay_stops_nothing() -> None:
    class Broken(Bus):
        async def send(self, text: str) -> None:
            raise ConnectionError("the relay is down")

    wakeups = RelayedWakeups(Broken(), "me")
    heard: list[Wakeup] = []

    def fails(wakeup: Wakeup) -> None:
        raise RuntimeError("a bug in one handler")

    wakeups.subscribe(fails)
    wakeups.subscribe(heard.append)
    await wakeups.publish(SettingsChanged(1))  # the others will notice later: no exception
    assert heard == [SettingsChanged(1)]


@dataclass
class Process:
    """What one bot process keeps of the settings: its storage and its caches."""

    storage: Storage
    server: ServerSettings
    preferences: Preferences


@pytest.fixture
async def processes(tmp_path: Path) -> AsyncIterator[tuple[Process, Process]]:
    bus = Bus()
    made = []
    for owner in ("one", "two"):
        storage = await open_storage(tmp_path / "shared.sqlite3")
        server, preferences = (
            ServerSettings(storage.guild_settings),
            Preferences(storage.member_settings),
        )
        share_settings(RelayedWakeups(bus, owner), server, preferences)
        made.append(Process(storage, server, preferences))
    yield made[0], made[1]
    for process in made:
        await process.storage.close()


async def test_a_settings_change_in_one_process_is_seen_by_the_other_at_once(
    processes: tuple[Process, Process],
) -> None:
    first, second = processes
    assert (await second.server.get(10)).max_running_per_user == 2  # read, and cached
    assert (await second.preferences.get(10, 20)).aspect_ratio is None
    await first.server.change(10, 99, max_running_per_user=5)
    await first.preferences.change(10, 20, aspect_ratio="9:16")
    assert (await second.server.get(10)).max_running_per_user == 5
    assert (await second.preferences.get(10, 20)).aspect_ratio == "9:16"
    assert (await first.server.get(10)).max_running_per_user == 5


async def test_without_a_relay_each_process_forgets_only_its_own_changes(tmp_path: Path) -> None:
    storage = await open_storage(tmp_path / "one.sqlite3")
    try:
        server = ServerSettings(storage.guild_settings)
        preferences = Preferences(storage.member_settings)
        wakeups = LocalWakeups()
        share_settings(wakeups, server, preferences)
        heard: list[Wakeup] = []
        wakeups.subscribe(heard.append)
        await server.change(10, 99, cooldown_seconds=30)
        assert heard == [SettingsChanged(10)]
        assert (await server.get(10)).cooldown_seconds == 30
    finally:
        await storage.close()


# --- on a real PostgreSQL, wired as the bot wires them (`open_wakeups`) ---------------------

PUSH = "https://bot.example.org/"


async def soon(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until `condition()` holds, for a few seconds of real time: much less than a lease
    renewal or a settings cache's minute, on a test clock that does not move anyway."""
    deadline = asyncio.get_running_loop().time() + 5
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def two_on_postgresql(
    local: LocalPika, tmp_path: Path, postgres_url: str
) -> AsyncIterator[tuple[Stack, Stack]]:
    """Two processes with push configured, on one PostgreSQL database and one test clock."""
    clock, path, url = Clock(), tmp_path / "pg", postgres_url
    async for first in make_stack(path, local.base_url, clock, url, webhook_public_url=PUSH):
        async for second in make_stack(path, local.base_url, clock, url, webhook_public_url=PUSH):
            yield first, second


async def test_on_postgresql_a_push_received_by_one_process_wakes_the_holder_at_once(
    two_on_postgresql: tuple[Stack, Stack], local: LocalPika
) -> None:
    holder, receiver = two_on_postgresql
    assert isinstance(holder.wakeups, RelayedWakeups)
    job = await rendered(local, await sent(holder))
    assert holder.tracker._polls.when(job.id) != holder.clock.now  # push is on: polled seldom
    assert await push_to(receiver, job, {"job": {"id": job.pika_job_id}}) == 200

    async def due_now() -> bool:
        return holder.tracker._polls.when(job.id) == holder.clock.now

    await soon(due_now, "the holder woken by NOTIFY")  # no renewal ran: the clock stood still
    await holder.settle()
    assert holder.notifier.delivered == [job.id] and receiver.notifier.delivered == []
    polls = [r for r in local.requests if r["path"] == f"/web/jobs/{job.pika_job_id}"]
    assert len(polls) == 1 and receiver.tracker.polls == 0


async def test_on_postgresql_a_settings_change_in_one_process_is_seen_by_the_other_at_once(
    two_on_postgresql: tuple[Stack, Stack],
) -> None:
    first, second = two_on_postgresql
    assert (await second.settings.get(10)).max_running_per_user == 2  # read, and cached
    assert (await second.preferences.get(10, 20)).aspect_ratio is None
    await first.settings.change(10, 99, max_running_per_user=5)
    await first.preferences.change(10, 20, aspect_ratio="9:16")

    async def seen() -> bool:
        server = await second.settings.get(10)
        member = await second.preferences.get(10, 20)
        return server.max_running_per_user == 5 and member.aspect_ratio == "9:16"

    await soon(seen, "the other process to forget its cached copies")
