"""PostgreSQL behind the database interface: start-up errors that never show the password, a
bounded pool, statements that cannot hang, migrations taken in turn."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import asyncpg
import pytest

from bot.logging_setup import TEXT_FORMAT, RedactingFormatter
from bot.storage import WRITE_ERRORS, StorageError, open_storage, postgres
from bot.storage.postgres import OUTAGE_IN_ONE_LINE, POOL_SIZE, shown_url
from tests.helpers.ports import reserved_port

APPLICATION = "pika-discord-bot"


def test_a_url_is_shown_without_its_password() -> None:
    assert shown_url("postgresql://bot:hunter2@db.lan:5433/pika") == (
        "postgresql://bot@db.lan:5433/pika"
    )
    assert shown_url("postgresql://bot:hunter2@db/pika?password=hunter2&sslmode=require") == (
        "postgresql://bot@db/pika"
    )
    assert "hunter2" not in shown_url("postgres://bot:hunter2@db:port/pika")


async def test_an_unreachable_server_is_one_error_naming_the_database_not_its_password() -> None:
    port = reserved_port()  # nothing listens there
    with pytest.raises(StorageError) as caught:
        await open_storage(f"postgresql://bot:hunter2@127.0.0.1:{port}/pika")
    message = str(caught.value)
    assert message.startswith(f"postgresql://bot@127.0.0.1:{port}/pika: cannot connect")
    assert "hunter2" not in message and "\n" not in message


async def test_a_database_that_does_not_exist_is_one_error_naming_it(postgres_url: str) -> None:
    missing = postgres_url.rsplit("/", 1)[0] + "/no_such_database"
    with pytest.raises(StorageError) as caught:
        await open_storage(missing)
    assert 'database "no_such_database" does not exist' in str(caught.value)


@pytest.mark.parametrize(("offset", "way"), [(60.0, "ahead of"), (-9.0, "behind")])
async def test_a_clock_out_of_step_with_the_database_servers_stops_the_start(
    postgres_url: str, offset: float, way: str
) -> None:
    # Leases are read with each process's clock: one running ahead would take live jobs over.
    with pytest.raises(StorageError) as caught:
        await open_storage(
            postgres_url, lambda: time.time() + offset, lease_seconds=30, check_clock=True
        )
    message = str(caught.value)
    assert f"clock is {abs(offset):.0f}." in message and f"{way} the database server's" in message
    assert "JOB_LEASE_SECONDS=30" in message and "within 7.5 s" in message
    assert "\n" not in message


async def test_a_clock_in_step_with_the_database_servers_opens_and_a_tests_is_not_checked(
    postgres_url: str,
) -> None:
    storage = await open_storage(postgres_url, lease_seconds=30, check_clock=True)
    await storage.close()
    storage = await open_storage(postgres_url, lambda: 1000.0, lease_seconds=30)
    await storage.close()


async def test_the_pool_is_bounded_and_a_statement_cannot_hang(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "COMMAND_SECONDS", 0.5)
    storage = await open_storage(postgres_url)
    database = storage.database
    seen: list[int] = []

    async def busy() -> None:
        await database.execute("SELECT pg_sleep(0.1)")
        seen.append(
            await database.fetch_value(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ? "
                "AND datname = current_database()",
                (APPLICATION,),
            )
        )

    try:
        await asyncio.gather(*[busy() for _ in range(3 * POOL_SIZE)])
        assert max(seen) <= POOL_SIZE  # thirty statements at once took ten connections at most
        with pytest.raises(WRITE_ERRORS):  # past the command timeout: an error, not a hang
            await database.execute("SELECT pg_sleep(5)")
        assert await database.fetch_value("SELECT 1") == 1  # the pool goes on
    finally:
        await storage.close()
    admin = await asyncpg.connect(postgres_url)
    try:
        left = (
            "SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1 "
            "AND datname = current_database()"
        )
        assert await admin.fetchval(left, APPLICATION) == 0  # closed means closed
    finally:
        await admin.close()


async def test_the_pools_reconnect_warnings_during_an_outage_are_one_line_each(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # While PostgreSQL is down, asyncpg's pool tries to restore its floor of connections every
    # few seconds, and each failure came with a full traceback in the owner's log.
    storage = await open_storage(postgres_url)
    base, name = postgres_url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{base}/postgres")  # a database may not shut itself
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = $2",
            APPLICATION,
            name,
        )
        deadline = time.monotonic() + 20
        while not (warned := [r for r in caplog.records if r.name == "asyncpg.pool"]):
            assert time.monotonic() < deadline, "asyncpg's pool never tried to reconnect"
            await asyncio.sleep(0.05)
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await storage.close()
    line = RedactingFormatter(TEXT_FORMAT, []).format(warned[0])
    assert "\n" not in line and "Traceback" not in line
    assert "Failed to restore the pool connection floor; retrying: " in line
    assert "is not currently accepting connections" in line  # the reason stays


def test_an_error_of_code_under_the_pool_keeps_its_traceback() -> None:
    try:
        raise KeyError("a bug of asyncpg's or ours")
    except KeyError:
        record = logging.LogRecord(
            "asyncpg.pool", logging.WARNING, __file__, 1, "Failed", (), sys.exc_info()
        )
    assert OUTAGE_IN_ONE_LINE.filter(record)
    assert "Traceback" in RedactingFormatter(TEXT_FORMAT, []).format(record)
