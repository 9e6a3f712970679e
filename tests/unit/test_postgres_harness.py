"""The test suite's own PostgreSQL: each test gets a fresh database on a real server."""

from __future__ import annotations

import asyncpg
import pytest

from tests.helpers import databases
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


def test_without_a_server_postgresql_cases_skip_but_fail_where_it_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(databases, "POSTGRES_URL", "")
    monkeypatch.delenv("REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception):  # a developer without PostgreSQL: skipped
        databases.need_postgres()
    monkeypatch.setenv("REQUIRE_POSTGRES", "1")  # CI (.ci/run): never skipped
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_POSTGRES=1"):
        databases.need_postgres()
