"""The test suite's own PostgreSQL: each test gets a fresh database on a real server."""

from __future__ import annotations

import asyncpg

from tests.helpers.postgres import server_bindir


async def test_each_test_gets_its_own_empty_database(postgres_url: str) -> None:
    db = await asyncpg.connect(postgres_url)
    try:
        assert await db.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        await db.execute("CREATE TABLE t (x int)")
        assert await db.fetchval("SELECT current_setting('server_version_num')::int") >= 130000
    finally:
        await db.close()


def test_the_server_binaries_are_found_where_debian_puts_them() -> None:
    folder = server_bindir()
    assert folder is not None and (folder / "initdb").exists()
