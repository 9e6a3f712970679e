"""LISTEN/NOTIFY on a real PostgreSQL as the relay of wake-ups between processes: each hears the
others' once, and a relay whose connection was cut listens again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest

from bot.jobs.wakeups import JobDue, RelayedWakeups, SettingsChanged, Wakeup
from bot.storage.notify import CHANNEL, PostgresRelay
from tests.helpers.ports import reserved_port


async def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until `condition()` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def relays(postgres_url: str) -> AsyncIterator[tuple[PostgresRelay, PostgresRelay]]:
    first, second = PostgresRelay(postgres_url), PostgresRelay(postgres_url)
    await first.start()
    await second.start()
    yield first, second
    await first.close()
    await second.close()


async def test_each_process_hears_the_others_wake_ups_once(
    relays: tuple[PostgresRelay, PostgresRelay],
) -> None:
    heard: dict[str, list[Wakeup]] = {"one": [], "two": []}
    one = RelayedWakeups(relays[0], "one")
    two = RelayedWakeups(relays[1], "two")
    one.subscribe(heard["one"].append)
    two.subscribe(heard["two"].append)
    await one.publish(JobDue("abc", "p1"))
    await two.publish(SettingsChanged(5, 7))
    expected = [JobDue("abc", "p1"), SettingsChanged(5, 7)]
    await until(lambda: len(heard["one"]) == 2 and len(heard["two"]) == 2, "both wake-ups")
    await asyncio.sleep(0.2)  # PostgreSQL's echo of each process's own has come, and was skipped
    assert (
        sorted(map(str, heard["one"]))
        == sorted(map(str, expected))
        == sorted(map(str, heard["two"]))
    )


async def test_a_relay_whose_connection_was_cut_listens_again(
    relays: tuple[PostgresRelay, PostgresRelay], postgres_url: str
) -> None:
    listener, sender = relays
    heard: list[str] = []
    listener.on_text(heard.append)
    admin = await asyncpg.connect(postgres_url)
    try:
        cut = await admin.fetchval(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query LIKE $1",
            f"LISTEN%{CHANNEL}%",
        )
        assert cut >= 1
    finally:
        await admin.close()

    async def delivered() -> bool:
        try:
            await sender.send("hello")
        except ConnectionError:
            return False  # the sender's own connection is being made again too
        return True

    async def heard_again() -> None:
        while "hello" not in heard:
            await delivered()
            await asyncio.sleep(0.2)

    await asyncio.wait_for(heard_again(), 20)


async def test_a_text_too_long_for_notify_is_refused_before_it_is_sent(
    relays: tuple[PostgresRelay, PostgresRelay],
) -> None:
    with pytest.raises(ValueError, match="limited"):
        await relays[0].send("x" * 8000)


async def test_a_relay_that_cannot_connect_at_start_up_keeps_trying_without_stopping_the_bot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = PostgresRelay(f"postgresql://bot:secret@127.0.0.1:{reserved_port()}/nothing")
    assert not await relay.start()  # nothing listens there: no exception for the bot
    assert "Cannot listen for wake-ups yet" in caplog.text
    with pytest.raises(ConnectionError):
        await relay.send("hello")  # lost, as the wake-ups' fallbacks expect
    await relay.close()  # stops trying
    assert relay._reconnecting is not None and relay._reconnecting.done()
