"""The databases a test runs on: a SQLite file, or a fresh database on the test PostgreSQL
server (`tests/helpers/postgres.py`), behind one object, so one test body checks both.

Tests read and change rows behind the bot's back (a crash simulated, a clock moved) with
`execute` and `value`, in the stores' portable SQL (`?` parameters), on a connection of their own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import asyncpg
import pytest

from bot.storage.postgres_sql import translate

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")
BACKENDS = ("sqlite", "postgresql")


def postgres_required() -> bool:
    """Whether a missing PostgreSQL server fails the PostgreSQL tests instead of skipping them."""
    return os.environ.get("REQUIRE_POSTGRES") == "1"


def need_postgres() -> str:
    """The test server's URL; skip the test without one (fail it under REQUIRE_POSTGRES=1)."""
    if not POSTGRES_URL:
        if postgres_required():
            pytest.fail(
                "PostgreSQL is required (REQUIRE_POSTGRES=1) but TEST_POSTGRES_URL is unset"
            )
        pytest.skip("no PostgreSQL server: run the suite with `make test` to include it")
    return POSTGRES_URL


@contextlib.asynccontextmanager
async def new_postgres_database(server: str | None = None) -> AsyncIterator[str]:
    """The URL of a new, empty database on `server` (the test server by default), dropped when
    the block ends."""
    server = server or need_postgres()
    name = f"test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin = await asyncpg.connect(server)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass(frozen=True)
class DatabaseUnderTest:
    """One database of a test: its DATABASE_URL, and a side door to its rows."""

    dialect: Literal["sqlite", "postgresql"]
    url: str  # DATABASE_URL, as the bot reads it
    path: Path | None = None  # the SQLite file

    @property
    def target(self) -> Path | str:
        """What `open_storage` takes."""
        return self.path if self.path is not None else self.url

    @classmethod
    def sqlite_in(cls, folder: Path) -> DatabaseUnderTest:
        """The SQLite file a bot keeps in `folder` by default (`bot.sqlite3`)."""
        path = folder / "bot.sqlite3"
        return cls("sqlite", f"sqlite:///{path}", path)

    @contextlib.asynccontextmanager
    async def writes_held(self) -> AsyncIterator[None]:
        """Another writer holds the jobs until the block ends: the bot's writes wait (SQLite:
        until its busy timeout, then fail), its reads go on."""
        if self.path is not None:
            with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as file:
                file.execute("BEGIN EXCLUSIVE")
                try:
                    yield
                finally:
                    file.execute("COMMIT")
            return
        server = await asyncpg.connect(self.url)
        try:
            async with server.transaction():
                await server.execute("LOCK TABLE jobs IN EXCLUSIVE MODE")
                yield
        finally:
            await server.close()

    async def execute(self, sql: str, *params: Any) -> None:
        """Run a statement and commit it."""
        await self.fetch(sql, *params)

    async def value(self, sql: str, *params: Any) -> Any:
        """The first column of the first row of a query (None when it has no row)."""
        rows = await self.fetch(sql, *params)
        return rows[0][0] if rows else None

    async def fetch(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Every row of a statement, committed."""
        if self.path is not None:
            with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as file, file:
                return [tuple(row) for row in file.execute(sql, params)]
        statement = translate(sql)
        server = await asyncpg.connect(self.url)
        try:
            rows = await server.fetch(statement.sql, *statement.arguments(params))
        finally:
            await server.close()
        return [tuple(row) for row in rows]


@contextlib.asynccontextmanager
async def a_database(dialect: str, folder: Path) -> AsyncIterator[DatabaseUnderTest]:
    """A new database of this dialect (a SQLite file in `folder`)."""
    if dialect == "sqlite":
        yield DatabaseUnderTest.sqlite_in(folder)
        return
    async with new_postgres_database() as url:
        yield DatabaseUnderTest("postgresql", url)
