"""Shared test configuration: the Discord contract check, and databases on the test server."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.fake_discord.contract import load_contract, spec_path

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say whether REST bodies are checked against Discord's OpenAPI description, and where
    the PostgreSQL tests run."""
    lines = []
    if load_contract() is None:
        lines.append(
            f"Discord contract check SKIPPED: {spec_path()} is not on this machine "
            "(set DISCORD_OPENAPI to its path to turn the check on)"
        )
    else:
        lines.append(f"Discord contract check ON: {spec_path()}")
    if POSTGRES_URL:
        lines.append(f"PostgreSQL tests ON: {POSTGRES_URL.rsplit('@', 1)[-1]}")
    elif os.environ.get("REQUIRE_POSTGRES") == "1":
        lines.append("PostgreSQL tests REQUIRED but TEST_POSTGRES_URL is not set: they will fail")
    else:
        lines.append(
            "PostgreSQL tests SKIPPED: run `make test` (it starts a server) to include them"
        )
    return lines


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """The URL of a new, empty database on the test server, dropped after the test."""
    if not POSTGRES_URL:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(
                "PostgreSQL is required (REQUIRE_POSTGRES=1) but TEST_POSTGRES_URL is unset"
            )
        pytest.skip("no PostgreSQL server: run the suite with `make test` to include it")
    name = f"test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
